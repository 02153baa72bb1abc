"""Merge layers: one output from a list of inputs (Keras' ``Add``, ``Concatenate``, ...),
and their functions (``add([a, b])`` = ``Add()([a, b])``).

Elementwise merges take inputs of one rank whose sizes agree axis by axis, where a size
1 broadcasts (Keras' rule); the batch sizes must be equal. Inputs of different ranks
are refused (Keras would align them by the batch axis; NumPy by the last: refusing is
what keeps the two readings from giving different answers).
"""
import functools

from neuronet import ops
from neuronet.backend import xp
from neuronet.layers.base import Layer, register


class Merge(Layer):
    """A layer of no weights on a list of inputs: ``call(list_of_tensors)``.

    Subclasses write ``merge(tensors)``, and ``merged_shape(shapes)`` when the output
    shape is not the elementwise broadcast.
    """

    min_inputs, max_inputs = 1, None

    # Masks (neuronet.layers.masks), as Keras: a step is real in the output when it is
    # real in every input that has a mask.
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        given = [m for m in mask or [] if m is not None]
        return functools.reduce(xp.logical_and, given) if given else None

    def _prepared_input(self, inputs):
        """The inputs as Tensors of the layer's dtype, their shapes checked (every call:
        a layer with no weights fits inputs of any shapes that merge)."""
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{self.describe()} expects a list of inputs, got "
                            f"{type(inputs).__name__}")
        self._check_count(len(inputs))
        tensors = [self._to_input_tensor(x) for x in inputs]
        shapes = [tuple(t.shape) for t in tensors]
        self.compute_output_shape(shapes)  # raises for shapes that do not merge
        if not self.built:
            self.build(shapes)
        return list(tensors)

    def _check_count(self, count):
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            expected = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                        else f"at least {self.min_inputs}")
            raise ValueError(f"{self.describe()} expects {expected} inputs, got {count}")

    def build(self, input_shape):
        """Nothing to make: records the inputs' shapes (batch None)."""
        self.input_shape = [(None,) + tuple(shape[1:]) for shape in input_shape]
        self.built = True

    def call(self, inputs, training=False):
        return self.merge(inputs)

    def merge(self, tensors):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        shapes = [tuple(shape) for shape in input_shape]
        self._check_count(len(shapes))
        return functools.reduce(self._broadcast, shapes)

    def _broadcast(self, first, second):
        """Keras' elementwise rule, axis by axis: None is unknown, 1 takes the other size."""
        if len(first) != len(second):
            raise ValueError(f"{self.describe()} expects inputs of one rank, got shapes "
                             f"{first} and {second}")
        merged = []
        for axis, (a, b) in enumerate(zip(first, second)):
            if a is None or b is None:
                merged.append(a if b is None else b)
            elif a == b or (axis > 0 and 1 in (a, b)):
                merged.append(max(a, b))
            else:
                rule = "equal batch sizes" if axis == 0 else "equal sizes, or one of them 1"
                raise ValueError(f"{self.describe()} cannot merge inputs of shapes {first} and "
                                 f"{second}: sizes {a} and {b} differ at axis {axis} "
                                 f"(it needs {rule})")
        return tuple(merged)


@register
class Add(Merge):
    """y = x_1 + x_2 + ... + x_n (elementwise, with broadcasting of size-1 axes)."""

    def merge(self, tensors):
        return functools.reduce(ops.add, tensors)


@register
class Subtract(Merge):
    """y = x_1 - x_2: exactly two inputs."""

    min_inputs = max_inputs = 2

    def merge(self, tensors):
        return ops.sub(tensors[0], tensors[1])


@register
class Multiply(Merge):
    """y = x_1 * x_2 * ... * x_n (elementwise)."""

    def merge(self, tensors):
        return functools.reduce(ops.mul, tensors)


@register
class Average(Merge):
    """y = (x_1 + ... + x_n) / n (elementwise)."""

    def merge(self, tensors):
        return functools.reduce(ops.add, tensors) / len(tensors)


@register
class Maximum(Merge):
    """y = max(x_1, ..., x_n) elementwise; a tie sends half the gradient each way."""

    def merge(self, tensors):
        return functools.reduce(ops.maximum, tensors)


@register
class Minimum(Merge):
    """y = min(x_1, ..., x_n) elementwise; a tie sends half the gradient each way."""

    def merge(self, tensors):
        return functools.reduce(ops.minimum, tensors)


