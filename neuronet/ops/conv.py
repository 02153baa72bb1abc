"""2-D convolution of channels-last images: im2col and one matrix product.

The window geometry helpers here (``pair``, ``resolve_padding``, ``output_size``,
``pad_image``, ``offset_slices``) are shared with the pooling ops.
"""
from numpy.lib.stride_tricks import as_strided

from neuronet.backend import xp
from neuronet.ops._utils import as_tensor
from neuronet.tensor import Function, Tensor


def _is_int(value):
    return isinstance(value, (int, xp.integer)) and not isinstance(value, bool)


def pair(value, name, op):
    """An int or a pair of ints as a (rows, columns) pair of positive ints."""
    values = (value, value) if _is_int(value) else value
    if not isinstance(values, (tuple, list)):
        values = ()
    if len(values) != 2 or not all(_is_int(v) and v > 0 for v in values):
        raise ValueError(f"{op}: {name} must be a positive int or a pair of positive ints, "
                         f"got {value!r}")
    return int(values[0]), int(values[1])


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding of one axis as (before, after).

    total = max((ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0),
    the odd pixel going after (bottom / right), so the output has ceil(size / stride) pixels.
    """
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, image_hw, kernel_hw, strides, dilation, op):
    """``padding`` ('valid', 'same', int, pair or ((top, bottom), (left, right))) as
    ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            axes = zip(image_hw, kernel_hw, strides, dilation)
            return tuple(same_padding(*axis) for axis in axes)
    elif _is_int(padding):
        return (padding, padding), (padding, padding)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(_is_int(p) for p in padding):
            return (padding[0], padding[0]), (padding[1], padding[1])
        if all(isinstance(p, (tuple, list)) and len(p) == 2 and all(map(_is_int, p))
               for p in padding):
            return tuple(tuple(p) for p in padding)
    raise ValueError(f"{op}: padding must be 'valid', 'same', an int, a pair of ints or "
                     f"((top, bottom), (left, right)), got {padding!r}")


def output_size(size, pads, kernel, stride, dilation=1):
    """Windows along one axis: (size + before + after - span) // stride + 1."""
    span = (kernel - 1) * dilation + 1
    return (size + pads[0] + pads[1] - span) // stride + 1


def check_window_fits(x_shape, pads, kernel_hw, dilation, op):
    """Raise ValueError when the (dilated) window is larger than the padded image."""
    padded = tuple(n + p[0] + p[1] for n, p in zip(x_shape[1:3], pads))
    spans = tuple((k - 1) * d + 1 for k, d in zip(kernel_hw, dilation))
    if any(p < 0 for axis in pads for p in axis):
        raise ValueError(f"{op}: padding must not be negative, got {pads}")
    if spans[0] > padded[0] or spans[1] > padded[1]:
        raise ValueError(f"{op}: the window spans {spans[0]}x{spans[1]} pixels, larger than the "
                         f"padded input {padded[0]}x{padded[1]} (input shape {x_shape}, "
                         f"padding {pads})")


def pad_image(x, pads, fill):
    """x (N, H, W, C) surrounded by ``fill``, written once into a new buffer (x if no padding)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, h, w, c = x.shape
    out = xp.empty((n, top + h + bottom, left + w + right, c), dtype=x.dtype)
    out[:, :top] = fill
    out[:, top + h:] = fill
    out[:, top:top + h, :left] = fill
    out[:, top:top + h, left + w:] = fill
    out[:, top:top + h, left:left + w] = x
    return out


def crop(x, pads, image_hw):
    """The view of a padded (N, Hp, Wp, C) array that covers the original image."""
    (top, _), (left, _) = pads
    return x[:, top:top + image_hw[0], left:left + image_hw[1]]


def offset_slices(kernel_hw, out_hw, strides, dilation=(1, 1)):
    """For each kernel offset (i, j), row-major, the index of the padded-image pixels
    it meets in every window: x[:, i*d + s*ho, j*d + s*wo, :] for all (ho, wo)."""
    slices = []
    for i in range(kernel_hw[0]):
        rows = slice(i * dilation[0], i * dilation[0] + (out_hw[0] - 1) * strides[0] + 1,
                     strides[0])
        for j in range(kernel_hw[1]):
            cols = slice(j * dilation[1], j * dilation[1] + (out_hw[1] - 1) * strides[1] + 1,
                         strides[1])
            slices.append((slice(None), rows, cols, slice(None)))
    return slices


def _windows(xpad, kernel_hw, out_hw, strides, dilation):
    """Read-only (N, Ho, Wo, kh, kw, C) view of every window of xpad (no copy)."""
    sn, sh, sw, sc = xpad.strides
    shape = (xpad.shape[0],) + out_hw + kernel_hw + (xpad.shape[3],)
    steps = (sn, sh * strides[0], sw * strides[1], sh * dilation[0], sw * dilation[1], sc)
    return as_strided(xpad, shape, steps, writeable=False)


class Conv2D(Function):
    """y = im2col(x) @ w2d + b; gw = cols^T @ gy, gb = sum gy, gx = col2im(gy @ w2d^T)."""

    def forward(self, x, w, b, strides, pads, dilation):
        kh, kw, cin, cout = w.shape
        xpad = pad_image(x, pads, 0)
        out_hw = tuple(output_size(n, p, k, s, d) for n, p, k, s, d in
                       zip(x.shape[1:3], pads, (kh, kw), strides, dilation))
        cols = _windows(xpad, (kh, kw), out_hw, strides, dilation).reshape(-1, kh * kw * cin)
        y = cols @ w.reshape(-1, cout)
        if b is not None:
            y += b
        self.save_for_backward(cols, w)
        self.geometry = x.shape, xpad.shape, pads, out_hw, strides, dilation
        return y.reshape(x.shape[0], *out_hw, cout)

    def backward(self, gy):
        cols, w = self.saved
        gy2d = gy.reshape(-1, w.shape[3])
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = self._input_gradient(gy2d, w)
        if self.needs_input_grad[1]:
            gw = (cols.T @ gy2d).reshape(w.shape)
        if self.needs_input_grad[2]:
            # A matrix-vector product sums the rows several times faster than sum(axis=0).
            gb = xp.ones(gy2d.shape[0], dtype=gy2d.dtype) @ gy2d
        return gx, gw, gb

    def _input_gradient(self, gy2d, w):
        """col2im: every kernel offset adds its (N, Ho, Wo, Cin) slab into a padded buffer."""
        x_shape, xpad_shape, pads, out_hw, strides, dilation = self.geometry
        kh, kw, cin, cout = w.shape
        # Batched over offsets, the product lays each offset's slab out contiguously,
        # so the slice additions below run over long rows.
        gcols = xp.matmul(gy2d, w.reshape(kh * kw, cin, cout).transpose(0, 2, 1))
        gxpad = xp.zeros(xpad_shape, dtype=gy2d.dtype)
        slabs = gcols.reshape(kh * kw, x_shape[0], *out_hw, cin)
        for index, slab in zip(offset_slices((kh, kw), out_hw, strides, dilation), slabs):
            gxpad[index] += slab
        return crop(gxpad, pads, x_shape[1:3])


def _same_dtype(value, dtype):
    """A Tensor as it is; a constant (array, list) as an array of ``dtype``."""
    return value if isinstance(value, Tensor) else xp.asarray(value, dtype=dtype)


def _check_conv_shapes(x, w, b):
    if x.ndim != 4:
        raise ValueError(f"conv2d expects inputs of shape (N, H, W, C_in), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"conv2d expects a kernel of shape (kh, kw, C_in, C_out), "
                         f"got shape {w.shape}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"conv2d: kernel of shape {w.shape} expects {w.shape[2]} input "
                         f"channels, got inputs of shape {x.shape} with {x.shape[3]}")
    if b is not None and b.shape != (w.shape[3],):
        raise ValueError(f"conv2d expects a bias of shape ({w.shape[3]},), got shape {b.shape}")
    for name, t in (("kernel", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise ValueError(f"conv2d: {name} dtype {t.dtype} differs from input dtype {x.dtype}")


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1):
    """2-D convolution (cross-correlation, as in Keras and PyTorch) of channels-last images.

    y[n, i, j, o] = b[o] + sum_{p, q, c} xpad[n, i*sh + p*dh, j*sw + q*dw, c] * w[p, q, c, o]

    dy/dw[p, q, c, o] = xpad[n, i*sh + p*dh, j*sw + q*dw, c];  dy/db[o] = 1;
    dy/dxpad[n, i*sh + p*dh, j*sw + q*dw, c] = w[p, q, c, o] (added over every window
    that covers the pixel).

    Args:
        x: (N, H, W, C_in) images.
        w: (kh, kw, C_in, C_out) kernel (Keras layout).
        b: optional (C_out,) bias.
        strides: int or (sh, sw).
        padding: 'valid', 'same' (TensorFlow's: output ceil(H / sh) x ceil(W / sw), the odd
            pixel at the bottom / right), an int, (ph, pw) or ((top, bottom), (left, right)).
        dilation: int or (dh, dw): spacing between kernel taps.

    Shape:
        (N, H, W, C_in) -> (N, Ho, Wo, C_out), Ho = (H + top + bottom - (kh-1)*dh - 1) // sh + 1.

    Example:
        >>> y = conv2d(x, w, b, strides=2, padding="same")   # (8, 28, 28, 1) -> (8, 14, 14, 32)
    """
    x = as_tensor(x)
    w = _same_dtype(w, x.dtype)
    b = None if b is None else _same_dtype(b, x.dtype)
    _check_conv_shapes(x, w, b)
    strides, dilation = pair(strides, "strides", "conv2d"), pair(dilation, "dilation", "conv2d")
    pads = resolve_padding(padding, x.shape[1:3], w.shape[:2], strides, dilation, "conv2d")
    check_window_fits(x.shape, pads, w.shape[:2], dilation, "conv2d")
    return Conv2D.apply(x, w, b, strides=strides, pads=pads, dilation=dilation)
