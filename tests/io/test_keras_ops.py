"""Keras 3 op layers in .keras files (keras.ops on Keras tensors, and the masks Keras writes
with them and passes on as mask=): read as neuronet OpLayers, predicting as Keras (the
fixtures masked, op_mask and ops, checked in test_keras_files.py); what is not read is
refused naming the op layer."""
import json
import zipfile

import numpy
import pytest

import neuronet
from neuronet import layers
from neuronet.io.keras import KerasFileError
from neuronet.io.keras.ops import OPTIONS
from tests.io.test_keras_files import FIXTURES, expected, with_config


def test_a_masking_layers_mask_is_read_as_ops_passed_on_as_mask():
    model = neuronet.models.load_keras(FIXTURES / "masked.keras")
    ops = {layer.name: layer.op for layer in model.layers if isinstance(layer, layers.OpLayer)}
    assert ops == {"not_equal": "not_equal", "any": "any"}
    lstm = next(node for node in model.nodes if node.layer.name == "lstm")
    assert lstm.mask.layer.name == "any"


def test_the_ops_fixture_covers_every_keras_op_read():
    with zipfile.ZipFile(FIXTURES / "ops.keras") as archive:
        config = json.loads(archive.read("config.json"))
    recorded = {entry["class_name"] for entry in config["config"]["layers"]
                if entry["module"].startswith("keras.src.ops")}
    assert recorded == set(OPTIONS)


def test_a_model_read_with_ops_saves_and_loads_as_neuronet(tmp_path):
    model = neuronet.models.load_keras(FIXTURES / "op_mask.keras")
    inputs, _ = expected("op_mask")
    model.save(tmp_path / "m.safetensors")
    again = neuronet.models.load_model(tmp_path / "m.safetensors")
    for got, want in zip(again.predict(inputs), model.predict(inputs)):
        numpy.testing.assert_array_equal(got, want)


def named(config, name):
    return next(entry for entry in config["config"]["layers"] if entry["name"] == name)


def ids_tensor(config):
    """A Keras tensor of op_mask's input, as an inbound node writes one."""
    return named(config, "embedding")["inbound_nodes"][0]["args"][0]


def _second_call(config):
    entry = named(config, "cast")
    entry["inbound_nodes"].append(entry["inbound_nodes"][0])


@pytest.mark.parametrize("change, message", [
    (lambda c: named(c, "tanh").update(class_name="Einsum", registered_name="Einsum"),
     r"op layer 'tanh': Keras op 'Einsum' \(keras.ops.einsum\) is not one neuronet reads"),
    (lambda c: named(c, "cast")["config"].update(dtype="complex64"), "cast to 'complex64'"),
    (lambda c: named(c, "sum")["config"].update(surprise=1), "option surprise=1 is not"),
    (lambda c: named(c, "sum")["config"].update(axis={"a": 1}), "option axis="),
    (lambda c: named(c, "sum")["inbound_nodes"][0]["kwargs"].update(where=1),
     "keyword arguments"),
    (lambda c: named(c, "subtract")["inbound_nodes"][0]["args"].append("rm -rf"),
     "neither a Keras tensor nor a number"),
    (lambda c: named(c, "subtract")["inbound_nodes"][0]["args"].append(1.0),
     "layer 'subtract': its call does not fit"),
    (lambda c: named(c, "subtract")["inbound_nodes"][0].update(args=[0.5, 1.0]),
     "reads no Keras tensor"),
    (_second_call, "a Keras op layer is called once"),
    (lambda c: named(c, "lstm_2")["inbound_nodes"][0]["kwargs"].update(
        initial_state=ids_tensor(c)), "neuronet reads mask= and training="),
    (lambda c: named(c, "lstm_2")["inbound_nodes"][0]["kwargs"]["mask"]["config"].update(
        keras_history=["nowhere", 0, 0]), "name layers or calls that are not in the config"),
    (lambda c: named(c, "lstm_2")["inbound_nodes"][0]["kwargs"]["mask"]["config"].update(
        keras_history=["not_equal_1", 0, 3]), "names no output of 'not_equal_1'"),
    (lambda c: named(c, "dense")["inbound_nodes"][0]["kwargs"].update(
        mask=ids_tensor(c)), "Dense 'dense' was given mask="),
])
def test_op_layers_and_masks_neuronet_does_not_read_are_refused(tmp_path, change, message):
    with pytest.raises(KerasFileError, match=message):
        neuronet.models.load_keras(with_config(tmp_path, change, "op_mask"))


def test_sizes_too_large_for_memory_are_one_clear_error(tmp_path):
    """An op layer works out its output shape on zeros of its input's shape: an input of
    2**40 values per example makes that allocation fail, which is reported as such."""
    def huge(config):
        named(config, "ids")["config"].update(batch_shape=[None, 2 ** 40])

    with pytest.raises(KerasFileError, match="larger than this machine's memory"):
        neuronet.models.load_keras(with_config(tmp_path, huge, "op_mask"))


def test_an_op_option_neuronet_lacks_must_keep_keras_default(tmp_path):
    def initial(config):
        named(config, "max_1")["config"].update(initial=1.0)

    with pytest.raises(KerasFileError, match=r"Max with initial=1.0 is not supported"):
        neuronet.models.load_keras(with_config(tmp_path, initial, "ops"))
