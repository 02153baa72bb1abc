"""``OpLayer``: a ``neuronet.ops`` function (or an operator: ``x + y``, ``x * 2``, ``-x``,
``x[:, 0]``) applied to symbolic tensors, as a node of the layer graph.

``ops.square(x)`` on an ``Input``'s tensor returns ``OpLayer("square", ...)`` called on
it. The layer keeps the call's other arguments (constants) in place: ``ops.mean(x,
axis=1)`` keeps ``axis=1``. Its config names the op, which loading looks up among
``neuronet.ops.symbolic.SYMBOLIC_OPS`` only, and the constants as JSON; a constant that
JSON cannot hold (an array) makes saving raise a ValueError that names the layer.
"""
import math

import numpy

from neuronet import backend, ops
from neuronet.layers import node as graph
from neuronet.layers.base import Layer, register, unique_name
from neuronet.ops.symbolic import SYMBOLIC_OPS
from neuronet.tensor import Tensor, no_grad


class Slot:
    """Where the i-th symbolic input goes among an op's arguments."""

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"<input {self.index}>"


def template(args, kwargs):
    """(args and kwargs with every placeholder replaced by a Slot, the placeholders)."""
    found = []

    def replace(value):
        if isinstance(value, graph.SymbolicTensor):
            found.append(value)
            return Slot(len(found) - 1)
        if isinstance(value, (list, tuple)):
            return type(value)(replace(item) for item in value)
        return value
    args = replace(tuple(args))
    kwargs = {key: replace(value) for key, value in kwargs.items()}
    return list(args), kwargs, found


def _fill(value, inputs):
    if isinstance(value, Slot):
        return inputs[value.index]
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(item, inputs) for item in value)
    return value


class OpLayer(Layer):
    """y = neuronet.ops.<op>(*args, **kwargs), the inputs at their slots in the arguments.

    Args:
        op: the op's name, one of ``neuronet.ops.symbolic.SYMBOLIC_OPS``.
        args, kwargs: the call's arguments, a ``Slot(i)`` where the i-th input goes.
        name, dtype: as for any Layer (the name defaults to the op's).
    """

    # An op reads no mask and its output carries none, as Keras' ops: a masked input's
    # mask ends here without the warning of a layer that should have passed it on.
    supports_masking = True

    def __init__(self, op, args=(), kwargs=None, name=None, dtype=None, **kw):
        if op not in SYMBOLIC_OPS:
            raise ValueError(f"OpLayer: {op!r} is not an op a layer graph can record; known: "
                             f"{sorted(SYMBOLIC_OPS)}")
        super().__init__(name=name or unique_name(op), dtype=dtype, **kw)
        self.op, self.args, self.kwargs = op, list(args), dict(kwargs or {})
        self._input_dtypes = None

    def _prepared_input(self, inputs):
        if graph.is_symbolic(inputs):
            self._input_dtypes = [tensor.dtype for tensor in inputs]
        return super()._prepared_input(inputs)

    def call(self, inputs):
        return getattr(ops, self.op)(*_fill(self.args, inputs), **_fill(self.kwargs, inputs))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        """Found by running the op on zeros, twice: with each unknown size (None) as 2,
        then as 3; an output size that differs between the two is unknown (None)."""
        first, second = (self._probe(input_shape, size) for size in (2, 3))
        shapes = [tuple(a if a == b else None for a, b in zip(one, two))
                  for one, two in zip(first, second)]
        return shapes if self._several_outputs else shapes[0]

    def _probe(self, input_shapes, size):
        """The shapes of the op's outputs on zeros, each unknown size ``size``."""
        dtypes = self._input_dtypes or [self.dtype] * len(input_shapes)
        zeros = [Tensor(numpy.zeros([size if n is None else n for n in shape],
                                    dtype=dtype)) for shape, dtype in zip(input_shapes, dtypes)]
        try:
            with no_grad(), numpy.errstate(all="ignore"):
                output = self.call(zeros)
        except (ValueError, TypeError, IndexError) as error:
            shapes = " and ".join(str(tuple(shape)) for shape in input_shapes)
            raise ValueError(f"{self.describe()} (ops.{self.op}) cannot take inputs of shapes "
                             f"{shapes}: {error}") from None
        self._several_outputs = isinstance(output, (list, tuple))
        return [tuple(tensor.shape) for tensor in graph.flatten(output)]

    def get_config(self):
        try:
            return {**super().get_config(), "op": self.op, "args": _encode(self.args),
                    "kwargs": _encode(self.kwargs)}
        except TypeError as error:
            raise ValueError(f"{self.describe()} (ops.{self.op}) cannot be saved: {error}; "
                             "make the constant a Python number or list, or a layer's "
                             "weight") from None

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        args, kwargs = _decode(config.pop("args", [])), _decode(config.pop("kwargs", {}))
        return cls(config.pop("op"), args, kwargs, **config)


register(OpLayer)


def symbolic_op(name, args, kwargs):
    """``neuronet.ops.<name>(*args, **kwargs)`` on symbolic tensors: an OpLayer's output."""
    args, kwargs, inputs = template(args, kwargs)
    floats = [t.dtype for t in inputs if numpy.dtype(t.dtype).kind == "f"]
    dtype = floats[0] if floats else backend.floatx()
    return OpLayer(name, args, kwargs, dtype=dtype)(inputs)


# --- the arguments as JSON ---------------------------------------------------------------
def _encode(value):
    if isinstance(value, Slot):
        return {"__input__": value.index}
    if isinstance(value, slice):
        return {"__slice__": [_encode(value.start), _encode(value.stop), _encode(value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, (numpy.integer, numpy.floating, numpy.bool_)):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise TypeError(f"the constant {value!r} ({type(value).__name__}) is not JSON")


def _decode(value):
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__input__" in value:
        return Slot(int(value["__input__"]))
    if "__slice__" in value:
        return slice(*(_decode(item) for item in value["__slice__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__tuple__" in value:
        return tuple(_decode(item) for item in value["__tuple__"])
    return {key: _decode(item) for key, item in value.items()}
