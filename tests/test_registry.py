"""The Registry helper, and a user's entry round-tripping through each of the six registries."""
import json

import numpy as np
import pytest

import neuronet as nn
from neuronet import activations, initializers, layers, losses, metrics, optimizers
from neuronet.backend import xp
from neuronet.layers.base import LAYERS
from neuronet.registry import Registry


class Shape:
    """A small configurable class for the registry tests."""

    def __init__(self, sides=3):
        self.sides = sides

    def get_config(self):
        return {"sides": self.sides}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Square(Shape):
    pass


class Circle(Shape):
    pass


@pytest.fixture
def shapes():
    registry = Registry("shape", base=Shape, hint="or draw one yourself")
    registry.register(Square, aliases=["square", "box"])
    return registry


# --- the helper ----------------------------------------------------------------------------
def test_names_and_aliases_find_the_entry(shapes):
    assert shapes.get("Square") is Square
    assert shapes.get("square") is Square and shapes.get("box") is Square
    assert "box" in shapes and "Box" not in shapes and 3 not in shapes
    assert list(shapes) == ["Square", "box", "square"]


def test_register_works_as_a_plain_call_and_as_both_decorators(shapes):
    @shapes.register
    class Triangle(Shape):
        pass

    @shapes.register(name="hexagon", aliases=["hex"])
    class Hexagon(Shape):
        pass

    assert shapes.register(Circle, "round") is Circle
    assert shapes.get("Triangle") is Triangle
    assert shapes.get("hex") is Hexagon and shapes.name_of(Hexagon) == "hexagon"
    assert shapes.get("round") is Circle


@pytest.mark.parametrize("name", ["Triangle", "BOX", None, 3, ["Square"]])
def test_an_unknown_name_is_a_value_error_listing_every_known_name(shapes, name):
    message = "unknown shape .*; known: 'Square', 'box', 'square'; or draw one yourself$"
    with pytest.raises(ValueError, match=message):
        shapes.get(name)


def test_the_caller_adds_the_names_it_resolves_itself(shapes):
    with pytest.raises(ValueError, match="known: 'Square', 'box', 'circle', 'square'"):
        shapes.get("Triangle", also=["circle"])


def test_case_insensitive_lookup_keeps_the_registered_name():
    registry = Registry("shape", case_sensitive=False)
    registry.register(Square, aliases=["Box"])
    assert registry.get("SQUARE") is Square and registry.get("box") is Square
    assert registry.name_of(Square) == "Square" and list(registry) == ["box", "square"]
    assert registry.serialize(Square(4))["class_name"] == "Square"
    with pytest.raises(ValueError, match="already registered as 'BOX'"):
        registry.register(Circle, "BOX")


def test_a_taken_name_is_refused_and_nothing_of_the_entry_is_registered(shapes):
    with pytest.raises(ValueError, match="a different shape is already registered as 'box'"):
        shapes.register(Circle, aliases=["disc", "box"])
    assert "Circle" not in shapes and "disc" not in shapes
    with pytest.raises(ValueError, match=r"not registered"):
        shapes.name_of(Circle)


def test_registering_again_adds_names_and_keeps_the_first_as_canonical(shapes):
    shapes.register(Square, "Quadrat")
    assert shapes.get("Quadrat") is Square and shapes.name_of(Square) == "Square"


def test_entries_must_be_of_the_kind():
    with pytest.raises(TypeError, match="register expects a Shape subclass, got <class 'int'>"):
        Registry("shape", base=Shape).register(int)
    with pytest.raises(TypeError, match="register expects a callable activation, got 3"):
        Registry("activation").register(3, "three")


def test_name_of_an_unregistered_entry_says_how_to_fix_it(shapes):
    with pytest.raises(ValueError, match=r"shape .*Circle.* is not registered, so it cannot be "
                                         r"saved by name: register it, or use one of 'Square'"):
        shapes.name_of(Circle)


def test_serialize_and_deserialize_round_trip_through_json(shapes):
    description = json.loads(json.dumps(shapes.serialize(Square(4))))
    assert description == {"class_name": "Square", "config": {"sides": 4}}
    clone = shapes.deserialize(description)
    assert type(clone) is Square and clone.sides == 4
    assert shapes.deserialize({"class_name": "box"}).sides == 3  # config optional


def test_deserialize_builds_only_registered_classes_never_an_import_path(shapes):
    # tests.test_registry.Circle is importable, but it is not registered.
    for name in ("Circle", "tests.test_registry.Circle", "os.system"):
        with pytest.raises(ValueError, match=f"cannot deserialize shape '{name}'; known: "):
            shapes.deserialize({"class_name": name, "config": {}})
    with pytest.raises(TypeError, match="a serialized shape is a dict"):
        shapes.deserialize("Square")


def test_serialize_an_unregistered_class_under_its_own_name(shapes):
    assert shapes.serialize(Circle())["class_name"] == "Circle"


# --- a user's entry in each of neuronet's registries ---------------------------------------
@pytest.fixture
def scratch_registries(monkeypatch):
    """Whatever a test registers is forgotten after it."""
    for registry in (LAYERS, initializers.INITIALIZERS, losses.LOSSES, optimizers.OPTIMIZERS,
                     activations.ACTIVATIONS, metrics.METRICS):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_names", dict(registry._names))


