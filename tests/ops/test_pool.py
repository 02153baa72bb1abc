import numpy as np
import pytest
import torch
import torch.nn.functional as F

import conv_reference as reference
from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops
from neuronet.ops import pool as pool_module
from neuronet.ops import workspace

POOLS = {"max": ops.max_pool2d, "avg": ops.avg_pool2d}
REFERENCES = {"max": reference.max_pool2d, "avg": reference.avg_pool2d}

# (pool_size, strides, padding, image (H, W)): tiling exactly, leftovers, overlapping, 'same'.
CASES = [
    (2, None, "valid", (6, 8)),
    (2, None, "valid", (7, 5)),
    (2, None, "same", (7, 5)),
    ((2, 3), None, "valid", (6, 9)),
    (3, 1, "valid", (6, 5)),
    (3, 2, "same", (7, 6)),
    (3, 1, "same", (5, 5)),
    (2, 3, "valid", (8, 7)),
    ((3, 2), (1, 2), "same", (5, 7)),
]


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _distinct(rng, shape):
    """Values 0.1 apart in random order: no ties, so finite differences are exact."""
    size = int(np.prod(shape))
    return rng.permutation(size).reshape(shape) * 0.1 + rng.uniform(0, 0.01, size=shape)


def _ours(kind, pool, strides, padding):
    return lambda x: POOLS[kind](x, pool, strides, padding)


def _torch(kind, pool, strides, padding, image_hw):
    """The same pool in PyTorch (NCHW), padding explicitly like TensorFlow; the 'same' average
    divides by the number of real pixels (count_include_pad=False)."""
    pool = _pair(pool)
    strides = pool if strides is None else _pair(strides)
    (top, bottom), (left, right) = reference.explicit_pads(padding, image_hw, pool, strides)
    pads = (left, right, top, bottom)

    def max_pool(x):
        x = F.pad(x.permute(0, 3, 1, 2), pads, value=-float("inf"))
        return F.max_pool2d(x, pool, strides).permute(0, 2, 3, 1)

    def avg_pool(x):
        x = x.permute(0, 3, 1, 2)
        sums = F.avg_pool2d(F.pad(x, pads), pool, strides)
        real = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), pads), pool, strides)
        return (sums / real).permute(0, 2, 3, 1)
    return max_pool if kind == "max" else avg_pool


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool, strides, padding, image", CASES)
def test_pool_matches_loop_reference(kind, pool, strides, padding, image, rng):
    x = rng.standard_normal((2,) + image + (3,))
    pool2 = _pair(pool)
    strides2 = pool2 if strides is None else _pair(strides)
    pads = reference.explicit_pads(padding, image, pool2, strides2)
    expected = REFERENCES[kind](x, pool2, strides2, pads)
    y = _ours(kind, pool, strides, padding)(nn.tensor(x, dtype="float64"))
    assert_close(y.numpy(), expected, 1e-12, what=f"{kind}_pool2d output")


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool, strides, padding, image", CASES)
def test_pool_gradients(kind, pool, strides, padding, image, rng):
    x = _distinct(rng, (2,) + image + (2,))
    check_gradients(_ours(kind, pool, strides, padding), [x], rng)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool, strides, padding, image", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_against_torch(kind, pool, strides, padding, image, dtype, rng):
    x = rng.standard_normal((2,) + image + (3,))
    theirs = _torch(kind, pool, strides, padding, image)
    check_against_torch(_ours(kind, pool, strides, padding), theirs, [x], rng, dtype=dtype)


