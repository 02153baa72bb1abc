"""SimpleRNN, LSTM, GRU and Bidirectional: the layer checks, PyTorch's twins with the same
weights (Keras layout inside the twin, converted in its forward), masks, states,
dropout, configs and checkpoints, and the errors."""
import json

import numpy as np
import pytest
import torch

from harness import assert_close
from layer_harness import check_layer, check_layer_against_torch, check_layers_gradients
import neuronet as nn
from neuronet import layers

KERAS_PARAMS = {"simple_rnn": lambda f, u: u * (f + u + 1),
                "lstm": lambda f, u: 4 * u * (f + u + 1),
                "gru": lambda f, u: 3 * u * (f + u + 2),  # reset_after: two biases
                "gru_v1": lambda f, u: 3 * u * (f + u + 1)}


def make(kind, units, **kwargs):
    if kind == "gru_v1":
        return layers.GRU(units, reset_after=False, **kwargs)
    return {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind](
        units, **kwargs)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru", "gru_v1"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_layer_checks(kind, return_sequences):
    rng = np.random.default_rng(0)
    layer = make(kind, 5, return_sequences=return_sequences)
    check_layer(layer, (3, 6, 4), rng, KERAS_PARAMS[kind](4, 5))


def test_parameter_counts_equal_keras():
    """Keras' summary: LSTM(128) on 28 features 80,384; GRU(128) 60,672 (reset_after)."""
    for layer, expected in [(layers.LSTM(128), 80_384), (layers.GRU(128), 60_672),
                            (layers.GRU(128, reset_after=False), 60_288),
                            (layers.SimpleRNN(128), 20_096),
                            (layers.Bidirectional(layers.LSTM(128)), 160_768)]:
        model = nn.Sequential([layers.Input((28, 28)), layer])
        assert model.count_params() == expected, type(layer).__name__
    lstm = layers.LSTM(3)
    lstm.build((None, 5, 2))
    assert lstm.weight_names == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in lstm.weights] == [(2, 12), (3, 12), (12,)]


# --- PyTorch twins -------------------------------------------------------------------
def _gru_order(w, u):
    """Keras' GRU gates z, r, h -> torch's r, z, n (last axis)."""
    return torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], dim=-1)


def torch_weights(kind, kernel, recurrent, bias, suffix=""):
    u = recurrent.shape[0]
    if kind == "gru":
        kernel, recurrent, bias = (_gru_order(w, u) for w in (kernel, recurrent, bias))
    b_ih, b_hh = (bias[0], bias[1]) if bias.ndim == 2 else (bias, torch.zeros_like(bias))
    return {f"weight_ih_l0{suffix}": kernel.T, f"weight_hh_l0{suffix}": recurrent.T,
            f"bias_ih_l0{suffix}": b_ih, f"bias_hh_l0{suffix}": b_hh}


class TorchTwin(torch.nn.Module):
    """torch.nn.RNN/LSTM/GRU holding Keras-layout parameters (kernel, recurrent_kernel,
    bias per direction), mapped in forward so that gradients come back in that layout.
    Returns what the neuronet layer returns: the sequence, or the last output."""

    def __init__(self, kind, features, units, return_sequences, go_backwards=False,
                 bidirectional=False, activation="tanh", initial_state=None):
        super().__init__()
        self.kind, self.return_sequences = kind, return_sequences
        self.go_backwards, self.bidirectional = go_backwards, bidirectional
        self.initial_state = initial_state
        if kind == "simple_rnn":
            self.rnn = torch.nn.RNN(features, units, batch_first=True, nonlinearity=activation,
                                    bidirectional=bidirectional)
        else:
            cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            self.rnn = cls(features, units, batch_first=True, bidirectional=bidirectional)
        gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind] * units
        bias_shape = (2, gates) if kind == "gru" else (gates,)
        for prefix in ("", "backward_") if bidirectional else ("",):
            self.register_parameter(f"{prefix}kernel",
                                    torch.nn.Parameter(torch.zeros(features, gates)))
            self.register_parameter(f"{prefix}recurrent_kernel",
                                    torch.nn.Parameter(torch.zeros(units, gates)))
            self.register_parameter(f"{prefix}bias", torch.nn.Parameter(torch.zeros(bias_shape)))

    def forward(self, x):
        p = dict(self.named_parameters())
        mapped = torch_weights(self.kind, p["kernel"], p["recurrent_kernel"], p["bias"])
        if self.bidirectional:
            mapped.update(torch_weights(self.kind, p["backward_kernel"],
                                        p["backward_recurrent_kernel"], p["backward_bias"],
                                        "_reverse"))
        if self.go_backwards:
            x = torch.flip(x, dims=[1])
        args = (x,) if self.initial_state is None else (x, self.initial_state)
        output, final = torch.func.functional_call(self.rnn, mapped, args)
        if self.return_sequences:
            return output
        h = final[0] if self.kind == "lstm" else final
        return torch.cat(list(h), dim=-1)  # the last output of each direction


