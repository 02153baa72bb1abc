"""Normalisation ops: batch normalisation (statistics over the batch, per channel) and
layer normalisation (statistics over chosen axes, per example)."""
from neuronet import accelerator, parallel
from neuronet.backend import xp
from neuronet.ops._utils import as_tensor, row_sums
from neuronet.tensor import Function, Tensor


class BatchNorm(Function):
    """y = gamma * x_hat + beta, x_hat = (x - mean) / sqrt(var + epsilon), per channel.

    In training the statistics are the batch's, so they depend on x; with M values
    per channel, g = dE/dy, dbeta = sum g and dgamma = sum g x_hat, the compact form is
    dx = gamma / (M sqrt(var + epsilon)) * (M g - dbeta - x_hat dgamma).
    In inference they are constants: y = x * s + (beta - mean * s), s = gamma /
    sqrt(var + epsilon), two passes over x, and dx = s g.

    Each pass writes into an array made once (a new array per pass cost as much as the
    arithmetic: 16 MB a pass in ResNet-20's first stage at batch 256), and the sums over
    the batch are matrix-vector products (``row_sums``). In a model that splits its work
    the passes run in rows over the threads (``parallel.elementwise``). With the
    accelerator on, training runs in three loops over x forward (the sums for the mean, for
    the variance, then x_hat and y) and two back, instead of seven and ten passes; their
    sums (in float64) agree with the products' to rounding.
    Reference: ``neuronet.ops.reference.batch_norm_forward/backward``.
    """

    def forward(self, x, gamma, beta, moving_mean, moving_variance, training, momentum,
                epsilon):
        self.training = training
        self.fused = training and _fused(x, gamma, beta)
        if self.fused:
            return self._fused_forward(x, gamma, beta, moving_mean, moving_variance, momentum,
                                       epsilon)
        if training:
            count = x.size // x.shape[-1]
            mean = row_sums(x) / count
            centered, squares = xp.empty_like(x), xp.empty_like(x)
            parallel.elementwise(lambda xs, cs, ss: (xp.subtract(xs, mean, out=cs),
                                                     xp.square(cs, out=ss)), x, centered, squares)
            variance = row_sums(squares) / count
            _update_moving(moving_mean, mean, momentum)
            _update_moving(moving_variance, variance, momentum)
        else:
            mean, inv_std, scale, shift = _inference_terms(gamma, beta, moving_mean,
                                                           moving_variance, epsilon, x.dtype)
            self.save_for_backward(x, mean, inv_std, scale)
            return _affine(x, scale, shift)
        inv_std = 1 / xp.sqrt(variance + x.dtype.type(epsilon))
        scale = inv_std if gamma is None else gamma * inv_std
        x_hat = centered
        parallel.elementwise(lambda hs: xp.multiply(hs, inv_std, out=hs), x_hat)
        self.save_for_backward(x_hat, scale)
        if gamma is None and beta is None:
            return x_hat
        return _affine(x_hat, gamma, beta)  # a new array: x_hat is kept for backward

    def _fused_forward(self, x, gamma, beta, moving_mean, moving_variance, momentum,
                       epsilon):
        """Training's forward by the accelerator's loops (the same formulas)."""
        rows = x.reshape(-1, x.shape[-1])
        mean, variance = (xp.empty(x.shape[-1], x.dtype) for _ in range(2))
        accelerator.compiled_kernel("batch_norm_statistics")(rows, mean, variance)
        _update_moving(moving_mean, mean, momentum)
        _update_moving(moving_variance, variance, momentum)
        inv_std = 1 / xp.sqrt(variance + x.dtype.type(epsilon))
        x_hat, y = xp.empty_like(x), xp.empty_like(x)
        unused = xp.empty(0, x.dtype)
        normalize = accelerator.compiled_kernel("batch_norm_normalize")
        parallel.elementwise(lambda xs, hs, ys: normalize(
            xs, mean, inv_std, unused if gamma is None else gamma,
            unused if beta is None else beta, hs, ys, gamma is not None, beta is not None),
            rows, x_hat.reshape(rows.shape), y.reshape(rows.shape))
        self.save_for_backward(x_hat, inv_std if gamma is None else gamma * inv_std)
        return x_hat if gamma is None and beta is None else y

    def backward(self, gy):
        if self.fused and accelerator.takes(gy):
            return self._fused_backward(gy)
        if self.training:
            x_hat, scale = self.saved
        else:
            x, mean, inv_std, scale = self.saved
            x_hat = x - mean
            x_hat *= inv_std
        gbeta = row_sums(gy)
        product = xp.empty_like(gy)
        parallel.elementwise(lambda gys, hs, ps: xp.multiply(gys, hs, out=ps), gy, x_hat, product)
        ggamma = row_sums(product)
        if not self.training:
            return scale * gy, ggamma, gbeta
        count = gy.dtype.type(gy.size // gy.shape[-1])
        factor = scale / count

        def input_gradient(gys, hs, ps, gxs):
            xp.multiply(gys, count, out=gxs)
            gxs -= gbeta
            xp.multiply(hs, ggamma, out=ps)
            gxs -= ps
            gxs *= factor
        gx = xp.empty_like(gy)
        parallel.elementwise(input_gradient, gy, x_hat, product, gx)
        return gx, ggamma, gbeta

    def _fused_backward(self, gy):
        x_hat, scale = self.saved
        rows, x_hat_rows = gy.reshape(-1, gy.shape[-1]), x_hat.reshape(-1, gy.shape[-1])
        gbeta, ggamma = (xp.empty(gy.shape[-1], gy.dtype) for _ in range(2))
        accelerator.compiled_kernel("batch_norm_gradient_sums")(rows, x_hat_rows, gbeta, ggamma)
        count = gy.dtype.type(len(rows))
        gx = xp.empty_like(gy)
        input_gradient = accelerator.compiled_kernel("batch_norm_input_gradient")
        parallel.elementwise(lambda gys, hs, gxs: input_gradient(
            gys, hs, gbeta, ggamma, count, scale / count, gxs),
            rows, x_hat_rows, gx.reshape(rows.shape))
        return gx, ggamma, gbeta


def inference_affine(gamma, beta, moving_mean, moving_variance, epsilon, dtype):
    """(s, t) with batch normalisation in inference = x * s + t: s = gamma / sqrt(var +
    epsilon), t = beta - mean * s, from the moving statistics (arrays; gamma, beta: None
    for 1, 0), in ``dtype``, computed as ``BatchNorm`` computes them (the same bits)."""
    return _inference_terms(gamma, beta, moving_mean, moving_variance, epsilon,
                            xp.dtype(dtype))[2:]


def _inference_terms(gamma, beta, moving_mean, moving_variance, epsilon, dtype):
    """mean, 1 / sqrt(var + epsilon), s and t of batch normalisation in inference."""
    mean = moving_mean.astype(dtype, copy=False)
    variance = moving_variance.astype(dtype, copy=False)
    inv_std = 1 / xp.sqrt(variance + dtype.type(epsilon))
    scale = inv_std if gamma is None else gamma * inv_std
    return mean, inv_std, scale, -mean * scale if beta is None else beta - mean * scale


def _affine(x, scale, shift):
    """x * scale + shift (either None: left out) into a new array, in rows over the
    threads in a model that splits its work (``parallel.elementwise``)."""
    def affine(xs, ys):
        if scale is None:
            xp.copyto(ys, xs)
        else:
            xp.multiply(xs, scale, out=ys)
        if shift is not None:
            ys += shift
    y = xp.empty_like(x)
    parallel.elementwise(affine, x, y)
    return y


def _fused(x, gamma, beta):
    """Whether the accelerator's batch-norm loops run on x, gamma and beta."""
    return (accelerator.compiled_kernel("batch_norm_statistics") is not None
            and accelerator.takes(x, gamma, beta)
            and all(p is None or p.dtype == x.dtype for p in (gamma, beta)))


def _update_moving(moving, batch_statistic, momentum):
    """moving = moving * momentum + batch_statistic * (1 - momentum), in place."""
    moving *= momentum
    moving += batch_statistic * (1 - momentum)


def _moving_array(op, name, value, channels):
    """The array behind a moving statistic, checked to hold one value per channel."""
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, xp.ndarray) or array.shape != (channels,):
        shape = getattr(array, "shape", type(array).__name__)
        raise ValueError(f"{op}: {name} must be an array (or Tensor) of shape ({channels},) "
                         f"updated in place, got {shape}")
    return array


