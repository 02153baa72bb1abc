"""BatchNormalization (per channel, over the batch) and LayerNormalization (per example,
over chosen axes): standardisation with learned scale and offset."""
from neuronet import initializers, ops
from neuronet.layers.base import InputSpec, Layer, register


@register
class BatchNormalization(Layer):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, per feature along ``axis``.

    Training (``training=True``): mean and var are the batch's (biased variance), and
    the moving statistics, non-trainable weights, are updated in place:
        moving_mean = momentum * moving_mean + (1 - momentum) * mean   (same for variance)
    Inference: mean and var are the moving statistics. As in Keras 3, a frozen layer
    (``trainable=False``) always runs in inference mode. PyTorch's BatchNorm momentum
    is 1 - ``momentum``.

    Args:
        axis: the feature axis (channels-last: -1).
        momentum, epsilon: as in the formulas above.
        center, scale: whether to learn ``beta`` / ``gamma`` (else 0 / 1).

    Shape:
        (batch, ..., C) -> same; gamma, beta, moving_mean, moving_variance (C,).
    """

    computes = "batch_norm"  # neuronet.execution may fuse it into the convolution before it

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise ValueError(f"{self.describe()} expects an int axis, got {axis!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"{self.describe()} expects momentum in [0, 1], got {momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"{self.describe()} expects a positive epsilon, got {epsilon!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def input_spec(self):
        features = self.input_shape[self.axis] if self.input_shape else None
        return InputSpec(min_ndim=max(2, self.axis + 1, -self.axis), axes={self.axis: features},
                         layout="(batch, ..., features)")

    def build(self, input_shape):
        if self.axis % len(input_shape) == 0:
            raise ValueError(f"{self.describe()} cannot normalise along the batch axis "
                             f"(axis={self.axis}) of input shape {tuple(input_shape)}")
        features = input_shape[self.axis]
        if features is None:
            raise ValueError(f"{self.describe()} needs a known size along axis {self.axis}, "
                             f"got input shape {tuple(input_shape)}")
        shape = (features,)
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer) if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)
        super().build(input_shape)

    def call(self, x, training=False):
        last = x.ndim - 1
        axis = self.axis % x.ndim
        if axis != last:  # the op normalises channels-last: move the feature axis there
            order = [a for a in range(x.ndim) if a != axis] + [axis]
            x = ops.transpose(x, order)
        y = ops.batch_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                           training=training and self.trainable, momentum=self.momentum,
                           epsilon=self.epsilon)
        if axis != last:
            y = ops.transpose(y, list(range(axis)) + [last] + list(range(axis, last)))
        return y

    def inference_affine(self, dtype):
        """(s, t): in inference this layer computes x * s + t (``ops.inference_affine``)."""
        def data(weight):
            return None if weight is None else weight.data.astype(dtype, copy=False)
        return ops.inference_affine(data(self.gamma), data(self.beta), self.moving_mean.data,
                                    self.moving_variance.data, self.epsilon, dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer)}


@register
class LayerNormalization(Layer):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, the statistics of each example
    taken over ``axis`` (biased variance); the same in training and inference.

    Args:
        axis: an int or a list of ints: the axes normalised together (not the batch).
        epsilon: added to the variance.
        center, scale: whether to learn ``beta`` / ``gamma`` (else 0 / 1).

    Shape:
        (batch, ...) -> same; gamma and beta have the input's sizes along ``axis``
        (in increasing axis order): (C,) for axis=-1.
    """

    supports_masking = True  # the mask passes on (Keras)

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis) and axis:
            axis = list(axis)
        elif not isinstance(axis, int):
            raise ValueError(f"{self.describe()} expects an int axis or a list of ints, "
                             f"got {axis!r}")
        if not epsilon > 0:
            raise ValueError(f"{self.describe()} expects a positive epsilon, got {epsilon!r}")
        self.axis, self.epsilon = axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _axes(self, ndim):
        """The normalised axes as sorted positive ints, for an input of ``ndim`` dimensions."""
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        if any(not -ndim <= a < ndim for a in axes):
            raise ValueError(f"{self.describe()}: axis {self.axis!r} is out of range for "
                             f"input of {ndim} dimensions")
        return sorted(a % ndim for a in axes)

    def input_spec(self):
        if self.input_shape is None:
            axes = [self.axis] if isinstance(self.axis, int) else self.axis
            return InputSpec(min_ndim=max([2] + [a + 1 if a >= 0 else -a for a in axes]))
        axes = self._axes(len(self.input_shape))
        return InputSpec(ndim=len(self.input_shape),
                         axes={a: self.input_shape[a] for a in axes})

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        if 0 in axes:
            raise ValueError(f"{self.describe()} cannot normalise along the batch axis "
                             f"(axis={self.axis!r}) of input shape {tuple(input_shape)}")
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"{self.describe()} needs known sizes along axis {self.axis!r}, "
                             f"got input shape {tuple(input_shape)}")
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer) if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer) if self.center else None
        super().build(input_shape)

    def call(self, x, training=False):
        return ops.layer_norm(x, self.gamma, self.beta, axis=self._axes(x.ndim),
                              epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer)}
