import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import assert_close
import neuronet as nn
from neuronet import activations

# Keras name -> what PyTorch computes for it.
EXPECTED = {
    "linear": lambda x: x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "softplus": F.softplus,
    "softmax": lambda x: torch.softmax(x, -1),
    "log_softmax": lambda x: torch.log_softmax(x, -1),
}


@pytest.mark.parametrize("name", EXPECTED)
def test_get_by_name_computes_the_named_function(name, rng):
    x = rng.standard_normal((3, 4))
    y = activations.get(name)(nn.tensor(x, dtype="float64"))
    assert_close(y.numpy(), EXPECTED[name](torch.tensor(x)).numpy(), 1e-12)


@pytest.mark.parametrize("name", EXPECTED)
def test_serialize_gives_back_the_name(name):
    assert activations.serialize(activations.get(name)) == name
    assert activations.deserialize(name) is activations.get(name)


def test_registry_covers_the_expected_names():
    assert set(activations.ACTIVATIONS) == set(EXPECTED)


def test_none_is_linear(rng):
    x = nn.tensor(rng.standard_normal(5))
    assert activations.get(None) is activations.linear
    assert activations.get(None)(x) is x


def test_callable_is_returned_as_is():
    def swish(x):
        return x * nn.ops.sigmoid(x)
    assert activations.get(swish) is swish


@pytest.mark.parametrize("identifier", ["relu6", "ReLU", 3])
def test_unknown_name_lists_the_known_ones(identifier):
    with pytest.raises(ValueError, match=r"unknown activation .*'elu'.*'tanh'"):
        activations.get(identifier)


def test_serialize_unregistered_function_is_an_error():
    with pytest.raises(ValueError, match=r"not registered.*'relu'"):
        activations.serialize(lambda x: x)


def test_float32_stays_float32(rng):
    x = nn.tensor(rng.standard_normal((2, 3)))
    assert all(activations.get(name)(x).dtype == np.float32 for name in EXPECTED)
