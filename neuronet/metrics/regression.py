"""Regression metrics: mean absolute and mean squared error."""
from neuronet import targets
from neuronet.backend import xp
from neuronet.metrics.base import MeanMetric


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
