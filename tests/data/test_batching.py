import numpy as np
import pytest

import neuronet as nn
from neuronet.data import ArrayBatches, batches, num_batches


def _sizes(rng):
    n = int(rng.integers(1, 200))
    return n, int(rng.integers(1, n + 5))


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_index_exactly_once_per_epoch(shuffle, rng):
    for _ in range(20):
        n, batch_size = _sizes(rng)
        epoch = list(batches(n, batch_size, shuffle=shuffle, rng=rng))
        assert len(epoch) == num_batches(n, batch_size) == -(-n // batch_size)
        assert all(len(idx) == batch_size for idx in epoch[:-1])
        assert 1 <= len(epoch[-1]) <= batch_size
        order = np.concatenate(epoch)
        np.testing.assert_array_equal(np.sort(order), np.arange(n))
        if not shuffle:
            np.testing.assert_array_equal(order, np.arange(n))


def test_drop_remainder_keeps_full_batches_only(rng):
    for _ in range(20):
        n, batch_size = _sizes(rng)
        epoch = list(batches(n, batch_size, rng=rng, drop_remainder=True))
        assert len(epoch) == num_batches(n, batch_size, drop_remainder=True) == n // batch_size
        assert all(len(idx) == batch_size for idx in epoch)
        order = np.concatenate(epoch) if epoch else np.array([], int)
        assert len(np.unique(order)) == len(order) == n - n % batch_size


def test_same_seed_same_batches_and_epochs_differ():
    first = [idx.tolist() for idx in batches(50, 8, rng=np.random.default_rng(3))]
    again = [idx.tolist() for idx in batches(50, 8, rng=np.random.default_rng(3))]
    assert first == again
    nn.manual_seed(11)
    library = [list(batches(50, 8)) for _ in range(2)]
    nn.manual_seed(11)
    repeated = [list(batches(50, 8)) for _ in range(2)]
    for epoch, same in zip(library, repeated):
        np.testing.assert_array_equal(np.concatenate(epoch), np.concatenate(same))
    assert not np.array_equal(np.concatenate(library[0]), np.concatenate(library[1]))


def test_array_batches_pairs_rows_and_repeats_by_seed(rng):
    x = rng.standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23)
    loader = ArrayBatches(x, y, batch_size=5, seed=4)
    assert len(loader) == 5
    epochs = [[(xb.copy(), yb.copy()) for xb, yb in loader] for _ in range(2)]
    for epoch in epochs:
        for x_batch, y_batch in epoch:
            np.testing.assert_array_equal(x_batch, x[y_batch])
        np.testing.assert_array_equal(np.sort(np.concatenate([yb for _, yb in epoch])), y)
    order = [np.concatenate([yb for _, yb in epoch]) for epoch in epochs]
    assert not np.array_equal(order[0], order[1])
    replay = ArrayBatches(x, y, batch_size=5, seed=4)
    for epoch in order:
        np.testing.assert_array_equal(np.concatenate([yb for _, yb in replay]), epoch)
    dropped = ArrayBatches(x, y, batch_size=5, shuffle=False, drop_remainder=True)
    assert len(dropped) == 4
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in dropped]), np.arange(20))


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "8"])
def test_bad_batch_size_is_named(batch_size):
    with pytest.raises(ValueError, match=f"batches expects batch_size to be an integer >= 1, "
                                         f"got {batch_size!r}"):
        batches(10, batch_size)
    with pytest.raises(ValueError, match="ArrayBatches expects batch_size"):
        ArrayBatches(np.zeros(4), np.zeros(4), batch_size=batch_size)


def test_bad_sample_count_and_mismatched_arrays():
    with pytest.raises(ValueError, match="batches expects n to be an integer >= 0, got -1"):
        batches(-1, 4)
    with pytest.raises(ValueError, match=r"x of shape \(4, 2\) and y of shape \(3,\)"):
        ArrayBatches(np.zeros((4, 2)), np.zeros(3))
