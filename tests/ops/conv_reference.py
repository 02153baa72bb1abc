"""Slow, obviously-correct float64 references for conv2d and pooling (tests only).

Each loops over output positions and computes one window at a time, straight from
the definitions, so the fast im2col / strided paths have something independent to
be compared with. Padding 'same' is TensorFlow's, written out from its formula.
"""
import math

import numpy as np


def tf_same_pads(size, kernel, stride, dilation=1):
    """(before, after): total = max((ceil(size/stride) - 1)*stride + (k-1)*d + 1 - size, 0)."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def explicit_pads(padding, image_hw, kernel_hw, strides, dilation=(1, 1)):
    """Any padding argument as ((top, bottom), (left, right))."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple(tf_same_pads(n, k, s, d)
                     for n, k, s, d in zip(image_hw, kernel_hw, strides, dilation))
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    if isinstance(padding[0], int):
        return (padding[0], padding[0]), (padding[1], padding[1])
    return tuple(tuple(p) for p in padding)


def _pad(x, pads, value):
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def conv2d(x, w, b, strides, pads, dilation):
    """y[n, i, j, :] = b + sum over the window (taps every `dilation`) of xpad * w."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    kh, kw, _, cout = w.shape
    xpad = _pad(x, pads, 0.0)
    span_h, span_w = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    ho = (xpad.shape[1] - span_h) // strides[0] + 1
    wo = (xpad.shape[2] - span_w) // strides[1] + 1
    y = np.zeros((x.shape[0], ho, wo, cout))
    for i in range(ho):
        for j in range(wo):
            top, left = i * strides[0], j * strides[1]
            window = xpad[:, top:top + span_h:dilation[0], left:left + span_w:dilation[1], :]
            y[:, i, j, :] = np.einsum("npqc,pqco->no", window, w)
    return y if b is None else y + np.asarray(b, np.float64)


def _pool(x, pool, strides, pads, fill, reduce_window):
    xpad = _pad(np.asarray(x, np.float64), pads, fill)
    real = _pad(np.ones(x.shape[1:3])[None, :, :, None], pads, 0.0)
    ho = (xpad.shape[1] - pool[0]) // strides[0] + 1
    wo = (xpad.shape[2] - pool[1]) // strides[1] + 1
    y = np.zeros((x.shape[0], ho, wo, x.shape[3]))
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * strides[0], i * strides[0] + pool[0])
            cols = slice(j * strides[1], j * strides[1] + pool[1])
            y[:, i, j, :] = reduce_window(xpad[:, rows, cols, :], real[:, rows, cols, :])
    return y


def max_pool2d(x, pool, strides, pads):
    """Max over each window, padding with -inf."""
    return _pool(x, pool, strides, pads, -np.inf, lambda v, real: v.max(axis=(1, 2)))


def avg_pool2d(x, pool, strides, pads):
    """Sum over each window divided by its number of real (non-padded) pixels."""
    return _pool(x, pool, strides, pads, 0.0,
                 lambda v, real: v.sum(axis=(1, 2)) / real.sum(axis=(1, 2)))
