"""2-D convolution of channels-last images: im2col and one matrix product per block.

The images go through in blocks of about ``BLOCK_BYTES`` of unrolled windows or output,
split over neuronet's threads (``parallel``). Each block is padded and unrolled (im2col)
into scratch buffers (``workspace``) that stay in cache and are reused from call to call,
multiplied with the kernel, and the bias, a fused ReLU and a fused max-pool are applied
while the block's output is still in cache. For the max-pool the unrolled rows go pool
tap by pool tap, so each tap of the pool is a contiguous run of the product's rows.
Backward multiplies the output gradient with the unrolled windows that forward kept when
they take at most ``KEEP_UNROLLED_BYTES`` (then image by image where gx is wanted, so z
is pooled image by image), else it unrolls each block again from the saved input rather
than keeping the unrolled matrix (kh*kw times the input) alive between the passes. The
input gradient of a stride-1 convolution is one more unrolled product (of the padded
output gradient with the flipped kernel); other strides add it back window by window
(col2im).

With the accelerator on (``neuronet.accelerator``): the max-pool's passes are one loop
each, and every input gradient is col2im as a gather, g @ w2d^T and then each pixel sums
its windows' products in one loop (no unrolled gradient: about half the memory traffic;
the sum goes in another order than the correlation's, so gx agrees with NumPy's to
rounding).

Reference: ``neuronet.ops.reference`` computes the same numbers the plain way (read it
first): ``conv2d_forward``/``conv2d_backward`` (im2col, one product, col2im) and
``conv2d_fused_forward``/``conv2d_fused_backward`` (with the ReLU and max-pool composed).
"""
import math

from neuronet import accelerator, parallel
from neuronet.backend import xp
from neuronet.ops import workspace
from neuronet.ops._utils import as_tensor, check_weight_dtypes, row_sums, same_dtype
from neuronet.ops.activation import check_fused_activation, relu_gradient, relu_in_place
from neuronet.ops.pool import (placed_max_tap_gradient, pool_maximum,
                               stacked_max_tap_gradient)
from neuronet.ops.windows import (check_window_fits, crop, offset_slices, output_size, pad_image,
                                  padded_shape, pair, resolve_padding, windows)
from neuronet.ops.workspace import scratch
from neuronet.tensor import Function, Tensor
from neuronet.tensor.grad_mode import grad_state

# Bytes of the largest per-block array (the unrolled windows or the output). Measured on
# 2 cores (batch 128, the benchmark's two convolutions, one block per thread at a time):
# 2 MB is fastest, 1.2x faster than 7 MB blocks and 1.3x faster than 0.5 MB ones.
BLOCK_BYTES = 2**21
# Below this many input channels, im2col copies channels-first, one kernel offset at a time
# (measured: 5x faster for 1 channel, even at 4).
CHANNELS_FIRST_BELOW = 4
# Unrolled windows of at most this many bytes (all the images') are kept from forward for
# the weight gradient instead of being unrolled again. Measured on the benchmark CNN
# (29 MB for its second convolution at batch 128): 1.04-1.05x faster training, 27 MB more
# at the peak. ResNet-sized activations unroll to hundreds of MB: those are unrolled again.
KEEP_UNROLLED_BYTES = 2**25
# Rows per product in the weight gradient (see _transposed_product).
TRANSPOSED_PRODUCT_CHUNK = 1024


