"""Recurrent layers: SimpleRNN, LSTM and GRU as ONNX's RNN, LSTM and GRU ops, and
Bidirectional as one op with direction='bidirectional'.

Weights: ONNX's W (directions, gates * u, features) is Keras' kernel (features, gates * u)
transposed, R likewise from the recurrent kernel, B = [Wb, Rb] (directions, 2 gates * u).
Gate orders: Keras' LSTM i, f, c, o is ONNX's i, o, f, c (blocks reordered); GRU's z, r, h
and SimpleRNN's single block are the same in both. Keras' single bias is Wb (Rb zeros);
GRU with reset_after (ONNX's linear_before_reset=1) has bias (2, 3u) = (Wb, Rb).

Layout: ONNX's ops run time-major (steps, batch, features) (onnxruntime has no batch-major
layout=1 for them): one Transpose in, one out. go_backwards is direction='reverse', whose Y
is aligned with the input steps; neuronet returns such a layer's sequence in the order it
processed it (last step first), so Y is reversed along the steps.

Masks are exported exactly: a masked step carries the states through unchanged, which
is the same as leaving the step out. So the real steps of each sequence are moved to its
front (a stable sort by key (masked, step)), the op runs with sequence_lens = the number
of real steps, and its outputs are put back at their steps: 0 at the masked ones with
``zero_output_for_mask``, else (Keras' default) the output of the last real step before
(in processing order), gathered from the compacted outputs by a cumulative count of the
real steps. Any mask exports so, not only right padding.
"""
import numpy

from neuronet import activations
from neuronet.io.onnx.graph import INT64_MAX
from neuronet.io.onnx.table import NHWC, OnnxExportError, converts
from neuronet.layers import GRU, LSTM, Bidirectional, SimpleRNN
from neuronet.ops import activation as activation_ops

OPS = {SimpleRNN: "RNN", LSTM: "LSTM", GRU: "GRU"}
BLOCKS = {SimpleRNN: [0], LSTM: [0, 3, 1, 2], GRU: [0, 1, 2]}  # Keras blocks in ONNX order
# name -> (ONNX's activation, its (alpha, beta) or None): Affine is alpha x + beta
ONNX_ACTIVATIONS = {
    "tanh": ("Tanh", None), "sigmoid": ("Sigmoid", None), "relu": ("Relu", None),
    "linear": ("Affine", (1.0, 0.0)), "softplus": ("Softplus", None),
    # the functions' own default slope and scale (as activation.ACTIVATIONS)
    "leaky_relu": ("LeakyRelu", (float(activation_ops.leaky_relu.__defaults__[0]), None)),
    "elu": ("Elu", (float(activation_ops.elu.__defaults__[0]), None)),
}
MERGES = {"sum": "ReduceSum", "mul": "ReduceProd", "ave": "ReduceMean"}
INT32, INT64 = 6, 7  # ONNX TensorProto element types


# --- one layer's weights and attributes --------------------------------------------------
def _check(layer):
    if layer.stateful:
        raise OnnxExportError(f"ONNX export: {layer.describe()} is stateful: its states carry "
                              "over from one call to the next, which an ONNX graph cannot "
                              "keep; export a copy built with stateful=False")


def _activation_name(layer, function):
    try:
        name = activations.serialize(function)
    except ValueError:
        name = getattr(function, "__name__", repr(function))
    if name not in ONNX_ACTIVATIONS:
        raise OnnxExportError(f"ONNX export: {layer.describe()} has activation {name!r}, which "
                              f"ONNX's {OPS[type(layer)]} op (in onnxruntime) does not take; "
                              f"activations that export: {', '.join(sorted(ONNX_ACTIVATIONS))}")
    return ONNX_ACTIVATIONS[name]


def _activations(layer):
    """ONNX's list: RNN (f); GRU (f, g) = (gates, candidate); LSTM (f, g, h) = (gates,
    candidate, the cell's output), Keras' recurrent_activation and activation."""
    act = _activation_name(layer, layer.activation)
    if isinstance(layer, SimpleRNN):
        return [act]
    rec = _activation_name(layer, layer.recurrent_activation)
    return [rec, act] if isinstance(layer, GRU) else [rec, act, act]


def _blocks(array, layer):
    """The gate blocks of the last axis in ONNX's order."""
    u = layer.units
    return numpy.concatenate([array[..., b * u:(b + 1) * u] for b in BLOCKS[type(layer)]],
                             axis=-1)


