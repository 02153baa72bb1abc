"""The mask mechanism (neuronet.layers.masks): masks travel with tensors from layer to
layer, in Sequential and functional models, with and without a tape."""
import warnings

import numpy as np
import pytest

import neuronet as nn
from neuronet import layers
from neuronet.layers import masks


class MakesMask(layers.Layer):
    """Marks the steps whose first feature is not 0."""

    supports_masking = True

    def call(self, x):
        return x * 1.0

    def compute_mask(self, inputs, mask=None):
        return inputs.data[..., 0] != 0


class Records(layers.Layer):
    """Remembers the mask its call received; passes it on."""

    supports_masking = True

    def call(self, x, training=False, mask=None):
        self.received = mask
        return x * 2.0


class NoMasking(layers.Layer):
    def call(self, x):
        return x + 1.0


def _data():
    x = np.ones((2, 4, 3), dtype=np.float32)
    x[0, 2:, 0] = 0
    x[1, 3:, 0] = 0
    return x, x[..., 0] != 0


def test_the_mask_reaches_a_call_and_travels_on():
    x, expected = _data()
    recorder = Records()
    y = recorder(MakesMask()(x))
    np.testing.assert_array_equal(recorder.received, expected)
    np.testing.assert_array_equal(masks.get_mask(y), expected)
    np.testing.assert_array_equal(y._keras_mask, expected)  # Keras' attribute name


def test_dense_dropout_activation_pass_the_mask_on():
    x, expected = _data()
    y = MakesMask()(x)
    for layer in [layers.Dense(5), layers.Dropout(0.5), layers.Activation("relu"),
                  layers.LayerNormalization()]:
        y = layer(y, training=True)
        np.testing.assert_array_equal(masks.get_mask(y), expected, err_msg=layer.name)


def test_a_layer_without_masking_warns_and_drops_the_mask():
    x, _ = _data()
    layer = NoMasking(name="plain")
    with pytest.warns(UserWarning, match="NoMasking 'plain'.*does not support masking"):
        y = layer(MakesMask()(x))
    assert masks.get_mask(y) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x)  # no mask: no warning


def test_an_explicit_mask_wins_and_a_call_without_mask_refuses_one():
    x, expected = _data()
    recorder = Records()
    given = np.array([[True, False, True, False]] * 2)
    recorder(MakesMask()(x), mask=given)
    np.testing.assert_array_equal(recorder.received, given)
    with pytest.raises(TypeError, match="NoMasking 'no_masking.*' was given mask="):
        NoMasking()(x, mask=given)


def _steps_mask(inputs):
    """The (batch, steps) mask of the steps whose first feature is not 0, as graph ops."""
    return nn.ops.not_equal(inputs[:, :, 0], 0.0)


def test_a_symbolic_mask_given_in_a_layer_graph_reaches_the_call():
    x, expected = _data()
    inputs = nn.Input((4, 3))
    recorder = Records()
    model = nn.Model(inputs, recorder(layers.Dense(3)(inputs), mask=_steps_mask(inputs)))
    model(x)
    np.testing.assert_array_equal(recorder.received, expected)
    assert masks.get_mask(model(x)) is not None
    with pytest.raises(TypeError, match="NoMasking 'no_masking.*' was given mask="):
        NoMasking()(inputs, mask=_steps_mask(inputs))


def test_an_op_ends_the_mask_without_a_warning_as_keras_ops():
    x, _ = _data()
    inputs = nn.Input((4, 3))
    model = nn.Model(inputs, MakesMask()(inputs) * 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = model(x)
    assert masks.get_mask(y) is None


def test_a_layer_graph_mask_travels_in_the_config_as_keras_writes_it():
    x, expected = _data()
    x[..., 1:] = np.random.default_rng(3).normal(size=(2, 4, 2))
    inputs = nn.Input((4, 3))
    lstm = layers.LSTM(2, return_sequences=True)
    model = nn.Model(inputs, lstm(inputs, mask=_steps_mask(inputs)))
    np.testing.assert_allclose(model.predict(x), lstm(x, mask=expected).data, atol=1e-6)
    config = model.get_config()
    node = next(entry for entry in config["layers"] if entry["name"] == lstm.name)
    history = node["inbound_nodes"][0]["kwargs"]["mask"]["config"]["keras_history"]
    assert history[0].startswith("not_equal")
    again = nn.models.Functional.from_config(config)
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict(x), model.predict(x), atol=1e-6)


class TwoLayers(nn.Model):
    def __init__(self):
        super().__init__(dtype="float64")
        self.dense = layers.Dense(3, dtype="float64")
        self.recorder = Records(dtype="float64")

    def call(self, x, training=False):
        return self.recorder(self.dense(x))


def test_the_mask_survives_a_cast_to_a_model_dtype():
    x, expected = _data()
    model = TwoLayers()
    model(MakesMask()(x))  # float32 in, cast by the model before its layers see it
    np.testing.assert_array_equal(model.recorder.received, expected)


@pytest.mark.parametrize("tape", [True, False])
def test_sequential_and_functional_models_carry_masks(tape):
    x, expected = _data()
    recorder = Records()
    model = nn.Sequential([nn.Input((4, 3)), MakesMask(), layers.Dense(3), recorder])
    inputs = nn.Input((4, 3))
    graph_recorder = Records()
    hidden = layers.Dense(3)(MakesMask()(inputs))
    functional = nn.Model(inputs, graph_recorder(hidden))
    for model, seen in [(model, recorder), (functional, graph_recorder)]:
        if tape:
            y = model(nn.tensor(x, requires_grad=True))
        else:
            with nn.no_grad():
                y = model(x)
        np.testing.assert_array_equal(seen.received, expected)
        np.testing.assert_array_equal(masks.get_mask(y), expected)


def test_a_mask_given_to_a_model_reaches_its_layers_and_leaves_the_input_alone():
    x, _ = _data()
    given = np.array([[True, True, False, False]] * 2)
    recorder = Records()
    model = nn.Sequential([nn.Input((4, 3)), layers.Dense(3), recorder])
    inputs = nn.Input((4, 3))
    graph_recorder = Records()
    functional = nn.Model(inputs, graph_recorder(layers.Dense(3)(inputs)))
    tensor = nn.tensor(x)
    for model, seen in [(model, recorder), (functional, graph_recorder)]:
        model(tensor, mask=given)
        np.testing.assert_array_equal(seen.received, given)
        assert masks.get_mask(tensor) is None


def test_merge_layers_combine_their_inputs_masks_as_keras():
    x, _ = _data()
    first, second = nn.tensor(x), nn.tensor(x)
    masks.set_mask(first, np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool))
    masks.set_mask(second, np.array([[1, 0, 1, 0], [1, 1, 1, 1]], dtype=bool))
    both = np.array([[1, 0, 0, 0], [1, 1, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(masks.get_mask(layers.Add()([first, second])), both)
    np.testing.assert_array_equal(masks.get_mask(layers.Concatenate()([first, second])), both)
    plain = nn.tensor(x)
    np.testing.assert_array_equal(masks.get_mask(layers.Multiply()([first, plain])),
                                  masks.get_mask(first))
    joined = layers.Concatenate(axis=1)([first, plain])
    np.testing.assert_array_equal(masks.get_mask(joined),
                                  np.concatenate([masks.get_mask(first), np.ones((2, 4), bool)],
                                                 axis=1))
    assert masks.get_mask(layers.Add()([nn.tensor(x), nn.tensor(x)])) is None
    assert masks.get_mask(layers.Dot(axes=2)([first, second])) is None
