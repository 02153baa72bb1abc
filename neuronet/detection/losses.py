"""Box regression losses, composed of differentiable primitives (no hand-written
backward): smooth-L1 (as Fast R-CNN and ``torch.nn.functional.smooth_l1_loss``) and
the IoU loss 1 - IoU on (x1, y1, x2, y2) boxes.
"""
from neuronet import losses, ops
from neuronet.ops._utils import as_tensor
from neuronet.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def smooth_l1(difference, beta=1.0):
    """Elementwise s(d) = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta;
    ds/dd = d / beta, else sign(d). beta = 0 is the L1 loss |d|. Quadratic near 0 (a
    small error gives a small gradient), linear far away (an outlier pulls no harder
    than 1), and continuous with its derivative at |d| = beta."""
    if beta < 0:
        raise ValueError(f"smooth_l1: beta must be >= 0, got {beta}")
    size = ops.abs(difference)
    if beta == 0:
        return size
    return ops.where(size.data < beta, 0.5 * size * size / beta, size - 0.5 * beta)


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    """``torch.nn.functional.smooth_l1_loss``: smooth_l1(input - target) reduced by
    'mean' (over every element), 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"smooth_l1_loss: reduction must be one of {REDUCTIONS}, "
                         f"got {reduction!r}")
    x = as_tensor(input)
    values = smooth_l1(x - _like(target, x), beta)
    if reduction == "mean":
        return ops.mean(values)
    return ops.sum(values) if reduction == "sum" else values


def box_iou(predicted, target, eps=1e-7):
    """Differentiable IoU of (..., 4) corner boxes, elementwise, reducing the last axis:
    I = relu(min x2 - max x1) * relu(min y2 - max y1), IoU = I / (A_p + A_t - I + eps);
    a predicted box with swapped corners has area 0."""
    p = as_tensor(predicted)
    t = _like(target, p)
    width = ops.relu(ops.minimum(p[..., 2], t[..., 2]) - ops.maximum(p[..., 0], t[..., 0]))
    height = ops.relu(ops.minimum(p[..., 3], t[..., 3]) - ops.maximum(p[..., 1], t[..., 1]))
    inter = width * height
    area_p = ops.relu(p[..., 2] - p[..., 0]) * ops.relu(p[..., 3] - p[..., 1])
    area_t = (t[..., 2] - t[..., 0]) * (t[..., 3] - t[..., 1])
    return inter / (area_p + area_t - inter + eps)


def _like(target, x):
    """``target`` in ``x``'s dtype: a Tensor cast (keeping its graph), a constant
    converted straight from its own precision."""
    if isinstance(target, Tensor):
        return target if target.dtype == x.dtype else ops.cast(target, x.dtype)
    return Tensor(target, dtype=x.dtype)


@losses.register(aliases=["smooth_l1"])
class SmoothL1(losses.Loss):
    """loss_i = mean_d smooth_l1(y_pred_id - y_true_id, beta) over the last axis (a
    Keras-style loss: ``compile(loss={"box": SmoothL1(beta=0.05)})``); for equal-sized
    samples its batch mean equals ``smooth_l1_loss(..., reduction='mean')``."""

    default_name = "smooth_l1"

    def __init__(self, beta=1.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1: beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def call(self, y_true, y_pred):
        y_pred = as_tensor(y_pred)
        return ops.mean(smooth_l1(y_pred - losses._float_target(self, y_true, y_pred),
                                  self.beta), axis=-1)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@losses.register(aliases=["iou_loss"])
class IoULoss(losses.Loss):
    """loss_i = 1 - IoU(y_pred_i, y_true_i) for (x1, y1, x2, y2) boxes in the last axis
    (scale-free: a 2-pixel error costs more on a small box than on a large one)."""

    default_name = "iou_loss"

    def call(self, y_true, y_pred):
        y_pred = as_tensor(y_pred)
        return 1.0 - box_iou(y_pred, losses._float_target(self, y_true, y_pred))