def _weights(layer):
    """(W, R, B) of one direction: (G u, F), (G u, u), (2 G u,)."""
    kernel, recurrent = layer.kernel.data, layer.recurrent_kernel.data
    width = kernel.shape[1]
    if layer.bias is None:
        bias = numpy.zeros(2 * width, kernel.dtype)
    elif layer.bias.data.ndim == 2:  # GRU with reset_after: (input bias, recurrent bias)
        bias = _blocks(layer.bias.data, layer).reshape(-1)
    else:
        bias = numpy.concatenate([_blocks(layer.bias.data, layer),
                                  numpy.zeros(width, kernel.dtype)])
    return _blocks(kernel, layer).T, _blocks(recurrent, layer).T, bias


def _attributes(layer, direction):
    attributes = {"hidden_size": layer.units, "direction": direction}
    functions = _activations(layer) * (2 if direction == "bidirectional" else 1)
    attributes["activations"] = [op for op, _ in functions]
    # the scalars, in turn, of the activations that take them (onnxruntime's reading)
    alphas = [scalars[0] for _, scalars in functions if scalars]
    betas = [scalars[1] for _, scalars in functions if scalars and scalars[1] is not None]
    if alphas:
        attributes["activation_alpha"] = alphas
    if betas:
        attributes["activation_beta"] = betas
    if isinstance(layer, GRU):
        attributes["linear_before_reset"] = int(layer.reset_after)
    return attributes


# --- masks: the real steps first -------------------------------------------------------------
def _compacting(graph, name, x, mask):
    """(x with each sequence's real steps moved to its front, its lengths (batch,) int32,
    the inverse permutation (batch, steps)) for a (batch, steps) boolean ``mask``."""
    steps = graph.node("Gather", [graph.node("Shape", [x], f"{name}/shape"),
                                  graph.int64s([1], f"{name}/steps_axis")], f"{name}/steps")
    position = graph.node("Range", [graph.int64s(0, f"{name}/zero"),
                                    graph.node("Squeeze", [steps], f"{name}/steps"),
                                    graph.int64s(1, f"{name}/one")], f"{name}/position")
    # key = masked * 2^23 + step: unique, exact in float32 for sequences below 2^23 steps
    masked = graph.node("Cast", [graph.node("Not", [mask], f"{name}/masked")],
                        f"{name}/masked", to=INT64)
    key = graph.node("Add", [graph.node("Mul", [masked, graph.int64s(2 ** 23, f"{name}/far")],
                                        f"{name}/key"), position], f"{name}/key")
    order = _argsort(graph, name, key, steps)
    inverse = _argsort(graph, f"{name}/inverse", order, steps)
    lengths = graph.reduce("ReduceSum", graph.node("Cast", [mask], f"{name}/real", to=INT32),
                           [1], False, f"{name}/lengths")
    return _gather_steps(graph, name, x, order), lengths, inverse


def _argsort(graph, name, integers, k):
    """The indices sorting each row of (batch, steps) distinct ``integers`` ascending."""
    keys = graph.node("Cast", [integers], f"{name}/keys", to=1)  # 1: FLOAT
    _, indices = _top_k(graph, name, keys, k)
    return indices


def _top_k(graph, name, keys, k):
    return graph.multi_node("TopK", [keys, k], name, ["sorted", "order"], axis=1, largest=0,
                            sorted=1)


def _gather_steps(graph, name, x, order, rank=3):
    """x[n, order[n, t], ...] for x (batch, steps, ...) of ``rank`` axes."""
    index = graph.node("Unsqueeze", [order, graph.int64s(list(range(2, rank)),
                                                         f"{name}/feature_axes")],
                       f"{name}/index")
    rank_shape = graph.node("Shape", [x], f"{name}/x_shape")
    index = graph.node("Expand", [index, rank_shape], f"{name}/index")
    return graph.node("GatherElements", [x, index], f"{name}/gathered", axis=1)


# --- the converters ----------------------------------------------------------------------
@converts(SimpleRNN, LSTM, GRU, layout=NHWC, masks=True)
def recurrent(graph, layer, inputs):
    """One direction: 'forward', or 'reverse' with go_backwards."""
    _check(layer)
    direction = "reverse" if layer.go_backwards else "forward"
    states = [[s.name for s in inputs[1:]]] if len(inputs) > 1 else None
    return _run(graph, layer, [layer], direction, inputs[0], states, merge_mode="concat")


