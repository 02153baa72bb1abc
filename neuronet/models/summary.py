"""``model.summary()``: Keras' table of layers, output shapes and parameter counts."""

HEADER = ("Layer (type)", "Output Shape", "Param #")


def _output_shape(layer):
    if not layer.built:
        return "?"
    try:
        return str(layer.output_shape)
    except (ValueError, NotImplementedError):
        return "?"


def layer_rows(model):
    """One (name (type), output shape, parameter count) row per layer of ``model``."""
    return [(f"{layer.name} ({type(layer).__name__})", _output_shape(layer),
             f"{layer.count_params() if layer.built else 0:,}") for layer in model.layers]


def summarize(model, print_fn=print):
    """Print the table and the totals; counts are Keras': every scalar of every weight.

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
    widths = [max(len(row[i]) for row in rows + [HEADER]) + 4 for i in range(3)]
    rule = "_" * (sum(widths) + 1)

    def line(cells):
        return " " + "".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    trainable = sum(w.size for w in model.trainable_weights)
    total = sum(w.size for w in model.weights)
    print_fn(f'Model: "{model.name}"')
    print_fn(rule)
    print_fn(line(HEADER))
    print_fn("=" * len(rule))
    for row in rows:
        print_fn(line(row))
    print_fn("=" * len(rule))
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn(rule)
