"""The keras.ops names: gradients against finite differences and PyTorch, values against
NumPy and PyTorch, and the list in neuronet.ops' docstring against what it exports."""
import math
import re

import numpy as np
import pytest
import torch

from harness import check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _pieces(parts):
    """Join split pieces, each scaled differently, so a mixed-up piece changes the result."""
    return [part * (i + 1.0) for i, part in enumerate(parts)]


# name -> (ours, PyTorch's, input shape); each differentiable one gets both checks.
DIFFERENTIABLE = {
    "square": (ops.square, torch.square, (3, 4)),
    "silu": (ops.silu, torch.nn.functional.silu, (3, 4)),
    "gelu": (ops.gelu, lambda t: torch.nn.functional.gelu(t, approximate="tanh"), (3, 4)),
    "expand_dims": (lambda t: ops.expand_dims(t, 1), lambda t: t.unsqueeze(1), (3, 4)),
    "expand_dims_tuple": (lambda t: ops.expand_dims(t, (0, -1)),
                          lambda t: t.unsqueeze(0).unsqueeze(-1), (3, 4)),
    "squeeze": (ops.squeeze, torch.squeeze, (2, 1, 3, 1)),
    "squeeze_axis": (lambda t: ops.squeeze(t, 1), lambda t: t.squeeze(1), (2, 1, 3, 1)),
    "ravel": (ops.ravel, torch.ravel, (2, 3, 2)),
    "moveaxis": (lambda t: ops.moveaxis(t, 0, -1), lambda t: torch.movedim(t, 0, -1),
                 (2, 3, 4)),
    "moveaxis_tuple": (lambda t: ops.moveaxis(t, (0, 1), (2, 0)),
                       lambda t: torch.movedim(t, (0, 1), (2, 0)), (2, 3, 4)),
    "swapaxes": (lambda t: ops.swapaxes(t, 0, 2), lambda t: torch.swapaxes(t, 0, 2), (2, 3, 4)),
    "broadcast_to": (lambda t: ops.broadcast_to(t, (2, 3, 4)), lambda t: t.expand(2, 3, 4),
                     (3, 1)),
    "take": (lambda t: ops.take(t, [2, 0, 2, -1], axis=1),
             lambda t: t[:, [2, 0, 2, -1]], (3, 4)),
    "take_flat": (lambda t: ops.take(t, [[5, 0], [5, 11]]),
                  lambda t: t.flatten()[torch.tensor([[5, 0], [5, 11]])], (3, 4)),
    "repeat": (lambda t: ops.repeat(t, 2, axis=1), lambda t: torch.repeat_interleave(t, 2, 1),
               (3, 4)),
    "repeat_counts": (lambda t: ops.repeat(t, [1, 0, 3], axis=0),
                      lambda t: torch.repeat_interleave(t, torch.tensor([1, 0, 3]), 0), (3, 4)),
    "repeat_flat": (lambda t: ops.repeat(t, 2), lambda t: torch.repeat_interleave(t, 2), (2, 3)),
    "tile": (lambda t: ops.tile(t, (2, 1, 3)), lambda t: t.tile((2, 1, 3)), (2, 3, 4)),
    "tile_longer": (lambda t: ops.tile(t, (2, 1, 2)), lambda t: t.tile((2, 1, 2)), (3, 4)),
    "tile_shorter": (lambda t: ops.tile(t, 3), lambda t: t.tile((3,)), (3, 4)),
    "split": (lambda t: ops.concatenate(_pieces(ops.split(t, 2, axis=1)), axis=1),
              lambda t: torch.cat(_pieces(torch.tensor_split(t, 2, dim=1)), dim=1), (3, 4)),
    "split_indices": (lambda t: ops.concatenate(_pieces(ops.split(t, [1, 3])), axis=0),
                      lambda t: torch.cat(_pieces(torch.tensor_split(t, [1, 3])), dim=0), (5, 2)),
    "var": (lambda t: ops.var(t, axis=1), lambda t: torch.var(t, 1, correction=0), (3, 4)),
    "var_all_keepdims": (lambda t: ops.var(t, keepdims=True),
                         lambda t: torch.var(t, (0, 1), correction=0, keepdim=True), (3, 4)),
    "std": (lambda t: ops.std(t, axis=0), lambda t: torch.std(t, 0, correction=0), (3, 4)),
    "logsumexp": (lambda t: ops.logsumexp(t, axis=1), lambda t: torch.logsumexp(t, 1), (3, 4)),
    "logsumexp_all": (ops.logsumexp, lambda t: torch.logsumexp(t, (0, 1)), (3, 4)),
    "logsumexp_keepdims": (lambda t: ops.logsumexp(t, axis=0, keepdims=True),
                           lambda t: torch.logsumexp(t, 0, keepdim=True), (3, 4)),
    "norm": (ops.norm, torch.linalg.norm, (3, 4)),
    "norm_vector_1": (lambda t: ops.norm(t, 1, axis=1),
                      lambda t: torch.linalg.vector_norm(t, 1, dim=1), (3, 4)),
    "norm_vector_3": (lambda t: ops.norm(t, 3, axis=0, keepdims=True),
                      lambda t: torch.linalg.vector_norm(t, 3, dim=0, keepdim=True), (3, 4)),
    "norm_vector_inf": (lambda t: ops.norm(t, math.inf, axis=-1),
                        lambda t: torch.linalg.vector_norm(t, math.inf, dim=-1), (3, 4)),
    "norm_vector_-inf": (lambda t: ops.norm(t, -math.inf, axis=-1),
                         lambda t: torch.linalg.vector_norm(t, -math.inf, dim=-1), (3, 4)),
    "norm_matrix_fro": (lambda t: ops.norm(t, "fro", axis=(1, 2)),
                        lambda t: torch.linalg.matrix_norm(t, "fro"), (2, 3, 4)),
    "norm_matrix_1": (lambda t: ops.norm(t, 1, axis=(1, 2)),
                      lambda t: torch.linalg.matrix_norm(t, 1), (2, 3, 4)),
    "norm_matrix_inf": (lambda t: ops.norm(t, math.inf, axis=(-2, -1), keepdims=True),
                        lambda t: torch.linalg.matrix_norm(t, math.inf, keepdim=True), (2, 3, 4)),
    "norm_2d_ord_without_axis": (lambda t: ops.norm(t, 1), lambda t: torch.linalg.norm(t, 1),
                                 (3, 4)),
    "cumsum": (lambda t: ops.cumsum(t, axis=1), lambda t: torch.cumsum(t, 1), (3, 4)),
    "cumsum_first_axis": (lambda t: ops.cumsum(t, axis=0), lambda t: torch.cumsum(t, 0),
                          (3, 4, 2)),
    "cumsum_flat": (ops.cumsum, lambda t: torch.cumsum(t.flatten(), 0), (3, 4)),
}


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_match_finite_differences(name, rng):
    ours, _, shape = DIFFERENTIABLE[name]
    check_gradients(ours, [_normal(rng, shape)], rng)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_torch(name, dtype, rng):
    ours, theirs, shape = DIFFERENTIABLE[name]
    check_against_torch(ours, theirs, [_normal(rng, shape)], rng, dtype=dtype)


