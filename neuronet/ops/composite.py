"""``keras.ops`` names built from the differentiable primitives: no backward of their own.

Each is a few lines over ``reshape``, ``transpose``, ``getitem``, the elementwise ops
and the reductions, so its gradient is theirs, already checked; the tests check
these once more against finite differences and PyTorch.
"""
import math

from neuronet.backend import xp
from neuronet.ops._utils import as_tensor
from neuronet.ops.activation import sigmoid, tanh
from neuronet.ops.elementwise import abs, add, exp, log, mul, power, sqrt, sub
from neuronet.ops.reduce import max, mean, min, sum
from neuronet.ops.shape import getitem, reshape, transpose
from neuronet.tensor import Tensor


def _shape_of(op, numpy_function, shape, *args):
    """The shape ``numpy_function`` gives an array of ``shape`` (no data is allocated),
    or a ValueError naming ``op`` and the shape."""
    try:
        return numpy_function(xp.broadcast_to(xp.empty((), dtype=bool), shape), *args).shape
    except (ValueError, TypeError) as error:  # numpy.exceptions.AxisError is a ValueError
        raise ValueError(f"{op}: {error} (input shape {tuple(shape)}, "
                         f"arguments {args})") from error


# --- elementwise ---------------------------------------------------------------------------
def square(x):
    """y = x^2;  dy/dx = 2x."""
    x = as_tensor(x)
    return mul(x, x)


def silu(x):
    """y = x * sigmoid(x) (also called swish);  dy/dx = s + x s (1 - s), s = sigmoid(x)."""
    x = as_tensor(x)
    return mul(x, sigmoid(x))


def gelu(x, approximate=True):
    """y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): Keras' default tanh form.

    ``approximate=False`` (the exact x Phi(x), which needs erf) is not covered.
    """
    if not approximate:
        raise ValueError("gelu: only approximate=True (the tanh form, Keras' default) is "
                         "available; the exact form needs erf, which neuronet lacks")
    x = as_tensor(x)
    inner = mul(add(x, mul(power(x, 3.0), 0.044715)), math.sqrt(2 / math.pi))
    return mul(mul(x, 0.5), add(tanh(inner), 1.0))


# --- moving axes ---------------------------------------------------------------------------
def expand_dims(x, axis):
    """x with a new axis of length 1 at ``axis`` (an int or a tuple of them)."""
    x = as_tensor(x)
    return reshape(x, _shape_of("expand_dims", xp.expand_dims, x.shape, axis))


def squeeze(x, axis=None):
    """x without its axes of length 1 (only those in ``axis`` when given)."""
    x = as_tensor(x)
    return reshape(x, _shape_of("squeeze", xp.squeeze, x.shape, axis))


def ravel(x):
    """x as one axis, in row-major order."""
    return reshape(as_tensor(x), (-1,))


def moveaxis(x, source, destination):
    """x with axes ``source`` moved to positions ``destination`` (ints or tuples)."""
    x = as_tensor(x)
    order = _shape_of("moveaxis", xp.moveaxis, tuple(range(1, x.ndim + 1)), source, destination)
    return transpose(x, [n - 1 for n in order])


def swapaxes(x, axis1, axis2):
    """x with axes ``axis1`` and ``axis2`` exchanged."""
    x = as_tensor(x)
    order = list(range(x.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, order)


def broadcast_to(x, shape):
    """x stretched to ``shape`` by NumPy's broadcasting; the gradient sums back."""
    x = as_tensor(x)
    shape = tuple(shape)
    try:
        fits = xp.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}")
    return add(x, xp.zeros(shape, dtype=x.dtype))


# --- picking elements ------------------------------------------------------------------------
def take(x, indices, axis=None):
    """x's elements at ``indices`` along ``axis`` (of the flattened x if None); an index
    may repeat, and its gradients add up."""
    x = as_tensor(x)
    indices = indices.data if isinstance(indices, Tensor) else xp.asarray(indices)
    if axis is None:
        return getitem(ravel(x), indices)
    axis = _checked_axis("take", axis, x.shape)
    return getitem(x, (slice(None),) * axis + (indices,))


def repeat(x, repeats, axis=None):
    """Each element of x ``repeats`` times along ``axis`` (an int, or one count per
    element), flattening x first if ``axis`` is None: NumPy's ``repeat``."""
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _checked_axis("repeat", axis, x.shape)
    return take(x, xp.repeat(xp.arange(x.shape[axis]), repeats), axis=axis)


