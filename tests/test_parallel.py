"""neuronet.parallel: splitting work over threads, holding BLAS at one thread, and results
that do not depend on the number of threads."""
import contextlib
import multiprocessing
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from harness import assert_close
import neuronet as nn
from neuronet import accelerator, layers, ops, parallel
from neuronet.ops.recurrent import loop


@pytest.fixture
def threads():
    """Set the thread count for one test and restore it afterwards."""
    saved = parallel.get_num_threads()
    yield parallel.set_num_threads
    parallel.set_num_threads(saved)


def _blas_threads():
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


@pytest.mark.parametrize("count, parts", [(10, 3), (3, 5), (1, 2), (128, 2), (7, 7)])
def test_split_gives_contiguous_nearly_equal_non_empty_runs(count, parts):
    items = list(range(count))
    runs = parallel.split(items, parts)
    assert sum(runs, []) == items
    assert len(runs) == min(count, parts) and all(runs)
    assert max(map(len, runs)) - min(map(len, runs)) <= 1


@pytest.mark.parametrize("count, largest, n_threads", [(128, 32, 2), (128, 72, 2), (1000, 32, 3),
                                                      (5, 2, 4), (1, 8, 2), (100, 1000, 2)])
def test_block_size_covers_the_items_in_a_number_of_blocks_the_threads_share(
        count, largest, n_threads, threads):
    threads(n_threads)
    size = parallel.block_size(count, largest)
    blocks = -(-count // size)
    assert 1 <= size <= max(largest, -(-count // n_threads))
    assert blocks % n_threads == 0 or blocks == count or blocks < n_threads


def test_map_parts_runs_the_parts_at_once_in_order_with_blas_at_one_thread(threads):
    threads(3)
    seen = []

    def work(part):
        seen.append((threading.get_ident(), _blas_threads(), parallel.get_num_threads()))
        return [item * 10 for item in part]

    assert parallel.map_parts(work, range(7)) == [[0, 10], [20, 30], [40, 50, 60]]
    assert len({ident for ident, _, _ in seen}) == 3
    assert all(blas == {1} for _, blas, _ in seen)


def test_map_parts_restores_blas_threads_afterwards(threads):
    threads(2)
    before = _blas_threads()
    parallel.map_parts(lambda part: None, range(4))
    assert _blas_threads() == before


def test_map_parts_inside_a_part_runs_serially(threads):
    threads(2)
    outer = threading.get_ident()

    def inner(part):
        return threading.get_ident()

    def work(part):
        return parallel.map_parts(inner, range(4))

    results = parallel.map_parts(work, range(2))
    assert results[0] == [outer, outer]
    assert len(set(results[1])) == 1 and results[1][0] != outer


@pytest.mark.parametrize("failing_part", [0, 1])
def test_map_parts_raises_the_error_of_any_part_and_keeps_working(failing_part, threads):
    threads(2)

    def work(part):
        if part[0] == failing_part:
            raise KeyError(f"part {failing_part}")
        return part

    with pytest.raises(KeyError, match=f"part {failing_part}"):
        parallel.map_parts(work, [0, 1])
    assert parallel.map_parts(lambda part: part, [0, 1]) == [[0], [1]]


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_what_is_not_a_positive_int(count):
    with pytest.raises(ValueError, match=r"set_num_threads expects a positive int, got"):
        parallel.set_num_threads(count)


def test_single_threaded_blas_is_reentrant():
    before = _blas_threads()
    assert not parallel.blas_held()
    with parallel.single_threaded_blas():
        with parallel.single_threaded_blas():
            assert parallel.blas_held() and _blas_threads() == {1}
        assert parallel.blas_held() and _blas_threads() == {1}
    assert not parallel.blas_held() and _blas_threads() == before


def test_conv_and_pool_give_the_same_results_with_any_thread_count(threads, rng):
    """Blocks split differently only change where partial weight gradients are summed."""
    x = rng.standard_normal((9, 10, 10, 3))
    w, b = rng.standard_normal((3, 3, 3, 5)), rng.standard_normal(5)
    gy = rng.standard_normal((9, 5, 5, 5))
    results = []
    for count in (1, 2, 3):
        threads(count)
        tensors = [nn.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b)]
        y = ops.max_pool2d(ops.conv2d(*tensors, padding="same", activation="relu"), 2)
        y.backward(gy)
        results.append([y.numpy()] + [t.grad for t in tensors])
    for other in results[1:]:
        for mine, theirs in zip(other, results[0]):
            assert_close(mine, theirs, 1e-13)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_recurrent_op_splits_the_batch_and_gives_the_same_results_with_any_thread_count(
        cell, threads, rng, monkeypatch):
    """Batch 50 in 1, 2 and 3 parts of >= 16 sequences (a mask and recurrent dropout
    too): outputs, input and state gradients equal; weight gradients are partial sums
    in another order, so equal to rounding."""
    gates, units = {"lstm": 4, "gru": 3}[cell], 5
    monkeypatch.setattr(loop, "MIN_PART_GATE_VALUES", 16 * gates * units)
    x, gy = rng.standard_normal((50, 7, 4)), rng.standard_normal((50, 7 + 2, units))
    weights = [rng.standard_normal((4, gates * units)),
               rng.standard_normal((units, gates * units)),
               rng.standard_normal((2, 3 * units) if cell == "gru" else 4 * units)]
    mask = rng.random((50, 7)) > 0.3
    dropout = (rng.random((50, units)) > 0.4) / 0.6
    seen, results = [], []
    for count in (1, 2, 3):
        threads(count)
        tensors = [nn.tensor(a, dtype="float64", requires_grad=True) for a in [x] + weights]
        h0 = nn.tensor(np.ones((50, units)), dtype="float64", requires_grad=True)
        states = [h0, None] if cell == "lstm" else [h0]
        output, final = ops.rnn(cell, *tensors, initial_state=states, mask=mask,
                                recurrent_mask=dropout)
        y = ops.concatenate([output, ops.stack([final[0], final[-1]], axis=1)], axis=1)
        y.backward(gy)
        seen.append(len(loop._batch_parts(50, gates * units)))
        results.append([y.numpy(), h0.grad.numpy()] + [t.grad.numpy() for t in tensors])
    assert seen == [1, 2, 3]
    for other in results[1:]:
        for mine, theirs in zip(other, results[0]):
            assert_close(mine, theirs, 1e-12)


def test_a_part_of_the_batch_needs_enough_gate_values_per_step(threads):
    threads(2)
    assert len(loop._batch_parts(32, 4 * 128)) == 2  # LSTM(128): 16 x 512 gate values
    assert len(loop._batch_parts(32, 3 * 128)) == 1  # GRU(128): 16 x 384, too few
    assert len(loop._batch_parts(64, 3 * 128)) == 2
    assert len(loop._batch_parts(1000, 4 * 4)) == 1  # LSTM(4): 500 x 16 values each


def test_a_recurrent_model_holds_blas():
    model = nn.Sequential([layers.Input((5, 3)), layers.Bidirectional(layers.GRU(4)),
                           layers.Dense(2)])
    assert model.execution_plan.holds_blas


class _Probe(layers.Layer):
    """Records whether BLAS is held while the model runs it."""

    def call(self, x, training=False):
        self.held = parallel.blas_held()
        return x


@pytest.mark.parametrize("with_conv", [True, False])
def test_models_hold_blas_only_when_a_layer_splits_work_over_threads(with_conv):
    stack = [layers.Input((6, 6, 1))]
    if with_conv:
        stack += [layers.Conv2D(2, 3, padding="same")]
    probe = _Probe()
    model = nn.Sequential(stack + [probe, layers.Flatten(), layers.Dense(3)])
    model.predict(np.zeros((2, 6, 6, 1)))
    assert model.execution_plan.holds_blas == with_conv and probe.held == with_conv
    assert not parallel.blas_held()


def _split_work_in_child(queue):
    queue.put(parallel.map_parts(lambda part: [threading.get_ident()] * len(part), range(4)))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="fork is a POSIX start method")
def test_a_forked_child_starts_its_own_workers(threads):
    threads(2)
    parallel.map_parts(lambda part: None, range(2))  # the parent's worker exists
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_split_work_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0, "the child hung or failed splitting work"
    idents = queue.get(timeout=5)
    assert len(idents) == 2 and idents[0][0] != idents[1][0]


@pytest.mark.parametrize("relu", [False, True])
def test_dense_splits_big_products_over_threads_while_blas_is_held(relu, threads, rng):
    """300 x 200 @ 200 x 100 (6M multiply-adds): split by rows (y, dL/dx) and by rows of
    w (dL/dw) inside a held block, in one piece outside; the same numbers either way."""
    threads(3)
    x, w = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
    b = rng.standard_normal(100)
    gy = rng.standard_normal((300, 100))
    results = []
    for hold in (True, False):
        tensors = [nn.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b)]
        with parallel.single_threaded_blas() if hold else contextlib.nullcontext():
            y = ops.dense(*tensors, activation="relu" if relu else None)
            y.backward(gy)
        results.append([y.numpy()] + [t.grad for t in tensors])
    expected_y = x @ w + b
    assert_close(results[0][0], np.maximum(expected_y, 0) if relu else expected_y, 1e-12)
    for mine, theirs in zip(*results):
        assert_close(mine, theirs, 1e-12)


