import numpy as np
import pytest
import torch

import neuronet as nn
from neuronet import detection
from neuronet.detection import grid


def test_encode_by_hand():
    # Canvas 64, 4 x 4 cells of 16 px. Box (8, 20)-(40, 44): centre (24, 32) -> cell
    # column 1, row 2, offsets (24 / 16 - 1, 32 / 16 - 2) = (0.5, 0); size 32 / 64, 24 / 64.
    boxes = [np.array([[8.0, 20.0, 40.0, 44.0], [20.0, 28.0, 28.0, 36.0]])]
    targets, collisions = grid.encode(boxes, [np.array([7, 3])], 64, 4)
    assert targets.shape == (1, 4, 4, 6)
    np.testing.assert_allclose(targets[0, 2, 1], [1, 0.5, 0.0, 0.5, 0.375, 7])
    # The small box has the same centre cell: the larger box keeps it.
    assert collisions == 1 and targets[0, ..., 0].sum() == 1


def test_decode_inverts_encode_and_suppresses_duplicates():
    boxes = [np.array([[8.0, 20.0, 40.0, 44.0], [44.0, 2.0, 60.0, 30.0]])]
    targets, _ = grid.encode(boxes, [np.array([2, 0])], 64, 4)
    logits = np.full((1, 4, 4, 5 + 3), -8.0)
    mask = targets[..., 0] > 0
    logits[..., 0] = np.where(mask, 8.0, -8.0)
    logits[..., 1:5] = np.log(np.clip(targets[..., 1:5], 1e-6, 1 - 1e-6)
                              / (1 - np.clip(targets[..., 1:5], 1e-6, 1 - 1e-6)))
    labels = targets[..., 5].astype(int)
    logits[..., 5:] = np.where(np.arange(3) == labels[..., None], 8.0, -8.0)
    # A second, weaker copy of the first box in the neighbouring cell: NMS removes it.
    logits[0, 2, 2] = logits[0, 2, 1]
    logits[0, 2, 2, 0] = 2.0
    logits[0, 2, 2, 1] = logits[0, 2, 1, 1] - 10  # offset ~0 in column 2: centre x = 32
    (found,) = grid.decode(logits, 64, score_threshold=0.5)
    assert len(found.boxes) == 2
    order = np.argsort(found.classes)
    np.testing.assert_allclose(found.boxes[order], boxes[0][[1, 0]], atol=1e-3)
    np.testing.assert_array_equal(found.classes[order], [0, 2])
    truths = [(boxes[0], np.array([2, 0]))]
    assert detection.mean_average_precision([found], truths, 3)[0] == pytest.approx(1.0)


def test_grid_loss_by_its_formula_against_torch(rng):
    cells, classes = 3, 4
    targets = np.zeros((2, cells, cells, 6), dtype=np.float64)
    targets[0, 1, 2] = [1, 0.3, 0.6, 0.2, 0.5, 3]
    targets[1, 0, 0] = [1, 0.9, 0.1, 0.4, 0.4, 1]
    logits = rng.normal(size=(2, cells, cells, 5 + classes))
    loss = grid.GridLoss(box_weight=5.0, no_object_weight=0.5, beta=0.05)
    ours = nn.tensor(logits, dtype="float64", requires_grad=True)
    value = loss(targets, ours)
    value.backward()
    theirs = torch.tensor(logits, requires_grad=True)
    t = torch.tensor(targets)
    mask = t[..., 0]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(theirs[..., 0], mask,
                                                               reduction="none")
    box = torch.nn.functional.smooth_l1_loss(torch.sigmoid(theirs[..., 1:5]), t[..., 1:5],
                                             beta=0.05, reduction="none").sum(-1)
    ce = torch.nn.functional.cross_entropy(theirs[..., 5:].reshape(-1, classes),
                                           t[..., 5].long().reshape(-1),
                                           reduction="none").reshape(mask.shape)
    per_cell = bce * torch.where(mask > 0, 1.0, 0.5) + (5.0 * box + ce) * mask
    expected = per_cell.sum(dim=(1, 2)).mean()
    expected.backward()
    np.testing.assert_allclose(value.numpy(), expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
