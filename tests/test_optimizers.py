import json

import numpy as np
import pytest
import safetensors.numpy
import torch

from harness import assert_close
import neuronet as nn
from neuronet import execution, optimizers, parallel
from neuronet.optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Momentum, Nadam,
                                 RMSprop)

# Each case: our optimizer and torch.optim's with the same hyperparameters spelled
# the torch way (non-default values, so that a swapped or ignored argument shows).
CASES = {
    "sgd": (lambda: SGD(0.1),
            lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": (lambda: SGD(0.05, momentum=0.8),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8)),
    "sgd_nesterov": (lambda: SGD(0.05, momentum=0.8, nesterov=True),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd_weight_decay": (lambda: SGD(0.05, momentum=0.7, weight_decay=0.03),
                         lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.7, weight_decay=0.03)),
    "momentum": (lambda: Momentum(0.03),
                 lambda ps: torch.optim.SGD(ps, lr=0.03, momentum=0.9)),
    "momentum_nesterov": (lambda: Momentum(0.03, momentum=0.6, nesterov=True),
                          lambda ps: torch.optim.SGD(ps, lr=0.03, momentum=0.6, nesterov=True)),
    "adagrad": (lambda: Adagrad(0.1, initial_accumulator_value=0.2, epsilon=1e-6),
                lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.0,
                                               initial_accumulator_value=0.2, eps=1e-6)),
    "adagrad_weight_decay": (
        lambda: Adagrad(0.1, initial_accumulator_value=0.0, epsilon=1e-7, weight_decay=0.05),
        lambda ps: torch.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.0, eps=1e-7,
                                       weight_decay=0.05)),
    "rmsprop": (lambda: RMSprop(0.01, rho=0.8, epsilon=1e-6),
                lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.8, eps=1e-6)),
    "rmsprop_centered": (lambda: RMSprop(0.01, rho=0.85, centered=True, epsilon=1e-5),
                         lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.85, eps=1e-5,
                                                        centered=True)),
    "rmsprop_momentum": (lambda: RMSprop(0.01, rho=0.9, momentum=0.7, epsilon=1e-7),
                         lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-7,
                                                        momentum=0.7)),
    "rmsprop_centered_momentum_weight_decay": (
        lambda: RMSprop(0.01, rho=0.9, momentum=0.5, centered=True, weight_decay=0.02),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5,
                                       centered=True, weight_decay=0.02)),
    "adadelta": (lambda: Adadelta(1.0, rho=0.9, epsilon=1e-6),
                 lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.9, eps=1e-6)),
    "adadelta_weight_decay": (
        lambda: Adadelta(0.5, rho=0.95, epsilon=1e-5, weight_decay=0.1),
        lambda ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.1)),
    "adam": (lambda: Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    "adam_amsgrad": (lambda: Adam(0.01, epsilon=1e-7, amsgrad=True),
                     lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-7,
                                                 amsgrad=True)),
    "adam_weight_decay": (lambda: Adam(0.01, weight_decay=0.05),
                          lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-7, weight_decay=0.05)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1, beta_1=0.85, epsilon=1e-6),
              lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.85, 0.999), eps=1e-6,
                                           weight_decay=0.1)),
    "adamw_amsgrad": (lambda: AdamW(0.01, amsgrad=True),
                      lambda ps: torch.optim.AdamW(ps, lr=0.01, eps=1e-7, weight_decay=0.004,
                                                   amsgrad=True)),
    "nadam": (lambda: Nadam(0.01, beta_1=0.85, beta_2=0.99, epsilon=1e-6, momentum_decay=0.01),
              lambda ps: _NAdam64(ps, lr=0.01, betas=(0.85, 0.99), eps=1e-6,
                                  momentum_decay=0.01)),
    "nadam_weight_decay": (lambda: Nadam(0.01, weight_decay=0.05),
                           lambda ps: _NAdam64(ps, lr=0.01, eps=1e-7, weight_decay=0.05)),
    "adamax": (lambda: Adamax(0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6),
               lambda ps: torch.optim.Adamax(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-6)),
    "adamax_weight_decay": (lambda: Adamax(0.02, weight_decay=0.05),
                            lambda ps: torch.optim.Adamax(ps, lr=0.02, eps=1e-7,
                                                          weight_decay=0.05)),
}


