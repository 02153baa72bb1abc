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
import functools

from neuronet import backend, initializers, losses, targets
from neuronet.backend import xp
from neuronet.registry import Registry
from neuronet.tensor import Tensor


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


def _array_of(value):
    """The array behind a Tensor, a Variable, an array or a number."""
    return xp.asarray(value.data if isinstance(value, Tensor) else value)


class Variable:
    """A metric's state (Keras' metric variable): an array changed in place by ``assign``,
    ``assign_add`` and ``assign_sub``, and read as a number (``+ - * /`` and ``float()``
    work on it; with a Tensor they give a Tensor).

    Args:
        value: the initial array; its shape and dtype stay.
        name: how messages and ``repr`` name it.
    """

    __array_priority__ = 500  # below Tensor's: variable + tensor is a Tensor

    def __init__(self, value, name):
        self._value, self.name = xp.array(value), name

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def value(self):
        """A copy of the current array."""
        return self._value.copy()

    def numpy(self):
        return self._value.copy()

    def assign(self, value):
        """Set the value (cast to the variable's dtype); returns the variable."""
        value = _array_of(value)
        if value.shape != self.shape and value.size != 1:
            raise ValueError(f"metric variable '{self.name}' has shape {self.shape}, cannot "
                             f"assign a value of shape {value.shape}")
        self._value[...] = value
        return self

    def assign_add(self, value):
        return self.assign(self._value + _array_of(value))

    def assign_sub(self, value):
        return self.assign(self._value - _array_of(value))

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __neg__(self):
        return -self._value

    def __add__(self, other):
        return self._value + _operand(other)

    def __radd__(self, other):
        return _operand(other) + self._value

    def __sub__(self, other):
        return self._value - _operand(other)

    def __rsub__(self, other):
        return _operand(other) - self._value

    def __mul__(self, other):
        return self._value * _operand(other)

    def __rmul__(self, other):
        return _operand(other) * self._value

    def __truediv__(self, other):
        return self._value / _operand(other)

    def __rtruediv__(self, other):
        return _operand(other) / self._value

    def __repr__(self):
        return f"<metric Variable '{self.name}' shape={self.shape} value={self._value}>"


def _operand(value):
    """A Variable's array; anything else (a Tensor, an array, a number) as it is."""
    return value._value if isinstance(value, Variable) else value


_AGGREGATIONS = ("none", "sum", "mean", "only_first_replica")


def _as_result(value):
    """A one-element result (Tensor, array, Variable) as a float; a larger one as an array."""
    array = _array_of(value)
    return float(array) if array.size == 1 else array


class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reads, ``reset_state`` clears.

    Keras 3's way: make the state in ``__init__`` with ``add_variable``, after
    ``super().__init__(name=..., dtype=...)``; the default ``reset_state`` sets each
    variable to 0 (as Keras does). ``result()`` gives a float whatever the subclass
    returns (a Tensor, an array, a variable) when it holds one value.
    """

    default_name = "metric"

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name
        self.dtype = backend.resolve_dtype(dtype).name
        self._variables = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "result" in vars(cls):
            cls.result = _returning_a_number(vars(cls)["result"])

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """A new state ``Variable`` of ``shape``, drawn by ``initializer`` (a name, config
        or Initializer), in the metric's dtype unless ``dtype`` says otherwise.
        ``aggregation`` (how replicas would combine it) is Keras' and checked only: one
        process holds one copy."""
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"{type(self).__name__}.add_variable expects aggregation in "
                             f"{list(_AGGREGATIONS)}, got {aggregation!r}")
        shape = () if shape is None else tuple(int(n) for n in shape)
        dtype = backend.resolve_dtype(self.dtype if dtype is None else dtype).name
        name = name or f"variable_{len(self._variables)}"
        value = initializers.get(initializer or "zeros")(shape, dtype)
        variable = Variable(xp.asarray(value, dtype=dtype), name)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None):
        """``add_variable`` under its older Keras name."""
        return self.add_variable(shape, initializer, dtype, name=name)

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(xp.zeros(variable.shape, dtype=variable.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} must define "
                                  "update_state(y_true, y_pred, sample_weight=None)")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must define result()")

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Update with one batch and return the result so far (Keras)."""
        if sample_weight is None:
            self.update_state(y_true, y_pred)
        else:
            self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _returning_a_number(result):
    @functools.wraps(result)
    def numeric_result(self):
        return _as_result(result(self))
    return numeric_result


class _StateInAttributes(Metric):
    """neuronet's metrics: ``reset_state`` sets the state as plain attributes, so it runs
    at construction (a Keras-style metric makes variables after ``__init__`` instead)."""

    def __init__(self, name=None, dtype=None):
        super().__init__(name, dtype)
        self.reset_state()


class MeanMetric(_StateInAttributes):
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


class Mean(_StateInAttributes):
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


class ShapeChosenAccuracy(_StateInAttributes):
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
