"""Core layers: Dense, Flatten, Reshape, Rescaling, and the layers that are the identity
at inference (Dropout, GaussianNoise and the Random* augmentations)."""
from neuronet.io.onnx.activation import activate
from neuronet.io.onnx.table import FOLLOW, NHWC, converts
from neuronet.layers import (Dense, Dropout, Flatten, GaussianNoise, RandomFlip,
                             RandomRotation, RandomTranslation, RandomZoom, Reshape, Rescaling)


def weight(graph, layer, attribute, transform=None):
    """An initializer of ``layer``'s weight ``attribute`` (transformed first if asked)."""
    array = getattr(layer, attribute).data
    return graph.constant(array if transform is None else transform(array),
                          f"{layer.name}/{attribute}")


@converts(Dense, layout=NHWC)
def dense(graph, layer, inputs):
    """y = activation(x @ kernel + bias): MatMul (any rank, the last axis contracted)."""
    x = inputs[0]
    y = graph.node("MatMul", [x.name, weight(graph, layer, "kernel")], f"{layer.name}/matmul")
    if layer.use_bias:
        y = graph.node("Add", [y, weight(graph, layer, "bias")], f"{layer.name}/bias")
    return activate(graph, layer, layer.activation, y, x)


@converts(Flatten, layout=NHWC)
def flatten(graph, layer, inputs):
    """Channels-last order kept: the input is NHWC here, whatever ran before it."""
    return graph.node("Flatten", [inputs[0].name], layer.name, axis=1)


@converts(Reshape, layout=NHWC)
def reshape(graph, layer, inputs):
    """Reshape to (batch, *target): 0 copies the (dynamic) batch size."""
    shape = graph.int64s([0, *layer.target_shape], f"{layer.name}/shape")
    return graph.node("Reshape", [inputs[0].name, shape], layer.name)


@converts(Rescaling, layout=FOLLOW)
def rescaling(graph, layer, inputs):
    """y = x * scale + offset, the constants arranged to the input's layout."""
    x = inputs[0]
    y = graph.node("Mul", [x.name, graph.constant(x.arranged(layer.scale),
                                                  f"{layer.name}/scale")], layer.name)
    if x.arranged(layer.offset).any():
        y = graph.node("Add", [y, graph.constant(x.arranged(layer.offset),
                                                 f"{layer.name}/offset")], layer.name)
    return y


@converts(Dropout, GaussianNoise, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
          layout=FOLLOW)
def identity(graph, layer, inputs):
    """Inference mode: the input itself (no node)."""
    return inputs[0].name