def test_two_threads_holding_blas_at_once_keep_it_held_until_the_last_leaves():
    """BLAS's thread count is one setting for the process: A in, B in, A out must leave it
    at one thread for B, and B out must restore the setting from before A came in."""
    seen = {}
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with parallel.single_threaded_blas():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def second():
        a_in.wait(10)
        with parallel.single_threaded_blas():
            b_in.set()
            a_out.wait(10)
            seen["inside after A left"] = _blas_threads()

    with threadpool_limits(limits=3, user_api="blas"):  # not 1, so that a hold shows
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        seen["after both"] = _blas_threads()
    assert seen == {"inside after A left": {1}, "after both": {3}}


class _BlasRecorder(layers.Layer):
    """Records BLAS's thread count each time the model runs it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = set()

    def call(self, x, training=False):
        self.seen |= _blas_threads()
        return x


def _small_cnn(seed):
    nn.manual_seed(seed)
    model = nn.Sequential([layers.Input((10, 10, 2)),
                           layers.Conv2D(4, 3, padding="same", activation="relu"),
                           layers.MaxPooling2D(2), _BlasRecorder(), layers.Flatten(),
                           layers.Dense(3)])
    model.compile(optimizer="adam",
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.layers[2].seen.clear()  # building ran the layers on zeros, outside any call
    return model


def _train_and_predict(model, x, y, steps=15):
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model.predict(x), model.get_weights()


def test_two_threads_training_two_models_at_once_match_a_serial_run(threads, rng):
    threads(2)
    x = rng.standard_normal((16, 10, 10, 2)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    serial = [_train_and_predict(_small_cnn(seed), x, y) for seed in (1, 2)]
    models = [_small_cnn(seed) for seed in (1, 2)]
    results = [None, None]

    def train(k):
        results[k] = _train_and_predict(models[k], x, y)

    with threadpool_limits(limits=3, user_api="blas"):
        workers = [threading.Thread(target=train, args=(k,)) for k in (0, 1)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        after = _blas_threads()
    assert after == {3}
    for model in models:
        assert model.layers[2].seen == {1}  # held in every call by either thread
    for (predicted, weights), (serial_predicted, serial_weights) in zip(results, serial):
        np.testing.assert_array_equal(predicted, serial_predicted)
        for mine, theirs in zip(weights, serial_weights):
            np.testing.assert_array_equal(mine, theirs)


def test_no_grad_in_one_thread_leaves_the_others_recording():
    """Gradient recording is per thread, as in PyTorch: one thread predicting under
    no_grad while another trains must not cut the trainer's graph."""
    inside, done = threading.Event(), threading.Event()

    def predict():
        with nn.no_grad():
            inside.set()
            done.wait(10)

    other = threading.Thread(target=predict)
    other.start()
    inside.wait(10)
    try:
        w = nn.tensor([1.0, 2.0], requires_grad=True)
        recorded = (w * w).sum().requires_grad
    finally:
        done.set()
        other.join(10)
    assert recorded and nn.is_grad_enabled()


