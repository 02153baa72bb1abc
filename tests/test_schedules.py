"""Learning-rate schedules: Keras' formulas at hand-computed steps, as an optimizer's
learning_rate (the rate of step t is schedule(t)), config and checkpoint round trips."""
import json
import math

import numpy as np
import pytest

import neuronet as nn
from neuronet import layers, optimizers
from neuronet.optimizers import SGD, Adam, schedules
from neuronet.optimizers.schedules import CosineDecay, ExponentialDecay, PiecewiseConstantDecay

# (schedule, [(step, expected learning rate)]): values worked out by hand from the formulas
# in Keras' documentation (the first two use the examples' own settings).
HAND_VALUES = {
    "exponential_keras_example": (ExponentialDecay(1e-2, decay_steps=10000, decay_rate=0.9),
                                  [(0, 1e-2), (10000, 9e-3), (20000, 8.1e-3),
                                   (5000, 1e-2 * math.sqrt(0.9))]),
    "piecewise_keras_example": (PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1]),
                                [(0, 1.0), (100000, 1.0), (100001, 0.5), (110000, 0.5),
                                 (110001, 0.1), (10**7, 0.1)]),
    "exponential_staircase": (ExponentialDecay(0.1, 10, 0.5, staircase=True),
                              [(0, 0.1), (9, 0.1), (10, 0.05), (19, 0.05), (25, 0.025)]),
    "cosine": (CosineDecay(0.1, decay_steps=100),
               [(0, 0.1), (50, 0.05), (100, 0.0), (250, 0.0),
                (25, 0.05 * (1 + math.sqrt(0.5)))]),
    "cosine_alpha": (CosineDecay(0.1, decay_steps=100, alpha=0.1),
                     [(0, 0.1), (50, 0.055), (100, 0.01), (400, 0.01)]),
    "cosine_warmup": (CosineDecay(0.02, decay_steps=100, warmup_target=0.1, warmup_steps=10),
                      [(0, 0.02), (5, 0.06), (10, 0.1), (60, 0.05), (110, 0.0), (500, 0.0)]),
}


@pytest.mark.parametrize("name", HAND_VALUES)
def test_formulas_give_the_hand_computed_values(name):
    schedule, expected = HAND_VALUES[name]
    for step, value in expected:
        assert schedule(step) == pytest.approx(value, rel=1e-12, abs=1e-15), f"step {step}"


@pytest.mark.parametrize("name", HAND_VALUES)
def test_config_round_trip(name):
    schedule = HAND_VALUES[name][0]
    rebuilt = schedules.deserialize(json.loads(json.dumps(schedules.serialize(schedule))))
    assert type(rebuilt) is type(schedule)
    assert rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(step) for step in range(0, 200, 7)] == [schedule(s) for s in range(0, 200, 7)]


def test_the_rate_of_step_t_is_the_schedule_at_t():
    """p starts at 0 with gradient 1 each step, so after t steps p = -sum_{i<t} lr(i)."""
    schedule = ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
    optimizer = SGD(learning_rate=schedule)
    param = nn.tensor(np.zeros(2), dtype="float64")
    for step in range(7):
        assert optimizer.learning_rate == schedule(step)
        param.grad = np.ones(2)
        optimizer.step([param])
    expected = -sum(0.1 * 0.5 ** (i / 3) for i in range(7))
    np.testing.assert_allclose(param.numpy(), [expected, expected], rtol=1e-14)


def test_a_scheduled_learning_rate_cannot_be_set():
    optimizer = Adam(learning_rate=CosineDecay(0.1, 10))
    with pytest.raises(TypeError, match="Adam was made with a learning rate schedule "
                                        r"\(CosineDecay\), so its learning rate cannot be set"):
        optimizer.learning_rate = 0.5


def test_an_optimizer_with_a_schedule_round_trips_its_config():
    optimizer = Adam(learning_rate=PiecewiseConstantDecay([2, 5], [0.1, 0.01, 0.001]))
    config = json.loads(json.dumps(optimizer.get_config()))
    assert config["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    for rebuilt in (Adam.from_config(config), optimizers.deserialize(config),
                    optimizers.get(optimizers.serialize(optimizer))):
        assert rebuilt.get_config() == optimizer.get_config()
        rebuilt.iterations = 3
        assert rebuilt.learning_rate == 0.01


def test_invalid_schedules_raise():
    with pytest.raises(ValueError, match="expects one value more than boundaries, got 2 "
                                         "boundaries and 2 values"):
        PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"boundaries must increase, got \[5, 2\]"):
        PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="ExponentialDecay: decay_steps must be a number > 0"):
        ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="unknown learning rate schedule|cannot deserialize"):
        schedules.deserialize({"class_name": "os.system", "config": {}})


def _model(schedule):
    model = nn.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                           layers.Dense(3)])
    model.compile(optimizer=SGD(learning_rate=schedule, momentum=0.5),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(rng):
    x = rng.standard_normal((40, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_fit_logs_the_current_rate_and_a_checkpoint_resumes_the_schedule(tmp_path, rng):
    x, y = _data(rng)
    schedule = ExponentialDecay(0.2, decay_steps=4, decay_rate=0.5)
    nn.manual_seed(3)
    straight = _model(schedule)
    history = straight.fit(x, y, epochs=4, batch_size=10, verbose=0, shuffle=False)
    assert history.history["lr"] == pytest.approx([schedule(4 * e) for e in (1, 2, 3, 4)],
                                                  rel=1e-12)

    nn.manual_seed(3)
    first = _model(schedule)
    first.fit(x, y, epochs=2, batch_size=10, verbose=0, shuffle=False)
    first.save(tmp_path / "half.safetensors")
    resumed = nn.models.load_model(tmp_path / "half.safetensors")
    assert resumed.optimizer.get_config() == first.optimizer.get_config()
    assert resumed.optimizer.learning_rate == schedule(8)
    resumed.fit(x, y, epochs=4, batch_size=10, verbose=0, shuffle=False,
                initial_epoch=resumed.epochs_done)
    for ours, theirs in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
