import numpy as np
import pytest

from neuronet import detection


def test_iou_by_hand():
    # Overlap [1, 1, 2, 2]: area 1; union 4 + 4 - 1 = 7.
    assert detection.iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert detection.iou([0, 0, 4, 4], [1, 1, 3, 3]) == pytest.approx(4 / 16)
    assert detection.iou([0, 0, 1, 1], [2, 2, 3, 3]) == 0.0  # apart
    assert detection.iou([0, 0, 1, 1], [1, 0, 2, 1]) == 0.0  # touching edges
    assert detection.iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0  # both empty
    assert detection.iou([2, 3, 7, 9], [2, 3, 7, 9]) == 1.0


def test_pairwise_iou_is_every_pair(rng):
    first = np.sort(rng.uniform(0, 10, size=(4, 2, 2)), axis=1).transpose(0, 2, 1)
    second = np.sort(rng.uniform(0, 10, size=(3, 2, 2)), axis=1).transpose(0, 2, 1)
    first, second = first.reshape(4, 4)[:, [0, 1, 2, 3]], second.reshape(3, 4)
    # rows (x1, y1, x2, y2) with x1 < x2, y1 < y2 after the sort and transpose
    first, second = first[:, [0, 2, 1, 3]], second[:, [0, 2, 1, 3]]
    table = detection.pairwise_iou(first, second)
    assert table.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert table[i, j] == pytest.approx(_iou_by_loops(first[i], second[j]))


def _iou_by_loops(a, b):
    """IoU by the definition on a fine grid would be slow; by intervals instead."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_center_and_corner_forms_round_trip():
    np.testing.assert_allclose(detection.center_to_corners([5, 6, 4, 2]), [3, 5, 7, 7])
    np.testing.assert_allclose(detection.corners_to_center([3, 5, 7, 7]), [5, 6, 4, 2])


def test_nms_by_hand():
    boxes = np.array([[0, 0, 10, 10],     # A, score .9
                      [1, 1, 11, 11],     # B, score .8: IoU(A, B) = 81 / 119 = .68
                      [20, 20, 30, 30],   # C, score .7: apart from all
                      [0, 0, 10, 5]])     # D, score .95: IoU(D, A) = .5, IoU(D, B) = .32
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # D first; A (IoU .5 with D, not above .5) stays; A then removes B; C stays.
    np.testing.assert_array_equal(detection.nms(boxes, scores, 0.5), [3, 0, 2])
    # At .4, D removes A, and B (.32 with D) survives.
    np.testing.assert_array_equal(detection.nms(boxes, scores, 0.4), [3, 1, 2])
    assert detection.nms(np.zeros((0, 4)), np.zeros(0)).size == 0


def test_boxes_must_have_four_numbers():
    with pytest.raises(ValueError, match=r"iou: expected boxes of shape \(\.\.\., 4\)"):
        detection.iou([0, 0, 1], [0, 0, 1, 1])
