"""upsample2d: PyTorch's interpolate as the oracle (nearest, and bilinear with
align_corners=False, which is TensorFlow's half-pixel rule), central differences."""
import numpy as np
import pytest
import torch.nn.functional as F

from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops

SIZES = [2, (2, 3), (3, 1), (1, 4)]


def _torch(size, interpolation):
    factors = (size, size) if isinstance(size, int) else size
    extra = {} if interpolation == "nearest" else {"align_corners": False}

    def f(x):
        y = F.interpolate(x.permute(0, 3, 1, 2), scale_factor=factors, mode=interpolation,
                          **extra)
        return y.permute(0, 2, 3, 1)
    return f


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", SIZES)
def test_upsample2d_against_torch(size, interpolation, dtype, rng):
    x = rng.standard_normal((2, 4, 5, 3))
    check_against_torch(lambda t: ops.upsample2d(t, size, interpolation),
                        _torch(size, interpolation), [x], rng, dtype=dtype)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", SIZES)
def test_upsample2d_gradients(size, interpolation, rng):
    check_gradients(lambda t: ops.upsample2d(t, size, interpolation),
                    [rng.standard_normal((2, 3, 4, 2))], rng)


def tf_half_pixel_bilinear(row, factor):
    """TensorFlow's resize_bilinear(half_pixel_centers=True) of one row, written out:
    in = (out + 0.5) / factor - 0.5; lower = max(floor(in), 0), upper = min(ceil(in), n - 1),
    value = x[lower] + (x[upper] - x[lower]) * (in - floor(in))."""
    out = []
    for i in range(len(row) * factor):
        position = (i + 0.5) / factor - 0.5
        lower, upper = max(int(np.floor(position)), 0), min(int(np.ceil(position)), len(row) - 1)
        out.append(row[lower] + (row[upper] - row[lower]) * (position - np.floor(position)))
    return np.array(out)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_is_tensorflows_half_pixel_rule(factor, rng):
    row = rng.standard_normal(5)
    y = ops.upsample2d(nn.tensor(row[None, None, :, None], dtype="float64"), (1, factor),
                       "bilinear")
    assert_close(y.numpy()[0, 0, :, 0], tf_half_pixel_bilinear(row, factor), 1e-12,
                 what="bilinear row")


def test_upsample2d_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"interpolation must be one of \('nearest', "
                                         r"'bilinear'\), got 'bicubic'"):
        ops.upsample2d(np.zeros((1, 2, 2, 1)), 2, "bicubic")
    with pytest.raises(ValueError, match=r"size must be a positive int or a pair"):
        ops.upsample2d(np.zeros((1, 2, 2, 1)), 0)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, H, W, C\), got shape"):
        ops.upsample2d(np.zeros((2, 2, 1)), 2)