class _NAdam64(torch.optim.NAdam):
    """torch.optim.NAdam keeps its product of momentum coefficients in torch's default
    dtype (float32 unless changed); ours is a Python float, so torch's runs in float64."""

    def step(self, closure=None):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            return super().step(closure)
        finally:
            torch.set_default_dtype(previous)


SHAPES = [(3, 4), (5,), (2, 3)]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _skips_gradient(step, index):
    """The last parameter gets no gradient every third step: it must be skipped."""
    return index == len(SHAPES) - 1 and step % 3 == 1


def _random_run(rng, steps):
    initial = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) * rng.uniform(0.1, 3.0) for shape in SHAPES]
             for _ in range(steps)]
    return initial, grads


def _set_gradients(params, grads, step, dtype):
    for index, (param, grad) in enumerate(zip(params, grads)):
        param.grad = None if _skips_gradient(step, index) else grad.astype(dtype)


def _run_both(name, rng, dtype, steps):
    make_ours, make_theirs = CASES[name]
    initial, grads = _random_run(rng, steps)
    ours = [nn.tensor(a.copy(), dtype=dtype, requires_grad=True) for a in initial]
    theirs = [torch.tensor(a, dtype=TORCH_DTYPE[dtype], requires_grad=True) for a in initial]
    optimizer, torch_optimizer = make_ours(), make_theirs(theirs)
    for step, step_grads in enumerate(grads):
        _set_gradients(ours, step_grads, step, dtype)
        for index, (param, grad) in enumerate(zip(theirs, step_grads)):
            skip = _skips_gradient(step, index)
            param.grad = None if skip else torch.tensor(grad, dtype=TORCH_DTYPE[dtype])
        optimizer.step(ours)
        torch_optimizer.step()
    return ours, theirs, optimizer


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_float64(name, rng):
    ours, theirs, optimizer = _run_both(name, rng, np.float64, steps=100)
    for index, (param, expected) in enumerate(zip(ours, theirs)):
        assert_close(param.data, expected.detach().numpy(), rtol=1e-12, what=f"param {index}")
    assert optimizer.iterations == 100


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_float32_and_stays_float32(name, rng):
    ours, theirs, optimizer = _run_both(name, rng, np.float32, steps=10)
    for index, (param, expected) in enumerate(zip(ours, theirs)):
        assert param.dtype == np.float32
        assert_close(param.data, expected.detach().numpy(), rtol=1e-5, what=f"param {index}")
    for slots in optimizer.state_dict()["slots"]:  # Nadam's mu_product: a float64 number
        assert all(array.dtype == np.float32 for key, array in slots.items()
                   if key not in ("step", "mu_product"))


@pytest.mark.parametrize("name", CASES)
def test_numpy_float64_learning_rate_keeps_float32(name, rng):
    optimizer = CASES[name][0]()
    optimizer.learning_rate = np.float64(0.02)
    param = nn.tensor(rng.standard_normal((3, 4)), dtype="float32")
    for _ in range(3):
        param.grad = rng.standard_normal((3, 4)).astype(np.float32)
        optimizer.step([param])
    assert type(optimizer.learning_rate) is float
    assert param.dtype == np.float32


BOWL_LEARNING_RATES = {"sgd": 0.1, "momentum": 0.02, "adagrad": 0.5, "rmsprop": 0.05,
                       "adadelta": 50.0, "adam": 0.1, "adamw": 0.1, "nadam": 0.1,
                       "adamax": 0.1}


