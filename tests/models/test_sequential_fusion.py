"""Sequential runs Conv2D + MaxPooling2D as one op (conv2d(..., max_pool=...)) where the
numbers stay the same, and layer by layer everywhere else, as its plan
(neuronet.execution.Plan) says: made once, and again when the layers change."""
import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import execution, layers


def _cnn(seed=0, conv_kwargs=None, pool=None):
    nn.manual_seed(seed)
    return nn.Sequential([
        layers.Input((12, 12, 2)),
        layers.Conv2D(4, 3, padding="same", **(conv_kwargs or {"activation": "relu"})),
        pool or layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(5)])


class _LayerByLayer(nn.Model):
    """The same layers called one after another: never fused."""

    def __init__(self, stack):
        super().__init__()
        self.stack = list(stack)

    def call(self, x, training=False):
        for layer in self.stack:
            x = layer(x, training=training)
        return x


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the calls of the fused path."""
    calls = []
    original = layers.Conv2D.call_max_pooled

    def counting(self, x, pool_size):
        calls.append(self.name)
        return original(self, x, pool_size)
    monkeypatch.setattr(layers.Conv2D, "call_max_pooled", counting)
    return calls


def _compiled(model):
    model.compile(optimizer=nn.optimizers.Adam(0.01),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_a_cnn_trains_to_the_same_weights_fused_and_layer_by_layer(fused_calls, rng):
    """In float64; the first convolution, whose input needs no gradient, sums its weight
    gradient in another order when fused, so the weights agree to rounding."""
    nn.set_floatx("float64")
    x = rng.standard_normal((16, 12, 12, 2))
    y = rng.integers(0, 5, 16)
    fused = _compiled(_cnn())
    plain = _compiled(_LayerByLayer(_cnn().layers))
    fused_calls.clear()  # building the models ran them on zeros
    for _ in range(3):
        fused.train_on_batch(x, y)
        plain.train_on_batch(x, y)
    assert fused_calls == [fused.layers[0].name, fused.layers[2].name] * 3
    for mine, theirs in zip(fused.get_weights(), plain.get_weights()):
        assert_close(mine, theirs, 1e-10)
    assert_close(fused.predict(x), plain.predict(x), 1e-10)


@pytest.mark.parametrize("conv_kwargs, pool", [
    ({"activation": "sigmoid"}, None),
    ({"activation": "relu"}, layers.MaxPooling2D(2, padding="same")),
    ({"activation": "relu"}, layers.MaxPooling2D(3, strides=2)),
    ({"activation": "relu"}, layers.AveragePooling2D(2)),
], ids=["sigmoid", "same-padding", "overlapping", "average"])
def test_pairs_that_would_compute_something_else_run_layer_by_layer(conv_kwargs, pool,
                                                                    fused_calls, rng):
    model = _cnn(conv_kwargs=conv_kwargs, pool=pool)
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    model.predict(x)
    fused_calls.clear()
    out = model.predict(x)
    assert fused_calls == [model.layers[2].name]  # only the second pair
    np.testing.assert_array_equal(out, _LayerByLayer(model.layers).predict(x))


def test_a_conv2d_subclass_is_never_fused(fused_calls, rng):
    class Doubled(layers.Conv2D):
        def call(self, x, training=False):
            return super().call(x, training) * 2.0

    model = nn.Sequential([layers.Input((8, 8, 1)), Doubled(2, 3, activation="relu"),
                           layers.MaxPooling2D(2)])
    x = rng.standard_normal((2, 8, 8, 1)).astype(np.float32)
    model.predict(x)
    out = model.predict(x)
    assert fused_calls == []
    np.testing.assert_array_equal(out, _LayerByLayer(model.layers).predict(x))


@pytest.fixture
def plans_made(monkeypatch):
    """Counts the plans made."""
    made = []
    original = execution.Plan.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)
    monkeypatch.setattr(execution.Plan, "__init__", counting)
    return made


def test_the_plan_is_made_once_not_per_batch(plans_made, fused_calls, rng):
    model = _compiled(_cnn())
    x = rng.standard_normal((4, 12, 12, 2)).astype(np.float32)
    y = rng.integers(0, 5, 4)
    model.train_on_batch(x, y)
    made = len(plans_made)
    fused_calls.clear()
    for _ in range(3):
        model.train_on_batch(x, y)
        model.predict(x)
    assert len(plans_made) == made and len(fused_calls) == 2 * 6


def test_adding_and_popping_layers_or_changing_their_settings_makes_a_new_plan(fused_calls,
                                                                               rng):
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((12, 12, 2)),
                           layers.Conv2D(4, 3, padding="same", activation="relu")])
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    model.predict(x)
    assert fused_calls == []
    model.add(layers.MaxPooling2D(2))
    fused = model.predict(x)
    assert fused_calls == [model.layers[0].name]
    model.layers[1].padding = "same"  # 12 x 12: the same output size, but no longer fusable
    fused_calls.clear()
    np.testing.assert_array_equal(model.predict(x), fused)
    assert fused_calls == []
    model.layers[1].padding = "valid"
    model.layers[0].activation = nn.activations.get("sigmoid")
    model.predict(x)
    assert fused_calls == []
    model.layers[0].activation = nn.activations.get("relu")
    model.predict(x)
    assert fused_calls == [model.layers[0].name]
    model.pop()
    fused_calls.clear()
    assert model.predict(x).shape == (3, 12, 12, 4) and fused_calls == []


def test_a_plan_runs_any_list_of_layer_steps_fused_like_a_sequential(rng):
    """The plan works on a list of layers, not on Sequential: a functional model reuses it."""
    model = _cnn()
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    plan = execution.Plan(model.layers)
    assert [type(step) for step in plan.steps[:2]] == [execution.ConvMaxPool] * 2
    assert plan.holds_blas
    with nn.no_grad(), plan.running():
        np.testing.assert_array_equal(plan.run(nn.tensor(x)).numpy(), model.predict(x))


def test_a_model_inside_a_model_holds_blas_when_its_layers_split_work():
    inner = nn.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3)])
    outer = nn.Sequential([layers.Input((6, 6, 1)), inner, layers.Flatten(), layers.Dense(2)])
    assert inner.execution_plan.holds_blas and outer.execution_plan.holds_blas
    dense_only = nn.Sequential([layers.Input((6, 6, 1)), layers.Flatten(), layers.Dense(2)])
    assert not nn.Sequential([layers.Input((6, 6, 1)), dense_only]).execution_plan.holds_blas


def _sequential(conv, pool):
    return nn.Sequential([layers.Input((8, 8, 2)), conv, pool])


def _functional(conv, pool):
    inputs = nn.Input((8, 8, 2))
    return nn.Model(inputs, pool(conv(inputs)))


@pytest.mark.parametrize("build", [_sequential, _functional])
@pytest.mark.parametrize("regularized", ["conv", "pool"])
def test_an_activity_regularizer_on_either_layer_keeps_the_pair_apart(build, regularized,
                                                                      fused_calls, rng):
    nn.manual_seed(0)
    conv = layers.Conv2D(4, 3, activation="relu",
                         activity_regularizer="l1" if regularized == "conv" else None)
    pool = layers.MaxPooling2D(2, activity_regularizer="l2" if regularized == "pool" else None)
    model = build(conv, pool)
    x = rng.standard_normal((2, 8, 8, 2)).astype(np.float32)
    model(x)
    out = model(x)  # planned now, both built
    penalties = [loss.item() for loss in model.losses]
    assert fused_calls == []
    layer = conv if regularized == "conv" else pool
    output = conv(x) if regularized == "conv" else out
    assert_close(penalties, [layer.activity_regularizer(output).item()], 1e-6)
    layer.activity_regularizer = None
    model(x)
    assert len(fused_calls) == 1 and model.losses == []
