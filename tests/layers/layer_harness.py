"""Checks every layer goes through.

``check_layer``: the output shape equals ``compute_output_shape``, the parameter
count equals Keras' (a formula the test derives by hand), the config survives a
JSON round trip (the clone, given the same weights, gives the same output), and
one SGD step on a small squared loss lowers it.

``check_layer_against_torch``: the same weights copied into the PyTorch twin
(layouts converted), then outputs, the input gradient and every weight gradient
compared for one random upstream gradient.

``check_layers_gradients``: layers chained, every weight and the input
differentiated against central differences in float64.
"""
import json

import numpy as np
import torch

from harness import TOLERANCE, assert_close, numerical_gradient
import neuronet as nn
from neuronet import layers


def batchless(shape):
    return (None,) + tuple(shape[1:])


def check_layer(layer, input_shape, rng, expected_params, training=False):
    """Shape, parameter count, config round trip and one training step of ``layer``."""
    x = rng.standard_normal(input_shape).astype(np.float32)
    y = layer(x, training=training)
    expected = layer.compute_output_shape(batchless(input_shape))
    assert expected[0] is None, f"compute_output_shape kept batch size {expected[0]}"
    assert y.shape == (input_shape[0],) + tuple(expected[1:])
    assert layer.output_shape == expected
    assert layer.count_params() == expected_params
    check_config_round_trip(layer, x)
    check_training_step_lowers_loss(layer, x, rng, training)


def check_config_round_trip(layer, x):
    """A layer rebuilt from its JSON config, given the same weights, computes the same."""
    description = json.loads(json.dumps(layers.serialize(layer)))
    clone = layers.deserialize(description)
    assert type(clone) is type(layer)
    assert layers.serialize(clone) == description
    clone.build(layer.input_shape)
    clone.set_weights(layer.get_weights())
    expected = layer(x, training=False).numpy()
    np.testing.assert_array_equal(clone(x, training=False).numpy(), expected)


def check_training_step_lowers_loss(layer, x, rng, training, learning_rate=0.1):
    """loss = mean((layer(x) - target)^2) falls after w -= lr * dloss/dw for every
    trainable weight (for a layer without weights, the step moves the input)."""
    x = nn.tensor(x, requires_grad=not layer.trainable_weights)
    parameters = layer.trainable_weights or [x]
    target = rng.standard_normal(layer(x).shape).astype(np.float32)

    def loss():
        return ((layer(x, training=training) - target) ** 2).mean()

    before = loss()
    before.backward()
    for p in parameters:
        assert p.grad is not None and np.any(p.grad.numpy() != 0), "a parameter got no gradient"
        p.data -= np.float32(learning_rate) * p.grad.numpy()
    with nn.no_grad():
        after = loss()
    assert after.item() < before.item(), f"loss rose from {before.item()} to {after.item()}"


def randomize_weights(layer, rng):
    """Trainable weights ~ N(0, 1); the others (moving statistics) ~ U(0.5, 1.5)."""
    trainable = {id(w) for w in layer.trainable_weights}
    layer.set_weights([rng.standard_normal(w.shape) if id(w) in trainable
                       else rng.uniform(0.5, 1.5, w.shape) for w in layer.weights])


def _nchw(t):
    return t.permute(0, 3, 1, 2) if t.ndim == 4 else t


def _nhwc(t):
    return t.permute(0, 2, 3, 1) if t.ndim == 4 else t


def copy_weights_to_torch(layer, module, weight_map):
    """``weight_map``: one (torch parameter or buffer name, our layout -> torch layout)
    per weight of ``layer`` in ``layer.weights`` order."""
    tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    for weight, (name, to_torch) in zip(layer.weights, weight_map):
        with torch.no_grad():
            tensors[name].copy_(torch.from_numpy(to_torch(weight.data).copy()))
    return tensors


def check_layer_against_torch(make_layer, module, weight_map, input_shape, rng, dtype,
                              training=False, channels_last=False, positive_input=False):
    """Our layer and the PyTorch ``module`` agree on output and gradients.

    ``make_layer(dtype=...)`` builds the layer; ``module`` is the twin (float32);
    ``channels_last``: the module reads NCHW, so inputs and 4-D outputs are permuted.
    Returns the layer and module for extra checks.
    """
    rtol = TOLERANCE[dtype]
    layer = make_layer(dtype=np.dtype(dtype).name)
    layer.build(batchless(input_shape))
    randomize_weights(layer, rng)
    module = module.to(torch.float64 if dtype == np.float64 else torch.float32)
    module.train(training)
    tensors = copy_weights_to_torch(layer, module, weight_map)

    x = rng.uniform(0.1, 2.0, input_shape) if positive_input else rng.standard_normal(input_shape)
    x = x.astype(dtype)
    ours = nn.tensor(x, dtype=dtype, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y = layer(ours, training=training)
    y_torch = module(_nchw(theirs)) if channels_last else module(theirs)
    y_torch = _nhwc(y_torch) if channels_last else y_torch
    assert y.dtype == dtype, f"output dtype {y.dtype}, expected {np.dtype(dtype)}"
    assert_close(y.numpy(), y_torch.detach().numpy(), rtol, what="output")

    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    y_torch.backward(torch.from_numpy(gy))
    assert_close(ours.grad, theirs.grad.numpy(), rtol, what="input gradient")
    trainable = {id(w) for w in layer.trainable_weights}
    for weight, name, (torch_name, to_torch) in zip(layer.weights, layer.weight_names,
                                                   weight_map):
        if id(weight) in trainable:
            assert weight.grad.dtype == dtype, f"{name} gradient dtype {weight.grad.dtype}"
            assert_close(to_torch(weight.grad), tensors[torch_name].grad.numpy(), rtol,
                         what=f"gradient of {name}")
    return layer, module


def check_layers_gradients(stack, input_shape, rng, training=False):
    """Autograd through ``stack`` (layers applied in turn, float64) equals central
    differences, for the input and every trainable weight."""
    def run(x, training):
        for layer in stack:
            x = layer(x, training=training)
        return x

    x = nn.tensor(rng.standard_normal(input_shape), dtype="float64", requires_grad=True)
    y = run(x, training)
    weights = [w for layer in stack for w in layer.trainable_weights]
    gy = rng.standard_normal(y.shape)
    y.backward(gy)

    def f(x_array, *weight_arrays):  # weights are perturbed in place, read from the layers
        with nn.no_grad():
            return run(nn.tensor(x_array, dtype="float64"), training).numpy()

    arrays = [x.data.copy()] + [w.data for w in weights]
    for index, tensor in enumerate([x] + weights):
        expected = numerical_gradient(f, arrays, index, gy)
        assert_close(tensor.grad, expected, 1e-6, what=f"gradient of parameter {index}")
