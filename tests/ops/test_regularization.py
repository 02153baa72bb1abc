import numpy as np
import pytest

from harness import assert_close, check_gradients
import neuronet as nn
from neuronet import ops


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_keep_rate_and_scaling(rate, rng):
    """About 1 - rate of 200 000 elements survive, each scaled by 1 / (1 - rate)."""
    x = nn.tensor(rng.uniform(1.0, 2.0, 200_000))
    y = ops.dropout(x, rate, training=True, rng=rng).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - rate)) < 0.005  # ~5 standard deviations
    assert_close(y[kept], x.numpy()[kept] / (1 - rate), 1e-6)
    assert y.dtype == np.float32


def test_gradient_is_the_scaled_mask(rng):
    x = nn.tensor(rng.uniform(1.0, 2.0, (30, 20)), requires_grad=True)
    y = ops.dropout(x, 0.3, training=True, rng=rng)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    mask = (y.numpy() != 0) / np.float32(0.7)
    assert_close(x.grad, gy * mask, 1e-6)
    assert x.grad.dtype == np.float32


def test_gradients_against_finite_differences(rng):
    f = lambda x: ops.dropout(x, 0.4, training=True, rng=np.random.default_rng(3))
    check_gradients(f, [rng.standard_normal((4, 5))], rng)


@pytest.mark.parametrize("rate, training", [(0.5, False), (0.0, True), (0.0, False)])
def test_identity_at_inference_or_rate_zero(rate, training, rng):
    x = nn.tensor(rng.standard_normal((5, 6)), requires_grad=True)
    y = ops.dropout(x, rate, training=training)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(x.grad, gy)


def test_rate_one_drops_everything(rng):
    y = ops.dropout(nn.tensor(rng.standard_normal((4, 4))), 1.0, training=True)
    np.testing.assert_array_equal(y.numpy(), np.zeros((4, 4)))


def test_manual_seed_makes_the_mask_repeat(rng):
    x = nn.tensor(rng.standard_normal((20, 10)))
    nn.manual_seed(7)
    first = ops.dropout(x, 0.5, training=True).numpy()
    second = ops.dropout(x, 0.5, training=True).numpy()
    nn.manual_seed(7)
    again = ops.dropout(x, 0.5, training=True).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)


def test_explicit_generator_is_used(rng):
    x = nn.tensor(rng.standard_normal((20, 10)))
    a = ops.dropout(x, 0.5, training=True, rng=np.random.default_rng(1)).numpy()
    b = ops.dropout(x, 0.5, training=True, rng=np.random.default_rng(1)).numpy()
    c = ops.dropout(x, 0.5, training=True, rng=np.random.default_rng(2)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_rate_outside_unit_interval_is_an_error(rate):
    with pytest.raises(ValueError, match=rf"dropout: rate must lie in \[0, 1\], got {rate}"):
        ops.dropout(nn.tensor(np.ones(3)), rate, training=True)
