"""Keras' rules for transposed convolutions, written out from
keras/src/backend/common/backend_utils.py, and PyTorch's conv_transpose2d cropped by them:
the oracle of ``ops.conv2d_transpose`` and ``layers.Conv2DTranspose``."""
import torch.nn.functional as F


def as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def keras_pads(kernel, stride, dilation, padding, output_padding):
    """Keras' (left_pad, right_pad) of the dilated input for JAX's conv_transpose (the
    TensorFlow-consistent rule, _convert_conv_transpose_padding_args_from_keras_to_jax)."""
    kernel = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(kernel, stride) - kernel if output_padding is None else output_padding
        return kernel - 1, kernel - 1 + extra
    if output_padding is None:
        total = stride + kernel - 2
    else:
        total = kernel + kernel % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, kernel - 1)
    return left, total - left


def keras_output_length(size, kernel, stride, padding, output_padding, dilation):
    """Keras' _get_output_shape_given_tf_padding."""
    kernel = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(kernel, stride) - kernel if output_padding is None else output_padding
        return (size - 1) * stride + kernel + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + kernel % 2 + output_padding


def keras_crops(kernel_hw, strides, padding, output_padding, dilation):
    """((top, bottom), (left, right)) to crop from PyTorch's full output (negative: extend
    with zeros), Keras' compute_conv_transpose_output_crops_for_torch."""
    strides, dilation = as_pair(strides), as_pair(dilation)
    extra = (None, None) if output_padding is None else as_pair(output_padding)
    crops = []
    for k, s, d, e in zip(kernel_hw, strides, dilation, extra):
        left, right = keras_pads(k, s, d, padding, e)
        span = (k - 1) * d + 1
        crops.append((span - 1 - left, span - 1 - right))
    return tuple(crops)


def torch_conv_transpose_nchw(x, weight, bias, strides, padding, output_padding, dilation):
    """Keras' Conv2DTranspose in PyTorch: x (N, C_in, H, W), weight in torch's layout
    (C_in, filters, kh, kw); the full transposed convolution, Keras' crop, then the bias."""
    full = F.conv_transpose2d(x, weight, stride=as_pair(strides), dilation=as_pair(dilation))
    (top, bottom), (left, right) = keras_crops(weight.shape[2:], strides, padding,
                                               output_padding, dilation)
    y = F.pad(full, (-left, -right, -top, -bottom))
    return y + bias[:, None, None]