WEIGHT_MAP = [("kernel", lambda w: w), ("recurrent_kernel", lambda w: w), ("bias", lambda w: w)]
BIDIRECTIONAL_MAP = WEIGHT_MAP + [("backward_" + name, f) for name, f in WEIGHT_MAP]


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_equals_pytorch(kind, dtype, return_sequences, go_backwards):
    rng = np.random.default_rng(1)
    twin = TorchTwin(kind, 4, 6, return_sequences, go_backwards)
    check_layer_against_torch(
        lambda dtype: make(kind, 6, return_sequences=return_sequences,
                           go_backwards=go_backwards, dtype=dtype),
        twin, WEIGHT_MAP, (3, 7, 4), rng, dtype)


def test_simple_rnn_relu_equals_pytorch():
    rng = np.random.default_rng(2)
    twin = TorchTwin("simple_rnn", 4, 5, True, activation="relu")
    check_layer_against_torch(lambda dtype: layers.SimpleRNN(5, activation="relu",
                                                            return_sequences=True, dtype=dtype),
                              twin, WEIGHT_MAP, (3, 6, 4), rng, np.float64)


@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_concat_equals_pytorch_bidirectional(kind, dtype, return_sequences):
    rng = np.random.default_rng(3)
    twin = TorchTwin(kind, 4, 5, return_sequences, bidirectional=True)
    check_layer_against_torch(
        lambda dtype: layers.Bidirectional(make(kind, 5, return_sequences=return_sequences,
                                                dtype=dtype), dtype=dtype),
        twin, BIDIRECTIONAL_MAP, (3, 6, 4), rng, dtype)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_initial_states_equal_pytorch(kind):
    rng = np.random.default_rng(4)
    n, units = 3, 5
    states = [rng.standard_normal((n, units)) for _ in range(2 if kind == "lstm" else 1)]
    torch_states = tuple(torch.tensor(s[None]) for s in states)
    twin = TorchTwin(kind, 4, units, True,
                     initial_state=torch_states if kind == "lstm" else torch_states[0])

    class WithStates(layers.Layer):  # the layer called with fixed initial states
        def __init__(self, dtype):
            super().__init__(dtype=dtype)
            self.inner = make(kind, units, return_sequences=True, dtype=dtype)

        def build(self, input_shape):
            self.inner.build(input_shape)

        def call(self, x, training=False):
            return self.inner(x, initial_state=states)

        def compute_output_shape(self, input_shape):
            return self.inner.compute_output_shape(input_shape)

    check_layer_against_torch(WithStates, twin, WEIGHT_MAP, (n, 6, 4), rng, np.float64)


def test_gru_without_reset_after_against_finite_differences():
    """reset_after=False has no PyTorch twin: finite differences (the op tests also check
    it against the reference)."""
    rng = np.random.default_rng(5)
    layer = layers.GRU(3, reset_after=False, return_sequences=True, dtype="float64")
    layer.build((None, 4, 2))
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.weights])
    check_layers_gradients([layer], (2, 4, 2), rng)


def test_bidirectional_merge_modes():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    base = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode=None)
    forward, backward = (t.numpy() for t in base(x))
    for mode, expected in [("sum", forward + backward), ("mul", forward * backward),
                           ("ave", (forward + backward) / 2),
                           ("concat", np.concatenate([forward, backward], -1))]:
        layer = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode=mode)
        layer.build((None, 5, 3))
        layer.set_weights(base.get_weights())
        assert_close(layer(x).numpy(), expected, 1e-6, what=mode)
        assert layer.compute_output_shape((None, 5, 3)) == (None, 5, expected.shape[-1])


