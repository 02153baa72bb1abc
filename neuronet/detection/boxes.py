"""Boxes as (x1, y1, x2, y2) corners in pixels (x to the right, y down, x1 < x2, y1 < y2):
areas, IoU, conversions and non-maximum suppression, in NumPy.

    iou(a, b)            elementwise, broadcasting (..., 4) against (..., 4)
    pairwise_iou(a, b)   (N, 4) x (M, 4) -> (N, M)
    nms(boxes, scores, 0.5) -> indices kept, highest score first
"""
import numpy


def _boxes(boxes, name):
    boxes = numpy.asarray(boxes, dtype=numpy.float64)
    if boxes.shape[-1:] != (4,):
        raise ValueError(f"{name}: expected boxes of shape (..., 4) as (x1, y1, x2, y2), "
                         f"got shape {boxes.shape}")
    return boxes


def area(boxes):
    """(x2 - x1) * (y2 - y1), 0 for a box whose corners are swapped."""
    boxes = _boxes(boxes, "area")
    return (numpy.clip(boxes[..., 2] - boxes[..., 0], 0, None)
            * numpy.clip(boxes[..., 3] - boxes[..., 1], 0, None))


def iou(first, second):
    """IoU = area(A and B) / area(A or B) = I / (area A + area B - I), elementwise; the
    intersection is the box (max x1, max y1, min x2, min y2), empty if inverted; 0 where
    both boxes are empty."""
    first, second = _boxes(first, "iou"), _boxes(second, "iou")
    corner1 = numpy.maximum(first[..., :2], second[..., :2])
    corner2 = numpy.minimum(first[..., 2:], second[..., 2:])
    inter = area(numpy.concatenate(numpy.broadcast_arrays(corner1, corner2), axis=-1))
    union = area(first) + area(second) - inter
    return numpy.divide(inter, union, out=numpy.zeros_like(inter), where=union > 0)


def pairwise_iou(first, second):
    """(N, M) IoU of every box of ``first`` (N, 4) with every box of ``second`` (M, 4)."""
    first, second = _boxes(first, "pairwise_iou"), _boxes(second, "pairwise_iou")
    return iou(first.reshape(-1, 1, 4), second.reshape(1, -1, 4))


def center_to_corners(boxes):
    """(cx, cy, w, h) -> (x1, y1, x2, y2)."""
    boxes = _boxes(boxes, "center_to_corners")
    half = boxes[..., 2:] / 2
    return numpy.concatenate([boxes[..., :2] - half, boxes[..., :2] + half], axis=-1)


def corners_to_center(boxes):
    """(x1, y1, x2, y2) -> (cx, cy, w, h)."""
    boxes = _boxes(boxes, "corners_to_center")
    return numpy.concatenate([(boxes[..., :2] + boxes[..., 2:]) / 2,
                              boxes[..., 2:] - boxes[..., :2]], axis=-1)


def nms(boxes, scores, iou_threshold=0.5):
    """Greedy non-maximum suppression: take the highest-scoring box left, drop every
    remaining box whose IoU with it is above ``iou_threshold``, repeat.

    Returns:
        int64 indices of the kept boxes, by decreasing score (ties: lower index first).
    """
    boxes = _boxes(boxes, "nms").reshape(-1, 4)
    scores = numpy.asarray(scores, dtype=numpy.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"nms: {len(boxes)} boxes but {len(scores)} scores")
    order = numpy.argsort(-scores, kind="stable")
    kept = []
    while order.size:
        best, order = order[0], order[1:]
        kept.append(best)
        order = order[iou(boxes[best], boxes[order]) <= iou_threshold]
    return numpy.asarray(kept, dtype=numpy.int64)
