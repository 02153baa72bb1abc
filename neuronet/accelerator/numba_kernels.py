"""The optimizers' update rules as fused numba loops over flat arrays.

Each loop computes, element by element, what the optimizer's ``update`` computes in
NumPy passes, in the same order of operations and in the arrays' dtype (the scalars come
cast), so that the bits are the same: no fastmath (no reassociation, no fused
multiply-add). ``error_model="numpy"`` lets a division by zero give inf as NumPy's
does, and lets LLVM vectorise the loop. ``nogil``: neuronet's threads run pieces of one
update at once (``neuronet.execution.run_updates``).
"""
import math

import numba

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
