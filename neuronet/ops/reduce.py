"""Reductions over axes: sum, mean, max, min."""
from neuronet.backend import xp
from neuronet.ops._utils import normalize_axis
from neuronet.tensor import Function


def _expand(gy, axes, keepdims):
    """Give a reduced gradient back the reduced axes (length 1) for broadcasting."""
    return gy if keepdims else xp.expand_dims(gy, axes)


class Sum(Function):
    def forward(self, x, axis, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        return xp.sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, gy):
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims), self.shape).copy()


class Mean(Function):
    def forward(self, x, axis, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return xp.mean(x, axis=self.axes, keepdims=keepdims)

    def backward(self, gy):
        gy = _expand(gy, self.axes, self.keepdims) / gy.dtype.type(self.count)
        return xp.broadcast_to(gy, self.shape).copy()


class Extreme(Function):
    """max or min; ties share the gradient evenly, as torch.amax/amin do."""

    reduce = None

    def forward(self, x, axis, keepdims):
        self.axes, self.keepdims = normalize_axis(axis, x.ndim), keepdims
        y = self.reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if keepdims else xp.squeeze(y, axis=self.axes)

    def backward(self, gy):
        x, y = self.saved
        hits = (x == y).astype(gy.dtype)
        hits /= hits.sum(axis=self.axes, keepdims=True)
        return hits * _expand(gy, self.axes, self.keepdims)


class Max(Extreme):
    reduce = staticmethod(xp.max)


class Min(Extreme):
    reduce = staticmethod(xp.min)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.sum
    """y = sum of x over ``axis``;  dy/dx = 1 for every summed element."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """y = sum(x) / n over ``axis``;  dy/dx = 1 / n."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """y = max of x over ``axis``;  dy/dx = 1 / (number of maxima) at the maxima, else 0."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """y = min of x over ``axis``;  dy/dx = 1 / (number of minima) at the minima, else 0."""
    return Min.apply(x, axis=axis, keepdims=keepdims)
