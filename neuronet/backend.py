"""The one place where neuronet creates arrays and chooses float types.

Everything that allocates goes through ``xp`` (NumPy today), so a second array
backend (CuPy) can later be swapped in here without touching the ops.
"""
import numbers

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


_REAL_KINDS = "biuf"  # NumPy dtype kinds: bool, signed and unsigned integers, floats
_HINTS = {"c": "neuronet has no complex numbers: pass x.real, x.imag or abs(x) (or stack "
               "them as features) explicitly",
          "O": "convert it with numpy.asarray(x, dtype='float32'); ragged or mixed data "
               "cannot be converted",
          "U": "encode text as numbers first", "S": "encode text as numbers first"}


def check_real(array, owner):
    """Raise ValueError unless ``array`` holds real numbers (bool, integer or float).

    A complex array would lose its imaginary part in the cast to ``floatx()``, and
    strings or objects would fail deep inside an op with NumPy's message instead.
    ``owner`` starts the message: ``"fit: x"``, ``"Tensor data"``.
    """
    kind = array.dtype.kind
    if kind not in _REAL_KINDS:
        hint = _HINTS.get(kind, "convert it to a numeric array first")
        raise ValueError(f"{owner} must hold real numbers (bool, integer or float), got dtype "
                         f"{array.dtype} of shape {array.shape}: {hint}")


def as_array(data, dtype=None):
    """Convert ``data`` to an array; float data takes ``dtype`` or ``floatx()``.

    Integer and boolean data keep their type unless ``dtype`` is given, so class
    labels and masks stay exact. An object array of numbers becomes floats;
    complex, text and other non-numbers raise ValueError (see ``check_real``).
    """
    array = xp.asarray(data)
    if array.dtype == object:
        array = _objects_as_floats(array)
    check_real(array, "Tensor data")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype.kind == "f":
        return array.astype(_floatx, copy=False)
    return array


def _objects_as_floats(array):
    """An object array of real numbers as floatx; anything else stays for check_real to
    refuse (NumPy would also turn the text '1.5' into 1.5, and drop imaginary parts)."""
    if all(isinstance(item, (numbers.Real, xp.bool_)) for item in array.flat):
        return array.astype(_floatx)
    return array


def is_float(array):
    return array.dtype.kind == "f"
