"""Plain references of the hand-tuned ops: the code to read first.

The fast ops (``conv.py``, ``pool.py``, ``linalg.py``) work in blocks of images, in
reused buffers, over threads, with fused activations and pools; ``normalization.py``'s
batch norm writes each pass into an array made once. The functions here
compute the same numbers the plain way, on whole arrays, with the formula in each
docstring; the tests check the fast ops against them (``tests/ops/test_reference.py``),
and ``neuronet explain --op conv2d|max_pool2d|avg_pool2d|dense`` prints them.

Arrays in, arrays out: no Tensors, no tape. Images are channels-last (N, H, W, C),
kernels (kh, kw, C_in, C_out), ``strides`` and ``dilation`` (rows, columns) pairs and
``pads`` explicit ((top, bottom), (left, right)) ('same' is resolved before, by
``neuronet.ops.windows.same_padding``). Each forward has a backward that takes the
upstream gradient and returns the gradients of the inputs, named as in Chainer:

    conv2d_forward(x, w, b, strides, pads, dilation) -> z
    conv2d_backward(x, w, gz, strides, pads, dilation) -> (gx, gw, gb)
    conv2d_fused_forward(x, w, b, strides, pads, dilation, activation, max_pool) -> y
    conv2d_fused_backward(x, w, b, gy, strides, pads, dilation, activation, max_pool)
        -> (gx, gw, gb)
    max_pool2d_forward(x, pool, strides, pads) -> y
    max_pool2d_backward(x, gy, pool, strides, pads) -> gx
    avg_pool2d_forward(x, pool, strides, pads) -> y
    avg_pool2d_backward(x, gy, pool, strides, pads) -> gx
    dense_forward(x, w, b, activation) -> y
    dense_backward(x, w, y, gy, activation) -> (gx, gw, gb)
    batch_norm_forward(x, gamma, beta, mean, variance, epsilon) -> y
    batch_norm_backward(x, gamma, mean, variance, gy, epsilon, training)
        -> (gx, ggamma, gbeta)

built on ``im2col`` (every window as one row) and its adjoint ``col2im``.
"""
from neuronet.backend import xp

VALID = ((0, 0), (0, 0))


# --- windows ------------------------------------------------------------------------
def pad(x, pads, fill=0.0):
    """x (N, H, W, C) surrounded by ``fill``: top, bottom, left, right = pads."""
    return xp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)


def output_hw(padded_hw, kernel_hw, strides, dilation):
    """Windows along each axis: Ho = (Hp - (kh - 1) * dh - 1) // sh + 1."""
    return tuple((n - (k - 1) * d - 1) // s + 1
                 for n, k, s, d in zip(padded_hw, kernel_hw, strides, dilation))


