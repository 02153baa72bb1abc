"""Transposed 2-D convolution of channels-last images: the gradient of ``conv2d`` with
respect to its input, run forward (Keras' ``Conv2DTranspose``, TensorFlow's
``conv2d_transpose``).

Every input pixel scatters a kernel-sized patch into the output: one matrix product
per kernel offset gives its (N, H, W, filters) slab, added into the output frame with
the stride (col2im, as conv2d's backward). Backward is conv2d run
forward: the windows of the output gradient (im2col) times the kernel give the input
gradient, and their transpose times the input gives the kernel gradient.

Geometry of one axis (input size n, kernel k, stride s, dilation d, k_eff = (k-1)*d + 1):
the frame every patch lands in has full = (n - 1) * s + k_eff pixels; the output keeps
``out`` of them (Keras' rule, ``transposed_output_size``) starting at
before = max(full - out, 0) // 2 (TensorFlow's 'same' padding of the conv2d whose
gradient this is, the odd pixel after); output pixels past the frame (``output_padding``
on 'valid') are covered by no patch and hold only the bias.
"""
from neuronet.backend import xp
from neuronet.ops._utils import as_tensor, check_weight_dtypes, same_dtype
from neuronet.ops.windows import offset_slices, pair, windows
from neuronet.tensor import Function


class Conv2DTranspose(Function):
    """y = crop(col2im(x2d @ w2d^T)) + b, x2d = x as (N*H*W, C_in), w2d = w as
    (kh*kw*F, C_in): the adjoint of conv2d's im2col product, cropped to the output.

    Backward: cols = im2col(frame(gy)), the windows of gy placed in the frame;
    gx = cols @ w2d, gw = cols^T @ x2d, gb = sum of gy over (N, Ho, Wo).
    """

    def forward(self, x, w, b, strides, dilation, out_hw, before):
        kh, kw, filters, _ = w.shape
        self.strides, self.dilation, self.out_hw, self.before = strides, dilation, out_hw, before
        self.in_hw = x.shape[1:3]
        self.full_hw = tuple((n - 1) * s + (k - 1) * d + 1 for n, k, s, d in
                             zip(self.in_hw, (kh, kw), strides, dilation))
        x2d = x.reshape(-1, x.shape[3])
        frame = xp.zeros(self._frame_shape(x.shape[0], filters), dtype=x.dtype)
        # One product per kernel offset, added into the frame at once: a single batched
        # matmul over the offsets measured 5x slower (NumPy broadcasts x2d without BLAS).
        offsets = offset_slices((kh, kw), self.in_hw, strides, dilation)
        for index, w_offset in zip(offsets, w.reshape(kh * kw, filters, -1)):
            frame[index] += (x2d @ w_offset.T).reshape(x.shape[:3] + (filters,))
        y = xp.ascontiguousarray(frame[self._output_window()])
        if b is not None:
            y += b
        self.save_for_backward(x, w)
        return y

    def _frame_shape(self, n, channels):
        """The frame of every patch, grown where the output reaches past it."""
        return (n,) + tuple(max(full, before + out) for full, before, out in
                            zip(self.full_hw, self.before, self.out_hw)) + (channels,)

    def _output_window(self):
        (top, left), (ho, wo) = self.before, self.out_hw
        return slice(None), slice(top, top + ho), slice(left, left + wo)

    def backward(self, gy):
        x, w = self.saved
        kh, kw, filters, cin = w.shape
        needs_x, needs_w, needs_b = self.needs_input_grad
        gx = gw = gb = None
        if needs_x or needs_w:
            gframe = xp.zeros(self._frame_shape(gy.shape[0], filters), dtype=gy.dtype)
            gframe[self._output_window()] = gy
            gframe = gframe[:, :self.full_hw[0], :self.full_hw[1]]
            cols = windows(gframe, (kh, kw), self.in_hw, self.strides, self.dilation)
            cols = cols.reshape(-1, kh * kw * filters)  # copies the strided view
            if needs_x:
                gx = (cols @ w.reshape(-1, cin)).reshape(x.shape)
            if needs_w:
                gw = (cols.T @ x.reshape(-1, cin)).reshape(w.shape)
        if needs_b:
            gb = gy.sum(axis=(0, 1, 2))
        return gx, gw, gb


def transposed_output_size(size, kernel, stride, padding, output_padding=None, dilation=1):
    """Keras' output length of a transposed convolution along one axis (None stays None):

    'valid': (size - 1) * stride + k_eff + output_padding, output_padding defaulting to
             max(k_eff, stride) - k_eff;
    'same':  size * stride without output_padding, else
             (size - 1) * stride + k_eff % 2 + output_padding;
    k_eff = (kernel - 1) * dilation + 1.
    """
    if size is None:
        return None
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + span % 2 + output_padding


def _is_int(value):
    return isinstance(value, (int, xp.integer)) and not isinstance(value, bool)


