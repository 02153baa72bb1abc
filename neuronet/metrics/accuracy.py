"""The accuracy family: exact, binary, categorical, sparse, top-k, and the 'accuracy'
that the first batch's shapes choose."""
from neuronet import targets
from neuronet.backend import xp
from neuronet.metrics.base import MeanMetric, _is_binary, _StateInAttributes


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


class ShapeChosenAccuracy(_StateInAttributes):
    """'accuracy' for a loss that does not tell the task: chosen from the first batch's shapes.

    Binary scores (N,) / (N, 1) -> BinaryAccuracy; integer targets with one
    axis fewer -> SparseCategoricalAccuracy; otherwise CategoricalAccuracy
    (Keras 3's rule).
    """

    default_name = "accuracy"

    def reset_state(self):
        self.chosen = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.chosen is None:
            self.chosen = self._choose(targets.as_array(y_true), targets.as_array(y_pred))
        self.chosen.update_state(y_true, y_pred, sample_weight=sample_weight)

    def _choose(self, y_true, y_pred):
        if _is_binary(y_pred):
            return BinaryAccuracy(self.name)
        if y_true.shape != y_pred.shape:
            return SparseCategoricalAccuracy(self.name)
        return CategoricalAccuracy(self.name)

    def result(self):
        return self.chosen.result() if self.chosen is not None else 0.0
