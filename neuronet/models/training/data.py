"""How ``fit``, ``evaluate`` and ``train_on_batch`` take their data: checks of x, y and
sample_weight, class weights, validation_split, and ``DataFeeding``, the methods of
``Trainer`` that turn the data into epochs of batches (``neuronet.data.adapters``)."""
import math
import warnings

from neuronet import targets
from neuronet.backend import check_real, xp
from neuronet.data import adapters


def _check_count(method, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < minimum:
        raise ValueError(f"{method} expects {name} to be an integer >= {minimum}, got {value!r}")


def _check_finite(x, method):
    """Refuse NaN or inf in x: one such value makes the loss NaN at the first batch that
    holds it, and the optimizer step then makes every weight NaN."""
    if x.dtype.kind != "f":
        return
    with xp.errstate(over="ignore", invalid="ignore"):
        total = x.sum(dtype=xp.float64)  # NaN or inf whenever an element is (or on overflow)
    if math.isfinite(total):
        return
    bad = ~xp.isfinite(x.reshape(len(x), -1))
    count = int(bad.sum())
    if count:
        first = int(xp.argmax(bad.any(axis=1)))
        raise ValueError(f"{method}: x holds {count} NaN or infinite values, the first in sample "
                         f"{first} (x[{first}]); they would make the loss and every weight NaN. "
                         "Drop or replace those samples first (numpy.isfinite(x) finds them)")


def _warn_if_one_class(y, y_val, split):
    """Warn when the validation slice holds one class although the data holds several."""
    val_classes = xp.unique(targets.sample_classes(y_val))
    if len(val_classes) == 1 and len(xp.unique(targets.sample_classes(y))) > 1:
        warnings.warn(
            f"fit: validation_split={split} takes the last {len(y_val)} samples, before any "
            f"shuffling, and they all belong to class {val_classes[0]}: the data looks sorted "
            "by class. Shuffle x and y together before fit (order = rng.permutation(len(x)); "
            "x, y = x[order], y[order]) or pass validation_data.", UserWarning, stacklevel=4)


class DataFeeding:
    """The data half of ``Trainer``: it needs ``built``, ``input_spec`` and ``describe``
    from the model."""

    def _checked_data(self, x, y, method, sample_weight=None):
        """x, y (and sample_weight) as arrays, or lists/dicts of arrays, with as many
        samples each, x fitting the model's input."""
        x, y = adapters.as_arrays(x), adapters.as_arrays(y)
        sample_weight = adapters.as_arrays(sample_weight)
        if y is None:
            raise ValueError(f"{method} needs targets y (or x that gives (x, y) batches)")
        for leaf in adapters.leaves(y):
            targets.checked(method, leaf, what="y")  # labels: numbers, not strings or objects
        parts = adapters.leaves(x) + adapters.leaves(y) + adapters.leaves(sample_weight)
        if any(leaf.ndim == 0 for leaf in parts) or len({len(leaf) for leaf in parts}) != 1:
            raise ValueError(f"{method}: x and y must hold the same number of samples, got x "
                             f"of shape {adapters.describe_shapes(x)} and y of shape "
                             f"{adapters.describe_shapes(y)}" + (
                                 "" if sample_weight is None else " and sample_weight of "
                                 f"shape {adapters.describe_shapes(sample_weight)}"))
        self._check_inputs(x, method)
        return x, y, sample_weight

    def _check_inputs(self, x, method):
        for leaf in adapters.leaves(x):
            check_real(leaf, f"{method}: x")
            if leaf.ndim == 0 or len(leaf) == 0:
                raise ValueError(f"{method} needs at least one sample, got x of shape "
                                 f"{leaf.shape}")
        if self.built and not adapters.is_structure(x):
            self.input_spec().check(self, x.shape)

    def _training_epochs(self, x, y, sample_weight, class_weight, batch_size, shuffle,
                         steps_per_epoch, split):
        """(the training EpochIterator, validation_split's (x, y, sample_weight) or None)."""
        if adapters.is_batch_source(x):
            if split:
                raise ValueError("fit: validation_split needs arrays; with a PyDataset or a "
                                 "generator pass validation_data")
            return self._epochs("fit", x, y, sample_weight, batch_size, steps_per_epoch,
                                shuffle=shuffle, class_weight=class_weight), None
        if batch_size is not None:
            _check_count("fit", "batch_size", batch_size, 1)
        x, y, sample_weight = self._checked_data(x, y, "fit", sample_weight)
        for leaf in adapters.leaves(x):
            _check_finite(leaf, "fit")
        sample_weight = _with_class_weight("fit", y, sample_weight, class_weight)
        train, validation = self._validation_split(x, y, sample_weight, split)
        passes = adapters.ArrayPasses(*train, batch_size or 32, shuffle)
        return adapters.EpochIterator(passes, steps_per_epoch, "fit"), validation

    def _epochs(self, method, x, y, sample_weight, batch_size, steps, shuffle=False,
                class_weight=None):
        """An EpochIterator over data (x, y, sample_weight) or over a batch source x."""
        if steps is not None:
            _check_count(method, "steps", steps, 1)
        if adapters.is_batch_source(x):
            given = {"y": y, "sample_weight": sample_weight, "batch_size": batch_size}
            for name, value in given.items():
                if value is not None:
                    raise ValueError(f"{method}: x is a {type(x).__name__} that gives its own "
                                     f"batches; {name} cannot be given too (the batches "
                                     "carry the targets and sample weights)")
            passes = adapters.SourcePasses(x, shuffle, method, class_weight)
            return adapters.EpochIterator(passes, steps, method)
        if batch_size is not None:
            _check_count(method, "batch_size", batch_size, 1)
        x, y, sample_weight = self._checked_data(x, y, method, sample_weight)
        for leaf in adapters.leaves(x):
            _check_finite(leaf, method)
        sample_weight = _with_class_weight(method, y, sample_weight, class_weight)
        passes = adapters.ArrayPasses(x, y, sample_weight, batch_size or 32, shuffle)
        return adapters.EpochIterator(passes, steps, method)

    def _validation_epochs(self, data, batch_size, steps):
        """validation_data: (x_val, y_val), (x_val, y_val, sample_weight_val) or a source."""
        method = "fit (validation_data)"
        if adapters.is_batch_source(data):
            return self._epochs(method, data, None, None, None, steps)
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError("fit expects validation_data as a tuple (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val), a PyDataset or a generator, "
                             f"got {type(data).__name__}")
        x_val, y_val, weight_val = tuple(data) + (None,) * (3 - len(data))
        return self._epochs(method, x_val, y_val, weight_val, batch_size, steps)

    def _validation_split(self, x, y, sample_weight, split):
        """((x, y, sample_weight) to train on, the same to validate on or None); the split
        is views, not copies."""
        if not split:
            return (x, y, sample_weight), None
        if not 0.0 < split < 1.0:
            raise ValueError(f"fit expects validation_split in [0, 1), got {split!r}")
        samples = adapters.sample_count(x)
        split_at = int(samples * (1.0 - split))
        if split_at in (0, samples):
            raise ValueError(f"fit: validation_split={split} leaves {split_at} of {samples} "
                             "samples for training: too few samples to split")
        if not adapters.is_structure(y):
            _warn_if_one_class(y, y[split_at:], split)
        parts = (x, y, sample_weight)
        return (tuple(adapters.take(part, slice(None, split_at)) for part in parts),
                tuple(adapters.take(part, slice(split_at, None)) for part in parts))


def _without_none(batch):
    """(x, y) or (x, y, sample_weight): the step's arguments, without a missing weight."""
    x, y, sample_weight = batch
    if y is None:
        raise ValueError("fit/evaluate: each batch must hold targets: (x, y) or (x, y, "
                         "sample_weight), got (x,) alone")
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def _with_class_weight(method, y, sample_weight, class_weight):
    """sample_weight, or class_weight turned into one weight per sample by its label."""
    if class_weight is None:
        return sample_weight
    if sample_weight is not None:
        raise ValueError(f"{method}: give class_weight or sample_weight, not both (Keras "
                         "does not combine them)")
    return adapters.class_weight_to_sample_weights(method, y, class_weight)