# --- masks, states, dropout ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru", "gru_v1"])
def test_mask_skips_padded_steps(kind):
    """With a mask, each padded sequence gives what its unpadded part gives alone; the
    outputs of masked steps repeat the last real step's (Keras' default), or are 0 with
    zero_output_for_mask."""
    rng = np.random.default_rng(7)
    lengths = [5, 2, 3]
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    layer = make(kind, 6, return_sequences=True)
    sequences = layer(x, mask=mask).numpy()
    layer.zero_output_for_mask = True
    zeroed = layer(x, mask=mask).numpy()
    for i, length in enumerate(lengths):
        alone = layer(x[i:i + 1, :length]).numpy()[0]
        assert_close(sequences[i, :length], alone, 1e-5)
        assert_close(sequences[i, length:], np.repeat(alone[-1:], 5 - length, axis=0), 1e-5)
        np.testing.assert_array_equal(zeroed[i, :length], sequences[i, :length])
        assert np.all(zeroed[i, length:] == 0)
    last = make(kind, 6, return_state=True)
    last.build((None, 5, 4))
    last.set_weights(layer.get_weights())
    output, *states = last(x, mask=mask)
    assert_close(output.numpy()[1], sequences[1, 1], 1e-5, what="last output = last unmasked")
    _, *alone = last(x[1:2, :2])
    for state, expected in zip(states, alone):  # h, and c for an LSTM, carried through
        assert_close(state.numpy()[1], expected.numpy()[0], 1e-5, what="final state")
    last.zero_output_for_mask = True  # Keras: the last output is the last step's, here 0
    output, *zeroed_states = last(x, mask=mask)
    assert np.all(output.numpy()[1:] == 0) and np.any(output.numpy()[0] != 0)
    for state, carried in zip(zeroed_states, states):
        np.testing.assert_array_equal(state.numpy(), carried.numpy())


def test_return_state_in_a_functional_model():
    x = nn.Input((5, 3))
    output, h, c = layers.LSTM(4, return_state=True)(x)
    decoded = layers.LSTM(4)(x, initial_state=[h, c])
    model = nn.Model(x, [output, h, c, decoded])
    outputs = model.predict(np.ones((2, 5, 3), np.float32))
    assert [o.shape for o in outputs] == [(2, 4)] * 4
    np.testing.assert_array_equal(outputs[0], outputs[1])  # the last output is h


def test_stateful_continues_across_batches():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    whole = layers.GRU(4, return_sequences=True)
    expected = whole(x).numpy()
    stateful = layers.GRU(4, return_sequences=True, stateful=True)
    stateful.build((None, 6, 3))
    stateful.set_weights(whole.get_weights())
    first, second = stateful(x[:, :3]).numpy(), stateful(x[:, 3:]).numpy()
    assert_close(np.concatenate([first, second], 1), expected, 1e-5)
    stateful.reset_states()
    assert_close(stateful(x[:, :3]).numpy(), first, 1e-6)
    with pytest.raises(ValueError, match="stateful with states for batches of 2"):
        stateful(x[:1])


def test_dropout_acts_only_in_training_and_is_seeded():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    outputs = []
    for _ in range(2):
        layer = layers.LSTM(4, dropout=0.5, recurrent_dropout=0.3, seed=3,
                            kernel_initializer=nn.initializers.GlorotUniform(seed=1),
                            recurrent_initializer=nn.initializers.Orthogonal(seed=2))
        outputs.append((layer(x, training=True).numpy(), layer(x).numpy()))
    assert np.array_equal(outputs[0][0], outputs[1][0]), "seeded masks differ"
    assert not np.allclose(outputs[0][0], outputs[0][1]), "dropout changed nothing"
    plain = layers.LSTM(4)
    plain.build((None, 5, 3))
    plain.set_weights(layer.get_weights())
    assert_close(outputs[1][1], plain(x).numpy(), 1e-6, what="inference ignores dropout")
    gru = layers.GRU(3, dropout=0.2, recurrent_dropout=0.2, seed=4)
    check_layer(gru, (3, 4, 2), rng, KERAS_PARAMS["gru"](2, 3))
    gru(x[:, :, :2], training=True).sum().backward()
    assert all(np.any(w.grad.numpy() != 0) for w in gru.trainable_weights)


