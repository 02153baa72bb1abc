import json

import numpy as np
import pytest

import neuronet as nn
from neuronet import layers, models


def small_cnn():
    return nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(5, activation="relu"),
        layers.Dense(3),
    ], name="cnn")


class Classifier(nn.Model):
    """A subclassed model holding a nested Sequential and a list of layers."""

    def __init__(self):
        super().__init__(name="classifier")
        self.body = nn.Sequential([layers.Dense(6, activation="relu")])
        self.heads = [layers.Dense(4, activation="relu"), layers.Dense(3)]

    def call(self, x, training=False):
        x = self.body(x, training=training)
        for layer in self.heads:
            x = layer(x, training=training)
        return x


# --- Sequential --------------------------------------------------------------------------
def test_input_first_builds_at_once_and_is_not_listed():
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    assert model.built and model.input_shape == (None, 4)
    assert [type(layer) for layer in model.layers] == [layers.Dense]
    assert model.count_params() == 4 * 3 + 3


def test_input_shape_argument_builds_at_once():
    model = nn.Sequential([layers.Dense(3, input_shape=(5,)), layers.Dense(2)])
    assert model.built and model.count_params() == (5 * 3 + 3) + (3 * 2 + 2)


def test_without_input_builds_on_first_call(rng):
    model = nn.Sequential([layers.Dense(3), layers.Dense(2)])
    assert not model.built
    y = model(rng.standard_normal((7, 5)))
    assert isinstance(y, nn.Tensor) and y.shape == (7, 2)
    assert model.built and model.input_shape == (None, 5)


def test_add_pop_and_rebuild(rng):
    model = nn.Sequential([layers.Input((4,))])
    model.add(layers.Dense(3))
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and popped.units == 2
    assert model(rng.standard_normal((2, 4))).shape == (2, 3)
    assert model.count_params() == 15


def test_build_makes_weights_for_the_shape():
    model = nn.Sequential([layers.Dense(3), layers.Dense(2)])
    model.build((None, 6))
    assert [w.shape for w in model.weights] == [(6, 3), (3,), (3, 2), (2,)]


def test_cnn_summary_matches_hand_derived_keras_counts():
    model = small_cnn()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Conv2D 3*3*1*4 + 4 = 40, output (6, 6, 4); pooling -> (3, 3, 4); BatchNormalization
    # 4 gamma + 4 beta (trainable) + 4 moving mean + 4 moving variance (not); Flatten 36;
    # Dense 36*5 + 5 = 185; Dense 5*3 + 3 = 18.
    expected_rows = [("conv2d", "Conv2D", "(None, 6, 6, 4)", "40"),
                     ("max_pooling2d", "MaxPooling2D", "(None, 3, 3, 4)", "0"),
                     ("batch_normalization", "BatchNormalization", "(None, 3, 3, 4)", "16"),
                     ("flatten", "Flatten", "(None, 36)", "0"),
                     ("dense", "Dense", "(None, 5)", "185"),
                     ("dense", "Dense", "(None, 3)", "18")]
    rows = [line.split() for line in lines if "(" in line and ")" in line and "Layer" not in line]
    assert len(rows) == len(expected_rows)
    for row, layer, (prefix, kind, shape, params) in zip(rows, model.layers, expected_rows):
        assert row[0].startswith(prefix) and row[1] == f"({kind})"
        assert " ".join(row[2:-1]) == shape and row[-1] == params
        assert layer.count_params() == int(params)
    assert lines[0] == 'Model: "cnn"'
    assert "Total params: 259" in text
    assert "Trainable params: 251" in text
    assert "Non-trainable params: 8" in text
    assert model.count_params() == 259
    assert sum(p.size for p in model.parameters()) == 251


def test_summary_before_build_is_an_error():
    with pytest.raises(ValueError, match="has not been built"):
        nn.Sequential([layers.Dense(2)]).summary()


def test_config_round_trip_through_json(rng):
    model = small_cnn()
    config = json.loads(json.dumps(model.get_config()))
    assert [d["class_name"] for d in config["layers"]] == [
        "InputLayer", "Conv2D", "MaxPooling2D", "BatchNormalization", "Flatten", "Dense", "Dense"]
    clone = nn.Sequential.from_config(config)
    assert clone.built and clone.get_config() == config
    clone.set_weights(model.get_weights())
    x = rng.standard_normal((3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))


@pytest.mark.parametrize("functional", [False, True])
def test_config_round_trip_keeps_a_float64_model_float64(rng, functional):
    inputs = nn.Input((3,), dtype="float64")
    dense = layers.Dense(2, dtype="float64")
    model = (nn.Model(inputs, dense(inputs), dtype="float64") if functional
             else nn.Sequential([inputs, dense], dtype="float64"))
    clone = layers.deserialize(json.loads(json.dumps(layers.serialize(model))))
    clone.set_weights(model.get_weights())
    x = rng.standard_normal((4, 3))
    assert clone.dtype == "float64" and clone.predict(x).dtype == np.float64
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))


def test_config_of_a_model_built_from_data_rebuilds(rng):
    model = nn.Sequential([layers.Dense(3), layers.Dense(2)])
    model(rng.standard_normal((4, 6)))
    clone = nn.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert clone.built and [w.shape for w in clone.weights] == [w.shape for w in model.weights]


