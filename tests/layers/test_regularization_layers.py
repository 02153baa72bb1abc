import numpy as np
import pytest
import torch

from layer_harness import check_layer, check_layer_against_torch
import neuronet as nn
from neuronet import layers


def test_dropout_layer_checks(rng):
    check_layer(layers.Dropout(0.5), (3, 4, 5), rng, expected_params=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_at_inference_against_torch(dtype, rng):
    check_layer_against_torch(lambda **kw: layers.Dropout(0.4, **kw), torch.nn.Dropout(0.4), [],
                              (3, 6), rng, dtype, training=False)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_in_training_drops_and_rescales(rate, rng):
    x = nn.tensor(rng.uniform(1.0, 2.0, (100, 200)), requires_grad=True)
    y = layers.Dropout(rate, seed=int(rng.integers(1000)))(x, training=True)
    kept = y.numpy() != 0
    expected_fraction, count = 1 - rate, kept.size
    assert abs(kept.mean() - expected_fraction) < 5 * np.sqrt(rate * (1 - rate) / count)
    scale = np.float32(1 / (1 - rate))
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] * scale, rtol=1e-6)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    np.testing.assert_allclose(x.grad, gy * kept * scale, rtol=1e-6)
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_dropout_seed_and_manual_seed_repeat_the_masks(rng):
    x = np.ones((10, 10), dtype=np.float32)
    first = layers.Dropout(0.5, seed=7)(x, training=True).numpy()
    second = layers.Dropout(0.5, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(first, second)
    layer = layers.Dropout(0.5, seed=7)
    layer(x, training=True)
    assert np.any(layer(x, training=True).numpy() != first), "a seeded layer repeats its mask"
    masks = []
    for _ in range(2):
        nn.manual_seed(3)
        masks.append(layers.Dropout(0.5)(x, training=True).numpy())
    np.testing.assert_array_equal(masks[0], masks[1])


def test_dropout_rejects_a_bad_rate():
    with pytest.raises(ValueError, match=r"Dropout '.*' expects a rate in \[0, 1\], got 1.5"):
        layers.Dropout(1.5)


def test_gaussian_noise_layer_checks(rng):
    check_layer(layers.GaussianNoise(0.3), (3, 4, 5), rng, expected_params=0)


def test_gaussian_noise_adds_noise_of_its_stddev_in_training_only(rng):
    x = nn.tensor(rng.uniform(size=(200, 300)), requires_grad=True)
    layer = layers.GaussianNoise(0.25, seed=1)
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    y = layer(x, training=True)
    noise = (y.numpy() - x.numpy()).astype(np.float64)
    count = noise.size
    assert abs(noise.mean()) < 5 * 0.25 / np.sqrt(count)
    assert abs(noise.std() - 0.25) < 5 * 0.25 / np.sqrt(2 * count)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    np.testing.assert_array_equal(x.grad, gy)
    again = layer(x, training=True).numpy()
    assert np.any(again != y.numpy()), "every batch gets new noise"
    np.testing.assert_array_equal(layers.GaussianNoise(0.25, seed=1)(x, training=True).numpy(),
                                  y.numpy())


def test_gaussian_noise_rejects_a_negative_stddev():
    with pytest.raises(ValueError, match="expects a stddev >= 0, got -1"):
        layers.GaussianNoise(-1)
