"""ONNX export of the sequence layers (Embedding, Masking, Conv1D, the 1-D poolings,
TimeDistributed) and the recurrent ones (SimpleRNN, LSTM, GRU, Bidirectional): every
option a converter distinguishes, at two sequence lengths (the steps stay dynamic), with
masks (any padding, exported exactly), and whole models: a text classifier, a time-series
CNN and a bidirectional GRU tagger."""
import numpy as np
import pytest

from onnx_harness import check_export, op_types, randomize
from neuronet import Input, Model, layers
from neuronet.io.onnx import OnnxExportError, to_onnx

LENGTHS = (7, 3)
VOCABULARY = 9


def chain(input_shape, *stack, dtype=None, name=None):
    """A functional model of ``stack`` in a row (its steps may be None: dynamic)."""
    inputs = x = Input(input_shape, dtype=dtype, name=name)
    for layer in stack:
        x = layer(x)
    return randomize(Model(inputs, x))


def ids_of(steps, padding=True):
    """make_inputs for ids: right-, left- and inner-padded rows (id 0), one all padding."""
    def make(batch, rng):
        ids = rng.integers(1, VOCABULARY, (batch, steps))
        if padding:
            for n in range(batch):
                kind = n % 4
                if kind == 0:
                    ids[n, steps // 2:] = 0  # right padding
                elif kind == 1:
                    ids[n, :steps // 2] = 0  # left padding
                elif kind == 2:
                    ids[n, 1::2] = 0  # gaps
                else:
                    ids[n] = 0 if n == 3 else ids[n]  # nothing real
        return [ids]
    return make


def check_lengths(model, lengths=LENGTHS, **kwargs):
    """check_export at each sequence length (batches of 3 and 1); a model whose steps are
    fixed at its own."""
    shape = model.inputs[0].shape
    if shape[1] is not None:
        return check_export(model, **kwargs)
    for steps in lengths:
        proto = check_export(model, input_shapes=[(steps, *shape[2:])], **kwargs)
    return proto


SEQUENCES = {
    "conv1d_valid": lambda: chain((None, 3), layers.Conv1D(4, 3)),
    "conv1d_same_stride_2": lambda: chain((None, 3), layers.Conv1D(4, 3, strides=2,
                                                                   padding="same")),
    "conv1d_same_kernel_4_known_steps": lambda: chain((9, 3), layers.Conv1D(
        2, 4, strides=2, padding="same")),
    "conv1d_causal_dilation": lambda: chain((None, 3), layers.Conv1D(
        4, 3, padding="causal", dilation_rate=2, activation="relu")),
    "conv1d_causal_stride_3_no_bias": lambda: chain((None, 2), layers.Conv1D(
        3, 2, strides=3, padding="causal", use_bias=False, activation="softmax")),
    "max_pool1d": lambda: chain((None, 3), layers.MaxPooling1D(2)),
    "max_pool1d_same_after_conv": lambda: chain((None, 3), layers.Conv1D(2, 2), layers.MaxPooling1D(
        3, strides=2, padding="same")),
    "avg_pool1d_same_excludes_padding": lambda: chain((None, 3), layers.AveragePooling1D(
        3, strides=2, padding="same")),
    "global_avg_pool1d": lambda: chain((None, 3), layers.GlobalAveragePooling1D()),
    "global_avg_pool1d_keepdims_after_conv": lambda: chain((None, 3), layers.Conv1D(
        2, 1), layers.GlobalAveragePooling1D(keepdims=True)),
    "global_max_pool1d_after_conv": lambda: chain((None, 3), layers.Conv1D(2, 2),
                                                  layers.GlobalMaxPooling1D()),
    "global_max_pool1d_keepdims": lambda: chain((None, 3), layers.GlobalMaxPooling1D(
        keepdims=True)),
    "masking_dense": lambda: chain((None, 3), layers.Masking(0.5), layers.Dense(2)),
    "time_distributed_dense": lambda: chain((None, 4), layers.TimeDistributed(layers.Dense(
        3, activation="softmax"))),
    "time_distributed_dense_after_conv1d": lambda: chain((None, 4), layers.Conv1D(3, 2),
                                                         layers.TimeDistributed(layers.Dense(2))),
    "time_distributed_conv1d": lambda: chain((None, 6, 2), layers.TimeDistributed(
        layers.Conv1D(3, 3, padding="same")), layers.TimeDistributed(layers.Flatten())),
}
RECURRENT_OPTIONS = {
    "": {}, "sequences": {"return_sequences": True}, "backwards": {"go_backwards": True},
    "backwards_sequences": {"go_backwards": True, "return_sequences": True},
    "state": {"return_state": True},
    "sequences_state_backwards": {"return_sequences": True, "return_state": True,
                                  "go_backwards": True},
    "relu_no_bias": {"activation": "relu", "use_bias": False},
}
CELLS = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}
for _cell, _cls in CELLS.items():
    for _label, _options in RECURRENT_OPTIONS.items():
        SEQUENCES[f"{_cell}_{_label}".strip("_")] = \
            lambda cls=_cls, options=_options: chain((None, 3), cls(4, **options))
    for _mode in ("concat", "sum", "mul", "ave", None):
        # the order of the directions matters to concat and None alone
        _ordered = [("state", {"return_state": True}),
                    # the forward half backwards, the backward one forwards
                    ("backwards_sequences_state", {"go_backwards": True, "return_sequences": True,
                                                   "return_state": True}),
                    ("backwards", {"go_backwards": True})] if _mode in ("concat", None) else []
        for _label, _options in [("", {}), ("sequences", {"return_sequences": True}),
                                 *_ordered]:
            SEQUENCES[f"bidirectional_{_cell}_{_mode}_{_label}".strip("_")] = \
                lambda cls=_cls, mode=_mode, options=_options: chain(
                    (None, 3), layers.Bidirectional(cls(4, **options), merge_mode=mode))
SEQUENCES["gru_reset_before"] = lambda: chain((None, 3), layers.GRU(
    4, reset_after=False, return_sequences=True))
SEQUENCES["lstm_sigmoid_relu"] = lambda: chain((None, 3), layers.LSTM(
    3, activation="relu", recurrent_activation="sigmoid", unit_forget_bias=False))
# activations with ONNX's scalars (Affine's alpha and beta, LeakyRelu's and Elu's alpha)
SEQUENCES["simple_rnn_leaky_relu"] = lambda: chain((None, 3), layers.SimpleRNN(
    3, activation="leaky_relu", return_sequences=True))
SEQUENCES["gru_linear"] = lambda: chain((None, 3), layers.GRU(3, activation="linear"))
SEQUENCES["gru_elu_reset_before"] = lambda: chain((None, 3), layers.GRU(
    3, activation="elu", reset_after=False))
SEQUENCES["lstm_softplus_leaky_relu_gates"] = lambda: chain((None, 3), layers.LSTM(
    3, activation="softplus", recurrent_activation="leaky_relu"))
SEQUENCES["bidirectional_lstm_linear_elu"] = lambda: chain((None, 3), layers.Bidirectional(
    layers.LSTM(3, activation="linear", recurrent_activation="elu")))


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence_layer_exports_and_matches_neuronet(name):
    check_lengths(SEQUENCES[name]())


def test_embedding_exports_as_gather_with_int64_ids():
    model = chain((None,), layers.Embedding(VOCABULARY, 4), layers.Dense(2), dtype="int64")
    proto = check_export(model, make_inputs=ids_of(6, padding=False))
    assert op_types(proto)[0] == "Gather"
    assert proto.graph.input[0].type.tensor_type.elem_type == 7  # INT64


def test_embedding_of_float_ids_casts_them():
    model = chain((4,), layers.Embedding(VOCABULARY, 3))
    proto = check_export(model, make_inputs=lambda b, rng: [
        rng.integers(0, VOCABULARY, (b, 4)).astype(np.float32)])
    assert op_types(proto)[:2] == ["Cast", "Gather"]


def test_a_time_distributed_conv2d_folds_the_steps_into_the_batch():
    model = chain((3, 6, 6, 2), layers.TimeDistributed(layers.Conv2D(3, 3)),
                  layers.TimeDistributed(layers.GlobalMaxPooling2D()))
    check_export(model)


def test_conv1d_runs_stay_channels_first_between_transposes():
    """Conv1D, pooling, Conv1D, global pooling: one Transpose (in), none out."""
    model = chain((None, 3), layers.Conv1D(4, 3, padding="causal"), layers.MaxPooling1D(2),
                  layers.Conv1D(2, 3, padding="same", strides=2), layers.GlobalMaxPooling1D())
    proto = check_lengths(model, lengths=(11, 5))
    assert op_types(proto).count("Transpose") == 1


def test_channels_first_sequences_meet_the_other_layers():
    """After a Conv1D a sequence is (N, C, T) inside: BatchNormalization, softmax over the
    channels or the steps, Concatenate, Rescaling and Multiply map their axes to it."""
    inputs = Input((None, 3))
    a = layers.Activation("softmax")(layers.BatchNormalization()(
        layers.Conv1D(4, 3, padding="same")(inputs)))
    joined = layers.Concatenate()([a, layers.Conv1D(2, 1)(inputs)])
    joined = layers.Softmax(axis=1)(layers.Rescaling([1, 2, 3, 4, 5, 6], offset=0.5)(joined))
    outputs = [layers.Dense(2)(layers.LayerNormalization()(joined)),
               layers.Multiply()([joined, layers.Dense(6)(inputs)])]
    check_lengths(randomize(Model(inputs, outputs)))


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("wrap", ["plain", "bidirectional", "bidirectional_none"])
@pytest.mark.parametrize("options", ["", "sequences", "backwards_sequences", "state",
                                     "sequences_state_backwards", "zero", "backwards_zero",
                                     "sequences_zero", "backwards_sequences_zero"])
def test_masked_recurrent_layers_export_exactly_for_any_padding(cell, wrap, options):
    """Embedding(mask_zero=True) into the layer: right, left and inner padding and an
    all-padding row give neuronet's outputs (masked steps skipped; their outputs carried
    or, '_zero', 0; a Bidirectional sets the latter with sequences, as Keras)."""
    zero = {"zero_output_for_mask": True} if options.endswith("zero") else {}
    inner = CELLS[cell](3, **RECURRENT_OPTIONS[options.removesuffix("_zero")
                                               .removesuffix("zero")], **zero)
    layer = {"plain": inner, "bidirectional": layers.Bidirectional(inner),
             "bidirectional_none": layers.Bidirectional(inner, merge_mode=None)}[wrap]
    model = chain((None,), layers.Embedding(VOCABULARY, 4, mask_zero=True), layer,
                  dtype="int64")
    for steps in (6, 3):
        check_export(model, make_inputs=ids_of(steps), batches=(5, 4))


def test_masking_into_lstm_and_masked_global_average():
    inputs = Input((None, 2))
    masked = layers.Masking(0.0)(inputs)
    sequence = layers.LSTM(3, return_sequences=True)(masked)
    mean = layers.GlobalAveragePooling1D()(layers.Dense(2)(masked))
    model = randomize(Model(inputs, [sequence, mean]))

    def make(batch, rng):
        x = rng.standard_normal((batch, 5, 2)).astype(np.float32)
        x[0, 3:] = 0
        x[-1, :2] = 0
        return [x]
    check_export(model, make_inputs=make, batches=(4, 2))


def test_the_mask_passes_through_step_layers_and_merges():
    """Dropout, TimeDistributed(Dense) and Dense pass the mask on; Add joins two (a step
    is real where it is in both)."""
    tokens, tags = Input((None,), dtype="int64"), Input((None,), dtype="int64")
    a = layers.Dropout(0.5)(layers.Embedding(VOCABULARY, 4, mask_zero=True)(tokens))
    a = layers.TimeDistributed(layers.Dense(4))(a)
    b = layers.Dense(4)(layers.Embedding(VOCABULARY, 4, mask_zero=True)(tags))
    model = randomize(Model([tokens, tags], layers.GRU(3)(layers.Add()([a, b]))))

    def make(batch, rng):
        first, second = ids_of(6)(batch, rng)[0], ids_of(6)(batch, rng)[0]
        return [first, second[::-1].copy()]
    check_export(model, make_inputs=make, batches=(5, 4))


@pytest.mark.parametrize("backwards", [False, True])
def test_initial_states_are_inputs_of_the_op(backwards):
    x, h, c = Input((None, 3), name="x"), Input((4,), name="h"), Input((4,), name="c")
    lstm = layers.LSTM(4, return_sequences=True, go_backwards=backwards)(x, initial_state=[h, c])
    states = [Input((2,), name=f"s{i}") for i in range(4)]
    pair = layers.Bidirectional(layers.LSTM(2, go_backwards=backwards))(x, initial_state=states)
    model = randomize(Model([x, h, c, *states], [lstm, pair]))
    check_export(model, input_shapes=[(5, 3), (4,), (4,), (2,), (2,), (2,), (2,)])


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("zero", [False, True])
def test_masked_steps_before_any_real_one_output_the_initial_state(cell, backwards, zero):
    """Carried outputs (Keras' default) start from the given initial h."""
    x = Input((None, 3), name="x")
    states = [Input((4,), name=f"s{i}") for i in range(2 if cell == "lstm" else 1)]
    layer = CELLS[cell](4, return_sequences=True, go_backwards=backwards,
                        zero_output_for_mask=zero)
    model = randomize(Model([x, *states], layer(layers.Masking(0.0)(x), initial_state=states)))

    def make(batch, rng):
        inputs = [rng.standard_normal((batch, 5, 3)).astype(np.float32)] + \
            [rng.standard_normal((batch, 4)).astype(np.float32) for _ in states]
        inputs[0][0, :2] = inputs[0][0, 4:] = 0  # padding on both sides
        inputs[0][1, 1:4] = 0
        return inputs
    check_export(model, make_inputs=make, batches=(4, 3))


def test_a_bidirectional_half_whose_zero_output_was_changed_is_refused():
    model = chain((None,), layers.Embedding(VOCABULARY, 4, mask_zero=True),
                  layers.Bidirectional(layers.GRU(3, return_sequences=True)), dtype="int64")
    model.layers[-1].backward_layer.zero_output_for_mask = False
    with pytest.raises(OnnxExportError, match="bidirectional.*zero_output_for_mask differs"):
        to_onnx(model)


@pytest.mark.parametrize("opset", [18, 21])
def test_recurrent_layers_export_at_later_opsets(opset):
    """Split and ReduceProd change their signatures at opset 18."""
    inputs = Input((None, 3))
    pair = layers.Bidirectional(layers.LSTM(3, return_sequences=True, return_state=True),
                                merge_mode=None)(inputs)
    product = layers.Bidirectional(layers.GRU(3), merge_mode="mul")(layers.Masking()(inputs))
    model = randomize(Model(inputs, [*pair, product]))
    check_export(model, input_shapes=[(4, 3)], opset=opset)


# --- whole models ------------------------------------------------------------------------
def test_text_classifier_embedding_lstm_dense():
    """Padded token ids (mask_zero) -> LSTM -> softmax: one LSTM op, exact on any padding."""
    model = chain((None,), layers.Embedding(VOCABULARY, 8, mask_zero=True), layers.LSTM(6),
                  layers.Dense(3, activation="softmax"), dtype="int64", name="tokens")
    for steps in (8, 3):
        proto = check_export(model, make_inputs=ids_of(steps), batches=(5, 2))
    assert op_types(proto).count("LSTM") == 1
    assert proto.graph.input[0].name == "tokens"


def test_stacked_lstms_see_the_mask_as_keras_passes_it():
    """A recurrent layer with return_sequences passes its input's mask on (Keras): the
    second LSTM skips the padded steps too, in the export as in predict."""
    model = chain((None,), layers.Embedding(VOCABULARY, 4, mask_zero=True),
                  layers.LSTM(3, return_sequences=True), layers.LSTM(2), dtype="int64")
    proto = check_export(model, make_inputs=ids_of(5), batches=(5, 4))
    # a sort for each LSTM: the first one's carried outputs (Keras' default) are gathered
    # by a count of the real steps, with no inverse sort
    assert op_types(proto).count("TopK") == 2


def test_time_series_conv1d_classifier():
    model = chain((None, 2), layers.Conv1D(8, 5, padding="causal", activation="relu"),
                  layers.MaxPooling1D(2), layers.Conv1D(8, 3, activation="relu"),
                  layers.GlobalAveragePooling1D(), layers.Dropout(0.2),
                  layers.Dense(4, activation="softmax"))
    proto = check_lengths(model, lengths=(32, 12))
    assert op_types(proto).count("Transpose") == 1


def test_bidirectional_gru_tagger():
    model = chain((None, 5), layers.Bidirectional(layers.GRU(6, return_sequences=True)),
                  layers.TimeDistributed(layers.Dense(3, activation="softmax")))
    proto = check_lengths(model, lengths=(9, 1))
    assert op_types(proto).count("GRU") == 1


# --- refused -----------------------------------------------------------------------------
def test_a_stateful_layer_is_refused_naming_it():
    inputs = Input((4, 3), batch_size=2)
    model = Model(inputs, layers.LSTM(2, stateful=True, name="memory")(inputs))
    with pytest.raises(OnnxExportError, match="LSTM 'memory' is stateful"):
        to_onnx(model)


def test_an_activation_the_op_lacks_is_refused_naming_it():
    model = chain((None, 3), layers.GRU(2, activation="softmax", name="odd"))
    with pytest.raises(OnnxExportError, match="GRU 'odd' has activation 'softmax'"):
        to_onnx(model)


@pytest.mark.parametrize("layer", [
    lambda: layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(
        3, go_backwards=True, activation="relu"), name="pair"),
    lambda: layers.Bidirectional(layers.GRU(3), backward_layer=layers.GRU(3), name="pair")])
def test_a_bidirectional_of_another_backward_layer_is_refused(layer):
    with pytest.raises(OnnxExportError, match="Bidirectional 'pair'"):
        to_onnx(chain((None, 3), layer()))


def test_a_mask_into_a_layer_that_cannot_honour_it_is_refused():
    model = chain((None,), layers.Embedding(VOCABULARY, 4, mask_zero=True),
                  layers.TimeDistributed(layers.LSTM(2, name="inner"), name="steps"),
                  dtype="int64")
    with pytest.raises(OnnxExportError, match="TimeDistributed 'steps'"):
        to_onnx(model)
