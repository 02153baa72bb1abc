"""``model.summary()``: Keras' table of layers, output shapes and parameter counts."""

HEADER = ("Layer (type)", "Output Shape", "Param #")
CONNECTED = "Connected to"


def _output_shape(layer):
    if not layer.built:
        return "?"
    try:
        return str(layer.output_shape)
    except (ValueError, NotImplementedError):
        return "?"


def layer_rows(model):
    """One (name (type), output shape, parameter count) row per layer of ``model``; for a
    layer graph (a model with ``nodes``), the 'Connected to' cell too, and a line more for
    each further tensor the layer reads (Keras' 'dense[0][0]': layer, call, output)."""
    if not hasattr(model, "nodes"):
        return [(f"{layer.name} ({type(layer).__name__})", _output_shape(layer),
                 f"{layer.count_params() if layer.built else 0:,}") for layer in model.layers]
    rows = []
    for layer in model.layers:
        nodes = [node for node in model.nodes if node.layer is layer]
        sources = [f"{t.name}[{model.node_index(t.node)}][{t.index}]"
                   for node in nodes for t in node.inputs] or ["-"]
        shapes = {str(_node_shape(node)) for node in nodes}
        shape = shapes.pop() if len(shapes) == 1 else "multiple"
        rows.append((f"{layer.name} ({type(layer).__name__})", shape,
                     f"{layer.count_params():,}", sources[0]))
        rows += [("", "", "", source) for source in sources[1:]]
    return rows


def _node_shape(node):
    """A call's output shape (a list of them for several outputs)."""
    shapes = [tensor.shape for tensor in node.output_tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def summarize(model, print_fn=print):
    """Print the table and the totals; counts are Keras': every scalar of every weight.
    A functional model's table has Keras' 'Connected to' column.

    Example output::

        Model: "sequential"
        _____________________________________________________
         Layer (type)          Output Shape          Param #
        =====================================================
         dense (Dense)         (None, 16)            80
         dense_1 (Dense)       (None, 3)             51
        =====================================================
        Total params: 131
        Trainable params: 131
        Non-trainable params: 0
        _____________________________________________________
    """
    rows = layer_rows(model)
    header = HEADER + (CONNECTED,) if rows and len(rows[0]) == 4 else HEADER
    widths = [max(len(row[i]) for row in rows + [header]) + 4 for i in range(len(header))]
    rule = "_" * (sum(widths) + 1)

    def line(cells):
        return " " + "".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    trainable = sum(w.size for w in model.trainable_weights)
    total = sum(w.size for w in model.weights)
    print_fn(f'Model: "{model.name}"')
    print_fn(rule)
    print_fn(line(header))
    print_fn("=" * len(rule))
    for row in rows:
        print_fn(line(row))
    print_fn("=" * len(rule))
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn(rule)
