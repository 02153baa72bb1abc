"""Sequence layers: Embedding (Gather), Masking, Conv1D and the 1-D poolings (ONNX's Conv,
MaxPool and AveragePool on (N, C, T), the channels-first layout of 3-D tensors, so a run
of them stays transposed once), the global 1-D poolings (reductions, the average over
the real steps of a mask) and TimeDistributed (Dense on the last axis; any other layer
with the steps folded into the batch)."""
import numpy
from onnx import helper

from neuronet.io.onnx.activation import activate
from neuronet.io.onnx.convolutional import kernel_operands, window_padding
from neuronet.io.onnx.core import dense, weight
from neuronet.io.onnx.graph import NHWC, Value
from neuronet.io.onnx.masks import makes_mask
from neuronet.io.onnx.table import FOLLOW, NCHW, OnnxExportError, converts
from neuronet.layers import (AveragePooling1D, Conv1D, Dense, Embedding, GlobalAveragePooling1D,
                             GlobalMaxPooling1D, Masking, MaxPooling1D, TimeDistributed)
from neuronet.layers.base import _call_accepts

KERNEL_TO_OIW = (2, 1, 0)  # Conv1D's (k, in, out) -> ONNX Conv's (out, in, k)


# --- ids and masks ---------------------------------------------------------------------
@converts(Embedding, layout=NHWC)
def embedding(graph, layer, inputs):
    """y = embeddings[ids]: Gather along the table's rows; float ids (a model's input of
    the default type) are cast to int64 first, as neuronet turns whole floats into ids."""
    ids = inputs[0]
    name = ids.name
    if ids.dtype is None or ids.dtype.kind not in "iu":
        name = graph.node("Cast", [name], f"{layer.name}/ids", to=7)  # 7: INT64
    return graph.node("Gather", [weight(graph, layer, "embeddings"), name], layer.name, axis=0)


@makes_mask(Embedding)
def embedding_mask(graph, layer, inputs):
    """ids != 0 with ``mask_zero``."""
    if not layer.mask_zero:
        return None
    ids = inputs[0]
    zero = graph.constant(numpy.zeros((), ids.dtype or graph.dtype), f"{layer.name}/zero")
    return graph.node("Not", [graph.node("Equal", [ids.name, zero], f"{layer.name}/padding")],
                      f"{layer.name}/mask")


def _real_steps(graph, layer, x):
    """Float (batch, steps, 1): 1 where some feature differs from ``mask_value`` (made
    once for the layer's output and its mask)."""
    key = ("real_steps", x.name, layer.mask_value)
    if key not in graph.memo:
        graph.memo[key] = _find_real_steps(graph, layer, x)
    return graph.memo[key]


def _find_real_steps(graph, layer, x):
    value = graph.scalar(layer.mask_value, f"{layer.name}/mask_value")
    differs = graph.node("Not", [graph.node("Equal", [x.name, value], f"{layer.name}/equal")],
                         f"{layer.name}/differs")
    differs = graph.node("Cast", [differs], f"{layer.name}/differs",
                         to=_tensor_type(graph.dtype))
    return graph.reduce("ReduceMax", differs, [x.rank - 1], True, f"{layer.name}/real")


def _tensor_type(dtype):
    return helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))


@converts(Masking, layout=NHWC)
def masking(graph, layer, inputs):
    """y = x * any_c(x != mask_value): the padded steps zeroed."""
    x = inputs[0]
    return graph.node("Mul", [x.name, _real_steps(graph, layer, x)], layer.name)


@makes_mask(Masking)
def masking_mask(graph, layer, inputs):
    x = inputs[0]
    real = graph.node("Squeeze", [_real_steps(graph, layer, x),
                                  graph.int64s([x.rank - 1], f"{layer.name}/last")],
                      f"{layer.name}/real")
    return graph.node("Cast", [real], f"{layer.name}/mask", to=9)  # 9: BOOL


# --- convolution and poolings ------------------------------------------------------------
@converts(Conv1D, layout=NCHW)
def conv1d(graph, layer, inputs):
    x = inputs[0]
    operands = kernel_operands(graph, layer, x, KERNEL_TO_OIW)
    y = graph.node("Conv", operands, layer.name, kernel_shape=list(layer.kernel_size),
                   strides=list(layer.strides), dilations=list(layer.dilation_rate),
                   **window_padding(layer.padding, x.shape[1:2], layer.kernel_size,
                                    layer.strides, layer.dilation_rate))
    return activate(graph, layer, layer.activation, y, x)


