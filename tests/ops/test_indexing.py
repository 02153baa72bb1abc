"""ops.embedding against torch.nn.functional.embedding and central differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import check_against_torch, check_gradients
import neuronet as nn
from neuronet import ops


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _ids(rng, shape, rows):
    ids = rng.integers(0, rows, shape)
    ids.flat[:3] = 2  # a repeated id: its gradients must add up
    return ids


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_embedding_matches_torch(rng, dtype, shape):
    ids = _ids(rng, shape, 6)
    check_against_torch(lambda w: ops.embedding(ids, w),
                        lambda w: F.embedding(torch.from_numpy(ids), w),
                        [rng.standard_normal((6, 4))], rng, dtype=dtype)


def test_embedding_gradient_matches_central_differences(rng):
    ids = _ids(rng, (3, 5), 6)
    check_gradients(lambda w: ops.embedding(ids, w), [rng.standard_normal((6, 4))], rng)


@pytest.mark.parametrize("bad", [6, -1])
def test_ids_outside_the_table_are_refused(bad):
    with pytest.raises(ValueError, match=rf"embedding got id {bad}, outside \[0, 6\)"):
        ops.embedding([[0, bad]], np.zeros((6, 2)))


def test_whole_float_ids_work_and_fractional_ones_are_refused():
    weight = nn.tensor(np.arange(12.0).reshape(6, 2))
    np.testing.assert_array_equal(ops.embedding(np.array([1.0, 5.0]), weight).numpy(),
                                  [[2, 3], [10, 11]])
    with pytest.raises(ValueError, match="integer ids"):
        ops.embedding(np.array([1.5]), weight)
