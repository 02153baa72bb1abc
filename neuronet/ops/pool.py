"""Max and average pooling of channels-last images.

Both walk the pool window's offsets (i, j) in row-major order: each offset is one
strided view of the (padded) image holding that tap of every window, so a 2x2 pool
is four vectorised operations whatever the image size. When the windows do not
overlap, no padding is needed and they tile the image exactly (the reshape
(N, Ho, ph, Wo, pw, C) case), no padded copy is made and each tap's gradient is
written straight into an uninitialised buffer instead of being accumulated.
"""
from neuronet.backend import xp
from neuronet.ops import reduce
from neuronet.ops._utils import as_tensor
from neuronet.ops.conv import (check_window_fits, crop, offset_slices, output_size, pad_image,
                               pair, same_padding)
from neuronet.tensor import Function


class _Pool2D(Function):
    """Shared geometry: padding, the taps' views and the gradient buffer."""

    fill = 0.0

    def pad_and_index(self, x, pool, strides, pads):
        """Pad x once and index the taps; keeps what backward needs to place gradients."""
        self.x_shape, self.pads = x.shape, pads
        self.out_hw = tuple(output_size(n, p, k, s) for n, p, k, s in
                            zip(x.shape[1:3], pads, pool, strides))
        self.slices = offset_slices(pool, self.out_hw, strides)
        self.overlapping = strides[0] < pool[0] or strides[1] < pool[1]
        xpad = pad_image(x, pads, self.fill)
        tiled = (self.out_hw[0] * pool[0], self.out_hw[1] * pool[1]) == xpad.shape[1:3]
        self.tiles_exactly = tiled and not self.overlapping
        self.xpad_shape = xpad.shape
        return xpad

    def scatter(self, tap_gradients, dtype):
        """dL/dx from each tap's (N, Ho, Wo, C) gradient, added where windows overlap."""
        allocate = xp.empty if self.tiles_exactly else xp.zeros
        gxpad = allocate(self.xpad_shape, dtype=dtype)
        for index, g in zip(self.slices, tap_gradients):
            if self.overlapping:
                gxpad[index] += g
            else:
                gxpad[index] = g
        return crop(gxpad, self.pads, self.x_shape[1:3])


class MaxPool2D(_Pool2D):
    """y = max over the window; the gradient goes to its first maximum (row-major).

    Backward finds each window's first maximum again from the saved input and output
    (one comparison per tap) rather than keeping an argmax array from forward.
    """

    fill = -xp.inf

    def forward(self, x, pool, strides, pads):
        xpad = self.pad_and_index(x, pool, strides, pads)
        y = xpad[self.slices[0]].copy()
        for index in self.slices[1:]:
            xp.maximum(y, xpad[index], out=y)
        self.save_for_backward(xpad, y)
        return y

    def backward(self, gy):
        return self.scatter(self._first_maximum_gradients(gy), gy.dtype)

    def _first_maximum_gradients(self, gy):
        """Per tap: gy where this tap is the window's first maximum, else 0 (as PyTorch)."""
        xpad, y = self.saved
        unclaimed = xp.ones(y.shape, dtype=bool)
        first = xp.empty(y.shape, dtype=bool)
        for index in self.slices:
            xp.equal(xpad[index], y, out=first)
            first &= unclaimed
            xp.greater(unclaimed, first, out=unclaimed)  # unclaimed and not first
            yield gy * first


class AvgPool2D(_Pool2D):
    """y = mean of the window's real (non-padded) pixels; each of them gets gy / count."""

    def forward(self, x, pool, strides, pads):
        xpad = self.pad_and_index(x, pool, strides, pads)
        self.counts = _real_pixel_counts(x.shape[1:3], pool, strides, pads, self.out_hw, x.dtype)
        y = xpad[self.slices[0]].copy()
        for index in self.slices[1:]:
            y += xpad[index]
        y /= self.counts
        return y

    def backward(self, gy):
        g = gy / self.counts
        return self.scatter([g] * len(self.slices), gy.dtype)


def _real_pixel_counts(image_hw, pool, strides, pads, out_hw, dtype):
    """(Ho, Wo, 1) number of image (not padding) pixels in each window."""
    per_axis = []
    for size, k, s, (before, _), n_out in zip(image_hw, pool, strides, pads, out_hw):
        start = xp.arange(n_out) * s - before
        per_axis.append(xp.minimum(start + k, size) - xp.maximum(start, 0))
    return xp.multiply.outer(*per_axis).astype(dtype)[:, :, None]


def _pool_arguments(x, pool_size, strides, padding, op):
    """Validate; return (pool, strides, pads)."""
    if x.ndim != 4:
        raise ValueError(f"{op} expects inputs of shape (N, H, W, C), got shape {x.shape}")
    pool = pair(pool_size, "pool_size", op)
    strides = pool if strides is None else pair(strides, "strides", op)
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode == "valid":
        pads = ((0, 0), (0, 0))
    elif mode == "same":
        pads = tuple(same_padding(*axis) for axis in zip(x.shape[1:3], pool, strides))
    else:
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    check_window_fits(x.shape, pads, pool, (1, 1), op)
    return pool, strides, pads


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling of (N, H, W, C) images.

    y[n, i, j, c] = max_{p, q} xpad[n, i*sh + p, j*sw + q, c]  ('same' pads with -inf);
    dy/dx = 1 at the window's first maximum in row-major order, 0 elsewhere (PyTorch's rule).

    Args:
        pool_size: int or (ph, pw).
        strides: int or (sh, sw); defaults to ``pool_size``.
        padding: 'valid' or 'same' (TensorFlow's: output ceil(H / sh), odd pixel bottom/right).

    Shape:
        (N, H, W, C) -> (N, Ho, Wo, C), Ho = (H + top + bottom - ph) // sh + 1.
    """
    x = as_tensor(x)
    pool, strides, pads = _pool_arguments(x, pool_size, strides, padding, "max_pool2d")
    return MaxPool2D.apply(x, pool=pool, strides=strides, pads=pads)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling of (N, H, W, C) images.

    y[n, i, j, c] = sum_{p, q} xpad[n, i*sh + p, j*sw + q, c] / count[i, j], where count is
    the number of real (non-padded) pixels in the window, as Keras / TensorFlow do;
    dy/dx = 1 / count for every real pixel of the window.

    Args:
        pool_size: int or (ph, pw).
        strides: int or (sh, sw); defaults to ``pool_size``.
        padding: 'valid' or 'same'.

    Shape:
        (N, H, W, C) -> (N, Ho, Wo, C), Ho = (H + top + bottom - ph) // sh + 1.
    """
    x = as_tensor(x)
    pool, strides, pads = _pool_arguments(x, pool_size, strides, padding, "avg_pool2d")
    return AvgPool2D.apply(x, pool=pool, strides=strides, pads=pads)


def global_avg_pool2d(x):
    """y[n, c] = mean over (h, w) of x[n, h, w, c];  dy/dx = 1 / (H * W).

    Shape:
        (N, H, W, C) -> (N, C).
    """
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d expects inputs of shape (N, H, W, C), "
                         f"got shape {x.shape}")
    return reduce.mean(x, axis=(1, 2))
