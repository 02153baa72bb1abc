"""``plot_model``: a picture of a model's layer graph, drawn with matplotlib.

Two steps, kept apart so that a new kind of model needs only the first:
``model_graph(model)`` lists the nodes (one per layer) and the edges (which
layer's output feeds which), and ``plot_model`` lays out and draws any such
graph: each node on the row after the deepest node that feeds it, arrows from
each node to the nodes it feeds. A Sequential is the chain
``layers[0] -> layers[1] -> ...``; a functional model's graph (branches, merges,
shared layers, nested models as one box) comes from ``Functional.layer_graph``.
Graphviz is not needed.
"""
from dataclasses import dataclass, replace

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from neuronet import activations
from neuronet.layers import InputLayer

FONT_SIZE = 9                         # points
CHAR_WIDTH = 0.6 * FONT_SIZE / 72     # inches per character of a monospace font
LINE_HEIGHT = 1.5 * FONT_SIZE / 72    # inches per line
PAD = 0.15                            # inches between a box's text and its edge
GAP = 0.45                            # inches between rows (where the arrows run)
SPACING = 0.3                         # inches between boxes of one row
MARGIN = 0.1                          # inches around the drawing


@dataclass(frozen=True)
class GraphNode:
    """One layer as ``plot_model`` shows it."""

    name: str
    class_name: str
    output_shape: tuple | None        # None where it is unknown
    dtype: str
    activation: str | None            # None for layers without one
    trainable: bool


def model_graph(model, expand_nested=False):
    """The layer graph of ``model``: ``(nodes, edges)``.

    ``nodes`` is a list of ``GraphNode``, one per layer (Keras' order for a functional
    model; a shared layer is one node, a nested model one node); ``edges`` a list of
    ``(source, target)`` index pairs into ``nodes``, one per connection (an output of
    ``source`` is an input of ``target``; a Sequential is the chain of its layers).

    With ``expand_nested``, a functional or Sequential model inside is replaced by its
    own layers, named '<model>/<layer>', one node per call (a shared layer or a model
    called twice shows each call).

    Raises:
        ValueError: the model is not built, or is a subclassed Model, whose
            connections live in its ``call`` code and are unknown.
    """
    from neuronet.models import Sequential  # models import utils' siblings: import late

    if not model.built:
        raise ValueError(f"plot_model: {model.describe()} has not been built: call it on "
                         "data, call build(input_shape), or start it with an Input")
    if expand_nested and (hasattr(model, "layer_graph") or isinstance(model, Sequential)):
        return _expanded_graph(model)
    if hasattr(model, "layer_graph"):  # a functional model
        layers, edges = model.layer_graph()
        edges = list(dict.fromkeys(edges))
        try:
            graph_ranks(len(layers), edges)
        except ValueError:  # a layer shared at two depths: one box per call instead
            return _call_graph(model)
        shapes = _graph_shapes(model)
        return [_node(layer, shapes.get(id(layer))) for layer in layers], edges
    if not isinstance(model, Sequential):
        raise ValueError(f"plot_model: {model.describe()} is a subclassed Model, whose "
                         "connections are Python code in call(); only Sequential and "
                         "functional models can be drawn")
    layers = model._layers  # the InputLayer too, which Sequential.layers leaves out
    nodes = [_node(layer, layer.output_shape if layer.built else None) for layer in layers]
    edges = [(index, index + 1) for index in range(len(nodes) - 1)]
    return nodes, edges


def _graph_shapes(model):
    """{id(layer): its output shape in the graph}: a list for several outputs, None for a
    layer called several times with different shapes (Keras' 'multiple')."""
    shapes = {}
    for node in model.nodes:
        found = [tensor.shape for tensor in node.output_tensors]
        shape = found[0] if len(found) == 1 else found
        key = id(node.layer)
        shapes[key] = shape if shapes.get(key, shape) == shape else None
    return shapes


