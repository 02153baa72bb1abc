"""neuronet.models.load_keras: Keras 3 .keras files saved by real Keras (tests/fixtures/keras,
made by its make_fixtures.py) predict as Keras did; anything else fails with one clear
KerasFileError, never a crash, a hang or code execution."""
import io
import json
import os
import pathlib
import subprocess
import sys
import zipfile

import h5py
import numpy
import pytest

import neuronet
from neuronet import layers
from neuronet.io.keras import KerasFileError
from neuronet.io.keras.layers import ACTIVATIONS
from neuronet.io.keras.naming import container_names, snake_case

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "keras"
MODELS = ["dense", "cnn", "functional", "activations", "nested", "text", "series", "bigru",
          "masked", "op_mask", "ops"]


def expected(name):
    arrays = numpy.load(FIXTURES / f"{name}.npz")
    count = sum(key.startswith("input_") for key in arrays)
    inputs = [arrays[f"input_{i}"] for i in range(count)]
    outputs = [arrays[f"output_{i}"] for i in range(len(arrays.files) - count)]
    return inputs if count > 1 else inputs[0], outputs


@pytest.mark.parametrize("name", MODELS)
def test_fixture_predicts_as_keras(name):
    model = neuronet.models.load_keras(FIXTURES / f"{name}.keras")
    inputs, outputs = expected(name)
    predicted = model.predict(inputs)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    assert len(predicted) == len(outputs)
    for got, want in zip(predicted, outputs):
        numpy.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_fixtures_cover_every_layer_class_read():
    from neuronet.io.keras.layers import SPEC

    seen = set()
    for name in MODELS:
        with zipfile.ZipFile(FIXTURES / f"{name}.keras") as archive:
            text = archive.read("config.json").decode()
        seen |= {cls for cls in SPEC if f'"class_name": "{cls}"' in text}
    assert seen == set(SPEC)


def test_layer_types_and_names_are_kept():
    model = neuronet.models.load_keras(FIXTURES / "cnn.keras")
    assert isinstance(model, neuronet.Sequential) and model.name == "cnn_model"
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "BatchNormalization", "ReLU", "AveragePooling2D",
        "Conv2D", "Flatten", "Dense", "Softmax"]
    two = neuronet.models.load_keras(FIXTURES / "functional.keras")
    assert two.output_names == ["first", "second"]


def test_every_activation_read_is_a_neuronet_activation():
    assert all(name in neuronet.activations.ACTIVATIONS for name in ACTIVATIONS)


def test_keras_weight_group_names():
    assert [snake_case(n) for n in ("Conv2D", "LeakyReLU", "GlobalAveragePooling2D", "ReLU",
                                    "BatchNormalization")] == [
        "conv2d", "leaky_re_lu", "global_average_pooling2d", "re_lu", "batch_normalization"]
    assert list(container_names(["Dense", "Conv2D", "Dense", "Dense"])) == [
        "dense", "conv2d", "dense_1", "dense_2"]


# --- refusals ------------------------------------------------------------------------------
def members(name="dense"):
    with zipfile.ZipFile(FIXTURES / f"{name}.keras") as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write(path, contents):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return path


def with_config(tmp_path, change, name="dense"):
    contents = members(name)
    config = json.loads(contents["config.json"])
    change(config)
    contents["config.json"] = json.dumps(config)
    return write(tmp_path / "changed.keras", contents)


def test_lambda_layer_is_refused_without_running_it():
    with pytest.raises(KerasFileError, match="Lambda layer holds Python code"):
        neuronet.models.load_keras(FIXTURES / "lambda.keras")


def dense_layer(config):
    return config["config"]["layers"][1]


@pytest.mark.parametrize("change, message", [
    (lambda c: dense_layer(c).update(registered_name="my_package>MyDense"), "custom object"),
    (lambda c: dense_layer(c).update(module="os"), "module 'os'"),
    (lambda c: dense_layer(c).update(class_name="EinsumDense"), "not one neuronet reads"),
    (lambda c: c.update(class_name="MyModel"), "subclassed model is Python code"),
    (lambda c: dense_layer(c)["config"].update(activation="gelu"), "activation 'gelu'"),
    (lambda c: dense_layer(c)["config"].update(activation="leaky_relu"),
     "activation 'leaky_relu'"),
    (lambda c: dense_layer(c)["config"].update(activation={"module": "builtins"}),
     "activation"),
    (lambda c: dense_layer(c)["config"].update(lora_rank=4), "lora_rank=4"),
    (lambda c: dense_layer(c)["config"].update(surprise=1), "surprise=1 is not understood"),
    (lambda c: dense_layer(c)["config"].update(dtype="mixed_float16"), "mixed_float16"),
    (lambda c: dense_layer(c)["config"].update(units=0), "does not make a layer"),
    (lambda c: c["config"]["layers"][0]["config"].update(batch_shape=[None, -1]),
     "input shape"),
])
def test_what_neuronet_cannot_compute_as_keras_is_refused(tmp_path, change, message):
    with pytest.raises(KerasFileError, match=message):
        neuronet.models.load_keras(with_config(tmp_path, change))


