"""Pooling layers: max, average, global average and global max over channels-last images."""
from neuronet import ops
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.spatial import check_data_format
from neuronet.layers.windows import check_padding, window_output_size
from neuronet.ops.windows import pair

IMAGE_LAYOUT = "(batch, height, width, channels)"


class Pooling2D(Layer):
    """Base of the window poolings: ``pool`` reduces each window of every channel.

    Args:
        pool_size: int or (ph, pw).
        strides: int or (sh, sw); None means ``pool_size`` (windows side by side).
        padding: 'valid' or 'same' (output ceil(H / sh) x ceil(W / sw)).

    Shape:
        (batch, H, W, C) -> (batch, Ho, Wo, C); 'valid': Ho = (H - ph) // sh + 1.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size", self.describe())
        self.strides = pair(self.pool_size if strides is None else strides, "strides",
                            self.describe())
        self.padding = check_padding(self, padding)

    def input_spec(self):
        return InputSpec(ndim=4, layout=IMAGE_LAYOUT)

    def call(self, x, training=False):
        return self.pool(x, pool_size=self.pool_size, strides=self.strides, padding=self.padding)

    def pool(self, x, pool_size, strides, padding):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        spatial = tuple(window_output_size(n, p, s, self.padding) for n, p, s in
                        zip(input_shape[1:3], self.pool_size, self.strides))
        return (input_shape[0],) + spatial + (input_shape[3],)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


@register
class MaxPooling2D(Pooling2D):
    """y = the maximum of each window;  the gradient goes to the window's maximum."""

    computes = "max_pool2d"

    def pool(self, x, pool_size, strides, padding):
        return ops.max_pool2d(x, pool_size=pool_size, strides=strides, padding=padding)


@register
class AveragePooling2D(Pooling2D):
    """y = the mean of each window's real (non-padded) pixels."""

    computes = "avg_pool2d"

    def pool(self, x, pool_size, strides, padding):
        return ops.avg_pool2d(x, pool_size=pool_size, strides=strides, padding=padding)


MaxPool2D = register(MaxPooling2D, "MaxPool2D")
AvgPool2D = register(AveragePooling2D, "AvgPool2D")


@register
class GlobalAveragePooling2D(Layer):
    """y[n, c] = mean over all (h, w) of x[n, h, w, c].

    Shape:
        (batch, H, W, C) -> (batch, C), or (batch, 1, 1, C) with ``keepdims=True``.
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def input_spec(self):
        return InputSpec(ndim=4, layout=IMAGE_LAYOUT)

    def call(self, x, training=False):
        y = ops.global_avg_pool2d(x)
        return ops.reshape(y, (y.shape[0], 1, 1, y.shape[1])) if self.keepdims else y

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], 1, 1, input_shape[3])
        return (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


@register
class GlobalMaxPooling2D(Layer):
    """y[n, c] = max over all (h, w) of x[n, h, w, c]; ties share the gradient evenly
    (TensorFlow's reduce_max, torch.amax; see ``ops.global_max_pool2d``).

    Args:
        data_format: None or 'channels_last' (the only layout neuronet has).
        keepdims: keep the spatial axes, as (batch, 1, 1, C).

    Shape:
        (batch, H, W, C) -> (batch, C), or (batch, 1, 1, C) with ``keepdims=True``.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)
        self.keepdims = bool(keepdims)

    def input_spec(self):
        return InputSpec(ndim=4, layout=IMAGE_LAYOUT)

    def call(self, x, training=False):
        return ops.global_max_pool2d(x, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], 1, 1, input_shape[3])
        return (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


GlobalMaxPool2D = register(GlobalMaxPooling2D, "GlobalMaxPool2D")
GlobalAvgPool2D = register(GlobalAveragePooling2D, "GlobalAvgPool2D")
