import numpy as np
import pytest
import torch

from harness import check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

REDUCTIONS = {
    "sum": (ops.sum, lambda x, axis, keepdims: x.sum(dim=axis, keepdim=keepdims)),
    "mean": (ops.mean, lambda x, axis, keepdims: x.mean(dim=axis, keepdim=keepdims)),
    "max": (ops.max, lambda x, axis, keepdims: x.amax(dim=axis, keepdim=keepdims)),
    "min": (ops.min, lambda x, axis, keepdims: x.amin(dim=axis, keepdim=keepdims)),
}
AXES = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, axis, keepdims, rng):
    ours, theirs = REDUCTIONS[name]
    shape = tuple(rng.integers(2, 5, size=3))
    x = rng.standard_normal(shape)
    f = lambda t: ours(t, axis=axis, keepdims=keepdims)
    torch_axis = tuple(range(3)) if axis is None else axis
    check_gradients(f, [x], rng)
    check_against_torch(f, lambda t: theirs(t, torch_axis, keepdims), [x], rng, dtype=np.float64)
    check_against_torch(f, lambda t: theirs(t, torch_axis, keepdims), [x], rng, dtype=np.float32)


def test_max_ties_share_the_gradient_like_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check_against_torch(lambda t: t.max(axis=1), lambda t: t.amax(dim=1), [x],
                        np.random.default_rng(0), dtype=np.float64)


SHAPE_OPS = {
    "reshape": (lambda t: t.reshape(4, -1), lambda t: t.reshape(4, -1)),
    "transpose": (lambda t: t.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "T": (lambda t: t.T, lambda t: t.permute(2, 1, 0)),
    "flatten": (lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "slice": (lambda t: t[1:, ::2, -1], lambda t: t[1:, ::2, -1]),
    "int_array": (lambda t: t[[0, 1, 0]], lambda t: t[[0, 1, 0]]),
    "mixed": (lambda t: t[:, [2, 2, 0], 1], lambda t: t[:, [2, 2, 0], 1]),
    "bool_mask": (lambda t: t[t.numpy() > 0], lambda t: t[t > 0]),
    "pad": (lambda t: ops.pad(t, ((0, 1), (2, 0), (1, 1))),
            lambda t: torch.nn.functional.pad(t, (1, 1, 2, 0, 0, 1))),
}


@pytest.mark.parametrize("name", SHAPE_OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_ops(name, dtype, rng):
    ours, theirs = SHAPE_OPS[name]
    x = rng.standard_normal((2, 4, 3))
    check_gradients(ours, [x], rng)
    check_against_torch(ours, theirs, [x], rng, dtype=dtype)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis, rng):
    arrays = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    cat = lambda *ts: ops.concatenate(ts, axis=axis)
    stack = lambda *ts: ops.stack(ts, axis=axis)
    check_gradients(cat, arrays, rng)
    check_gradients(stack, arrays, rng)
    check_against_torch(cat, lambda *ts: torch.cat(ts, dim=axis), arrays, rng)
    check_against_torch(stack, lambda *ts: torch.stack(ts, dim=axis), arrays, rng)


MATMUL_SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)),
                 ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul(shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    check_gradients(ops.matmul, arrays, rng)
    for dtype in (np.float32, np.float64):
        check_against_torch(lambda a, b: a @ b, torch.matmul, arrays, rng, dtype=dtype)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\)"):
        nn.tensor(np.ones((3, 4))) @ nn.tensor(np.ones((5, 2)))