@converts(MaxPooling1D, AveragePooling1D, layout=NCHW)
def pooling1d(graph, layer, inputs):
    """As the 2-D poolings: the average over the real (unpadded) steps only."""
    x = inputs[0]
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
                  **window_padding(layer.padding, x.shape[1:2], layer.pool_size, layer.strides)}
    if isinstance(layer, AveragePooling1D):
        return graph.node("AveragePool", [x.name], layer.name, count_include_pad=0,
                          **attributes)
    return graph.node("MaxPool", [x.name], layer.name, **attributes)


@converts(GlobalMaxPooling1D, layout=FOLLOW)
def global_max_pooling1d(graph, layer, inputs):
    x = inputs[0]
    return graph.reduce("ReduceMax", x.name, [x.axis(1)], layer.keepdims, layer.name)


@converts(GlobalAveragePooling1D, layout=FOLLOW, masks=True)
def global_average_pooling1d(graph, layer, inputs):
    """The mean over the steps; with a mask m, sum_t m x / max(sum_t m, 1) (a sequence
    with no real step gives 0, as the layer)."""
    x = inputs[0]
    axis, name = x.axis(1), layer.name
    if x.mask is None:
        return graph.reduce("ReduceMean", x.name, [axis], layer.keepdims, name)
    keep = graph.node("Cast", [x.mask], f"{name}/keep", to=_tensor_type(graph.dtype))
    # (batch, steps) -> (batch, steps, 1) or (batch, 1, steps): beside x's step axis
    keep = graph.node("Unsqueeze", [keep, graph.int64s([3 - axis], f"{name}/channel")],
                      f"{name}/keep")
    total = graph.reduce("ReduceSum", graph.node("Mul", [x.name, keep], f"{name}/kept"),
                         [axis], layer.keepdims, f"{name}/total")
    count = graph.reduce("ReduceSum", keep, [axis], layer.keepdims, f"{name}/count")
    count = graph.node("Max", [count, graph.scalar(1, f"{name}/one")], f"{name}/count")
    return graph.node("Div", [total, count], name)


# --- TimeDistributed ---------------------------------------------------------------------
@converts(TimeDistributed, layout=None, masks=True)
def time_distributed(graph, layer, inputs):
    """Dense: its MatMul on the last axis of (batch, steps, ..., features) directly;
    another layer: (batch, steps, *step) folded to (batch * steps, *step), the layer
    converted on that, unfolded to (batch, steps, *its step output). The mask passes on."""
    from neuronet.io.onnx.export import convert

    x = inputs[0]
    inner, name = layer.layer, layer.name
    if x.mask is not None and _call_accepts(type(inner), "mask"):
        raise OnnxExportError(f"ONNX export: {layer.describe()} passes a mask to "
                              f"{inner.describe()}, which has no converter for it; export "
                              "without the mask")
    output_shape = layer.compute_output_shape(x.shape)
    source = graph.in_layout(x, NHWC)
    if type(inner) is Dense:
        return [Value(dense(graph, inner, [Value(source, x.shape)]), output_shape,
                      mask=x.mask)]
    step = x.shape[2:]
    if None in step:
        raise OnnxExportError(f"ONNX export: {layer.describe()} needs every size of a step "
                              f"known to fold the steps into the batch, got input shape "
                              f"{x.shape}")
    folded = graph.node("Reshape", [source, graph.int64s([-1, *step], f"{name}/fold")],
                        f"{name}/folded")
    step_in = (None,) + tuple(step)
    result = convert(graph, inner, [Value(folded, step_in)],
                     [inner.compute_output_shape(step_in)])[0]
    leading = graph.node("Slice", [graph.node("Shape", [source], f"{name}/shape"),
                                   graph.int64s([0], f"{name}/zero"),
                                   graph.int64s([2], f"{name}/two")], f"{name}/leading")
    shape = graph.node("Concat", [leading, graph.int64s(list(output_shape[2:]),
                                                        f"{name}/step_shape")],
                       f"{name}/unfolded_shape", axis=0)
    y = graph.node("Reshape", [graph.in_layout(result, NHWC), shape], name)
    return [Value(y, output_shape, mask=x.mask)]