def _bowl_loss(param, curvature, centre):
    return (nn.tensor(curvature) * (param - nn.tensor(centre)) ** 2).sum()


@pytest.mark.parametrize("name", BOWL_LEARNING_RATES)
def test_minimises_a_quadratic_bowl(name, rng):
    curvature = rng.uniform(0.5, 2.0, size=(4, 3))
    centre = rng.standard_normal((4, 3))
    param = nn.tensor(rng.standard_normal((4, 3)) * 3.0, requires_grad=True)
    optimizer = optimizers.get(name, learning_rate=BOWL_LEARNING_RATES[name])
    losses = []
    for _ in range(150):
        loss = _bowl_loss(param, curvature, centre)
        losses.append(loss.item())
        loss.backward()
        optimizer.step([param])
        optimizer.zero_grad([param])
    assert losses[-1] < 0.05 * losses[0], f"{name}: loss {losses[0]} -> {losses[-1]}"
    assert param.dtype == np.float32


def _through_safetensors(state):
    """The state dict as it would be written to disk: arrays to safetensors, the rest JSON."""
    arrays = {f"{index}/{slot}": array for index, slots in enumerate(state["slots"])
              for slot, array in slots.items()}
    loaded = safetensors.numpy.load(safetensors.numpy.save(arrays))
    header = json.loads(json.dumps({"iterations": state["iterations"],
                                    "slot_names": [sorted(s) for s in state["slots"]]}))
    slots = [{slot: loaded[f"{index}/{slot}"] for slot in names}
             for index, names in enumerate(header["slot_names"])]
    return {"iterations": header["iterations"], "slots": slots}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("build_first", [False, True])
@pytest.mark.parametrize("through_disk", [False, True])
def test_state_dict_round_trip_continues_exactly(name, build_first, through_disk, rng):
    initial, grads = _random_run(rng, steps=40)
    params = [nn.tensor(a.copy(), dtype="float64") for a in initial]
    optimizer = CASES[name][0]()
    for step in range(40):
        _set_gradients(params, grads[step], step, np.float64)
        optimizer.step(params)
        if step == 19:
            saved_params = [p.data.copy() for p in params]
            saved_state = optimizer.state_dict()
            if through_disk:
                saved_state = _through_safetensors(saved_state)
    resumed_params = [nn.tensor(a, dtype="float64") for a in saved_params]
    resumed = type(optimizer).from_config(json.loads(json.dumps(optimizer.get_config())))
    if build_first:
        resumed.build(resumed_params)
    resumed.load_state_dict(saved_state)
    for step in range(20, 40):
        _set_gradients(resumed_params, grads[step], step, np.float64)
        resumed.step(resumed_params)
    for uninterrupted, restarted in zip(params, resumed_params):
        np.testing.assert_array_equal(restarted.data, uninterrupted.data)
    assert resumed.iterations == optimizer.iterations == 40


def _adam_state(rng, shapes, amsgrad=False):
    params = [nn.tensor(rng.standard_normal(s)) for s in shapes]
    optimizer = Adam(amsgrad=amsgrad)
    for param in params:
        param.grad = rng.standard_normal(param.shape).astype(np.float32)
    optimizer.step(params)
    return optimizer.state_dict()


def test_load_state_dict_rejects_wrong_parameter_count(rng):
    state = _adam_state(rng, [(3, 4), (5,)])
    optimizer = Adam()
    optimizer.build([nn.tensor(np.zeros((3, 4)))])
    with pytest.raises(ValueError, match=r"Adam: .*slots for 2 parameters, expected 1"):
        optimizer.load_state_dict(state)


def test_load_state_dict_checks_shapes_at_the_next_build(rng):
    state = _adam_state(rng, [(3, 4), (5,)])
    optimizer = Adam()
    optimizer.load_state_dict(state)
    params = [nn.tensor(np.zeros((3, 4))), nn.tensor(np.zeros((6,)))]
    with pytest.raises(ValueError, match=r"Adam: slot '\w+' of parameter 1 expects shape "
                                         r"\(6,\), got \(5,\)"):
        optimizer.build(params)


