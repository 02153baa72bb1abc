"""Models, data and fits shared by the MPI worker script and the tests' references.

Each case trains from ``manual_seed(0)`` (on the ranks > 0 other seeds: ``fit`` must
give them rank 0's weights) on fixed data with 43 training samples: with
7 samples per rank the last global batch holds a single sample, so some ranks get an
empty part of it (the hardest split). No dropout: one process and N ranks must draw
nothing else from the generator than the epoch orders.
"""
import contextlib

import numpy

from neuronet import backend, callbacks, layers, losses, models, optimizers
from neuronet.random import manual_seed

TRAIN, VALIDATION, PER_RANK, EPOCHS = 43, 11, 7, 2
CASES = [(kind, optimizer, dtype) for kind in ("mlp", "cnn") for optimizer in ("sgd", "adam")
         for dtype in ("float64", "float32")]


def data(kind, dtype):
    rng = numpy.random.default_rng(1)
    shape = (6, 6, 1) if kind == "cnn" else (5,)
    samples = TRAIN + VALIDATION
    x = rng.normal(size=(samples, *shape)).astype(dtype)
    y = rng.integers(0, 3, size=samples)
    return (x[:TRAIN], y[:TRAIN]), (x[TRAIN:], y[TRAIN:])


def model(kind, optimizer, dtype, width=4, seed=0):
    """A small MLP, CNN or (kind 'bn') MLP with BatchNormalization, compiled; ``width``
    changes the first layer; ``seed`` its initial weights. It is built under
    ``floatx(dtype)`` and trained under the default floatx, float32 (so a float64 model
    meets any cast to floatx)."""
    with floatx(dtype):
        return _model(kind, optimizer, width, seed)


def _model(kind, optimizer, width, seed):
    manual_seed(seed)
    if kind == "cnn":
        stack = [layers.Input(shape=(6, 6, 1)), layers.Conv2D(width, 3, activation="relu"),
                 layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)]
    elif kind == "bn":
        stack = [layers.Input(shape=(5,)), layers.Dense(width),
                 layers.BatchNormalization(), layers.Activation("relu"), layers.Dense(3)]
    else:
        stack = [layers.Input(shape=(5,)), layers.Dense(width, activation="relu"),
                 layers.Dense(3)]
    net = models.Sequential(stack)
    chosen = (optimizers.SGD(learning_rate=0.1, momentum=0.9) if optimizer == "sgd"
              else optimizers.Adam(learning_rate=0.01))
    net.compile(optimizer=chosen, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    return net


def fit(kind, optimizer, dtype, batch_size, extra_callbacks=(), seed=0):
    """(model, history) of one fit of a case with ``batch_size`` per process."""
    net = model(kind, optimizer, dtype, seed=seed)
    train, validation = data(kind, dtype)
    history = net.fit(*train, batch_size=batch_size, epochs=EPOCHS, verbose=0,
                      validation_data=validation, callbacks=list(extra_callbacks))
    return net, history.history


@contextlib.contextmanager
def floatx(dtype):
    """floatx() is ``dtype`` inside."""
    before = backend.floatx()
    backend.set_floatx(dtype)
    try:
        yield
    finally:
        backend.set_floatx(before)


class StopOnRank(callbacks.Callback):
    """Sets stop_training after batch 1 on one rank only (a rank-dependent decision)."""

    def __init__(self, rank, this_rank):
        super().__init__()
        self.stops = rank == this_rank

    def on_train_batch_end(self, batch, logs=None):
        if self.stops and batch == 1:
            self.model.stop_training = True
