"""Cross-entropy losses.

The two losses on logits are fused Functions with a hand-written backward: they
never form a probability that could round to exactly 0 or 1, so logits of
+-1e4 give finite losses and gradients. The two losses on probabilities follow
Keras: clip to [epsilon, 1 - epsilon] (epsilon = 1e-7), then take the log;
they are composed from clip and log.

Every loss returns the per-sample losses reduced by ``reduction``: 'mean'
(default, over every sample), 'sum' or 'none'.
"""
from neuronet.backend import xp
from neuronet.ops import reduce
from neuronet.ops._utils import as_tensor
from neuronet.ops.activation import stable_log_softmax, stable_sigmoid
from neuronet.ops.elementwise import cast, clip, log
from neuronet.tensor import Function, Tensor

REDUCTIONS = ("mean", "sum", "none")


class SoftmaxCrossEntropy(Function):
    """Per-sample -sum_c t_c log softmax(z)_c; ``t`` is class indices or probabilities."""

    def forward(self, z, target):
        log_p = stable_log_softmax(z, axis=-1)
        self.sparse = target.dtype.kind in "iu"
        self.save_for_backward(log_p, target)
        if self.sparse:
            return -xp.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
        return -xp.sum(target * log_p, axis=-1)

    def backward(self, gy):
        log_p, target = self.saved
        gy = gy[..., None]
        gz = gt = None
        if self.needs_input_grad[0]:
            probabilities = _one_hot(target, log_p) if self.sparse else target
            gz = gy * (xp.exp(log_p) - probabilities)
        if self.needs_input_grad[1]:
            gt = -gy * log_p
        return gz, gt


class SigmoidBinaryCrossEntropy(Function):
    """Elementwise max(z, 0) - z t + ln(1 + e^-|z|) = -t ln s - (1 - t) ln(1 - s),
    with s = sigmoid(z)."""

    def forward(self, z, target):
        self.save_for_backward(z, target)
        return xp.maximum(z, 0) - z * target + xp.log1p(xp.exp(-xp.abs(z)))

    def backward(self, gy):
        z, target = self.saved
        gz = gy * (stable_sigmoid(z) - target) if self.needs_input_grad[0] else None
        gt = -gy * z if self.needs_input_grad[1] else None
        return gz, gt


def _one_hot(indices, like):
    """Rows of the identity picked by ``indices``, in ``like``'s dtype and shape."""
    classes = xp.arange(like.shape[-1])
    return (indices[..., None] == classes).astype(like.dtype)


def _reduced(losses, reduction):
    if reduction == "mean":
        return reduce.mean(losses)
    if reduction == "sum":
        return reduce.sum(losses)
    return losses


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _float_target(op, target, like):
    """``target`` as a Tensor of ``like``'s dtype and exactly ``like``'s shape."""
    if isinstance(target, Tensor):
        if target.dtype != like.dtype:
            target = cast(target, like.dtype)
    else:
        target = Tensor(target, dtype=like.dtype)  # Tensor(array) alone would be floatx
    if target.shape != like.shape:
        raise ValueError(f"{op}: target shape {target.shape} does not match the input's "
                         f"shape {like.shape}")
    return target


def _class_indices(op, target, logits):
    """Integer ``target`` checked against ``logits`` (..., C): shape (...) and 0 <= t < C."""
    indices = target.data if isinstance(target, Tensor) else xp.asarray(target)
    classes = logits.shape[-1]
    if indices.shape != logits.shape[:-1]:
        raise ValueError(f"{op}: class indices of shape {indices.shape} do not fit logits of "
                         f"shape {logits.shape}: expected shape {logits.shape[:-1]}")
    if indices.size and (indices.min() < 0 or indices.max() >= classes):
        raise ValueError(f"{op}: class indices must lie in [0, {classes}), got values from "
                         f"{indices.min()} to {indices.max()}")
    return indices


def _is_integer(target):
    data = target.data if isinstance(target, Tensor) else xp.asarray(target)
    return data.dtype.kind in "iu"


def softmax_cross_entropy(logits, target, reduction="mean"):
    """Cross-entropy of softmax(logits) against a target, fused and stable.

    loss_i = logsumexp(z_i) - sum_c t_ic z_ic, or logsumexp(z_i) - z_i[y_i] for indices;
    dloss_i/dz_i = softmax(z_i) - t_i (t_i one-hot for indices); dloss_i/dt_i = -log softmax(z_i).

    Args:
        logits: Tensor (N, C), or (N, ..., C) with classes on the last axis.
        target: integer class indices of shape (N, ...), or probabilities (one-hot or
            soft) of the logits' shape.
        reduction: 'mean' (over all N * ... samples, as PyTorch), 'sum' or 'none'.
    """
    op = "softmax_cross_entropy"
    _check_reduction(op, reduction)
    logits = as_tensor(logits)
    if _is_integer(target):
        target = _class_indices(op, target, logits)
    else:
        target = _float_target(op, target, logits)
    return _reduced(SoftmaxCrossEntropy.apply(logits, target), reduction)