def test_load_state_dict_rejects_other_slots(rng):
    state = _adam_state(rng, [(3, 4)], amsgrad=True)
    optimizer = Adam(amsgrad=False)
    optimizer.build([nn.tensor(np.zeros((3, 4)))])
    with pytest.raises(ValueError, match="Adam: parameter 0 expects slots .*velocity_hat"):
        optimizer.load_state_dict(state)


INVALID = [
    (SGD, {"learning_rate": -1}, "SGD: Invalid learning rate: -1"),
    (SGD, {"learning_rate": "fast"}, "SGD: Invalid learning rate: 'fast'"),
    (SGD, {"momentum": -0.5}, "SGD: Invalid momentum value: -0.5"),
    (SGD, {"nesterov": True}, "SGD: Nesterov momentum requires a momentum > 0"),
    (Momentum, {"weight_decay": -0.1}, "Momentum: Invalid weight_decay value: -0.1"),
    (Adagrad, {"initial_accumulator_value": -1.0}, "Adagrad: Invalid initial_accumulator_value"),
    (Adagrad, {"epsilon": -1e-7}, "Adagrad: Invalid epsilon value"),
    (RMSprop, {"rho": 1.5}, r"RMSprop: Invalid rho value: 1.5 \(expected a number in \[0, 1\]\)"),
    (RMSprop, {"momentum": -1.0}, "RMSprop: Invalid momentum value"),
    (Adadelta, {"rho": -0.1}, "Adadelta: Invalid rho value"),
    (Adam, {"beta_1": 1.0}, r"Adam: Invalid beta_1 value: 1.0 \(expected a number in \[0, 1\)\)"),
    (Adam, {"beta_2": -0.5}, "Adam: Invalid beta_2 value"),
    (AdamW, {"clipnorm": 0.0}, "AdamW: Invalid clipnorm value: 0.0"),
    (AdamW, {"weight_decay": -0.01}, "AdamW: Invalid weight_decay value"),
    (Nadam, {"beta_1": 1.0}, r"Nadam: Invalid beta_1 value: 1.0 \(expected a number in \[0, 1\)\)"),
    (Nadam, {"momentum_decay": -0.004}, "Nadam: Invalid momentum_decay value"),
    (Adamax, {"beta_2": 1.5}, "Adamax: Invalid beta_2 value"),
    (Adamax, {"epsilon": -1.0}, "Adamax: Invalid epsilon value"),
]


