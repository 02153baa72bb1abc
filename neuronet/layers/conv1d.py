"""Conv1D: a bank of learned filters slid along the steps of channels-last sequences."""
from neuronet import activations, initializers, ops, regularizers
from neuronet.backend import xp
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.spatial import check_data_format
from neuronet.layers.windows import window_output_size

SEQUENCE_LAYOUT = "(batch, steps, channels)"
PADDINGS = ("valid", "same", "causal")


def single(layer, value, what):
    """An int or a one-int tuple/list (Keras stores (3,)) as a one-int tuple."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, xp.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{layer.describe()} expects {what} as a positive int, got {value!r}")
    return (int(value),)


def check_padding(layer, padding, allowed):
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"{layer.describe()} expects padding in {allowed}, got {padding!r}")
    return padding.lower()


def steps_out(steps, window, stride, padding, dilation=1):
    """Output steps: 'causal' keeps ceil(T / s), as 'same'; None stays None."""
    return window_output_size(steps, window, stride, "same" if padding == "causal" else padding,
                              dilation)


@register
class Conv1D(Layer):
    """1-D convolution (a cross-correlation): y = activation(conv1d(x, kernel) + bias).

    Args:
        filters: number of output channels.
        kernel_size: int (or a one-int tuple).
        strides: int; strides > 1 with dilation_rate > 1 is refused, as Keras does.
        padding: 'valid', 'same' (ceil(T / s) outputs) or 'causal' ((k - 1) * d zeros on
            the left: output step t sees only input steps <= t, for forecasting models).
        data_format: None or 'channels_last' (the only layout neuronet has).
        dilation_rate: int: spacing between kernel taps.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer: as in Conv2D.

    Shape:
        (batch, T, in) -> (batch, To, filters); kernel (k, in, filters), bias (filters,):
        k * in * filters + filters parameters. 'valid': To = (T - (k - 1) * d - 1) // s + 1.

    Example:
        >>> Conv1D(64, 3, activation="relu")(np.zeros((8, 100, 28))).shape
        (8, 98, 64)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, (int, xp.integer)) or filters < 1:
            raise ValueError(f"{self.describe()} expects a positive int of filters, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = single(self, kernel_size, "kernel_size")
        self.strides = single(self, strides, "strides")
        self.padding = check_padding(self, padding, PADDINGS)
        self.data_format = check_data_format(self, data_format)
        self.dilation_rate = single(self, dilation_rate, "dilation_rate")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError(f"{self.describe()}: strides > 1 with dilation_rate > 1 is not "
                             f"supported (Keras), got strides={self.strides[0]} and "
                             f"dilation_rate={self.dilation_rate[0]}")
        self.set_kernel_and_bias_options(activation, use_bias, kernel_initializer,
                                         bias_initializer, kernel_regularizer, bias_regularizer)

    def input_spec(self):
        channels = self.input_shape[-1] if self.input_shape else None
        return InputSpec(ndim=3, axes={-1: channels}, layout=SEQUENCE_LAYOUT)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.describe()} needs a known number of input channels, "
                             f"got input shape {tuple(input_shape)}")
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.add_kernel_and_bias(shape, self.filters)
        super().build(input_shape)

    def call(self, x, training=False):
        # ReLU runs inside the convolution's op; other activations after it.
        fused = "relu" if self.activation is activations.get("relu") else None
        y = ops.conv1d(x, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                       dilation=self.dilation_rate, activation=fused)
        return y if fused else self.activation(y)

    def compute_output_shape(self, input_shape):
        steps = steps_out(input_shape[1], self.kernel_size[0], self.strides[0], self.padding,
                          self.dilation_rate[0])
        return (input_shape[0], steps, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}

