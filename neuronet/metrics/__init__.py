"""Streaming metrics on NumPy arrays, as Keras reports them during ``fit``.

A metric accumulates over batches: ``update_state(y_true, y_pred)`` adds one
batch, ``result()`` gives the value over everything seen since
``reset_state()``. Metrics never touch the tape: they read the arrays.

Conventions for class predictions: ``y_pred`` of shape (N, C) with C > 1 holds
one score per class (the class is its argmax); ``y_pred`` of shape (N,) or
(N, 1) holds one score per sample for a binary problem (positive when above
``threshold``: 0.5 for probabilities, 0 for logits).

A metric of your own, the Keras 3 way, keeps its state in variables made by
``add_variable`` and updates them with ``assign_add``; ``reset_state`` sets them to 0
(Keras' default) and ``result`` may return a Tensor, an array or a variable: the value
comes back as a float. ``fit`` passes ``update_state`` NumPy arrays; ``neuronet.ops``
take them as they take Tensors.

Example:
    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([0, 2], [[0.9, 0.1, 0.0], [0.2, 0.5, 0.3]])
    >>> m.result()
    0.5
    >>> class Total(Metric):
    ...     def __init__(self, name="total", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.total = self.add_variable(shape=(), initializer="zeros", name="total")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.total.assign_add(ops.sum(y_pred))
    ...     def result(self):
    ...         return self.total
"""
from neuronet import losses
from neuronet.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                       ShapeChosenAccuracy, SparseCategoricalAccuracy,
                                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy)
from neuronet.metrics.base import Mean, MeanMetric, Metric, Variable
from neuronet.metrics.confusion import F1Score, Precision, Recall, class_labels, confusion_matrix
from neuronet.metrics.regression import MeanAbsoluteError, MeanSquaredError
from neuronet.registry import Registry

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "F1Score", "Mean",
           "MeanAbsoluteError", "MeanMetric", "MeanSquaredError", "Metric", "Precision",
           "Recall", "ShapeChosenAccuracy", "SparseCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy", "Variable",
           "class_labels", "confusion_matrix", "get", "register", "METRICS"]


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
