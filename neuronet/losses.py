"""Keras-style losses: ``loss = MeanSquaredError(); loss(y_true, y_pred)`` -> a scalar Tensor.

A loss computes one value per sample with ``call`` (reducing the last axis, as Keras
does) and ``__call__`` reduces those: by default their mean over the batch
('sum_over_batch_size'). ``y_true`` may be a NumPy array or a Tensor, ``y_pred`` a
Tensor. Losses on probabilities (``from_logits=False``) recognise a ``y_pred`` that
came straight from ``sigmoid`` or ``softmax`` (the output remembers its logits, with
or without a tape) and then use the fused, stable loss on those logits, as Keras does.
"""
import warnings

from neuronet import ops, targets
from neuronet.backend import xp
from neuronet.ops import activation
from neuronet.ops._utils import as_tensor
from neuronet.registry import Registry
from neuronet.tensor import Tensor

REDUCTIONS = ("sum_over_batch_size", "sum", "none")
EPSILON = 1e-7  # Keras' backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]


class Loss:
    """Base class: subclasses write ``call(y_true, y_pred)`` -> one loss per sample.

    Args:
        name: defaults to the Keras function name, e.g. 'mean_squared_error'.
        reduction: 'sum_over_batch_size' (the mean of the per-sample losses), 'sum'
            or 'none' (the per-sample losses themselves).
    """

    default_name = None

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss. With ``sample_weight`` (one weight per sample, or one per
        value of ``call``'s result) each value is weighted first, as in Keras 3:
        'sum_over_batch_size' gives sum_i w_i loss_i / N (N values, not sum_i w_i)."""
        losses = self.call(y_true, as_tensor(y_pred))
        if sample_weight is not None:
            losses = losses * _weights_for(self, sample_weight, losses)
        if self.reduction == "sum_over_batch_size":
            return ops.mean(losses)
        if self.reduction == "sum":
            return ops.sum(losses)
        return losses

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class MeanSquaredError(Loss):
    """loss_i = mean_d (y_pred_id - y_true_id)^2 over the last axis (D values);
    dloss_i/dy_pred_id = 2 (y_pred_id - y_true_id) / D."""

    default_name = "mean_squared_error"

    def call(self, y_true, y_pred):
        difference = y_pred - _float_target(self, y_true, y_pred)
        return ops.mean(difference * difference, axis=-1)


class MeanAbsoluteError(Loss):
    """loss_i = mean_d |y_pred_id - y_true_id| over the last axis (D values);
    dloss_i/dy_pred_id = sign(y_pred_id - y_true_id) / D."""

    default_name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return ops.mean(ops.abs(y_pred - _float_target(self, y_true, y_pred)), axis=-1)


class ProbabilisticLoss(Loss):
    """A cross-entropy that takes probabilities (default) or, with from_logits=True, logits."""

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.from_logits = from_logits

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}

    def _logits(self, y_pred, activation_name):
        """The logits for the fused path: y_pred itself, the logits that the activation
        ``activation_name`` turned into y_pred, or None (then y_pred is used as
        probabilities). The same in every mode: nothing here reads the tape."""
        if self.from_logits:
            return y_pred
        logits = activation.logits_of(y_pred, activation_name)
        if logits is None:
            _warn_unless_probabilities(self, y_pred)
        return logits


class BinaryCrossentropy(ProbabilisticLoss):
    """loss_i = mean over the last axis of -(t ln p + (1 - t) ln(1 - p)).

    p = clip(y_pred, 1e-7, 1 - 1e-7) for probabilities; for logits z the fused
    max(z, 0) - z t + ln(1 + e^-|z|), whose gradient is sigmoid(z) - t.
    """

    default_name = "binary_crossentropy"

    def call(self, y_true, y_pred):
        target = _float_target(self, y_true, y_pred)
        logits = self._logits(y_pred, "sigmoid")
        if logits is None:
            losses = ops.binary_cross_entropy(y_pred, target, EPSILON, reduction="none")
        else:
            losses = ops.sigmoid_binary_cross_entropy(logits, target, reduction="none")
        return ops.mean(losses, axis=-1)


class CategoricalCrossentropy(ProbabilisticLoss):
    """loss_i = -sum_c t_ic ln p_ic over the last axis, y_true one-hot or soft labels.

    p = clip(y_pred / sum_c y_pred_c, 1e-7, 1 - 1e-7) for probabilities; for logits
    the fused logsumexp(z) - sum_c t_c z_c, whose gradient is softmax(z) - t.
    """

    default_name = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        target = _float_target(self, y_true, y_pred)
        logits = self._logits(y_pred, "softmax")
        if logits is None:
            return ops.categorical_cross_entropy(y_pred, target, EPSILON, reduction="none")
        return ops.softmax_cross_entropy(logits, target, reduction="none")


class SparseCategoricalCrossentropy(ProbabilisticLoss):
    """CategoricalCrossentropy with integer labels: loss_i = -ln p_i[y_i].

    y_true holds class indices of shape y_pred.shape[:-1] (a trailing axis of 1 and
    integral float values are accepted, as Keras does).
    """

    default_name = "sparse_categorical_crossentropy"

    def call(self, y_true, y_pred):
        labels = _class_labels(self, y_true, y_pred)
        logits = self._logits(y_pred, "softmax")
        if logits is None:
            one_hot = (labels[..., None] == xp.arange(y_pred.shape[-1])).astype(y_pred.dtype)
            return ops.categorical_cross_entropy(y_pred, one_hot, EPSILON, reduction="none")
        return ops.softmax_cross_entropy(logits, labels, reduction="none")


class KLDivergence(Loss):
    """loss_i = sum_c t_ic ln(t_ic / p_ic) over the last axis: KL(T || P), Keras'
    ``kl_divergence``.

    t = clip(y_true, 1e-7, 1) and p = clip(y_pred, 1e-7, 1), as Keras (so a zero target
    adds only 1e-7 ln(1e-7 / p) and a zero prediction stays finite); dloss_i/dp_ic =
    -t_ic / p_ic inside the clip range. DEC's self-training fits the soft assignments
    Q (``layers.ClusterAssignment``) to a fixed target P
    (``neuronet.clustering.target_distribution``).
    """

    default_name = "kl_divergence"

    def call(self, y_true, y_pred):
        target = ops.clip(_float_target(self, y_true, y_pred), EPSILON, 1.0)
        prediction = ops.clip(y_pred, EPSILON, 1.0)
        return ops.sum(target * (ops.log(target) - ops.log(prediction)), axis=-1)


def _weights_for(loss, sample_weight, losses):
    """``sample_weight`` as a constant Tensor that broadcasts against the per-sample
    ``losses``: shape (N,) or (N, 1) spreads over the other axes of ``losses`` (a sequence
    loss of shape (N, T) weighs every step of sample i by w_i); a scalar loss (a function
    that reduces by itself) is weighted by the broadcast, as Keras does."""
    weights = xp.asarray(getattr(sample_weight, "data", sample_weight), dtype=losses.dtype)
    if losses.ndim == 0:
        return Tensor(weights)
    if weights.ndim == losses.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    if weights.ndim > losses.ndim or weights.shape != losses.shape[:weights.ndim]:
        raise ValueError(f"{type(loss).__name__}: sample_weight of shape {weights.shape} does "
                         f"not fit the per-sample losses of shape {losses.shape}: give one "
                         "weight per sample")
    return Tensor(weights.reshape(weights.shape + (1,) * (losses.ndim - weights.ndim)))


def _float_target(loss, y_true, y_pred):
    """y_true as a Tensor of y_pred's dtype and shape (``targets.float_target``'s rules)."""
    name = type(loss).__name__
    if not isinstance(y_true, Tensor):
        return Tensor(targets.float_target(name, y_true, y_pred.shape, y_pred.dtype),
                      dtype=y_pred.dtype)
    # A Tensor target keeps its graph: a loss may be differentiated with respect to it.
    targets.checked(name, y_true)
    target = y_true if y_true.dtype == y_pred.dtype else ops.cast(y_true, y_pred.dtype)
    shape = targets.aligned_shape(name, target.shape, y_pred.shape)
    return target if shape == target.shape else ops.reshape(target, shape)


def _class_labels(loss, y_true, y_pred):
    """y_true as an integer array of shape y_pred.shape[:-1] with values in [0, classes)."""
    name = type(loss).__name__
    labels = targets.class_indices(name, y_true, y_pred.shape)
    targets.check_class_range(name, labels, y_pred.shape[-1])
    return labels


def _warn_unless_probabilities(loss, y_pred):
    low, high = float(xp.min(y_pred.data)), float(xp.max(y_pred.data))
    if low < 0 or high > 1:
        warnings.warn(f"{type(loss).__name__}: y_pred has values outside [0, 1] (from {low:g} "
                      f"to {high:g}); they look like logits: pass from_logits=True",
                      stacklevel=5)  # the caller of loss(y_true, y_pred)


LOSSES = Registry("loss", base=Loss, hint="or a Loss instance or a callable f(y_true, y_pred)")


def register(cls=None, name=None, aliases=()):
    """Make a Loss subclass known to ``get``, ``serialize`` and ``deserialize`` under
    ``name`` (its class name by default) and ``aliases`` (Keras' function names, 'mse').
    Usable as a decorator: ``@losses.register`` or ``@losses.register(aliases=[...])``."""
    return LOSSES.register(cls, name, aliases)


register(MeanSquaredError, aliases=["mse", "mean_squared_error"])
register(MeanAbsoluteError, aliases=["mae", "mean_absolute_error"])
register(BinaryCrossentropy, aliases=["binary_crossentropy"])
register(CategoricalCrossentropy, aliases=["categorical_crossentropy"])
register(SparseCategoricalCrossentropy, aliases=["sparse_categorical_crossentropy"])
register(KLDivergence, aliases=["kl_divergence", "kld", "KLD"])


def get(identifier):
    """A loss from a Keras name ('mse', 'binary_crossentropy', 'CategoricalCrossentropy', ...),
    a serialized dict, a Loss or a callable ``f(y_true, y_pred)`` (returned as is), or None."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    return LOSSES.get(identifier)()


def serialize(loss):
    """{'class_name': ..., 'config': {...}}: JSON-able, read back by ``deserialize``. Only a
    registered Loss: another could not be read back."""
    return {"class_name": LOSSES.name_of(type(loss)), "config": loss.get_config()}


def deserialize(config):
    """The Loss described by ``serialize``'s dict."""
    return LOSSES.deserialize(config)
