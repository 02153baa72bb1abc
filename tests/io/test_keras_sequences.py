"""Keras files of sequence models: Embedding, Masking, Conv1D, 1D pools, TimeDistributed,
SimpleRNN, LSTM, GRU and Bidirectional, read (fixtures by real Keras, checked in
test_keras_files.py) and written (weights in Keras' cell/wrapper groups), and what neuronet
cannot compute as Keras refused naming the layer."""
import json
import zipfile

import h5py
import numpy
import pytest

import neuronet
from neuronet import layers
from neuronet.io.keras import KerasFileError
from tests.io.test_keras_files import FIXTURES, expected, with_config


def text_layer(config, index=2):
    return config["config"]["layers"][index]["config"]


@pytest.mark.parametrize("change, message", [
    (lambda c: text_layer(c).update(stateful=True), "LSTM with stateful=True"),
    (lambda c: text_layer(c).update(recurrent_activation="hard_sigmoid"),
     "activation 'hard_sigmoid'"),
    (lambda c: text_layer(c).update(activation="gelu"), "activation 'gelu'"),
    (lambda c: text_layer(c, 1).update(sparse=True), "sparse=True is not understood"),
])
def test_recurrent_options_neuronet_lacks_are_refused(tmp_path, change, message):
    with pytest.raises(KerasFileError, match=message) as error:
        neuronet.models.load_keras(with_config(tmp_path, change, "text"))
    assert "'lstm'" in str(error.value) or "'embedding'" in str(error.value)


def test_a_wrapped_layer_is_checked_as_any_layer(tmp_path):
    def lambda_inside(config):
        wrapped = config["config"]["layers"][6]["config"]["layer"]
        wrapped.update(class_name="Lambda")

    with pytest.raises(KerasFileError, match="time_distributed.*Lambda layer holds Python"):
        neuronet.models.load_keras(with_config(tmp_path, lambda_inside, "series"))


def sequence_models():
    text = neuronet.Sequential([
        layers.Input((6,)), layers.Embedding(12, 4, mask_zero=True),
        layers.LSTM(3, return_sequences=True), layers.GRU(2, reset_after=False)])
    series = neuronet.Sequential([
        layers.Input((10, 2)), layers.Conv1D(3, 3, padding="causal", dilation_rate=2),
        layers.MaxPooling1D(2), layers.TimeDistributed(layers.Dense(2)),
        layers.Masking(), layers.SimpleRNN(2, return_sequences=True),
        layers.GlobalAveragePooling1D()])
    steps = neuronet.Input((5, 3))
    both = layers.Bidirectional(layers.GRU(2, return_sequences=True))(steps)
    pair = neuronet.Model(steps, layers.Bidirectional(layers.LSTM(2), merge_mode="sum")(both))
    return {"text": text, "series": series, "pair": pair}


def inputs_for(name, model, rng):
    if name == "text":
        ids = rng.integers(1, 12, (4, 6))
        ids[:, 4:] = 0
        return ids.astype("float32")
    return rng.standard_normal((4,) + tuple(model.input_shape[1:])).astype("float32")


@pytest.mark.parametrize("name", ["text", "series", "pair"])
def test_save_keras_then_load_keras_predicts_the_same(tmp_path, rng, name):
    model = sequence_models()[name]
    for weight in model.weights:
        weight.data[...] = rng.normal(0, 0.5, weight.shape)
    model.save(tmp_path / "m.keras")
    again = neuronet.models.load_keras(tmp_path / "m.keras")
    x = inputs_for(name, model, rng)
    numpy.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_written_recurrent_weights_lie_in_keras_cell_and_wrapper_groups(tmp_path):
    sequence_models()["pair"].save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        store = h5py.File(__import__("io").BytesIO(archive.read("model.weights.h5")), "r")
        config = json.loads(archive.read("config.json"))
    assert store["layers/bidirectional/forward_layer/cell/vars/1"].shape == (2, 6)
    assert store["layers/bidirectional/backward_layer/cell/vars/2"].shape == (2, 6)
    assert store["layers/bidirectional_1/forward_layer/cell/vars/0"].shape == (4, 8)
    wrapped = config["config"]["layers"][1]["config"]["layer"]
    assert wrapped["class_name"] == "GRU" and wrapped["config"]["zero_output_for_mask"]


def test_keras_layouts_of_the_fixtures_are_read_in_place():
    model = neuronet.models.load_keras(FIXTURES / "text.keras")
    lstm = model.layers[1]
    with zipfile.ZipFile(FIXTURES / "text.keras") as archive:
        store = h5py.File(__import__("io").BytesIO(archive.read("model.weights.h5")), "r")
        for index, weight in enumerate(lstm.weights):
            numpy.testing.assert_array_equal(weight.data, store[f"layers/lstm/cell/vars/{index}"])
    inputs, outputs = expected("text")
    assert (inputs == 0).any()  # the padding is masked: the fixture exercises mask_zero
