"""Keras' training API for models: compile, fit, evaluate, predict, *_on_batch.

One idea a module: ``trainer`` (``Trainer``: compile, the training step and ``fit``'s
loop), ``inference`` (evaluate, predict, test_on_batch, validation) and ``data`` (how
x, y, sample_weight and class_weight are checked and made into epochs of batches).
The classes and functions the former ``neuronet/models/training.py`` defined are
importable from here."""
from neuronet.models.training.data import (_check_count, _check_finite, _warn_if_one_class,
                                           _with_class_weight, _without_none)
from neuronet.models.training.inference import _concatenated
from neuronet.models.training.trainer import Trainer, _check_validation_freq, _should_validate
