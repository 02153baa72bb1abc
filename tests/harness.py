"""Shared checks: finite differences in float64 and PyTorch as the oracle.

``check_gradients`` compares autograd with central differences of
``sum(f(x) * gy)`` for a random upstream gradient ``gy`` (never only ones, which
hides backward bugs). ``check_against_torch`` runs the same function in neuronet
and PyTorch on the same arrays and the same ``gy`` and compares the outputs and
every input gradient.
"""
import numpy as np
import torch

import neuronet as nn

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def assert_close(actual, expected, rtol, what="value"):
    """Equal within ``rtol`` relative to the largest magnitude of ``expected``."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def numerical_gradient(f, arrays, index, gy, eps=1e-6):
    """d sum(f(arrays) * gy) / d arrays[index] by central differences (float64)."""
    x = arrays[index]
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        up = np.sum(f(*arrays) * gy)
        flat[i] = original - eps
        down = np.sum(f(*arrays) * gy)
        flat[i] = original
        gflat[i] = (up - down) / (2 * eps)
    return grad


def check_gradients(f, arrays, rng, wrt=None, rtol=1e-6, eps=1e-6):
    """Autograd of ``f`` (Tensors -> Tensor) equals central differences in float64.

    ``wrt`` lists the indices of ``arrays`` to differentiate (default: all).
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    wrt = range(len(arrays)) if wrt is None else wrt
    tensors = [nn.tensor(a, dtype="float64", requires_grad=i in wrt) for i, a in enumerate(arrays)]
    y = f(*tensors)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)

    def f_numpy(*xs):
        with nn.no_grad():
            return f(*[nn.tensor(x, dtype="float64") for x in xs]).numpy()

    for i in wrt:
        expected = numerical_gradient(f_numpy, arrays, i, gy, eps)
        assert_close(tensors[i].grad, expected, rtol, what=f"gradient of input {i}")


def check_against_torch(f, f_torch, arrays, rng, dtype=np.float32, wrt=None, rtol=None):
    """``f`` in neuronet and ``f_torch`` in PyTorch agree on output and gradients."""
    rtol = TOLERANCE[dtype] if rtol is None else rtol
    arrays = [np.array(a, dtype=dtype) for a in arrays]
    wrt = range(len(arrays)) if wrt is None else wrt
    ours = [nn.tensor(a, dtype=dtype, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    y, y_torch = f(*ours), f_torch(*theirs)
    assert y.dtype == dtype, f"output dtype {y.dtype}, expected {np.dtype(dtype)}"
    assert_close(y.numpy(), y_torch.detach().numpy(), rtol, what="output")
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    y_torch.backward(torch.tensor(gy))
    for i in wrt:
        assert ours[i].grad.dtype == dtype, f"gradient {i} dtype {ours[i].grad.dtype}"
        assert_close(ours[i].grad, theirs[i].grad.numpy(), rtol, what=f"gradient of input {i}")
