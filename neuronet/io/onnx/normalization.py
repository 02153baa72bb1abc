"""BatchNormalization (inference: the moving statistics) and LayerNormalization."""
import numpy

from neuronet.io.onnx.table import FOLLOW, NHWC, converts
from neuronet.layers import BatchNormalization, LayerNormalization


def _scale_and_offset(layer, size, dtype):
    gamma = layer.gamma.data if layer.gamma is not None else numpy.ones(size, dtype)
    beta = layer.beta.data if layer.beta is not None else numpy.zeros(size, dtype)
    return gamma, beta


@converts(BatchNormalization, layout=FOLLOW)
def batch_normalization(graph, layer, inputs):
    """y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta: ONNX's
    BatchNormalization where the features are axis 1 (NCHW images, (N, C)), else the
    same formula in four broadcasting nodes."""
    x = inputs[0]
    mean, variance = layer.moving_mean.data, layer.moving_variance.data
    gamma, beta = _scale_and_offset(layer, mean.shape, graph.dtype)
    name = layer.name
    if x.axis(layer.axis) == 1:
        operands = [graph.constant(array, f"{name}/{label}") for array, label in
                    [(gamma, "gamma"), (beta, "beta"), (mean, "moving_mean"),
                     (variance, "moving_variance")]]
        return graph.node("BatchNormalization", [x.name, *operands], name,
                          epsilon=layer.epsilon)
    inv_std = 1 / numpy.sqrt(variance.astype(graph.dtype) + graph.dtype.type(layer.epsilon))
    y = graph.node("Sub", [x.name, graph.constant(x.along(layer.axis, mean),
                                                  f"{name}/moving_mean")], name)
    y = graph.node("Mul", [y, graph.constant(x.along(layer.axis, inv_std), f"{name}/inv_std")],
                   name)
    y = graph.node("Mul", [y, graph.constant(x.along(layer.axis, gamma), f"{name}/gamma")], name)
    return graph.node("Add", [y, graph.constant(x.along(layer.axis, beta), f"{name}/beta")], name)


@converts(LayerNormalization, layout=NHWC)
def layer_normalization(graph, layer, inputs):
    """ONNX's LayerNormalization (opset 17) when the axes are the trailing ones, else
    mean and variance by reductions:
    y = gamma * (x - mean) / sqrt(var + epsilon) + beta over ``axes``."""
    x = inputs[0]
    axes = layer._axes(x.rank)
    sizes = tuple(x.shape[a] for a in axes)
    gamma, beta = _scale_and_offset(layer, sizes, graph.dtype)
    name = layer.name
    if axes == list(range(axes[0], x.rank)):
        return graph.node("LayerNormalization",
                          [x.name, graph.constant(gamma, f"{name}/gamma"),
                           graph.constant(beta, f"{name}/beta")], name,
                          axis=axes[0], epsilon=layer.epsilon)
    broadcast = [x.shape[a] if a in axes else 1 for a in range(x.rank)]
    mean = graph.reduce("ReduceMean", x.name, axes, True, f"{name}/mean")
    centred = graph.node("Sub", [x.name, mean], f"{name}/centred")
    variance = graph.reduce("ReduceMean", graph.node("Mul", [centred, centred], f"{name}/sq"),
                            axes, True, f"{name}/variance")
    std = graph.node("Sqrt", [graph.node("Add", [variance, graph.scalar(layer.epsilon,
                                                                        f"{name}/epsilon")],
                                         name)], f"{name}/std")
    y = graph.node("Div", [centred, std], name)
    y = graph.node("Mul", [y, graph.constant(gamma.reshape(broadcast), f"{name}/gamma")], name)
    return graph.node("Add", [y, graph.constant(beta.reshape(broadcast), f"{name}/beta")], name)
