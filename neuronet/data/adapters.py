"""Where ``fit``, ``evaluate`` and ``predict`` take their batches from, as Keras 3 does.

Data is an array (or a Tensor), or a list, tuple or dict of them for a model with several
inputs or outputs (a dict names the inputs or outputs). Anything else that gives batches is
a *batch source*:

- an object with Keras 3's ``PyDataset`` contract: ``__len__()`` batches, ``__getitem__(i)``
  -> ``(x, y)`` or ``(x, y, sample_weight)``, and optionally ``on_epoch_begin()`` and
  ``on_epoch_end()``;
- an iterator or iterable of such batches (a generator, a ``map``, a custom iterable).

``EpochIterator`` cuts either into epochs with Keras' rule: ``steps_per_epoch`` batches
when given, else one pass. A source of known length (data, a PyDataset) starts a new pass
when one ends; a generator keeps its place across epochs and running out of batches before
``steps_per_epoch`` (or an epoch that gets no batch at all) sets ``ran_out``.
"""
import warnings

import numpy

from neuronet.data.batching import batches, num_batches
from neuronet.random import generator

_NOT_SOURCES = (list, tuple, dict, str, bytes)


# --- data: arrays, lists, tuples, dicts of arrays -------------------------------------------
def is_structure(data):
    """A dict, or a list/tuple of arrays or Tensors (several inputs or outputs); a list of
    numbers is one array's values."""
    if isinstance(data, dict):
        return True
    return isinstance(data, (list, tuple)) and len(data) > 0 and all(
        hasattr(item, "shape") or is_structure(item) for item in data)


def map_data(function, data):
    """``function`` applied to every array of ``data``, keeping its list/tuple/dict form."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {key: map_data(function, value) for key, value in data.items()}
    if is_structure(data):
        return type(data)(map_data(function, item) for item in data)
    return function(data)


def leaves(data):
    """The arrays of ``data`` in order (a dict in its key order)."""
    if data is None:
        return []
    if isinstance(data, dict):
        return [leaf for value in data.values() for leaf in leaves(value)]
    if is_structure(data):
        return [leaf for item in data for leaf in leaves(item)]
    return [data]


def as_arrays(data):
    """``data`` with every leaf (a Tensor, a list of numbers) as a NumPy array."""
    return map_data(lambda value: numpy.asarray(getattr(value, "data", value)), data)


def sample_count(data):
    """The number of samples of the first array of ``data``."""
    first = leaves(data)[0]
    return len(first) if numpy.ndim(first) else 0


def take(data, index):
    """Samples ``index`` (a slice or an index array) of every array of ``data``."""
    return map_data(lambda value: value[index], data)


def describe_shapes(data):
    """'(32, 4)' for an array, '[(32, 4), (32, 2)]' or "{'a': (32, 4)}" for several."""
    if isinstance(data, dict):
        return "{" + ", ".join(f"{key!r}: {describe_shapes(value)}"
                               for key, value in data.items()) + "}"
    if is_structure(data):
        return "[" + ", ".join(describe_shapes(item) for item in data) + "]"
    return str(numpy.shape(data))


# --- batch sources ---------------------------------------------------------------------------
def is_batch_source(x):
    """True for a PyDataset-like object or an iterable of batches; False for data (arrays,
    Tensors, lists, tuples and dicts of them)."""
    if x is None or isinstance(x, _NOT_SOURCES) or hasattr(x, "shape") or hasattr(
            x, "__array__"):
        return False
    indexable = hasattr(x, "__getitem__") and hasattr(x, "__len__")
    return indexable or hasattr(x, "__iter__") or hasattr(x, "__next__")


def is_indexable_source(x):
    """Keras' PyDataset contract: batches by index, a known number of them."""
    return is_batch_source(x) and hasattr(x, "__getitem__") and hasattr(x, "__len__")


def unpack_batch(owner, batch):
    """(x, y, sample_weight) from a batch ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
    (y and sample_weight None when missing), every array as a NumPy array."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or not 1 <= len(batch) <= 3:
        raise ValueError(f"{owner}: each batch must be a tuple (x, y) or (x, y, "
                         f"sample_weight), got {type(batch).__name__} {str(batch)[:80]}")
    x, y, sample_weight = batch + (None,) * (3 - len(batch))
    return as_arrays(x), as_arrays(y), as_arrays(sample_weight)


def class_weight_to_sample_weights(owner, y, class_weight):
    """One weight per sample: ``class_weight[label]`` (1.0 for a class not in the dict),
    the label being y itself (shape (N,) or (N, 1), rounded) or the argmax of one-hot or
    probability rows (N, C), as Keras' function of this name does.

    Example:
        >>> class_weight_to_sample_weights("fit", numpy.array([0, 1, 1]), {1: 3.0})
        array([1., 3., 3.])
    """
    if not isinstance(class_weight, dict):
        raise ValueError(f"{owner} expects class_weight as a dict {{class: weight}}, got "
                         f"{type(class_weight).__name__}")
    if is_structure(y):
        raise ValueError(f"{owner}: class_weight is only supported for models with a single "
                         "output; give sample_weight per output instead")
    labels = numpy.asarray(y)
    if labels.ndim > 1:
        labels = labels[..., 0] if labels.shape[-1] == 1 else numpy.argmax(labels, axis=-1)
    if labels.ndim != 1:
        raise ValueError(f"{owner}: class_weight needs one label per sample (y of shape (N,), "
                         f"(N, 1) or one-hot (N, C)), got y of shape {numpy.shape(y)}")
    labels = numpy.round(labels).astype(numpy.int64)
    return numpy.array([float(class_weight.get(int(label), 1.0)) for label in labels])


class ArrayPasses:
    """Passes over data: ``len`` batches of ``batch_size`` samples (the last smaller), in a
    new random order each pass when ``shuffle``."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle):
        self.data = (x, y, sample_weight)
        self.samples = sample_count(x)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.known_length = True

    def __len__(self):
        return num_batches(self.samples, self.batch_size)

    def one_pass(self):
        if self.shuffle:
            order = batches(self.samples, self.batch_size)
        else:  # slices: views of the data, where an index array would copy
            order = (slice(start, start + self.batch_size)
                     for start in range(0, self.samples, self.batch_size))
        for index in order:
            yield tuple(take(part, index) for part in self.data)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


