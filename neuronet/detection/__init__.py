"""Object detection helpers: boxes, IoU, non-maximum suppression, mAP and box losses.

Boxes are (x1, y1, x2, y2) corners in pixels. ``boxes`` and ``average_precision``
are NumPy (for scoring); ``losses`` are differentiable (for training).
"""
from neuronet.detection.average_precision import (Detections, average_precision,
                                                  mean_average_precision)
from neuronet.detection.boxes import (area, center_to_corners, corners_to_center, iou, nms,
                                      pairwise_iou)
from neuronet.detection.losses import IoULoss, SmoothL1, box_iou, smooth_l1, smooth_l1_loss
