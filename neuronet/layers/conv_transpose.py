"""Conv2DTranspose: the learned up-sampling of decoders and autoencoders."""
from neuronet import activations, initializers, ops
from neuronet.backend import xp
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.spatial import IMAGE_LAYOUT, check_data_format
from neuronet.layers.windows import check_padding
from neuronet.ops.conv_transpose import output_padding_pair, transposed_output_size
from neuronet.ops.windows import pair


@register
class Conv2DTranspose(Layer):
    """Transposed 2-D convolution, the gradient of a Conv2D with respect to its input:
    y = activation(conv2d_transpose(x, kernel) + bias) (see ``ops.conv2d_transpose``).

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw); Keras refuses strides > 1 with dilation_rate > 1, and so
            does this layer.
        padding: 'valid' or 'same' ('same': output H * sh x W * sw).
        output_padding: None, or an int or (rows, columns), each smaller than its stride:
            extra pixels at the bottom / right (Keras' rule for the output size).
        data_format: None or 'channels_last' (the only layout neuronet has).
        dilation_rate: int or (dh, dw).
        activation, use_bias, kernel_initializer, bias_initializer: as in Conv2D.

    Shape:
        (batch, H, W, in) -> (batch, Ho, Wo, filters); kernel (kh, kw, filters, in) as Keras
        stores it, bias (filters,). 'valid': Ho = (H - 1) * sh + max(kh_eff, sh)
        (kh_eff = (kh - 1) * dh + 1); with output_padding: (H - 1) * sh + kh_eff + op.

    Example:
        >>> Conv2DTranspose(16, 3, strides=2, padding="same")(np.zeros((8, 7, 7, 32))).shape
        (8, 14, 14, 16)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, (int, xp.integer)) or filters < 1:
            raise ValueError(f"{self.describe()} expects a positive int of filters, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size", self.describe())
        self.strides = pair(strides, "strides", self.describe())
        self.padding = check_padding(self, padding)
        self.output_padding = output_padding_pair(output_padding, self.strides, self.describe())
        self.data_format = check_data_format(self, data_format)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", self.describe())
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{self.describe()} does not support strides > 1 with "
                             f"dilation_rate > 1 (nor does Keras), got strides {self.strides} "
                             f"and dilation_rate {self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def input_spec(self):
        channels = self.input_shape[-1] if self.input_shape else None
        return InputSpec(ndim=4, axes={-1: channels}, layout=IMAGE_LAYOUT)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.describe()} needs a known number of input channels, "
                             f"got input shape {tuple(input_shape)}")
        shape = self.kernel_size + (self.filters, input_shape[-1])
        self.add_kernel_and_bias(shape, self.filters)
        super().build(input_shape)

    def call(self, x, training=False):
        y = ops.conv2d_transpose(x, self.kernel, self.bias, strides=self.strides,
                                 padding=self.padding, output_padding=self.output_padding,
                                 dilation=self.dilation_rate)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        extra = self.output_padding or (None, None)
        spatial = tuple(transposed_output_size(n, k, s, self.padding, e, d) for n, k, s, e, d in
                        zip(input_shape[1:3], self.kernel_size, self.strides, extra,
                            self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        output_padding = None if self.output_padding is None else list(self.output_padding)
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "output_padding": output_padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}
