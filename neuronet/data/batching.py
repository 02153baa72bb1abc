"""Mini-batches as index arrays: one permutation per epoch, no copy of the data set.

``batches(n, batch_size)`` yields arrays of indices; callers take ``x[idx]``, so
an epoch costs one permutation of ``n`` integers whatever the size of ``x``.
"""
import numpy

from neuronet.random import generator


def batches(n, batch_size, shuffle=True, rng=None, drop_remainder=False):
    """One epoch of mini-batch indices covering ``range(n)`` exactly once.

    Args:
        n: the number of samples.
        batch_size: samples per batch; the last batch is smaller unless
            ``drop_remainder`` drops it.
        shuffle: draw a permutation (from ``rng``, else ``neuronet.random.generator()``)
            when called; otherwise the order is 0, 1, ..., n - 1.
        drop_remainder: leave out the last ``n % batch_size`` samples.

    Returns:
        an iterator of int arrays of length ``batch_size`` (the last possibly shorter).

    Example:
        >>> for idx in batches(len(x), 32, rng=numpy.random.default_rng(0)):
        ...     step(x[idx], y[idx])
    """
    _check_count("batches", "n", n, minimum=0)
    _check_count("batches", "batch_size", batch_size, minimum=1)
    if shuffle:
        order = (generator() if rng is None else rng).permutation(n)
    else:
        order = numpy.arange(n)
    stop = n - n % batch_size if drop_remainder else n
    return (order[start:start + batch_size] for start in range(0, stop, batch_size))


def num_batches(n, batch_size, drop_remainder=False):
    """How many batches ``batches(n, batch_size, drop_remainder=...)`` yields."""
    return n // batch_size if drop_remainder else -(-n // batch_size)


class ArrayBatches:
    """An iterable of ``(x[idx], y[idx])`` mini-batches; each ``iter()`` is one epoch.

    With a ``seed`` the batches come from a generator of their own, so the
    sequence of epochs repeats for the same seed (and epochs differ from each
    other); without one they come from ``neuronet.random.generator()``.

    Example:
        >>> for x_batch, y_batch in ArrayBatches(x, y, batch_size=64, seed=0):
        ...     step(x_batch, y_batch)
    """

    def __init__(self, x, y, batch_size=32, shuffle=True, seed=None, drop_remainder=False):
        if len(x) != len(y):
            raise ValueError(f"ArrayBatches expects x and y with the same number of samples, "
                             f"got x of shape {numpy.shape(x)} and y of shape {numpy.shape(y)}")
        _check_count("ArrayBatches", "batch_size", batch_size, minimum=1)
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        self._rng = None if seed is None else generator(seed)

    def __len__(self):
        return num_batches(len(self.x), self.batch_size, self.drop_remainder)

    def __iter__(self):
        for idx in batches(len(self.x), self.batch_size, self.shuffle, self._rng,
                           self.drop_remainder):
            yield self.x[idx], self.y[idx]


def _check_count(owner, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < minimum:
        raise ValueError(f"{owner} expects {name} to be an integer >= {minimum}, got {value!r}")
