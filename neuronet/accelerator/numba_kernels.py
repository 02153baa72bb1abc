"""numba loops: the optimizers' update rules over flat arrays, and a convolution's
max-pool and input gradient (below).

Each update loop computes, element by element, what the optimizer's ``update`` computes in
NumPy passes, in the same order of operations and in the arrays' dtype (the scalars come
cast), so that the bits are the same: no fastmath (no reassociation, no fused
multiply-add). ``error_model="numpy"`` lets a division by zero give inf as NumPy's
does, and lets LLVM vectorise the loop. ``nogil``: neuronet's threads run pieces of one
update at once (``neuronet.execution.run_updates``), and blocks of images.
"""
import math

import numba
import numpy as np

_compile = numba.njit(cache=True, nogil=True, error_model="numpy")


@_compile
def sgd(param, grad, learning_rate):
    """p = p - g * lr."""
    for i in range(param.size):
        param[i] -= grad[i] * learning_rate


@_compile
def momentum(param, grad, buffer, mu, learning_rate):
    """b = b * mu + g;  p = p - b * lr."""
    for i in range(param.size):
        b = buffer[i] * mu + grad[i]
        buffer[i] = b
        param[i] -= b * learning_rate


@_compile
def nesterov(param, grad, buffer, mu, learning_rate):
    """b = b * mu + g;  p = p - (b * mu + g) * lr."""
    for i in range(param.size):
        g = grad[i]
        b = buffer[i] * mu + g
        buffer[i] = b
        param[i] -= (b * mu + g) * learning_rate


@_compile
def adagrad(param, grad, accumulator, epsilon, learning_rate):
    """a = a + g * g;  p = p - g / (sqrt(a) + eps) * lr."""
    for i in range(param.size):
        g = grad[i]
        a = accumulator[i] + g * g
        accumulator[i] = a
        param[i] -= g / (math.sqrt(a) + epsilon) * learning_rate


@_compile
def rmsprop(param, grad, velocity, average, buffer, centered, with_momentum, rho,
            one_minus_rho, epsilon, mu, learning_rate):
    """v = v * rho + g * g * (1 - rho);  centered: a = a + (g - a) * (1 - rho), v' = v - a * a
    (else v' = v);  s = g / (sqrt(v') + eps);  with momentum: b = b * mu + s, s = b;
    p = p - s * lr. ``average`` and ``buffer`` are read only where they are used."""
    for i in range(param.size):
        g = grad[i]
        v = velocity[i] * rho + g * g * one_minus_rho
        velocity[i] = v
        if centered:
            a = average[i] + (g - average[i]) * one_minus_rho
            average[i] = a
            v = v - a * a
        step = g / (math.sqrt(v) + epsilon)
        if with_momentum:
            step = buffer[i] * mu + step
            buffer[i] = step
        param[i] -= step * learning_rate


@_compile
def adadelta(param, grad, velocity, delta_velocity, rho, one_minus_rho, epsilon,
             learning_rate):
    """v = v * rho + g * g * (1 - rho);  d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = u * rho + d * d * (1 - rho);  p = p - d * lr."""
    for i in range(param.size):
        g = grad[i]
        v = velocity[i] * rho + g * g * one_minus_rho
        velocity[i] = v
        d = math.sqrt(delta_velocity[i] + epsilon) / math.sqrt(v + epsilon) * g
        delta_velocity[i] = delta_velocity[i] * rho + d * d * one_minus_rho
        param[i] -= d * learning_rate


@_compile
def adam(param, grad, m, v, one_minus_beta_1, beta_2, one_minus_beta_2, epsilon_r, k):
    """m = m + (g - m) * (1 - b1);  v = v * b2 + g * g * (1 - b2);
    p = p - m / (sqrt(v) + eps r) * k  (r and k: ``Adam.update``'s scalars)."""
    for i in range(param.size):
        g = grad[i]
        m_i = m[i] + (g - m[i]) * one_minus_beta_1
        m[i] = m_i
        v_i = v[i] * beta_2 + g * g * one_minus_beta_2
        v[i] = v_i
        param[i] -= m_i / (math.sqrt(v_i) + epsilon_r) * k


