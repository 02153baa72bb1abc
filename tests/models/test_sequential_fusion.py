"""Sequential runs Conv2D + MaxPooling2D as one op (conv2d(..., max_pool=...)) where the
numbers stay the same, and layer by layer everywhere else."""
import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import layers


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

    def counting(self, x, pool_layer):
        calls.append(self.name)
        return original(self, x, pool_layer)
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