def test_unsupported_layer_options_are_refused(tmp_path):
    def relu6(config):
        config["config"]["layers"][5]["config"]["max_value"] = 6.0

    with pytest.raises(KerasFileError, match="ReLU with max_value=6.0 is not supported"):
        neuronet.models.load_keras(with_config(tmp_path, relu6, "cnn"))

    def grouped(config):
        config["config"]["layers"][1]["config"]["groups"] = 2

    with pytest.raises(KerasFileError, match="groups=2"):
        neuronet.models.load_keras(with_config(tmp_path, grouped, "cnn"))


def test_a_keras_2_file_is_refused(tmp_path):
    contents = members()
    contents["metadata.json"] = json.dumps({"keras_version": "2.15.0"})
    with pytest.raises(KerasFileError, match="Keras 2.15.0; neuronet reads Keras 3"):
        neuronet.models.load_keras(write(tmp_path / "old.keras", contents))


@pytest.mark.parametrize("missing", ["metadata.json", "config.json", "model.weights.h5"])
def test_a_missing_member_is_named(tmp_path, missing):
    contents = members()
    del contents[missing]
    with pytest.raises(KerasFileError, match=f"lacks \\['{missing}'\\]"):
        neuronet.models.load_keras(write(tmp_path / "part.keras", contents))


def rewritten_weights(change):
    """model.weights.h5 of dense.keras after ``change(h5py.File)``."""
    buffer = io.BytesIO(members()["model.weights.h5"])
    with h5py.File(buffer, "r+") as store:
        change(store)
    return buffer.getvalue()


@pytest.mark.parametrize("change, message", [
    (lambda s: s["layers/dense/vars"].__delitem__("1"), "holds 1 arrays for Dense"),
    (lambda s: (s["layers/dense/vars"].__delitem__("0"),
                s["layers/dense/vars"].create_dataset("0", data=numpy.ones((5, 8)))),
     r"\(dense/kernel\) has shape \(5, 8\).*expects float \(6, 8\)"),
    (lambda s: (s["layers/dense/vars"].__delitem__("1"),
                s["layers/dense/vars"].create_dataset("1", data=numpy.arange(8))),
     "dtype int64"),
    (lambda s: s["layers"].__delitem__("batch_normalization"), "holds 0 arrays"),
    (lambda s: s["layers/dropout/vars"].create_dataset("0", data=[1.0]), "holds 1 arrays"),
])
def test_weights_that_do_not_fit_are_named(tmp_path, change, message):
    contents = members()
    contents["model.weights.h5"] = rewritten_weights(change)
    with pytest.raises(KerasFileError, match=message):
        neuronet.models.load_keras(write(tmp_path / "weights.keras", contents))


@pytest.mark.parametrize("text", ["{", "[]", '{"class_name": 3}', "\xff", "[" * 100000,
                                  '{"class_name": "Sequential", "config": {"layers": 5}}'])
def test_bad_json_is_one_clear_error(tmp_path, text):
    contents = members()
    contents["config.json"] = text
    with pytest.raises(KerasFileError, match="changed.keras|bad.keras"):
        neuronet.models.load_keras(write(tmp_path / "bad.keras", contents))


def test_not_a_zip_or_not_a_file(tmp_path):
    (tmp_path / "x.keras").write_bytes(b"not a zip")
    with pytest.raises(KerasFileError, match="corrupted or not a Keras 3 file"):
        neuronet.models.load_keras(tmp_path / "x.keras")
    with pytest.raises(KerasFileError, match="no such file"):
        neuronet.models.load_keras(tmp_path / "absent.keras")


