import numpy as np
import pytest
import torch.nn.functional as F

from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

EPSILON = 1e-3
# (shape, axis): the last axis, the last two (as a list), and two axes that are not the last
CASES = [((6, 5), -1), ((3, 4, 5), [-2, -1]), ((2, 3, 4, 2), [1, 2]), ((2, 3, 4), 1)]


def _axes(shape, axis):
    axis = [axis] if isinstance(axis, int) else axis
    return sorted(a % len(shape) for a in axis)


def _inputs(rng, shape, axis):
    parameter_shape = tuple(shape[a] for a in _axes(shape, axis))
    return [3 * rng.standard_normal(shape) - 1, rng.uniform(0.5, 2.0, parameter_shape),
            rng.standard_normal(parameter_shape)]


def _ours(axis):
    return lambda x, gamma, beta: ops.layer_norm(x, gamma, beta, axis=axis, epsilon=EPSILON)


def _torch(shape, axis):
    """F.layer_norm normalises the last axes: move ours there and back."""
    axes = _axes(shape, axis)
    last = list(range(len(shape) - len(axes), len(shape)))

    def f(x, gamma, beta):
        moved = x.movedim(axes, last)
        y = F.layer_norm(moved, moved.shape[len(shape) - len(axes):], gamma, beta, eps=EPSILON)
        return y.movedim(last, axes)
    return f


@pytest.mark.parametrize("shape, axis", CASES)
def test_gradients(shape, axis, rng):
    check_gradients(_ours(axis), _inputs(rng, shape, axis), rng)


@pytest.mark.parametrize("shape, axis", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_torch(shape, axis, dtype, rng):
    """Output, dx, dgamma and dbeta equal F.layer_norm's."""
    check_against_torch(_ours(axis), _torch(shape, axis), _inputs(rng, shape, axis), rng,
                        dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_without_gamma_and_beta_against_torch(dtype, rng):
    shape = (4, 3, 5)
    check_against_torch(lambda x: ops.layer_norm(x, axis=-1, epsilon=EPSILON),
                        lambda x: F.layer_norm(x, (5,), eps=EPSILON),
                        [rng.standard_normal(shape)], rng, dtype=dtype)


def test_each_example_is_standardised_with_the_biased_variance(rng):
    x = nn.tensor(4 * rng.standard_normal((3, 50)) + 2, dtype="float64")
    y = ops.layer_norm(x, axis=-1, epsilon=0.0).numpy()
    np.testing.assert_allclose(y.mean(axis=1), np.zeros(3), atol=1e-12)
    assert_close(y.var(axis=1), np.ones(3), 1e-12, what="variance")
    expected = (x.numpy() - x.numpy().mean(axis=1, keepdims=True)) / x.numpy().std(
        axis=1, keepdims=True)
    assert_close(y, expected, 1e-12)


def test_float32_stays_float32(rng):
    x, gamma, beta = [nn.tensor(a, requires_grad=True) for a in _inputs(rng, (4, 3), -1)]
    y = ops.layer_norm(x, gamma, beta)
    y.backward(rng.standard_normal(y.shape).astype(np.float32))
    assert y.dtype == np.float32
    assert {t.grad.dtype for t in (x, gamma, beta)} == {np.dtype(np.float32)}


def test_same_value_with_and_without_a_tape(rng):
    x, gamma, beta = _inputs(rng, (3, 4), -1)
    recorded = ops.layer_norm(nn.tensor(x, requires_grad=True), nn.tensor(gamma),
                              nn.tensor(beta)).numpy()
    with nn.no_grad():
        plain = ops.layer_norm(nn.tensor(x), nn.tensor(gamma), nn.tensor(beta)).numpy()
    np.testing.assert_array_equal(recorded, plain)


def test_rejects_wrong_shapes_and_axes():
    x = nn.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"layer_norm: gamma must have shape \(4,\) .* got \(3,\)"):
        ops.layer_norm(x, nn.tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"layer_norm: beta must have shape \(3, 4\) .*\[1, 2\]"):
        ops.layer_norm(x, None, nn.tensor(np.ones(4)), axis=[1, 2])
    with pytest.raises(ValueError, match=r"layer_norm: axis must be .* in \[-3, 3\) .* got 3"):
        ops.layer_norm(x, axis=3)
    with pytest.raises(ValueError, match=r"layer_norm: axis \[2, -1\] names an axis twice"):
        ops.layer_norm(x, axis=[2, -1])