@converts(Bidirectional, layout=NHWC, masks=True)
def bidirectional(graph, layer, inputs):
    """Both directions in one op; the backward half's sequence is aligned with the input
    steps in ONNX's Y already, as Bidirectional aligns it. A forward layer with
    go_backwards (and so a backward one without) is ONNX's reverse direction: the op's
    directions are swapped back, and the sequence, which both halves then return last
    step first, reversed."""
    forward, backward = layer.forward_layer, layer.backward_layer
    _check(forward)
    _check(backward)
    same = (type(forward) is type(backward) and forward.units == backward.units and
            _activations(forward) == _activations(backward) and
            getattr(forward, "reset_after", None) == getattr(backward, "reset_after", None))
    if not same or forward.go_backwards == backward.go_backwards:
        raise OnnxExportError(f"ONNX export: {layer.describe()} exports as one bidirectional "
                              "op only when its backward layer is its forward layer's kind, "
                              "units and activations with the other go_backwards (as the "
                              f"default copy); got {forward.describe()} and "
                              f"{backward.describe()}")
    swapped = forward.go_backwards
    cells = [backward, forward] if swapped else [forward, backward]
    states = None
    if len(inputs) > 1:
        given = [s.name for s in inputs[1:]]
        half = len(given) // 2
        states = [given[:half], given[half:]]
        states = states[::-1] if swapped else states
    return _run(graph, layer, cells, "bidirectional", inputs[0], states, layer.merge_mode,
                swapped)


def _run(graph, layer, cells, direction, x, states, merge_mode, swapped=False):
    """The op on x (batch, steps, features); neuronet's outputs: the sequence or the last
    output (merged over the directions), then with return_state the final states of each
    direction. ``cells``: the layers in ONNX's order of directions; ``swapped``: neuronet's
    order is the other."""
    name, first = layer.name, cells[0]
    weights = [_weights(cell) for cell in cells]
    operands = [graph.constant(numpy.stack([w[i] for w in weights]), f"{name}/{label}")
                for i, label in enumerate("WRB")]
    source, lengths, inverse = x.name, "", None
    if x.mask is not None:
        source, lengths, inverse = _compacting(graph, name, source, x.mask)
    operands.append(lengths)
    time_major = graph.node("Transpose", [source], f"{name}/time_major", perm=[1, 0, 2])
    operands.insert(0, time_major)
    if states is not None:
        for k in range(first.state_count):  # initial_h, then initial_c
            operands.append(graph.node("Concat", [_unsqueezed(graph, name, s[k], 0)
                                                  for s in states], f"{name}/initial", axis=0))
    while not operands[-1]:  # no trailing empty optional inputs
        operands.pop()
    count = ["Y" if first.return_sequences else None, "Y_h"]
    if isinstance(first, LSTM):
        count.append("Y_c" if first.return_state else None)
    results = graph.multi_node(OPS[type(first)], operands, name, count,
                               **_attributes(first, direction))
    if x.mask is not None:
        _check_mask_outputs(layer, cells)
    if first.return_sequences:
        output = _sequence(graph, name, results[0], x.mask, inverse,
                           reverse=direction == "reverse" or swapped,
                           carry=not first.zero_output_for_mask,
                           initial_h=states[0][0] if states else None)
        axis = 2
    else:
        output = graph.node("Transpose", [results[1]], f"{name}/last", perm=[1, 0, 2])
        if x.mask is not None and first.zero_output_for_mask:
            output = _zeroed_last(graph, name, output, x.mask, direction == "reverse")
        axis = 1
    if swapped and merge_mode in ("concat", None):
        output = _reversed(graph, f"{name}/directions", output, axis)
    outputs = _merged(graph, name, output, axis, merge_mode)
    if first.return_state:
        for d in (reversed if swapped else list)(range(len(cells))):
            outputs += [_direction(graph, name, results[1 + k], d, len(cells))
                        for k in range(first.state_count)]
    return outputs


def _reversed(graph, name, y, axis):
    """y reversed along ``axis``: a Slice with step -1."""
    return graph.node("Slice", [y, graph.int64s([-1], f"{name}/last"),
                                graph.int64s([-INT64_MAX], f"{name}/before_first"),
                                graph.int64s([axis], f"{name}/axis"),
                                graph.int64s([-1], f"{name}/backwards")], f"{name}/reversed")


def _check_mask_outputs(layer, cells):
    """Both halves of a Bidirectional output 0 at masked steps of a sequence (Keras sets
    it so); a half changed since is refused: its carried outputs are not exported."""
    if len(cells) > 1 and any(c.zero_output_for_mask != c.return_sequences for c in cells):
        raise OnnxExportError(f"ONNX export: {layer.describe()} has a half whose "
                              "zero_output_for_mask differs from its return_sequences (the "
                              "Bidirectional sets them equal, as Keras); only that exports "
                              "under a mask")