# --- fuzz ----------------------------------------------------------------------------------
FUZZ = r'''
import io, json, sys, zipfile, numpy
import neuronet
from neuronet.io.keras import KerasFileError

source, folder = sys.argv[1], sys.argv[2]
data = open(source, "rb").read()
with zipfile.ZipFile(source) as archive:
    contents = {info.filename: archive.read(info) for info in archive.infolist()}
rng = numpy.random.default_rng(0)


def zipped(replaced):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, member in {**contents, **replaced}.items():
            archive.writestr(name, member)
    return buffer.getvalue()


def flipped(array, flips):
    array = bytearray(array)
    for _ in range(flips):
        array[rng.integers(len(array))] ^= 1 << int(rng.integers(8))
    return bytes(array)


cases = [data[:n] for n in numpy.linspace(0, len(data) - 1, 25).astype(int)]
cases += [flipped(data, int(rng.integers(1, 6))) for _ in range(40)]
# Flips inside the HDF5 and JSON members with a valid zip CRC: what h5py and json parse.
h5 = contents["model.weights.h5"]
cases += [zipped({"model.weights.h5": flipped(h5, int(rng.integers(1, 6)))}) for _ in range(40)]
cases += [zipped({"model.weights.h5": h5[:n]}) for n in range(0, len(h5), len(h5) // 10)]
config = contents["config.json"]
cases += [zipped({"config.json": flipped(config, 1)}) for _ in range(30)]
# Valid JSON of a wrong structure: one value anywhere in the config (an option, a node's
# argument, a keras_history, a mask=) replaced by a value of another kind.
ODD = [None, -1, 0, 2.5, "x", [], {}, [0], ["x", 0, 0], True,
       {"class_name": "__keras_tensor__", "config": {}}]


def replaced_once(text):
    tree, spots = json.loads(text), []
    stack = [tree]
    while stack:
        node = stack.pop()
        for key, value in (node.items() if isinstance(node, dict) else enumerate(node)):
            spots.append((node, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    node, key = spots[rng.integers(len(spots))]
    node[key] = ODD[rng.integers(len(ODD))]
    return json.dumps(tree).encode()


cases += [zipped({"config.json": replaced_once(config)}) for _ in range(80)]
loaded = refused = 0
for index, case in enumerate(cases):
    path = f"{folder}/case{index}.keras"
    open(path, "wb").write(case)
    try:
        neuronet.models.load_keras(path)
        loaded += 1
    except KerasFileError as error:
        assert path in str(error), error
        refused += 1
print(f"{len(cases)} cases: {loaded} loaded, {refused} refused")
'''


@pytest.mark.parametrize("name", ["dense", "functional", "text", "bigru", "masked", "op_mask"])
def test_fuzzed_files_fail_with_one_clear_error(tmp_path, name):
    """Truncations and byte flips of a fixture, in a child process so that a crash or a
    hang of the HDF5 library would fail the test instead of the suite. Every case either
    loads (a flip in unused bytes or inside a weight) or raises KerasFileError."""
    root = pathlib.Path(__file__).parent.parent.parent
    done = subprocess.run([sys.executable, "-c", FUZZ, str(FIXTURES / f"{name}.keras"),
                           str(tmp_path)], capture_output=True, text=True, timeout=300,
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused" in done.stdout
    refused = int(done.stdout.split(" loaded, ")[1].split()[0])
    assert refused >= 50, done.stdout


def test_a_loaded_model_trains_and_saves_as_neuronet(tmp_path):
    model = neuronet.models.load_keras(FIXTURES / "dense.keras")
    inputs, outputs = expected("dense")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(inputs, numpy.argmax(outputs[0], axis=1), epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    again = neuronet.models.load_model(tmp_path / "m.safetensors")
    numpy.testing.assert_array_equal(again.predict(inputs), model.predict(inputs))
    assert isinstance(again.layers[0], layers.Dense)


# --- writing -------------------------------------------------------------------------------
def two_input_model():
    left, right = neuronet.Input((7,), name="left"), neuronet.Input((6, 6, 2), name="right")
    image = layers.Conv2D(3, 3, strides=2, padding="same", activation="relu")(right)
    image = layers.Flatten()(layers.BatchNormalization()(image))
    joined = layers.Concatenate()([layers.Dense(5, activation="tanh")(left), image])
    return neuronet.Model([left, right], [layers.Dense(3, activation="softmax")(joined),
                                          layers.Dense(1)(layers.Dense(4)(joined))])


def model_inputs(model, rng):
    return [rng.standard_normal((4,) + tuple(t.shape[1:])).astype("float32")
            for t in model.inputs]


def test_save_keras_then_load_keras_predicts_the_same(tmp_path, rng):
    model = two_input_model()
    for weight in model.weights:
        weight.data[...] = rng.uniform(0.5, 1.5, weight.shape)
    model.save(tmp_path / "two.keras")
    again = neuronet.models.load_model(tmp_path / "two.keras")  # .keras: load_keras
    x = model_inputs(model, rng)
    for got, want in zip(again.predict(x), model.predict(x)):
        numpy.testing.assert_array_equal(got, want)


def test_written_file_has_keras_members_config_and_weight_layout(tmp_path):
    model = neuronet.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dropout(0.5),
                                 layers.Dense(2, use_bias=False)], name="small")
    model.save(tmp_path / "small.keras")
    with zipfile.ZipFile(tmp_path / "small.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json",
                                              "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
        weights = archive.read("model.weights.h5")
    assert metadata["keras_version"].startswith("3.")
    assert config["class_name"] == "Sequential" and config["config"]["name"] == "small"
    assert [layer["class_name"] for layer in config["config"]["layers"]] == [
        "InputLayer", "Dense", "Dropout", "Dense"]
    assert config["config"]["layers"][0]["config"]["batch_shape"] == [None, 3]
    with h5py.File(io.BytesIO(weights), "r") as store:
        assert store["layers/dense/vars/0"].shape == (3, 4)
        assert store["layers/dense/vars/1"].shape == (4,)
        assert list(store["layers/dropout/vars"]) == []
        assert list(store["layers/dense_1/vars"]) == ["0"]
        numpy.testing.assert_array_equal(store["layers/dense_1/vars/0"][()],
                                         model.layers[2].kernel.data)


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".H5"])
def test_h5_paths_are_refused_naming_safetensors_and_keras(tmp_path, suffix):
    model = neuronet.Sequential([layers.Input((3,)), layers.Dense(2)])
    for call in (model.save, model.save_weights, model.load_weights):
        with pytest.raises(neuronet.io.CheckpointError, match=r"\.safetensors.*\.keras"):
            call(tmp_path / f"m{suffix}")
    assert not list(tmp_path.iterdir())