@pytest.mark.parametrize("cls, kwargs, message", INVALID)
def test_invalid_hyperparameters_raise(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_invalid_learning_rate_assignment_raises():
    optimizer = Adam()
    with pytest.raises(ValueError, match="Adam: Invalid learning rate: -0.5"):
        optimizer.learning_rate = -0.5
    optimizer.learning_rate = 0.25
    assert optimizer.learning_rate == 0.25


REGISTRY = {"sgd": SGD, "SGD": SGD, "momentum": Momentum, "Adagrad": Adagrad,
            "adagrad": Adagrad, "RMSprop": RMSprop, "rmsprop": RMSprop, "Adadelta": Adadelta,
            "ADADELTA": Adadelta, "Adam": Adam, "adam": Adam, "AdamW": AdamW, "adamw": AdamW,
            "nadam": Nadam, "Nadam": Nadam, "adamax": Adamax, "Adamax": Adamax}


@pytest.mark.parametrize("name", REGISTRY)
def test_registry_by_string(name):
    optimizer = optimizers.get(name, learning_rate=0.125)
    assert type(optimizer) is REGISTRY[name]
    assert optimizer.learning_rate == 0.125
    assert optimizers.get(optimizer) is optimizer


@pytest.mark.parametrize("name", CASES)
def test_config_round_trip(name):
    optimizer = CASES[name][0]()
    config = json.loads(json.dumps(optimizer.get_config()))
    assert config["name"] == type(optimizer).name
    for rebuilt in (type(optimizer).from_config(config), optimizers.deserialize(config),
                    optimizers.deserialize(optimizers.serialize(optimizer)),
                    optimizers.get(optimizers.serialize(optimizer))):
        assert type(rebuilt) is type(optimizer)
        assert rebuilt.get_config() == optimizer.get_config()


def test_registry_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        optimizers.get("lion")
    with pytest.raises(TypeError, match="get expects an optimizer name"):
        optimizers.get(3)


def _gradient_with_norm(rng, shape, norm):
    grad = rng.standard_normal(shape)
    return grad * (norm / np.sqrt(np.sum(grad ** 2)))


@pytest.mark.parametrize("ratios", [(0.5, 0.99), (1.005, 0.3), (8.0, 1.2)])
def test_clipnorm_clips_each_parameter(ratios, rng):
    clipnorm = 1.5
    initial = [rng.standard_normal((3, 4)), rng.standard_normal((5,))]
    grads = [_gradient_with_norm(rng, (3, 4), ratios[0] * clipnorm),
             _gradient_with_norm(rng, (5,), ratios[1] * clipnorm)]
    params = [nn.tensor(a.copy(), dtype="float64") for a in initial]
    for param, grad in zip(params, grads):
        param.grad = grad.copy()
    SGD(learning_rate=0.3, clipnorm=clipnorm).step(params)
    for param, start, grad in zip(params, initial, grads):
        norm = np.sqrt(np.sum(grad ** 2))
        clipped = grad * clipnorm / max(norm, clipnorm)
        assert_close(param.data, start - 0.3 * clipped, rtol=1e-14)
        np.testing.assert_array_equal(param.grad, grad)


def test_clipnorm_applies_before_adam(rng):
    start, grad = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) * 5.0
    ours = nn.tensor(start.copy(), dtype="float64")
    ours.grad = grad.copy()
    Adam(0.01, clipnorm=0.5).step([ours])
    theirs = nn.tensor(start.copy(), dtype="float64")
    theirs.grad = grad * 0.5 / np.sqrt(np.sum(grad ** 2))
    Adam(0.01).step([theirs])
    assert_close(ours.data, theirs.data, rtol=1e-14)


def test_zero_grad_and_skipped_parameters(rng):
    params = [nn.tensor(rng.standard_normal((3, 4))), nn.tensor(rng.standard_normal((5,)))]
    optimizer = Adam(0.1)
    for param in params:
        param.grad = rng.standard_normal(param.shape).astype(np.float32)
    optimizer.step(params)
    optimizer.zero_grad(params)
    assert all(param.grad is None for param in params)
    before = [param.data.copy() for param in params]
    optimizer.step(params)
    for param, old in zip(params, before):
        np.testing.assert_array_equal(param.data, old)
    assert optimizer.iterations == 2
    assert [int(slots["step"]) for slots in optimizer.state_dict()["slots"]] == [1, 1]


def test_weight_decay_leaves_the_gradient_alone(rng):
    param = nn.tensor(rng.standard_normal((3, 4)))
    grad = rng.standard_normal((3, 4)).astype(np.float32)
    param.grad = grad.copy()
    RMSprop(weight_decay=0.1).step([param])
    np.testing.assert_array_equal(param.grad, grad)


def test_step_rejects_bad_parameters(rng):
    with pytest.raises(TypeError, match="SGD expects a list of neuronet Tensors, got ndarray "
                                        "at position 1"):
        SGD().step([nn.tensor(np.zeros(3)), np.zeros(3)])
    param = nn.tensor(np.zeros((3, 4)))
    param.grad = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"Adam: a parameter of shape \(3, 4\) has a gradient "
                                         r"of shape \(4, 3\)"):
        Adam().step([param])