# --- max-pooling of a convolution's output (``neuronet.ops.conv``) -------------------------
# The taps of each pool window are stacked on the first axis (rows of z, pool tap by pool
# tap). NumPy's passes are the reference: y = maximum(y, tap), which keeps a NaN, and
# first = k where tap > y; gradients are products with 1 or 0 (gy * 0 keeps gy's sign, and
# gives NaN for an infinite gy), so the loops multiply by zero where NumPy does. Each loop
# runs tap by tap over contiguous values, so that LLVM vectorises it.
@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _finish(y, bias, with_bias, relu):
    """y = y + b (``with_bias``), then max(y, 0) (``relu``), as NumPy's passes (a NaN kept)."""
    zero = y.dtype.type(0)
    rows, channels = y.shape
    for r in range(rows):
        for c in range(channels):
            v = y[r, c] + bias[c] if with_bias else y[r, c]
            y[r, c] = v if (not relu or v > zero or v != v) else zero


@_compile
def max_pool(taps, bias, y, with_bias, relu):
    """y = max over the taps, + b (``with_bias``), then max(y, 0) (``relu``); taps:
    (P, R, C), bias: (C,), y: (R, C)."""
    count, rows, channels = taps.shape
    for r in range(rows):
        for c in range(channels):
            y[r, c] = taps[0, r, c]
    for k in range(1, count):
        for r in range(rows):
            for c in range(channels):
                tap, best = taps[k, r, c], y[r, c]
                y[r, c] = tap if (tap > best or tap != tap) else best
    _finish(y, bias, with_bias, relu)


@_compile
def max_pool_first(taps, bias, y, first, with_bias, relu):
    """t = tap + b (``with_bias``); y = max over the taps of t, first = the index of the
    first tap that holds it; then y = max(y, 0) (``relu``)."""
    count, rows, channels = taps.shape
    for r in range(rows):
        for c in range(channels):
            tap = taps[0, r, c]
            y[r, c] = tap + bias[c] if with_bias else tap
            first[r, c] = 0
    for k in range(1, count):
        index = first.dtype.type(k)
        for r in range(rows):
            for c in range(channels):
                tap, best = taps[k, r, c], y[r, c]
                if with_bias:
                    tap = tap + bias[c]
                greater = tap > best
                first[r, c] = index if greater else first[r, c]
                y[r, c] = tap if (greater or tap != tap) else best
    _finish(y, bias, False, relu)  # the bias is in already


@_compile
def max_pool_first_by_image(z, bias, y, first, with_bias, relu, ph, pw):
    """``max_pool_first`` with z image by image: the taps of window (a, b) are
    z[n, a*ph + p, b*pw + q] in row-major order of (p, q), and (0, 0) comes first in this
    loop order; z: (N, Ho, Wo, C), y and first: (N, Hp, Wp, C)."""
    images, rows, columns, channels = y.shape
    for n in range(images):
        for a in range(rows):
            for p in range(ph):
                for b in range(columns):
                    for q in range(pw):
                        index = first.dtype.type(p * pw + q)
                        taps = z[n, a * ph + p, b * pw + q]
                        best, chosen = y[n, a, b], first[n, a, b]
                        for c in range(channels):
                            tap = taps[c] + bias[c] if with_bias else taps[c]
                            if p == 0 and q == 0:
                                best[c], chosen[c] = tap, 0
                                continue
                            greater = tap > best[c]
                            chosen[c] = index if greater else chosen[c]
                            best[c] = tap if (greater or tap != tap) else best[c]
    _finish(y.reshape(-1, channels), bias, False, relu)


@_compile
def max_pool_gradient_by_tap(gy, first, gz):
    """gz[k] = gy where first == k, else gy * 0; gy, first: (M,), gz: (P, M)."""
    zero = gy.dtype.type(0)
    count, size = gz.shape
    for k in range(count):
        index = first.dtype.type(k)
        for i in range(size):
            g = gy[i]
            gz[k, i] = g if first[i] == index else g * zero


@_compile
def max_pool_gradient_by_image(gy, first, gz, ph, pw):
    """gz[n, a*ph + p, b*pw + q] = gy[n, a, b] where first == p*pw + q, else gy * 0;
    gy, first: (N, Hp, Wp, C), gz: (N, Ho, Wo, C), written in its own order (row u, column
    v). Rows and columns of gz that no window covers are left as they are."""
    zero = gy.dtype.type(0)
    images, rows, columns, channels = gy.shape
    for n in range(images):
        for u in range(rows * ph):
            a, p = u // ph, u % ph
            b, q = 0, 0
            for v in range(columns * pw):
                index = first.dtype.type(p * pw + q)
                g, chosen, out = gy[n, a, b], first[n, a, b], gz[n, u, v]
                for c in range(channels):
                    out[c] = g[c] if chosen[c] == index else g[c] * zero
                q += 1
                if q == pw:  # the next window
                    b, q = b + 1, 0


