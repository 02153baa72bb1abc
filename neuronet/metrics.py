"""Streaming metrics on NumPy arrays, as Keras reports them during ``fit``.

A metric accumulates over batches: ``update_state(y_true, y_pred)`` adds one
batch, ``result()`` gives the value over everything seen since
``reset_state()``. Metrics never touch the tape: they read the arrays.

Conventions for class predictions: ``y_pred`` of shape (N, C) with C > 1 holds
one score per class (the class is its argmax); ``y_pred`` of shape (N,) or
(N, 1) holds one score per sample for a binary problem (positive when above
``threshold``: 0.5 for probabilities, 0 for logits).

Example:
    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([0, 2], [[0.9, 0.1, 0.0], [0.2, 0.5, 0.3]])
    >>> m.result()
    0.5
"""
from neuronet import losses, targets
from neuronet.backend import xp
from neuronet.registry import Registry


def _same_length(metric, y_true, y_pred):
    if len(y_true) != len(y_pred):
        raise ValueError(f"{metric} expects y_true and y_pred with the same number of samples, "
                         f"got shapes {y_true.shape} and {y_pred.shape}")


def _broadcast_weights(metric, sample_weight, values):
    """One weight per sample (shape (N,) or (N, 1)) spread over the values of each sample."""
    weights = targets.as_array(sample_weight).astype(xp.float64)
    if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    if weights.ndim > values.ndim or weights.shape != values.shape[:weights.ndim]:
        raise ValueError(f"{metric} expects one sample_weight per sample, got shape "
                         f"{weights.shape} for values of shape {values.shape}")
    weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    return xp.broadcast_to(weights, values.shape)


def _is_binary(y_pred):
    return y_pred.ndim == 1 or y_pred.shape[-1] == 1


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


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts ``m[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Args:
        y_true, y_pred: integer labels in ``[0, num_classes)``, same shape.
        num_classes: C; the result has shape (C, C) and integer counts.

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
    return xp.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reads, ``reset_state`` clears."""

    default_name = "metric"

    def __init__(self, name=None):
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class MeanMetric(Metric):
    """Mean over all samples seen of a per-sample value ``values(y_true, y_pred)``."""

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch; with ``sample_weight`` (one weight per sample) the result is the
        weighted mean sum_i w_i v_i / sum_i w_i over everything seen (Keras' Mean)."""
        y_true, y_pred = targets.as_array(y_true), targets.as_array(y_pred)
        _same_length(type(self).__name__, y_true, y_pred)
        values = self.values(y_true, y_pred)
        if sample_weight is None:
            self.total += float(xp.sum(values, dtype=xp.float64))
            self.count += values.size
            return
        weights = _broadcast_weights(type(self).__name__, sample_weight, values)
        self.total += float(xp.sum(values * weights, dtype=xp.float64))
        self.count += float(xp.sum(weights, dtype=xp.float64))

    def result(self):
        return self.total / self.count if self.count else 0.0


class Mean(Metric):
    """Weighted mean of scalars: ``update_state(value, weight)`` (fit's running loss)."""

    default_name = "mean"

    def reset_state(self):
        self.total, self.weight = 0.0, 0.0

    def update_state(self, value, weight=1.0):
        self.total += float(value) * weight
        self.weight += weight

    def result(self):
        return self.total / self.weight if self.weight else 0.0


class Accuracy(MeanMetric):
    """Fraction of predictions exactly equal to the targets: mean(y_true == y_pred)."""

    default_name = "accuracy"

    def values(self, y_true, y_pred):
        y_true = targets.checked("Accuracy", y_true)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"Accuracy expects y_true and y_pred of the same shape, "
                             f"got {y_true.shape} and {y_pred.shape}")
        return (y_true == y_pred).reshape(len(y_true), -1).mean(axis=1)


class BinaryAccuracy(MeanMetric):
    """Fraction of binary predictions right: mean(y_true == (y_pred > threshold)).

    ``threshold`` is 0.5 for probabilities; use 0 when the model outputs logits.
    """

    default_name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name)

    def values(self, y_true, y_pred):
        target = targets.same_size("BinaryAccuracy", y_true, y_pred.shape)
        right = target == (y_pred > self.threshold)
        return right.reshape(len(y_true), -1).mean(axis=1)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetric):
    """Fraction of samples whose argmax score is the one-hot target's class."""

    default_name = "categorical_accuracy"

    def values(self, y_true, y_pred):
        true = targets.one_hot_classes("CategoricalAccuracy", y_true, y_pred.shape)
        return true == xp.argmax(y_pred, axis=-1)


class SparseCategoricalAccuracy(MeanMetric):
    """Fraction of samples whose argmax score is the integer target."""

    default_name = "sparse_categorical_accuracy"

    def values(self, y_true, y_pred):
        true = targets.class_indices("SparseCategoricalAccuracy", y_true, y_pred.shape)
        return true == xp.argmax(y_pred, axis=-1)


def _in_top_k(labels, y_pred, k):
    """Whether each label's score is among the k largest (ties count in, as tf.math.in_top_k)."""
    true_scores = xp.take_along_axis(y_pred, labels[..., None], axis=-1)
    return xp.sum(y_pred > true_scores, axis=-1) < k


