import numpy as np
import pytest

from neuronet import detection
from neuronet.detection import Detections


def _example():
    """Two images. Class 0: true boxes g1, g2 in image 0 and g3 in image 1; class 1: one
    true box in image 1; class 2: no true box (its detection is left out of mAP)."""
    truths = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 0])),
              (np.array([[0, 0, 10, 10], [30, 30, 40, 40]]), np.array([0, 1]))]
    detections = [
        Detections(np.array([[0, 0, 10, 10],      # .9  class 0: hits g1
                             [1, 1, 10, 10],      # .8  class 0: IoU .81 with g1, taken: FP
                             [50, 50, 60, 60],    # .6  class 0: nothing there: FP
                             [30, 30, 40, 40],    # .95 class 1: no class-1 box here: FP
                             [0, 0, 5, 5]]),      # .99 class 2
                   np.array([0.9, 0.8, 0.6, 0.95, 0.99]), np.array([0, 0, 0, 1, 2])),
        Detections(np.array([[0, 0, 10, 10],      # .7  class 0: hits g3
                             [30, 31, 40, 40]]),  # .5  class 1: IoU .9: TP
                   np.array([0.7, 0.5]), np.array([0, 1]))]
    return detections, truths


def test_average_precision_by_hand():
    detections, truths = _example()
    # Class 0 by score: TP, FP, TP, FP over 3 true boxes. Precision 1, 1/2, 2/3, 1/2;
    # recall 1/3, 1/3, 2/3, 2/3. Monotone envelope 1, 2/3, 2/3, 1/2; recall steps 1/3,
    # 0, 1/3, 0: AP = 1/3 * 1 + 1/3 * 2/3 = 5/9.
    ap, recall, precision, recalls = detection.average_precision(detections, truths, 0)
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 1 / 2])
    np.testing.assert_allclose(recalls, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert ap == pytest.approx(5 / 9)
    assert recall == pytest.approx(2 / 3)
    # Class 1: FP (.95) then TP (.5): precision 0, 1/2, recall 0, 1: AP = 1 * 1/2.
    assert detection.average_precision(detections, truths, 1)[0] == pytest.approx(0.5)
    assert np.isnan(detection.average_precision(detections, truths, 2)[0])


def test_mean_average_precision_by_hand():
    detections, truths = _example()
    value, per_class = detection.mean_average_precision(detections, truths, 3)
    assert sorted(per_class) == [0, 1]
    assert value == pytest.approx((5 / 9 + 1 / 2) / 2)


def test_the_iou_threshold_decides_a_hit():
    truths = [(np.array([[0, 0, 10, 10]]), np.array([0]))]
    found = [Detections(np.array([[0, 0, 10, 6]]), np.array([0.9]), np.array([0]))]
    # IoU 60 / 100 = 0.6
    assert detection.mean_average_precision(found, truths, 1, iou_threshold=0.5)[0] == 1.0
    assert detection.mean_average_precision(found, truths, 1, iou_threshold=0.7)[0] == 0.0


def test_perfect_detections_and_no_detections():
    truths = [(np.array([[0, 0, 4, 4], [5, 5, 9, 9]]), np.array([0, 1]))]
    perfect = [Detections(truths[0][0], np.array([0.5, 0.6]), truths[0][1])]
    assert detection.mean_average_precision(perfect, truths, 2)[0] == 1.0
    empty = [Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))]
    assert detection.mean_average_precision(empty, truths, 2)[0] == 0.0
    with pytest.raises(ValueError, match="no true box"):
        detection.mean_average_precision(empty, [(np.zeros((0, 4)), np.zeros(0))], 2)
