"""What ``fit`` does differently over several ranks: the hooks it calls, in one place.

``fit_plan(model)`` gives ``fit`` a plan: ``SingleProcess`` (every hook does nothing)
alone, ``DataParallel`` under MPI with more than one rank, which

- wraps the optimizer in ``DistributedOptimizer`` and, before the first batch,
  builds the model and broadcasts rank 0's weights and optimizer state;
- shards the training arrays: each epoch rank 0 draws the order (from its
  ``neuronet.random.generator()``, as one process would) and sends it to all; every
  global batch of ``size() * batch_size`` samples of that order is split into
  ``size()`` contiguous, nearly equal parts, rank r taking part r. So N ranks take the
  steps of one process with ``batch_size * N`` (an uneven last batch included: the
  gradients are averaged weighted by samples; a rank whose part is empty still joins
  the step with no samples);
- splits the validation arrays once, in contiguous parts;
- averages the epoch's logs over the ranks, weighted by the samples each saw (for
  mean-like metrics, loss and accuracy, the value of one process), so EarlyStopping,
  ReduceLROnPlateau and ModelCheckpoint(save_best_only) decide the same everywhere;
- makes ``stop_training`` true on every rank when a callback set it on any (after
  each batch and epoch), so no rank is left waiting in a step the others skip;
- silences progress (verbose=0) and drops the callbacks that write files
  (ModelCheckpoint, CSVLogger, or any with ``rank_zero_only = True``) on ranks > 0.

Batch logs (what the progress bar shows during an epoch and what batch callbacks
see) are each rank's own running values. BatchNormalization normalizes with the
statistics of each rank's own part of the batch and keeps its own moving statistics
(those of rank 0 are the ones saved), as Keras' and Horovod's default is: nothing
but gradients is averaged during training.
"""
import numpy

from neuronet import callbacks as callbacks_module
from neuronet.data import adapters
from neuronet.data.batching import num_batches
from neuronet.distributed import comm
from neuronet.distributed.broadcast import broadcast_weights
from neuronet.distributed.optimizer import DistributedOptimizer
from neuronet.parallel import even_slices
from neuronet.random import generator
from neuronet.tensor import no_grad

_WRITERS = (callbacks_module.ModelCheckpoint, callbacks_module.CSVLogger)


def fit_plan(model):
    """The plan of one ``fit`` of ``model``: data-parallel when MPI has several ranks."""
    return DataParallel(model) if comm.size() > 1 else SingleProcess()


class SingleProcess:
    """One process: ``fit`` as it is."""

    def shard_training(self, passes):
        return passes

    def shard_validation(self, data):
        return data

    def callbacks(self, callbacks, verbose):
        return callbacks, verbose

    def begin(self, model, passes):
        pass

    def step(self, train_step, batch):
        train_step(*batch)

    def agree_to_stop(self, stop):
        return stop

    def epoch_logs(self, logs):
        return logs


