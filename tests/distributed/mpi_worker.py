"""Run under mpiexec by the tests: ``python mpi_worker.py MODE OUT_DIR``.

equal: every case of ``cases`` trained over the ranks; rank 0 writes each case's
    weights and history, and whether every rank ended with rank 0's weights, to OUT_DIR.
broadcast: rank 0's optimizer state is set by hand, then broadcast.
bn: the BatchNormalization model, unshuffled; every rank writes its weights.
stop: a callback stops training on the last rank only; all must stop together.
raise: the last rank raises in its second batch (the others wait in an Allreduce).
shapes: the last rank builds a wider first layer.
"""
import os
import sys

import numpy

import mpi_cases as cases
from neuronet import distributed


def all_equal(arrays):
    """Whether every rank holds the same arrays as rank 0 (bit for bit)."""
    gathered = distributed.comm.allgather_object([a.tobytes() for a in arrays])
    return all(theirs == gathered[0] for theirs in gathered)


def equal(out):
    for kind, optimizer, dtype in cases.CASES:
        net, history = cases.fit(kind, optimizer, dtype, cases.PER_RANK,
                                 seed=0 if distributed.rank() == 0 else 100 + distributed.rank())
        weights = net.get_weights()
        same = all_equal(weights) and all_equal([numpy.array(v) for v in history.values()])
        if distributed.rank() == 0:
            numpy.savez(os.path.join(out, f"{kind}-{optimizer}-{dtype}.npz"), *weights,
                        same=same, iterations=net.optimizer.iterations,
                        calls=net.optimizer.gradient_averager.calls,
                        bytes_sent=net.optimizer.gradient_averager.bytes_sent,
                        **{f"history_{key}": value for key, value in history.items()})


def broadcast(out):
    """Rank 0's Adam state (slots, step counts, iterations, rate) reaches every rank."""
    net = cases.model("mlp", "adam", "float64", seed=distributed.rank())
    net.optimizer.build(net.trainable_weights)
    if distributed.rank() == 0:
        for state in net.optimizer._states:
            state["step"] = 5
            for value in state.values():
                if isinstance(value, numpy.ndarray):
                    value[...] = numpy.random.default_rng(0).normal(size=value.shape)
        net.optimizer.iterations, net.optimizer.learning_rate = 5, 0.125
    distributed.broadcast_weights(net)
    state = net.optimizer.state_dict()
    arrays = net.get_weights() + [a for slots in state["slots"] for a in slots.values()]
    same = all_equal(arrays + [numpy.array([state["iterations"], net.optimizer.learning_rate])])
    if distributed.rank() == 0:
        numpy.savez(os.path.join(out, "broadcast.npz"), same=same,
                    steps=[int(slots["step"]) for slots in state["slots"]])


def batch_norm(out):
    net = cases.model("bn", "sgd", "float64")
    (x, y), _ = cases.data("mlp", "float64")
    net.fit(x[:24], y[:24], batch_size=4, epochs=3, shuffle=False, verbose=0)
    numpy.savez(os.path.join(out, f"bn-rank{distributed.rank()}.npz"), *net.get_weights())


def stop(out):
    last = distributed.size() - 1
    net, _ = cases.fit("mlp", "sgd", "float64", cases.PER_RANK,
                       [cases.StopOnRank(last, distributed.rank())])
    counts = distributed.comm.allgather_object(net.optimizer.iterations)
    if distributed.rank() == 0:
        numpy.savez(os.path.join(out, "stop.npz"), iterations=counts)


def raise_on_last(out):
    class Boom(cases.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1 and distributed.rank() == distributed.size() - 1:
                raise RuntimeError(f"boom on rank {distributed.rank()}")

    cases.fit("mlp", "sgd", "float64", cases.PER_RANK, [Boom()])


def shapes(out):
    width = 5 if distributed.rank() == distributed.size() - 1 else 4
    net = cases.model("mlp", "sgd", "float64", width=width)
    (x, y), _ = cases.data("mlp", "float64")
    net.fit(x, y, batch_size=4, epochs=1, verbose=0)


MODES = {"equal": equal, "broadcast": broadcast, "bn": batch_norm, "stop": stop,
         "raise": raise_on_last, "shapes": shapes}

if __name__ == "__main__":
    distributed.init()
    out = sys.argv[2]
    for mode in sys.argv[1].split(","):
        MODES[mode](out)
    distributed.barrier()
