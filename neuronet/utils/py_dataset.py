"""``PyDataset``: Keras 3's base class for data that Python code produces batch by batch."""


class PyDataset:
    """A data set that hands out whole batches by index (``keras.utils.PyDataset``).

    Subclass it and write:

    - ``__len__(self)``: the number of batches in one epoch (not of samples);
    - ``__getitem__(self, index)``: batch ``index`` (0 .. len - 1) as a tuple
      ``(x, y)`` or ``(x, y, sample_weight)`` of arrays whose first axis is the
      batch (``(x,)`` alone for ``predict``); the last batch may be smaller;
    - optionally ``on_epoch_begin(self)`` / ``on_epoch_end(self)``, called before the
      first and after the last batch of every epoch (e.g. to reshuffle).

    The contract a consumer (``fit``, ``evaluate``, ``predict``) follows:

    1. it calls ``on_epoch_begin()``, then ``dataset[i]`` for ``i`` in
       ``range(len(dataset))`` (in order, or shuffled, once each), then
       ``on_epoch_end()``; every epoch again, on the same object;
    2. a batch that is not a tuple (or list) of 1 to 3 items is an error naming the
       data set and the index (``check_batch``);
    3. ``workers``, ``use_multiprocessing`` and ``max_queue_size`` say how the
       consumer may fetch batches in parallel; the data set never uses them itself,
       and iterating over it by hand (``for batch in dataset``) is sequential.

    Args:
        workers: how many threads (or processes) may fetch batches at once.
        use_multiprocessing: processes instead of threads (the data set must then
            be safe to copy into each process).
        max_queue_size: how many fetched batches may wait at most.

    Example:
        >>> class Batches(PyDataset):
        ...     def __init__(self, x, y, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return math.ceil(len(self.x) / self.batch_size)
        ...     def __getitem__(self, index):
        ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        ...         return self.x[part], self.y[part]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    # A subclass that forgets super().__init__() still has Keras' defaults.
    workers = 1
    use_multiprocessing = False
    max_queue_size = 10

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number "
                                  "of batches per epoch)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) "
                                  "returning the batch (x, y) or (x, y, sample_weight)")

    @property
    def num_batches(self):
        """The number of batches per epoch: ``len(self)``."""
        return len(self)

    def __iter__(self):
        """The batches in order, one epoch, without the epoch hooks."""
        for index in range(self.num_batches):
            yield self[index]

    def on_epoch_begin(self):
        """Called before the first batch of every epoch."""

    def on_epoch_end(self):
        """Called after the last batch of every epoch."""


def check_batch(dataset, index, batch):
    """``batch`` as a tuple of 1 to 3 items ((x,), (x, y) or (x, y, sample_weight)).

    Raises:
        ValueError: naming the data set, the index and what came back instead.
    """
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or not 1 <= len(batch) <= 3:
        what = f"a tuple of {len(batch)}" if isinstance(batch, tuple) else type(batch).__name__
        raise ValueError(f"{type(dataset).__name__}[{index}] must return (x,), (x, y) or "
                         f"(x, y, sample_weight), got {what}")
    return batch
