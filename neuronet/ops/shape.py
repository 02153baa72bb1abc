"""Ops that move elements without changing them: reshape, transpose, indexing,
concatenate, stack, pad. Each backward moves the gradient back."""
from neuronet.backend import xp
from neuronet.ops._utils import as_tensor
from neuronet.tensor import Function, Tensor


class Reshape(Function):
    def forward(self, x, new_shape):
        self.shape = x.shape
        return x.reshape(new_shape)

    def backward(self, gy):
        return gy.reshape(self.shape)


class Transpose(Function):
    def forward(self, x, axes):
        self.axes = axes
        return xp.transpose(x, axes)

    def backward(self, gy):
        if self.axes is None:
            return xp.transpose(gy)
        return xp.transpose(gy, xp.argsort(self.axes))


def _is_basic_index(index):
    """True when indexing cannot repeat an element (slices, ints, None, ...)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (slice, int, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, gy):
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_basic_index(self.index):
            gx[self.index] = gy
        else:
            xp.add.at(gx, self.index, gy)  # integer arrays may pick an element twice
        return gx


class Concatenate(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = xp.cumsum([a.shape[axis] for a in arrays])[:-1]
        return xp.concatenate(arrays, axis=axis)

    def backward(self, gy):
        return tuple(xp.split(gy, self.bounds, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        return xp.stack(arrays, axis=axis)

    def backward(self, gy):
        return tuple(xp.moveaxis(gy, self.axis, 0))


class Pad(Function):
    def forward(self, x, pad_width, value):
        self.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return xp.pad(x, pad_width, constant_values=value)

    def backward(self, gy):
        return gy[self.crop]


def _index_data(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def reshape(x, new_shape):
    """y = x with shape ``new_shape`` (one entry may be -1);  dy/dx reshapes back."""
    return Reshape.apply(x, new_shape=tuple(new_shape))


def transpose(x, axes=None):
    """y = x with axes permuted (reversed when ``axes`` is None);  dy/dx permutes back."""
    return Transpose.apply(x, axes=tuple(axes) if axes is not None else None)


def getitem(x, index):
    """y = x[index] (basic or integer-array indexing);  dy/dx scatters back with +=."""
    return GetItem.apply(x, index=_index_data(index))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes ``start_dim`` .. ``end_dim`` into one (all axes by default)."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def concatenate(tensors, axis=0):
    """y = tensors joined along ``axis``;  dy/dx_i is y's gradient split back."""
    return Concatenate.apply(*[as_tensor(t) for t in tensors], axis=axis)


def stack(tensors, axis=0):
    """y = tensors stacked on a new ``axis``;  dy/dx_i is slice i of y's gradient."""
    return Stack.apply(*[as_tensor(t) for t in tensors], axis=axis)


def pad(x, pad_width, value=0.0):
    """y = x surrounded by ``value``; ``pad_width`` is ((before, after), ...) per axis."""
    return Pad.apply(x, pad_width=tuple(tuple(p) for p in pad_width), value=value)
