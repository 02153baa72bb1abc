"""Ops whose results carry no gradient: new arrays (``zeros``, ``arange``, ``one_hot``),
indices (``argmax``), truth values (``equal``), step functions (``sign``, ``round``)
and the facts and conversions of ``keras.ops`` (``shape``, ``convert_to_tensor``).

Each returns a Tensor with no history (``convert_to_numpy`` and ``shape`` excepted),
so a gradient flowing back stops there: the derivative of an index, a comparison or
a step is zero wherever it exists.
"""
from neuronet import backend
from neuronet.backend import xp
from neuronet.ops.elementwise import cast
from neuronet.tensor import Tensor


def _array(x):
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _constant(array):
    return Tensor._from_op(array, None)


def _float_dtype(dtype):
    return backend.resolve_dtype(dtype)


# --- new arrays -------------------------------------------------------------------------
def zeros(shape, dtype=None):
    """A Tensor of zeros of ``shape``; ``floatx()`` unless ``dtype`` is given."""
    return _constant(xp.zeros(shape, dtype=_float_dtype(dtype)))


def ones(shape, dtype=None):
    """A Tensor of ones of ``shape``; ``floatx()`` unless ``dtype`` is given."""
    return _constant(xp.ones(shape, dtype=_float_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    """A Tensor of ``shape`` holding ``fill_value``; ``floatx()`` unless ``dtype`` is given."""
    return _constant(xp.full(shape, fill_value, dtype=_float_dtype(dtype)))


def zeros_like(x, dtype=None):
    """Zeros of x's shape and (unless ``dtype`` is given) x's dtype."""
    return _constant(xp.zeros_like(_array(x), dtype=dtype))


def ones_like(x, dtype=None):
    """Ones of x's shape and (unless ``dtype`` is given) x's dtype."""
    return _constant(xp.ones_like(_array(x), dtype=dtype))


def full_like(x, fill_value, dtype=None):
    """``fill_value`` in x's shape and (unless ``dtype`` is given) x's dtype."""
    return _constant(xp.full_like(_array(x), fill_value, dtype=dtype))


def arange(start, stop=None, step=1, dtype=None):
    """``start, start + step, ...`` below ``stop`` (``0 .. start - 1`` without ``stop``).

    The dtype is int32 when every argument is an int, else ``floatx()``, as in Keras.
    """
    if dtype is None:
        whole = all(isinstance(v, int) for v in (start, stop, step) if v is not None)
        dtype = "int32" if whole else backend.floatx()
    if stop is None:
        start, stop = 0, start
    return _constant(xp.arange(start, stop, step, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras' and NumPy's names
    """An N x M (N x N) matrix with ones on diagonal ``k``; ``floatx()`` by default."""
    return _constant(xp.eye(N, M, k, dtype=_float_dtype(dtype)))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """``y[..., k] = 1 if x[...] == k else 0`` with the class axis inserted at ``axis``.

    A label outside ``0 .. num_classes - 1`` (e.g. -1 for padding) gives a row of
    zeros, as ``keras.ops.one_hot`` does on its backends. ``floatx()`` by default.
    """
    if sparse:
        raise ValueError("one_hot: neuronet has no sparse tensors; pass sparse=False")
    labels = _array(x)
    if labels.dtype.kind not in "biu":
        raise ValueError(f"one_hot expects integer labels, got dtype {labels.dtype}")
    classes = xp.arange(num_classes).reshape((1,) * labels.ndim + (num_classes,))
    encoded = (labels[..., None] == classes).astype(_float_dtype(dtype))
    return _constant(xp.moveaxis(encoded, -1, axis))


# --- indices and truth values -------------------------------------------------------------
def argmax(x, axis=None, keepdims=False):
    """The index (int32) of the largest element along ``axis`` (of the flat array if None);
    the first one on ties."""
    return _constant(xp.argmax(_array(x), axis=axis, keepdims=keepdims).astype(xp.int32))


def argmin(x, axis=None, keepdims=False):
    """The index (int32) of the smallest element along ``axis``; the first one on ties."""
    return _constant(xp.argmin(_array(x), axis=axis, keepdims=keepdims).astype(xp.int32))


def equal(x1, x2):
    """x1 == x2 elementwise, as a bool Tensor (broadcasting)."""
    return _constant(xp.equal(_array(x1), _array(x2)))


def not_equal(x1, x2):
    """x1 != x2 elementwise, as a bool Tensor."""
    return _constant(xp.not_equal(_array(x1), _array(x2)))


def greater(x1, x2):
    """x1 > x2 elementwise, as a bool Tensor."""
    return _constant(xp.greater(_array(x1), _array(x2)))


def greater_equal(x1, x2):
    """x1 >= x2 elementwise, as a bool Tensor."""
    return _constant(xp.greater_equal(_array(x1), _array(x2)))


def less(x1, x2):
    """x1 < x2 elementwise, as a bool Tensor."""
    return _constant(xp.less(_array(x1), _array(x2)))


def less_equal(x1, x2):
    """x1 <= x2 elementwise, as a bool Tensor."""
    return _constant(xp.less_equal(_array(x1), _array(x2)))


def logical_and(x1, x2):
    """x1 and x2 elementwise (nonzero is true), as a bool Tensor."""
    return _constant(xp.logical_and(_array(x1), _array(x2)))


def logical_or(x1, x2):
    """x1 or x2 elementwise, as a bool Tensor."""
    return _constant(xp.logical_or(_array(x1), _array(x2)))


def logical_not(x):
    """not x elementwise, as a bool Tensor."""
    return _constant(xp.logical_not(_array(x)))


def _axes(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def any_of(x, axis=None, keepdims=False):
    """Whether any element of x along ``axis`` (all axes: None) is nonzero, as a bool
    Tensor (Keras' functional models make a Masking layer's mask with it). Keras' name
    ``any`` is given in ``neuronet.ops``; here the builtin stays usable."""
    return _constant(xp.any(_array(x), axis=_axes(axis), keepdims=keepdims))


def all_of(x, axis=None, keepdims=False):
    """Whether every element of x along ``axis`` (all axes: None) is nonzero, as a bool
    Tensor."""
    return _constant(xp.all(_array(x), axis=_axes(axis), keepdims=keepdims))


# --- step functions: derivative 0 wherever it exists -------------------------------------------
def sign(x):
    """-1, 0 or 1 by the sign of x, in x's dtype."""
    return _constant(xp.sign(_array(x)))


def round(x, decimals=0):  # noqa: A001 - Keras' name
    """x rounded to ``decimals`` (halves to even, as NumPy and Keras do)."""
    return _constant(xp.round(_array(x), decimals))


def floor(x):
    """The largest whole number <= x, in x's dtype."""
    return _constant(xp.floor(_array(x)))


def ceil(x):
    """The smallest whole number >= x, in x's dtype."""
    return _constant(xp.ceil(_array(x)))


# --- facts and conversions -------------------------------------------------------------------
def shape(x):
    """x's shape as a tuple of ints."""
    return tuple(_array(x).shape)


def convert_to_tensor(x, dtype=None):
    """x as a Tensor: a Tensor as it is (cast, keeping its graph, when ``dtype`` differs);
    other float data becomes ``floatx()`` unless ``dtype`` says otherwise."""
    if isinstance(x, Tensor):
        return x if dtype is None or xp.dtype(dtype) == x.dtype else cast(x, dtype)
    return Tensor(x, dtype=dtype)


def convert_to_numpy(x):
    """x as a NumPy array (a Tensor's own array, not a copy)."""
    return _array(x)


def stop_gradient(variable):
    """The same values, cut from the graph: no gradient flows back through it."""
    if isinstance(variable, Tensor):
        return variable.detach()
    return Tensor(variable)
