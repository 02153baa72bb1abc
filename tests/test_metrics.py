import numpy as np
import pytest
import torch

import neuronet as nn
from neuronet import losses, metrics


def _scores(rng, n, classes):
    return rng.standard_normal((n, classes)).astype(np.float32)


def _one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


# --- hand-computed small cases -------------------------------------------------
def test_sparse_categorical_accuracy_by_hand():
    y_pred = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    metric = metrics.SparseCategoricalAccuracy()
    metric.update_state(np.array([0, 2, 1, 1]), y_pred)  # argmax 0, 1, 1, 2: two right
    assert metric.result() == pytest.approx(0.5)
    metric.reset_state()
    metric.update_state(np.array([[0], [1], [1], [2]]), y_pred)  # labels with a trailing 1
    assert metric.result() == pytest.approx(1.0)


def test_categorical_accuracy_by_hand():
    y_pred = np.array([[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]])
    metric = metrics.CategoricalAccuracy()
    metric.update_state(np.array([[1, 0], [1, 0], [0, 1]]), y_pred)
    assert metric.result() == pytest.approx(2 / 3)


def test_binary_accuracy_thresholds_by_hand():
    metric = metrics.BinaryAccuracy()
    # predictions 1, 1, 0, 0 against 1, 0, 1, 0: right, wrong, wrong, right
    metric.update_state(np.array([1, 0, 1, 0]), np.array([[0.7], [0.6], [0.4], [0.1]]))
    assert metric.result() == pytest.approx(0.5)
    logits = metrics.BinaryAccuracy(threshold=0.0)
    # predictions 1, 0, 1, 0 against 1, 0, 0, 0
    logits.update_state(np.array([1, 0, 0, 0]), np.array([2.0, -1.0, 0.5, -3.0]))
    assert logits.result() == pytest.approx(0.75)


def test_accuracy_is_exact_equality():
    metric = metrics.Accuracy()
    metric.update_state(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4]))
    assert metric.result() == pytest.approx(0.75)


def test_top_k_by_hand():
    y_pred = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    labels = np.array([2, 2, 0])  # in the top 2: yes, no, no
    sparse = metrics.SparseTopKCategoricalAccuracy(k=2)
    sparse.update_state(labels, y_pred)
    assert sparse.result() == pytest.approx(1 / 3)
    dense = metrics.TopKCategoricalAccuracy(k=2)
    dense.update_state(_one_hot(labels, 3), y_pred)
    assert dense.result() == pytest.approx(1 / 3)


def test_binary_precision_recall_f1_by_hand():
    y_true = np.array([1, 1, 0, 0, 1, 1])
    y_pred = np.array([0.9, 0.2, 0.8, 0.1, 0.7, 0.3])  # predicted 1, 0, 1, 0, 1, 0
    expected = {metrics.Precision: 2 / 3, metrics.Recall: 2 / 4, metrics.F1Score: 4 / 7}
    for cls, value in expected.items():
        metric = cls()
        metric.update_state(y_true, y_pred)
        assert metric.result() == pytest.approx(value), cls.__name__


def test_macro_precision_recall_f1_by_hand():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    y_pred = _one_hot(predicted, 3) * 0.8 + 0.1
    # per class (0, 1, 2): precision 1/2, 2/3, 1; recall 1/2, 1, 1/2; F1 1/2, 4/5, 2/3
    expected = {metrics.Precision: (0.5 + 2 / 3 + 1) / 3, metrics.Recall: 2 / 3,
                metrics.F1Score: (0.5 + 0.8 + 2 / 3) / 3}
    for cls, value in expected.items():
        metric = cls()
        metric.update_state(y_true, y_pred)
        assert metric.result() == pytest.approx(value), cls.__name__


def test_class_never_predicted_scores_zero():
    metric = metrics.Precision()
    metric.update_state(np.array([0, 1, 2]), _one_hot(np.array([0, 1, 1]), 3))
    # class 2 is never predicted: its precision counts as 0 in the macro mean
    assert metric.result() == pytest.approx((1 + 0.5 + 0) / 3)


def test_mean_absolute_error_by_hand():
    metric = metrics.MeanAbsoluteError()
    metric.update_state(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.5, 2.0], [2.0, 5.0]]))
    assert metric.result() == pytest.approx((0.25 + 1.0) / 2)


def test_confusion_matrix_by_hand():
    matrix = metrics.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 1, 1], num_classes=3)
    expected = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 1]])
    np.testing.assert_array_equal(matrix, expected)


