"""Activation layers: a function applied to every element (or along an axis)."""
from neuronet import activations, ops
from neuronet.layers.base import InputSpec, Layer, register


class ElementwiseLayer(Layer):
    """A layer without weights that keeps the shape and accepts any input."""

    def input_spec(self):
        return InputSpec()


@register
class Activation(ElementwiseLayer):
    """y = activation(x) for a named activation ('relu', 'softmax', ...) or a callable."""

    supports_masking = True  # the mask passes on (Keras)
    computes = "activation"  # with 'relu', neuronet.execution may fuse it (see ReLU)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register
class ReLU(ElementwiseLayer):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""

    supports_masking = True  # the mask passes on (Keras)
    computes = "relu"  # after a Conv2D and BatchNormalization, run in the convolution's op

    def call(self, x, training=False):
        return ops.relu(x)


@register
class LeakyReLU(ElementwiseLayer):
    """y = x where x > 0, negative_slope * x elsewhere (Keras 3 default slope 0.3)."""

    supports_masking = True  # the mask passes on (Keras)

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        if negative_slope < 0:
            raise ValueError(f"{self.describe()} expects a non-negative negative_slope, "
                             f"got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def call(self, x, training=False):
        return ops.leaky_relu(x, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register
class Softmax(ElementwiseLayer):
    """y_i = exp(x_i) / sum_j exp(x_j) along ``axis``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x, training=False):
        return ops.softmax(x, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