@pytest.mark.parametrize("pool, strides, padding, image", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_ties_give_the_gradient_to_the_first_maximum_like_torch(
        pool, strides, padding, image, dtype, rng):
    """Few distinct values and ReLU-like zeros: most windows hold several equal maxima."""
    x = np.maximum(rng.integers(-2, 3, size=(2,) + image + (3,)), 0).astype(dtype)
    theirs = _torch("max", pool, strides, padding, image)
    check_against_torch(_ours("max", pool, strides, padding), theirs, [x], rng, dtype=dtype)


def test_max_pool_tie_goes_to_first_in_row_major_order():
    x = nn.tensor(np.array([[0.0, 5.0], [5.0, 5.0]]).reshape(1, 2, 2, 1), requires_grad=True)
    ops.max_pool2d(x, 2).backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(x.grad.reshape(2, 2), [[0.0, 3.0], [0.0, 0.0]])


def test_avg_pool_same_matches_torch_count_include_pad_false(rng):
    """Symmetric 'same' padding (3x3, stride 1) is torch's own padding=1 without the pads."""
    x = rng.standard_normal((2, 5, 6, 3))
    theirs = lambda t: F.avg_pool2d(t.permute(0, 3, 1, 2), 3, 1, padding=1,
                                    count_include_pad=False).permute(0, 2, 3, 1)
    check_against_torch(_ours("avg", 3, 1, "same"), theirs, [x], rng, dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_avg_pool2d(dtype, rng):
    x = rng.standard_normal((3, 4, 5, 6))
    check_against_torch(ops.global_avg_pool2d, lambda t: t.mean(dim=(1, 2)), [x], rng,
                        dtype=dtype)
    check_gradients(ops.global_avg_pool2d, [x], rng)


@pytest.mark.parametrize("kind", POOLS)
def test_pools_keep_float32(kind, rng):
    x = nn.tensor(rng.standard_normal((2, 5, 5, 3)), requires_grad=True)
    y = POOLS[kind](x, 3, 2, "same")
    assert y.dtype == np.float32
    y.backward(rng.standard_normal(y.shape))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("x_shape, kwargs, message", [
    ((5, 5, 3), {}, r"pool2d expects inputs of shape \(N, H, W, C\), got shape \(5, 5, 3\)"),
    ((1, 2, 5, 3), {"pool_size": 3}, r"pool2d: the window spans 3x3 pixels, larger than the "
                                     r"padded input 2x5 \(input shape \(1, 2, 5, 3\)"),
    ((1, 4, 4, 3), {"padding": 1}, r"pool2d: padding must be 'valid' or 'same', got 1"),
    ((1, 4, 4, 3), {"pool_size": (2, 0)}, r"pool2d: pool_size must be a positive"),
    ((1, 4, 4, 3), {"strides": -1}, r"pool2d: strides must be a positive"),
])
def test_pool_errors_name_the_op_and_shapes(kind, x_shape, kwargs, message):
    with pytest.raises(ValueError, match=f"{kind}_{message}"):
        POOLS[kind](np.zeros(x_shape), **kwargs)


def test_global_avg_pool2d_error():
    with pytest.raises(ValueError, match=r"global_avg_pool2d expects .* got shape \(2, 3\)"):
        ops.global_avg_pool2d(np.zeros((2, 3)))


# --- the optimised paths: blocks of images, reused buffers, no work for backward under no_grad
@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("pool, strides, padding, image", CASES)
def test_pool_in_several_blocks_with_a_partial_last_one(kind, pool, strides, padding, image, rng,
                                                        monkeypatch):
    """5 images in blocks of 2: 2 + 2 + 1, with ties as after a ReLU."""
    x = np.maximum(rng.integers(-2, 3, size=(5,) + image + (3,)), 0).astype(np.float64)
    monkeypatch.setattr(pool_module, "BLOCK_BYTES", 2 * x[:1].nbytes)
    pool2 = _pair(pool)
    strides2 = pool2 if strides is None else _pair(strides)
    expected = REFERENCES[kind](x, pool2, strides2,
                                reference.explicit_pads(padding, image, pool2, strides2))
    y = _ours(kind, pool, strides, padding)(nn.tensor(x, dtype="float64"))
    assert_close(y.numpy(), expected, 1e-12)
    theirs = _torch(kind, pool, strides, padding, image)
    check_against_torch(_ours(kind, pool, strides, padding), theirs, [x], rng, dtype=np.float64)


@pytest.mark.parametrize("kind", POOLS)
def test_pool_reused_buffers_never_leak_between_calls_of_other_shapes(kind, rng, monkeypatch):
    """Shrinking and growing shapes share the padding, tap and result buffers: every result
    still equals the reference and the kept ones are never overwritten."""
    monkeypatch.setattr(workspace, "RECYCLE_FROM_BYTES", 0)
    workspace.release()
    kept = []
    for n, image, pool, strides in [(3, (9, 8), 3, 2), (1, (5, 5), 2, 1), (2, (6, 7), 2, None),
                                    (3, (9, 8), 3, 2)]:
        x = rng.standard_normal((n,) + image + (2,))
        pool2 = _pair(pool)
        strides2 = pool2 if strides is None else _pair(strides)
        expected = REFERENCES[kind](x, pool2, strides2,
                                    reference.explicit_pads("same", image, pool2, strides2))
        y = _ours(kind, pool, strides, "same")(nn.tensor(x, dtype="float64"))
        assert_close(y.numpy(), expected, 1e-12)
        check_against_torch(_ours(kind, pool, strides, "same"),
                            _torch(kind, pool, strides, "same", image), [x], rng,
                            dtype=np.float64)
        kept.append((y, y.numpy().copy()))
    for y, value in kept:
        np.testing.assert_array_equal(y.numpy(), value)


@pytest.mark.parametrize("kind", POOLS)
def test_pool_under_no_grad_equals_the_recorded_path(kind, rng):
    x = rng.standard_normal((3, 7, 6, 4))
    with nn.no_grad():
        y_plain = POOLS[kind](x, 3, 2, "same").numpy()
    y = POOLS[kind](nn.tensor(x, requires_grad=True), 3, 2, "same")
    np.testing.assert_array_equal(y_plain, y.numpy())


def test_max_pool_with_more_taps_than_a_byte_counts(rng):
    """A 17x17 window has 289 taps: the first maximum's index needs more than 8 bits."""
    x = np.maximum(rng.integers(-2, 3, size=(2, 17, 18, 2)), 0).astype(np.float64)
    x[0, 16, 16, 0] = 5.0  # the first maximum at tap 288 of the first window
    check_against_torch(_ours("max", 17, 1, "valid"), _torch("max", 17, 1, "valid", (17, 18)),
                        [x], rng, dtype=np.float64)
