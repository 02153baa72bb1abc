
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

REDUCTIONS = ["mean", "sum", "none"]


def _probabilities(rng, shape):
    """Rows of positive numbers that sum to 1 (soft labels)."""
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=-1, keepdims=True)


def _labels(rng, shape, classes):
    return rng.integers(0, classes, size=shape)


# --- softmax_cross_entropy -----------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 6)])
def test_softmax_cross_entropy_index_gradients(reduction, shape, rng):
    labels = _labels(rng, shape[:-1], shape[-1])
    f = lambda z: ops.softmax_cross_entropy(z, labels, reduction)
    check_gradients(f, [3 * rng.standard_normal(shape)], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 6)])
def test_softmax_cross_entropy_probability_gradients(reduction, shape, rng):
    f = lambda z, t: ops.softmax_cross_entropy(z, t, reduction)
    check_gradients(f, [3 * rng.standard_normal(shape), _probabilities(rng, shape)], rng)


def _torch_cross_entropy(reduction):
    """F.cross_entropy with classes on the last axis (PyTorch wants them on axis 1)."""
    return lambda z, t: F.cross_entropy(z.movedim(-1, 1), t, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_index_against_torch(reduction, shape, dtype, rng):
    labels = _labels(rng, shape[:-1], shape[-1])
    f = lambda z: ops.softmax_cross_entropy(z, labels, reduction)
    f_torch = lambda z: _torch_cross_entropy(reduction)(z, torch.tensor(labels))
    check_against_torch(f, f_torch, [3 * rng.standard_normal(shape)], rng, dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_probabilities_against_torch(reduction, shape, dtype, rng):
    f = lambda z, t: ops.softmax_cross_entropy(z, t, reduction)
    f_torch = lambda z, t: _torch_cross_entropy(reduction)(z, t.movedim(-1, 1))
    arrays = [3 * rng.standard_normal(shape), _probabilities(rng, shape)]
    check_against_torch(f, f_torch, arrays, rng, dtype=dtype)


def test_softmax_cross_entropy_one_hot_equals_indices(rng):
    z, labels = rng.standard_normal((6, 4)), _labels(rng, (6,), 4)
    from_indices = ops.softmax_cross_entropy(nn.tensor(z), labels, "none")
    from_one_hot = ops.softmax_cross_entropy(nn.tensor(z), np.eye(4)[labels], "none")
    assert_close(from_indices.numpy(), from_one_hot.numpy(), 1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_extreme_logits(dtype, raise_on_float_trouble):
    """Logits of +-1e4: the right class costs 0, a wrong one 2e4; all finite."""
    z = np.array([[1e4, -1e4, -1e4], [-1e4, 1e4, -1e4]])
    labels = np.array([0, 2])
    for target in (labels, np.eye(3)[labels]):
        logits = nn.tensor(z, dtype=dtype, requires_grad=True)
        loss = ops.softmax_cross_entropy(logits, target, "none")
        loss.sum().backward()
        assert_close(loss.numpy(), [0.0, 2e4], 1e-6)
        assert_close(logits.grad, [[0, 0, 0], [0, 1, -1]], 1e-6)


@pytest.mark.parametrize("labels", [[0, 4, 1], [0, -1, 1]])
def test_softmax_cross_entropy_rejects_out_of_range_labels(labels):
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: class indices must lie in "
                                         r"\[0, 4\)"):
        ops.softmax_cross_entropy(nn.tensor(np.zeros((3, 4))), np.array(labels))


@pytest.mark.parametrize("target", [np.zeros(4, dtype=int), np.zeros((3, 5))])
def test_softmax_cross_entropy_rejects_wrong_target_shape(target):
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: .*\(3, 4\)"):
        ops.softmax_cross_entropy(nn.tensor(np.zeros((3, 4))), target)


@pytest.mark.parametrize("op", [ops.softmax_cross_entropy, ops.sigmoid_binary_cross_entropy,
                                ops.binary_cross_entropy, ops.categorical_cross_entropy])
def test_unknown_reduction_is_an_error(op):
    with pytest.raises(ValueError, match=r"reduction must be one of .* got 'avg'"):
        op(nn.tensor(np.full((2, 3), 0.5)), np.full((2, 3), 0.5), reduction="avg")


# --- sigmoid_binary_cross_entropy ----------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sigmoid_binary_cross_entropy_gradients(reduction, rng):
    f = lambda z, t: ops.sigmoid_binary_cross_entropy(z, t, reduction)
    check_gradients(f, [3 * rng.standard_normal((4, 3)), rng.uniform(size=(4, 3))], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_binary_cross_entropy_against_torch(reduction, dtype, rng):
    f = lambda z, t: ops.sigmoid_binary_cross_entropy(z, t, reduction)
    f_torch = lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction=reduction)
    arrays = [3 * rng.standard_normal((5, 2, 3)), rng.uniform(size=(5, 2, 3))]
    check_against_torch(f, f_torch, arrays, rng, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_binary_cross_entropy_extreme_logits(dtype, raise_on_float_trouble):
    z = np.array([1e4, -1e4, 1e4, -1e4])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    logits = nn.tensor(z, dtype=dtype, requires_grad=True)
    loss = ops.sigmoid_binary_cross_entropy(logits, t, "none")
    loss.sum().backward()
    assert_close(loss.numpy(), [0.0, 0.0, 1e4, 1e4], 1e-6)
    assert_close(logits.grad, [0.0, 0.0, 1.0, -1.0], 1e-6)


def test_sigmoid_binary_cross_entropy_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"target shape \(4,\) does not match .*\(4, 1\)"):
        ops.sigmoid_binary_cross_entropy(nn.tensor(np.zeros((4, 1))), np.zeros(4))


# --- losses on probabilities ---------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_gradients(reduction, rng):
    f = lambda p, t: ops.binary_cross_entropy(p, t, reduction=reduction)
    check_gradients(f, [rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(size=(4, 3))], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_against_torch(reduction, dtype, rng):
    f = lambda p, t: ops.binary_cross_entropy(p, t, reduction=reduction)
    f_torch = lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction)
    arrays = [rng.uniform(0.05, 0.95, (6, 3)), rng.uniform(size=(6, 3))]
    check_against_torch(f, f_torch, arrays, rng, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_of_exact_zeros_and_ones(dtype, raise_on_float_trouble):
    """p = 0 or 1 is clipped to [1e-7, 1 - 1e-7] (Keras): finite loss, zero gradient."""
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    probabilities = nn.tensor(p, dtype=dtype, requires_grad=True)
    loss = ops.binary_cross_entropy(probabilities, t, reduction="none")
    loss.sum().backward()
    low, high = dtype(1e-7), dtype(1) - dtype(1e-7)
    clipped = np.clip(p.astype(dtype), low, high)
    expected = -(t * np.log(clipped) + (1 - t) * np.log(1 - clipped))
    assert_close(loss.numpy(), expected, 1e-6)
    assert loss.numpy()[2] > 15  # a confident mistake costs about -ln(1e-7) = 16.1
    np.testing.assert_array_equal(probabilities.grad, np.zeros(4))


def _torch_categorical(p, t):
    """Keras' categorical cross-entropy on probabilities, written in PyTorch."""
    p = torch.clamp(p / p.sum(-1, keepdim=True), 1e-7, 1 - 1e-7)
    return -(t * torch.log(p)).sum(-1)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_categorical_cross_entropy_gradients(shape, rng):
    f = lambda p, t: ops.categorical_cross_entropy(p, t, reduction="none")
    check_gradients(f, [_probabilities(rng, shape), _probabilities(rng, shape)], rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_categorical_cross_entropy_against_torch(dtype, rng):
    f = lambda p, t: ops.categorical_cross_entropy(p, t)
    f_torch = lambda p, t: _torch_categorical(p, t).mean()
    arrays = [_probabilities(rng, (6, 4)), _probabilities(rng, (6, 4))]
    check_against_torch(f, f_torch, arrays, rng, dtype=dtype)


def test_categorical_cross_entropy_on_softmax_equals_cross_entropy_on_logits(rng):
    z, t = rng.standard_normal((5, 4)), _probabilities(rng, (5, 4))
    f = lambda z, t: ops.categorical_cross_entropy(ops.softmax(z), t)
    check_against_torch(f, lambda z, t: F.cross_entropy(z, t), [z, t], rng, dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_categorical_cross_entropy_of_exact_zeros_and_ones(dtype, raise_on_float_trouble):
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    t = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    probabilities = nn.tensor(p, dtype=dtype, requires_grad=True)
    loss = ops.categorical_cross_entropy(probabilities, t, reduction="none")
    loss.sum().backward()
    expected = -np.log(np.clip(p.astype(dtype), dtype(1e-7), dtype(1) - dtype(1e-7)))
    assert_close(loss.numpy(), [expected[0, 0], expected[1, 2]], 1e-6)
    assert np.all(np.isfinite(probabilities.grad))


@pytest.mark.parametrize("op, target", [
    (ops.softmax_cross_entropy, np.eye(3)[[0, 1]]),
    (ops.softmax_cross_entropy, np.array([0, 1])),
    (ops.sigmoid_binary_cross_entropy, np.eye(3)[[0, 1]]),
    (ops.binary_cross_entropy, np.eye(3)[[0, 1]]),
    (ops.categorical_cross_entropy, np.eye(3)[[0, 1]]),
])
def test_float32_stays_float32(op, target, rng):
    x = nn.tensor(rng.uniform(0.1, 0.9, (2, 3)), requires_grad=True)
    loss = op(x, target)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