def _tap(p, q, out_hw, strides, dilation):
    """The pixels of xpad that kernel tap (p, q) meets, one per window:
    xpad[:, i*sh + p*dh, j*sw + q*dw, :] for every window (i, j)."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, strides, dilation
    return (slice(None), slice(p * dh, p * dh + (ho - 1) * sh + 1, sh),
            slice(q * dw, q * dw + (wo - 1) * sw + 1, sw), slice(None))


def im2col(xpad, kernel_hw, strides, dilation):
    """Every window of xpad as one row:

    cols[(n, i, j), (p, q, c)] = xpad[n, i*sh + p*dh, j*sw + q*dw, c]

    Returns cols (N * Ho * Wo, kh * kw * C), rows and columns in row-major order, and
    (Ho, Wo).
    """
    (n, *padded_hw, c), (kh, kw) = xpad.shape, kernel_hw
    out_hw = output_hw(padded_hw, kernel_hw, strides, dilation)
    cols = xp.empty((n,) + out_hw + (kh, kw, c), dtype=xpad.dtype)
    for p in range(kh):
        for q in range(kw):
            cols[:, :, :, p, q] = xpad[_tap(p, q, out_hw, strides, dilation)]
    return cols.reshape(n * out_hw[0] * out_hw[1], kh * kw * c), out_hw


def col2im(gcols, padded_shape, kernel_hw, strides, dilation):
    """The adjoint of im2col: each row's values go back to the pixels they were read
    from, added where windows overlap:

    gxpad[n, i*sh + p*dh, j*sw + q*dw, c] += gcols[(n, i, j), (p, q, c)]
    """
    (n, *padded_hw, c), (kh, kw) = padded_shape, kernel_hw
    out_hw = output_hw(padded_hw, kernel_hw, strides, dilation)
    gxpad = xp.zeros(padded_shape, dtype=gcols.dtype)
    slabs = gcols.reshape((n,) + out_hw + (kh, kw, c))
    for p in range(kh):
        for q in range(kw):
            gxpad[_tap(p, q, out_hw, strides, dilation)] += slabs[:, :, :, p, q]
    return gxpad


def crop(gxpad, pads, image_hw):
    """The part of a padded gradient that covers the image (padding has no gradient)."""
    (top, _), (left, _) = pads
    return gxpad[:, top:top + image_hw[0], left:left + image_hw[1]]


# --- convolution --------------------------------------------------------------------
def conv2d_forward(x, w, b, strides, pads, dilation):
    """z = im2col(xpad) @ w2d + b, w2d = w as (kh * kw * C_in, C_out); that is

    z[n, i, j, o] = b[o] + sum_{p, q, c} xpad[n, i*sh + p*dh, j*sw + q*dw, c] * w[p, q, c, o]

    Shape: x (N, H, W, C_in), w (kh, kw, C_in, C_out), b (C_out,) or None
    -> z (N, Ho, Wo, C_out).
    """
    cols, out_hw = im2col(pad(x, pads), w.shape[:2], strides, dilation)
    z = cols @ w.reshape(-1, w.shape[3])
    if b is not None:
        z = z + b
    return z.reshape((x.shape[0],) + out_hw + (w.shape[3],))


def conv2d_backward(x, w, gz, strides, pads, dilation):
    """The three gradients of z = cols @ w2d + b, cols = im2col(xpad), from gz = dL/dz
    as g (N * Ho * Wo, C_out):

    gw = cols^T @ g,   gb = sum of g's rows,   gx = crop(col2im(g @ w2d^T))

    Returns (gx, gw, gb) of the shapes of x, w and b.
    """
    xpad = pad(x, pads)
    cols, _ = im2col(xpad, w.shape[:2], strides, dilation)
    w2d = w.reshape(-1, w.shape[3])
    g = gz.reshape(-1, w.shape[3])
    gw = (cols.T @ g).reshape(w.shape)
    gb = g.sum(axis=0)
    gxpad = col2im(g @ w2d.T, xpad.shape, w.shape[:2], strides, dilation)
    return crop(gxpad, pads, x.shape[1:3]), gw, gb


def relu_forward(z):
    """y = max(z, 0)."""
    return xp.maximum(z, 0)


def relu_backward(y, gy):
    """dL/dz = gy where y > 0, else 0 (y may be ReLU's input or its output)."""
    return gy * (y > 0)


def conv2d_fused_forward(x, w, b, strides, pads, dilation, activation=None, max_pool=None):
    """What ``conv2d(..., activation, max_pool)`` computes in one pass, as a composition:

    y = act(conv2d(x)), act = ReLU ('relu') or the identity (None);
    with max_pool=(ph, pw): y = max_pool2d(act(conv2d(x)), (ph, pw)), windows side by
    side, rows and columns left over dropped. (The fast op pools first and applies the
    ReLU to the pooled values: ReLU commutes with the maximum.)
    """
    y = conv2d_forward(x, w, b, strides, pads, dilation)
    if activation == "relu":
        y = relu_forward(y)
    if max_pool is not None:
        y = max_pool2d_forward(y, max_pool, max_pool, VALID)
    return y


def conv2d_fused_backward(x, w, b, gy, strides, pads, dilation, activation=None,
                          max_pool=None):
    """The chain rule through the composition of ``conv2d_fused_forward``, last op first:
    gy back through the max-pool (to each window's first maximum), then through the
    ReLU, then ``conv2d_backward``. Returns (gx, gw, gb)."""
    a = conv2d_forward(x, w, b, strides, pads, dilation)
    if activation == "relu":
        a = relu_forward(a)
    ga = gy if max_pool is None else max_pool2d_backward(a, gy, max_pool, max_pool, VALID)
    gz = relu_backward(a, ga) if activation == "relu" else ga
    return conv2d_backward(x, w, gz, strides, pads, dilation)


# --- pooling ------------------------------------------------------------------------
def _pool_windows(x, pool, strides, pads, fill):
    """The (N, Ho, Wo, ph * pw, C) windows of x padded with ``fill``, taps row-major."""
    cols, out_hw = im2col(pad(x, pads, fill), pool, strides, (1, 1))
    return cols.reshape((x.shape[0],) + out_hw + (pool[0] * pool[1], x.shape[3]))


def _pool_backward(x, gtaps, pool, strides, pads):
    """dL/dx from the (N, Ho, Wo, ph * pw, C) gradient of every window's taps."""
    (n, h, w, c), ((top, bottom), (left, right)) = x.shape, pads
    padded_shape = (n, top + h + bottom, left + w + right, c)
    gxpad = col2im(gtaps.reshape(-1, gtaps.shape[3] * c), padded_shape, pool, strides, (1, 1))
    return crop(gxpad, pads, x.shape[1:3])


def max_pool2d_forward(x, pool, strides, pads):
    """y[n, i, j, c] = max_{p < ph, q < pw} xpad[n, i*sh + p, j*sw + q, c], padding -inf."""
    return _pool_windows(x, pool, strides, pads, -xp.inf).max(axis=3)


def max_pool2d_backward(x, gy, pool, strides, pads):
    """dL/dx: each window's gy goes to its first maximum, taps in row-major order (p, q)
    (argmax returns the first), summed over the windows that overlap on a pixel."""
    taps = _pool_windows(x, pool, strides, pads, -xp.inf)
    first = taps.argmax(axis=3)[:, :, :, None]
    gtaps = xp.zeros(taps.shape, dtype=gy.dtype)
    xp.put_along_axis(gtaps, first, gy[:, :, :, None], axis=3)
    return _pool_backward(x, gtaps, pool, strides, pads)


def _real_pixel_counts(x, pool, strides, pads):
    """count[i, j]: the pixels of window (i, j) that are image, not padding, (Ho, Wo, 1)."""
    ones = xp.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype)
    return _pool_windows(ones, pool, strides, pads, 0.0).sum(axis=3)[0]


