"""Metrics read from a confusion matrix: precision, recall, F1 (binary or macro-averaged)."""
from neuronet import targets
from neuronet.backend import xp
from neuronet.metrics.base import (_broadcast_weights, _is_binary, _same_length,
                                   _StateInAttributes)


def class_labels(y_true, y_pred, threshold=0.5, metric="metric"):
    """Integer (true, predicted) labels from targets and scores.

    Binary scores (N,) or (N, 1): predicted = score > threshold, true = y_true
    as 0/1. Class scores (N, C): predicted = argmax; y_true may be integer
    labels (N,) / (N, 1) or one-hot rows (N, C).
    """
    y_true, y_pred = targets.as_array(y_true), targets.as_array(y_pred)
    _same_length(metric, y_true, y_pred)
    if _is_binary(y_pred):
        true = targets.same_size(metric, y_true, y_pred.shape).astype(xp.int64)
        return true.reshape(-1), (y_pred.reshape(-1) > threshold).astype(xp.int64)
    if y_true.shape == y_pred.shape:
        true = targets.one_hot_classes(metric, y_true, y_pred.shape)
    else:
        true = targets.class_indices(metric, y_true, y_pred.shape)
    return true.reshape(-1), xp.argmax(y_pred, axis=-1).reshape(-1)


def confusion_matrix(y_true, y_pred, num_classes, sample_weight=None):
    """Counts ``m[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Args:
        y_true, y_pred: integer labels in ``[0, num_classes)``, same shape.
        num_classes: C; the result has shape (C, C) and integer counts.
        sample_weight: one weight per label: ``m[i, j]`` is then the sum of the weights
            (floats) instead of the count.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2)
        array([[1, 0],
               [1, 1]])
    """
    y_true, y_pred = targets.as_array(y_true).reshape(-1), targets.as_array(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix expects y_true and y_pred of the same length, "
                         f"got {y_true.size} and {y_pred.size}")
    for what, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"confusion_matrix expects {what} labels in [0, {num_classes}), "
                             f"got values from {labels.min()} to {labels.max()}")
    flat = y_true.astype(xp.int64) * num_classes + y_pred.astype(xp.int64)
    weights = None if sample_weight is None else targets.as_array(sample_weight).reshape(-1)
    if weights is not None and weights.shape != flat.shape:
        raise ValueError(f"confusion_matrix expects one sample_weight per label, got "
                         f"{weights.size} weights for {flat.size} labels")
    counts = xp.bincount(flat, weights=weights, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


class _ConfusionMetric(_StateInAttributes):
    """Accumulates a confusion matrix; subclasses read precision/recall/F1 from it.

    Binary scores give a 2x2 matrix and the score of the positive class (1);
    class scores (N, C) give a CxC matrix and the macro average over classes
    (a class never predicted, or never present, contributes 0).
    """

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name)

    def reset_state(self):
        self.matrix, self.binary = None, None

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch; with ``sample_weight`` (one weight per sample) every count is a sum
        of weights: TP = sum_i w_i [true_i = pred_i = c], ... (Keras' weighted counts)."""
        y_pred = targets.as_array(y_pred)
        binary = _is_binary(y_pred)
        num_classes = 2 if binary else y_pred.shape[-1]
        name = type(self).__name__
        true, predicted = class_labels(y_true, y_pred, self.threshold, name)
        if sample_weight is not None:
            per_sample = xp.empty((len(y_pred), true.size // max(len(y_pred), 1)))
            sample_weight = _broadcast_weights(name, sample_weight, per_sample).reshape(-1)
        batch = confusion_matrix(true, predicted, num_classes, sample_weight).astype(xp.float64)
        if self.matrix is None:
            self.matrix, self.binary = batch, binary
        elif self.matrix.shape != batch.shape:
            raise ValueError(f"{type(self).__name__} got {num_classes} classes after "
                             f"{len(self.matrix)}: call reset_state() between problems")
        else:
            self.matrix += batch

    def _per_class(self):
        """(true positives, predicted positives, actual positives) per class."""
        return xp.diag(self.matrix), self.matrix.sum(axis=0), self.matrix.sum(axis=1)

    def result(self):
        if self.matrix is None:
            return 0.0
        scores = self.per_class_scores()
        return float(scores[1] if self.binary else scores.mean())

    def per_class_scores(self):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


def _ratio(numerator, denominator):
    """numerator / denominator, with 0 where the denominator is 0."""
    safe = xp.where(denominator > 0, denominator, 1)
    return xp.where(denominator > 0, numerator / safe, 0.0)


class Precision(_ConfusionMetric):
    """precision = TP / (TP + FP): of the samples predicted in a class, the fraction right."""

    default_name = "precision"

    def per_class_scores(self):
        true_positives, predicted, _ = self._per_class()
        return _ratio(true_positives, predicted)


class Recall(_ConfusionMetric):
    """recall = TP / (TP + FN): of the samples of a class, the fraction found."""

    default_name = "recall"

    def per_class_scores(self):
        true_positives, _, actual = self._per_class()
        return _ratio(true_positives, actual)


class F1Score(_ConfusionMetric):
    """F1 = 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall."""

    default_name = "f1_score"

    def per_class_scores(self):
        true_positives, predicted, actual = self._per_class()
        return _ratio(2 * true_positives, predicted + actual)