class Conv2D(Function):
    """z = cols @ w2d + b with cols = im2col(xpad); y = act(z), act = ReLU or the
    identity, or with ``max_pool`` y = act(max of z over each pool window) (ReLU
    commutes with the maximum, so it runs on the pooled values).

    Backward: g = dL/dz is gy * act'(y), sent with ``max_pool`` to each window's first
    maximum; then gw = cols^T @ g, gb = sum of g's rows, and gx = im2col(gpad) @ w_flipped
    for stride 1 (``_correlate_back``), else col2im(g @ w2d^T); with the accelerator,
    col2im(g @ w2d^T) gathered pixel by pixel for every stride (``_gathered_back``).
    """

    def forward(self, x, w, b, strides, pads, dilation, activation, max_pool):
        kh, kw, cin, cout = w.shape
        self.pads, self.strides, self.dilation = pads, strides, dilation
        self.out_hw = tuple(output_size(n, p, k, s, d) for n, p, k, s, d in
                            zip(x.shape[1:3], pads, (kh, kw), strides, dilation))
        self.slices = offset_slices((kh, kw), self.out_hw, strides, dilation)
        self.relu = activation == "relu"
        widest = self.out_hw[0] * self.out_hw[1] * max(kh * kw * cin, cout) * x.itemsize
        self.per_block = parallel.block_size(x.shape[0], BLOCK_BYTES // widest)
        y = workspace.empty(self._planned_output(x.shape[0], cout, max_pool), x.dtype)
        first = None
        if max_pool is not None and any(self.needs_input_grad):
            first = xp.zeros(y.shape, dtype=xp.min_scalar_type(len(self.pool_slices) - 1))
        w2d = w.reshape(-1, cout)
        # Small enough, the unrolled windows are kept for the weight gradient, in the order
        # of its rows: image by image where gx is wanted too (``backward``).
        unrolled_bytes = x.shape[0] * math.prod(self.out_hw) * kh * kw * cin * x.itemsize
        kept = {} if self.needs_input_grad[1] and unrolled_bytes <= KEEP_UNROLLED_BYTES else None
        by_pool_tap = max_pool is not None and not (kept is not None and
                                                    self.needs_input_grad[0])

        def convolve(blocks):
            for images in blocks:
                cols = self._unrolled(x[images], w.shape, by_pool_tap, kept is not None)
                if kept is not None:
                    kept[images.start] = cols
                z = self._z_buffer(y, images, len(cols), cout)
                xp.matmul(cols, w2d, out=z)
                if max_pool is None:
                    if b is not None:
                        z += b
                    if self.relu:
                        relu_in_place(z)
                    continue
                y_block, first_block = y[images], None if first is None else first[images]
                if by_pool_tap:  # z's rows come pool tap by pool tap
                    self._pool_block(z.reshape((-1,) + y_block.shape), b, y_block, first_block)
                else:
                    self._pool_image_block(z.reshape((len(y_block),) + self.out_hw + (cout,)),
                                           b, y_block, first_block)
        parallel.map_parts(convolve, self._blocks(x.shape[0]))
        self.save_for_backward(x, w, y if self.relu else None, first, kept)
        return y

    def _planned_output(self, n, cout, max_pool):
        """The output shape; with ``max_pool``, also the pool's geometry."""
        self.pool = max_pool
        if max_pool is None:
            return (n,) + self.out_hw + (cout,)
        pooled_hw = (self.out_hw[0] // max_pool[0], self.out_hw[1] // max_pool[1])
        self.pool_slices = offset_slices(max_pool, pooled_hw, max_pool)
        self.tiles_exactly = pooled_hw[0] * max_pool[0] == self.out_hw[0] and \
            pooled_hw[1] * max_pool[1] == self.out_hw[1]
        return (n,) + pooled_hw + (cout,)

    def _pool_block(self, taps, b, y, first):
        """y = act(the maximum of taps + b over the taps), act = ReLU or the identity;
        first, unless None, = the index of the first tap that holds it. Without first the
        bias comes after the maximum: max(z + b) = max(z) + b to the bit (rounding is
        monotonic), on ph * pw times fewer values. With a tape the first maximum is found on
        z + b, as PyTorch's is (after rounding, z + b may tie where z does not). By the
        accelerator's loop where one is on (the same numbers), else by NumPy's passes."""
        if not self._pool_accelerated(taps, b, y, first):
            self._pool_by_numpy(list(taps), b, y, first)

    def _pool_image_block(self, z, b, y, first):
        """``_pool_block`` of z image by image (N, Ho, Wo, C), with a tape: the taps are
        the windows' offsets in z (``pool_slices``)."""
        fused = accelerator.compiled_kernel("max_pool_first_by_image")
        if fused is None or not accelerator.takes(z, b, y, first):
            self._pool_by_numpy([z[index] for index in self.pool_slices], b, y, first)
            return
        fused(z, xp.empty(0, y.dtype) if b is None else b, y, first, b is not None, self.relu,
              *self.pool)

    def _pool_by_numpy(self, taps, b, y, first):
        """``_pool_block``'s passes in NumPy; ``taps``: a list of views of z."""
        if b is not None and first is not None:
            for tap in taps:
                tap += b
        pool_maximum(taps, y, first)
        if b is not None and first is None:
            y += b
        if self.relu:
            relu_in_place(y)

    def _pool_accelerated(self, taps, b, y, first):
        fused = accelerator.compiled_kernel("max_pool" if first is None else "max_pool_first")
        if fused is None or not accelerator.takes(taps, b, y, first):
            return False
        channels = y.shape[-1]
        flat = [taps.reshape(len(taps), -1, channels), xp.empty(0, y.dtype) if b is None else b,
                y.reshape(-1, channels)]
        if first is not None:
            flat.append(first.reshape(-1, channels))
        fused(*flat, b is not None, self.relu)
        return True

    def _z_buffer(self, y, images, rows, cout):
        """Where a block's z goes: its rows of y, or with ``max_pool`` a scratch buffer."""
        if self.pool is None:
            return y[images].reshape(-1, cout)
        return scratch("conv2d.z", (rows, cout), y.dtype)

    def backward(self, gy):
        x, w, y, first, kept = self.saved
        cout = w.shape[3]
        needs_x, needs_w, needs_b = self.needs_input_grad
        gx = xp.empty(x.shape, dtype=gy.dtype) if needs_x else None
        # Rows pool tap by pool tap, as forward, unless gx needs them image by image.
        by_pool_tap = self.pool is not None and not needs_x
        gather = accelerator.compiled_kernel("gather_windows") if needs_x else None
        w_rows = xp.ascontiguousarray(w.reshape(-1, cout).T) if gather is not None else None
        flipped = None
        if needs_x and gather is None and self._transposable(w.shape):
            flipped = self._flipped_kernel(w)

        def differentiate(blocks):
            """Writes the blocks' gx; returns their partial gw and gb."""
            gw = xp.zeros((w.size // cout, cout), dtype=gy.dtype) if needs_w else None
            gb = xp.zeros(cout, dtype=gy.dtype) if needs_b else None
            for images in blocks:
                g, g_summed = self._z_gradient(gy, y, first, images, by_pool_tap)
                if needs_b:
                    gb += row_sums(g_summed)
                if needs_w:
                    cols = kept[images.start] if kept is not None else self._unrolled(
                        x[images], w.shape, by_pool_tap)
                    gw += _transposed_product(cols, g)
                if gather is not None and accelerator.takes(g, gx):
                    self._gathered_back(g, w_rows, w.shape, gather, out=gx[images])
                elif flipped is not None:
                    self._correlate_back(g, flipped, w.shape, out=gx[images])
                elif needs_x:
                    gx[images] = self._col2im(g, w, x[images].shape)
            return gw, gb
        partials = parallel.map_parts(differentiate, self._blocks(x.shape[0]))
        gw, gb = (parallel.sum_partials(part) for part in zip(*partials))
        return gx, None if gw is None else gw.reshape(w.shape), gb

    def _z_gradient(self, gy, y, first, images, by_pool_tap):
        """dL/dz of a block as (rows, C_out): gy through the ReLU, then with ``max_pool``
        to the first maximum of each window (zero elsewhere), in rows image by image or
        pool tap by pool tap (then without the rows that no window covers). Also rows
        with the same column sums (dL/db), fewer with ``max_pool``: the pooled ones."""
        g = gy[images]
        if self.relu:
            g = relu_gradient(g, y[images], out=scratch("conv2d.g_act", g.shape, g.dtype))
        pooled = g.reshape(-1, g.shape[-1])
        if self.pool is None:
            return pooled, pooled
        if by_pool_tap:
            gz = scratch("conv2d.gz", (len(self.pool_slices),) + g.shape, g.dtype)
            stacked_max_tap_gradient(g, first[images], out=gz)
        else:
            gz = scratch("conv2d.gz", (len(g),) + self.out_hw + g.shape[-1:], g.dtype)
            if not self.tiles_exactly:
                gz[...] = 0
            placed_max_tap_gradient(g, first[images], self.pool, self.pool_slices, out=gz)
        return gz.reshape(-1, g.shape[-1]), pooled

    def _blocks(self, n):
        """Slices of the images of each block of ``per_block``: about BLOCK_BYTES of the
        unrolled windows or of z, whichever is wider."""
        for start in range(0, n, self.per_block):
            yield slice(start, min(n, start + self.per_block))

    def _unrolled(self, x, w_shape, by_pool_tap=False, kept=False):
        """im2col of a block: its (rows, kh * kw * C_in) windows, in a scratch buffer (an
        array of its own when ``kept``).

        Rows go image by image (n, i, j), or with ``by_pool_tap`` pool tap by pool tap
        (p, q, n, i // ph, j // pw), so that each tap of the max-pool is a contiguous run
        of z's rows (and windows no pool window covers are left out). With few channels
        the copy runs one kernel offset at a time into a transposed buffer (channels
        first): long contiguous rows instead of runs of kw * C_in values.
        """
        kh, kw, cin, _ = w_shape
        buffer = _own_array if kept else scratch
        xpad = x
        if any(self.pads[0]) or any(self.pads[1]):
            xpad = pad_image(x, self.pads, 0, out=scratch("conv2d.xpad", padded_shape(
                x.shape, self.pads), x.dtype))
        view = windows(xpad, (kh, kw), self.out_hw, self.strides, self.dilation)
        if by_pool_tap:
            view = self._by_pool_tap(view)
        positions = view.shape[:-3]
        rows = math.prod(positions)
        if cin < CHANNELS_FIRST_BELOW:
            cols_t = buffer("conv2d.cols", (kh * kw * cin, rows), x.dtype)
            slabs = cols_t.reshape((kh, kw, cin) + positions)
            by_offset = view.transpose((-3, -2, -1) + tuple(range(len(positions))))
            for p in range(kh):
                for q in range(kw):
                    slabs[p, q] = by_offset[p, q]
            return cols_t.T
        cols = buffer("conv2d.cols", (rows, kh * kw * cin), x.dtype)
        cols.reshape(view.shape)[...] = view
        return cols

    def _by_pool_tap(self, view):
        """(M, Ho, Wo, ...) -> (ph, pw, M, Ho // ph, Wo // pw, ...): the view's positions
        grouped by the pool tap they fall on."""
        (ph, pw), (m, ho, wo) = self.pool, view.shape[:3]
        view = view[:, :ho - ho % ph, :wo - wo % pw]
        view = view.reshape((m, ho // ph, ph, wo // pw, pw) + view.shape[3:])
        return view.transpose((2, 4, 0, 1, 3) + tuple(range(5, view.ndim)))

    def _transposable(self, w_shape):
        """Whether dL/dx is a stride-1 correlation of the padded g with the flipped kernel:
        stride 1 and no padding wider than the kernel's span."""
        spans = [(k - 1) * d for k, d in zip(w_shape[:2], self.dilation)]
        return self.strides == (1, 1) and all(p <= span for pads, span in zip(self.pads, spans)
                                              for p in pads)

    @staticmethod
    def _flipped_kernel(w):
        """w turned 180 degrees with C_in and C_out swapped, as (kh * kw * C_out, C_in)."""
        kh, kw, cin, cout = w.shape
        return xp.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(-1, cin)

    def _correlate_back(self, g, flipped, w_shape, out):
        """dL/dx of a block for stride 1:
        gx[n, u, v] = sum_{p, q} gpad[n, u + p*dh, v + q*dw] @ w[kh-1-p, kw-1-q]^T, where gpad
        is g padded by span - pad on each side (span = (k - 1) * d), as one unrolled matrix
        product straight into ``out``: no additions window by window, no crop."""
        kh, kw, _, cout = w_shape
        spans = [(k - 1) * d for k, d in zip(w_shape[:2], self.dilation)]
        pads = tuple((span - before, span - after) for span, (before, after) in
                     zip(spans, self.pads))
        g_image = g.reshape((len(out),) + self.out_hw + (cout,))
        gpad = pad_image(g_image, pads, 0, out=scratch("conv2d.gpad", padded_shape(
            g_image.shape, pads), g.dtype))
        cols = scratch("conv2d.gcols", (out[..., 0].size, kh * kw * cout), g.dtype)
        cols.reshape(out.shape[:3] + (kh, kw, cout))[...] = windows(
            gpad, (kh, kw), out.shape[1:3], (1, 1), self.dilation)
        xp.matmul(cols, flipped, out=out.reshape(-1, out.shape[-1]))

    def _gathered_back(self, g, w_rows, w_shape, gather, out):
        """dL/dx of a block with the accelerator: products = g @ w2d^T, (rows, kh * kw * C_in),
        then each pixel of ``out`` gathers its windows' products in one loop (col2im
        without a padded buffer or a pass per kernel offset)."""
        products = xp.matmul(g, w_rows, out=scratch("conv2d.gproducts", (
            len(g), w_rows.shape[1]), g.dtype))
        (top, _), (left, _) = self.pads
        gather(products.reshape((len(out),) + self.out_hw + w_shape[:3]), out,
               self.strides, self.dilation, top, left)

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


def _own_array(_name, shape, dtype):
    """A new array, where a scratch buffer (which the next block reuses) would not do."""
    return xp.empty(shape, dtype)


def _transposed_product(a, b):
    """a^T @ b for tall a (K, M) and b (K, N), K split into runs of
    ``TRANSPOSED_PRODUCT_CHUNK`` whose products are summed: OpenBLAS runs a small product
    over a very long K several times slower than over short ones (measured for
    9 x 12,544 @ 12,544 x 32: 4x on 2 threads)."""
    chunk = TRANSPOSED_PRODUCT_CHUNK
    count = len(a) // chunk
    if count < 2:
        return a.T @ b
    bulk = count * chunk
    total = xp.matmul(a[:bulk].reshape(count, chunk, -1).transpose(0, 2, 1),
                      b[:bulk].reshape(count, chunk, -1)).sum(axis=0)
    if bulk < len(a):
        total += a[bulk:].T @ b[bulk:]
    return total


def conv2d_normalized(x, w, b, scale, shift, strides=1, padding="valid", dilation=1,
                      activation=None):
    """act(conv2d(x, w, b) * scale + shift), act = ReLU or the identity: a convolution and
    the batch normalisation after it in inference (scale, shift: (C_out,), see
    ``neuronet.ops.normalization.inference_affine``), with the normalisation folded into
    the kernel and the bias: conv2d(x, w * scale, b * scale + shift), no pass over the
    output of its own (as ONNX Runtime and TensorRT fold it). Equal to the ops one after
    another to rounding (the products round once, after the scale). Inference only: no
    gradient flows through it."""
    if grad_state.enabled and any(isinstance(t, Tensor) and t.requires_grad
                                  for t in (x, w, b)):
        raise ValueError("conv2d_normalized is for inference: call it under no_grad(), "
                         "or run conv2d and batch_norm (which differentiate)")
    x = as_tensor(x)
    w = same_dtype(w, x.dtype)
    scale, shift = (xp.asarray(a, dtype=x.dtype) for a in (scale, shift))
    bias = shift if b is None else same_dtype(b, x.dtype).data * scale + shift
    return conv2d(x, w.data * scale, bias, strides=strides, padding=padding,
                  dilation=dilation, activation=activation)


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


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None,
           max_pool=None):
    """2-D convolution (cross-correlation, as in Keras and PyTorch) of channels-last images,
    optionally followed by a fused ReLU and a fused max-pool.

    z[n, i, j, o] = b[o] + sum_{p, q, c} xpad[n, i*sh + p*dh, j*sw + q*dw, c] * w[p, q, c, o]
    y = z, or y = max(z, 0) with ``activation='relu'``;
    with ``max_pool=(ph, pw)``:
    y[n, i, j, o] = act(max_{p < ph, q < pw} z[n, i*ph + p, j*pw + q, o])

    dz/dw[p, q, c, o] = xpad[n, i*sh + p*dh, j*sw + q*dw, c];  dz/db[o] = 1;
    dz/dxpad[n, i*sh + p*dh, j*sw + q*dw, c] = w[p, q, c, o] (added over every window
    that covers the pixel);  dy/dz = 1 where y > 0, else 0 (ReLU); with max_pool, only at
    each window's first maximum (row-major, as max_pool2d).

    Args:
        x: (N, H, W, C_in) images.
        w: (kh, kw, C_in, C_out) kernel (Keras layout).
        b: optional (C_out,) bias.
        strides: int or (sh, sw).
        padding: 'valid', 'same' (TensorFlow's: output ceil(H / sh) x ceil(W / sw), the odd
            pixel at the bottom / right), an int, (ph, pw) or ((top, bottom), (left, right)).
        dilation: int or (dh, dw): spacing between kernel taps.
        activation: None or 'relu' (fused: no separate pass over the output).
        max_pool: None, or an int or (ph, pw): max-pool z over windows of that size side
            by side ('valid': rows and columns left over are dropped), equal to
            ``max_pool2d(conv2d(...), max_pool)`` but computed in the convolution's
            blocks, so the full-size output never leaves the cache.

    Shape:
        (N, H, W, C_in) -> (N, Ho, Wo, C_out), Ho = (H + top + bottom - (kh-1)*dh - 1) // sh + 1;
        with max_pool: (N, Ho // ph, Wo // pw, C_out).

    Example:
        >>> y = conv2d(x, w, b, strides=2, padding="same")   # (8, 28, 28, 1) -> (8, 14, 14, 32)

    Reference: neuronet.ops.reference.conv2d_forward/backward; with ``activation`` or
    ``max_pool``, neuronet.ops.reference.conv2d_fused_forward/backward.
    """
    x = as_tensor(x)
    w = same_dtype(w, x.dtype)
    b = None if b is None else same_dtype(b, x.dtype)
    _check_conv_shapes(x, w, b)
    strides, dilation = pair(strides, "strides", "conv2d"), pair(dilation, "dilation", "conv2d")
    pads = resolve_padding(padding, x.shape[1:3], w.shape[:2], strides, dilation, "conv2d")
    check_window_fits(x.shape, pads, w.shape[:2], dilation, "conv2d")
    check_fused_activation("conv2d", activation)
    if max_pool is not None:
        max_pool = pair(max_pool, "max_pool", "conv2d")
        _check_pool_fits(x.shape, pads, w.shape[:2], strides, dilation, max_pool)
    return Conv2D.apply(x, w, b, strides=strides, pads=pads, dilation=dilation,
                        activation=activation, max_pool=max_pool)


def _check_pool_fits(x_shape, pads, kernel_hw, strides, dilation, max_pool):
    out_hw = tuple(output_size(n, p, k, s, d) for n, p, k, s, d in
                   zip(x_shape[1:3], pads, kernel_hw, strides, dilation))
    if out_hw[0] < max_pool[0] or out_hw[1] < max_pool[1]:
        raise ValueError(f"conv2d: the max_pool window {max_pool[0]}x{max_pool[1]} is larger "
                         f"than the convolution's {out_hw[0]}x{out_hw[1]} output "
                         f"(input shape {x_shape})")