def test_unit_forget_bias_and_orthogonal_recurrent_kernel():
    layer = layers.LSTM(3)
    layer.build((None, 4, 2))
    np.testing.assert_array_equal(layer.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    r = layer.recurrent_kernel.numpy().astype(np.float64)
    assert_close(r @ r.T, np.eye(3), 1e-6, what="rows of the recurrent kernel orthonormal")
    no_forget = layers.LSTM(3, unit_forget_bias=False)
    no_forget.build((None, 4, 2))
    assert not no_forget.bias.numpy().any()


# --- configs, checkpoints, errors ----------------------------------------------------
def test_bidirectional_config_round_trip():
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="sum")
    x = np.random.default_rng(10).standard_normal((2, 4, 2)).astype(np.float32)
    layer(x)
    description = json.loads(json.dumps(layers.serialize(layer)))
    clone = layers.deserialize(description)
    assert layers.serialize(clone) == description
    assert clone.forward_layer.name == layer.forward_layer.name
    clone.build(layer.input_shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


def test_save_and_load_a_model_with_recurrent_layers(tmp_path):
    from neuronet.io import checkpoint
    model = nn.Sequential([layers.Input((6, 3)), layers.Bidirectional(
        layers.LSTM(4, return_sequences=True)), layers.GRU(5, reset_after=False),
        layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(11).standard_normal((4, 6, 3)).astype(np.float32)
    model.fit(x, np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    checkpoint.save_model(model, tmp_path / "rnn.safetensors")
    loaded = checkpoint.load_model(tmp_path / "rnn.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bad_inputs_name_the_layer_and_both_shapes():
    layer = layers.LSTM(4, name="encoder")
    with pytest.raises(ValueError, match=r"LSTM 'encoder' expects inputs of shape \(batch, "
                                         r"steps, features\), got shape \(8, 3\); a 2-D"):
        layer(np.zeros((8, 3)))
    layer(np.zeros((8, 5, 3)))
    with pytest.raises(ValueError, match=r"LSTM 'encoder' expects inputs of shape \(batch, "
                                         r"steps, 3\), got shape \(8, 5, 7\)"):
        layer(np.zeros((8, 5, 7)))
    with pytest.raises(ValueError, match="expects 2 initial state"):
        layer(np.zeros((8, 5, 3)), initial_state=[np.zeros((8, 4))])
    with pytest.raises(TypeError):
        layers.SimpleRNN(3, recurrent_activation="sigmoid")


def test_train_a_sequence_classifier():
    """An LSTM learns which of two patterns a sequence holds (loss falls well)."""
    rng = np.random.default_rng(12)
    labels = rng.integers(0, 2, 64)
    x = rng.standard_normal((64, 8, 2)).astype(np.float32) * 0.3
    x[:, :, 0] += np.where(labels[:, None] == 1, 1.0, -1.0)
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((8, 2)), layers.LSTM(8), layers.Dense(2)])
    model.compile(optimizer=nn.optimizers.Adam(0.02),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, labels, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.95


@pytest.mark.parametrize("second", ["LSTM", "GRU", "SimpleRNN", "Bidirectional"])
def test_a_sequence_output_passes_its_mask_on_as_keras(rng, second):
    """Keras: LSTM(return_sequences) keeps the input's mask, so a second recurrent layer
    skips the padded steps; the model equals the one run on the unpadded steps."""
    def stack(steps, mask_zero):
        first = layers.LSTM(3, return_sequences=True)
        if second == "Bidirectional":
            first = layers.Bidirectional(layers.GRU(3, return_sequences=True))
        last = layers.Bidirectional(layers.GRU(2)) if second == "Bidirectional" else \
            getattr(layers, second)(2)
        return nn.Sequential([layers.Input((steps,)), layers.Embedding(9, 4, mask_zero=mask_zero),
                                    first, last])

    ids = rng.integers(1, 9, (3, 7)).astype("float32")
    ids[:, 5:] = 0
    padded, short = stack(7, True), stack(5, False)
    for mine, theirs in zip(short.weights, padded.weights):
        mine.data[...] = theirs.data
    np.testing.assert_allclose(padded.predict(ids), short.predict(ids[:, :5]), rtol=1e-5,
                                  atol=1e-6)


def test_zero_output_for_mask_in_the_config_and_set_by_bidirectional_as_keras():
    layer = layers.GRU(3, zero_output_for_mask=True)
    assert layers.GRU.from_config(layer.get_config()).zero_output_for_mask
    assert not layers.GRU(3).get_config()["zero_output_for_mask"]  # Keras' default
    for sequences in (False, True):
        pair = layers.Bidirectional(layers.LSTM(2, return_sequences=sequences,
                                                zero_output_for_mask=not sequences))
        assert [half.zero_output_for_mask for half in (pair.forward_layer,
                                                        pair.backward_layer)] == [sequences] * 2
    x = np.random.default_rng(11).standard_normal((2, 4, 2)).astype(np.float32)
    mask = np.array([[True, True, False, True], [True, True, True, True]])
    output = pair(x, mask=mask).numpy()
    assert np.all(output[0, 2] == 0) and np.all(output[0, [0, 1, 3]] != 0)