# --- random data against torch ----------------------------------------------------
def test_accuracies_against_torch(rng):
    classes = int(rng.integers(2, 6))
    y_pred = _scores(rng, 50, classes)
    labels = rng.integers(0, classes, 50)
    expected = (torch.argmax(torch.tensor(y_pred), 1) == torch.tensor(labels)).float().mean()
    sparse, dense = metrics.SparseCategoricalAccuracy(), metrics.CategoricalAccuracy()
    sparse.update_state(labels, y_pred)
    dense.update_state(_one_hot(labels, classes), y_pred)
    assert sparse.result() == pytest.approx(expected.item())
    assert dense.result() == pytest.approx(expected.item())


def test_binary_accuracy_against_torch(rng):
    y_true = rng.integers(0, 2, (40, 1)).astype(np.float32)
    y_pred = rng.random((40, 1)).astype(np.float32)
    expected = ((torch.tensor(y_pred) > 0.5).float() == torch.tensor(y_true)).float().mean()
    metric = metrics.BinaryAccuracy()
    metric.update_state(y_true, y_pred)
    assert metric.result() == pytest.approx(expected.item())


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_against_torch(k, rng):
    y_pred = _scores(rng, 40, 5)
    labels = rng.integers(0, 5, 40)
    top = torch.topk(torch.tensor(y_pred), k, dim=1).indices
    expected = (top == torch.tensor(labels)[:, None]).any(dim=1).float().mean()
    metric = metrics.SparseTopKCategoricalAccuracy(k=k)
    metric.update_state(labels, y_pred)
    assert metric.result() == pytest.approx(expected.item())


def _torch_per_class(labels, predicted, classes):
    """Per-class precision, recall and F1 with torch (0 where undefined)."""
    t, p = torch.tensor(labels), torch.tensor(predicted)
    scores = {"precision": [], "recall": [], "f1": []}
    for c in range(classes):
        tp = ((p == c) & (t == c)).sum().item()
        n_pred, n_true = (p == c).sum().item(), (t == c).sum().item()
        scores["precision"].append(tp / n_pred if n_pred else 0.0)
        scores["recall"].append(tp / n_true if n_true else 0.0)
        scores["f1"].append(2 * tp / (n_pred + n_true) if n_pred + n_true else 0.0)
    return scores


def test_macro_scores_against_torch(rng):
    classes = 4
    y_pred = _scores(rng, 60, classes)
    labels = rng.integers(0, classes, 60)
    predicted = torch.argmax(torch.tensor(y_pred), 1).numpy()
    expected = _torch_per_class(labels, predicted, classes)
    for cls, key in [(metrics.Precision, "precision"), (metrics.Recall, "recall"),
                     (metrics.F1Score, "f1")]:
        metric = cls()
        metric.update_state(labels, y_pred)
        assert metric.result() == pytest.approx(np.mean(expected[key])), cls.__name__


def test_binary_scores_against_torch(rng):
    y_true = rng.integers(0, 2, 60)
    logits = rng.standard_normal(60).astype(np.float32)
    predicted = (torch.tensor(logits) > 0).long().numpy()
    expected = _torch_per_class(y_true, predicted, 2)
    for cls, key in [(metrics.Precision, "precision"), (metrics.Recall, "recall"),
                     (metrics.F1Score, "f1")]:
        metric = cls(threshold=0.0)
        metric.update_state(y_true, logits)
        assert metric.result() == pytest.approx(expected[key][1]), cls.__name__


def test_confusion_matrix_against_torch(rng):
    classes = int(rng.integers(2, 6))
    y_true, y_pred = rng.integers(0, classes, 80), rng.integers(0, classes, 80)
    expected = torch.zeros(classes, classes, dtype=torch.long)
    expected.index_put_((torch.tensor(y_true), torch.tensor(y_pred)),
                        torch.ones(80, dtype=torch.long), accumulate=True)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, classes),
                                  expected.numpy())


def test_mean_absolute_error_against_torch(rng):
    y_true, y_pred = rng.standard_normal((30, 3)), rng.standard_normal((30, 3))
    metric = metrics.MeanAbsoluteError()
    metric.update_state(y_true, y_pred)
    expected = torch.nn.functional.l1_loss(torch.tensor(y_pred), torch.tensor(y_true))
    assert metric.result() == pytest.approx(expected.item())


STREAMING = [metrics.SparseCategoricalAccuracy, metrics.SparseTopKCategoricalAccuracy,
             metrics.Precision, metrics.Recall, metrics.F1Score]


@pytest.mark.parametrize("cls", STREAMING)
def test_batches_accumulate_like_one_update(cls, rng):
    y_pred = _scores(rng, 70, 5)
    labels = rng.integers(0, 5, 70)
    whole, streamed = cls(), cls()
    whole.update_state(labels, y_pred)
    for start in range(0, 70, 32):
        streamed.update_state(labels[start:start + 32], y_pred[start:start + 32])
    assert streamed.result() == pytest.approx(whole.result())
    streamed.reset_state()
    streamed.update_state(labels[:10], y_pred[:10])
    fresh = cls()
    fresh.update_state(labels[:10], y_pred[:10])
    assert streamed.result() == pytest.approx(fresh.result())


