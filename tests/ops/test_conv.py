import numpy as np
import pytest
import torch
import torch.nn.functional as F

import conv_reference as reference
from harness import assert_close, check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops
from neuronet.ops import conv as conv_module
from neuronet.ops import workspace

# (kernel (kh, kw), strides, padding, dilation): stride 1-3, valid / same / explicit, dilation 1-2.
CASES = [
    ((3, 3), 1, "valid", 1),
    ((3, 3), 1, "same", 1),
    ((3, 2), 2, "same", 1),
    ((3, 3), 3, "same", 1),
    ((2, 3), (1, 2), "valid", 1),
    ((3, 3), 1, "same", 2),
    ((2, 2), 2, "valid", (2, 1)),
    ((3, 3), 2, 1, 1),
    ((1, 3), 1, (0, 2), 1),
    ((3, 3), (2, 3), ((0, 2), (1, 0)), 2),
    ((5, 5), 1, "same", 1),
]


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _draw(rng, kernel, n=2, cin=3, cout=4):
    """Random odd-sized images, kernel and bias for one case."""
    h, w = rng.integers(5, 10, size=2)
    x = rng.standard_normal((n, h, w, cin))
    kernel_array = rng.standard_normal(kernel + (cin, cout))
    return [x, kernel_array, rng.standard_normal(cout)]


def _ours(strides, padding, dilation):
    return lambda x, w, b=None: ops.conv2d(x, w, b, strides=strides, padding=padding,
                                           dilation=dilation)


def _torch(kernel, strides, padding, dilation, image_hw):
    """The same conv in PyTorch: NHWC <-> NCHW, kernel to (C_out, C_in, kh, kw), explicit pads."""
    strides, dilation = _pair(strides), _pair(dilation)
    (top, bottom), (left, right) = reference.explicit_pads(padding, image_hw, kernel, strides,
                                                           dilation)

    def conv(x, w, b=None):
        x = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
        y = F.conv2d(x, w.permute(3, 2, 0, 1), b, stride=strides, dilation=dilation)
        return y.permute(0, 2, 3, 1)
    return conv


@pytest.mark.parametrize("kernel, strides, padding, dilation", CASES)
def test_conv2d_matches_loop_reference(kernel, strides, padding, dilation, rng):
    x, w, b = _draw(rng, kernel)
    strides2, dilation2 = _pair(strides), _pair(dilation)
    pads = reference.explicit_pads(padding, x.shape[1:3], kernel, strides2, dilation2)
    expected = reference.conv2d(x, w, b, strides2, pads, dilation2)
    y = _ours(strides, padding, dilation)(nn.tensor(x, dtype="float64"),
                                           nn.tensor(w, dtype="float64"),
                                           nn.tensor(b, dtype="float64"))
    assert_close(y.numpy(), expected, 1e-12, what="conv2d output")