def test_parameters_register_in_first_seen_order(rng):
    first, second, third = (nn.tensor(np.zeros(s)) for s in [(2,), (3,), (4,)])
    optimizer = Adagrad()
    optimizer.build([second, first, second])
    optimizer.build([third, first])
    shapes = [slots["accumulator"].shape for slots in optimizer.state_dict()["slots"]]
    assert shapes == [(3,), (2,), (4,)]


def _steps_split_or_not(name, start, grads, threads, monkeypatch, state=None):
    """Final parameters after ``grads`` steps with BLAS held (as in a CNN's training step)
    and parameters of 77 or more elements split over ``threads`` threads (1: the
    optimizer's own loop, the reference)."""
    monkeypatch.setattr(execution, "SPLIT_FROM", 77)
    saved_threads = parallel.get_num_threads()
    params = [nn.tensor(a.copy(), dtype="float64") for a in start]
    optimizer = CASES[name][0]()
    if state is not None:
        optimizer.load_state_dict(state)
    try:
        parallel.set_num_threads(threads)
        for step_grads in grads:
            for param, grad in zip(params, step_grads):
                param.grad = grad.copy()
            with parallel.single_threaded_blas():
                optimizer.step(params)
    finally:
        parallel.set_num_threads(saved_threads)
    return [p.numpy().copy() for p in params]


@pytest.mark.parametrize("name", sorted(CASES))
def test_updates_split_over_threads_equal_one_piece_to_the_bit(name, rng, monkeypatch):
    """With 3 threads, parameters of 77 or more elements are updated in 3 pieces and the
    small ones dealt out whole: the same bits as the optimizer's own loop."""
    shapes = [(20, 10), (5,), (9, 9), (3, 2)]
    start = [rng.standard_normal(shape) for shape in shapes]
    grads = [[rng.standard_normal(shape) for shape in shapes] for _ in range(4)]
    reference = _steps_split_or_not(name, start, grads, 1, monkeypatch)
    split = _steps_split_or_not(name, start, grads, 3, monkeypatch)
    for mine, theirs in zip(split, reference):
        np.testing.assert_array_equal(mine, theirs)
    params = [nn.tensor(a) for a in start]
    updates = [(p.data, p.data, {}) for p in params]
    with parallel.single_threaded_blas():
        shares = execution._shares(updates, 3)
    assert len(shares) == 3 and sum(map(len, shares)) == 3 + 3 + 1 + 1  # two split, two whole
    assert execution._shares(updates, 3)[0] is updates  # BLAS not held: one piece


@pytest.mark.parametrize("name", ["adam_amsgrad", "rmsprop_centered_momentum_weight_decay",
                                  "sgd_momentum", "adadelta"])
def test_a_state_restored_from_transposed_arrays_is_updated_when_split(name, rng,
                                                                      monkeypatch):
    """Slots loaded from column-major arrays (a transposed copy, as another library may
    hand over) are cut into pieces like the others, and the pieces' updates reach them."""
    shapes = [(20, 10), (9, 9)]
    start = [rng.standard_normal(shape) for shape in shapes]
    grads = [[rng.standard_normal(shape) for shape in shapes] for _ in range(3)]
    optimizer = CASES[name][0]()
    params = [nn.tensor(a, dtype="float64") for a in start]
    for param, grad in zip(params, grads[0]):
        param.grad = grad
    optimizer.step(params)
    state = optimizer.state_dict()
    column_major = {"iterations": state["iterations"],
                    "slots": [{slot: np.asfortranarray(a) if a.ndim == 2 else a
                               for slot, a in slots.items()} for slots in state["slots"]]}
    assert not column_major["slots"][0][sorted(column_major["slots"][0])[0]].flags.c_contiguous
    reference = _steps_split_or_not(name, start, grads[1:], 1, monkeypatch, state)
    split = _steps_split_or_not(name, start, grads[1:], 3, monkeypatch, column_major)
    for mine, theirs in zip(split, reference):
        np.testing.assert_array_equal(mine, theirs)