class TopKCategoricalAccuracy(MeanMetric):
    """Fraction of samples whose one-hot target class is among the k highest scores."""

    default_name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        self.k = k
        super().__init__(name)

    def values(self, y_true, y_pred):
        labels = targets.one_hot_classes("TopKCategoricalAccuracy", y_true, y_pred.shape)
        return _in_top_k(labels, y_pred, self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Fraction of samples whose integer target is among the k highest scores."""

    default_name = "sparse_top_k_categorical_accuracy"

    def values(self, y_true, y_pred):
        labels = targets.class_indices("SparseTopKCategoricalAccuracy", y_true, y_pred.shape)
        return _in_top_k(labels, y_pred, self.k)


class MeanAbsoluteError(MeanMetric):
    """mean |y_true - y_pred|: per sample over the last axis, then over samples (Keras)."""

    default_name = "mean_absolute_error"

    def values(self, y_true, y_pred):
        error = xp.abs(targets.same_size("MeanAbsoluteError", y_true, y_pred.shape) - y_pred)
        return error.reshape(len(y_pred), -1).mean(axis=1)


class MeanSquaredError(MeanMetric):
    """mean (y_true - y_pred)^2: per sample over the last axis, then over samples (Keras)."""

    default_name = "mean_squared_error"

    def values(self, y_true, y_pred):
        error = (targets.same_size("MeanSquaredError", y_true, y_pred.shape) - y_pred) ** 2
        return error.reshape(len(y_pred), -1).mean(axis=1)


class _ConfusionMetric(Metric):
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

    def update_state(self, y_true, y_pred):
        y_pred = targets.as_array(y_pred)
        binary = _is_binary(y_pred)
        num_classes = 2 if binary else y_pred.shape[-1]
        true, predicted = class_labels(y_true, y_pred, self.threshold, type(self).__name__)
        batch = confusion_matrix(true, predicted, num_classes)
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


METRICS = Registry("metric", base=Metric, case_sensitive=False)


def register(cls=None, name=None, aliases=()):
    """Make a Metric subclass known to ``get`` (and so to ``compile(metrics=[...])``) under
    ``name`` (its class name by default) and ``aliases``, whatever their case. ``get``
    builds it as ``cls(name=...)``. Usable as a decorator: ``@metrics.register`` or
    ``@metrics.register(name=..., aliases=[...])``."""
    return METRICS.register(cls, name, aliases)


register(BinaryAccuracy, "binary_accuracy")
register(CategoricalAccuracy, "categorical_accuracy")
register(SparseCategoricalAccuracy, "sparse_categorical_accuracy")
register(TopKCategoricalAccuracy, "top_k_categorical_accuracy")
register(SparseTopKCategoricalAccuracy, "sparse_top_k_categorical_accuracy")
register(Precision, "precision")
register(Recall, "recall")
register(F1Score, "f1_score")
register(MeanAbsoluteError, "mean_absolute_error", aliases=["mae"])
register(MeanSquaredError, "mean_squared_error", aliases=["mse"])

_THRESHOLDED = (BinaryAccuracy, Precision, Recall, F1Score)


def _loss_kind(loss):
    """'binary', 'categorical', 'sparse' for the cross-entropies (and their subclasses), else
    None; and whether the loss takes logits."""
    kinds = ((losses.BinaryCrossentropy, "binary"), (losses.CategoricalCrossentropy, "categorical"),
             (losses.SparseCategoricalCrossentropy, "sparse"))
    kind = next((name for cls, name in kinds if isinstance(loss, cls)), None)
    return kind, bool(getattr(loss, "from_logits", False))


def _accuracy_for(loss, name):
    """The accuracy Keras picks for 'accuracy' / 'acc' given the loss."""
    kind, logits = _loss_kind(loss)
    if kind == "binary":
        return BinaryAccuracy(name, threshold=0.0 if logits else 0.5)
    if kind == "sparse":
        return SparseCategoricalAccuracy(name)
    if kind == "categorical":
        return CategoricalAccuracy(name)
    return ShapeChosenAccuracy(name)


class ShapeChosenAccuracy(Metric):
    """'accuracy' for a loss that does not tell the task: chosen from the first batch's shapes.

    Binary scores (N,) / (N, 1) -> BinaryAccuracy; integer targets with one
    axis fewer -> SparseCategoricalAccuracy; otherwise CategoricalAccuracy
    (Keras 3's rule).
    """

    default_name = "accuracy"

    def reset_state(self):
        self.chosen = None

    def update_state(self, y_true, y_pred):
        if self.chosen is None:
            self.chosen = self._choose(targets.as_array(y_true), targets.as_array(y_pred))
        self.chosen.update_state(y_true, y_pred)

    def _choose(self, y_true, y_pred):
        if _is_binary(y_pred):
            return BinaryAccuracy(self.name)
        if y_true.shape != y_pred.shape:
            return SparseCategoricalAccuracy(self.name)
        return CategoricalAccuracy(self.name)

    def result(self):
        return self.chosen.result() if self.chosen is not None else 0.0


def get(identifier, loss=None):
    """A metric from a name or an instance, as ``compile(metrics=[...])`` takes them.

    'accuracy' / 'acc' follow the loss as in Keras: BinaryCrossentropy ->
    BinaryAccuracy, CategoricalCrossentropy -> CategoricalAccuracy,
    SparseCategoricalCrossentropy -> SparseCategoricalAccuracy. With a
    from_logits=True loss, binary thresholds are 0 instead of 0.5. The metric is
    named after the string given (so logs say 'acc' when you asked for 'acc').
    """
    if isinstance(identifier, Metric):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"metrics.get expects a metric name or a Metric, got {identifier!r}")
    key = identifier.lower()
    if key in ("accuracy", "acc"):
        return _accuracy_for(loss, identifier)
    cls = METRICS.get(identifier, also=("accuracy", "acc"))
    if issubclass(cls, _THRESHOLDED) and _loss_kind(loss)[1]:
        return cls(identifier, threshold=0.0)
    return cls(name=identifier)