def test_same_padding_keeps_ceil_of_size_over_stride(rng):
    for size in range(3, 12):
        for stride in (1, 2, 3):
            x = rng.standard_normal((1, size, size + 1, 2))
            y = ops.conv2d(x, rng.standard_normal((3, 3, 2, 1)), strides=stride, padding="same")
            assert y.shape == (1, -(-size // stride), -(-(size + 1) // stride), 1)


@pytest.mark.parametrize("kernel, strides, padding, dilation", CASES[::2] + [CASES[9]])
def test_conv2d_gradients(kernel, strides, padding, dilation, rng):
    x, w, b = _draw(rng, kernel, n=2, cin=2, cout=3)
    check_gradients(_ours(strides, padding, dilation), [x, w, b], rng)


@pytest.mark.parametrize("kernel, strides, padding, dilation", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_against_torch(kernel, strides, padding, dilation, dtype, rng):
    arrays = _draw(rng, kernel)
    theirs = _torch(kernel, strides, padding, dilation, arrays[0].shape[1:3])
    check_against_torch(_ours(strides, padding, dilation), theirs, arrays, rng, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_without_bias_and_without_input_gradient(dtype, rng):
    """The first layer of a net: no gradient for the images, none for a missing bias."""
    x, w, _ = _draw(rng, (3, 3))
    ours, theirs = _ours(2, "same", 1), _torch((3, 3), 2, "same", 1, x.shape[1:3])
    check_against_torch(ours, theirs, [x, w], rng, dtype=dtype, wrt=[1])
    check_gradients(ours, [x, w], rng, wrt=[1])


def test_conv2d_larger_batch_and_channels_against_torch(rng):
    x, w, b = _draw(rng, (3, 3), n=5, cin=16, cout=8)
    theirs = _torch((3, 3), 1, "same", 1, x.shape[1:3])
    check_against_torch(_ours(1, "same", 1), theirs, [x, w, b], rng, dtype=np.float32)


def test_conv2d_keeps_float32_with_constant_kernel(rng):
    x = nn.tensor(rng.standard_normal((1, 5, 5, 2)), requires_grad=True)
    y = ops.conv2d(x, rng.standard_normal((3, 3, 2, 4)), np.zeros(4), padding="same")
    assert y.dtype == np.float32
    y.backward(rng.standard_normal(y.shape))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("x_shape, w_shape, b_shape, kwargs, message", [
    ((5, 5, 3), (3, 3, 3, 4), None, {}, r"conv2d expects inputs of shape \(N, H, W, C_in\), "
                                        r"got shape \(5, 5, 3\)"),
    ((1, 5, 5, 3), (3, 3, 4), None, {}, r"conv2d expects a kernel .* got shape \(3, 3, 4\)"),
    ((1, 5, 5, 3), (3, 3, 2, 4), None, {}, r"conv2d: kernel of shape \(3, 3, 2, 4\) expects 2 "
                                           r"input channels, got .*\(1, 5, 5, 3\) with 3"),
    ((1, 5, 5, 3), (3, 3, 3, 4), (3,), {}, r"conv2d expects a bias of shape \(4,\), "
                                           r"got shape \(3,\)"),
    ((1, 4, 4, 3), (5, 5, 3, 2), None, {}, r"conv2d: the window spans 5x5 pixels, larger than "
                                           r"the padded input 4x4"),
    ((1, 4, 4, 3), (3, 3, 3, 2), None, {"dilation": 2}, r"conv2d: the window spans 5x5"),
    ((1, 4, 4, 3), (3, 3, 3, 2), None, {"padding": "full"}, r"conv2d: padding must be"),
    ((1, 4, 4, 3), (3, 3, 3, 2), None, {"strides": 0}, r"conv2d: strides must be a positive"),
    ((1, 4, 4, 3), (3, 3, 3, 2), None, {"padding": -1}, r"conv2d: padding must not be negative"),
])
def test_conv2d_errors_name_the_op_and_shapes(x_shape, w_shape, b_shape, kwargs, message):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=message):
        ops.conv2d(np.zeros(x_shape), np.zeros(w_shape), b, **kwargs)


def test_conv2d_accepts_kernel_larger_than_image_once_padded(rng):
    x, w = rng.standard_normal((1, 4, 4, 1)), rng.standard_normal((5, 5, 1, 2))
    assert ops.conv2d(x, w, padding="same").shape == (1, 4, 4, 2)


def test_conv2d_rejects_mixed_dtypes():
    x = nn.tensor(np.zeros((1, 4, 4, 1)), dtype="float32")
    w = nn.tensor(np.zeros((3, 3, 1, 1)), dtype="float64")
    with pytest.raises(ValueError, match="conv2d: kernel dtype float64 differs from input "
                                         "dtype float32"):
        ops.conv2d(x, w)


# --- the optimised paths: fused ReLU, blocks of images, reused buffers ------------------
def _ours_relu(strides, padding, dilation):
    return lambda x, w, b=None: ops.conv2d(x, w, b, strides=strides, padding=padding,
                                           dilation=dilation, activation="relu")


def _torch_relu(kernel, strides, padding, dilation, image_hw):
    conv = _torch(kernel, strides, padding, dilation, image_hw)
    return lambda x, w, b=None: torch.relu(conv(x, w, b))


def _reference(x, w, b, kernel, strides, padding, dilation, relu=False):
    strides2, dilation2 = _pair(strides), _pair(dilation)
    pads = reference.explicit_pads(padding, x.shape[1:3], kernel, strides2, dilation2)
    y = reference.conv2d(x, w, b, strides2, pads, dilation2)
    return np.maximum(y, 0) if relu else y


@pytest.mark.parametrize("kernel, strides, padding, dilation", CASES)
def test_conv2d_fused_relu_matches_loop_reference(kernel, strides, padding, dilation, rng):
    x, w, b = _draw(rng, kernel)
    expected = _reference(x, w, b, kernel, strides, padding, dilation, relu=True)
    y = _ours_relu(strides, padding, dilation)(*(nn.tensor(a, dtype="float64") for a in (x, w, b)))
    assert (expected == 0).any() and (expected > 0).any()
    assert_close(y.numpy(), expected, 1e-12, what="conv2d + relu output")


@pytest.mark.parametrize("kernel, strides, padding, dilation", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_fused_relu_against_torch(kernel, strides, padding, dilation, dtype, rng):
    arrays = _draw(rng, kernel)
    theirs = _torch_relu(kernel, strides, padding, dilation, arrays[0].shape[1:3])
    check_against_torch(_ours_relu(strides, padding, dilation), theirs, arrays, rng, dtype=dtype)


@pytest.mark.parametrize("kernel, strides, padding, dilation", CASES[1::3])
def test_conv2d_fused_relu_gradients(kernel, strides, padding, dilation, rng):
    x, w, b = _draw(rng, kernel, n=2, cin=2, cout=3)
    check_gradients(_ours_relu(strides, padding, dilation), [x, w, b], rng)


@pytest.mark.parametrize("cin", [1, 3, 5])  # channels-first im2col below 4 channels, else rows
@pytest.mark.parametrize("relu", [False, True])
def test_conv2d_in_several_blocks_with_a_partial_last_one(cin, relu, rng, monkeypatch):
    """7 images of 5x6 outputs (30 rows of 9 * cin float64 each) in blocks of 2 images:
    2 + 2 + 2 + 1."""
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 2 * 30 * 9 * cin * 8 + 7)
    x, w, b = _draw(rng, (3, 3), n=7, cin=cin, cout=4)
    x = x[:, :5, :6]
    ours, theirs = (_ours_relu, _torch_relu) if relu else (_ours, _torch)
    y = ours(1, "same", 1)(*(nn.tensor(a, dtype="float64") for a in (x, w, b)))
    assert_close(y.numpy(), _reference(x, w, b, (3, 3), 1, "same", 1, relu), 1e-12,
                 what="conv2d output in blocks")
    check_against_torch(ours(1, "same", 1), theirs((3, 3), 1, "same", 1, x.shape[1:3]),
                        [x, w, b], rng, dtype=np.float64)
    check_gradients(ours(2, "valid", 1), [x[:3], w, b], rng)


def test_conv2d_reused_buffers_never_leak_between_calls_of_other_shapes(rng, monkeypatch):
    """Calls of shrinking and growing shapes and both dtypes share the scratch and result
    buffers (results recycled from any size): every output and gradient still equals the
    reference, and outputs kept alive are never overwritten by later calls."""
    monkeypatch.setattr(workspace, "RECYCLE_FROM_BYTES", 0)
    workspace.release()
    kept = []
    for n, size, cin, dtype in [(3, 9, 5, np.float64), (1, 5, 2, np.float64),
                                (4, 8, 5, np.float32), (2, 6, 1, np.float64),
                                (3, 9, 5, np.float64)]:
        x = rng.standard_normal((n, size, size + 1, cin))
        w, b = rng.standard_normal((3, 3, cin, 4)), rng.standard_normal(4)
        ours = [nn.tensor(a, dtype=dtype, requires_grad=True) for a in (x, w, b)]
        y = ops.conv2d(*ours, padding="same", activation="relu")
        expected = _reference(x, w, b, (3, 3), 1, "same", 1, relu=True)
        assert_close(y.numpy(), expected, 1e-5 if dtype == np.float32 else 1e-12)
        gy = rng.standard_normal(y.shape)
        y.backward(gy.astype(dtype))
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        _torch_relu((3, 3), 1, "same", 1, x.shape[1:3])(*theirs).backward(torch.tensor(gy))
        for mine, their in zip(ours, theirs):
            assert_close(mine.grad, their.grad.numpy(), 1e-5 if dtype == np.float32 else 1e-10)
        kept.append((y, y.numpy().copy()))
    for y, value in kept:
        np.testing.assert_array_equal(y.numpy(), value)
    assert not any(np.shares_memory(a.numpy(), b.numpy())
                   for i, (a, _) in enumerate(kept) for b, _ in kept[i + 1:])


def test_conv2d_under_no_grad_equals_the_recorded_path(rng):
    x, w, b = _draw(rng, (3, 3), n=3, cin=4, cout=5)
    with nn.no_grad():
        y_plain = ops.conv2d(x, w, b, padding="same", activation="relu").numpy()
    y = ops.conv2d(nn.tensor(x, requires_grad=True), w, b, padding="same", activation="relu")
    np.testing.assert_array_equal(y_plain, y.numpy())


def test_conv2d_rejects_an_activation_it_cannot_fuse():
    with pytest.raises(ValueError, match=r"conv2d: activation must be None or 'relu' \(fused\), "
                                         r"got 'tanh'"):
        ops.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 1)), activation="tanh")


