"""Max and average pooling of channels-last images.

Both walk the pool window's offsets (i, j) in row-major order: each offset is one
strided view of the (padded) image holding that tap of every window, so a 2x2 pool
is four vectorised operations per block of images whatever the image size. The
images go through in blocks of about ``BLOCK_BYTES`` of input, so the running
result stays in cache while the taps are combined into it, and padding goes into a
scratch buffer (``workspace``). Max pooling keeps, per window, the index of the tap
that holds its first maximum (one byte per output), so backward is one comparison
and one product per tap. When the windows do not overlap, each tap's gradient is
written straight into the input gradient instead of being accumulated.

Reference: ``neuronet.ops.reference`` computes the same numbers the plain way (read it
first): ``max_pool2d_forward``/``max_pool2d_backward`` and
``avg_pool2d_forward``/``avg_pool2d_backward``, each window one row of an im2col.
"""
from neuronet import accelerator, parallel
from neuronet.backend import xp
from neuronet.ops import reduce, workspace
from neuronet.ops._utils import as_tensor
from neuronet.ops.windows import (check_window_fits, crop, offset_slices, output_size, pad_image,
                                  padded_shape, pair, same_padding)
from neuronet.ops.workspace import scratch
from neuronet.tensor import Function

# Input bytes per block (16 images of 28x28x32 float32): larger blocks leave the cache.
BLOCK_BYTES = 2**21


