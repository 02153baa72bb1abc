"""Activations: the functions of ``neuronet.activations`` by name, and the activation
layers. ``activate`` is what Dense and Conv2D call for their ``activation=``."""
from neuronet import activations
from neuronet.io.onnx.table import FOLLOW, OnnxExportError, converts
from neuronet.layers import Activation, LeakyReLU, ReLU, Softmax
from neuronet.ops import activation as activation_ops


def _op(op_type, **attributes):
    return lambda graph, x, axis, hint: graph.node(op_type, [x], hint, **attributes)


def _along(op_type):
    """Softmax and LogSoftmax along one axis (opset 13's single-axis semantics)."""
    return lambda graph, x, axis, hint: graph.node(op_type, [x], hint, axis=axis)


# name -> function(graph, x_name, axis of neuronet's last axis, hint) -> output name
ACTIVATIONS = {
    "linear": lambda graph, x, axis, hint: x,
    "sigmoid": _op("Sigmoid"),
    "tanh": _op("Tanh"),
    "relu": _op("Relu"),
    # the function's own default slope (the LeakyReLU layer passes its own)
    "leaky_relu": _op("LeakyRelu", alpha=float(
        activation_ops.leaky_relu.__defaults__[0])),
    "elu": _op("Elu", alpha=float(activation_ops.elu.__defaults__[0])),
    "softplus": _op("Softplus"),
    "softmax": _along("Softmax"),
    "log_softmax": _along("LogSoftmax"),
}


def activate(graph, layer, function, x, value):
    """``function`` (a layer's activation) applied to ``x``, a tensor laid out as
    ``value``: its last neuronet axis is where softmax runs."""
    try:
        name = activations.serialize(function)
    except ValueError:
        name = getattr(function, "__name__", repr(function))
    if name not in ACTIVATIONS:
        raise OnnxExportError(f"ONNX export: {layer.describe()} has activation {name!r}, "
                              f"which has no ONNX converter; activations that export: "
                              f"{', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name](graph, x, value.axis(-1), f"{layer.name}/{name}")


@converts(Activation, layout=FOLLOW)
def activation_layer(graph, layer, inputs):
    return activate(graph, layer, layer.activation, inputs[0].name, inputs[0])


@converts(ReLU, layout=FOLLOW)
def relu(graph, layer, inputs):
    return graph.node("Relu", [inputs[0].name], layer.name)


@converts(LeakyReLU, layout=FOLLOW)
def leaky_relu(graph, layer, inputs):
    return graph.node("LeakyRelu", [inputs[0].name], layer.name, alpha=layer.negative_slope)


@converts(Softmax, layout=FOLLOW)
def softmax(graph, layer, inputs):
    if not isinstance(layer.axis, int):
        raise OnnxExportError(f"ONNX export: {layer.describe()} has axis {layer.axis!r}; "
                              "only a single int axis exports")
    x = inputs[0]
    return graph.node("Softmax", [x.name], layer.name, axis=x.axis(layer.axis))