def test_aliases_are_the_primitives():
    assert ops.multiply is ops.mul and ops.subtract is ops.sub and ops.negative is ops.neg
    assert ops.divide is ops.div and ops.true_divide is ops.div and ops.absolute is ops.abs
    assert ops.amax is ops.max and ops.amin is ops.min and ops.swish is ops.silu


def test_the_docstring_lists_exactly_what_is_there():
    listed = re.search(r"Keras names covered:\n(.*?)\n\n", ops.__doc__, re.S).group(1)
    names = [name.strip() for name in listed.replace("\n", " ").split(",")]
    assert len(names) > 80 and names == sorted(names)
    missing = [name for name in names if not callable(getattr(ops, name, None))]
    assert missing == []


def test_logsumexp_is_stable(raise_on_float_trouble):
    x = nn.tensor([[1000.0, 1000.0], [-1000.0, -1001.0]], dtype="float64")
    np.testing.assert_allclose(ops.logsumexp(x, axis=1).numpy(),
                               [1000 + np.log(2), -1000 + np.log1p(np.exp(-1))], rtol=1e-12)


def test_logsumexp_of_only_minus_infinity_is_minus_infinity_not_nan():
    with np.errstate(divide="ignore"):  # ln(0), as NumPy and PyTorch give it
        y = ops.logsumexp(nn.tensor([[-np.inf, -np.inf], [0.0, -np.inf]]), axis=1)
    np.testing.assert_array_equal(y.numpy(), [-np.inf, 0.0])