class DataParallel:
    """``fit`` over ``comm.size()`` ranks (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.rank, self.size = comm.rank(), comm.size()
        model.optimizer = DistributedOptimizer(model.optimizer)
        self.seen = 0  # training samples of this rank in the current epoch
        self.validation_samples = 1  # weight of this rank's validation logs

    def shard_training(self, passes):
        if not isinstance(passes, adapters.ArrayPasses):
            raise ValueError(f"fit over {self.size} ranks shards arrays (x, y); a PyDataset "
                             "or a generator cannot be split among the ranks: pass arrays, "
                             "or train each rank on its own source with a custom loop and "
                             "DistributedOptimizer")
        if passes.samples < self.size:
            raise ValueError(f"fit over {self.size} ranks needs at least {self.size} "
                             f"training samples, got {passes.samples}")
        return ShardedPasses(passes, self.rank, self.size)

    def shard_validation(self, data):
        """Rank r's contiguous part of validation arrays (x, y[, sample_weight])."""
        if adapters.is_batch_source(data) or not isinstance(data, (tuple, list)):
            return data  # every rank evaluates the whole source: equal logs
        parts = tuple(adapters.as_arrays(part) for part in data)
        samples = adapters.sample_count(parts[0])
        if samples < self.size:
            raise ValueError(f"fit over {self.size} ranks needs at least {self.size} "
                             f"validation samples, got {samples}")
        share = even_slices(samples, self.size)[self.rank]
        self.validation_samples = share.stop - share.start
        return tuple(adapters.take(part, share) for part in parts)

    def callbacks(self, callbacks, verbose):
        if self.rank == 0:
            return callbacks, verbose
        kept = [callback for callback in callbacks or []
                if not isinstance(callback, _WRITERS)
                and not getattr(callback, "rank_zero_only", False)]
        return kept, 0

    def begin(self, model, passes):
        """Build the model (on one sample) if needed, check that the ranks run the same
        fit, then give every rank rank 0's weights and optimizer state."""
        if not model.built:
            with no_grad():
                model._forward(adapters.take(passes.data[0], slice(0, 1)), training=False)
        _check_same("fit", {"training samples": passes.samples,
                            "batch size": passes.batch_size, "shuffle": passes.shuffle})
        broadcast_weights(model, root=0)

    def step(self, train_step, batch):
        """One step; a rank with an empty part of the batch joins with no samples."""
        samples = adapters.sample_count(batch[0])
        optimizer = self.model.optimizer
        optimizer.gradient_averager.local_samples = samples
        self.seen += samples
        if samples:
            train_step(*batch)
            return
        params = self.model.trainable_weights
        optimizer.zero_grad(params)
        with self.model.execution_plan.running():
            optimizer.step(params)

    def agree_to_stop(self, stop):
        """True on every rank when ``stop`` is True on any."""
        return bool(comm.allreduce_sum(numpy.array([float(bool(stop))]))[0])

    def epoch_logs(self, logs):
        """The logs averaged over the ranks: training values weighted by the samples each
        rank trained on this epoch, validation values by its validation samples."""
        keys = [key for key in logs if key != "lr"]
        weights = [self.validation_samples if key.startswith("val_") else self.seen
                   for key in keys]
        buffer = numpy.array([self.seen, self.validation_samples]
                             + [w * float(logs[key]) for key, w in zip(keys, weights)])
        comm.allreduce_sum(buffer)
        self.seen = 0
        averaged = dict(logs)
        for index, key in enumerate(keys):
            total = buffer[1] if key.startswith("val_") else buffer[0]
            averaged[key] = float(buffer[2 + index] / total)
        return averaged


class ShardedPasses:
    """Passes over arrays in global batches of ``size * batch_size``, yielding rank
    ``rank``'s contiguous part of each (see the module docstring)."""

    def __init__(self, passes, rank, size):
        self.data, self.samples = passes.data, passes.samples
        self.batch_size, self.shuffle = passes.batch_size, passes.shuffle
        self.rank, self.size = rank, size
        self.global_batch = passes.batch_size * size
        self.known_length = True

    def __len__(self):
        return num_batches(self.samples, self.global_batch)

    def one_pass(self):
        order = self._order()
        for start in range(0, self.samples, self.global_batch):
            count = min(self.global_batch, self.samples - start)
            share = even_slices(count, self.size)[self.rank]
            index = slice(start + share.start, start + share.stop)
            if order is not None:
                index = order[index]
            yield tuple(adapters.take(part, index) for part in self.data)

    def _order(self):
        """This pass's order, drawn by rank 0 and the same on all (None: unshuffled)."""
        if not self.shuffle:
            return None
        order = (generator().permutation(self.samples) if self.rank == 0
                 else numpy.empty(self.samples, dtype=numpy.int64))
        order = numpy.ascontiguousarray(order, dtype=numpy.int64)
        comm.world().Bcast(order, root=0)
        return order

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


def _check_same(owner, settings):
    """Raise the same ValueError on every rank when the ranks' ``settings`` differ."""
    every = comm.allgather_object(settings)
    for rank, theirs in enumerate(every):
        for key, value in settings.items():
            if theirs[key] != every[0][key]:
                raise ValueError(f"{owner}: the ranks differ in their {key}: {every[0][key]} "
                                 f"on rank 0, {theirs[key]} on rank {rank}")
