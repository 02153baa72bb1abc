import numpy as np
import pytest
import torch

from layer_harness import (check_layer, check_layer_against_torch, check_layers_gradients)
import neuronet as nn
from neuronet import layers


def tf_same_pads(size, kernel, stride, dilation):
    """TensorFlow's 'same' padding (before, after) along one axis, odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def keras_layout_to_torch(kernel):
    return kernel.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)


def identity(a):
    return a


# (kernel_size, strides, padding, dilation_rate)
CONFIGS = [(3, 1, "valid", 1), ((2, 3), 2, "same", 1), (3, 1, "same", 2), (3, 2, "valid", 1),
           (2, 1, "same", 1)]


def _image_shape(rng):
    return (2, int(rng.integers(6, 9)), int(rng.integers(6, 9)), int(rng.integers(1, 4)))


def _output_size(size, kernel, stride, padding, dilation):
    if padding == "same":
        return -(-size // stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


@pytest.mark.parametrize("config", CONFIGS)
def test_conv2d_layer_checks(config, rng):
    kernel_size, strides, padding, dilation = config
    shape, filters = _image_shape(rng), int(rng.integers(1, 4))
    layer = layers.Conv2D(filters, kernel_size, strides, padding, dilation, activation="relu",
                          bias_initializer="random_normal")
    kh, kw = np.broadcast_to(kernel_size, 2)
    check_layer(layer, shape, rng, expected_params=kh * kw * shape[3] * filters + filters)
    expected = tuple(_output_size(n, k, strides, padding, dilation)
                     for n, k in zip(shape[1:3], (kh, kw)))
    assert layer.output_shape == (None, *expected, filters)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("activation", [None, "relu"])  # relu runs fused in the conv op
def test_conv2d_against_torch(config, dtype, activation, rng):
    kernel_size, strides, padding, dilation = config
    # Two filters or more: a single float32 bias gradient (a sum of ~100 terms) can
    # cancel to near zero, and the comparison is relative to the largest element.
    shape, filters = _image_shape(rng), int(rng.integers(2, 5))
    kh, kw = np.broadcast_to(kernel_size, 2)
    pads = (0, 0, 0, 0)
    if padding == "same":
        top_bottom = tf_same_pads(shape[1], kh, strides, dilation)
        left_right = tf_same_pads(shape[2], kw, strides, dilation)
        pads = left_right + top_bottom
    module = torch.nn.Sequential(
        torch.nn.ZeroPad2d(pads),
        torch.nn.Conv2d(shape[3], filters, (kh, kw), strides, dilation=dilation),
        torch.nn.ReLU() if activation else torch.nn.Identity())
    check_layer_against_torch(
        lambda **kw: layers.Conv2D(filters, kernel_size, strides, padding, dilation,
                                   activation=activation, **kw),
        module, [("1.weight", keras_layout_to_torch), ("1.bias", identity)], shape, rng, dtype,
        channels_last=True)


def test_conv2d_kernel_has_keras_layout():
    layer = layers.Conv2D(5, (2, 3))
    layer(np.zeros((1, 6, 6, 4)))
    assert layer.kernel.shape == (2, 3, 4, 5) and layer.bias.shape == (5,)


def test_conv2d_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"Conv2D '.*' expects padding 'valid' or 'same', "
                                         r"got 'full'"):
        layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match=r"Conv2D '.*' expects a positive int of filters, "
                                         r"got 0"):
        layers.Conv2D(0, 3)


def test_small_cnn_gradients_in_float64(rng):
    """Conv2D -> MaxPooling2D -> Flatten -> Dense, every weight against central differences."""
    nn.set_floatx("float64")
    stack = [layers.Conv2D(2, 3, activation="tanh", bias_initializer="random_normal"),
             layers.MaxPooling2D(2), layers.Flatten(),
             layers.Dense(3, bias_initializer="random_normal")]
    check_layers_gradients(stack, (2, 6, 6, 2), rng)
    assert all(w.dtype == np.float64 for layer in stack for w in layer.weights)