def _counted_map_parts(monkeypatch):
    """The item counts of every ``map_parts`` call."""
    counts, map_parts = [], parallel.map_parts

    def counted(work, items):
        items = list(items)
        counts.append(len(items))
        return map_parts(work, items)
    monkeypatch.setattr(parallel, "map_parts", counted)
    return counts


@pytest.mark.parametrize("held, rows, bytes_from, expected", [
    (True, 10, 0, [3]), (True, 2, 0, [2]), (False, 10, 0, []), (True, 10, 10**9, []),
    (True, 1, 0, [])])
def test_elementwise_cuts_rows_only_for_big_arrays_while_blas_is_held(
        held, rows, bytes_from, expected, threads, rng, monkeypatch):
    threads(3)
    monkeypatch.setattr(parallel, "ELEMENTWISE_SPLIT_FROM", bytes_from)
    counts = _counted_map_parts(monkeypatch)
    x = rng.standard_normal((rows, 4, 5))
    y = np.empty_like(x)
    with parallel.single_threaded_blas() if held else contextlib.nullcontext():
        parallel.elementwise(lambda xs, ys: np.multiply(xs, 3.0, out=ys), x, y)
    np.testing.assert_array_equal(y, x * 3.0)
    assert counts == expected


def _batch_norm(training, accelerated=False):
    def run(x, gamma, beta):
        channels = x.shape[-1]
        with accelerator.using("numba" if accelerated else None):
            return ops.batch_norm(x, gamma, beta, np.zeros(channels), np.ones(channels),
                                  training)
    return run


