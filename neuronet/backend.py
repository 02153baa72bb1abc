"""The one place where neuronet creates arrays and chooses float types.

Everything that allocates goes through ``xp`` (NumPy today), so a second array
backend (CuPy) can later be swapped in here without touching the ops.
"""
import numpy

xp = numpy

_FLOAT_TYPES = {"float32": numpy.float32, "float64": numpy.float64}
_floatx = "float32"


def floatx():
    """The default float type name of layers and new tensors ('float32' unless changed)."""
    return _floatx


def set_floatx(name):
    """Set the default float type: 'float32' (default) or 'float64' (for gradient checks)."""
    global _floatx
    if name not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx expects one of {sorted(_FLOAT_TYPES)}, got {name!r}")
    _floatx = name


def resolve_dtype(dtype):
    """A NumPy dtype from a name, a NumPy type or None (None means ``floatx()``)."""
    if dtype is None:
        return xp.dtype(_floatx)
    return xp.dtype(dtype)


def as_array(data, dtype=None):
    """Convert ``data`` to an array; float data takes ``dtype`` or ``floatx()``.

    Integer and boolean data keep their type unless ``dtype`` is given, so class
    labels and masks stay exact.
    """
    array = xp.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype.kind in "fc" or array.dtype == object:
        return array.astype(_floatx, copy=False)
    return array


def is_float(array):
    return array.dtype.kind == "f"
