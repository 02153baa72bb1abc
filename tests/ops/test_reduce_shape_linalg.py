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


def _dense_arrays(rng, with_bias=True):
    n, features, units = (int(v) for v in rng.integers(2, 7, size=3))
    arrays = [rng.standard_normal((n, features)), rng.standard_normal((features, units))]
    return arrays + [rng.standard_normal(units)] if with_bias else arrays


def _ours_dense(activation):
    return lambda x, w, b=None: ops.dense(x, w, b, activation=activation)


def _torch_dense(activation):
    def dense(x, w, b=None):
        y = x @ w if b is None else x @ w + b
        return torch.relu(y) if activation == "relu" else y
    return dense


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense(activation, with_bias, rng):
    arrays = _dense_arrays(rng, with_bias)
    ours = _ours_dense(activation)
    check_gradients(ours, arrays, rng)
    for dtype in (np.float32, np.float64):
        check_against_torch(ours, _torch_dense(activation), arrays, rng, dtype=dtype)


def test_dense_without_input_gradient_like_a_first_layer(rng):
    arrays = _dense_arrays(rng)
    ours = _ours_dense("relu")
    check_against_torch(ours, _torch_dense("relu"), arrays, rng, dtype=np.float32, wrt=[1, 2])
    check_gradients(ours, arrays, rng, wrt=[1, 2])


def test_dense_under_no_grad_equals_the_recorded_path(rng):
    x, w, b = _dense_arrays(rng)
    with nn.no_grad():
        y_plain = ops.dense(x, w, b, activation="relu").numpy()
    y = ops.dense(nn.tensor(x, requires_grad=True), w, b, activation="relu")
    np.testing.assert_array_equal(y_plain, y.numpy())
    assert y.dtype == np.float32


@pytest.mark.parametrize("shapes, kwargs, message", [
    (((2, 3), (4, 5), None), {}, r"dense expects inputs \(N, in\) and a kernel \(in, units\) "
                                 r"that fit, got shapes \(2, 3\) and \(4, 5\)"),
    (((2, 3, 4), (4, 5), None), {}, r"got shapes \(2, 3, 4\) and \(4, 5\)"),
    (((2, 3), (3, 5), (4,)), {}, r"dense expects a bias of shape \(5,\), got shape \(4,\)"),
    (((2, 3), (3, 5), None), {"activation": "sigmoid"},
     r"dense: activation must be None or 'relu' \(fused\), got 'sigmoid'"),
])
def test_dense_errors_name_the_op_and_shapes(shapes, kwargs, message):
    x_shape, w_shape, b_shape = shapes
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=message):
        ops.dense(np.zeros(x_shape), np.zeros(w_shape), b, **kwargs)


def test_dense_rejects_mixed_dtypes():
    x = nn.tensor(np.zeros((2, 3)), dtype="float32")
    w = nn.tensor(np.zeros((3, 4)), dtype="float64")
    with pytest.raises(ValueError, match="dense: kernel dtype float64 differs from input dtype "
                                         "float32"):
        ops.dense(x, w)
