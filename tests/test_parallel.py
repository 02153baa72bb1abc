"""neuronet.parallel: splitting work over threads, holding BLAS at one thread, and results
that do not depend on the number of threads."""
import multiprocessing
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from harness import assert_close
import neuronet as nn
from neuronet import layers, ops, parallel


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


def test_single_threaded_blas_is_reentrant_and_optional():
    before = _blas_threads()
    with parallel.single_threaded_blas(hold=False):
        assert not parallel.blas_held() and _blas_threads() == before
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
    assert model.threaded == with_conv and probe.held == with_conv
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
        with parallel.single_threaded_blas(hold=hold):
            y = ops.dense(*tensors, activation="relu" if relu else None)
            y.backward(gy)
        results.append([y.numpy()] + [t.grad for t in tensors])
    expected_y = x @ w + b
    assert_close(results[0][0], np.maximum(expected_y, 0) if relu else expected_y, 1e-12)
    for mine, theirs in zip(*results):
        assert_close(mine, theirs, 1e-12)