def test_cumsum_keeps_integer_dtypes_and_casts_on_request():
    x = nn.tensor(np.array([[1, 2], [3, 4]], dtype=np.int32))
    assert ops.cumsum(x, axis=0).dtype == np.int32
    y = ops.cumsum(x, dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [1, 3, 6, 10])


@pytest.mark.parametrize("call, fault", [
    (lambda x: ops.squeeze(x, 0), r"squeeze: .*input shape \(3, 4\)"),
    (lambda x: ops.expand_dims(x, 5), r"expand_dims: .*input shape \(3, 4\)"),
    (lambda x: ops.split(x, 3, axis=1), r"axis 1 of length 4 \(shape \(3, 4\)\) cannot be cut"),
    (lambda x: ops.take(x, [0], axis=2), r"take: axis 2 is out of range .* shape \(3, 4\)"),
    (lambda x: ops.broadcast_to(x, (4, 3)), r"shape \(3, 4\) cannot be broadcast to \(4, 3\)"),
    (lambda x: ops.broadcast_to(x, (2, 1, 4)), r"cannot be broadcast to \(2, 1, 4\)"),
    (lambda x: ops.norm(x, 2, axis=(0, 1)), "2, -2 and 'nuc' need an SVD"),
    (lambda x: ops.norm(x, -1, axis=1), "vector ord must be a positive number"),
    (lambda x: ops.norm(x, axis=(0, 1, 1)), "one or two axes"),
    (lambda x: ops.gelu(x, approximate=False), "only approximate=True"),
    (lambda x: ops.cumsum(x, axis=2), r"cumsum: axis 2 is out of range"),
])
def test_errors_name_the_op_and_the_shape(call, fault):
    with pytest.raises(ValueError, match=fault):
        call(nn.tensor(np.zeros((3, 4))))


