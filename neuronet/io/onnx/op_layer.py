"""OpLayer: a ``neuronet.ops`` function in a layer graph (``ops.not_equal(x, 0)``, ``x * 2``,
the keras.ops a Keras file records), as the ONNX op or ops that compute the same.

The op's arguments are bound to its signature, the inputs at their slots (``Value``s in
neuronet's channels-last layout, so that axes mean what they mean in neuronet) and the
constants as they were given. ONNX ops take operands of one element type: each op family
says in which type it computes (``_common``), and the result is cast at the end to the
type neuronet's op gives (found by running the op on a few zeros), so an int, bool or
float result stays what it is in neuronet. An op without an ONNX form here is one
OnnxExportError naming the layer and the op.
"""
import inspect

import numpy
from onnx import helper

from neuronet import ops
from neuronet.io.onnx.graph import NHWC, Value
from neuronet.io.onnx.table import OnnxExportError, converts
from neuronet.layers import OpLayer
from neuronet.layers.node import flatten
from neuronet.layers.op_layer import Slot
from neuronet.tensor import Tensor, no_grad

BOOL = numpy.dtype(bool)
_UNARY = {"abs": "Abs", "absolute": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "tanh": "Tanh", "negative": "Neg", "sign": "Sign", "floor": "Floor", "ceil": "Ceil",
          "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus"}
_ARITHMETIC = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "maximum": "Max",
               "minimum": "Min", "matmul": "MatMul"}
_FLOAT_ARITHMETIC = {"divide": "Div", "true_divide": "Div", "power": "Pow"}
_COMPARE = {"equal": "Equal", "greater": "Greater", "greater_equal": "GreaterOrEqual",
            "less": "Less", "less_equal": "LessOrEqual"}
_LOGICAL = {"logical_and": "And", "logical_or": "Or"}
_REDUCE = {"sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin", "amax": "ReduceMax",
           "amin": "ReduceMin"}


@converts(OpLayer, layout=None)
def op_layer(graph, layer, inputs):
    """The op on ``inputs`` (as they come: brought to channels-last here); a Value of the
    op's output shape and neuronet's element type."""
    values = [Value(graph.in_layout(v, NHWC), v.shape, NHWC, dtype=v.dtype) for v in inputs]
    emit = EMITTERS.get(layer.op)
    if emit is None:
        raise OnnxExportError(f"ONNX export: {layer.describe()} (ops.{layer.op}) has no ONNX "
                              f"form; the ops that export: {', '.join(sorted(EMITTERS))}")
    bound = inspect.signature(getattr(ops, layer.op)).bind(
        *_fill(layer.args, values), **_fill(layer.kwargs, values))
    bound.apply_defaults()
    name, dtype = emit(Emit(graph, layer), *bound.arguments.values())
    wanted = _neuronet_dtype(graph, layer, inputs)
    if dtype != wanted:
        name = graph.node("Cast", [name], f"{layer.name}/cast", to=_onnx_type(wanted))
    shape = layer.compute_output_shape([v.shape for v in inputs])
    return [Value(name, shape, NHWC, dtype=None if wanted == graph.dtype else wanted)]


def _fill(value, values):
    if isinstance(value, Slot):
        return values[value.index]
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(item, values) for item in value)
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def _neuronet_dtype(graph, layer, inputs):
    """The element type of the op's output in neuronet, for inputs of ``inputs``' types."""
    zeros = [Tensor(numpy.zeros([2 if n is None else n for n in v.shape],
                                dtype=v.dtype or graph.dtype)) for v in inputs]
    with no_grad(), numpy.errstate(all="ignore"):
        output = flatten(layer.call(zeros))[0]
    return numpy.dtype(output.dtype)


def _onnx_type(dtype):
    return helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))


class Emit:
    """What an op's emitter needs: the graph, the layer (for names) and operands in a type."""

    def __init__(self, graph, layer):
        self.graph, self.layer = graph, layer

    def dtype(self, operand):
        """The element type of a Value (the graph's float when it has none of its own)."""
        return numpy.dtype(operand.dtype or self.graph.dtype)

    def common(self, operands, kind=None):
        """The type the operands meet in: numpy's promotion of the tensors' types (a float
        constant makes it float); ``kind`` 'f' forces a float, 'b' bool, 'n' a number."""
        tensors = [self.dtype(v) for v in operands if isinstance(v, Value)]
        dtype = numpy.result_type(*tensors)
        floats = any(isinstance(v, float) for v in operands)
        if kind == "b":
            return BOOL
        wants_float = (kind == "f" or floats) and dtype.kind != "f"
        if wants_float or (kind == "n" and dtype == BOOL):
            return self.graph.dtype
        return dtype

    def operand(self, value, dtype):
        """The name of ``value`` (a Value or a number) as a tensor of ``dtype``."""
        if not isinstance(value, Value):
            return self.graph.constant(numpy.asarray(value, dtype=dtype),
                                       f"{self.layer.name}/constant", dtype=dtype)
        if self.dtype(value) == dtype:
            return value.name
        return self.graph.node("Cast", [value.name], f"{self.layer.name}/operand",
                               to=_onnx_type(dtype))

    def node(self, op_type, operands, dtype, **attributes):
        names = [self.operand(v, dtype) for v in operands]
        return self.graph.node(op_type, names, self.layer.name, **attributes)


