"""Keras' order of a functional model's layers (``model.layers``), from its config.

Keras names each layer's group in the weights file by its class and its rank among the
layers of that class in this order, and computes the order again from the graph when it
loads a model; a written file must use the same order. Keras' rule (``map_graph``):
walk back from the outputs depth-first, numbering layers as first met; a node's depth
is 1 + the largest depth of the nodes it feeds (outputs at 0); a layer's depth is its
largest node depth; then the layers go by decreasing depth, ties by their number.
"""


def keras_order(layers, input_layers, output_layers):
    """The layer descriptions of a Keras-form functional config (each with 'name' and
    'inbound_nodes'), in Keras' ``model.layers`` order."""
    by_name = {layer["name"]: layer for layer in layers}
    inputs = {tuple(history[:2]) for history in _as_list(input_layers)}
    numbers, finished, ordered_nodes = {}, set(), []

    def visit(history):
        name, node_index = history[0], history[1]
        node = (name, node_index)
        if node in finished:
            return
        numbers.setdefault(name, len(numbers))
        if node not in inputs:
            for parent in parents(node):
                visit(parent)
        finished.add(node)
        ordered_nodes.append(node)

    def parents(node):
        nodes = by_name[node[0]].get("inbound_nodes") or []
        if node[1] >= len(nodes):
            return []
        return _histories(nodes[node[1]]["args"])

    for history in _as_list(output_layers):
        visit(history)
    node_depth, layer_depth = {}, {}
    for node in reversed(ordered_nodes):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = node_depth[node] = depth
        if node not in inputs:
            for parent in parents(node):
                parent = tuple(parent[:2])
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for name, _ in inputs:  # inputs that feed no output
        if name not in layer_depth:
            layer_depth[name], numbers[name] = 0, -1
    names = sorted(layer_depth, key=lambda name: (-layer_depth[name], numbers[name]))
    return [by_name[name] for name in names]


def _as_list(histories):
    return [histories] if histories and isinstance(histories[0], str) else list(histories)


def _histories(value):
    if isinstance(value, dict):
        return [value["config"]["keras_history"]]
    return [history for item in value for history in _histories(item)]