@register
class Concatenate(Merge):
    """Joins the inputs along ``axis`` (the channels by default); every other size must
    match.

    Shape:
        [(batch, ..., n_1), ..., (batch, ..., n_k)] -> (batch, ..., n_1 + ... + n_k)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{self.describe()} expects an int axis, got {axis!r}")
        self.axis = axis

    def merge(self, tensors):
        return ops.concatenate(tensors, axis=self._axis(tensors[0].ndim))

    def _axis(self, ndim):
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"{self.describe()}: axis {self.axis} is out of range for inputs "
                             f"of rank {ndim}")
        return self.axis % ndim

    def compute_output_shape(self, input_shape):
        shapes = [tuple(shape) for shape in input_shape]
        self._check_count(len(shapes))
        axis = self._axis(len(shapes[0]))
        merged = list(shapes[0])
        for shape in shapes[1:]:
            others_match = len(shape) == len(merged) and all(
                a is None or b is None or a == b
                for i, (a, b) in enumerate(zip(merged, shape)) if i != axis)
            if not others_match:
                raise ValueError(f"{self.describe()} expects inputs whose shapes match except "
                                 f"along axis {self.axis}, got shapes {shapes}")
            merged = [b if a is None else a for a, b in zip(merged, shape)]
        sizes = [shape[axis] for shape in shapes]
        merged[axis] = None if None in sizes else sum(sizes)
        return tuple(merged)

    def compute_mask(self, inputs, mask=None):
        """Joined along the steps (axis 1), the inputs' masks are joined too (all True for
        an input without one); along another axis, a step is real where it is in every
        input (Keras)."""
        if mask is None or all(m is None for m in mask):
            return None
        if self._axis(inputs[0].ndim) != 1:
            return super().compute_mask(inputs, mask)
        return xp.concatenate([xp.ones(x.shape[:2], dtype=bool) if m is None else m
                               for x, m in zip(inputs, mask)], axis=1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register
class Dot(Merge):
    """Dot products of two inputs along ``axes``, sample by sample (Keras' batch_dot).

    y[b, i..., j...] = sum_k x_1[b, i..., k] * x_2[b, k, j...], the summed axis being
    ``axes[0]`` of x_1 and ``axes[1]`` of x_2 (axes count the batch as 0; an int
    means the same axis of both). ``normalize``: each input is first divided by its
    L2 norm along that axis, x / max(||x||, 1e-12), so the product is the cosine
    similarity.

    Shape:
        (batch, n) and (batch, n) -> (batch, 1); (batch, m, d) and (batch, k, d) with
        axes=2 -> (batch, m, k): x_1's other axes, then x_2's.
    """

    min_inputs = max_inputs = 2

    def compute_mask(self, inputs, mask=None):
        return None  # a product over steps has none left to mask (Keras)

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        axes = (axes, axes) if isinstance(axes, int) else tuple(axes)
        if len(axes) != 2 or not all(isinstance(a, int) and not isinstance(a, bool)
                                     for a in axes):
            raise TypeError(f"{self.describe()} expects axes as an int or a pair of ints, "
                            f"got {axes!r}")
        self.axes, self.normalize = axes, bool(normalize)

    def _resolved_axes(self, shapes):
        axes = []
        for axis, shape in zip(self.axes, shapes):
            if len(shape) < 2:
                raise ValueError(f"{self.describe()} expects inputs of at least 2 dimensions "
                                 f"(batch, ...), got shapes {shapes[0]} and {shapes[1]}")
            if not -len(shape) <= axis < len(shape) or axis % len(shape) == 0:
                raise ValueError(f"{self.describe()}: axis {axis} is not a non-batch axis of "
                                 f"an input of shape {shape}")
            axes.append(axis % len(shape))
        return axes

    def compute_output_shape(self, input_shape):
        shapes = [tuple(shape) for shape in input_shape]
        self._check_count(len(shapes))
        (first, second), (a1, a2) = shapes, self._resolved_axes(shapes)
        if None not in (first[a1], second[a2]) and first[a1] != second[a2]:
            raise ValueError(f"{self.describe()} cannot multiply inputs of shapes {first} and "
                             f"{second}: axis {a1} of the first has size {first[a1]}, axis "
                             f"{a2} of the second {second[a2]}")
        if None not in (first[0], second[0]) and first[0] != second[0]:
            raise ValueError(f"{self.describe()} cannot merge inputs of shapes {first} and "
                             f"{second}: batch sizes {first[0]} and {second[0]} differ")
        rest = [n for i, n in enumerate(first) if i not in (0, a1)]
        rest += [n for i, n in enumerate(second) if i not in (0, a2)]
        return (first[0],) + tuple(rest or [1])

    def merge(self, tensors):
        a1, a2 = self._resolved_axes([t.shape for t in tensors])
        x1, x2 = tensors
        if self.normalize:
            x1, x2 = _l2_normalized(x1, a1), _l2_normalized(x2, a2)
        batch = x1.shape[0]
        # x_1 as (batch, rest_1, k) and x_2 as (batch, k, rest_2): one batched product.
        left = ops.transpose(x1, [i for i in range(x1.ndim) if i != a1] + [a1])
        right = ops.transpose(x2, [0, a2] + [i for i in range(1, x2.ndim) if i != a2])
        rest1, rest2 = left.shape[1:-1], right.shape[2:]
        product = ops.matmul(ops.reshape(left, (batch, -1, left.shape[-1])),
                             ops.reshape(right, (batch, right.shape[1], -1)))
        return ops.reshape(product, (batch,) + (tuple(rest1) + tuple(rest2) or (1,)))

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes), "normalize": self.normalize}


def _l2_normalized(x, axis):
    """x / max(||x||_2 along axis, 1e-12) (PyTorch's F.normalize)."""
    norm = ops.sqrt(ops.sum(x * x, axis=axis, keepdims=True))
    return x / ops.maximum(norm, 1e-12)


# --- functions: the layer made and called at once ----------------------------------------
def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """``Dot(axes, normalize, **kwargs)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