def test_nested_sequential_serializes_through_the_layer_registry():
    inner = nn.Sequential([layers.Dense(3)], name="inner")
    model = nn.Sequential([layers.Input((2,)), inner, layers.Dense(1)])
    clone = nn.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert isinstance(clone.layers[0], nn.Sequential) and clone.count_params() == 9 + 4


# --- weights ---------------------------------------------------------------------------------
def test_get_and_set_weights_round_trip(rng):
    model = small_cnn()
    arrays = [rng.standard_normal(w.shape).astype(np.float32) for w in model.weights]
    tensors = model.weights
    model.set_weights(arrays)
    for weight, tensor, array in zip(model.get_weights(), model.weights, arrays):
        np.testing.assert_array_equal(weight, array)
    assert all(a is b for a, b in zip(tensors, model.weights))  # updated in place
    copies = model.get_weights()
    copies[0][...] = 0
    assert not np.all(model.weights[0].numpy() == 0)


def test_set_weights_errors_name_count_and_shape():
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)], name="m")
    with pytest.raises(ValueError, match="Sequential 'm' expects 2 weight arrays, got 1"):
        model.set_weights([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"weight 0 expects shape \(4, 3\), got \(3, 4\)"):
        model.set_weights([np.zeros((3, 4)), np.zeros(3)])


def test_freezing_the_model_freezes_its_layers():
    model = small_cnn()
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 10
    assert all(not w.requires_grad for w in model.weights)
    model.trainable = True
    assert len(model.trainable_weights) == 8


class Tied(nn.Model):
    """A weight of its own, and one Dense both inside a nested Sequential and held directly."""

    def __init__(self):
        super().__init__(name="tied")
        self.shared = layers.Dense(4, name="shared")
        self.body = nn.Sequential([self.shared], name="body")
        self.head = layers.Dense(2, name="head")

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (1,), "ones")
        super().build(input_shape)

    def call(self, x, training=False):
        return self.head(self.shared(self.body(x) * self.scale))


def test_a_model_lists_shared_weights_once_and_its_own_last():
    model = Tied()
    model.build((None, 4))
    assert [layer.name for layer in model.layers] == ["shared", "body", "head"]
    expected = [model.shared.kernel, model.shared.bias, model.head.kernel, model.head.bias,
                model.scale]
    assert [id(w) for w in model.weights] == [id(w) for w in expected]
    assert model.weight_names == ["shared/kernel", "shared/bias", "head/kernel", "head/bias",
                                  "scale"]
    assert model.count_params() == (16 + 4) + (8 + 2) + 1
    assert model.body.weight_names == ["shared/kernel", "shared/bias"]


def test_freezing_a_model_freezes_its_own_weights_too():
    model = Tied()
    model.build((None, 4))
    model.trainable = False
    assert not model.scale.requires_grad and not model.shared.kernel.requires_grad
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 5
    model.trainable = True
    assert model.scale.requires_grad and len(model.trainable_weights) == 5


def test_zero_grad_clears_every_gradient(rng):
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    model(rng.standard_normal((2, 4))).sum().backward()
    assert all(w.grad is not None for w in model.weights)
    model.zero_grad()
    assert all(w.grad is None for w in model.weights)


# --- subclassed models ---------------------------------------------------------------------
def test_subclassed_model_finds_layers_in_attribute_order(rng):
    model = Classifier()
    assert [type(layer) for layer in model.layers] == [nn.Sequential, layers.Dense, layers.Dense]
    model.build((None, 5))
    assert model.built
    assert [w.shape for w in model.weights] == [(5, 6), (6,), (6, 4), (4,), (4, 3), (3,)]
    assert model.count_params() == 36 + 28 + 15
    assert model(rng.standard_normal((2, 5))).shape == (2, 3)
    assert model.get_layer(index=0) is model.body
    assert model.get_layer(model.heads[1].name) is model.heads[1]
    with pytest.raises(ValueError, match="Classifier 'classifier' has no layer named 'nope'"):
        model.get_layer("nope")
    lines = []
    model.summary(print_fn=lines.append)
    assert any("(Sequential)" in line and line.split()[-1] == "36" for line in lines)


def test_subclassed_model_without_call_says_so(rng):
    class Empty(nn.Model):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define call"):
        Empty()(rng.standard_normal((2, 3)))


# --- bad input -----------------------------------------------------------------------------
def test_wrong_feature_shape_names_the_model(rng):
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)], name="mlp")
    with pytest.raises(ValueError, match=r"Sequential 'mlp' expects .*4.*got shape \(2, 5\)"):
        model(rng.standard_normal((2, 5)))


def test_bad_layers_are_refused():
    model = nn.Sequential([layers.Input((4,))])
    with pytest.raises(TypeError, match="add expects a Layer, got str"):
        model.add("dense")
    with pytest.raises(ValueError, match="an InputLayer must be the first layer"):
        model.add(layers.Input((4,)))
    model.add(layers.Dense(2, name="out"))
    with pytest.raises(ValueError, match="'out' is already in the model"):
        model.add(layers.Dense(2, name="out"))
    with pytest.raises(ValueError, match="no layers to pop"):
        nn.Sequential([layers.Input((4,))]).pop()


def test_model_of_inputs_and_outputs_is_functional_and_refuses_a_layer_as_output():
    inputs = layers.Input((3,))
    model = models.Model(inputs, layers.Dense(2)(inputs))
    assert isinstance(model, models.Functional) and isinstance(model, models.Model)
    with pytest.raises(TypeError, match=r"outputs must be symbolic tensors .* got Dense"):
        models.Model(layers.Input((3,)), layers.Dense(2))
