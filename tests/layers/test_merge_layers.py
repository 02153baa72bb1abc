"""Merge layers against PyTorch and central differences; their shape rules and errors."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import check_against_torch, check_gradients
import neuronet as nn
from neuronet import layers


def _dot_torch(a, b, axes, normalize=False):
    """Keras' batch_dot with PyTorch ops: x_1's axis moved last, x_2's first after batch."""
    if normalize:
        a, b = F.normalize(a, dim=axes[0]), F.normalize(b, dim=axes[1])
    left = torch.movedim(a, axes[0], -1)
    right = torch.movedim(b, axes[1], 1)
    batch = a.shape[0]
    product = torch.bmm(left.reshape(batch, -1, left.shape[-1]),
                        right.reshape(batch, right.shape[1], -1))
    rest = tuple(left.shape[1:-1]) + tuple(right.shape[2:])
    return product.reshape((batch,) + (rest or (1,)))


CASES = {  # name: (layer, PyTorch twin, input shapes)
    "add": (lambda: layers.Add(), lambda *x: x[0] + x[1] + x[2], [(3, 4)] * 3),
    "add-broadcast": (lambda: layers.Add(), lambda a, b: a + b, [(3, 1, 4), (3, 5, 4)]),
    "subtract": (lambda: layers.Subtract(), lambda a, b: a - b, [(3, 4)] * 2),
    "multiply": (lambda: layers.Multiply(), lambda *x: x[0] * x[1] * x[2], [(3, 4)] * 3),
    "average": (lambda: layers.Average(), lambda *x: (x[0] + x[1] + x[2]) / 3, [(3, 4)] * 3),
    "maximum": (lambda: layers.Maximum(),
                lambda *x: torch.maximum(torch.maximum(x[0], x[1]), x[2]), [(3, 4)] * 3),
    "minimum": (lambda: layers.Minimum(), lambda a, b: torch.minimum(a, b), [(3, 2, 4)] * 2),
    "concatenate": (lambda: layers.Concatenate(), lambda *x: torch.cat(x, dim=-1),
                    [(3, 2, 4), (3, 2, 1), (3, 2, 2)]),
    "concatenate-axis1": (lambda: layers.Concatenate(axis=1), lambda a, b: torch.cat((a, b), 1),
                          [(3, 2, 4), (3, 5, 4)]),
    "dot-vectors": (lambda: layers.Dot(axes=1), lambda a, b: _dot_torch(a, b, (1, 1)),
                    [(3, 4)] * 2),
    "dot-sequences": (lambda: layers.Dot(axes=2), lambda a, b: _dot_torch(a, b, (2, 2)),
                      [(3, 5, 4), (3, 2, 4)]),
    "dot-mixed-axes": (lambda: layers.Dot(axes=(1, 2)), lambda a, b: _dot_torch(a, b, (1, 2)),
                       [(3, 4, 2), (3, 5, 4)]),
    "dot-normalized": (lambda: layers.Dot(axes=-1, normalize=True),
                       lambda a, b: _dot_torch(a, b, (2, 2), normalize=True),
                       [(3, 5, 4), (3, 2, 4)]),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_merge_layers_match_pytorch(name, dtype, rng):
    make, twin, shapes = CASES[name]
    layer = make()
    layer.dtype = np.dtype(dtype).name
    arrays = [rng.standard_normal(shape) for shape in shapes]
    check_against_torch(lambda *x: layer(list(x)), twin, arrays, rng, dtype=dtype)
    expected = layer.compute_output_shape([(None,) + s[1:] for s in shapes])
    assert layer.output_shape == expected
    assert layer(arrays).shape == (shapes[0][0],) + expected[1:]


@pytest.mark.parametrize("name", CASES)
def test_merge_layers_gradients_match_central_differences(name, rng):
    make, _, shapes = CASES[name]
    layer = make()
    layer.dtype = "float64"
    check_gradients(lambda *x: layer(list(x)), [rng.standard_normal(s) for s in shapes], rng)


def test_merge_functions_make_and_call_the_layer(rng):
    a, b = rng.standard_normal((2, 3, 4))
    pairs = [(layers.add, np.add), (layers.subtract, np.subtract),
             (layers.multiply, np.multiply), (layers.maximum, np.maximum),
             (layers.minimum, np.minimum), (layers.average, lambda p, q: (p + q) / 2)]
    for function, reference in pairs:
        np.testing.assert_allclose(function([a, b], dtype="float64").numpy(), reference(a, b))
    np.testing.assert_allclose(layers.concatenate([a, b], axis=0, dtype="float64").numpy(),
                               np.concatenate([a, b], axis=0))
    np.testing.assert_allclose(layers.dot([a, b], axes=1, dtype="float64").numpy(),
                               np.sum(a * b, axis=1, keepdims=True))
    assert layers.add([a, b], name="total") is not None


def test_merge_layers_on_symbolic_inputs_give_keras_shapes():
    a, b = nn.Input((1, 4)), nn.Input((5, 4))
    assert layers.add([a, b]).shape == (None, 5, 4)
    assert layers.concatenate([a, b], axis=1).shape == (None, 6, 4)
    assert layers.dot([a, b], axes=2).shape == (None, 1, 5)
    assert layers.dot([nn.Input((3,)), nn.Input((3,))], axes=1).shape == (None, 1)
    varying = nn.Input((None, 4))
    assert layers.concatenate([varying, b], axis=1).shape == (None, None, 4)


@pytest.mark.parametrize("call, message", [
    (lambda: layers.Add(name="res")([np.ones((2, 3)), np.ones((2, 4))]),
     r"Add 'res' cannot merge inputs of shapes \(2, 3\) and \(2, 4\): sizes 3 and 4 differ "
     r"at axis 1"),
    (lambda: layers.Add(name="res")([nn.Input((3,)), nn.Input((4,))]),
     r"Add 'res' cannot merge inputs of shapes \(None, 3\) and \(None, 4\)"),
    (lambda: layers.Add()([np.ones((2, 3)), np.ones((1, 3))]),
     r"sizes 2 and 1 differ at axis 0 \(it needs equal batch sizes\)"),
    (lambda: layers.Multiply()([np.ones((2, 3)), np.ones((2, 3, 1))]),
     r"Multiply '.*' expects inputs of one rank, got shapes \(2, 3\) and \(2, 3, 1\)"),
    (lambda: layers.Subtract()([np.ones((2, 3))] * 3), r"expects exactly 2 inputs, got 3"),
    (lambda: layers.Concatenate()([np.ones((2, 3)), np.ones((3, 3))]),
     r"Concatenate '.*' expects inputs whose shapes match except along axis -1, got shapes "
     r"\[\(2, 3\), \(3, 3\)\]"),
    (lambda: layers.Concatenate(axis=2)([np.ones((2, 3)), np.ones((2, 3))]),
     r"axis 2 is out of range for inputs of rank 2"),
    (lambda: layers.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))]),
     r"Dot '.*' cannot multiply inputs of shapes \(2, 3\) and \(2, 4\): axis 1 of the first "
     r"has size 3, axis 1 of the second 4"),
    (lambda: layers.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))]),
     r"axis 0 is not a non-batch axis"),
], ids=["add-data", "add-symbolic", "batch", "rank", "count", "concatenate", "axis", "dot",
        "dot-batch-axis"])
def test_merge_layers_name_themselves_and_both_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_merge_layers_refuse_a_single_tensor_and_mixed_symbolic_data():
    with pytest.raises(TypeError, match=r"Add '.*' expects a list of inputs, got ndarray"):
        layers.Add()(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"called on symbolic tensors mixed with data"):
        layers.Add()([nn.Input((3,)), np.ones((2, 3))])


@pytest.mark.parametrize("layer", [layers.Concatenate(axis=1), layers.Add(),
                                   layers.Dot(axes=(1, 2), normalize=True)])
def test_merge_layer_configs_round_trip(layer):
    description = json.loads(json.dumps(layers.serialize(layer)))
    clone = layers.deserialize(description)
    assert type(clone) is type(layer) and layers.serialize(clone) == description
