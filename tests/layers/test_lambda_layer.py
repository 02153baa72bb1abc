"""Lambda: a function as a layer in memory; every way of saving it refuses, cleanly."""
import os

import numpy as np
import pytest

from harness import assert_close
from layer_harness import check_layers_gradients
import neuronet as nn
from neuronet import architectures, layers, ops

REFUSAL = r"Lambda 'double' cannot be saved: .* a checkpoint is data, not code"


def doubling_model():
    model = nn.Sequential([layers.Input((3,)), layers.Lambda(lambda x: x * 2, name="double"),
                           layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_lambda_runs_in_a_sequential(rng):
    model = doubling_model()
    x = rng.standard_normal((4, 3)).astype(np.float32)
    kernel, bias = model.layers[1].get_weights()
    assert_close(model.predict(x), (2 * x) @ kernel + bias, 1e-6)
    assert model.layers[0].output_shape == (None, 3)
    history = model.fit(x, np.zeros((4, 2), np.float32), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_lambda_passes_arguments_and_training_when_asked():
    seen = []

    def shift(x, amount, training=False):
        seen.append(training)
        return x + amount

    layer = layers.Lambda(shift, arguments={"amount": 3.0})
    np.testing.assert_array_equal(layer(np.zeros((1, 2)), training=True).numpy(), [[3, 3]])
    layer(np.zeros((1, 2)))
    assert seen == [True, False]
    assert layers.Lambda(lambda x: x + 1)(np.zeros((1, 2))).numpy().tolist() == [[1, 1]]


def test_lambda_output_shape_probed_given_or_computed():
    probed = layers.Lambda(lambda x: ops.reshape(x, (x.shape[0], -1)))
    assert probed.compute_output_shape((None, 2, 3)) == (None, 6)
    given = layers.Lambda(lambda x: x, output_shape=(5,))
    assert given.compute_output_shape((None, 7)) == (None, 5)
    computed = layers.Lambda(lambda x: x, output_shape=lambda shape: shape[:-1] + (1,))
    assert computed.compute_output_shape((None, 4, 3)) == (None, 4, 1)


def test_gradients_flow_through_a_lambda(rng):
    nn.set_floatx("float64")
    stack = [layers.Dense(3, kernel_initializer="random_normal"),
             layers.Lambda(lambda x: ops.tanh(x) * x), layers.Dense(2)]
    check_layers_gradients(stack, (4, 3), rng)


def test_saving_a_model_with_a_lambda_raises_and_writes_no_file(tmp_path):
    model = doubling_model()
    path = tmp_path / "model.safetensors"
    with pytest.raises(ValueError, match=REFUSAL):
        model.save(path)
    with pytest.raises(ValueError, match=REFUSAL):
        architectures.to_json(model, tmp_path / "architecture.json")
    assert os.listdir(tmp_path) == []  # nothing written, no temporary file left behind


def test_a_failed_save_leaves_an_existing_checkpoint_intact(tmp_path):
    path = tmp_path / "model.safetensors"
    nn.Sequential([layers.Input((3,)), layers.Dense(2)]).save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=REFUSAL):
        doubling_model().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_a_lambda_config_is_refused_both_ways():
    with pytest.raises(ValueError, match=REFUSAL):
        layers.serialize(layers.Lambda(lambda x: x, name="double"))
    with pytest.raises(ValueError, match=r"a Lambda layer cannot be rebuilt .* data, not code"):
        layers.deserialize({"class_name": "Lambda", "config": {"function": "print"}})


def test_weights_of_a_model_with_a_lambda_still_save(tmp_path, rng):
    model = doubling_model()
    model.save_weights(tmp_path / "weights.safetensors")
    other = doubling_model()
    other.load_weights(tmp_path / "weights.safetensors")
    x = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_lambda_rejects_what_is_not_a_function():
    with pytest.raises(TypeError, match=r"Lambda '.*' expects a callable function, got str"):
        layers.Lambda("x * 2")
    with pytest.raises(TypeError, match=r"expects arguments as a dict .* got list"):
        layers.Lambda(lambda x: x, arguments=[1])
