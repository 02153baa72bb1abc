"""Layers that resize images: UpSampling2D (Resize), ZeroPadding2D (Pad), Cropping2D
(Slice)."""
import numpy

from neuronet.io.onnx.graph import INT64_MAX
from neuronet.io.onnx.table import FOLLOW, NCHW, converts
from neuronet.layers import Cropping2D, UpSampling2D, ZeroPadding2D

# 'nearest': y[i] = x[floor(i / f)]; 'bilinear': half-pixel centres (TensorFlow's resize)
RESIZE_MODES = {"nearest": {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                            "nearest_mode": "floor"},
                "bilinear": {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}}


@converts(UpSampling2D, layout=NCHW)
def upsampling(graph, layer, inputs):
    scales = graph.constant(numpy.array([1, 1, *layer.size], dtype=numpy.float32),
                            f"{layer.name}/scales", dtype=numpy.float32)
    return graph.node("Resize", [inputs[0].name, "", scales], layer.name,
                      **RESIZE_MODES[layer.interpolation])


@converts(ZeroPadding2D, layout=FOLLOW)
def zero_padding(graph, layer, inputs):
    x = inputs[0]
    pads = [0] * 8  # ONNX: every axis' start, then every axis' end
    for axis, (before, after) in zip((1, 2), layer.padding):
        pads[x.axis(axis)], pads[4 + x.axis(axis)] = before, after
    return graph.node("Pad", [x.name, graph.int64s(pads, f"{layer.name}/pads")], layer.name,
                      mode="constant")


@converts(Cropping2D, layout=FOLLOW)
def cropping(graph, layer, inputs):
    x = inputs[0]
    (top, bottom), (left, right) = layer.cropping
    starts = graph.int64s([top, left], f"{layer.name}/starts")
    ends = graph.int64s([-bottom or INT64_MAX, -right or INT64_MAX], f"{layer.name}/ends")
    axes = graph.int64s([x.axis(1), x.axis(2)], f"{layer.name}/axes")
    return graph.node("Slice", [x.name, starts, ends, axes], layer.name)
