"""Keras-style losses: ``loss = MeanSquaredError(); loss(y_true, y_pred)`` -> a scalar Tensor.

A loss computes one value per sample with ``call`` (reducing the last axis, as Keras
does) and ``__call__`` reduces those: by default their mean over the batch
('sum_over_batch_size'). ``y_true`` may be a NumPy array or a Tensor, ``y_pred`` a
Tensor. Losses on probabilities (``from_logits=False``) recognise a ``y_pred`` that
the tape shows came straight from ``sigmoid`` or ``softmax`` and then use the fused,
stable loss on the logits behind it, as Keras' TensorFlow backend does.
"""
import warnings

from neuronet import ops
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

    def __call__(self, y_true, y_pred):
        losses = self.call(y_true, as_tensor(y_pred))
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

    def _logits(self, y_pred, activation_type):
        """The logits for the fused path: y_pred itself, the input of the ``activation_type``
        that produced it, or None (then y_pred is used as probabilities)."""
        if self.from_logits:
            return y_pred
        fn = y_pred._ctx
        if isinstance(fn, activation_type) and getattr(fn, "axis", -1) in (-1, y_pred.ndim - 1):
            return fn.inputs[0]
        _warn_unless_probabilities(self, y_pred)
        return None


class BinaryCrossentropy(ProbabilisticLoss):
    """loss_i = mean over the last axis of -(t ln p + (1 - t) ln(1 - p)).

    p = clip(y_pred, 1e-7, 1 - 1e-7) for probabilities; for logits z the fused
    max(z, 0) - z t + ln(1 + e^-|z|), whose gradient is sigmoid(z) - t.
    """

    default_name = "binary_crossentropy"

    def call(self, y_true, y_pred):
        target = _float_target(self, y_true, y_pred)
        logits = self._logits(y_pred, activation.Sigmoid)
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
        logits = self._logits(y_pred, activation.Softmax)
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
        logits = self._logits(y_pred, activation.Softmax)
        if logits is None:
            one_hot = (labels[..., None] == xp.arange(y_pred.shape[-1])).astype(y_pred.dtype)
            return ops.categorical_cross_entropy(y_pred, one_hot, EPSILON, reduction="none")
        return ops.softmax_cross_entropy(logits, labels, reduction="none")


def _float_target(loss, y_true, y_pred):
    """y_true as a Tensor of y_pred's dtype and shape.

    As Keras, a trailing axis of length 1 on either side is added or dropped to make
    the ranks agree; any other difference is an error (no silent broadcasting).
    """
    if isinstance(y_true, Tensor):
        target = y_true if y_true.dtype == y_pred.dtype else ops.cast(y_true, y_pred.dtype)
    else:
        target = Tensor(xp.asarray(y_true, dtype=y_pred.dtype))
    if target.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        target = ops.reshape(target, target.shape + (1,))
    elif target.ndim == y_pred.ndim + 1 and target.shape[-1:] == (1,):
        target = ops.reshape(target, target.shape[:-1])
    if target.shape != y_pred.shape:
        raise ValueError(f"{type(loss).__name__}: y_true shape {_data(y_true).shape} does not "
                         f"match y_pred shape {y_pred.shape}")
    return target


def _class_labels(loss, y_true, y_pred):
    """y_true as an integer array of shape y_pred.shape[:-1] with values in [0, classes)."""
    name, labels = type(loss).__name__, xp.asarray(_data(y_true))
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"{name}: y_true (class indices) of shape {_data(y_true).shape} does "
                         f"not fit y_pred of shape {y_pred.shape}: expected {y_pred.shape[:-1]}")
    if labels.dtype.kind not in "iu":
        if not xp.all(labels == xp.round(labels)):
            raise ValueError(f"{name}: y_true must hold integer class indices, got "
                             f"non-integral values of dtype {labels.dtype}")
        labels = labels.astype(xp.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{name}: class indices must lie in [0, {classes}), got values from "
                         f"{labels.min()} to {labels.max()}")
    return labels


def _warn_unless_probabilities(loss, y_pred):
    low, high = float(xp.min(y_pred.data)), float(xp.max(y_pred.data))
    if low < 0 or high > 1:
        warnings.warn(f"{type(loss).__name__}: y_pred has values outside [0, 1] (from {low:g} "
                      f"to {high:g}); they look like logits: pass from_logits=True",
                      stacklevel=5)  # the caller of loss(y_true, y_pred)


def _data(value):
    return value.data if isinstance(value, Tensor) else xp.asarray(value)


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