def test_a_split_never_cuts_an_array_that_is_not_c_contiguous(rng):
    """reshape(-1) of any other layout is a copy, and a piece's update would be lost."""
    shape = (400, 400)  # above SPLIT_FROM
    param, grad = rng.standard_normal(shape), rng.standard_normal(shape)
    moment = np.asfortranarray(rng.standard_normal(shape))
    with parallel.single_threaded_blas():
        [[whole]] = execution._shares([(param, grad, {"m": moment, "step": 1})], 2)
        assert whole[2]["m"] is moment
        [[whole]] = execution._shares([(param, np.asfortranarray(grad), {"step": 1})], 2)
        assert whole[0] is param
        shares = execution._shares([(param, grad, {"m": np.zeros(shape), "step": 1})], 2)
    assert len(shares) == 2 and all(np.shares_memory(piece[0], param) and
                                    np.shares_memory(piece[1], grad) for [piece] in shares)


def _subnormal(array):
    tiny = np.finfo(array.dtype).smallest_normal
    return (array != 0) & (np.abs(array) < tiny)


def _steps_then_silence(make_optimizer, start, grads, flush_every, monkeypatch):
    """The parameter and its state's arrays after ``grads`` steps, the state's subnormals
    flushed every ``flush_every`` steps."""
    monkeypatch.setattr(execution, "FLUSH_EVERY", flush_every)
    param = nn.tensor(start, dtype="float32")
    optimizer = make_optimizer()
    for grad in grads:
        param.grad = nn.tensor(grad, dtype="float32")
        optimizer.step([param])
    arrays = [a for a in optimizer.state_dict()["slots"][0].values() if a.shape == start.shape]
    return param.numpy(), arrays


@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop_centered", "rmsprop_momentum",
                                  "adadelta", "adam", "adamw", "nadam", "adamax"])
def test_a_state_gone_subnormal_is_flushed_and_the_parameters_keep_their_bits(
        name, rng, monkeypatch):
    """Gradients for 5 steps, then none (zeros) for 1,200: the moments decay below the
    smallest normal float32 and stay there unless flushed; flushed, the parameters are
    the same to the bit and the state holds zeros instead."""
    start = rng.standard_normal((4, 5))
    grads = [rng.standard_normal((4, 5)) for _ in range(5)] + [np.zeros((4, 5))] * 1200
    make = CASES[name][0]
    flushed, flushed_state = _steps_then_silence(make, start, grads, 64, monkeypatch)
    kept, kept_state = _steps_then_silence(make, start, grads, 10**9, monkeypatch)
    np.testing.assert_array_equal(flushed, kept)
    assert any(_subnormal(a).any() for a in kept_state)
    assert not any(_subnormal(a).any() for a in flushed_state)
    for mine, theirs in zip(flushed_state, kept_state):
        np.testing.assert_array_equal(mine[~_subnormal(theirs)], theirs[~_subnormal(theirs)])



def test_without_epsilon_nothing_is_flushed(rng, monkeypatch):
    """With eps = 0 a flushed velocity would make 0 / 0 of a flushed moment: no flush."""
    def make():
        return Adam(0.01, beta_2=0.9, epsilon=0.0)

    start = rng.standard_normal((4, 5))
    grads = [rng.standard_normal((4, 5)) for _ in range(5)] + [np.zeros((4, 5))] * 1200
    flushed, state = _steps_then_silence(make, start, grads, 64, monkeypatch)
    kept, _ = _steps_then_silence(make, start, grads, 10**9, monkeypatch)
    assert np.isfinite(flushed).all() and any(_subnormal(a).any() for a in state)
    np.testing.assert_array_equal(flushed, kept)
