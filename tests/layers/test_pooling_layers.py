import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layer_harness import check_layer, check_layer_against_torch
from neuronet import layers
from test_conv_layers import tf_same_pads

# (pool_size, strides, padding)
CONFIGS = [(2, None, "valid"), (3, 2, "valid"), ((2, 3), 1, "valid"), (2, None, "same"),
           (3, 2, "same")]


def _image_shape(rng):
    return (2, int(rng.integers(5, 8)), int(rng.integers(5, 8)), int(rng.integers(1, 4)))


def _same_pads(shape, pool, strides):
    top_bottom = tf_same_pads(shape[1], pool[0], strides[0], 1)
    left_right = tf_same_pads(shape[2], pool[1], strides[1], 1)
    return left_right + top_bottom  # F.pad order: (left, right, top, bottom)


class TorchSameMaxPool(torch.nn.Module):
    """TensorFlow's 'same' max pooling: the padding is -inf, so it never wins."""

    def __init__(self, pool, strides, pads):
        super().__init__()
        self.pool, self.strides, self.pads = pool, strides, pads

    def forward(self, x):
        return F.max_pool2d(F.pad(x, self.pads, value=float("-inf")), self.pool, self.strides)


class TorchSameAvgPool(TorchSameMaxPool):
    """TensorFlow's 'same' average pooling: each window's mean over its real pixels."""

    def forward(self, x):
        ones = torch.ones_like(x[:, :1])
        total = F.avg_pool2d(F.pad(x, self.pads), self.pool, self.strides)
        real = F.avg_pool2d(F.pad(ones, self.pads), self.pool, self.strides)
        return total / real


def _torch_twin(kind, config, shape):
    pool_size, strides, padding = config
    pool = tuple(np.broadcast_to(pool_size, 2).tolist())
    strides = pool if strides is None else tuple(np.broadcast_to(strides, 2).tolist())
    if padding == "valid":
        return (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(pool, strides)
    twin = TorchSameMaxPool if kind == "max" else TorchSameAvgPool
    return twin(pool, strides, _same_pads(shape, pool, strides))


LAYERS = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D}


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("config", CONFIGS)
def test_pooling_layer_checks(kind, config, rng):
    check_layer(LAYERS[kind](*config), _image_shape(rng), rng, expected_params=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("config", CONFIGS)
def test_pooling_against_torch(kind, config, dtype, rng):
    shape = _image_shape(rng)
    check_layer_against_torch(lambda **kw: LAYERS[kind](*config, **kw),
                              _torch_twin("max" if kind == "max" else "avg", config, shape), [],
                              shape, rng, dtype, channels_last=True)


def test_pooling_output_shape_formulas():
    assert layers.MaxPooling2D(3, 2).compute_output_shape((None, 7, 8, 3)) == (None, 3, 3, 3)
    assert layers.MaxPooling2D(3, 2, "same").compute_output_shape((None, 7, 8, 3)) == \
        (None, 4, 4, 3)


def test_pooling_aliases_are_the_keras_classes():
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool2D is layers.AveragePooling2D
    assert layers.get("MaxPool2D") is layers.MaxPooling2D


def test_pooling_rejects_images_without_batch():
    with pytest.raises(ValueError, match=r"MaxPooling2D '.*' expects 4-D input \(batch, height, "
                                         r"width, channels\), got shape \(6, 6, 1\)"):
        layers.MaxPooling2D()(np.zeros((6, 6, 1)))


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_layer_checks(keepdims, rng):
    check_layer(layers.GlobalAveragePooling2D(keepdims=keepdims), _image_shape(rng), rng,
                expected_params=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_against_torch(keepdims, dtype, rng):
    twin = torch.nn.AdaptiveAvgPool2d(1) if keepdims else torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    check_layer_against_torch(lambda **kw: layers.GlobalAveragePooling2D(keepdims, **kw), twin,
                              [], _image_shape(rng), rng, dtype, channels_last=True)