def avg_pool2d_forward(x, pool, strides, pads):
    """y[n, i, j, c] = sum_{p, q} xpad[n, i*sh + p, j*sw + q, c] / count[i, j], padding 0,
    count[i, j] = the window's real (non-padded) pixels (Keras and TensorFlow's rule)."""
    taps = _pool_windows(x, pool, strides, pads, 0.0)
    return taps.sum(axis=3) / _real_pixel_counts(x, pool, strides, pads)


def avg_pool2d_backward(x, gy, pool, strides, pads):
    """dL/dx: every real pixel of window (i, j) gets gy[n, i, j, c] / count[i, j], summed
    over the windows that overlap on it (what lands on padding is cropped away)."""
    g = gy / _real_pixel_counts(x, pool, strides, pads)
    gtaps = xp.repeat(g[:, :, :, None], pool[0] * pool[1], axis=3)
    return _pool_backward(x, gtaps, pool, strides, pads)


# --- fully connected ----------------------------------------------------------------
def dense_forward(x, w, b=None, activation=None):
    """y = act(x @ w + b), act = ReLU ('relu') or the identity (None).

    Shape: x (N, in), w (in, units), b (units,) or None -> y (N, units).
    """
    z = x @ w
    if b is not None:
        z = z + b
    return relu_forward(z) if activation == "relu" else z


def dense_backward(x, w, y, gy, activation=None):
    """With g = dL/dz = gy * act'(z) (for ReLU: gy where y > 0):

    gx = g @ w^T,   gw = x^T @ g,   gb = sum over the batch of g

    Returns (gx, gw, gb).
    """
    g = relu_backward(y, gy) if activation == "relu" else gy
    return g @ w.T, x.T @ g, g.sum(axis=0)


# --- batch normalisation --------------------------------------------------------------
def batch_norm_forward(x, gamma, beta, mean, variance, epsilon):
    """y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, per channel (last axis);
    mean and variance: the batch's (training) or the moving ones (inference); gamma,
    beta: (C,) or None (1 and 0)."""
    x_hat = (x - mean) / xp.sqrt(variance + x.dtype.type(epsilon))
    y = x_hat if gamma is None else x_hat * gamma
    return y if beta is None else y + beta


def batch_norm_backward(x, gamma, mean, variance, gy, epsilon, training):
    """With M values per channel, x_hat as in forward, s = gamma / sqrt(var + epsilon):

    gbeta = sum gy,  ggamma = sum gy x_hat,
    gx = s / M * (M gy - gbeta - x_hat ggamma)  (training: the statistics are x's)
    gx = s gy                                    (inference: they are constants)

    Returns (gx, ggamma, gbeta).
    """
    axes = tuple(range(x.ndim - 1))
    inv_std = 1 / xp.sqrt(variance + x.dtype.type(epsilon))
    x_hat = (x - mean) * inv_std
    gbeta, ggamma = gy.sum(axis=axes), (gy * x_hat).sum(axis=axes)
    scale = inv_std if gamma is None else gamma * inv_std
    if not training:
        return scale * gy, ggamma, gbeta
    count = gy.size // gy.shape[-1]
    return scale / count * (count * gy - gbeta - x_hat * ggamma), ggamma, gbeta