def _call_graph(model):
    """One node per call of a layer (named 'layer[i]' for the i-th call of a shared one)
    and an edge per tensor a call reads."""
    calls = model.nodes
    position = {id(call): index for index, call in enumerate(calls)}
    nodes = []
    for call in calls:
        shapes = [tensor.shape for tensor in call.output_tensors]
        node = _node(call.layer, shapes[0] if len(shapes) == 1 else shapes)
        if sum(other.layer is call.layer for other in calls) > 1:
            node = replace(node, name=f"{node.name}[{model.node_index(call)}]")
        nodes.append(node)
    edges = [(position[id(tensor.node)], position[id(call)])
             for call in calls for tensor in call.inputs]
    return nodes, list(dict.fromkeys(edges))


def _expanded_graph(model):
    """One node per call of a layer, nested functional and Sequential models opened."""
    nodes, edges = [], []

    def add(layer, shape, prefix, sources):
        nodes.append(replace(_node(layer, shape), name=prefix + layer.name))
        edges.extend((source, len(nodes) - 1) for source in sources)
        return len(nodes) - 1

    def opens(layer):
        return hasattr(layer, "layer_graph") or isinstance(layer, _sequential_class())

    def walk(inner, prefix, sources):
        """Add ``inner``'s calls fed by ``sources`` (a node index per input, None at the
        top); returns the node index of each of its outputs."""
        if isinstance(inner, _sequential_class()):
            current = sources[0] if sources else None
            for layer in inner._layers:
                if isinstance(layer, InputLayer):
                    if current is None:
                        current = add(layer, layer.output_shape, prefix, [])
                elif opens(layer):
                    current = walk(layer, f"{prefix}{layer.name}/", [current])[0]
                else:
                    current = add(layer, layer.output_shape, prefix,
                                  [] if current is None else [current])
            return [current]
        made = dict(zip((id(t) for t in inner.inputs), sources or []))
        for call in inner.nodes:
            if not call.inputs:
                if id(call.output_tensors[0]) not in made:
                    made[id(call.output_tensors[0])] = add(call.layer,
                                                           call.output_tensors[0].shape,
                                                           prefix, [])
                continue
            fed = [made[id(t)] for t in call.inputs]
            if opens(call.layer):
                results = walk(call.layer, f"{prefix}{call.layer.name}/", fed)
            else:
                shapes = [t.shape for t in call.output_tensors]
                index = add(call.layer, shapes[0] if len(shapes) == 1 else shapes, prefix,
                            list(dict.fromkeys(fed)))
                results = [index] * len(call.output_tensors)
            made.update(zip((id(t) for t in call.output_tensors), results))
        return [made[id(t)] for t in inner.outputs]

    walk(model, "", None)
    return nodes, list(dict.fromkeys(edges))


def _sequential_class():
    from neuronet.models import Sequential

    return Sequential


def _node(layer, output_shape):
    return GraphNode(name=layer.name, class_name=type(layer).__name__,
                     output_shape=output_shape, dtype=layer.dtype,
                     activation=_activation_name(layer), trainable=layer.trainable)


def _activation_name(layer):
    """The registered name of the layer's activation, a plain function's own name, or None."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    try:
        return activations.serialize(activation)
    except ValueError:  # an unregistered callable
        return getattr(activation, "__name__", type(activation).__name__)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False):
    """Draw ``model``'s layers as boxes joined by arrows and save the picture.

    Keras 3's signature and defaults. Each box shows the layer's type, and on
    request its name, output shape, dtype, activation and trainability.

    Args:
        model: a built model (see ``model_graph`` for the kinds that can be drawn).
        to_file: the image file; its extension picks the format (png, pdf, svg, ...).
        show_shapes, show_dtype, show_layer_names, show_layer_activations,
            show_trainable: what each box shows besides the layer's type.
        rankdir: 'TB' (top to bottom) or 'LR' (left to right).
        expand_nested: draw a nested functional or Sequential model's layers instead
            of one box for it (``model_graph``).
        dpi: the image's resolution in dots per inch.

    Example:
        >>> plot_model(model, "model.png", show_shapes=True, show_layer_names=True)
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model expects rankdir 'TB' or 'LR', got {rankdir!r}")
    nodes, edges = model_graph(model, expand_nested)
    labels = [_label(node, show_shapes, show_dtype, show_layer_names,
                     show_layer_activations, show_trainable) for node in nodes]
    figure = _draw(labels, edges, rankdir)
    _check_format(figure, to_file)
    figure.savefig(to_file, dpi=dpi)


