import numpy as np
import pytest
import torch

from harness import check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

BINARY = {
    "add": (ops.add, torch.add),
    "sub": (ops.sub, torch.sub),
    "mul": (ops.mul, torch.mul),
    "div": (ops.div, torch.div),
    "maximum": (ops.maximum, torch.maximum),
}

# Shape pairs that broadcast: equal, row, column, scalar-like and prepended axes.
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((5,), (1,)),
                   ((2, 1, 4), (3, 1))]


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
def test_binary_gradients(name, shapes, rng):
    ours, _ = BINARY[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    if name == "div":
        arrays[1] = _positive(rng, shapes[1])
    check_gradients(ours, arrays, rng)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_against_torch(name, dtype, rng):
    ours, theirs = BINARY[name]
    arrays = [rng.standard_normal((2, 3, 4)), _positive(rng, (3, 1))]
    check_against_torch(ours, theirs, arrays, rng, dtype=dtype)


UNARY = {
    "exp": (ops.exp, torch.exp, rng_normal := lambda rng, s: rng.standard_normal(s)),
    "log": (ops.log, torch.log, _positive),
    "sqrt": (ops.sqrt, torch.sqrt, _positive),
    "abs": (ops.abs, torch.abs, rng_normal),
    "neg": (ops.neg, torch.neg, rng_normal),
    "clip": (lambda x: ops.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), rng_normal),
    "square": (lambda x: x ** 2, lambda x: x ** 2, rng_normal),
    "power": (lambda x: x ** 1.7, lambda x: x ** 1.7, _positive),
    "rpow": (lambda x: 2.5 ** x, lambda x: 2.5 ** x, rng_normal),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradients(name, rng):
    ours, _, draw = UNARY[name]
    check_gradients(ours, [draw(rng, (3, 5))], rng)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_against_torch(name, dtype, rng):
    ours, theirs, draw = UNARY[name]
    check_against_torch(ours, theirs, [draw(rng, (4, 6))], rng, dtype=dtype)


def test_power_with_tensor_exponent(rng):
    arrays = [_positive(rng, (3, 4)), rng.standard_normal((4,))]
    check_gradients(ops.power, arrays, rng)
    check_against_torch(ops.power, torch.pow, arrays, rng, dtype=np.float64)


def test_where_gradients(rng):
    condition = rng.random((3, 4)) > 0.5
    f = lambda a, b: ops.where(condition, a, b)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((4,))]
    check_gradients(f, arrays, rng)
    check_against_torch(f, lambda a, b: torch.where(torch.tensor(condition), a, b), arrays, rng)


def test_maximum_ties_split_the_gradient():
    a = nn.tensor([1.0, 2.0], requires_grad=True)
    b = nn.tensor([1.0, 0.0], requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0])


def test_scalars_do_not_upcast_float32():
    x = nn.tensor([1.0, 2.0], requires_grad=True)
    y = (2.0 * x + np.float64(1.5)) / 3 - np.array([1.0]) ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
