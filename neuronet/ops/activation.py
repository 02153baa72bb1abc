"""Activation functions, each one Function with its derivative written out.

All of them are numerically stable: sigmoid and softplus never exponentiate a
positive number, softmax and log-softmax subtract the maximum first, so inputs
of magnitude 1e4 give exact 0/1 saturation and no overflow warnings.
"""
from neuronet import parallel
from neuronet.backend import xp
from neuronet.ops import workspace
from neuronet.ops._utils import as_tensor
from neuronet.tensor import Function


def stable_sigmoid(x):
    """1 / (1 + e^-x) on an array, from e^-|x| only, so nothing overflows."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def stable_log_softmax(x, axis):
    """(x - m) - ln sum e^(x - m) on an array, m the maximum along ``axis``."""
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


FUSED_ACTIVATIONS = (None, "relu")


def check_fused_activation(op, activation):
    """The activations that matmul-like ops apply in place: None or 'relu'."""
    if activation not in FUSED_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be None or 'relu' (fused), got {activation!r}")


def relu_in_place(y):
    """y = max(y, 0) on an array, in place. Taken against an array of zeros: NumPy's
    vectorised loop does not cover a scalar operand (measured 3.6x slower)."""
    return xp.maximum(y, workspace.zeros(y.shape, y.dtype), out=y)


def relu_gradient(gy, x, out=None):
    """ReLU's backward on arrays: gy where x > 0, else 0 (x may be ReLU's input or output).
    With ``out``, the mask goes to a scratch buffer instead of a new array."""
    positive = None if out is None else workspace.scratch("relu_gradient", x.shape, bool)
    return xp.multiply(gy, xp.greater(x, 0, out=positive), out=out)


def _checked_axis(op, axis, shape):
    """``axis`` as a non-negative int, or a ValueError naming ``op`` and the shape."""
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{op}: axis {axis} is out of range for an input of shape {shape}")
    return axis % len(shape)


class Sigmoid(Function):
    def forward(self, x):
        y = stable_sigmoid(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return gy * y * (1 - y)


class Tanh(Function):
    def forward(self, x):
        y = xp.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return gy * (1 - y * y)


class ReLU(Function):
    """y = max(x, 0); dx = gy where x > 0, else 0 (each pass in rows over the threads in a
    model that splits its work, ``parallel.elementwise``)."""

    def forward(self, x):
        self.save_for_backward(x)
        y = xp.empty_like(x)
        parallel.elementwise(lambda xs, ys: xp.maximum(xs, 0, out=ys), x, y)
        return y

    def backward(self, gy):
        x = self.saved[0]
        gx = xp.empty(x.shape, dtype=gy.dtype)
        parallel.elementwise(lambda gys, xs, gxs: relu_gradient(gys, xs, out=gxs), gy, x, gx)
        return gx


class LeakyReLU(Function):
    def forward(self, x, negative_slope):
        self.save_for_backward(x)
        self.negative_slope = x.dtype.type(negative_slope)  # a NumPy float64 must not upcast
        return xp.where(x > 0, x, x * self.negative_slope)

    def backward(self, gy):
        return xp.where(self.saved[0] > 0, gy, gy * self.negative_slope)


class ELU(Function):
    def forward(self, x, alpha):
        self.alpha = x.dtype.type(alpha)
        # expm1 of min(x, 0): the unused branch of where() must not overflow either.
        y = xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved
        return xp.where(x > 0, gy, gy * (y + self.alpha))


class Softplus(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * stable_sigmoid(self.saved[0])


class Softmax(Function):
    def forward(self, x, axis):
        self.axis = axis
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        y = e / xp.sum(e, axis=axis, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return y * (gy - xp.sum(gy * y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x, axis):
        self.axis = axis
        y = stable_log_softmax(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return gy - xp.exp(y) * xp.sum(gy, axis=self.axis, keepdims=True)


def remember_logits(y, activation, logits):
    """Mark ``y`` as ``activation(logits)`` ('sigmoid', or 'softmax' over the last axis).

    Kept on the output itself, not read from the tape, so that a cross-entropy on y
    finds the logits under ``no_grad`` as with a tape (Keras' ``_keras_logits``).
    """
    y._logits = (activation, logits)
    return y


def logits_of(y, activation):
    """The Tensor that ``activation`` ('sigmoid' or 'softmax') turned into ``y``, or None."""
    made_by, logits = getattr(y, "_logits", (None, None))
    return logits if made_by == activation else None


def sigmoid(x):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y).

    Computed from e^-|x| only, so |x| up to 1e4 saturates to exactly 0 or 1 silently.
    The output remembers x (``logits_of(y, 'sigmoid')``) for BinaryCrossentropy.
    """
    x = as_tensor(x)
    return remember_logits(Sigmoid.apply(x), "sigmoid", x)


def tanh(x):
    """y = tanh(x);  dy/dx = 1 - y^2."""
    return Tanh.apply(as_tensor(x))


def relu(x):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0 (0 at x = 0, as in PyTorch)."""
    return ReLU.apply(as_tensor(x))


def leaky_relu(x, negative_slope=0.01):
    """y = x if x > 0 else negative_slope * x;  dy/dx = 1 if x > 0 else negative_slope.

    The default slope is PyTorch's 0.01 (Keras uses 0.2 in ``activations.leaky_relu``).
    """
    return LeakyReLU.apply(as_tensor(x), negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """y = x if x > 0 else alpha (e^x - 1);  dy/dx = 1 if x > 0 else alpha e^x = y + alpha."""
    return ELU.apply(as_tensor(x), alpha=alpha)


def softplus(x):
    """y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|);  dy/dx = sigmoid(x)."""
    return Softplus.apply(as_tensor(x))


def softmax(x, axis=-1):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) with m = max_j x_j, along ``axis``.

    dE/dx = y * (g - sum_j g_j y_j), where g = dE/dy.
    Over the last axis (the class axis of the cross-entropies) the output remembers
    x (``logits_of(y, 'softmax')``); over another axis x is not a row of logits.
    """
    x = as_tensor(x)
    axis = _checked_axis("softmax", axis, x.shape)
    y = Softmax.apply(x, axis=axis)
    return remember_logits(y, "softmax", x) if axis == x.ndim - 1 else y


def log_softmax(x, axis=-1):
    """y_i = (x_i - m) - ln sum_j e^(x_j - m) with m = max_j x_j, along ``axis``.

    dE/dx = g - softmax(x) * sum_j g_j, where g = dE/dy.
    """
    x = as_tensor(x)
    return LogSoftmax.apply(x, axis=_checked_axis("log_softmax", axis, x.shape))
