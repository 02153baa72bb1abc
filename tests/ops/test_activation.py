import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

# name -> (ours, PyTorch's); every one is elementwise or acts along one axis.
ACTIVATIONS = {
    "sigmoid": (ops.sigmoid, torch.sigmoid),
    "tanh": (ops.tanh, torch.tanh),
    "relu": (ops.relu, torch.relu),
    "leaky_relu": (ops.leaky_relu, F.leaky_relu),
    "leaky_relu_0.2": (lambda x: ops.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "elu": (ops.elu, F.elu),
    "elu_1.5": (lambda x: ops.elu(x, alpha=1.5), lambda x: F.elu(x, alpha=1.5)),
    "softplus": (ops.softplus, F.softplus),
    "softmax": (ops.softmax, lambda x: torch.softmax(x, -1)),
    "softmax_axis0": (lambda x: ops.softmax(x, axis=0), lambda x: torch.softmax(x, 0)),
    "softmax_axis1": (lambda x: ops.softmax(x, axis=1), lambda x: torch.softmax(x, 1)),
    "log_softmax": (ops.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "log_softmax_axis0": (lambda x: ops.log_softmax(x, axis=0),
                          lambda x: torch.log_softmax(x, 0)),
    "log_softmax_axis1": (lambda x: ops.log_softmax(x, axis=1),
                          lambda x: torch.log_softmax(x, 1)),
}


def _random_shape(rng):
    return tuple(int(n) for n in rng.integers(2, 5, size=3))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_gradients(name, rng):
    ours, _ = ACTIVATIONS[name]
    check_gradients(ours, [2 * rng.standard_normal(_random_shape(rng))], rng)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_torch(name, dtype, rng):
    ours, theirs = ACTIVATIONS[name]
    check_against_torch(ours, theirs, [3 * rng.standard_normal(_random_shape(rng))], rng,
                        dtype=dtype)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_float32_stays_float32(name, rng):
    ours, _ = ACTIVATIONS[name]
    x = nn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = ours(x)
    y.backward(rng.standard_normal(y.shape).astype(np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "softplus"])
def test_gradient_at_zero_matches_torch(name, rng):
    ours, theirs = ACTIVATIONS[name]
    values = np.array([-1.0, 0.0, 0.0, 2.0])
    check_against_torch(ours, theirs, [values], rng, dtype=np.float64)


def test_relu_gradient_is_zero_at_zero():
    x = nn.tensor([0.0, -0.0, 1e-30], requires_grad=True)
    ops.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_are_stable(name, dtype, rng):
    """|x| = 1e4 gives the PyTorch values and finite gradients, with no warning at all
    (underflow to exactly 0 is the right answer, so it alone is allowed)."""
    ours, theirs = ACTIVATIONS[name]
    x = np.array([[-1e4, 1e4, 0.5], [1e4, 1e4, -1e4], [-1e4, -1e4, 3.0]])
    gy = rng.standard_normal(x.shape)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise",
                                                divide="raise", under="ignore"):
        warnings.simplefilter("error")
        ours_x = nn.tensor(x, dtype=dtype, requires_grad=True)
        y = ours(ours_x)
        y.backward(gy.astype(dtype))
    torch_x = torch.tensor(x.astype(dtype), requires_grad=True)
    y_torch = theirs(torch_x)
    y_torch.backward(torch.tensor(gy.astype(dtype)))
    assert np.all(np.isfinite(ours_x.grad))
    assert_close(y.numpy(), y_torch.detach().numpy(), 1e-6, what="output")
    assert_close(ours_x.grad, torch_x.grad.numpy(), 1e-6, what="gradient")


def test_sigmoid_saturates_exactly():
    y = ops.sigmoid(nn.tensor([-1e4, 1e4]))
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0])


def test_softmax_rows_sum_to_one(rng):
    y = ops.softmax(nn.tensor(50 * rng.standard_normal((5, 7)), dtype="float64"))
    assert_close(y.numpy().sum(axis=-1), np.ones(5), 1e-12)


@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax])
def test_axis_out_of_range_is_an_error(op):
    with pytest.raises(ValueError, match=r"axis 2 is out of range .* shape \(3, 4\)"):
        op(nn.tensor(np.zeros((3, 4))), axis=2)


def test_numpy_float64_parameters_do_not_upcast():
    x = nn.tensor([-1.0, 2.0], requires_grad=True)
    y = ops.leaky_relu(x, np.float64(0.1)) + ops.elu(x, np.float64(0.5))
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