def _check_parameter(op, name, value, channels):
    if value is not None and value.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},), got {value.shape}")


def batch_norm(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99,
               epsilon=1e-3):
    """Batch normalisation of channels-last ``x`` over every axis but the last.

    y = gamma * (x - mean) / sqrt(var + epsilon) + beta, per channel (last axis).
    Training: mean and var are the batch's (var biased, divided by M), and the moving
    statistics are updated in place, as Keras 3 does:
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_variance = moving_variance * momentum + var * (1 - momentum)
    (PyTorch's ``momentum`` is 1 - this one, and it feeds running_var the unbiased
    variance M / (M - 1) var.) Inference: mean and var are the moving statistics,
    which stay unchanged; gradients still flow to x, gamma and beta.

    Args:
        x: Tensor (N, C), (N, H, W, C) or any (..., C).
        gamma, beta: Tensors (C,), or None for scale 1 / offset 0.
        moving_mean, moving_variance: NumPy arrays (C,) or Tensors whose ``.data`` is
            updated in place in training.
        training: bool, batch statistics (True) or moving statistics (False).

    Reference: neuronet.ops.reference.batch_norm_forward/backward.
    """
    op = "batch_norm"
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expects inputs (N, ..., C) with at least 2 dimensions, "
                         f"got shape {x.shape}")
    channels = x.shape[-1]
    _check_parameter(op, "gamma", gamma, channels)
    _check_parameter(op, "beta", beta, channels)
    return BatchNorm.apply(x, gamma, beta,
                           moving_mean=_moving_array(op, "moving_mean", moving_mean, channels),
                           moving_variance=_moving_array(op, "moving_variance",
                                                         moving_variance, channels),
                           training=bool(training), momentum=momentum, epsilon=epsilon)


