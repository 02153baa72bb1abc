"""2-D convolution of channels-last images: im2col and one matrix product per block.

The images go through in blocks of about ``BLOCK_BYTES`` of unrolled windows or output.
Each block is padded and unrolled (im2col) into scratch buffers (``workspace``) that
stay in cache and are reused from call to call, multiplied with the kernel, and the
bias and a fused ReLU are applied while the block's output is still in cache. Backward unrolls
each block again from the saved input rather than keeping the unrolled matrix (kh*kw
times the input) alive between the passes, and adds the input gradient back window
by window (col2im) one block at a time.
"""
from neuronet import parallel
from neuronet.backend import xp
from neuronet.ops import workspace
from neuronet.ops._utils import as_tensor, check_weight_dtypes, same_dtype
from neuronet.ops.activation import check_fused_activation, relu_gradient, relu_in_place
from neuronet.ops.windows import (check_window_fits, crop, offset_slices, output_size, pad_image,
                                  padded_shape, pair, resolve_padding, windows)
from neuronet.ops.workspace import scratch
from neuronet.tensor import Function

# Bytes of the largest per-block array (the unrolled windows or the output). Measured on
# 2 cores (batch 128, the benchmark's two convolutions, one block per thread at a time):
# 2 MB is fastest, 1.2x faster than 7 MB blocks and 1.3x faster than 0.5 MB ones.
BLOCK_BYTES = 2**21
# Below this many input channels, im2col copies channels-first, one kernel offset at a time
# (measured: 5x faster for 1 channel, even at 4).
CHANNELS_FIRST_BELOW = 4


