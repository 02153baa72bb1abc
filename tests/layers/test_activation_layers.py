import numpy as np
import pytest
import torch

from layer_harness import check_layer, check_layer_against_torch
from neuronet import layers

CASES = {
    "relu": (lambda **kw: layers.ReLU(**kw), torch.nn.ReLU),
    "leaky_relu": (lambda **kw: layers.LeakyReLU(**kw), lambda: torch.nn.LeakyReLU(0.3)),
    "leaky_relu_0.1": (lambda **kw: layers.LeakyReLU(0.1, **kw), lambda: torch.nn.LeakyReLU(0.1)),
    "softmax": (lambda **kw: layers.Softmax(**kw), lambda: torch.nn.Softmax(-1)),
    "softmax_axis_1": (lambda **kw: layers.Softmax(axis=1, **kw), lambda: torch.nn.Softmax(1)),
    "tanh": (lambda **kw: layers.Activation("tanh", **kw), torch.nn.Tanh),
    "sigmoid": (lambda **kw: layers.Activation("sigmoid", **kw), torch.nn.Sigmoid),
    "elu": (lambda **kw: layers.Activation("elu", **kw), torch.nn.ELU),
}


@pytest.mark.parametrize("name", CASES)
def test_activation_layer_checks(name, rng):
    make, _ = CASES[name]
    check_layer(make(), (3, 4, 5), rng, expected_params=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", CASES)
def test_activation_layer_against_torch(name, dtype, rng):
    make, twin = CASES[name]
    check_layer_against_torch(make, twin(), [], (3, 4, 5), rng, dtype)


def test_activation_layer_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        layers.Activation("relux")
