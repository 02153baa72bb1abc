"""pad2d and crop2d: PyTorch's F.pad and slicing as oracles, central differences."""
import numpy as np
import pytest
import torch.nn.functional as F

from harness import check_against_torch, check_gradients
from neuronet import ops

# Each form Keras accepts, with the ((top, bottom), (left, right)) it means.
EDGES = [(1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((0, 2), (1, 3)), ((0, 2), (1, 3))),
         ([[1, 0], [0, 2]], ((1, 0), (0, 2)))]


def _torch_pad(edges):
    (top, bottom), (left, right) = edges
    return lambda x: F.pad(x, (0, 0, left, right, top, bottom))


def _torch_crop(edges):
    (top, bottom), (left, right) = edges
    return lambda x: x[:, top:x.shape[1] - bottom, left:x.shape[2] - right]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("given, edges", EDGES)
def test_pad2d_against_torch(given, edges, dtype, rng):
    x = rng.standard_normal((2, 3, 4, 2))
    check_against_torch(lambda t: ops.pad2d(t, given), _torch_pad(edges), [x], rng, dtype=dtype)
    check_gradients(lambda t: ops.pad2d(t, given), [x], rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("given, edges", EDGES)
def test_crop2d_against_torch(given, edges, dtype, rng):
    x = rng.standard_normal((2, 5, 6, 2))
    check_against_torch(lambda t: ops.crop2d(t, given), _torch_crop(edges), [x], rng,
                        dtype=dtype)
    check_gradients(lambda t: ops.crop2d(t, given), [x], rng)


def test_crop2d_refuses_to_crop_everything():
    with pytest.raises(ValueError, match=r"crop2d: cropping \(\(2, 1\), \(0, 0\)\) leaves no "
                                         r"pixels of inputs of shape \(1, 3, 4, 1\)"):
        ops.crop2d(np.zeros((1, 3, 4, 1)), ((2, 1), (0, 0)))


@pytest.mark.parametrize("bad", [-1, (1, -1), ((1, 2), (3,)), "same", (1, 2, 3), 1.5])
def test_pad2d_rejects_bad_padding(bad):
    with pytest.raises(ValueError, match=r"pad2d: padding must be a non-negative int, a pair "
                                         r"of them or \(\(top, bottom\), \(left, right\)\), got"):
        ops.pad2d(np.zeros((1, 2, 2, 1)), bad)