def tile(x, repeats):
    """x repeated ``repeats[i]`` times along axis i: NumPy's ``tile`` (leading axes of
    length 1 are added when ``repeats`` is longer than x's shape)."""
    x = as_tensor(x)
    repeats = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    ndim = len(repeats) if len(repeats) > x.ndim else x.ndim
    x = reshape(x, (1,) * (ndim - x.ndim) + x.shape)
    repeats = (1,) * (ndim - len(repeats)) + repeats
    for axis, count in enumerate(repeats):
        if count != 1:
            x = take(x, xp.tile(xp.arange(x.shape[axis]), count), axis=axis)
    return x


def split(x, indices_or_sections, axis=0):
    """x cut along ``axis`` into ``indices_or_sections`` equal parts (an int) or at the
    given indices (a list): NumPy's ``split``. Returns a list of Tensors."""
    x = as_tensor(x)
    axis = _checked_axis("split", axis, x.shape)
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or length % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {length} (shape {x.shape}) "
                             f"cannot be cut into {indices_or_sections} equal parts")
        step = length // indices_or_sections
        bounds = list(range(step, length, step))
    else:
        bounds = [int(i) for i in indices_or_sections]
    edges = [0] + bounds + [length]
    head = (slice(None),) * axis
    return [getitem(x, head + (slice(start, stop),)) for start, stop in zip(edges, edges[1:])]


def _checked_axis(op, axis, shape):
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{op}: axis {axis} is out of range for an input of shape {shape}")
    return axis % len(shape)


# --- statistics ---------------------------------------------------------------------------------
def var(x, axis=None, keepdims=False):
    """The population variance mean((x - mean(x))^2) over ``axis`` (no Bessel correction,
    as in Keras; ``torch.var(correction=0)``)."""
    x = as_tensor(x)
    centred = sub(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centred), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """sqrt(var(x)) over ``axis`` (population form, as in Keras)."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """y = m + ln sum e^(x - m), m = max(x) (a constant: the result does not depend on it);
    dy/dx = softmax(x) along ``axis``."""
    x = as_tensor(x)
    shift = xp.max(x.data, axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)  # all -inf: ln(0) = -inf, not nan
    total = sum(exp(sub(x, shift)), axis=axis, keepdims=True)
    y = add(log(total), shift)
    return y if keepdims else squeeze(y, axis)  # axis None: every axis has length 1


# --- norms --------------------------------------------------------------------------------------
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras' name
    """Vector or matrix norms, as ``keras.ops.norm`` (NumPy's ``linalg.norm``).

    - ``axis`` None and ``ord`` None: sqrt(sum x^2) over every element;
    - ``axis`` an int (or x 1-D): the vector norm (sum |x|^p)^(1/p) for ``ord`` = p
      (None means 2), max |x| for ``inf``, min |x| for ``-inf``;
    - ``axis`` two ints (or x 2-D): 'fro' (or None) sqrt(sum x^2), 1 the largest column
      sum of |x|, ``inf`` the largest row sum.

    The 2-norm's gradient at x = 0 is nan (0/0), where PyTorch picks 0. Spectral and
    nuclear norms (ord 2, -2, 'nuc' on matrices) need an SVD and are not covered.
    """
    x = as_tensor(x)
    if axis is None and ord is None:
        axes = tuple(range(x.ndim))
        return sqrt(sum(square(x), axis=axes, keepdims=keepdims))
    if axis is None:
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} without axis needs a 1-D or 2-D input, "
                             f"got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(_checked_axis("norm", a, x.shape) for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis must be one or two axes, got {axis!r}")


def _vector_norm(x, ord, axis, keepdims):  # noqa: A002
    if ord is None or ord == 2:
        return sqrt(sum(square(x), axis=axis, keepdims=keepdims))
    if ord == math.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, (int, float)) and ord > 0:
        total = sum(power(abs(x), float(ord)), axis=axis, keepdims=keepdims)
        return power(total, 1.0 / ord)
    raise ValueError(f"norm: vector ord must be a positive number, inf or -inf, got {ord!r}")


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    rows, columns = axes
    if ord is None or ord == "fro":
        y = sqrt(sum(square(x), axis=axes, keepdims=True))
    elif ord in (1, math.inf):
        summed, largest = (rows, columns) if ord == 1 else (columns, rows)
        y = max(sum(abs(x), axis=summed, keepdims=True), axis=largest, keepdims=True)
    else:
        raise ValueError(f"norm: matrix ord must be None, 'fro', 1 or inf, got {ord!r} "
                         "(2, -2 and 'nuc' need an SVD)")
    return y if keepdims else squeeze(y, axes)

