"""Targets and labels (``y_true``) as losses, metrics and ``fit`` read them: one set of rules.

Array-level functions; a loss wraps what they return as a Tensor. ``owner`` is the
name that errors start with: the loss, the metric or the method ('fit', ...).

- Targets must be real numbers: booleans, integers or floats. Strings, objects and
  complex numbers are refused with one clear error (NumPy would otherwise fail deep
  inside, or drop an imaginary part silently).
- A target meets y_pred's shape as in Keras: a trailing axis of length 1 on either
  side is added or dropped; any other difference is an error (no silent broadcasting).
- Class indices have y_pred's shape without its class axis (a trailing axis of 1 is
  dropped); floats are accepted when their values are integral.
"""
from neuronet.backend import xp

NUMBER_KINDS = "biuf"  # NumPy dtype kinds: booleans, signed and unsigned integers, floats
NUMBERS = "real numbers (booleans, integers or floats)"
CLASS_INDICES = "integer class indices (integers, or floats with integral values)"


def as_array(value):
    """The array behind a Tensor, a list or an array."""
    return xp.asarray(getattr(value, "data", value))


def checked(owner, y_true, expected=NUMBERS, what="y_true"):
    """``y_true`` as an array of numbers, or a ValueError naming ``owner``, ``expected`` and
    the dtype got."""
    array = as_array(y_true)
    if array.dtype.kind not in NUMBER_KINDS:
        raise ValueError(f"{owner}: {what} must hold {expected}, got dtype {array.dtype}")
    return array


def aligned_shape(owner, shape, pred_shape):
    """The shape a target of ``shape`` takes to meet y_pred of ``pred_shape``: pred_shape
    itself, when the two agree up to one trailing axis of length 1; else a ValueError."""
    shape, pred_shape = tuple(shape), tuple(pred_shape)
    one_short = shape + (1,) == pred_shape
    one_long = shape == pred_shape + (1,)
    if shape != pred_shape and not one_short and not one_long:
        raise ValueError(f"{owner}: y_true shape {shape} does not match y_pred shape "
                         f"{pred_shape}")
    return pred_shape


def float_target(owner, y_true, pred_shape, dtype):
    """``y_true`` as an array of ``dtype`` and shape ``pred_shape`` (``aligned_shape``'s rule)."""
    array = checked(owner, y_true)
    return array.astype(dtype, copy=False).reshape(aligned_shape(owner, array.shape, pred_shape))


def same_size(owner, y_true, pred_shape):
    """``y_true`` reshaped to ``pred_shape``; any shape with as many values will do (the
    metrics' rule for binary and regression targets)."""
    array = checked(owner, y_true)
    if array.size != int(xp.prod(pred_shape)):
        raise ValueError(f"{owner}: y_true must hold one target per value of y_pred, got shape "
                         f"{array.shape} for y_pred of shape {tuple(pred_shape)}")
    return array.reshape(pred_shape)


def class_indices(owner, y_true, pred_shape):
    """``y_true`` as integer class indices of shape ``pred_shape[:-1]``: a trailing axis of 1
    is dropped, integral floats (and booleans) become int64, other floats are an error."""
    labels = checked(owner, y_true, CLASS_INDICES)
    expected = tuple(pred_shape[:-1])
    if labels.shape != expected and labels.shape != expected + (1,):
        raise ValueError(f"{owner}: y_true must hold integer labels of shape {expected} (or "
                         f"with a trailing 1) for y_pred of shape {tuple(pred_shape)}, got "
                         f"shape {labels.shape}")
    labels = labels.reshape(expected)
    if labels.dtype.kind not in "iu":
        if not xp.all(labels == xp.round(labels)):
            raise ValueError(f"{owner}: y_true must hold integer class indices, got "
                             f"non-integral values of dtype {labels.dtype}")
        labels = labels.astype(xp.int64)
    return labels


def check_class_range(owner, labels, classes):
    """A ValueError naming ``owner`` unless every class index lies in [0, classes)."""
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{owner}: class indices must lie in [0, {classes}), got values from "
                         f"{labels.min()} to {labels.max()}")


def one_hot_classes(owner, y_true, pred_shape):
    """The class of each one-hot (or soft) row of ``y_true``, which has y_pred's shape: the
    argmax over the last axis."""
    array = checked(owner, y_true)
    if array.shape != tuple(pred_shape):
        raise ValueError(f"{owner}: y_true must hold one-hot rows of y_pred's shape "
                         f"{tuple(pred_shape)}, got shape {array.shape}")
    return xp.argmax(array, axis=-1)


def sample_classes(y):
    """A class per sample, for looking at a data set: the argmax of one-hot rows, else the
    targets themselves, flattened."""
    y = as_array(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        return xp.argmax(y, axis=-1)
    return y.reshape(-1)
