import numpy as np
import pytest
import torch

from layer_harness import check_layer, check_layer_against_torch, check_layers_gradients
import neuronet as nn
from neuronet import layers


class StudentT(torch.nn.Module):
    """DEC's eq. 1 written with the differences z_i - mu_j (the layer expands the
    square instead): q_ij = k_ij / sum_j' k_ij', k = (1 + d / alpha)^(-(alpha + 1) / 2)."""

    def __init__(self, clusters, features, alpha):
        super().__init__()
        self.centers = torch.nn.Parameter(torch.zeros(clusters, features))
        self.alpha = alpha

    def forward(self, z):
        squared = ((z[:, None, :] - self.centers[None]) ** 2).sum(-1)
        kernel = (1 + squared / self.alpha) ** (-(self.alpha + 1) / 2)
        return kernel / kernel.sum(-1, keepdim=True)


def test_soft_assignments_by_hand():
    # z = (0, 0), centres (0, 0) and (1, 0), alpha 1: kernels 1 and 1 / 2
    # z = (0, 2): squared distances 4 and 5: kernels 1 / 5 and 1 / 6
    layer = layers.ClusterAssignment(2)
    layer.build((None, 2))
    layer.set_weights([np.array([[0.0, 0.0], [1.0, 0.0]])])
    q = layer(np.array([[0.0, 0.0], [0.0, 2.0]], dtype=np.float32)).numpy()
    np.testing.assert_allclose(q, [[2 / 3, 1 / 3], [6 / 11, 5 / 11]], rtol=1e-6)


def test_alpha_changes_the_kernel_by_hand():
    # alpha 3: exponent -2; squared distances 0 and 3: kernels 1 and (1 + 1)^-2 = 1 / 4
    layer = layers.ClusterAssignment(2, alpha=3.0)
    layer.build((None, 1))
    layer.set_weights([np.array([[0.0], [np.sqrt(3.0)]])])
    np.testing.assert_allclose(layer(np.zeros((1, 1), dtype=np.float32)).numpy(),
                               [[0.8, 0.2]], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_against_torch(dtype, alpha, rng):
    check_layer_against_torch(
        lambda dtype: layers.ClusterAssignment(4, alpha=alpha, dtype=dtype),
        StudentT(4, 3, alpha), [("centers", lambda w: w)], (5, 3), rng, dtype)


def test_layer_contract(rng):
    check_layer(layers.ClusterAssignment(4), (6, 3), rng, expected_params=4 * 3)


def test_gradients_against_finite_differences(rng):
    check_layers_gradients([layers.ClusterAssignment(3, alpha=2.0, dtype="float64")], (4, 2),
                           rng)


def test_rows_are_distributions(rng):
    q = layers.ClusterAssignment(5)(rng.standard_normal((7, 4)).astype(np.float32)).numpy()
    assert q.min() > 0
    np.testing.assert_allclose(q.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"clusters": 0}, "a positive int of clusters, got 0"),
    ({"clusters": 2.0}, "a positive int of clusters, got 2.0"),
    ({"clusters": 3, "alpha": 0}, "alpha > 0, got 0"),
])
def test_bad_arguments_name_the_layer(kwargs, message):
    with pytest.raises(ValueError, match=f"ClusterAssignment '.*' expects {message}"):
        layers.ClusterAssignment(**kwargs)


def test_wrong_input_rank_is_refused():
    with pytest.raises(ValueError, match="ClusterAssignment"):
        layers.ClusterAssignment(3)(nn.tensor(np.zeros((2, 3, 4), dtype=np.float32)))