def test_save_weights_to_keras_is_refused(tmp_path):
    model = neuronet.Sequential([layers.Input((3,)), layers.Dense(2)])
    with pytest.raises(neuronet.io.CheckpointError, match=r"\.safetensors"):
        model.save_weights(tmp_path / "m.keras")


class Doubler(neuronet.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)

    def call(self, x, training=False):
        return self.dense(x) * 2


@pytest.mark.parametrize("model, message", [
    (lambda: neuronet.Sequential([layers.Input((3,)), layers.LayerNormalization()]),
     "LayerNormalization cannot be written"),
    (lambda: neuronet.Sequential([layers.Input((3,)), layers.Lambda(lambda x: x)]),
     "Lambda cannot be written"),
    (lambda: neuronet.Sequential([layers.Input((3,)),
                                  layers.Dense(2, activation=lambda x: x)]),
     "activation"),
    (lambda: neuronet.Sequential([layers.Input((3,)),
                                  layers.Dense(2, activation="leaky_relu")]),
     "activation 'leaky_relu' cannot be written"),
    (lambda: neuronet.Sequential([layers.Input((3,)), Doubler()]),
     "subclassed model is Python code"),
    (lambda: neuronet.models.load_keras(FIXTURES / "op_mask.keras"),
     "OpLayer cannot be written"),
])
def test_what_keras_cannot_read_is_refused_before_writing(tmp_path, model, message):
    with pytest.raises(KerasFileError, match=message):
        model().save(tmp_path / "m.keras")
    assert not list(tmp_path.iterdir())


def test_links_to_other_files_are_not_followed(tmp_path):
    secret = tmp_path / "other.h5"
    with h5py.File(secret, "w") as other:
        other.create_dataset("kernel", data=numpy.ones((6, 8)))

    def external(store):
        del store["layers/dense/vars/0"]
        store["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "kernel")

    def soft(store):
        store.move("layers/dense/vars/0", "elsewhere")
        store["layers/dense/vars/0"] = h5py.SoftLink("/elsewhere")

    for change, kind in ((external, "ExternalLink"), (soft, "SoftLink")):
        contents = members()
        contents["model.weights.h5"] = rewritten_weights(change)
        with pytest.raises(KerasFileError, match=f"{kind}s are not followed"):
            neuronet.models.load_keras(write(tmp_path / "linked.keras", contents))


@pytest.mark.parametrize("name", ["functional", "activations", "nested", "lambda"])
def test_keras_order_is_the_order_keras_saved(name):
    """Keras writes a functional config in its ``model.layers`` order, which it computes
    from the graph: keras_order, run on the graph alone, gives the same."""
    from neuronet.io.keras.graph import keras_order

    config = json.loads(members(name)["config.json"])["config"]
    shuffled = config["layers"][::-1]
    ordered = keras_order(shuffled, config["input_layers"], config["output_layers"])
    assert [layer["name"] for layer in ordered] == [layer["name"] for layer in config["layers"]]
