"""Pooling over the steps of channels-last sequences: window max and average, and global
average (over the unmasked steps) and max."""
from neuronet import ops
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.conv1d import SEQUENCE_LAYOUT, check_padding, single, steps_out
from neuronet.layers.spatial import check_data_format


class Pooling1D(Layer):
    """Base of the window poolings: ``pool`` reduces each window of every channel.

    Args:
        pool_size: int.
        strides: int; None means ``pool_size`` (windows side by side).
        padding: 'valid' or 'same' (ceil(T / s) outputs).
        data_format: None or 'channels_last'.

    Shape:
        (batch, T, C) -> (batch, To, C); 'valid': To = (T - pool_size) // s + 1.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.pool_size = single(self, pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else single(self, strides, "strides")
        self.padding = check_padding(self, padding, ("valid", "same"))
        self.data_format = check_data_format(self, data_format)

    def input_spec(self):
        return InputSpec(ndim=3, layout=SEQUENCE_LAYOUT)

    def call(self, x, training=False):
        return self.pool(x, self.pool_size[0], self.strides[0], self.padding)

    def pool(self, x, pool_size, strides, padding):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        steps = steps_out(input_shape[1], self.pool_size[0], self.strides[0], self.padding)
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


@register
class MaxPooling1D(Pooling1D):
    """y = the maximum of each window of steps; the gradient goes to the window's first
    maximum."""

    def pool(self, x, pool_size, strides, padding):
        return ops.max_pool1d(x, pool_size, strides, padding)


@register
class AveragePooling1D(Pooling1D):
    """y = the mean of each window's real (non-padded) steps."""

    def pool(self, x, pool_size, strides, padding):
        return ops.avg_pool1d(x, pool_size, strides, padding)


class GlobalPooling1D(Layer):
    """Base of the global poolings: one value per channel from all the steps.

    Args:
        data_format: None or 'channels_last'.
        keepdims: keep the steps axis, as (batch, 1, C).

    Shape:
        (batch, T, C) -> (batch, C), or (batch, 1, C) with ``keepdims=True``.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)
        self.keepdims = bool(keepdims)

    def input_spec(self):
        return InputSpec(ndim=3, layout=SEQUENCE_LAYOUT)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], 1, input_shape[2])
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


@register
class GlobalAveragePooling1D(GlobalPooling1D):
    """y[n, c] = the mean of x[n, t, c] over the unmasked steps t (all steps without a
    mask), as Keras:  y[n, c] = sum_t m[n, t] x[n, t, c] / sum_t m[n, t];
    dy/dx[n, t, c] = m[n, t] / sum_t m[n, t].

    A sequence with every step masked gives 0 (Keras divides 0 by 0: NaN), so that one
    empty example cannot turn a whole batch's loss into NaN. The mask ends here.
    """

    supports_masking = True

    def call(self, x, training=False, mask=None):
        if mask is None:
            return ops.mean(x, axis=1, keepdims=self.keepdims)
        keep = mask[..., None].astype(x.dtype)
        counts = keep.sum(axis=1, keepdims=self.keepdims)
        total = ops.sum(ops.mul(x, keep), axis=1, keepdims=self.keepdims)
        return ops.div(total, counts.clip(min=1))

    def compute_mask(self, inputs, mask=None):
        return None


@register
class GlobalMaxPooling1D(GlobalPooling1D):
    """y[n, c] = max over all steps t of x[n, t, c]; ties share the gradient evenly (as
    torch.amax).

    Masks: as in Keras 3, this layer does not support them: it takes the maximum over
    every step, padded ones too (a warning says the mask stops here). Zero the padded
    steps first (``Masking`` does) when they must not win.
    """

    def call(self, x, training=False):
        return ops.max(x, axis=1, keepdims=self.keepdims)


MaxPool1D = register(MaxPooling1D, "MaxPool1D")
AvgPool1D = register(AveragePooling1D, "AvgPool1D")
GlobalMaxPool1D = register(GlobalMaxPooling1D, "GlobalMaxPool1D")
GlobalAvgPool1D = register(GlobalAveragePooling1D, "GlobalAvgPool1D")