class SourcePasses:
    """Passes over a batch source, each batch unpacked to (x, y, sample_weight) arrays.

    A PyDataset-like source is read by index, its batch order drawn anew each pass when
    ``shuffle`` (as Keras 3's fit does); an iterable is read by ``iter`` (a generator: the
    batches it has left).
    """

    def __init__(self, source, shuffle, owner, class_weight=None):
        self.source, self.owner, self.class_weight = source, owner, class_weight
        self.shuffle = shuffle and is_indexable_source(source)
        self.known_length = is_indexable_source(source)

    def __len__(self):
        return len(self.source)

    def one_pass(self):
        if self.known_length:
            order = generator().permutation(len(self)) if self.shuffle else range(len(self))
            batches_ = (self.source[int(i)] for i in order)
        else:
            batches_ = iter(self.source)
        for batch in batches_:
            x, y, sample_weight = unpack_batch(self.owner, batch)
            if self.class_weight is not None:
                if sample_weight is not None:
                    raise ValueError(f"{self.owner}: give class_weight or batches with sample "
                                     "weights, not both (Keras does not combine them)")
                sample_weight = class_weight_to_sample_weights(self.owner, y, self.class_weight)
            yield x, y, sample_weight

    def on_epoch_begin(self):
        self._hook("on_epoch_begin")

    def on_epoch_end(self):
        self._hook("on_epoch_end")

    def _hook(self, name):
        """A PyDataset's epoch hook, when it has one (Keras 3 calls both)."""
        hook = getattr(self.source, name, None)
        if callable(hook):
            hook()


class EpochIterator:
    """Epochs of (x, y, sample_weight) batches from ``ArrayPasses`` or ``SourcePasses``.

    Args:
        passes: where the batches come from.
        steps_per_epoch: batches per epoch; None for one pass (of a generator: until it
            ends; ``steps`` is then None).
        owner: 'fit', 'evaluate', ..., for the warning.

    Attributes:
        ran_out: set (with a warning) when a generator ended before ``steps_per_epoch``
            batches, or an epoch got none; ``fit`` then stops, as Keras does. A PyDataset
            shorter than ``steps_per_epoch`` warns, ends the epoch early and starts the
            next one on a new pass (Keras too).
    """

    def __init__(self, passes, steps_per_epoch=None, owner="fit"):
        self.passes, self.steps_per_epoch, self.owner = passes, steps_per_epoch, owner
        self._current, self._taken, self.ran_out = None, 0, False

    @property
    def steps(self):
        """Batches per epoch: ``steps_per_epoch``, else the length of a pass (None for a
        generator)."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return len(self.passes) if self.passes.known_length else None

    def _pass_done(self):
        return self.passes.known_length and self._taken == len(self.passes)

    def epoch(self):
        """Yield one epoch's batches, between the source's ``on_epoch_begin`` and
        ``on_epoch_end``."""
        self.passes.on_epoch_begin()
        if self._current is None or self.steps_per_epoch is None or self._pass_done():
            self._current, self._taken = self.passes.one_pass(), 0
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(self._current)
            except StopIteration:
                self._current = None
                break
            self._taken += 1
            count += 1
            yield batch
        if count == 0 or (self.steps_per_epoch is not None and count < self.steps):
            self._warn_out_of_data(count)
        self.passes.on_epoch_end()

    def _warn_out_of_data(self, count):
        stop = not self.passes.known_length or count == 0
        self.ran_out = self.ran_out or stop
        what = "interrupting training" if stop else "the epoch ends early"
        warnings.warn(f"{self.owner}: the input ran out of data after {count} batches of an "
                      f"epoch of {self.steps}; {what}. Make sure that it can give at least "
                      "steps_per_epoch * epochs batches (a generator that loops over the "
                      "data, or a PyDataset of at least steps_per_epoch batches)",
                      UserWarning, stacklevel=4)