def output_padding_pair(output_padding, strides, op):
    """None, or an int or pair of ints in [0, stride) as a (rows, columns) pair."""
    if output_padding is None:
        return None
    values = (output_padding,) * 2 if _is_int(output_padding) else output_padding
    if not isinstance(values, (tuple, list)) or len(values) != 2 or \
            not all(_is_int(v) and 0 <= v < s for v, s in zip(values, strides)):
        raise ValueError(f"{op}: output_padding must be None or non-negative ints smaller "
                         f"than the strides {strides}, got {output_padding!r}")
    return int(values[0]), int(values[1])


def _check_shapes(x, w, b):
    if x.ndim != 4:
        raise ValueError(f"conv2d_transpose expects inputs of shape (N, H, W, C_in), "
                         f"got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"conv2d_transpose expects a kernel of shape (kh, kw, filters, C_in), "
                         f"got shape {w.shape}")
    if w.shape[3] != x.shape[3]:
        raise ValueError(f"conv2d_transpose: kernel of shape {w.shape} expects {w.shape[3]} "
                         f"input channels, got inputs of shape {x.shape} with {x.shape[3]}")
    if b is not None and b.shape != (w.shape[2],):
        raise ValueError(f"conv2d_transpose expects a bias of shape ({w.shape[2]},), "
                         f"got shape {b.shape}")
    check_weight_dtypes("conv2d_transpose", x, w, b)


def conv2d_transpose(x, w, b=None, strides=1, padding="valid", output_padding=None,
                     dilation=1):
    """Transposed convolution of channels-last images (Keras' ``Conv2DTranspose``):
    the gradient of ``conv2d`` with respect to its input, for a kernel in Keras' layout.

    full[n, i*sh + p*dh, j*sw + q*dw, f] += sum_c x[n, i, j, c] * w[p, q, f, c]
    y[n, u, v, f] = full[n, top + u, left + v, f] + b[f]   (0 past the frame)

    dL/dx = conv2d(gframe, w, strides, dilation), gframe = gy placed at (top, left) in the
    full frame (what lies past the frame dropped);
    dL/dw[p, q, f, c] = sum_{n, i, j} x[n, i, j, c] * gframe[n, i*sh + p*dh, j*sw + q*dw, f];
    dL/db[f] = sum_{n, u, v} gy[n, u, v, f].

    Args:
        x: (N, H, W, C_in) images.
        w: (kh, kw, filters, C_in) kernel, as Keras stores it (conv2d's layout for the
            convolution whose gradient this is: C_in and filters swapped).
        b: optional (filters,) bias.
        strides: int or (sh, sw).
        padding: 'valid' or 'same' (Keras' output size rule, see ``transposed_output_size``;
            the output starts at top = max(full - Ho, 0) // 2 of the full frame).
        output_padding: None, or an int or (rows, columns) in [0, stride): pixels added at
            the bottom / right, as Keras.
        dilation: int or (dh, dw).

    Shape:
        (N, H, W, C_in) -> (N, Ho, Wo, filters); 'valid': Ho = (H - 1) * sh + kh_eff +
        output_padding (default max(kh_eff, sh) - kh_eff); 'same': Ho = H * sh
        (with output_padding: (H - 1) * sh + kh_eff % 2 + output_padding).

    Example:
        >>> conv2d_transpose(x, w, strides=2, padding="same").shape  # x (4, 7, 7, 8)
        (4, 14, 14, 16)                                              # w (3, 3, 16, 8)
    """
    x = as_tensor(x)
    w = same_dtype(w, x.dtype)
    b = None if b is None else same_dtype(b, x.dtype)
    _check_shapes(x, w, b)
    op = "conv2d_transpose"
    strides, dilation = pair(strides, "strides", op), pair(dilation, "dilation", op)
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    extra = output_padding_pair(output_padding, strides, op)
    out_hw, before = _output_window(x.shape, w.shape, strides, mode, extra, dilation)
    return Conv2DTranspose.apply(x, w, b, strides=strides, dilation=dilation, out_hw=out_hw,
                                 before=before)


def _output_window(x_shape, w_shape, strides, mode, extra, dilation):
    """(Ho, Wo) and where the output starts in the full frame, (top, left)."""
    out_hw, before = [], []
    for axis in range(2):
        n, k, s, d = x_shape[1 + axis], w_shape[axis], strides[axis], dilation[axis]
        out = transposed_output_size(n, k, s, mode, None if extra is None else extra[axis], d)
        if out < 1:
            raise ValueError(f"conv2d_transpose: inputs of shape {x_shape} with a "
                             f"{w_shape[0]}x{w_shape[1]} kernel, strides {strides}, padding "
                             f"{mode!r} and output_padding {extra} give no output pixels")
        full = (n - 1) * s + (k - 1) * d + 1
        out_hw.append(out)
        before.append(max(full - out, 0) // 2)
    return tuple(out_hw), tuple(before)
