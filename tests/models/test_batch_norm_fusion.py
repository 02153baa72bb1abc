"""In inference without a tape, a model runs a linear Conv2D, the BatchNormalization after it
(and a ReLU after that) as one convolution with the normalisation folded into its kernel
and bias (ops.conv2d_normalized): equal to the layers one after another to rounding, in a
Sequential and in a layer graph; training, and calls that record a gradient, run the
layers one after another, as the plan says."""
import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import execution, layers, ops

TOLERANCE = {"float32": 2e-6, "float64": 1e-13}


@pytest.fixture
def fused_calls(monkeypatch):
    """The names of the convolutions that ran fused with their batch norm."""
    calls, original = [], layers.Conv2D.call_normalized

    def counting(self, x, batch_norm, relu):
        calls.append((self.name, relu))
        return original(self, x, batch_norm, relu)
    monkeypatch.setattr(layers.Conv2D, "call_normalized", counting)
    return calls


def _stack(relu, use_bias, center, scale, strides):
    return [layers.Conv2D(5, 3, strides=strides, padding="same", use_bias=use_bias),
            layers.BatchNormalization(center=center, scale=scale)] + (
        [relu()] if relu else []) + [layers.Flatten(), layers.Dense(3)]


def _trained_statistics(model, x, rng):
    """A few training steps, so that the moving statistics and the weights are not their
    initial values."""
    model.compile(optimizer=nn.optimizers.Adam(0.05),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, rng.integers(0, 3, len(x)), epochs=3, batch_size=4, verbose=0)


def _predicted_layer_by_layer(model, x, monkeypatch):
    """``model.predict(x)`` with a plan that fuses no conv + batch-norm pair."""
    with monkeypatch.context() as patch:
        patch.setattr(execution, "_normalizes", lambda conv, batch_norm: False)
        model._plan = None
        predicted = model.predict(x, verbose=0)
    model._plan = None
    return predicted


RELUS = {"ReLU": layers.ReLU, "Activation": lambda: layers.Activation("relu"), "none": None}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("use_bias, center, scale", [(False, True, True), (True, True, True),
                                                     (True, False, False),
                                                     (False, False, True)])
@pytest.mark.parametrize("relu", sorted(RELUS))
def test_a_sequential_predicts_fused_what_it_predicts_layer_by_layer(
        relu, use_bias, center, scale, strides, dtype, rng, fused_calls, monkeypatch):
    nn.set_floatx(dtype)
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((9, 8, 3))] + _stack(RELUS[relu], use_bias, center,
                                                             scale, strides))
    x = rng.standard_normal((12, 9, 8, 3))
    _trained_statistics(model, x, rng)
    fused_calls.clear()  # building the model ran it once in inference
    model.train_on_batch(x, rng.integers(0, 3, len(x)))
    assert fused_calls == []  # training runs the layers one after another
    fused = model.predict(x, verbose=0)
    assert fused_calls == [(model.layers[0].name, relu != "none")]
    unfused = _predicted_layer_by_layer(model, x, monkeypatch)
    assert len(fused_calls) == 1 and fused.dtype == unfused.dtype
    assert_close(fused, unfused, TOLERANCE[dtype])


def test_a_layer_graph_fuses_where_each_output_feeds_the_next_alone(rng, fused_calls,
                                                                   monkeypatch):
    """ResNet's shape: conv, batch norm, ReLU; conv, batch norm into an Add; and a batch
    norm whose output a second layer reads too (then the ReLU stays apart)."""
    nn.manual_seed(1)
    inputs = layers.Input((8, 8, 4))
    a = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(4, 3, padding="same")(inputs)))
    b = layers.BatchNormalization()(layers.Conv2D(4, 3, padding="same")(a))
    shared = layers.BatchNormalization()(layers.Conv2D(4, 1)(inputs))
    total = layers.Add()([layers.ReLU()(shared), b, shared])
    model = nn.Model(inputs, layers.Dense(3)(layers.GlobalAveragePooling2D()(total)))
    x = rng.standard_normal((10, 8, 8, 4))
    _trained_statistics(model, x, rng)
    fused_calls.clear()
    fused = model.predict(x, verbose=0)
    assert sorted(relu for _, relu in fused_calls) == [False, False, True]
    assert_close(fused, _predicted_layer_by_layer(model, x, monkeypatch), TOLERANCE["float32"])


def test_a_call_that_records_a_gradient_runs_the_layers_one_after_another(rng, fused_calls):
    nn.manual_seed(2)
    model = nn.Sequential([layers.Input((6, 6, 2))] + _stack(layers.ReLU, True, True, True, 1))
    x = rng.standard_normal((4, 6, 6, 2))
    _trained_statistics(model, x, rng)
    fused_calls.clear()
    y = model(nn.tensor(x), training=False)
    y.sum().backward()
    assert fused_calls == [] and model.layers[0].kernel.grad is not None
    with nn.no_grad():
        fused = model(nn.tensor(x), training=False)
    assert len(fused_calls) == 1
    assert_close(fused.numpy(), y.numpy(), TOLERANCE["float32"])


def test_pairs_that_would_compute_something_else_stay_apart(rng, fused_calls):
    """A conv with its own ReLU, a batch norm over another axis, an activity regularizer."""
    stacks = [
        [layers.Conv2D(3, 3, activation="relu"), layers.BatchNormalization()],
        [layers.Conv2D(3, 3), layers.BatchNormalization(axis=1)],
        [layers.Conv2D(3, 3, activity_regularizer="l2"), layers.BatchNormalization()],
    ]
    for stack in stacks:
        model = nn.Sequential([layers.Input((6, 6, 2))] + stack + [layers.Flatten()])
        model.predict(rng.standard_normal((2, 6, 6, 2)), verbose=0)
    assert fused_calls == []


def test_the_folded_convolution_is_for_inference_only(rng):
    x = nn.tensor(rng.standard_normal((2, 5, 5, 2)))
    w = nn.tensor(rng.standard_normal((3, 3, 2, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="inference"):
        ops.conv2d_normalized(x, w, None, np.ones(4), np.zeros(4))
    scale, shift = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    with nn.no_grad():
        folded = ops.conv2d_normalized(x, w, None, scale, shift, padding="same",
                                       activation="relu").numpy()
    separate = np.maximum(ops.conv2d(x, w.detach(), padding="same").numpy() * scale + shift, 0)
    assert_close(folded, separate, TOLERANCE["float32"])
