import numpy as np
import pytest

import neuronet as nn
from neuronet import layers
from neuronet.rl import policy


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", None])
def test_predictor_equals_the_model(rng, activation):
    nn.manual_seed(3)
    model = nn.Sequential([layers.Input((5,)), layers.Dense(7, activation=activation),
                           layers.Dense(3, use_bias=False), layers.Dense(2)])
    x = rng.normal(size=(4, 5)).astype("float32")
    predictor = policy.Predictor(model)
    assert predictor.dense_chain is not None
    np.testing.assert_allclose(predictor(x), model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_predictor_sees_the_optimizer_steps(rng):
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"),
                           layers.Dense(2)])
    predictor, x = policy.Predictor(model), rng.normal(size=(2, 3)).astype("float32")
    before = predictor(x)
    optimizer = nn.optimizers.SGD(model.parameters(), lr=0.5)
    model(x).sum().backward()
    optimizer.step()
    assert not np.allclose(predictor(x), before)
    np.testing.assert_allclose(predictor(x), model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_predictor_runs_other_models_through_the_model(rng):
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((6,)), layers.Reshape((2, 3)), layers.Flatten(),
                           layers.Dense(2)])
    predictor = policy.Predictor(model)
    assert predictor.dense_chain is None
    x = rng.normal(size=(3, 6)).astype("float32")
    result = predictor(x)
    assert isinstance(result, np.ndarray) and nn.is_grad_enabled()
    np.testing.assert_array_equal(result, model(x).numpy())


def test_sample_action_follows_the_softmax():
    logits, rng = np.log(np.array([0.2, 0.5, 0.3])), np.random.default_rng(0)
    counts = np.bincount([policy.sample_action(logits, rng) for _ in range(20000)], minlength=3)
    # 20,000 draws: the standard error of each share is below 0.0036.
    np.testing.assert_allclose(counts / 20000, [0.2, 0.5, 0.3], atol=0.015)


def test_sample_action_is_seeded_and_greedy_takes_the_largest():
    logits = np.array([0.1, 0.0, 0.3])
    first = [policy.sample_action(logits, np.random.default_rng(5)) for _ in range(3)]
    assert len(set(first)) == 1
    assert policy.greedy_action(logits) == 2
