"""Targets and labels: one set of rules for losses, metrics and fit, and clear errors for
labels that are not numbers."""
import re

import numpy as np
import pytest

import neuronet as nn
from neuronet import layers, losses, metrics, optimizers, targets

BAD_LABELS = {
    "strings": np.array(["0", "1"]),
    "objects": np.array([0, 1], dtype=object),
    "complex": np.array([0 + 1j, 1 + 0j]),
}

# (loss, y_pred shape, expected kind of values); y_true has 2 samples.
LOSSES = [
    (losses.MeanSquaredError(), (2, 1), "real numbers"),
    (losses.MeanAbsoluteError(), (2, 1), "real numbers"),
    (losses.BinaryCrossentropy(), (2, 1), "real numbers"),
    (losses.BinaryCrossentropy(from_logits=True), (2, 1), "real numbers"),
    (losses.CategoricalCrossentropy(), (2, 2), "real numbers"),
    (losses.SparseCategoricalCrossentropy(), (2, 3), "integer class indices"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), (2, 3), "integer class indices"),
]


def _bad_labels_like(kind, shape):
    """Two bad labels laid out as y_true for y_pred of ``shape``."""
    labels = BAD_LABELS[kind]
    return labels if shape[-1] == 3 else np.stack([labels] * shape[-1], axis=-1)


@pytest.mark.parametrize("kind", BAD_LABELS)
@pytest.mark.parametrize("loss, shape, expected", LOSSES, ids=lambda v: repr(v)[:40])
def test_labels_that_are_not_numbers_name_the_loss_the_kind_and_the_dtype(loss, shape, expected,
                                                                          kind):
    y_true = _bad_labels_like(kind, shape)
    message = (rf"^{type(loss).__name__}: y_true must hold {expected} .*got dtype "
               rf"{re.escape(str(y_true.dtype))}$")
    with pytest.raises(ValueError, match=message):
        loss(y_true, nn.tensor(np.full(shape, 0.5)))


# (metric, y_pred shape, expected kind of values)
METRICS = [
    (metrics.Accuracy(), (2, 1), "real numbers"),
    (metrics.BinaryAccuracy(), (2, 1), "real numbers"),
    (metrics.CategoricalAccuracy(), (2, 2), "real numbers"),
    (metrics.SparseCategoricalAccuracy(), (2, 3), "integer class indices"),
    (metrics.TopKCategoricalAccuracy(k=1), (2, 2), "real numbers"),
    (metrics.SparseTopKCategoricalAccuracy(k=1), (2, 3), "integer class indices"),
    (metrics.MeanAbsoluteError(), (2, 1), "real numbers"),
    (metrics.MeanSquaredError(), (2, 1), "real numbers"),
    (metrics.Precision(), (2, 1), "real numbers"),
    (metrics.Recall(), (2, 3), "integer class indices"),
    (metrics.F1Score(), (2, 2), "real numbers"),
]


@pytest.mark.parametrize("kind", BAD_LABELS)
@pytest.mark.parametrize("metric, shape, expected", METRICS, ids=lambda v: repr(v)[:40])
def test_labels_that_are_not_numbers_name_the_metric(metric, shape, expected, kind):
    y_true = _bad_labels_like(kind, shape)
    with pytest.raises(ValueError, match=rf"^{type(metric).__name__}: y_true must hold "
                                         rf"{expected} .*got dtype"):
        metric.update_state(y_true, np.full(shape, 0.5, dtype=np.float32))


def _compiled_model():
    model = nn.Sequential([layers.Input((2,)), layers.Dense(3)])
    model.compile(optimizer=optimizers.SGD(), metrics=["accuracy"],
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


RUNS = {
    "fit": lambda model, x, y: model.fit(x, y, verbose=0),
    "evaluate": lambda model, x, y: model.evaluate(x, y, verbose=0),
    "train_on_batch": lambda model, x, y: model.train_on_batch(x, y),
    "test_on_batch": lambda model, x, y: model.test_on_batch(x, y),
}


@pytest.mark.parametrize("kind", BAD_LABELS)
@pytest.mark.parametrize("method", RUNS)
def test_labels_that_are_not_numbers_name_the_training_method(method, kind):
    x, y = np.zeros((2, 2), dtype=np.float32), BAD_LABELS[kind]
    with pytest.raises(ValueError, match=rf"^{method}: y must hold real numbers .*got dtype"):
        RUNS[method](_compiled_model(), x, y)


def test_bad_validation_labels_name_the_validation_data():
    x = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"^fit \(validation_data\): y must hold real numbers"):
        _compiled_model().fit(x, np.array([0, 1]), validation_data=(x, BAD_LABELS["strings"]),
                              verbose=0)


@pytest.mark.parametrize("labels", [np.array([0, 2, 1]), np.array([0.0, 2.0, 1.0]),
                                    np.array([[0], [2], [1]], dtype=np.int32),
                                    np.array([True, False, True])])
def test_numeric_labels_of_any_kind_still_work_in_fit(labels):
    x = np.zeros((3, 2), dtype=np.float32)
    assert np.isfinite(_compiled_model().train_on_batch(x, labels)[0])


# --- the array-level rules ------------------------------------------------------------

def test_aligned_shape_adds_or_drops_one_trailing_axis_of_one():
    assert targets.aligned_shape("L", (4,), (4, 1)) == (4, 1)
    assert targets.aligned_shape("L", (4, 1), (4,)) == (4,)
    assert targets.aligned_shape("L", (4, 3), (4, 3)) == (4, 3)
    for shape, pred_shape in [((4,), (4, 3)), ((3, 4), (4, 3)), ((4, 1, 1), (4,))]:
        with pytest.raises(ValueError, match=rf"^L: y_true shape {re.escape(str(shape))} does"):
            targets.aligned_shape("L", shape, pred_shape)


def test_float_target_keeps_the_values_in_the_requested_dtype():
    y = np.array([0.1, 0.2])
    target = targets.float_target("L", y, (2, 1), np.float64)
    assert target.dtype == np.float64 and target.shape == (2, 1)
    np.testing.assert_array_equal(target[:, 0], y)


def test_float64_targets_of_a_loss_keep_their_precision():
    """A float64 y_true array against a float64 y_pred is not rounded through float32."""
    y_true, y_pred = np.array([[0.1]]), nn.tensor([[0.3]], dtype="float64")
    assert losses.MeanSquaredError()(y_true, y_pred).item() == (0.3 - 0.1) ** 2


def test_class_indices_accept_integral_floats_and_a_trailing_axis():
    labels = targets.class_indices("L", np.array([[2.0], [0.0]]), (2, 3))
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, [2, 0])
    with pytest.raises(ValueError, match=r"^L: y_true must hold integer class indices, got "
                                         r"non-integral values"):
        targets.class_indices("L", np.array([0.5, 1.0]), (2, 3))
    with pytest.raises(ValueError, match=r"^L: class indices must lie in \[0, 3\), got values "
                                         r"from 0 to 3"):
        targets.check_class_range("L", np.array([0, 3]), 3)


def test_one_hot_classes_and_sample_classes():
    one_hot = np.eye(3)[[2, 0, 1]]
    np.testing.assert_array_equal(targets.one_hot_classes("M", one_hot, (3, 3)), [2, 0, 1])
    np.testing.assert_array_equal(targets.sample_classes(one_hot), [2, 0, 1])
    np.testing.assert_array_equal(targets.sample_classes(np.array([[1], [0]])), [1, 0])
    with pytest.raises(ValueError, match=r"^M: y_true must hold one-hot rows"):
        targets.one_hot_classes("M", one_hot, (3, 2))
