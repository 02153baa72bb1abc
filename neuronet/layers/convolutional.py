"""Conv2D: a bank of learned filters slid over channels-last images."""
from neuronet import activations, initializers, ops, regularizers
from neuronet.backend import xp
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.layers.windows import check_padding, window_output_size
from neuronet.ops.windows import pair


@register
class Conv2D(Layer):
    """2-D convolution (a cross-correlation, as in every framework):
    y = activation(conv2d(x, kernel) + bias).

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw).
        padding: 'valid' (no padding) or 'same' (output ceil(H / sh) x ceil(W / sw)).
        dilation_rate: int or (dh, dw): spacing between kernel taps.
        activation, use_bias, kernel_initializer, bias_initializer: as in Dense; the
            kernel initializer may also be a classic filter ('sharpen', 'sobel_x', ...).
        kernel_regularizer, bias_regularizer, activity_regularizer: as in Dense.

    Shape:
        (batch, H, W, in) -> (batch, Ho, Wo, filters); kernel (kh, kw, in, filters),
        bias (filters,). 'valid': Ho = (H - (kh - 1) * dh - 1) // sh + 1.

    Example:
        >>> Conv2D(32, 3, padding="same", activation="relu")(np.zeros((8, 28, 28, 1))).shape
        (8, 28, 28, 32)
    """

    computes = "conv2d"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, (int, xp.integer)) or filters < 1:
            raise ValueError(f"{self.describe()} expects a positive int of filters, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size", self.describe())
        self.strides = pair(strides, "strides", self.describe())
        self.padding = check_padding(self, padding)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", self.describe())
        self.set_kernel_and_bias_options(activation, use_bias, kernel_initializer,
                                         bias_initializer, kernel_regularizer, bias_regularizer)

    def input_spec(self):
        channels = self.input_shape[-1] if self.input_shape else None
        return InputSpec(ndim=4, axes={-1: channels}, layout="(batch, height, width, channels)")

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{self.describe()} needs a known number of input channels, "
                             f"got input shape {tuple(input_shape)}")
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.add_kernel_and_bias(shape, self.filters)
        super().build(input_shape)

    def call(self, x, training=False):
        return self._convolve(x)

    def _convolve(self, x, max_pool=None):
        # ReLU runs inside the convolution's op; other activations after it.
        fused = "relu" if self.activation is activations.get("relu") else None
        y = ops.conv2d(x, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                       dilation=self.dilation_rate, activation=fused, max_pool=max_pool)
        return y if fused else self.activation(y)

    def call_max_pooled(self, x, pool_size):
        """``MaxPooling2D(pool_size)(self(x))`` as one op (``ops.conv2d(..., max_pool=...)``):
        the same numbers when the activation is ReLU or linear, without the full-size output
        going to memory and back. A model's plan (``neuronet.execution``) runs a Conv2D
        followed by such a pool through it. With an activity regularizer, the full output
        is made (its penalty needs it) and pooled after."""
        x = self._prepared_input(x)
        if self.activity_regularizer is not None:
            y = self._apply_activity_regularizer(self._convolve(x))
            return ops.max_pool2d(y, pool_size)
        return self._convolve(x, max_pool=pool_size)

    def call_normalized(self, x, batch_norm, relu):
        """``relu(batch_norm(self(x), training=False))`` (``relu``: whether the ReLU is
        applied) as one op (``ops.conv2d_normalized``), in inference: the normalisation
        folded into the kernel and bias (equal to rounding), the ReLU applied in the
        convolution's blocks. A model's plan
        (``neuronet.execution``) runs a linear Conv2D followed by a BatchNormalization
        (and a ReLU) through it in inference."""
        x = self._prepared_input(x)
        scale, shift = batch_norm.inference_affine(x.dtype)
        return ops.conv2d_normalized(x, self.kernel, self.bias, scale, shift,
                                     strides=self.strides, padding=self.padding,
                                     dilation=self.dilation_rate,
                                     activation="relu" if relu else None)

    def compute_output_shape(self, input_shape):
        spatial = tuple(window_output_size(n, k, s, self.padding, d) for n, k, s, d in
                        zip(input_shape[1:3], self.kernel_size, self.strides,
                            self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}