def _label(node, show_shapes, show_dtype, show_layer_names, show_activations, show_trainable):
    """The lines of text in ``node``'s box."""
    lines = [f"{node.name} ({node.class_name})" if show_layer_names else node.class_name]
    if show_shapes:
        shape = "?" if node.output_shape is None else str(node.output_shape)
        lines.append(f"Output shape: {shape}")
    if show_dtype:
        lines.append(f"dtype: {node.dtype}")
    if show_activations and node.activation is not None:
        lines.append(f"Activation: {node.activation}")
    if show_trainable:
        lines.append(f"Trainable: {node.trainable}")
    return "\n".join(lines)


def graph_ranks(count, edges):
    """Each node's rank: 0 for nodes that nothing feeds, else 1 + the largest rank of
    the nodes feeding it (the longest path from a source, found in topological order).

    Raises:
        ValueError: the edges form a cycle.
    """
    feeds = [[] for _ in range(count)]
    waiting = [0] * count  # how many inputs of each node are not ranked yet
    for source, target in edges:
        feeds[source].append(target)
        waiting[target] += 1
    ranks = [0] * count
    ready = [node for node in range(count) if waiting[node] == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for target in feeds[node]:
            ranks[target] = max(ranks[target], ranks[node] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    if done != count:
        raise ValueError("plot_model: the layer graph has a cycle")
    return ranks


def _draw(labels, edges, rankdir):
    """A Figure with one box per label, placed by rank, and an arrow per edge.

    Sizes are in inches: the axes cover the whole figure with 1 data unit = 1 inch,
    so boxes fit their monospace text whatever the graph's size.
    """
    lines = [label.split("\n") for label in labels]
    width = max(len(line) for box in lines for line in box) * CHAR_WIDTH + 2 * PAD
    height = max(len(box) for box in lines) * LINE_HEIGHT + 2 * PAD
    centres = _centres(graph_ranks(len(labels), edges), width, height, rankdir)
    xs, ys = [x for x, _ in centres], [y for _, y in centres]
    left, bottom = min(xs) - width / 2 - MARGIN, min(ys) - height / 2 - MARGIN
    size = (max(xs) - min(xs) + width + 2 * MARGIN, max(ys) - min(ys) + height + 2 * MARGIN)
    figure = Figure(figsize=size)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, left + size[0])
    ax.set_ylim(bottom, bottom + size[1])
    ax.axis("off")
    for (x, y), label in zip(centres, labels):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                    boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor="#dbe9f6", edgecolor="#2b5d8a", linewidth=1))
        ax.text(x, y, label, ha="center", va="center", family="monospace",
                fontsize=FONT_SIZE, linespacing=1.5)
    for source, target in edges:
        start, end = _arrow_ends(centres[source], centres[target], width, height, rankdir)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                     color="#333333", linewidth=1))
    return figure


def _centres(ranks, width, height, rankdir):
    """Box centres (inches): rank r on row r (column r for 'LR'), each row centred."""
    rows = {}
    for node, rank in enumerate(ranks):
        rows.setdefault(rank, []).append(node)
    centres = [None] * len(ranks)
    for rank, members in rows.items():
        for position, node in enumerate(members):
            offset = position - (len(members) - 1) / 2
            if rankdir == "TB":
                centres[node] = (offset * (width + SPACING), -rank * (height + GAP))
            else:
                centres[node] = (rank * (width + GAP), -offset * (height + SPACING))
    return centres


def _arrow_ends(source, target, width, height, rankdir):
    """From the source box's bottom (right for 'LR') to the target box's top (left)."""
    if rankdir == "TB":
        return (source[0], source[1] - height / 2), (target[0], target[1] + height / 2)
    return (source[0] + width / 2, source[1]), (target[0] - width / 2, target[1])


def _check_format(figure, to_file):
    """A ValueError naming the formats matplotlib writes, before drawing anything."""
    suffix = str(to_file).rsplit(".", 1)[-1].lower() if "." in str(to_file) else ""
    formats = figure.canvas.get_supported_filetypes()
    if suffix not in formats:
        raise ValueError(f"plot_model: cannot write {to_file!r}: the extension must be one "
                         f"of {sorted(formats)}")