# --- results without a gradient ---------------------------------------------------------------
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True), (-1, True)])
def test_argmax_argmin_match_torch(axis, keepdims, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    for ours, theirs in ((ops.argmax, torch.argmax), (ops.argmin, torch.argmin)):
        y = ours(nn.tensor(x, requires_grad=True), axis=axis, keepdims=keepdims)
        expected = theirs(torch.tensor(x), dim=axis, keepdim=keepdims)
        assert y.dtype == np.int32 and not y.requires_grad
        np.testing.assert_array_equal(y.numpy(), expected.numpy())


def test_argmax_takes_the_first_of_ties():
    assert ops.argmax([[1.0, 3.0, 3.0]], axis=1).numpy().tolist() == [1]
    assert ops.argmin([2.0, 0.0, 0.0]).item() == 1


def test_one_hot_matches_torch_and_zeroes_unknown_labels(rng):
    labels = rng.integers(0, 5, size=(3, 4))
    y = ops.one_hot(labels, 5)
    assert y.dtype == np.float32 and y.shape == (3, 4, 5)
    expected = torch.nn.functional.one_hot(torch.tensor(labels), 5).numpy()
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_array_equal(ops.one_hot(labels, 5, axis=0).numpy(),
                                  np.moveaxis(expected, -1, 0))
    padded = ops.one_hot(nn.tensor([1, -1, 7]), 3, dtype="float64")
    assert padded.dtype == np.float64
    np.testing.assert_array_equal(padded.numpy(), [[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="no sparse tensors"):
        ops.one_hot(labels, 5, sparse=True)
    with pytest.raises(ValueError, match="integer labels, got dtype float64"):
        ops.one_hot([0.0, 1.0], 2)


COMPARISONS = {"equal": np.equal, "not_equal": np.not_equal, "greater": np.greater,
               "greater_equal": np.greater_equal, "less": np.less, "less_equal": np.less_equal,
               "logical_and": np.logical_and, "logical_or": np.logical_or}


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_are_bool_tensors_without_history(name, rng):
    a = rng.integers(-1, 2, size=(3, 4)).astype(np.float32)
    b = rng.integers(-1, 2, size=(4,)).astype(np.float32)
    y = getattr(ops, name)(nn.tensor(a, requires_grad=True), b)
    assert y.dtype == bool and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), COMPARISONS[name](a, b))
    np.testing.assert_array_equal(ops.logical_not(a).numpy(), a == 0)


def test_any_and_all_reduce_to_bool_tensors_as_numpy(rng):
    x = rng.integers(0, 2, size=(3, 4, 2)).astype(np.float32)
    for name in ("any", "all"):
        for axis, keepdims in ((None, False), (-1, False), (1, True), ([0, 2], False)):
            y = getattr(ops, name)(nn.tensor(x, requires_grad=True), axis=axis,
                                   keepdims=keepdims)
            wanted = getattr(np, name)(x, axis=tuple(axis) if isinstance(axis, list) else axis,
                                       keepdims=keepdims)
            assert y.dtype == bool and not y.requires_grad
            np.testing.assert_array_equal(y.numpy(), wanted)


def test_steps_follow_numpy():
    x = np.array([-1.5, -0.5, 0.0, 0.5, 1.5, 2.5], dtype=np.float32)
    for name in ("sign", "floor", "ceil"):
        np.testing.assert_array_equal(getattr(ops, name)(x).numpy(), getattr(np, name)(x))
    np.testing.assert_array_equal(ops.round(x).numpy(), [-2, -0, 0, 0, 2, 2])  # halves to even
    np.testing.assert_array_equal(ops.round([1.234, 5.678], 1).numpy(), [1.2, 5.7])


def test_new_arrays_have_keras_dtypes():
    assert ops.zeros((2, 3)).dtype == np.float32 and ops.ones(4).numpy().sum() == 4
    assert ops.full((2,), 7, dtype="int32").numpy().tolist() == [7, 7]
    x = nn.tensor(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert ops.zeros_like(x).dtype == np.int64 and ops.ones_like(x).shape == (2, 3)
    assert ops.full_like(x, 2.0, dtype="float32").numpy().sum() == 12
    assert ops.arange(4).dtype == np.int32 and ops.arange(4).numpy().tolist() == [0, 1, 2, 3]
    assert ops.arange(1, 2, 0.25).dtype == np.float32
    np.testing.assert_array_equal(ops.arange(1, 2, 0.25).numpy(), [1, 1.25, 1.5, 1.75])
    np.testing.assert_array_equal(ops.arange(5, 1, -2).numpy(), [5, 3])
    np.testing.assert_array_equal(ops.eye(2, 3, k=1).numpy(), [[0, 1, 0], [0, 0, 1]])
    nn.set_floatx("float64")
    assert ops.zeros(1).dtype == ops.arange(0.5).dtype == ops.eye(1).dtype == np.float64


def test_conversions_and_stop_gradient():
    w = nn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert ops.convert_to_tensor(w) is w
    cast = ops.convert_to_tensor(w, dtype="float64")
    cast.sum().backward()
    np.testing.assert_array_equal(w.grad, [1, 1, 1])  # the cast keeps the graph
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32
    assert ops.convert_to_numpy(w) is w.data
    assert ops.no_gradient.shape(w) == (3,)
    w.grad = None
    (w * ops.stop_gradient(w)).sum().backward()
    np.testing.assert_array_equal(w.grad, [1, 2, 3])  # d(w * c)/dw = c, c = w held still
