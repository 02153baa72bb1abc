"""neuronet.ops and operators on symbolic tensors: nodes of the layer graph (OpLayer),
equal to the same ops on Tensors, with gradients; saved by op name, loaded without code."""
import json

import numpy as np
import pytest

from harness import assert_close
import neuronet as nn
from neuronet import layers, ops


@pytest.fixture(autouse=True)
def _float64():
    nn.set_floatx("float64")


def scoring_graph():
    """As a Keras script writes it: ops and operators between layers."""
    nn.manual_seed(2)
    x = nn.Input((3,), name="x")
    h = layers.Dense(3, name="hidden")(x)
    centred = (x + h) * 2 - 1
    energy = ops.mean(ops.square(centred), axis=-1, keepdims=True)
    out = energy / 3 + (-h[:, :1]) + 0.5 ** ops.abs(x[:, 1:2]) - (1 - ops.relu(x[:, 2:]))
    return nn.Model(x, out, name="scoring")


def by_hand(model, x):
    kernel, bias = model.get_layer("hidden").weights
    h = ops.add(ops.matmul(x, kernel), bias)
    centred = ((x + h) * 2) - 1
    energy = ops.mean(ops.square(centred), axis=-1, keepdims=True)
    return (energy / 3 + (-h[:, :1]) + ops.power(0.5, ops.abs(x[:, 1:2]))
            - (1 - ops.relu(x[:, 2:])))


def test_ops_and_operators_become_nodes_equal_to_the_ops_on_tensors(rng):
    model = scoring_graph()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("OpLayer") >= 10 and model.output_shape == (None, 1)
    assert {"add", "multiply", "subtract", "square", "mean", "negative", "getitem",
            "divide", "power", "abs", "relu"} <= {layer.op for layer in model.layers
                                                  if isinstance(layer, layers.OpLayer)}
    data = rng.standard_normal((5, 3))
    x = nn.tensor(data, requires_grad=True)
    out = model(x)
    gy = rng.standard_normal((5, 1))
    ops.sum(out * gy).backward()
    got_x, got_w = x.grad.numpy(), [w.grad.numpy() for w in model.weights]
    x2 = nn.tensor(data, requires_grad=True)
    for weight in model.weights:
        weight.grad = None
    expected = by_hand(model, x2)
    ops.sum(expected * gy).backward()
    assert_close(out.numpy(), expected.numpy(), 1e-12)
    assert_close(got_x, x2.grad.numpy(), 1e-12)
    for got, weight in zip(got_w, model.weights):
        assert_close(got, weight.grad.numpy(), 1e-12)


def test_unknown_sizes_stay_unknown_and_known_ones_are_found():
    tokens = nn.Input((None, 4))
    pooled = ops.mean(tokens, axis=1)
    assert pooled.shape == (None, 4)
    scaled = ops.expand_dims(tokens * 2.0, -1)
    assert scaled.shape == (None, None, 4, 1)
    halves = ops.split(tokens, 2, axis=-1)
    assert [half.shape for half in halves] == [(None, None, 2)] * 2
    model = nn.Model(tokens, [pooled, halves[1]])
    a, b = model(np.ones((2, 7, 4)))
    assert a.shape == (2, 4) and b.shape == (2, 7, 2)


def test_a_graph_of_ops_trains_saves_and_loads_by_op_name(tmp_path, rng):
    model = scoring_graph()
    config = model.get_config()
    json.dumps(config)
    ops_named = [entry["config"]["op"] for entry in config["layers"]
                 if entry["class_name"] == "OpLayer"]
    assert "square" in ops_named and "getitem" in ops_named
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    model.compile("adam", "mse")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "scoring.safetensors")
    loaded = nn.io.load_model(tmp_path / "scoring.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_constant_json_cannot_hold_is_a_clear_error_when_saving(tmp_path):
    x = nn.Input((3,))
    model = nn.Model(x, x * np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(model(np.ones((1, 3))).numpy(), [[1, 2, 3]])
    with pytest.raises(ValueError, match=r"OpLayer 'multiply\w*' \(ops.multiply\) cannot be "
                                         r"saved: the constant .* is not JSON"):
        model.save(tmp_path / "m.safetensors")


def test_loading_names_only_known_ops():
    with pytest.raises(ValueError, match=r"'system' is not an op a layer graph can record"):
        layers.deserialize({"class_name": "OpLayer", "config": {"op": "system",
                                                                "args": [{"__input__": 0}]}})


def test_ops_on_data_are_untouched_and_mixing_data_with_a_graph_is_allowed(rng):
    assert isinstance(ops.square(nn.tensor([2.0])), nn.Tensor)
    x = nn.Input((2,))
    shift = nn.tensor([[1.0, -1.0]])
    model = nn.Model(x, ops.maximum(x + shift, 0.0))
    np.testing.assert_array_equal(model(np.array([[0.5, 0.5]])).numpy(), [[1.5, 0.0]])


def test_operands_that_do_not_broadcast_name_the_op_layer_and_both_shapes():
    a, b = nn.Input((3,)), nn.Input((4,))
    with pytest.raises(ValueError, match=r"OpLayer 'add\w*' \(ops.add\) cannot take inputs of "
                                         r"shapes \(None, 3\) and \(None, 4\)"):
        a + b
