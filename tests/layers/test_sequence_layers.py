"""Embedding, Masking, Conv1D, the 1-D poolings and TimeDistributed: shapes, Keras'
parameter counts, configs, PyTorch twins, errors, checkpoints."""
import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import TOLERANCE, assert_close, check_gradients
from layer_harness import (check_config_round_trip, check_layer, check_layer_against_torch,
                           check_layers_gradients)
import neuronet as nn
from neuronet import layers
from neuronet.layers import masks


@pytest.fixture
def rng():
    return np.random.default_rng(3)


# --- Embedding -------------------------------------------------------------------------
def test_embedding_shape_count_config_and_default_initializer(rng):
    layer = layers.Embedding(10000, 16)
    ids = rng.integers(0, 10000, (4, 7))
    y = layer(ids)
    assert y.shape == (4, 7, 16) and y.dtype == np.float32
    assert layer.count_params() == 160_000
    assert layer.compute_output_shape((None, 7)) == (None, 7, 16)
    assert layer.weight_names == ["embeddings"]
    weights = layer.embeddings.numpy()
    assert weights.min() >= -0.05 and weights.max() <= 0.05 and weights.std() > 0.02
    check_config_round_trip(layer, ids)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_matches_torch(rng, dtype):
    layer = layers.Embedding(9, 5, dtype=np.dtype(dtype).name)
    ids = rng.integers(0, 9, (3, 6))
    ids[0, :3] = 4
    layer.build((None, 6))
    table = rng.standard_normal((9, 5)).astype(dtype)
    layer.set_weights([table])
    theirs = torch.tensor(table, requires_grad=True)
    y, y_torch = layer(ids), F.embedding(torch.from_numpy(ids), theirs)
    assert_close(y.numpy(), y_torch.detach().numpy(), TOLERANCE[dtype])
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    y_torch.backward(torch.from_numpy(gy))
    assert_close(layer.embeddings.grad, theirs.grad.numpy(), TOLERANCE[dtype])


@pytest.mark.parametrize("bad", [10, 57, -1])
def test_embedding_names_the_layer_the_id_and_input_dim(bad):
    layer = layers.Embedding(10, 4, name="words")
    with pytest.raises(ValueError, match=rf"Embedding 'words' got id {bad}, outside \[0, 10\) "
                                         rf"\(input_dim 10\), in input of shape \(2, 3\)"):
        layer(np.array([[1, 2, 3], [4, bad, 0]]))


def test_embedding_mask_zero_makes_the_mask_and_input_length_is_ignored():
    with pytest.warns(UserWarning, match="input_length is ignored"):
        layer = layers.Embedding(5, 3, mask_zero=True, input_length=4)
    ids = np.array([[3, 1, 0, 0], [2, 0, 4, 0]])
    y = layer(ids)
    np.testing.assert_array_equal(masks.get_mask(y), ids != 0)
    np.testing.assert_array_equal(layer.compute_mask(nn.tensor(ids)).astype(int), ids != 0)
    assert masks.get_mask(layers.Embedding(5, 3)(ids)) is None
    assert layers.Embedding(5, 3).compute_mask(nn.tensor(ids)) is None


# --- Masking -----------------------------------------------------------------------------
def test_masking_zeroes_padded_steps_and_marks_them(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    x[0, 3:] = -1.0
    x[1, 1] = -1.0
    x[1, 2, 0] = -1.0  # one feature equal to mask_value is not padding
    layer = layers.Masking(mask_value=-1.0)
    y = layer(x)
    expected_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(masks.get_mask(y), expected_mask)
    np.testing.assert_array_equal(y.numpy(), x * expected_mask[..., None])
    assert json.loads(json.dumps(layer.get_config()))["mask_value"] == -1.0
    check_config_round_trip(layer, x)


# --- Conv1D ------------------------------------------------------------------------------
class ChannelsLastConv1d(torch.nn.Module):
    """torch's Conv1d on (N, T, C), with neuronet's padding done by hand."""

    def __init__(self, conv, pads):
        super().__init__()
        self.conv, self.pads = conv, pads

    def forward(self, x):
        return self.conv(F.pad(x.permute(0, 2, 1), self.pads)).permute(0, 2, 1)


CONV_WEIGHTS = [("conv.weight", lambda k: k.transpose(2, 1, 0)), ("conv.bias", lambda b: b)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding,strides,dilation,pads", [
    ("valid", 1, 1, (0, 0)), ("same", 1, 1, (1, 1)), ("causal", 1, 2, (4, 0)),
    ("same", 2, 1, (0, 1)), ("valid", 3, 1, (0, 0))])
