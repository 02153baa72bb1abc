"""Elementwise ops with NumPy broadcasting; each backward unbroadcasts."""
from neuronet import parallel
from neuronet.backend import xp
from neuronet.ops._utils import operands, unbroadcast
from neuronet.tensor import Function, Tensor


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        if a.ndim == 0 or a.shape != b.shape or a.dtype != b.dtype:
            return a + b
        y = xp.empty_like(a)  # two branches of a network: in rows over the threads
        parallel.elementwise(lambda a_rows, b_rows, y_rows: xp.add(a_rows, b_rows, out=y_rows),
                             a, b, y)
        return y

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        gb = -unbroadcast(gy, self.shapes[1]) if self.needs_input_grad[1] else None
        return unbroadcast(gy, self.shapes[0]), gb


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        ga = unbroadcast(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        ga = unbroadcast(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Power(Function):
    def forward(self, a, b):
        y = a ** b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(gy * b * a ** (b - 1), a.shape)
        if self.needs_input_grad[1]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                log_a = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), 0)
            gb = unbroadcast(gy * y * log_a, b.shape)
        return ga, gb


class Exp(Function):
    def forward(self, x):
        y = xp.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        return gy * self.saved[0]


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.log(x)

    def backward(self, gy):
        return gy / self.saved[0]


class Sqrt(Function):
    def forward(self, x):
        y = xp.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        return gy / (2 * self.saved[0])


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.abs(x)

    def backward(self, gy):
        return gy * xp.sign(self.saved[0])


class Clip(Function):
    def forward(self, x, low, high):
        self.save_for_backward(x)
        self.low, self.high = low, high
        return xp.clip(x, low, high)

    def backward(self, gy):
        x = self.saved[0]
        inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * inside


class Maximum(Function):
    """Ties send half the gradient to each side, as PyTorch does."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved
        share_a = (a > b) + 0.5 * (a == b)
        ga = unbroadcast(gy * share_a.astype(gy.dtype), a.shape)
        gb = unbroadcast(gy * (1 - share_a).astype(gy.dtype), b.shape)
        return ga, gb


class Where(Function):
    def forward(self, condition, a, b):
        self.condition = condition
        self.shapes = a.shape, b.shape
        return xp.where(condition, a, b)

    def backward(self, gy):
        zero = xp.zeros((), dtype=gy.dtype)
        ga = unbroadcast(xp.where(self.condition, gy, zero), self.shapes[0])
        gb = unbroadcast(xp.where(self.condition, zero, gy), self.shapes[1])
        return None, ga, gb


class Cast(Function):
    def forward(self, x, dtype):
        self.source_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy):
        return gy.astype(self.source_dtype)


def add(a, b):
    """y = a + b;  dy/da = 1, dy/db = 1 (summed over broadcast axes)."""
    return Add.apply(*operands(a, b))


def sub(a, b):
    """y = a - b;  dy/da = 1, dy/db = -1."""
    return Sub.apply(*operands(a, b))


def mul(a, b):
    """y = a * b;  dy/da = b, dy/db = a."""
    return Mul.apply(*operands(a, b))


def div(a, b):
    """y = a / b;  dy/da = 1 / b, dy/db = -a / b^2."""
    return Div.apply(*operands(a, b))


def neg(x):
    """y = -x;  dy/dx = -1."""
    return Neg.apply(x)


def power(a, b):
    """y = a ** b;  dy/da = b * a^(b-1), dy/db = a^b * ln(a) (0 where a <= 0)."""
    return Power.apply(*operands(a, b))


def exp(x):
    """y = e^x;  dy/dx = y."""
    return Exp.apply(x)


def log(x):
    """y = ln(x);  dy/dx = 1 / x."""
    return Log.apply(x)


def sqrt(x):
    """y = sqrt(x);  dy/dx = 1 / (2 y)."""
    return Sqrt.apply(x)


def abs(x):  # noqa: A001 - mirrors numpy.abs
    """y = |x|;  dy/dx = sign(x) (0 at 0, as in PyTorch)."""
    return Abs.apply(x)


def clip(x, low=None, high=None):
    """y = min(max(x, low), high);  dy/dx = 1 where low <= x <= high, else 0."""
    return Clip.apply(x, low=low, high=high)


def maximum(a, b):
    """y = max(a, b) elementwise;  the gradient goes to the larger (split on ties)."""
    return Maximum.apply(*operands(a, b))


def minimum(a, b):
    """y = min(a, b) = -max(-a, -b)."""
    return neg(maximum(neg(a), neg(b)))


def where(condition, a, b):
    """y = a where condition else b;  the gradient follows the chosen side."""
    condition = condition.data if isinstance(condition, Tensor) else xp.asarray(condition)
    a, b = operands(a, b)
    return Where.apply(condition.astype(bool), a, b)


def cast(x, dtype):
    """y = x converted to ``dtype``;  the gradient is converted back."""
    return Cast.apply(x, dtype=xp.dtype(dtype))