# --- the op families: each returns (output name, its element type) -------------------
def _unary(op_type):
    def emit(e, x):
        dtype = e.common([x], "f")  # ONNX's Exp, Log, Floor, ... take floats
        return e.node(op_type, [x], dtype), dtype
    return emit


def _binary(op_type, kind=None):
    def emit(e, a, b):
        dtype = e.common([a, b], kind or "n")
        return e.node(op_type, [a, b], dtype), dtype
    return emit


def _compare(op_type):
    def emit(e, a, b):
        dtype = e.common([a, b], "n" if op_type != "Equal" else None)
        return e.node(op_type, [a, b], dtype), BOOL
    return emit


def _square(e, x):
    dtype = e.common([x], "n")
    return e.node("Mul", [x, x], dtype), dtype


def _not_equal(e, a, b):
    equal, _ = _compare("Equal")(e, a, b)
    return e.graph.node("Not", [equal], e.layer.name), BOOL


def _logical_not(e, x):
    return e.node("Not", [x], BOOL), BOOL


def _axes(x, axis):
    """A reduction's axes as a list (None: every axis)."""
    if axis is None:
        return list(range(x.rank))
    return [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]


def _reduce(op_type, kind=None):
    def emit(e, x, axis=None, keepdims=False):
        dtype = e.common([x], kind or "n")
        return e.graph.reduce(op_type, e.operand(x, dtype), _axes(x, axis), keepdims,
                              e.layer.name), dtype
    return emit


def _any_or_all(op_type):
    """any = max of the flags as numbers > 0; all = their min (ONNX reduces no bools)."""
    def emit(e, x, axis=None, keepdims=False):
        dtype = e.graph.dtype
        flags = e.operand(Value(e.operand(x, BOOL), x.shape, dtype=BOOL), dtype)
        reduced = e.graph.reduce(op_type, flags, _axes(x, axis), keepdims, e.layer.name)
        return e.graph.node("Cast", [reduced], e.layer.name, to=_onnx_type(BOOL)), BOOL
    return emit


def _expand_dims(e, x, axis):
    axes = e.graph.int64s(_axes(x, axis), f"{e.layer.name}/axes")
    return e.graph.node("Unsqueeze", [x.name, axes], e.layer.name), e.dtype(x)


def _squeeze(e, x, axis=None):
    if axis is None:  # every size-1 axis, as neuronet finds them in the shape
        axis = [i for i, n in enumerate(x.shape) if n == 1]
    axes = e.graph.int64s(_axes(x, axis), f"{e.layer.name}/axes")
    return e.graph.node("Squeeze", [x.name, axes], e.layer.name), e.dtype(x)


def _reshape(e, x, new_shape):
    shape = [int(n) for n in (new_shape if isinstance(new_shape, (list, tuple))
                              else [new_shape])]
    if 0 in shape:  # ONNX's Reshape reads 0 as "copy this size"
        raise OnnxExportError(f"ONNX export: {e.layer.describe()} reshapes to {shape}, a size "
                              "0, which ONNX's Reshape reads otherwise")
    return e.graph.node("Reshape", [x.name, e.graph.int64s(shape, f"{e.layer.name}/shape")],
                        e.layer.name), e.dtype(x)


def _transpose(e, x, axes=None):
    perm = list(range(x.rank))[::-1] if axes is None else [a % x.rank for a in axes]
    return e.graph.node("Transpose", [x.name], e.layer.name, perm=perm), e.dtype(x)


def _cast(e, x, dtype):
    dtype = numpy.dtype(dtype)
    return e.graph.node("Cast", [x.name], e.layer.name, to=_onnx_type(dtype)), dtype


def _clip(e, x, low=None, high=None):
    dtype = e.common([x, *(v for v in (low, high) if v is not None)], "n")
    bounds = [e.operand(v, dtype) if v is not None else "" for v in (low, high)]
    return e.graph.node("Clip", [e.operand(x, dtype), *bounds], e.layer.name), dtype


def _softmax(op_type):
    def emit(e, x, axis=-1):
        dtype = e.common([x], "f")
        return e.node(op_type, [x], dtype, axis=int(axis)), dtype
    return emit


EMITTERS = {**{op: _unary(t) for op, t in _UNARY.items()},
            **{op: _binary(t) for op, t in _ARITHMETIC.items()},
            **{op: _binary(t, "f") for op, t in _FLOAT_ARITHMETIC.items()},
            **{op: _compare(t) for op, t in _COMPARE.items()},
            **{op: _binary(t, "b") for op, t in _LOGICAL.items()},
            **{op: _reduce(t) for op, t in _REDUCE.items()}, "mean": _reduce("ReduceMean", "f"),
            "square": _square, "not_equal": _not_equal, "logical_not": _logical_not,
            "any": _any_or_all("ReduceMax"), "all": _any_or_all("ReduceMin"),
            "expand_dims": _expand_dims, "squeeze": _squeeze, "reshape": _reshape,
            "transpose": _transpose, "cast": _cast, "clip": _clip,
            "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax")}