# --- a convolution's input gradient (``neuronet.ops.conv``) --------------------------------
@_compile
def gather_windows(products, gx, strides, dilation, top, left):
    """col2im as a gather: gx[n, u, v] = the sum over the kernel offsets (p, q) whose window
    (i, j) covers pixel (u, v) (u = i*sh + p*dh - top, v = j*sw + q*dw - left) of
    products[n, i, j, p, q], offset after offset in row-major order from 0: the additions
    NumPy's col2im makes slab by slab, but each pixel written once.
    products: (N, Ho, Wo, kh, kw, C_in), gx: (N, H, W, C_in)."""
    images, rows, columns, channels = gx.shape
    out_rows, out_columns, kh, kw = products.shape[1:5]
    (sh, sw), (dh, dw) = strides, dilation
    zero = gx.dtype.type(0)
    # window_rows[u, p]: the window row i that meets pixel row u at kernel row p, else -1
    # (worked out once: a division per offset and pixel would cost more than the sums)
    window_rows = _meeting_windows(rows, kh, sh, dh, top, out_rows)
    window_columns = _meeting_windows(columns, kw, sw, dw, left, out_columns)
    for n in range(images):
        for u in range(rows):
            for v in range(columns):
                out = gx[n, u, v]
                for c in range(channels):
                    out[c] = zero
                for p in range(kh):
                    i = window_rows[u, p]
                    if i < 0:
                        continue
                    for q in range(kw):
                        j = window_columns[v, q]
                        if j < 0:
                            continue
                        taken = products[n, i, j, p, q]
                        for c in range(channels):
                            out[c] += taken[c]


@numba.njit(cache=True, nogil=True)
def _meeting_windows(size, kernel, stride, dilation, before, out_size):
    """meeting[u, p] = i where i*stride + p*dilation - before = u, 0 <= i < out_size; else -1."""
    meeting = np.full((size, kernel), -1, dtype=np.int64)
    for u in range(size):
        for p in range(kernel):
            t = u + before - p * dilation
            if t >= 0 and t % stride == 0 and t // stride < out_size:
                meeting[u, p] = t // stride
    return meeting


# --- batch normalisation over the rows of (M, C) (``neuronet.ops.normalization``) ----------
# NumPy's passes are the reference: each loop makes the same elementwise operations in the
# same order and dtype. The sums over the rows go in float64, row after row, where NumPy's
# are matrix-vector products in the dtype: they agree to rounding.
@_compile
def batch_norm_statistics(x, mean, variance):
    """mean = sum of x's rows / M;  variance = sum of (x - mean)^2 / M (x - mean in x's
    dtype, as NumPy's centered array)."""
    rows, channels = x.shape
    totals = np.zeros(channels)
    for r in range(rows):
        for c in range(channels):
            totals[c] += x[r, c]
    for c in range(channels):
        mean[c] = totals[c] / rows
        totals[c] = 0.0
    for r in range(rows):
        for c in range(channels):
            centered = x[r, c] - mean[c]
            totals[c] += centered * centered
    for c in range(channels):
        variance[c] = totals[c] / rows


@_compile
def batch_norm_normalize(x, mean, inv_std, gamma, beta, x_hat, y, with_gamma, with_beta):
    """x_hat = (x - mean) * inv_std;  y = x_hat * gamma (``with_gamma``) + beta
    (``with_beta``)."""
    rows, channels = x.shape
    for r in range(rows):
        for c in range(channels):
            value = (x[r, c] - mean[c]) * inv_std[c]
            x_hat[r, c] = value
            if with_gamma:
                value = value * gamma[c]
            if with_beta:
                value = value + beta[c]
            y[r, c] = value


@_compile
def batch_norm_gradient_sums(gy, x_hat, gbeta, ggamma):
    """gbeta = sum of gy's rows, ggamma = sum of gy * x_hat's (the product in the dtype)."""
    rows, channels = gy.shape
    beta_totals, gamma_totals = np.zeros(channels), np.zeros(channels)
    for r in range(rows):
        for c in range(channels):
            beta_totals[c] += gy[r, c]
            gamma_totals[c] += gy[r, c] * x_hat[r, c]
    for c in range(channels):
        gbeta[c], ggamma[c] = beta_totals[c], gamma_totals[c]


@_compile
def batch_norm_input_gradient(gy, x_hat, gbeta, ggamma, count, factor, gx):
    """gx = ((gy * M - gbeta) - x_hat * ggamma) * factor (M = ``count``, the rows of the
    whole batch; factor = scale / M)."""
    rows, channels = gy.shape
    for r in range(rows):
        for c in range(channels):
            gx[r, c] = ((gy[r, c] * count - gbeta[c]) - x_hat[r, c] * ggamma[c]) * factor[c]
