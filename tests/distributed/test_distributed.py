"""Data-parallel training over real MPI ranks (mpiexec of ``mpi_worker.py``).

The proof of correctness is the one PyTorch DDP and Horovod use: N ranks, each on its
part of every global batch, end with the parameters of one process trained on the
whole batches (float64: 1e-12 relative; float32: within rounding). Each launch runs
several checks, as MPI start-up costs about a second.
"""
import os
import time

import numpy
import pytest

import mpi_cases as cases
from neuronet import losses
from neuronet.distributed import launch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_worker(ranks, modes, out, timeout=180):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, HERE]))
    return launch.run_ranks(ranks, [os.path.join(HERE, "mpi_worker.py"), modes, str(out)],
                            env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module", params=[2, 3], ids=["2 ranks", "3 ranks"])
def ranks_run(request, tmp_path_factory):
    """(ranks, folder) of one launch of the modes equal, broadcast, bn and stop."""
    out = tmp_path_factory.mktemp(f"mpi{request.param}")
    done = run_worker(request.param, "equal,broadcast,bn,stop", out)
    assert done.returncode == 0, done.stdout + done.stderr
    return request.param, out


def max_relative(actual, expected):
    return float(numpy.max(numpy.abs(actual - expected)) / numpy.max(numpy.abs(expected)))


@pytest.mark.parametrize("kind, optimizer, dtype", cases.CASES)
def test_ranks_equal_one_process_on_the_whole_batch(ranks_run, kind, optimizer, dtype):
    ranks, out = ranks_run
    saved = numpy.load(out / f"{kind}-{optimizer}-{dtype}.npz")
    model, history = cases.fit(kind, optimizer, dtype, cases.PER_RANK * ranks)
    assert saved["same"], "the ranks ended with different weights or logs"
    assert int(saved["iterations"]) == model.optimizer.iterations >= 5
    # One Allreduce per step of one buffer: [n_r, one flag per weight, the gradients].
    weights = model.trainable_weights
    per_step = (1 + len(weights) + sum(w.data.size for w in weights)) * weights[0].data.itemsize
    assert int(saved["calls"]) == model.optimizer.iterations
    assert int(saved["bytes_sent"]) == per_step * model.optimizer.iterations
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    for index, expected in enumerate(model.get_weights()):
        assert saved[f"arr_{index}"].dtype == expected.dtype
        assert max_relative(saved[f"arr_{index}"], expected) < tolerance, index
    for key, values in history.items():  # averaged over the ranks: one process's logs
        numpy.testing.assert_allclose(saved[f"history_{key}"], values, rtol=tolerance * 10,
                                      err_msg=key)


def replicas_reference(ranks):
    """Data parallelism simulated in one process: one BN model per rank, each on its
    contiguous part of every unshuffled global batch, the gradients averaged."""
    replicas = [cases.model("bn", "sgd", "float64") for _ in range(ranks)]
    (x, y), _ = cases.data("mlp", "float64")
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    for _ in range(3):
        for start in range(0, 24, 4 * ranks):
            grads = []
            for rank, replica in enumerate(replicas):
                part = slice(start + 4 * rank, start + 4 * rank + 4)
                replica.zero_grad()
                loss(y[part], replica(x[part], training=True)).backward()
                grads.append([w.grad.data for w in replica.trainable_weights])
            mean = [sum(arrays) / ranks for arrays in zip(*grads)]
            for replica in replicas:
                for weight, grad in zip(replica.trainable_weights, mean):
                    weight.grad = grad.copy()
                replica.optimizer.step(replica.trainable_weights)
    return replicas


def test_batch_normalization_keeps_per_rank_statistics(ranks_run):
    ranks, out = ranks_run
    replicas = replicas_reference(ranks)
    saved = [numpy.load(out / f"bn-rank{rank}.npz") for rank in range(ranks)]
    names = replicas[0].weight_names
    for rank, replica in enumerate(replicas):
        for index, expected in enumerate(replica.get_weights()):
            assert max_relative(saved[rank][f"arr_{index}"], expected) < 1e-12, names[index]
    moving = names.index(next(n for n in names if n.endswith("moving_mean")))
    assert not numpy.allclose(saved[0][f"arr_{moving}"], saved[1][f"arr_{moving}"])


def test_broadcast_weights_sends_the_optimizer_state(ranks_run):
    _, out = ranks_run
    saved = numpy.load(out / "broadcast.npz")
    assert saved["same"] and list(saved["steps"]) == [5] * 4


def test_a_stop_on_one_rank_stops_every_rank(ranks_run):
    ranks, out = ranks_run
    assert list(numpy.load(out / "stop.npz")["iterations"]) == [2] * ranks


def test_a_rank_that_raises_ends_every_rank_with_its_error(tmp_path):
    started = time.perf_counter()
    done = run_worker(3, "raise", tmp_path, timeout=60)
    assert done.returncode != 0
    assert "RuntimeError: boom on rank 2" in done.stderr
    assert "rank 2 of 3 failed (RuntimeError: boom on rank 2)" in done.stderr
    assert time.perf_counter() - started < 30


def test_models_of_different_shapes_fail_at_the_first_broadcast(tmp_path):
    done = run_worker(2, "shapes", tmp_path, timeout=60)
    assert done.returncode != 0
    assert ("the ranks' models differ: dense/kernel has shape (5, 4) (float64) on rank 0 but "
            "dense/kernel has shape (5, 5) (float64) on rank 1") in done.stderr