IMAGES, CHANNEL = (7, 4, 3, 5), (5,)
ELEMENTWISE_OPS = {  # the op, the shapes of its inputs
    "relu": (ops.relu, [IMAGES]),
    "add": (ops.add, [IMAGES, IMAGES]),
    "batch_norm training": (_batch_norm(True), [IMAGES, CHANNEL, CHANNEL]),
    "batch_norm inference": (_batch_norm(False), [IMAGES, CHANNEL, CHANNEL]),
    "batch_norm training, accelerated": (_batch_norm(True, True), [IMAGES, CHANNEL, CHANNEL]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_OPS))
def test_elementwise_ops_give_the_same_bits_in_rows_over_threads(name, threads, rng,
                                                                 monkeypatch):
    """Forward and backward in pieces of rows over 3 threads (inside a hold, every array
    big enough) against in one piece."""
    threads(3)
    op, shapes = ELEMENTWISE_OPS[name]
    arrays = [rng.standard_normal(shape) for shape in shapes]
    gy = rng.standard_normal(IMAGES)
    results = []
    for split in (True, False):
        monkeypatch.setattr(parallel, "ELEMENTWISE_SPLIT_FROM", 0 if split else 10**9)
        counts = _counted_map_parts(monkeypatch)
        tensors = [nn.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
        with parallel.single_threaded_blas():
            y = op(*tensors)
            with accelerator.using("numba" if "accelerated" in name else None):
                y.backward(gy)
        results.append([y.numpy()] + [t.grad for t in tensors])
        assert bool(counts) == split
    for mine, theirs in zip(*results):
        np.testing.assert_array_equal(mine, theirs)
