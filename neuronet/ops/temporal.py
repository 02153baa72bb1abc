"""Ops over the steps of channels-last sequences (N, T, C): conv1d, max_pool1d, avg_pool1d.

Each runs the 2-D op on a (N, 1, T, C) view: a sequence is an image one row high, the
kernel (k, C_in, C_out) a (1, k, C_in, C_out) kernel. So they share the 2-D ops'
blocked, threaded code and hand-written backwards (``neuronet.ops.conv``,
``neuronet.ops.pool``): the reshapes around them are views, with views as gradients.
"""
from neuronet.ops import conv, pool
from neuronet.ops._utils import as_tensor, same_dtype
from neuronet.ops.shape import reshape


def _single(value, what, op):
    """An int, or a one-int tuple or list (Keras' form), as an int >= 1."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{op} expects {what} as a positive int, got {value!r}")
    return value


def _check_sequences(x, op):
    if x.ndim != 3:
        raise ValueError(f"{op} expects inputs of shape (N, T, C), got shape {x.shape}")


def _as_row_images(x):
    return reshape(x, (x.shape[0], 1) + x.shape[1:])


def _as_sequences(y):
    return reshape(y, (y.shape[0],) + y.shape[2:])


def causal_padding(kernel_size, dilation):
    """(left, right) padding of 'causal': output step t sees input steps <= t only."""
    return (kernel_size - 1) * dilation, 0


def _column_padding(padding, kernel_size, dilation, op):
    """conv2d's padding for the (1, T) images of ``padding``."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "causal":
            return ((0, 0), causal_padding(kernel_size, dilation))
        if mode in ("valid", "same"):
            return mode
        raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or "
                         f"(left, right), got {padding!r}")
    if isinstance(padding, int):
        return ((0, 0), (padding, padding))
    left, right = padding
    return ((0, 0), (int(left), int(right)))


def conv1d(x, w, b=None, strides=1, padding="valid", dilation=1, activation=None):
    """1-D convolution (cross-correlation) of channels-last sequences.

    z[n, t, o] = b[o] + sum_{p, c} xpad[n, t*s + p*d, c] * w[p, c, o];  y = z, or
    max(z, 0) with ``activation='relu'`` (fused);
    dz/dw[p, c, o] = xpad[n, t*s + p*d, c];  dz/db[o] = 1;  dz/dxpad[n, t*s + p*d, c] =
    w[p, c, o], added over every window that covers the step.

    Args:
        x: (N, T, C_in) sequences.
        w: (k, C_in, C_out) kernel (Keras' layout; torch's is (C_out, C_in, k)).
        b: optional (C_out,) bias.
        strides, dilation: ints (or one-int tuples).
        padding: 'valid'; 'same' (TensorFlow's: ceil(T / s) outputs, the odd step on the
            right); 'causal' ((k - 1) * d zeros on the left only: output t never sees a
            later step); an int, or (left, right).
        activation: None or 'relu'.

    Shape:
        (N, T, C_in) -> (N, To, C_out), To = (T + left + right - (k - 1) * d - 1) // s + 1.
    """
    x = as_tensor(x)
    w = same_dtype(w, x.dtype)
    _check_sequences(x, "conv1d")
    if w.ndim != 3:
        raise ValueError(f"conv1d expects a kernel of shape (k, C_in, C_out), got shape "
                         f"{w.shape}")
    strides = _single(strides, "strides", "conv1d")
    dilation = _single(dilation, "dilation", "conv1d")
    w = as_tensor(w)
    y = conv.conv2d(_as_row_images(x), reshape(w, (1,) + w.shape), b, strides=(1, strides),
                    padding=_column_padding(padding, w.shape[0], dilation, "conv1d"),
                    dilation=(1, dilation), activation=activation)
    return _as_sequences(y)


def max_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """y[n, t, c] = max_{p < pool_size} xpad[n, t*s + p, c] ('same' pads with -inf);
    dy/dx = 1 at each window's first maximum, 0 elsewhere (PyTorch's rule).

    Shape:
        (N, T, C) -> (N, To, C); 'valid': To = (T - pool_size) // s + 1, 'same': ceil(T / s).
    """
    x = as_tensor(x)
    _check_sequences(x, "max_pool1d")
    size, strides = _pool_geometry(pool_size, strides, "max_pool1d")
    y = pool.max_pool2d(_as_row_images(x), (1, size), (1, strides), padding)
    return _as_sequences(y)


def avg_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """y[n, t, c] = the mean of the real (non-padded) steps of window t, as Keras;
    dy/dx = 1 / count for every real step of the window.

    Shape:
        (N, T, C) -> (N, To, C), as ``max_pool1d``.
    """
    x = as_tensor(x)
    _check_sequences(x, "avg_pool1d")
    size, strides = _pool_geometry(pool_size, strides, "avg_pool1d")
    y = pool.avg_pool2d(_as_row_images(x), (1, size), (1, strides), padding)
    return _as_sequences(y)


def _pool_geometry(pool_size, strides, op):
    size = _single(pool_size, "pool_size", op)
    return size, size if strides is None else _single(strides, "strides", op)
