"""Metrics written the Keras 3 way (as in Keras' guide to training with built-in methods:
state in add_variable, update_state / result / reset_state), standalone and in fit."""
import numpy as np
import pytest

import neuronet as nn
from neuronet import layers, metrics, ops


class CategoricalTruePositives(metrics.Metric):
    """How many samples the model puts in their class (weighted by sample_weight)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = np.argmax(np.asarray(y_pred), axis=-1)
        values = ops.cast(np.asarray(y_true).reshape(-1) == predicted, "float32")
        if sample_weight is not None:
            values = ops.mul(values, ops.cast(sample_weight, "float32"))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


class WeightedMean(metrics.Metric):
    """sum(w * y_pred) / sum(w), with result() returning a Tensor."""

    def __init__(self, name="weighted_mean", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
        weights = np.ones(values.shape) if sample_weight is None else sample_weight
        self.total.assign_add(ops.sum(ops.mul(values, ops.cast(weights, "float32"))))
        self.count.assign_add(ops.sum(ops.cast(weights, "float32")))

    def result(self):
        return ops.div(nn.tensor(self.total.value), nn.tensor(self.count.value))


class SamplesSeen(metrics.Metric):
    """How many samples update_state saw since the last reset (Keras' default reset)."""

    def __init__(self, name="samples_seen", **kwargs):
        super().__init__(name=name, **kwargs)
        self.seen = self.add_variable(shape=(), initializer="zeros", name="seen")

    def update_state(self, y_true, y_pred):
        self.seen.assign_add(len(y_true))

    def result(self):
        return self.seen / 1.0


def test_a_keras_style_metric_accumulates_resets_and_returns_a_float():
    metric = CategoricalTruePositives()
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    metric.update_state(np.array([0, 1, 1]), scores)
    assert metric.result() == 2.0 and type(metric.result()) is float
    metric.update_state(np.array([0, 0, 0]), scores, sample_weight=np.array([0.5, 3.0, 0.25]))
    assert metric.result() == pytest.approx(2.75)
    metric.reset_state()
    assert metric.result() == 0.0
    assert metric(np.array([1]), scores[1:2]) == 1.0
    assert [variable.name for variable in metric.variables] == ["ctp"]


def test_a_result_returned_as_a_tensor_comes_back_as_a_float():
    metric = WeightedMean()
    metric.update_state(None, np.array([1.0, 3.0]), sample_weight=np.array([3.0, 1.0]))
    assert metric.result() == pytest.approx(1.5) and type(metric.result()) is float


def test_the_default_reset_sets_every_variable_to_zero_as_keras_does():
    class Counters(metrics.Metric):
        def __init__(self):
            super().__init__(name="counters", dtype="float64")
            self.a = self.add_variable(shape=(2,), initializer="ones", name="a")
            self.b = self.add_variable(shape=(), dtype=np.dtype("int32"), name="b")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.a.assign_add(np.array([1.0, 2.0]))
            self.b.assign_add(3)
            self.a.assign_sub(0.5)

        def result(self):
            return self.a.numpy().sum() + self.b

    metric = Counters()
    assert metric.a.dtype == np.float64 and metric.b.dtype == np.int32
    assert np.all(metric.a.numpy() == 1.0) and int(metric.b) == 0
    metric.update_state(None, None)
    assert metric.result() == pytest.approx(1.5 + 2.5 + 3)
    metric.reset_state()
    assert np.all(metric.a.numpy() == 0.0) and int(metric.b) == 0


def test_variable_arithmetic_and_mistakes():
    metric = WeightedMean()
    metric.total.assign(6.0)
    metric.count.assign(4.0)
    assert float(metric.total / metric.count) == 1.5 and float(1 + metric.total) == 7.0
    assert float(metric.total - 1) == 5.0 and float(10 - metric.total) == 4.0
    scaled = metric.total * nn.tensor(np.array([1.0, 2.0]))
    assert isinstance(scaled, nn.Tensor) and np.all(scaled.data == [6.0, 12.0])
    with pytest.raises(ValueError, match=r"metric variable 'total' has shape \(\), cannot assign "
                                         r"a value of shape \(3,\)"):
        metric.total.assign(np.zeros(3))
    with pytest.raises(ValueError, match=r"expects aggregation in"):
        metric.add_variable(shape=(), aggregation="max")


def _classifier():
    nn.manual_seed(1)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                           layers.Dense(3)])
    model.compile(optimizer="adam",
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[CategoricalTruePositives(), SamplesSeen()])
    return model


def test_keras_style_metrics_in_compile_fit_and_evaluate(rng):
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    model = _classifier()
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert history.history["samples_seen"] == [40.0, 40.0, 40.0], "reset between epochs"
    assert all(0 <= value <= 40 for value in history.history["categorical_true_positives"])
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    right = float(np.sum(np.argmax(model.predict(x), axis=-1) == y))
    assert logs["categorical_true_positives"] == right and logs["samples_seen"] == 40.0
