import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

SHAPES = [(8, 3), (2, 3, 4, 5)]
EPSILON = 1e-3


def _moving_statistics(rng, channels, dtype=np.float64):
    return (rng.standard_normal(channels).astype(dtype),
            rng.uniform(0.5, 2.0, channels).astype(dtype))


def _ours(moving_mean, moving_variance, training):
    def f(x, gamma, beta):
        return ops.batch_norm(x, gamma, beta, moving_mean.copy(), moving_variance.copy(),
                              training=training, epsilon=EPSILON)
    return f


def _torch(moving_mean, moving_variance, training):
    """F.batch_norm with channels moved to axis 1 and back (PyTorch is channels-first)."""
    def f(x, gamma, beta):
        running = [None, None] if training else [torch.tensor(moving_mean),
                                                 torch.tensor(moving_variance)]
        y = F.batch_norm(x.movedim(-1, 1), *running, gamma, beta, training=training, eps=EPSILON)
        return y.movedim(1, -1)
    return f


def _inputs(rng, shape):
    channels = shape[-1]
    return [2 * rng.standard_normal(shape) + 1, rng.uniform(0.5, 2.0, channels),
            rng.standard_normal(channels)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_gradients(shape, training, rng):
    moving = _moving_statistics(rng, shape[-1])
    check_gradients(_ours(*moving, training), _inputs(rng, shape), rng)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_torch(shape, training, dtype, rng):
    """Output, dx, dgamma and dbeta equal F.batch_norm's, in both modes."""
    moving = _moving_statistics(rng, shape[-1], dtype)
    check_against_torch(_ours(*moving, training), _torch(*moving, training), _inputs(rng, shape),
                        rng, dtype=dtype)


@pytest.mark.parametrize("shape", SHAPES)
def test_training_updates_moving_statistics_as_keras(shape, rng):
    momentum = 0.9
    x = 2 * rng.standard_normal(shape) + 1
    moving_mean, moving_variance = _moving_statistics(rng, shape[-1])
    axes = tuple(range(len(shape) - 1))
    expected_mean = moving_mean * momentum + x.mean(axis=axes) * (1 - momentum)
    expected_variance = moving_variance * momentum + x.var(axis=axes) * (1 - momentum)
    ops.batch_norm(nn.tensor(x, dtype="float64"), None, None, moving_mean, moving_variance,
                   training=True, momentum=momentum)
    assert_close(moving_mean, expected_mean, 1e-12, what="moving mean")
    assert_close(moving_variance, expected_variance, 1e-12, what="moving variance")


def test_moving_statistics_held_in_tensors_are_updated(rng):
    x = nn.tensor(rng.standard_normal((6, 2)))
    moving_mean = nn.tensor(np.zeros(2))
    moving_variance = nn.tensor(np.ones(2))
    ops.batch_norm(x, None, None, moving_mean, moving_variance, training=True, momentum=0.5)
    assert_close(moving_mean.numpy(), 0.5 * x.numpy().mean(axis=0), 1e-6)
    assert_close(moving_variance.numpy(), 0.5 + 0.5 * x.numpy().var(axis=0), 1e-6)
    assert moving_mean.dtype == np.float32


def test_inference_leaves_moving_statistics_alone(rng):
    moving_mean, moving_variance = _moving_statistics(rng, 3, np.float32)
    before = moving_mean.copy(), moving_variance.copy()
    x = nn.tensor(rng.standard_normal((4, 3)))
    y = ops.batch_norm(x, None, None, moving_mean, moving_variance, training=False)
    np.testing.assert_array_equal(moving_mean, before[0])
    np.testing.assert_array_equal(moving_variance, before[1])
    expected = (x.numpy() - before[0]) / np.sqrt(before[1] + EPSILON)
    assert_close(y.numpy(), expected, 1e-6)


def test_without_gamma_and_beta_normalises_the_batch(rng):
    x = nn.tensor(5 * rng.standard_normal((50, 2, 3)) + 3, dtype="float64")
    y = ops.batch_norm(x, None, None, np.zeros(3), np.ones(3), training=True, epsilon=0.0)
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 1)), np.zeros(3), atol=1e-12)
    assert_close(y.numpy().var(axis=(0, 1)), np.ones(3), 1e-12, what="variance")


def test_float32_stays_float32(rng):
    x, gamma, beta = [nn.tensor(a, requires_grad=True) for a in _inputs(rng, (4, 3))]
    moving_mean, moving_variance = _moving_statistics(rng, 3, np.float32)
    y = ops.batch_norm(x, gamma, beta, moving_mean, moving_variance, training=True)
    y.backward(rng.standard_normal(y.shape).astype(np.float32))
    assert y.dtype == np.float32
    assert {t.grad.dtype for t in (x, gamma, beta)} == {np.dtype(np.float32)}
    assert moving_mean.dtype == moving_variance.dtype == np.float32


def test_rejects_wrong_shapes():
    x = nn.tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"batch_norm: gamma must have shape \(3,\), got \(4,\)"):
        ops.batch_norm(x, nn.tensor(np.ones(4)), None, np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: moving_variance .* \(3,\) .* \(2,\)"):
        ops.batch_norm(x, None, None, np.zeros(3), np.ones(2), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: .*at least 2 dimensions, got shape \(3,\)"):
        ops.batch_norm(nn.tensor(np.zeros(3)), None, None, np.zeros(3), np.ones(3), training=True)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("given", [(True, True), (False, False), (False, True), (True, False)])
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-6), (np.float64, 1e-13)])
def test_fast_path_matches_the_reference(training, given, dtype, rtol, rng):
    """The op (passes into arrays made once; inference as x * s + shift) against the plain
    formula of ``neuronet.ops.reference``, output and the three gradients, random gy."""
    from neuronet.ops import reference
    shape = (6, 5, 4, 3)
    x, gamma, beta = (a.astype(dtype) for a in _inputs(rng, shape))
    gamma, beta = (a if keep else None for a, keep in zip((gamma, beta), given))
    moving_mean, moving_variance = _moving_statistics(rng, shape[-1], dtype)
    tensors = [nn.Tensor(a, dtype=dtype, requires_grad=True) if a is not None else None
               for a in (x, gamma, beta)]
    y = ops.batch_norm(*tensors, moving_mean.copy(), moving_variance.copy(),
                       training=training, epsilon=EPSILON)
    gy = rng.standard_normal(shape).astype(dtype)
    y.backward(gy)
    axes = (0, 1, 2)
    mean, variance = ((x.mean(axis=axes), x.var(axis=axes)) if training
                      else (moving_mean, moving_variance))
    expected = reference.batch_norm_forward(x, gamma, beta, mean, variance, EPSILON)
    assert y.dtype == dtype
    assert_close(y.numpy(), expected, rtol, what="y")
    gx, ggamma, gbeta = reference.batch_norm_backward(x, gamma, mean, variance, gy, EPSILON,
                                                      training)
    assert_close(tensors[0].grad, gx, rtol, what="gx")
    if gamma is not None:
        assert_close(tensors[1].grad, ggamma, rtol, what="ggamma")
    if beta is not None:
        assert_close(tensors[2].grad, gbeta, rtol, what="gbeta")
