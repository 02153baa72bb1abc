"""ClusterAssignment (DEC's soft assignments) as ONNX nodes."""
from neuronet.io.onnx.table import NHWC, converts
from neuronet.layers import ClusterAssignment


@converts(ClusterAssignment, layout=NHWC)
def cluster_assignment(graph, layer, inputs):
    """q_ij = k_ij / sum_j' k_ij', k_ij = (1 + max(d_ij, 0) / alpha)^(-(alpha + 1) / 2),
    d_ij = ||z_i||^2 - 2 z_i . mu_j + ||mu_j||^2, as the layer computes it: the centres
    enter as the constants -2 mu^T and the row of ||mu_j||^2."""
    x, name = inputs[0].name, layer.name
    centers = layer.centers.data
    x_squared = graph.reduce("ReduceSum", graph.node("Mul", [x, x], f"{name}/x2"), [-1], True,
                             f"{name}/x_norm")
    cross = graph.node("MatMul", [x, graph.constant(-2.0 * centers.T, f"{name}/centers")],
                       f"{name}/cross")
    norms = graph.constant((centers * centers).sum(axis=-1)[None], f"{name}/center_norms")
    squared = graph.node("Add", [graph.node("Add", [x_squared, cross], f"{name}/d"), norms],
                         f"{name}/d")
    clipped = graph.node("Max", [squared, graph.scalar(0.0, f"{name}/zero")], f"{name}/clip")
    base = graph.node("Add", [graph.scalar(1.0, f"{name}/one"), graph.node(
        "Div", [clipped, graph.scalar(layer.alpha, f"{name}/alpha")], f"{name}/scaled")],
                      f"{name}/base")
    kernel = graph.node("Pow", [base, graph.scalar(-(layer.alpha + 1.0) / 2.0,
                                                   f"{name}/exponent")], f"{name}/kernel")
    total = graph.reduce("ReduceSum", kernel, [-1], True, f"{name}/total")
    return graph.node("Div", [kernel, total], name)
