"""Average precision of a detector, as in Pascal VOC (2010 on): mAP@0.5.

For one class, sort all its detections over all images by decreasing score. Walking
down the list, a detection is a true positive if its IoU with a not yet matched true
box of the same class in its image is >= the threshold (the true box of highest IoU),
else a false positive (a second detection of a matched box is false). After each
detection: precision = TP / (TP + FP), recall = TP / (number of true boxes).
AP = the area under the precision-recall curve made monotone (each precision replaced
by the highest precision at that recall or above), summed over the recall steps:
AP = sum_k (r_k - r_{k-1}) * max_{j >= k} p_j. mAP is the mean of AP over the classes
that have at least one true box.
"""
import dataclasses

import numpy

from neuronet.detection.boxes import pairwise_iou


@dataclasses.dataclass
class Detections:
    """What a detector found in one image: boxes (K, 4), scores (K,), classes (K,)."""

    boxes: numpy.ndarray
    scores: numpy.ndarray
    classes: numpy.ndarray


def average_precision(detections, truths, label, iou_threshold=0.5):
    """AP of class ``label``.

    Args:
        detections: one ``Detections`` per image.
        truths: one (boxes (M, 4), classes (M,)) pair per image, in the same order.

    Returns:
        (AP, recall at the end, precision curve, recall curve); AP is NaN when the class
        has no true box.
    """
    scores, images, rows, overlaps, total = [], [], [], [], 0
    for image, (found, (true_boxes, true_classes)) in enumerate(zip(detections, truths)):
        true_boxes = numpy.asarray(true_boxes).reshape(-1, 4)[numpy.asarray(true_classes)
                                                               == label]
        mine = numpy.asarray(found.classes) == label
        boxes = numpy.asarray(found.boxes).reshape(-1, 4)[mine]
        total += len(true_boxes)
        overlaps.append(pairwise_iou(boxes, true_boxes))  # (detections, true boxes)
        scores.extend(numpy.asarray(found.scores)[mine].tolist())
        images.extend([image] * len(boxes))
        rows.extend(range(len(boxes)))
    if total == 0:
        return float("nan"), float("nan"), numpy.zeros(0), numpy.zeros(0)
    order = numpy.lexsort((images, -numpy.asarray(scores, dtype=numpy.float64)))
    matched = [numpy.zeros(table.shape[1], dtype=bool) for table in overlaps]
    hits = numpy.zeros(len(order), dtype=bool)
    for index, record in enumerate(order):
        image = images[record]
        hits[index] = _match(overlaps[image][rows[record]], matched[image], iou_threshold)
    true_positives = numpy.cumsum(hits)
    precision = true_positives / numpy.arange(1, len(order) + 1)
    recall = true_positives / total
    return _area(precision, recall), float(recall[-1]) if len(recall) else 0.0, precision, recall


def _match(overlaps, matched, iou_threshold):
    """Whether a detection with these IoUs to the image's true boxes hits the one it
    overlaps most, if that one is still free (marking it matched)."""
    if not len(overlaps):
        return False
    best = int(overlaps.argmax())
    if overlaps[best] >= iou_threshold and not matched[best]:
        matched[best] = True
        return True
    return False


def _area(precision, recall):
    """sum_k (r_k - r_{k-1}) max_{j >= k} p_j, with r_0 = 0."""
    if not len(precision):
        return 0.0
    envelope = numpy.maximum.accumulate(precision[::-1])[::-1]
    steps = numpy.diff(numpy.concatenate([[0.0], recall]))
    return float(numpy.sum(steps * envelope))


def mean_average_precision(detections, truths, num_classes, iou_threshold=0.5):
    """(mAP, {class: AP}) over the classes 0..num_classes-1 that have a true box."""
    per_class = {}
    for label in range(num_classes):
        ap = average_precision(detections, truths, label, iou_threshold)[0]
        if not numpy.isnan(ap):
            per_class[label] = ap
    if not per_class:
        raise ValueError("mean_average_precision: no true box in any image")
    return float(numpy.mean(list(per_class.values()))), per_class