def _json(value):
    return json.loads(json.dumps(value))


def test_a_user_layer_under_its_own_name_round_trips(scratch_registries, rng):
    class Doubler(layers.Layer):
        def call(self, x, training=False):
            return x * 2.0

    layers.register(Doubler, "Twice")
    model = nn.Sequential([layers.Input((3,)), Doubler(), layers.Dense(2)])
    config = _json(model.get_config())
    assert config["layers"][1]["class_name"] == "Twice"
    clone = nn.Sequential.from_config(config)
    clone.set_weights(model.get_weights())
    x = rng.standard_normal((4, 3))
    assert isinstance(clone.layers[0], Doubler)
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))


def test_a_user_initializer_round_trips_by_name_and_through_a_layer(scratch_registries):
    @initializers.register
    class Arange(initializers.Initializer):
        def __init__(self, start=0.0):
            self.start = start

        def __call__(self, shape, dtype=None):
            size = int(np.prod(shape))
            return (self.start + xp.arange(size)).reshape(shape).astype(dtype or "float32")

        def get_config(self):
            return {"start": self.start}

    assert type(initializers.get("arange")) is Arange and initializers.get("Arange").start == 0
    layer = layers.Dense(2, kernel_initializer=Arange(5.0))
    clone = layers.deserialize(_json(layers.serialize(layer)))
    assert type(clone.kernel_initializer) is Arange and clone.kernel_initializer.start == 5.0
    clone(np.zeros((1, 3)))
    np.testing.assert_array_equal(clone.kernel.numpy(), 5.0 + np.arange(6.0).reshape(3, 2))


def test_a_user_loss_round_trips_by_name_alias_and_config(scratch_registries, rng):
    @losses.register(aliases=["mean_fourth_power"])
    class MeanFourthPower(losses.Loss):
        """loss_i = mean_d (y_pred_id - y_true_id)^4."""

        default_name = "mean_fourth_power"

        def call(self, y_true, y_pred):
            squared = (y_pred - nn.tensor(y_true, dtype=y_pred.dtype)) ** 2
            return nn.ops.mean(squared * squared, axis=-1)

    assert type(losses.get("mean_fourth_power")) is MeanFourthPower
    loss = MeanFourthPower(reduction="sum", name="quartic")
    description = _json(losses.serialize(loss))
    assert description["class_name"] == "MeanFourthPower"
    clone = losses.get(description)
    assert type(clone) is MeanFourthPower and clone.get_config() == loss.get_config()
    y_true, y_pred = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    expected = np.sum(np.mean((y_pred - y_true) ** 4, axis=-1))
    value = clone(y_true, nn.tensor(y_pred, dtype="float64"))
    assert float(value.numpy()) == pytest.approx(expected)


def test_a_user_optimizer_round_trips_case_insensitively(scratch_registries):
    @optimizers.register
    class SignSGD(optimizers.Optimizer):
        """p = p - lr * sign(g)."""

        name = "signsgd"

        def __init__(self, learning_rate=0.01, **kwargs):
            super().__init__(learning_rate, **kwargs)

        def create_slots(self, param):
            return {}

        def update(self, param, grad, state):
            param -= self.learning_rate * xp.sign(grad)

    assert type(optimizers.get("signsgd", learning_rate=0.5)) is SignSGD
    optimizer = optimizers.get("SIGNSGD", learning_rate=0.5)
    description = _json(optimizers.serialize(optimizer))
    assert description["class_name"] == "SignSGD"
    for config in (description, description["config"]):  # Keras' layout, or a plain config
        clone = optimizers.deserialize(config)
        assert type(clone) is SignSGD and clone.get_config() == optimizer.get_config()


def test_a_user_activation_round_trips_through_a_layer_config(scratch_registries, rng):
    @activations.register(aliases=["hard_tanh"])
    def hardtanh(x):
        return nn.ops.clip(x, -1.0, 1.0)

    assert activations.get("hard_tanh") is hardtanh and "hardtanh" in activations.ACTIVATIONS
    layer = layers.Dense(2, activation="hard_tanh")
    config = _json(layers.serialize(layer))
    assert config["config"]["activation"] == "hardtanh"
    clone = layers.deserialize(config)
    assert clone.activation is hardtanh


def test_a_user_metric_round_trips_through_compile_and_a_checkpoint(scratch_registries,
                                                                    tmp_path, rng):
    @metrics.register(name="mean_prediction", aliases=["mean_pred"])
    class MeanPrediction(metrics.MeanMetric):
        default_name = "mean_prediction"

        def values(self, y_true, y_pred):
            return y_pred.reshape(len(y_pred), -1).mean(axis=1)

    assert type(metrics.get("Mean_Pred")) is MeanPrediction
    model = nn.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mean_pred"])
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.safetensors")
    clone = nn.models.load_model(tmp_path / "model.safetensors")
    [metric] = clone.compiled_metrics
    assert type(metric) is MeanPrediction and metric.name == "mean_pred"
    assert clone.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
