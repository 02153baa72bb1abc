import numpy as np
import pytest
import torch

from layer_harness import (check_layer, check_layer_against_torch, check_layers_gradients)
import neuronet as nn
from neuronet import layers


def identity(a):
    return a


def transpose(a):
    return a.T


def _dense_size(rng):
    """(batch, features, units); units >= 2 so the float32 bias gradient is not one sum
    that may cancel to near zero (the comparison is relative to its largest element)."""
    return int(rng.integers(2, 6)), int(rng.integers(2, 7)), int(rng.integers(2, 6))


@pytest.mark.parametrize("extra_axes", [(), (3,)])
def test_dense_layer_checks(extra_axes, rng):
    batch, features, units = _dense_size(rng)
    layer = layers.Dense(units, activation="tanh")
    check_layer(layer, (batch, *extra_axes, features), rng,
                expected_params=features * units + units)


def test_dense_without_bias_counts_only_the_kernel(rng):
    batch, features, units = _dense_size(rng)
    layer = layers.Dense(units, use_bias=False)
    check_layer(layer, (batch, features), rng, expected_params=features * units)
    assert layer.weight_names == ["kernel"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("extra_axes", [(), (3,)])
def test_dense_against_torch(dtype, extra_axes, rng):
    batch, features, units = _dense_size(rng)
    module = torch.nn.Sequential(torch.nn.Linear(features, units), torch.nn.Tanh())
    check_layer_against_torch(lambda **kw: layers.Dense(units, activation="tanh", **kw), module,
                              [("0.weight", transpose), ("0.bias", identity)],
                              (batch, *extra_axes, features), rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("extra_axes", [(), (3,)])
def test_dense_with_fused_relu_against_torch(dtype, extra_axes, rng):
    batch, features, units = _dense_size(rng)
    module = torch.nn.Sequential(torch.nn.Linear(features, units), torch.nn.ReLU())
    check_layer_against_torch(lambda **kw: layers.Dense(units, activation="relu", **kw), module,
                              [("0.weight", transpose), ("0.bias", identity)],
                              (batch, *extra_axes, features), rng, dtype)


def test_dense_kernel_has_keras_layout(rng):
    layer = layers.Dense(4)
    layer(np.zeros((2, 7)))
    assert layer.kernel.shape == (7, 4) and layer.bias.shape == (4,)
    assert layer.weight_names == ["kernel", "bias"]


def test_flatten_layer_checks(rng):
    shape = (2, 3, 4, int(rng.integers(1, 4)))
    check_layer(layers.Flatten(), shape, rng, expected_params=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flatten_against_torch(dtype, rng):
    # Flattening channels-last arrays directly: torch's Flatten sees the same order.
    check_layer_against_torch(lambda **kw: layers.Flatten(**kw), torch.nn.Flatten(), [],
                              (2, 3, 4, 2), rng, dtype)


@pytest.mark.parametrize("target", [(6, 2), (-1, 3)])
def test_reshape_layer_checks(target, rng):
    check_layer(layers.Reshape(target), (3, 4, 3), rng, expected_params=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reshape_against_torch(dtype, rng):
    check_layer_against_torch(lambda **kw: layers.Reshape((2, -1), **kw),
                              torch.nn.Unflatten(1, (2, 6)), [], (3, 12), rng, dtype)


def test_reshape_names_the_sizes_that_do_not_fit():
    layer = layers.Reshape((5, 3))
    message = "Reshape 'reshape(_\\d+)?' cannot reshape inputs of shape \\(2, 12\\)"
    with pytest.raises(ValueError, match=message):
        layer(np.zeros((2, 12)))


def test_input_is_a_symbolic_tensor_that_remembers_its_input_layer():
    tensor = layers.Input(shape=(None, 3), batch_size=8, name="frames")
    assert isinstance(tensor, layers.SymbolicTensor) and tensor.shape == (8, None, 3)
    assert isinstance(tensor.layer, layers.InputLayer) and tensor.layer.name == "frames"
    assert tensor.layer.output is tensor and nn.Input is layers.Input


def test_input_layer_passes_inputs_and_checks_them(rng):
    layer = layers.InputLayer(shape=(4, 3))
    assert layer.built
    assert layer.input_shape == (None, 4, 3) and layer.output_shape == (None, 4, 3)
    x = rng.standard_normal((2, 4, 3))
    np.testing.assert_array_equal(layer(x).numpy(), x.astype(np.float32))
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.input_shape == (None, 4, 3)
    with pytest.raises(ValueError, match=r"InputLayer '.*' expects inputs with dimension 1 "
                                         r"of size 4, got shape \(2, 5, 3\)"):
        layer(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"expects 3-D input, got shape \(4, 3\)"):
        layer(np.zeros((4, 3)))


def test_input_rejects_a_bad_shape():
    with pytest.raises(ValueError, match="tuple of positive ints"):
        layers.Input(shape=(0, 3))


def test_dense_stack_gradients_in_float64(rng):
    nn.set_floatx("float64")
    stack = [layers.Dense(4, activation="tanh"), layers.Dense(3)]
    check_layers_gradients(stack, (3, 5), rng)