class _Pool2D(Function):
    """Shared geometry: blocks of images, padding, the taps' views and the gradient."""

    fill = 0.0

    def plan(self, x, pool, strides, pads):
        """Work out the output size, the taps and the blocks for x; returns the y shape."""
        self.x_shape, self.pads = x.shape, pads
        self.out_hw = tuple(output_size(n, p, k, s) for n, p, k, s in
                            zip(x.shape[1:3], pads, pool, strides))
        self.slices = offset_slices(pool, self.out_hw, strides)
        self.overlapping = strides[0] < pool[0] or strides[1] < pool[1]
        self.padded = any(pads[0]) or any(pads[1])
        self.padded_shape = padded_shape(x.shape, pads)
        tiled = (self.out_hw[0] * pool[0], self.out_hw[1] * pool[1]) == self.padded_shape[1:3]
        self.tiles_exactly = tiled and not self.overlapping
        self.per_block = parallel.block_size(x.shape[0], BLOCK_BYTES // max(x[:1].nbytes, 1))
        return (x.shape[0],) + self.out_hw + (x.shape[3],)

    def blocks(self):
        for start in range(0, self.x_shape[0], self.per_block):
            yield slice(start, min(start + self.per_block, self.x_shape[0]))

    def taps(self, x):
        """The (M, Ho, Wo, C) view of each tap of every window of a block padded with ``fill``."""
        if self.padded:
            x = pad_image(x, self.pads, self.fill,
                          out=scratch("pool2d.xpad", padded_shape(x.shape, self.pads), x.dtype))
        return [x[index] for index in self.slices]

    def scatter(self, tap_gradient, dtype):
        """dL/dx from ``tap_gradient(k, images, out)``, which writes the (M, Ho, Wo, C)
        gradient of tap k for a block of images into ``out`` and returns it; the taps'
        gradients add up where windows overlap."""
        gx = xp.empty(self.x_shape, dtype=dtype)

        def scatter_blocks(blocks):
            for images in blocks:
                self._scatter_block(tap_gradient, gx, images)
        parallel.map_parts(scatter_blocks, self.blocks())
        return gx

    def _scatter_block(self, tap_gradient, gx, images):
        gxpad = gx[images]
        if self.padded:
            gxpad = scratch("pool2d.gxpad", padded_shape(gxpad.shape, self.pads), gx.dtype)
        if not self.tiles_exactly:
            gxpad[...] = 0
        tap_shape = (len(gxpad),) + self.out_hw + (self.x_shape[3],)
        tap = scratch("pool2d.tap", tap_shape, gx.dtype) if self.overlapping else None
        for k, index in enumerate(self.slices):
            if self.overlapping:
                gxpad[index] += tap_gradient(k, images, out=tap)
            else:
                tap_gradient(k, images, out=gxpad[index])
        if self.padded:
            gx[images] = crop(gxpad, self.pads, self.x_shape[1:3])


class MaxPool2D(_Pool2D):
    """y = max over the window; the gradient goes to its first maximum (row-major),
    whose tap index forward keeps per window (``pool_maximum``)."""

    fill = -xp.inf

    def forward(self, x, pool, strides, pads):
        y = workspace.empty(self.plan(x, pool, strides, pads), x.dtype)
        first = None
        if any(self.needs_input_grad):
            first = xp.zeros(y.shape, dtype=xp.min_scalar_type(len(self.slices) - 1))

        def pool(blocks):
            for images in blocks:
                pool_maximum(self.taps(x[images]), y[images],
                             None if first is None else first[images])
        parallel.map_parts(pool, self.blocks())
        self.save_for_backward(first)
        return y

    def backward(self, gy):
        first = self.saved[0]

        def tap_gradient(k, images, out):
            return max_tap_gradient(gy[images], first[images], k, out)
        return self.scatter(tap_gradient, gy.dtype)


def pool_maximum(taps, y, first):
    """y = the maximum of the taps (views of the same shape as y); first, unless None,
    = the index of the first tap that holds it (first must hold zeros on entry).

    Scanning the taps in order, a tap strictly greater than the running maximum is the
    new first maximum and has a larger index than any before it, so
    ``first = max(first, k * (tap > y))``.
    """
    xp.copyto(y, taps[0])
    if first is not None:
        greater = scratch("max_pool2d.greater", y.shape, bool)
        marks = scratch("max_pool2d.marks", y.shape, first.dtype)
    for k, tap in enumerate(taps[1:], start=1):
        if first is not None:
            xp.greater(tap, y, out=greater)
            xp.multiply(greater, first.dtype.type(k), out=marks)
            xp.maximum(first, marks, out=first)
        xp.maximum(y, tap, out=y)


def stacked_max_tap_gradient(gy, first, out):
    """``max_tap_gradient`` of every tap k into ``out[k]`` (``out``: (P,) + gy.shape)."""
    fused = accelerator.compiled_kernel("max_pool_gradient_by_tap")
    if fused is None or not accelerator.takes(gy, first, out):
        for k, out_tap in enumerate(out):
            max_tap_gradient(gy, first, k, out=out_tap)
        return
    fused(gy.reshape(-1), first.reshape(-1), out.reshape(len(out), -1))


def placed_max_tap_gradient(gy, first, pool, tap_slices, out):
    """``max_tap_gradient`` of every tap k of side-by-side ``pool`` windows, written where
    the tap lies in ``out`` (N, Ho, Wo, C): ``out[tap_slices[k]]``."""
    fused = accelerator.compiled_kernel("max_pool_gradient_by_image")
    if fused is None or not accelerator.takes(gy, first, out):
        for k, index in enumerate(tap_slices):
            max_tap_gradient(gy, first, k, out=out[index])
        return
    fused(gy, first, out, *pool)


def max_tap_gradient(gy, first, k, out):
    """The gradient that reaches tap k of each window: gy where first == k, else 0."""
    chosen = xp.equal(first, k, out=scratch("max_pool2d.chosen", out.shape, bool))
    return xp.multiply(gy, chosen, out=out)


class AvgPool2D(_Pool2D):
    """y = mean of the window's real (non-padded) pixels; each of them gets gy / count."""

    def forward(self, x, pool, strides, pads):
        y = workspace.empty(self.plan(x, pool, strides, pads), x.dtype)
        self.counts = _real_pixel_counts(x.shape[1:3], pool, strides, pads, self.out_hw, x.dtype)

        def pool(blocks):
            for images in blocks:
                taps, y_block = self.taps(x[images]), y[images]
                xp.copyto(y_block, taps[0])
                for tap in taps[1:]:
                    y_block += tap
                y_block /= self.counts
        parallel.map_parts(pool, self.blocks())
        return y

    def backward(self, gy):
        g = gy / self.counts

        def tap_gradient(k, images, out):
            xp.copyto(out, g[images])
            return out
        return self.scatter(tap_gradient, gy.dtype)


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

    Reference: neuronet.ops.reference.max_pool2d_forward/backward.
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

    Reference: neuronet.ops.reference.avg_pool2d_forward/backward.
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