# --- choosing metrics ---------------------------------------------------------------
@pytest.mark.parametrize("loss, expected_cls, threshold", [
    (losses.SparseCategoricalCrossentropy(), metrics.SparseCategoricalAccuracy, None),
    (losses.CategoricalCrossentropy(), metrics.CategoricalAccuracy, None),
    (losses.BinaryCrossentropy(), metrics.BinaryAccuracy, 0.5),
    (losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy, 0.0),
])
@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_accuracy_follows_the_loss(loss, expected_cls, threshold, name):
    metric = metrics.get(name, loss=loss)
    assert type(metric) is expected_cls
    assert metric.name == name
    if threshold is not None:
        assert metric.threshold == threshold


class MyBinary(losses.BinaryCrossentropy):
    pass


class MyCategorical(losses.CategoricalCrossentropy):
    pass


class MySparse(losses.SparseCategoricalCrossentropy):
    pass


@pytest.mark.parametrize("loss_class, expected_cls", [
    (MyBinary, metrics.BinaryAccuracy),
    (MyCategorical, metrics.CategoricalAccuracy),
    (MySparse, metrics.SparseCategoricalAccuracy),
])
@pytest.mark.parametrize("from_logits", [True, False])
def test_accuracy_follows_a_subclass_of_the_loss_and_its_from_logits(loss_class, expected_cls,
                                                                      from_logits):
    """Chosen by type and from_logits, not by the loss's class name."""
    metric = metrics.get("accuracy", loss=loss_class(from_logits=from_logits))
    assert type(metric) is expected_cls
    if expected_cls is metrics.BinaryAccuracy:
        assert metric.threshold == (0.0 if from_logits else 0.5)


def test_binary_accuracy_of_a_logits_subclass_thresholds_at_zero():
    metric = metrics.get("accuracy", loss=MyBinary(from_logits=True))
    metric.update_state(np.array([1, 1, 0]), np.array([[0.3], [2.0], [-0.4]]))  # logits
    assert metric.result() == pytest.approx(1.0)


def test_a_loss_merely_named_like_a_cross_entropy_does_not_choose_the_accuracy():
    impostor = type("BinaryCrossentropy", (losses.MeanSquaredError,), {})()
    assert type(metrics.get("accuracy", loss=impostor)) is metrics.ShapeChosenAccuracy


def test_accuracy_for_other_losses_follows_the_shapes(rng):
    binary = metrics.get("accuracy", loss=losses.MeanSquaredError())
    binary.update_state(np.array([1, 0, 1]), np.array([[0.9], [0.2], [0.3]]))
    assert binary.result() == pytest.approx(2 / 3)
    sparse = metrics.get("accuracy", loss=losses.MeanSquaredError())
    sparse.update_state(np.array([1, 0]), np.array([[0.1, 0.9], [0.3, 0.7]]))
    assert sparse.result() == pytest.approx(0.5)


def test_get_names_instances_and_logits():
    assert type(metrics.get("precision")) is metrics.Precision
    assert metrics.get("f1_score", loss=losses.BinaryCrossentropy(from_logits=True)).threshold == 0
    assert type(metrics.get("mae")) is metrics.MeanAbsoluteError
    metric = metrics.Recall()
    assert metrics.get(metric) is metric
    with pytest.raises(ValueError, match="unknown metric 'accurcy'.*sparse_categorical_accuracy"):
        metrics.get("accurcy")


# --- errors -----------------------------------------------------------------------------
def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"SparseCategoricalAccuracy: y_true must hold integer "
                                         r"labels of shape \(4,\).*got shape \(4, 2\)"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"CategoricalAccuracy: y_true must hold one-hot rows"):
        metrics.CategoricalAccuracy().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"same number of samples, got shapes \(5,\) and \(4, 3\)"):
        metrics.Precision().update_state(np.zeros(5), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"labels in \[0, 3\), got values from 0 to 3"):
        metrics.confusion_matrix([0, 3], [0, 1], num_classes=3)


@pytest.mark.parametrize("cls", [metrics.SparseCategoricalAccuracy, metrics.Recall])
def test_non_integral_class_labels_are_an_error_as_in_the_loss(cls):
    """Metrics read class indices by the loss's rule: 1.5 is not silently truncated to 1."""
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: y_true must hold integer class "
                                         r"indices, got non-integral values of dtype float64"):
        cls().update_state(np.array([0.0, 1.5]), np.zeros((2, 3)))