class LayerNorm(Function):
    """y = gamma * x_hat + beta, x_hat = (x - mean) / sqrt(var + epsilon), the statistics
    taken over ``axes`` for each position of the other axes.

    With M values per group, g = gamma * dE/dy and means over ``axes``:
    dx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + epsilon);
    dgamma = sum of dE/dy x_hat and dbeta = sum of dE/dy over the other axes.
    """

    def forward(self, x, gamma, beta, axes, epsilon):
        self.axes = axes
        self.other_axes = tuple(a for a in range(x.ndim) if a not in axes)
        # gamma and beta hold one value per position of the normalised axes: give them
        # x's rank so they broadcast over the other axes
        self.broadcast = tuple(n if a in axes else 1 for a, n in enumerate(x.shape))
        mean = xp.mean(x, axis=axes, keepdims=True)
        centered = x - mean
        inv_std = 1 / xp.sqrt(xp.mean(centered * centered, axis=axes, keepdims=True)
                              + x.dtype.type(epsilon))
        x_hat = centered * inv_std
        gamma = None if gamma is None else gamma.reshape(self.broadcast)
        self.save_for_backward(x_hat, inv_std, gamma)
        y = x_hat if gamma is None else x_hat * gamma
        return y if beta is None else y + beta.reshape(self.broadcast)

    def backward(self, gy):
        x_hat, inv_std, gamma = self.saved
        parameter_shape = tuple(self.broadcast[a] for a in self.axes)
        gbeta = xp.sum(gy, axis=self.other_axes).reshape(parameter_shape)
        ggamma = xp.sum(gy * x_hat, axis=self.other_axes).reshape(parameter_shape)
        g = gy if gamma is None else gy * gamma
        gx = inv_std * (g - xp.mean(g, axis=self.axes, keepdims=True)
                        - x_hat * xp.mean(g * x_hat, axis=self.axes, keepdims=True))
        return gx, ggamma, gbeta


def _normalised_axes(op, axis, ndim):
    """``axis`` (an int or a list of ints, negative from the end) as sorted positive axes."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    if not axes or any(not isinstance(a, int) or not -ndim <= a < ndim for a in axes):
        raise ValueError(f"{op}: axis must be an int or a list of ints in [{-ndim}, {ndim}) "
                         f"for an input of {ndim} dimensions, got {axis!r}")
    positive = sorted(a % ndim for a in axes)
    if len(set(positive)) != len(positive):
        raise ValueError(f"{op}: axis {axis!r} names an axis twice")
    return tuple(positive)


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Layer normalisation: each example standardised over ``axis``, then scaled and shifted.

    y = gamma * (x - mean) / sqrt(var + epsilon) + beta, with mean and var (biased,
    divided by M, the number of values normalised together) taken over ``axis`` for
    every position of the other axes; gamma and beta hold one value per position of
    the normalised axes. The same in training and inference (no moving statistics).
    PyTorch's ``F.layer_norm(x, x.shape[-k:], ...)`` is the case of the last k axes.

    Args:
        x: Tensor of any shape.
        gamma, beta: Tensors of shape ``tuple(x.shape[a] for a in sorted axes)``, or None
            for scale 1 / offset 0.
        axis: an int or a list of ints (negative counts from the end).
        epsilon: added to the variance.

    Example:
        >>> y = layer_norm(x, gamma, beta, axis=-1)     # x (N, T, C), gamma and beta (C,)
    """
    op = "layer_norm"
    x = as_tensor(x)
    axes = _normalised_axes(op, axis, x.ndim)
    expected = tuple(x.shape[a] for a in axes)
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value is not None and tuple(value.shape) != expected:
            raise ValueError(f"{op}: {name} must have shape {expected} (x's sizes along axes "
                             f"{list(axes)}), got {tuple(value.shape)}")
    return LayerNorm.apply(x, gamma, beta, axes=axes, epsilon=epsilon)
