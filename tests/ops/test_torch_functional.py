"""PyTorch's loss names in ``neuronet.functional`` against ``torch.nn.functional``."""
import numpy as np
import pytest
import torch

import neuronet as nn
from neuronet import functional as F


def _both(rng, shape):
    data = rng.standard_normal(shape)
    return (nn.tensor(data, dtype="float64", requires_grad=True),
            torch.tensor(data, requires_grad=True))


def _check(ours, theirs, ours_x, theirs_x, rng):
    gy = rng.standard_normal(ours.shape)
    ours.backward(gy)
    theirs.backward(torch.tensor(gy))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2), (2, 5, 3, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_class_indices_classes_on_axis_1(shape, reduction, rng):
    x, tx = _both(rng, shape)
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = rng.integers(0, 5, target_shape)
    _check(F.cross_entropy(x, target, reduction=reduction),
           torch.nn.functional.cross_entropy(tx, torch.tensor(target), reduction=reduction),
           x, tx, rng)


@pytest.mark.parametrize("shape", [(4, 5), (3, 5, 2)])
def test_cross_entropy_with_probabilities(shape, rng):
    x, tx = _both(rng, shape)
    target = rng.dirichlet(np.ones(5), size=shape[:1] + shape[2:])  # classes last
    target = np.moveaxis(target, -1, 1)
    _check(F.cross_entropy(x, target), torch.nn.functional.cross_entropy(tx, torch.tensor(target)),
           x, tx, rng)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction, rng):
    x, tx = _both(rng, (4, 3))
    target = rng.standard_normal((4, 3))
    _check(F.mse_loss(x, target, reduction=reduction),
           torch.nn.functional.mse_loss(tx, torch.tensor(target), reduction=reduction),
           x, tx, rng)
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3,\) does not match"):
        F.mse_loss(x, np.zeros(3))


def test_binary_cross_entropy_with_logits(rng):
    x, tx = _both(rng, (4, 3))
    target = rng.uniform(size=(4, 3))
    _check(F.binary_cross_entropy_with_logits(x, target),
           torch.nn.functional.binary_cross_entropy_with_logits(tx, torch.tensor(target)),
           x, tx, rng)