class Conv2D(Function):
    """y = act(cols @ w2d + b) with cols = im2col(xpad), act = ReLU or the identity;
    with g = gy * act'(y): gw = cols^T @ g, gb = sum of g's rows, gx = col2im(g @ w2d^T)."""

    threaded = True

    def forward(self, x, w, b, strides, pads, dilation, activation):
        kh, kw, cin, cout = w.shape
        self.pads, self.strides, self.dilation = pads, strides, dilation
        self.out_hw = tuple(output_size(n, p, k, s, d) for n, p, k, s, d in
                            zip(x.shape[1:3], pads, (kh, kw), strides, dilation))
        self.slices = offset_slices((kh, kw), self.out_hw, strides, dilation)
        self.relu = activation == "relu"
        pixels = self.out_hw[0] * self.out_hw[1]
        widest = pixels * max(kh * kw * cin, cout) * x.itemsize
        self.per_block = parallel.block_size(x.shape[0], BLOCK_BYTES // widest)
        y = workspace.empty((x.shape[0] * pixels, cout), x.dtype)
        w2d = w.reshape(-1, cout)

        def convolve(blocks):
            for images, rows in blocks:
                y_block = y[rows]
                xp.matmul(self._unrolled(x[images], w.shape), w2d, out=y_block)
                if b is not None:
                    y_block += b
                if self.relu:
                    relu_in_place(y_block)
        parallel.map_parts(convolve, self._blocks(x.shape[0]))
        self.save_for_backward(x, w, y if self.relu else None)
        return y.reshape((x.shape[0],) + self.out_hw + (cout,))

    def backward(self, gy):
        x, w, y = self.saved
        cout = w.shape[3]
        gy2d = gy.reshape(-1, cout)
        needs_x, needs_w, needs_b = self.needs_input_grad
        gx = xp.empty(x.shape, dtype=gy.dtype) if needs_x else None

        def differentiate(blocks):
            """Writes the blocks' gx; returns their partial gw and gb."""
            gw = xp.zeros((w.size // cout, cout), dtype=gy.dtype) if needs_w else None
            gb = xp.zeros(cout, dtype=gy.dtype) if needs_b else None
            for images, rows in blocks:
                g = gy2d[rows]
                if self.relu:
                    g = relu_gradient(g, y[rows], out=scratch("conv2d.g", g.shape, g.dtype))
                if needs_b:
                    # A matrix-vector product sums the rows several times faster than sum(axis=0).
                    gb += xp.ones(len(g), dtype=g.dtype) @ g
                if needs_w:
                    gw += self._unrolled(x[images], w.shape).T @ g
                if needs_x:
                    gx[images] = self._col2im(g, w, x[images].shape)
            return gw, gb
        partials = parallel.map_parts(differentiate, self._blocks(x.shape[0]))
        gw, gb = (parallel.sum_partials(part) for part in zip(*partials))
        return gx, None if gw is None else gw.reshape(w.shape), gb

    def _blocks(self, n):
        """(images, rows) slices of each block of ``per_block`` images: about BLOCK_BYTES
        of the unrolled windows or of the output, whichever is wider."""
        pixels = self.out_hw[0] * self.out_hw[1]
        for start in range(0, n, self.per_block):
            stop = min(n, start + self.per_block)
            yield slice(start, stop), slice(start * pixels, stop * pixels)

    def _unrolled(self, x, w_shape):
        """im2col of a block: its (M * Ho * Wo, kh * kw * C_in) windows, in a scratch buffer.

        With few channels the copy runs one kernel offset at a time into a transposed
        buffer (channels first): long contiguous rows instead of runs of kw * C_in values.
        """
        kh, kw, cin, _ = w_shape
        xpad = x
        if any(self.pads[0]) or any(self.pads[1]):
            xpad = pad_image(x, self.pads, 0, out=scratch("conv2d.xpad", padded_shape(
                x.shape, self.pads), x.dtype))
        rows = x.shape[0] * self.out_hw[0] * self.out_hw[1]
        if cin < CHANNELS_FIRST_BELOW:
            cols_t = scratch("conv2d.cols", (kh * kw * cin, rows), x.dtype)
            slabs = cols_t.reshape((kh * kw, cin, x.shape[0]) + self.out_hw)
            for slab, index in zip(slabs, self.slices):
                slab[...] = xpad[index].transpose(3, 0, 1, 2)
            return cols_t.T
        cols = scratch("conv2d.cols", (rows, kh * kw * cin), x.dtype)
        cols.reshape((x.shape[0],) + self.out_hw + (kh, kw, cin))[...] = windows(
            xpad, (kh, kw), self.out_hw, self.strides, self.dilation)
        return cols

    def _col2im(self, g, w, x_shape):
        """dL/dx of a block: every kernel offset adds its (M, Ho, Wo, C_in) slab into a
        zeroed padded buffer; returns the view of it that covers the images."""
        kh, kw, cin, cout = w.shape
        # Batched over offsets, the product lays each offset's slab out contiguously,
        # so the slice additions below run over long rows.
        gcols = xp.matmul(g, w.reshape(kh * kw, cin, cout).transpose(0, 2, 1),
                          out=scratch("conv2d.gcols", (kh * kw, len(g), cin), g.dtype))
        gxpad = scratch("conv2d.gxpad", padded_shape(x_shape, self.pads), g.dtype)
        gxpad[...] = 0
        slabs = gcols.reshape((kh * kw, x_shape[0]) + self.out_hw + (cin,))
        for index, slab in zip(self.slices, slabs):
            gxpad[index] += slab
        return crop(gxpad, self.pads, x_shape[1:3])


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
    check_weight_dtypes("conv2d", x, w, b)


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None):
    """2-D convolution (cross-correlation, as in Keras and PyTorch) of channels-last images,
    optionally followed by a fused ReLU.

    z[n, i, j, o] = b[o] + sum_{p, q, c} xpad[n, i*sh + p*dh, j*sw + q*dw, c] * w[p, q, c, o]
    y = z, or y = max(z, 0) with ``activation='relu'``

    dz/dw[p, q, c, o] = xpad[n, i*sh + p*dh, j*sw + q*dw, c];  dz/db[o] = 1;
    dz/dxpad[n, i*sh + p*dh, j*sw + q*dw, c] = w[p, q, c, o] (added over every window
    that covers the pixel);  dy/dz = 1 where y > 0, else 0 (ReLU).

    Args:
        x: (N, H, W, C_in) images.
        w: (kh, kw, C_in, C_out) kernel (Keras layout).
        b: optional (C_out,) bias.
        strides: int or (sh, sw).
        padding: 'valid', 'same' (TensorFlow's: output ceil(H / sh) x ceil(W / sw), the odd
            pixel at the bottom / right), an int, (ph, pw) or ((top, bottom), (left, right)).
        dilation: int or (dh, dw): spacing between kernel taps.
        activation: None or 'relu' (fused: no separate pass over the output).

    Shape:
        (N, H, W, C_in) -> (N, Ho, Wo, C_out), Ho = (H + top + bottom - (kh-1)*dh - 1) // sh + 1.

    Example:
        >>> y = conv2d(x, w, b, strides=2, padding="same")   # (8, 28, 28, 1) -> (8, 14, 14, 32)
    """
    x = as_tensor(x)
    w = same_dtype(w, x.dtype)
    b = None if b is None else same_dtype(b, x.dtype)
    _check_conv_shapes(x, w, b)
    strides, dilation = pair(strides, "strides", "conv2d"), pair(dilation, "dilation", "conv2d")
    pads = resolve_padding(padding, x.shape[1:3], w.shape[:2], strides, dilation, "conv2d")
    check_window_fits(x.shape, pads, w.shape[:2], dilation, "conv2d")
    check_fused_activation("conv2d", activation)
    return Conv2D.apply(x, w, b, strides=strides, pads=pads, dilation=dilation,
                        activation=activation)
