import numpy as np
import pytest
import torch

from harness import TOLERANCE, assert_close
from layer_harness import check_layer, check_layer_against_torch, check_layers_gradients
import neuronet as nn
from neuronet import layers


def identity(a):
    return a


BN_WEIGHTS = [("weight", identity), ("bias", identity), ("running_mean", identity),
              ("running_var", identity)]
STATISTICS = [("running_mean", identity), ("running_var", identity)]


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 3, 2)])
@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_layer_checks(shape, training, rng):
    layer = layers.BatchNormalization()
    check_layer(layer, shape, rng, expected_params=4 * shape[-1], training=training)
    assert layer.weight_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2


def test_batch_norm_without_center_and_scale_keeps_only_statistics(rng):
    layer = layers.BatchNormalization(center=False, scale=False)
    check_layer(layer, (6, 2, 2, 3), rng, expected_params=2 * 3, training=True)
    assert layer.weight_names == ["moving_mean", "moving_variance"]


def _twin(shape, momentum, epsilon, affine=True):
    module = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    return module(shape[-1], eps=epsilon, momentum=1 - momentum, affine=affine)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 3, 2)])
def test_batch_norm_against_torch(shape, training, dtype, rng):
    momentum, epsilon = 0.9, 1e-3
    make = lambda **kw: layers.BatchNormalization(momentum=momentum, epsilon=epsilon, **kw)
    layer, module = check_layer_against_torch(make, _twin(shape, momentum, epsilon), BN_WEIGHTS,
                                              shape, rng, dtype, training=training,
                                              channels_last=len(shape) == 4)
    torch_mean = module.running_mean.detach().numpy()  # same momentum rule for the mean
    assert_close(layer.moving_mean.data, torch_mean, TOLERANCE[dtype], what="moving mean")


def test_batch_norm_moving_statistics_follow_keras_momentum(rng):
    """moving = momentum * moving + (1 - momentum) * batch statistic (biased variance)."""
    layer = layers.BatchNormalization(momentum=0.8)
    x = rng.standard_normal((5, 2, 2, 3)).astype(np.float32)
    layer(x, training=True)
    batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    assert_close(layer.moving_mean.data, 0.2 * batch_mean, 1e-5, what="moving mean")
    assert_close(layer.moving_variance.data, 0.8 + 0.2 * batch_var, 1e-5,
                 what="moving variance")
    before = layer.get_weights()
    layer(x, training=False)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_on_axis_one_against_torch(dtype, rng):
    """axis=1 of (N, C, L) is what BatchNorm1d normalises."""
    make = lambda **kw: layers.BatchNormalization(axis=1, **kw)
    check_layer_against_torch(make, torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.01),
                              BN_WEIGHTS, (4, 3, 5), rng, dtype, training=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_without_affine_against_torch(dtype, rng):
    make = lambda **kw: layers.BatchNormalization(center=False, scale=False, **kw)
    shape = (4, 3, 3, 2)
    check_layer_against_torch(make, _twin(shape, 0.99, 1e-3, affine=False), STATISTICS, shape,
                              rng, dtype, training=True, channels_last=True)


def test_frozen_batch_norm_runs_in_inference_mode(rng):
    """As in Keras 3: trainable=False means moving statistics, even with training=True."""
    layer = layers.BatchNormalization(trainable=False)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    layer.build((None, 3))
    layer.set_weights([rng.standard_normal(3), rng.standard_normal(3),
                       rng.standard_normal(3), rng.uniform(0.5, 1.5, 3)])
    gamma, beta, mean, variance = layer.get_weights()
    expected = gamma * (x - mean) / np.sqrt(variance + np.float32(1e-3)) + beta
    assert_close(layer(x, training=True).numpy(), expected, 1e-5)
    np.testing.assert_array_equal(layer.moving_mean.data, mean)
    assert layer.trainable_weights == []


def test_batch_norm_gradients_in_float64(rng):
    nn.set_floatx("float64")
    layer = layers.BatchNormalization(gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    check_layers_gradients([layer], (5, 2, 2, 3), rng, training=True)


def test_batch_norm_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"BatchNormalization '.*' expects momentum in \[0, 1\]"):
        layers.BatchNormalization(momentum=1.5)
    layer = layers.BatchNormalization()
    layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"expects inputs with last dimension 4, got shape "
                                         r"\(2, 5\)"):
        layer(np.zeros((2, 5)))