def _sequence(graph, name, y, mask, inverse, reverse, carry=False, initial_h=None):
    """ONNX's Y (steps, directions, batch, u) as (batch, steps, directions, u), each step's
    output back at its own step (where masked: 0, or with ``carry`` the last real step's
    output, ``initial_h`` (a name; None: zeros) before any), reversed for go_backwards."""
    y = graph.node("Transpose", [y], f"{name}/sequence", perm=[2, 0, 1, 3])
    if mask is not None and carry:
        y = _carried(graph, name, y, mask, reverse, initial_h)
    elif mask is not None:
        y = _gather_steps(graph, f"{name}/restore", y, inverse, rank=4)
        keep = _unsqueezed(graph, f"{name}/keep", mask, [2, 3])
        y = graph.node("Where", [keep, y, graph.scalar(0, f"{name}/zero_output")],
                       f"{name}/sequence")
    return _reversed(graph, f"{name}/steps", y, 1) if reverse else y


def _carried(graph, name, y, mask, backwards, initial_h):
    """Keras' default outputs, from y (batch, steps, 1, u) with each sequence's real steps
    first: step t outputs the last real step's output up to t in processing order, h0
    before any. Going forwards that is y[c_t - 1], c_t the real steps up to t; backwards
    y[L - c_t], c_t the real steps from t on, L all real steps; h0 where c_t = 0."""
    real = graph.node("Cast", [mask], f"{name}/real_steps", to=INT64)
    count = graph.node("CumSum", [real, graph.int64s(1, f"{name}/steps_axis")],
                       f"{name}/count", reverse=int(backwards))
    if backwards:
        total = graph.reduce("ReduceSum", real, [1], True, f"{name}/total")
        index = graph.node("Sub", [total, count], f"{name}/source")
    else:
        index = graph.node("Sub", [count, graph.int64s(1, f"{name}/one")], f"{name}/source")
    # c_t = 0 gives index -1 (forwards), a valid index whose value Where replaces
    y = _gather_steps(graph, f"{name}/carry", y, index, rank=4)
    started = graph.node("Greater", [count, graph.int64s(0, f"{name}/none")],
                         f"{name}/started")
    started = _unsqueezed(graph, f"{name}/started", started, [2, 3])
    first = _unsqueezed(graph, f"{name}/h0", initial_h, [1, 2]) if initial_h else \
        graph.scalar(0, f"{name}/h0")
    return graph.node("Where", [started, y, first], f"{name}/sequence")


def _zeroed_last(graph, name, output, mask, backwards):
    """The last output (batch, 1, u) 0 where the last step processed is masked
    (``zero_output_for_mask``, as Keras)."""
    step = [0, 1] if backwards else [-1, INT64_MAX]
    last = graph.node("Slice", [mask, graph.int64s([step[0]], f"{name}/last_step"),
                                graph.int64s([step[1]], f"{name}/last_end"),
                                graph.int64s([1], f"{name}/steps_axis")], f"{name}/last_real")
    keep = _unsqueezed(graph, f"{name}/last_keep", last, [2])
    return graph.node("Where", [keep, output, graph.scalar(0, f"{name}/zero_output")],
                      f"{name}/last")


def _merged(graph, name, y, axis, merge_mode):
    """The directions' axis ``axis`` of y (its last but one) merged: concatenated (one
    direction: dropped), summed, multiplied, averaged, or split (merge_mode None)."""
    if merge_mode == "concat":
        shape = [0] * axis + [-1]
        return [graph.node("Reshape", [y, graph.int64s(shape, f"{name}/merged_shape")],
                           f"{name}/output")]
    if merge_mode is None:
        halves = graph.multi_node("Split", [y], f"{name}/split", ["forward", "backward"],
                                  axis=axis, num_outputs=2) if graph.opset >= 18 else \
            graph.multi_node("Split", [y], f"{name}/split", ["forward", "backward"], axis=axis)
        return [graph.node("Squeeze", [half, graph.int64s([axis], f"{name}/direction_axis")],
                           f"{name}/output") for half in halves]
    return [graph.reduce(MERGES[merge_mode], y, [axis], False, f"{name}/output")]


def _direction(graph, name, states, d, directions):
    """Direction d's (batch, u) of a final state (directions, batch, u)."""
    if directions > 1:
        states = graph.node("Slice", [states, graph.int64s([d], f"{name}/d{d}"),
                                      graph.int64s([d + 1], f"{name}/d{d}_end"),
                                      graph.int64s([0], f"{name}/direction")], f"{name}/state")
    return graph.node("Squeeze", [states, graph.int64s([0], f"{name}/direction")],
                      f"{name}/state")


def _unsqueezed(graph, name, x, axes):
    axes = [axes] if isinstance(axes, int) else axes
    return graph.node("Unsqueeze", [x, graph.int64s(axes, f"{name}/axes{axes}")], name)
