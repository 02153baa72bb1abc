"""A single-shot grid detector's targets, loss and decoding, as in YOLO v1 (Redmon et
al., 2016) with one box per cell.

The canvas is cut into S x S cells. The cell that holds an object's centre is
responsible for it; its target is [1, ox, oy, w, h, class]: the centre's offset
inside the cell (ox, oy in [0, 1]) and the box size as a fraction of the canvas
(w, h in [0, 1]); every other cell's target is [0, 0, 0, 0, 0, 0]. The network
predicts per cell 5 + C numbers: an objectness logit, four box logits (squashed by a
sigmoid into [0, 1]) and C class logits.
"""
import numpy

from neuronet import losses, ops
from neuronet.detection.average_precision import Detections
from neuronet.detection.boxes import nms
from neuronet.detection.losses import smooth_l1

TARGET_SIZE = 6  # objectness, ox, oy, w, h, class


def encode(boxes, classes, canvas_size, cells):
    """Targets (N, S, S, 6) float32 from per-image boxes (k, 4) and classes (k,); where
    two centres share a cell the larger box keeps it. Returns (targets, collisions)."""
    targets = numpy.zeros((len(boxes), cells, cells, TARGET_SIZE), dtype=numpy.float32)
    cell_size, collisions = canvas_size / cells, 0
    for image, (image_boxes, image_classes) in enumerate(zip(boxes, classes)):
        order = numpy.argsort(-_areas(image_boxes), kind="stable")
        for box, label in zip(image_boxes[order], numpy.asarray(image_classes)[order]):
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            column = min(int(cx // cell_size), cells - 1)
            row = min(int(cy // cell_size), cells - 1)
            if targets[image, row, column, 0]:
                collisions += 1
                continue
            targets[image, row, column] = [1, cx / cell_size - column, cy / cell_size - row,
                                           (box[2] - box[0]) / canvas_size,
                                           (box[3] - box[1]) / canvas_size, label]
    return targets, collisions


def _areas(boxes):
    boxes = numpy.asarray(boxes).reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


class GridLoss(losses.Loss):
    """Per image, summed over the S x S cells (m = 1 on a cell responsible for an object):

        L = sum_cells [w_m BCE(obj, m) + m (box_weight sum_4 smooth_l1(sigmoid(b) - t, beta)
                       + CE(class logits, class))],   w_1 = 1, w_0 = no_object_weight.

    No object in most cells: the smaller weight keeps their "nothing here" from drowning
    the few cells that hold one (YOLO v1 uses 0.5 and a box weight of 5).
    """

    default_name = "grid_loss"

    def __init__(self, box_weight=5.0, no_object_weight=0.5, beta=0.05, name=None,
                 reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.box_weight, self.no_object_weight, self.beta = box_weight, no_object_weight, beta

    def call(self, y_true, y_pred):
        target = numpy.asarray(getattr(y_true, "data", y_true))
        mask = target[..., 0]
        weights = numpy.where(mask > 0, 1.0, self.no_object_weight).astype(y_pred.dtype)
        objectness = ops.sigmoid_binary_cross_entropy(y_pred[..., 0], mask.astype(y_pred.dtype),
                                                      reduction="none")
        box_error = smooth_l1(ops.sigmoid(y_pred[..., 1:5]) - target[..., 1:5].astype(
            y_pred.dtype), self.beta)
        classes = ops.softmax_cross_entropy(y_pred[..., 5:], target[..., 5].astype(numpy.int64),
                                            reduction="none")
        per_cell = (objectness * weights + (ops.sum(box_error, axis=-1) * self.box_weight
                                            + classes) * mask.astype(y_pred.dtype))
        return ops.sum(ops.reshape(per_cell, (per_cell.shape[0], -1)), axis=-1)

    def get_config(self):
        return {**super().get_config(), "box_weight": self.box_weight,
                "no_object_weight": self.no_object_weight, "beta": self.beta}


def _sigmoid(x):
    return 0.5 * (1 + numpy.tanh(0.5 * x))  # no overflow for large |x|


def _softmax(x):
    e = numpy.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def decode(predictions, canvas_size, score_threshold=0.05, iou_threshold=0.5):
    """Detections per image from raw outputs (N, S, S, 5 + C): score = sigmoid(obj) *
    the top class probability; boxes of score >= ``score_threshold``, then non-maximum
    suppression per class at ``iou_threshold``."""
    predictions = numpy.asarray(predictions, dtype=numpy.float64)
    cells = predictions.shape[1]
    cell_size = canvas_size / cells
    rows, columns = numpy.meshgrid(numpy.arange(cells), numpy.arange(cells), indexing="ij")
    found = []
    for output in predictions:
        box = _sigmoid(output[..., 1:5])
        cx, cy = (columns + box[..., 0]) * cell_size, (rows + box[..., 1]) * cell_size
        half_w, half_h = box[..., 2] * canvas_size / 2, box[..., 3] * canvas_size / 2
        corners = numpy.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], -1)
        probabilities = _softmax(output[..., 5:])
        labels = probabilities.argmax(axis=-1)
        scores = _sigmoid(output[..., 0]) * probabilities.max(axis=-1)
        keep = scores.ravel() >= score_threshold
        found.append(_suppressed(corners.reshape(-1, 4)[keep], scores.ravel()[keep],
                                 labels.ravel()[keep], iou_threshold))
    return found


def _suppressed(boxes, scores, labels, iou_threshold):
    kept = [numpy.flatnonzero(labels == label)[nms(boxes[labels == label],
                                                   scores[labels == label], iou_threshold)]
            for label in numpy.unique(labels)]
    kept = numpy.concatenate(kept) if kept else numpy.zeros(0, dtype=numpy.int64)
    return Detections(boxes[kept], scores[kept], labels[kept])
