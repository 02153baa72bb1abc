"""Running totals along an axis."""
from neuronet.backend import xp
from neuronet.ops._utils import as_tensor
from neuronet.ops.shape import reshape
from neuronet.tensor import Function


class Cumsum(Function):
    def forward(self, x, axis):
        self.axis = axis
        return xp.cumsum(x, axis=axis, dtype=x.dtype)  # int32 stays int32 (Keras)

    def backward(self, gy):
        # x_i feeds every y_j with j >= i: gx_i = sum_{j >= i} gy_j, a cumsum from the end.
        return xp.flip(xp.cumsum(xp.flip(gy, self.axis), axis=self.axis), self.axis)


def cumsum(x, axis=None, dtype=None):
    """y_j = sum_{i <= j} x_i along ``axis`` (of the flattened x if None);
    dy_j/dx_i = 1 for i <= j, so gx_i = sum_{j >= i} gy_j.

    ``dtype`` converts x first; the result keeps x's dtype.
    """
    x = as_tensor(x)
    if dtype is not None:
        x = x.astype(dtype)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"cumsum: axis {axis} is out of range for an input of shape {x.shape}")
    return Cumsum.apply(x, axis=axis % x.ndim)