def sigmoid_binary_cross_entropy(logits, target, reduction="mean"):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], fused and stable.

    loss = max(z, 0) - z t + ln(1 + e^-|z|);  dloss/dz = sigmoid(z) - t, dloss/dt = -z.
    'mean' averages over every element, as PyTorch's binary_cross_entropy_with_logits.
    """
    op = "sigmoid_binary_cross_entropy"
    _check_reduction(op, reduction)
    logits = as_tensor(logits)
    target = _float_target(op, target, logits)
    return _reduced(SigmoidBinaryCrossEntropy.apply(logits, target), reduction)


def binary_cross_entropy(probabilities, target, epsilon=1e-7, reduction="mean"):
    """Binary cross-entropy on probabilities, clipped as Keras does.

    p' = clip(p, epsilon, 1 - epsilon);  loss = -(t ln p' + (1 - t) ln(1 - p'));
    dloss/dp = (p' - t) / (p' (1 - p')) inside the clip range, 0 outside it.
    PyTorch instead clamps the log at -100; both agree for p in [epsilon, 1 - epsilon].
    Prefer ``sigmoid_binary_cross_entropy`` on logits: it needs no clipping.
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    probabilities = as_tensor(probabilities)
    target = _float_target(op, target, probabilities)
    p = clip(probabilities, epsilon, 1 - epsilon)
    losses = -(target * log(p) + (1 - target) * log(1 - p))
    return _reduced(losses, reduction)


def categorical_cross_entropy(probabilities, target, epsilon=1e-7, reduction="mean"):
    """Categorical cross-entropy on probabilities (N, ..., C), normalised and clipped as Keras.

    p' = clip(p / sum_c p_c, epsilon, 1 - epsilon);  loss = -sum_c t_c ln p'_c.
    Prefer ``softmax_cross_entropy`` on logits: it needs no clipping.
    """
    op = "categorical_cross_entropy"
    _check_reduction(op, reduction)
    probabilities = as_tensor(probabilities)
    target = _float_target(op, target, probabilities)
    p = probabilities / reduce.sum(probabilities, axis=-1, keepdims=True)
    p = clip(p, epsilon, 1 - epsilon)
    return _reduced(-reduce.sum(target * log(p), axis=-1), reduction)


# --- PyTorch's names (torch.nn.functional) ------------------------------------------------
def cross_entropy(input, target, reduction="mean"):
    """``torch.nn.functional.cross_entropy``: softmax cross-entropy on logits, classes on
    axis 1.

    loss_i = logsumexp(z_i) - z_i[y_i] for class indices y, or logsumexp(z_i) - sum_c
    t_ic z_ic for probabilities t; the same fused op as ``softmax_cross_entropy``, which
    keeps classes on the last axis.

    Args:
        input: logits (C,), (N, C) or (N, C, d1, ...).
        target: integer class indices (), (N,) or (N, d1, ...), or probabilities of the
            input's shape.
        reduction: 'mean' (over all N * d1 * ... samples), 'sum' or 'none'.

    PyTorch's ``weight``, ``ignore_index`` and ``label_smoothing`` are not supported.
    """
    logits = as_tensor(input)
    if logits.ndim > 2:
        axes = (0,) + tuple(range(2, logits.ndim)) + (1,)
        logits = logits.transpose(axes)
        if isinstance(target, Tensor) and not _is_integer(target):
            target = target.transpose(axes)
        elif not _is_integer(target):
            target = xp.transpose(xp.asarray(target), axes)  # cast to the logits' dtype later
    return softmax_cross_entropy(logits, target, reduction)


def mse_loss(input, target, reduction="mean"):
    """``torch.nn.functional.mse_loss``: (x - t)^2 elementwise, reduced by ``reduction``;
    d/dx = 2 (x - t) (divided by the element count for 'mean'). ``target`` must have the
    input's shape (PyTorch broadcasts it, with a warning)."""
    op = "mse_loss"
    _check_reduction(op, reduction)
    x = as_tensor(input)
    difference = x - _float_target(op, target, x)
    return _reduced(difference * difference, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """``torch.nn.functional.binary_cross_entropy_with_logits``: the fused, stable
    ``sigmoid_binary_cross_entropy`` under PyTorch's name."""
    return sigmoid_binary_cross_entropy(input, target, reduction)
