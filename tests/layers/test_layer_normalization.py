import numpy as np
import pytest
import torch

from harness import assert_close
from layer_harness import check_layer, check_layer_against_torch, check_layers_gradients
import neuronet as nn
from neuronet import layers


def identity(a):
    return a


LN_WEIGHTS = [("weight", identity), ("bias", identity)]


@pytest.mark.parametrize("shape, axis, params", [((8, 3), -1, 2 * 3),
                                                 ((4, 3, 5), [1, 2], 2 * 3 * 5),
                                                 ((2, 4, 4, 3), [-3, -2], 2 * 4 * 4)])
def test_layer_norm_layer_checks(shape, axis, params, rng):
    layer = layers.LayerNormalization(axis=axis)
    check_layer(layer, shape, rng, expected_params=params)
    assert layer.weight_names == ["gamma", "beta"]
    assert layer.name.startswith("layer_normalization")


def test_layer_norm_keeps_keras_defaults():
    config = layers.LayerNormalization().get_config()
    assert (config["axis"], config["epsilon"], config["center"], config["scale"]) == (
        -1, 1e-3, True, True)
    assert config["beta_initializer"]["class_name"] == "Zeros"
    assert config["gamma_initializer"]["class_name"] == "Ones"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis, normalized_shape", [((8, 5), -1, (5,)),
                                                           ((3, 4, 5), [-2, -1], (4, 5))])
def test_layer_norm_against_torch(shape, axis, normalized_shape, dtype, rng):
    make = lambda **kw: layers.LayerNormalization(axis=axis, **kw)
    check_layer_against_torch(make, torch.nn.LayerNorm(normalized_shape, eps=1e-3), LN_WEIGHTS,
                              shape, rng, dtype)


def test_layer_norm_without_center_and_scale_has_no_weights(rng):
    layer = layers.LayerNormalization(center=False, scale=False, epsilon=1e-5)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    assert_close(layer(x).numpy(), (x - x.mean(1, keepdims=True)) / np.sqrt(
        x.var(1, keepdims=True) + np.float32(1e-5)), 1e-5)
    assert layer.weights == []


def test_layer_norm_is_the_same_in_training_and_inference(rng):
    layer = layers.LayerNormalization(gamma_initializer="random_normal")
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(layer(x, training=True).numpy(), layer(x).numpy())


def test_layer_norm_gradients_in_float64(rng):
    nn.set_floatx("float64")
    layer = layers.LayerNormalization(axis=[1, 3], gamma_initializer="random_normal",
                                      beta_initializer="random_normal")
    check_layers_gradients([layer], (2, 3, 2, 4), rng)


def test_layer_norm_saves_and_loads(tmp_path, rng):
    model = nn.Sequential([layers.Input((3, 4)), layers.LayerNormalization(axis=[1, 2]),
                           layers.Flatten(), layers.Dense(2)])
    model.layers[0].set_weights([rng.standard_normal((3, 4)), rng.standard_normal((3, 4))])
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    model.save(tmp_path / "model.safetensors")
    loaded = nn.models.load_model(tmp_path / "model.safetensors")
    assert loaded.layers[0].get_config()["axis"] == [1, 2]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_layer_norm_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"LayerNormalization '.*' expects an int axis or a "
                                         r"list of ints, got 'last'"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match=r"cannot normalise along the batch axis \(axis=0\)"):
        layers.LayerNormalization(axis=0)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"axis \[1, 3\] is out of range for input of 3 "
                                         r"dimensions"):
        layers.LayerNormalization(axis=[1, 3]).build((None, 2, 3))
    layer = layers.LayerNormalization()
    layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"expects inputs with dimension 1 of size 4, got shape "
                                         r"\(2, 5\)"):
        layer(np.zeros((2, 5)))