@pytest.mark.parametrize("rows, chunk", [(5000, 1024), (4096, 1024), (2047, 1024), (37, 5)])
def test_weight_gradient_product_in_chunks_equals_the_plain_product(rows, chunk, rng, monkeypatch):
    """a^T @ b over a long K, in runs of ``chunk`` rows (and a remainder) summed."""
    monkeypatch.setattr(conv_module, "TRANSPOSED_PRODUCT_CHUNK", chunk)
    a, b = rng.standard_normal((rows, 9)), rng.standard_normal((rows, 4))
    assert_close(conv_module._transposed_product(a, b), a.T @ b, 1e-12)
    assert_close(conv_module._transposed_product(a.T.copy().T, b), a.T @ b, 1e-12)


@pytest.mark.parametrize("cin", [1, 5])
def test_conv2d_weight_gradient_in_chunks_against_torch(cin, rng, monkeypatch):
    """Chunks of 7 rows: the summed weight gradient still equals PyTorch's."""
    monkeypatch.setattr(conv_module, "TRANSPOSED_PRODUCT_CHUNK", 7)
    arrays = _draw(rng, (3, 3), n=3, cin=cin, cout=4)
    check_against_torch(_ours_relu(1, "same", 1),
                        _torch_relu((3, 3), 1, "same", 1, arrays[0].shape[1:3]), arrays, rng,
                        dtype=np.float64)
