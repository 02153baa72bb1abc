"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot."""
import functools

from neuronet.io.onnx.table import FOLLOW, NHWC, converts
from neuronet.layers import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                             Subtract)

PAIRWISE = {Add: "Add", Subtract: "Sub", Multiply: "Mul", Average: "Add"}


@converts(Add, Subtract, Multiply, Average, layout=FOLLOW)
def arithmetic(graph, layer, inputs):
    """x_1 op x_2 op ... in turn (the order neuronet adds in); Average divides by n."""
    op_type = PAIRWISE[type(layer)]
    y = functools.reduce(lambda a, b: graph.node(op_type, [a, b], layer.name),
                         [x.name for x in inputs])
    if isinstance(layer, Average):
        y = graph.node("Div", [y, graph.scalar(len(inputs), f"{layer.name}/count")],
                       layer.name)
    return y


@converts(Maximum, Minimum, layout=FOLLOW)
def extremum(graph, layer, inputs):
    op_type = "Max" if isinstance(layer, Maximum) else "Min"
    return graph.node(op_type, [x.name for x in inputs], layer.name)


@converts(Concatenate, layout=FOLLOW)
def concatenate(graph, layer, inputs):
    return graph.node("Concat", [x.name for x in inputs], layer.name,
                      axis=inputs[0].axis(layer.axis))


def _l2_normalized(graph, name, x, axis):
    """x / max(||x||_2 along axis, 1e-12), as the layer."""
    squares = graph.node("Mul", [x, x], f"{name}/squares")
    norm = graph.node("Sqrt", [graph.reduce("ReduceSum", squares, [axis], True, f"{name}/sum")],
                      f"{name}/norm")
    norm = graph.node("Max", [norm, graph.scalar(1e-12, f"{name}/tiny")], f"{name}/norm")
    return graph.node("Div", [x, norm], f"{name}/normalized")


@converts(Dot, layout=NHWC)
def dot(graph, layer, inputs):
    """Sample by sample: x_1 as (batch, rest_1, k) times x_2 as (batch, k, rest_2), one
    batched MatMul, reshaped to (batch, *rest_1, *rest_2) ((batch, 1) if both are empty)."""
    first, second = inputs
    a1, a2 = layer._resolved_axes([first.shape, second.shape])
    x1, x2, name = first.name, second.name, layer.name
    if layer.normalize:
        x1 = _l2_normalized(graph, f"{name}/x1", x1, a1)
        x2 = _l2_normalized(graph, f"{name}/x2", x2, a2)
    order1 = [i for i in range(first.rank) if i != a1] + [a1]
    order2 = [0, a2] + [i for i in range(1, second.rank) if i != a2]
    if order1 != sorted(order1):
        x1 = graph.node("Transpose", [x1], f"{name}/x1", perm=order1)
    if order2 != sorted(order2):
        x2 = graph.node("Transpose", [x2], f"{name}/x2", perm=order2)
    k = first.shape[a1] if first.shape[a1] is not None else second.shape[a2]
    x1 = graph.node("Reshape", [x1, graph.int64s([0, -1, k], f"{name}/shape1")], f"{name}/x1")
    x2 = graph.node("Reshape", [x2, graph.int64s([0, k, -1], f"{name}/shape2")], f"{name}/x2")
    product = graph.node("MatMul", [x1, x2], f"{name}/matmul")
    rest = [first.shape[i] for i in order1[1:-1]] + [second.shape[i] for i in order2[2:]]
    shape = [0] + [-1 if n is None else n for n in rest] if rest else [0, 1]
    return graph.node("Reshape", [product, graph.int64s(shape, f"{name}/shape")], name)
