"""``to_categorical``: class indices to one-hot rows, as ``keras.utils.to_categorical``."""
import numpy

from neuronet import backend
from neuronet.tensor import Tensor


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels; the class axis is added last.

    ``y[..., k] = 1 if x[...] == k else 0``. A trailing axis of length 1 is dropped
    first, as Keras does: labels of shape (N, 1) (CIFAR-10's) give (N, num_classes),
    not (N, 1, num_classes).

    Args:
        x: array-like (or Tensor) of integers in ``0 .. num_classes - 1``.
        num_classes: the number of classes; ``max(x) + 1`` if None (or 0).

    Returns:
        A NumPy array of ``floatx()`` (float32 by default, as Keras 2 gave; Keras 3
        gives float64, which neuronet's float32 losses would refuse to mix).

    Raises:
        ValueError: a label that is not an integer, or outside ``0 .. num_classes - 1``
            (Keras lets a negative label wrap around to the last classes).

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    labels = _integer_labels(x)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if not num_classes:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(f"to_categorical expects labels in 0..{num_classes - 1} "
                         f"(num_classes={num_classes}), got labels from {flat.min()} "
                         f"to {flat.max()}")
    categorical = numpy.zeros((flat.size, num_classes), dtype=backend.floatx())
    categorical[numpy.arange(flat.size), flat] = 1
    return categorical.reshape(shape + (num_classes,))


def _integer_labels(x):
    """``x`` as an int64 array; floats are accepted only when they hold whole numbers."""
    array = numpy.asarray(x.data if isinstance(x, Tensor) else x)
    if array.dtype.kind == "f" and numpy.all(numpy.isfinite(array)) \
            and numpy.all(array == numpy.round(array)):
        return array.astype(numpy.int64)
    if array.dtype.kind not in "biu":
        raise ValueError(f"to_categorical expects integer class labels, got an array of "
                         f"{array.dtype} and shape {array.shape}")
    return array.astype(numpy.int64)
