import numpy as np
import pytest
import torch

import neuronet as nn
from harness import check_against_torch, check_gradients
from neuronet import detection, losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.3, 0.0])
def test_smooth_l1_loss_matches_torch(rng, reduction, beta):
    x, t = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    check_against_torch(
        lambda a, b: detection.smooth_l1_loss(a, b, beta=beta, reduction=reduction),
        lambda a, b: torch.nn.functional.smooth_l1_loss(a, b, beta=beta, reduction=reduction),
        [x, t], rng, wrt=[0])
    if beta > 0:
        check_gradients(lambda a, b: detection.smooth_l1_loss(a, b, beta, "none"), [x, t],
                        rng)


def test_smooth_l1_by_hand():
    # beta 1: d = 0.5 -> 0.5 * 0.25 = 0.125; d = -2 -> 2 - 0.5 = 1.5.
    values = detection.smooth_l1(nn.tensor([0.5, -2.0]), beta=1.0).numpy()
    np.testing.assert_allclose(values, [0.125, 1.5])


def test_smooth_l1_loss_class_is_the_mean_per_sample(rng):
    y_true, y_pred = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    loss = losses.get("smooth_l1")
    assert isinstance(loss, detection.SmoothL1)
    expected = torch.nn.functional.smooth_l1_loss(torch.tensor(y_pred), torch.tensor(y_true))
    np.testing.assert_allclose(loss(y_true, nn.tensor(y_pred, dtype="float64")).numpy(),
                               expected.numpy(), rtol=1e-12)
    config = detection.SmoothL1(beta=0.1).get_config()
    assert detection.SmoothL1.from_config(config).beta == 0.1
    with pytest.raises(ValueError, match="beta must be >= 0"):
        detection.SmoothL1(beta=-1)


def _boxes(rng, n):
    corners = rng.uniform(0, 10, size=(n, 2))
    return np.concatenate([corners, corners + rng.uniform(1, 6, size=(n, 2))], axis=1)


def test_box_iou_equals_numpy_iou_and_has_the_right_gradient(rng):
    predicted, target = _boxes(rng, 8), _boxes(rng, 8)
    target[0] = predicted[0] + 0.5  # make sure some pairs overlap
    values = detection.box_iou(nn.tensor(predicted, dtype="float64"), target, eps=0.0)
    np.testing.assert_allclose(values.numpy(), detection.iou(predicted, target), rtol=1e-12)
    overlapping = detection.iou(predicted, target) > 0
    check_gradients(lambda p, t: detection.box_iou(p, t), [predicted[overlapping],
                                                           target[overlapping]], rng, wrt=[0])


def test_iou_loss_by_hand():
    loss = detection.IoULoss()
    value = loss(np.array([[1.0, 1.0, 3.0, 3.0]]), nn.tensor([[0.0, 0.0, 2.0, 2.0]]))
    np.testing.assert_allclose(value.numpy(), 1 - 1 / 7, rtol=1e-6)