def test_conv1d_matches_torch(rng, dtype, padding, strides, dilation, pads):
    module = ChannelsLastConv1d(torch.nn.Conv1d(4, 6, 3, stride=strides, dilation=dilation),
                                pads)
    check_layer_against_torch(
        lambda dtype: layers.Conv1D(6, 3, strides=strides, padding=padding,
                                    dilation_rate=dilation, dtype=dtype),
        module, CONV_WEIGHTS, (2, 10, 4), rng, dtype)


def test_conv1d_shape_count_config_and_training(rng):
    layer = layers.Conv1D(64, 3, activation="relu")
    check_layer(layer, (2, 20, 28), rng, expected_params=5_440)  # Keras: 3*28*64 + 64
    assert layer.kernel.shape == (3, 28, 64)
    check_layer(layers.Conv1D(5, 4, padding="causal", use_bias=False, activation="tanh"),
                (2, 9, 3), rng, expected_params=60)
    assert layers.Conv1D(4, 3, strides=2, padding="same").compute_output_shape(
        (None, 9, 2)) == (None, 5, 4)


def test_conv1d_errors_name_the_layer_and_both_shapes():
    layer = layers.Conv1D(8, 3, name="c1")
    layer(np.zeros((2, 10, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv1D 'c1' expects inputs with last dimension 4, "
                                         r"got shape \(2, 10, 5\)"):
        layer(np.zeros((2, 10, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Conv1D 'c1' expects 3-D input \(batch, steps, "
                                         r"channels\), got shape \(10, 4\)"):
        layer(np.zeros((10, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="strides > 1 with dilation_rate > 1"):
        layers.Conv1D(8, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding in"):
        layers.Conv1D(8, 3, padding="full")


def test_conv1d_gradients_match_central_differences(rng):
    stack = [layers.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh",
                           dtype="float64"),
             layers.MaxPooling1D(2, padding="same", dtype="float64"),
             layers.Conv1D(2, 2, strides=2, dtype="float64"),
             layers.GlobalAveragePooling1D(dtype="float64")]
    check_layers_gradients(stack, (2, 9, 2), rng)


# --- poolings ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,expected", [
    (lambda: layers.MaxPooling1D(), (2, 4, 3)),
    (lambda: layers.AveragePooling1D(3, strides=2, padding="same"), (2, 5, 3)),
    (lambda: layers.GlobalAveragePooling1D(), (2, 3)),
    (lambda: layers.GlobalMaxPooling1D(keepdims=True), (2, 1, 3))])
def test_poolings_shapes_configs_and_training(rng, make, expected):
    layer = make()
    assert layer(rng.standard_normal((2, 9, 3))).shape == expected
    check_layer(make(), (2, 9, 3), rng, expected_params=0)


def test_poolings_match_torch(rng):
    x = rng.standard_normal((2, 9, 3))
    t = torch.tensor(x).permute(0, 2, 1)
    cases = [(layers.MaxPooling1D(3, strides=2), F.max_pool1d(t, 3, 2)),
             (layers.AveragePooling1D(2), F.avg_pool1d(t, 2)),
             (layers.GlobalAveragePooling1D(keepdims=True), t.mean(2, keepdim=True)),
             (layers.GlobalMaxPooling1D(keepdims=True), t.amax(2, keepdim=True))]
    for layer, expected in cases:
        assert_close(layer(x).numpy(), expected.permute(0, 2, 1).numpy(), 1e-6)
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    assert layers.get("AvgPool1D") is layers.AveragePooling1D


def test_global_average_pooling_averages_the_unmasked_steps_only(rng):
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)
    layer = layers.GlobalAveragePooling1D()
    y = layer(nn.tensor(x), mask=mask).numpy()
    np.testing.assert_allclose(y[0], x[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(y[1], x[1].mean(0), rtol=1e-6)
    np.testing.assert_array_equal(y[2], 0.0)  # every step masked: 0, not NaN
    assert masks.get_mask(layer(nn.tensor(x), mask=mask)) is None  # the mask ends here


def test_global_max_pooling_ignores_a_mask_as_keras_3_does(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    x[:, 3] = 100.0  # a padded step that wins
    masked = layers.Masking(mask_value=-7.0)(x)
    masks.set_mask(masked, np.array([[1, 1, 1, 0]] * 2, dtype=bool))
    with pytest.warns(UserWarning, match="does not support masking"):
        y = layers.GlobalMaxPooling1D()(masked)
    np.testing.assert_array_equal(y.numpy(), 100.0)


def test_pooling_errors_name_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"MaxPooling1D 'p' expects 3-D input \(batch, steps, "
                                         r"channels\), got shape \(2, 3, 4, 5\)"):
        layers.MaxPooling1D(name="p")(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="pool_size as a positive int"):
        layers.AveragePooling1D(0)


# --- TimeDistributed ---------------------------------------------------------------------
def test_time_distributed_applies_one_layer_to_every_step(rng):
    dense = layers.Dense(4)
    wrapper = layers.TimeDistributed(dense)
    x = rng.standard_normal((3, 5, 6)).astype(np.float32)
    y = wrapper(x).numpy()
    assert y.shape == (3, 5, 4) and wrapper.count_params() == 6 * 4 + 4
    for t in range(5):
        np.testing.assert_allclose(y[:, t], dense(x[:, t]).numpy(), rtol=1e-6, atol=1e-6)
    assert wrapper.compute_output_shape((None, 5, 6)) == (None, 5, 4)
    assert wrapper.weights == dense.weights
    check_layer(layers.TimeDistributed(layers.Dense(2, activation="tanh")), (2, 3, 4), rng,
                expected_params=10)


def test_time_distributed_of_a_conv2d_and_its_errors(rng):
    wrapper = layers.TimeDistributed(layers.Conv2D(2, 3, name="frames"), name="td")
    assert wrapper(rng.standard_normal((2, 4, 6, 6, 1))).shape == (2, 4, 4, 4, 2)
    with pytest.raises(ValueError, match=r"TimeDistributed 'td' expects input of at least 3 "
                                         r"dimensions"):
        wrapper(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"Conv2D 'frames' expects inputs with last dimension "
                                         r"1, got shape \(8, 6, 6, 3\)"):
        wrapper(np.zeros((2, 4, 6, 6, 3)))
    with pytest.raises(TypeError, match="expects a Layer"):
        layers.TimeDistributed("dense")


def test_time_distributed_passes_the_mask_through(rng):
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    y = layers.TimeDistributed(layers.Dense(2))(layers.Embedding(4, 3, mask_zero=True)(ids))
    np.testing.assert_array_equal(masks.get_mask(y), ids != 0)


# --- models, masks, checkpoints -------------------------------------------------------------
class Records(layers.Layer):
    supports_masking = True

    def call(self, x, training=False, mask=None):
        self.received = mask
        return x


def test_an_embedding_mask_reaches_a_later_call_in_sequential_and_functional_models():
    ids = np.array([[5, 2, 0, 0], [1, 1, 1, 0]])
    recorder = Records()
    model = nn.Sequential([nn.Input((4,)), layers.Embedding(6, 3, mask_zero=True),
                           layers.Dense(3), layers.Dropout(0.2), recorder,
                           layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model(ids, training=True)
    np.testing.assert_array_equal(recorder.received, ids != 0)

    inputs = nn.Input((4,))
    graph_recorder = Records()
    hidden = graph_recorder(layers.Dense(3)(layers.Embedding(6, 3, mask_zero=True)(inputs)))
    functional = nn.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(hidden)))
    with nn.no_grad():
        functional(ids)
    np.testing.assert_array_equal(graph_recorder.received, ids != 0)


def test_padding_does_not_change_a_masked_average(rng):
    """The same sentence padded to 4 or to 8 steps gives the same prediction."""
    model = nn.Sequential([nn.Input((None,)), layers.Embedding(10, 4, mask_zero=True),
                           layers.Dense(3, activation="tanh"), layers.GlobalAveragePooling1D(),
                           layers.Dense(1)])
    short = model(np.array([[3, 7, 2, 0]])).numpy()
    long = model(np.array([[3, 7, 2, 0, 0, 0, 0, 0]])).numpy()
    np.testing.assert_allclose(short, long, rtol=1e-6)
    unmasked = nn.Sequential([layers.Embedding(10, 4), layers.Dense(3, activation="tanh"),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)])
    unmasked.build((None, 4))
    unmasked.set_weights(model.get_weights())
    assert not np.allclose(unmasked(np.array([[3, 7, 2, 0]])).numpy(), short)


def _sequence_model():
    return nn.Sequential([
        nn.Input((12,)), layers.Embedding(30, 8, mask_zero=True),
        layers.TimeDistributed(layers.Dense(6, activation="relu")),
        layers.Conv1D(5, 3, padding="causal"), layers.AveragePooling1D(2),
        layers.MaxPooling1D(2, strides=1, padding="same"), layers.Masking(0.0),
        layers.GlobalAveragePooling1D(), layers.Dense(2)])


def test_summary_counts_and_checkpoint_round_trip(rng, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Conv1D drops the mask, as in Keras
        model = _sequence_model()
        ids = rng.integers(0, 30, (4, 12))
        expected = model(ids).numpy()
        lines = []
        model.summary(print_fn=lines.append)
        text = "\n".join(lines)
        # Keras' counts: 30*8; 8*6+6; 3*6*5+5; the poolings and Masking none; 5*2+2.
        assert [layer.count_params() for layer in model.layers] == [240, 54, 95, 0, 0, 0, 0,
                                                                    12]
        assert "Total params: 401" in text and "(None, 12, 6)" in text
        path = tmp_path / "sequence.safetensors"
        model.save(path)
        loaded = nn.io.load_model(path)
        np.testing.assert_array_equal(loaded(ids).numpy(), expected)
        assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]


def test_tiny_text_classifier_learns(rng):
    """Label 1 when token 7 occurs in the sentence: Embedding -> Conv1D ->
    GlobalMaxPooling1D -> Dense learns it in a few epochs."""
    nn.manual_seed(0)
    ids = rng.integers(1, 20, (600, 12))
    ids[ids == 7] = 8
    lengths = rng.integers(6, 13, 600)
    ids[np.arange(12) >= lengths[:, None]] = 0  # padded on the right
    positive = rng.random(600) < 0.5
    ids[positive, rng.integers(0, lengths[positive])] = 7
    labels = positive.astype(np.float32)[:, None]
    model = nn.Sequential([nn.Input((12,)), layers.Embedding(20, 8),
                           layers.Conv1D(16, 3, padding="same", activation="relu"),
                           layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    def accuracy():
        predictions = model.predict(ids[500:], verbose=0) > 0.5
        return np.mean(predictions == labels[500:].astype(bool))

    assert accuracy() < 0.8  # it has to learn
    model.fit(ids[:500], labels[:500], epochs=5, batch_size=32, verbose=0)
    assert accuracy() >= 0.95


def test_a_functional_sequence_model_survives_its_config_and_a_checkpoint(rng, tmp_path):
    inputs = nn.Input((6,))
    hidden = layers.Embedding(12, 4, mask_zero=True)(inputs)
    hidden = layers.TimeDistributed(layers.Dense(3, activation="tanh"))(hidden)
    outputs = layers.Dense(2)(layers.GlobalAveragePooling1D()(hidden))
    model = nn.Model(inputs, outputs)
    ids = rng.integers(0, 12, (5, 6))
    ids[:, 4:] = 0
    expected = model(ids).numpy()
    clone = nn.Functional.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(ids).numpy(), expected)
    model.save(tmp_path / "functional.safetensors")
    loaded = nn.io.load_model(tmp_path / "functional.safetensors")
    np.testing.assert_array_equal(loaded(ids).numpy(), expected)


def test_masked_average_gradient_matches_central_differences(rng):
    mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool)
    layer = layers.GlobalAveragePooling1D(dtype="float64")
    check_gradients(lambda x: layer(x, mask=mask), [rng.standard_normal((3, 4, 2))], rng)