def test_class_count_change_is_an_error(rng):
    metric = metrics.F1Score()
    metric.update_state(np.array([0, 1]), _scores(rng, 2, 3))
    with pytest.raises(ValueError, match="F1Score got 4 classes after 3"):
        metric.update_state(np.array([0, 1]), _scores(rng, 2, 4))


# --- sample weights: Keras' weighted formulas ------------------------------------------------
def _weighted_mean(values, weights):
    return float(np.sum(weights * values) / np.sum(weights))


def test_mean_metrics_with_sample_weight_are_keras_weighted_means(rng):
    weights = rng.uniform(0, 2, 12)
    labels = rng.integers(0, 4, 12)
    scores = rng.standard_normal((12, 4))
    right = (scores.argmax(axis=1) == labels).astype(float)
    top2 = (np.argsort(-scores, axis=1)[:, :2] == labels[:, None]).any(axis=1).astype(float)
    one_hot = np.eye(4)[labels]
    probabilities = rng.uniform(0, 1, (12, 1))
    binary = rng.integers(0, 2, (12, 1))
    regression = rng.standard_normal((12, 3))
    cases = [
        (metrics.SparseCategoricalAccuracy(), labels, scores, right),
        (metrics.CategoricalAccuracy(), one_hot, scores, right),
        (metrics.SparseTopKCategoricalAccuracy(k=2), labels, scores, top2),
        (metrics.TopKCategoricalAccuracy(k=2), one_hot, scores, top2),
        (metrics.BinaryAccuracy(), binary, probabilities,
         ((probabilities > 0.5) == binary)[:, 0].astype(float)),
        (metrics.get("accuracy"), labels, scores, right),  # chosen from the shapes
        (metrics.MeanSquaredError(), regression, scores[:, :3],
         ((regression - scores[:, :3]) ** 2).mean(axis=1)),
        (metrics.MeanAbsoluteError(), regression, scores[:, :3],
         np.abs(regression - scores[:, :3]).mean(axis=1)),
    ]
    for metric, y_true, y_pred, values in cases:
        metric.update_state(y_true[:5], y_pred[:5], sample_weight=weights[:5])
        metric.update_state(y_true[5:], y_pred[5:], sample_weight=weights[5:, None])
        assert metric.result() == pytest.approx(_weighted_mean(values, weights), rel=1e-12), (
            type(metric).__name__)


def test_precision_recall_f1_with_sample_weight_count_weights(rng):
    weights = rng.uniform(0, 2, 20)
    y_true = rng.integers(0, 2, 20)
    scores = rng.uniform(0, 1, (20, 1))
    predicted = scores[:, 0] > 0.5
    tp = np.sum(weights * (predicted & (y_true == 1)))
    fp = np.sum(weights * (predicted & (y_true == 0)))
    fn = np.sum(weights * (~predicted & (y_true == 1)))
    expected = {metrics.Precision: tp / (tp + fp), metrics.Recall: tp / (tp + fn),
                metrics.F1Score: 2 * tp / (2 * tp + fp + fn)}
    for cls, value in expected.items():
        metric = cls()
        metric.update_state(y_true[:8], scores[:8], sample_weight=weights[:8])
        metric.update_state(y_true[8:], scores[8:], sample_weight=weights[8:])
        assert metric.result() == pytest.approx(value, rel=1e-12), cls.__name__


def test_a_zero_weight_leaves_a_sample_out_of_every_metric(rng):
    labels, scores = rng.integers(0, 3, 10), rng.standard_normal((10, 3))
    weights = (np.arange(10) % 2).astype(float)
    for cls in (metrics.SparseCategoricalAccuracy, metrics.Precision, metrics.Recall,
                metrics.F1Score):
        weighted, subset = cls(), cls()
        weighted.update_state(labels, scores, sample_weight=weights)
        subset.update_state(labels[1::2], scores[1::2])
        assert weighted.result() == pytest.approx(subset.result(), rel=1e-12), cls.__name__


def test_weighted_metrics_in_fit_follow_the_sample_weights(rng):
    nn.manual_seed(0)
    x, y = rng.standard_normal((16, 4)), rng.integers(0, 2, 16)
    weights = rng.uniform(0, 2, 16)
    model = nn.Sequential([nn.layers.Input((4,)), nn.layers.Dense(1, activation="sigmoid")])
    model.compile(nn.optimizers.SGD(learning_rate=0.0), "mse",
                  weighted_metrics=["accuracy", "precision"])
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    predicted = model.predict(x)[:, 0] > 0.5
    right = (predicted == y).astype(float)
    assert logs["accuracy"] == pytest.approx(_weighted_mean(right, weights), rel=1e-12)
    tp = np.sum(weights * (predicted & (y == 1)))
    assert logs["precision"] == pytest.approx(tp / np.sum(weights * predicted), rel=1e-12)
