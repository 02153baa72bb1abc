"""Checkpoints: exact round trips, resume equal to straight training, clean failures."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuronet as nn
from neuronet import layers
from neuronet.io import CheckpointError


def small_cnn():
    model = nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.25),
        layers.Dense(3),
    ])
    model.compile(optimizer="adam", loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def data(rng, n=96):
    x = rng.random((n, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) * 3).astype(np.int64) % 3
    return x, y


def test_save_and_load_round_trip_predictions_exactly(tmp_path, rng):
    nn.manual_seed(1)
    model = small_cnn()
    x, y = data(rng)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = nn.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config()["layers"] == model.get_config()["layers"]
    assert loaded.epochs_done == 1
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_resume_equals_straight_training_to_the_bit(tmp_path, rng):
    x, y = data(rng)
    nn.manual_seed(7)
    straight = small_cnn()
    straight.fit(x, y, epochs=8, batch_size=16, verbose=0)

    nn.manual_seed(7)
    first_half = small_cnn()
    first_half.fit(x, y, epochs=4, batch_size=16, verbose=0)
    first_half.save(tmp_path / "half.safetensors")
    nn.manual_seed(12345)  # whatever happens in between must not matter
    resumed = nn.models.load_model(tmp_path / "half.safetensors")
    resumed.fit(x, y, epochs=8, batch_size=16, verbose=0, initial_epoch=resumed.epochs_done)

    for ours, theirs in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_save_weights_and_load_weights(tmp_path, rng):
    nn.manual_seed(2)
    model, other = small_cnn(), small_cnn()
    path = tmp_path / "weights.safetensors"
    model.save_weights(path)
    other.load_weights(path)
    x, _ = data(rng, 8)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(CheckpointError, match="weights only"):
        nn.models.load_model(path)


def test_mismatched_model_names_tensor_and_both_shapes(tmp_path):
    model = small_cnn()
    model.save_weights(tmp_path / "w.safetensors")
    wider = nn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(5, 3, padding="same",
                                                                  name=model.layers[0].name)])
    shapes = r"does not fit|kernel.*\(3, 3, 1, 4\).*\(3, 3, 1, 5\)"
    with pytest.raises(CheckpointError, match=shapes):
        wider.load_weights(tmp_path / "w.safetensors")


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model = small_cnn()
    path = tmp_path / "model.safetensors"
    model.save(path)
    before = path.read_bytes()

    def broken_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    model.layers[-1].weights[0].data[...] = 0.0
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left


def test_save_interrupted_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model = small_cnn()
    path = tmp_path / "model.safetensors"
    model.save(path)
    before = path.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        """The temporary file's writer: half the bytes reach the disk, then Ctrl-C."""

        def __init__(self, *args, **kwargs):
            self.file = real_fdopen(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[:len(data) // 2])
            self.file.flush()
            raise KeyboardInterrupt

    monkeypatch.setattr(nn.io.files.os, "fdopen", HalfWriter)
    model.layers[-1].weights[0].data[...] = 0.0
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left
    monkeypatch.undo()
    assert nn.models.load_model(path).count_params() == model.count_params()


def test_architecture_may_name_only_registered_layers(tmp_path):
    model = small_cnn()
    path = tmp_path / "model.safetensors"
    model.save(path)
    raw = path.read_bytes().replace(b'\\"class_name\\": \\"Dense\\"',
                                    b'\\"class_name\\": \\"os.sy\\"')
    assert raw != path.read_bytes()
    path.write_bytes(raw)
    with pytest.raises(CheckpointError, match="unknown layer class 'os.sy'.*register"):
        nn.models.load_model(path)


@pytest.mark.parametrize("cut", [0, 7, 8, 100, -1])
def test_truncated_files_fail_cleanly(tmp_path, cut):
    model = small_cnn()
    path = tmp_path / "model.safetensors"
    model.save(path)
    data_bytes = path.read_bytes()
    path.write_bytes(data_bytes[:cut] if cut >= 0 else data_bytes[:-5])
    with pytest.raises(CheckpointError, match="model.safetensors"):
        nn.models.load_model(path)


def test_missing_file_and_folder():
    with pytest.raises(CheckpointError, match="does not exist"):
        nn.models.load_model("/nonexistent/model.safetensors")


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "model.safetensors"
    small_cnn().save(path)
    return path.read_bytes()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_files_end_in_a_clear_error(tmp_path, saved_bytes, data):
    kind = data.draw(st.sampled_from(["random", "truncate", "flip", "huge_header"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=2048))
    elif kind == "truncate":
        blob = saved_bytes[:data.draw(st.integers(0, len(saved_bytes) - 1))]
    elif kind == "flip":
        position = data.draw(st.integers(0, len(saved_bytes) - 1))
        blob = bytearray(saved_bytes)
        blob[position] ^= data.draw(st.integers(1, 255))
        blob = bytes(blob)
    else:
        blob = data.draw(st.integers(2**20, 2**64 - 1)).to_bytes(8, "little") + saved_bytes[8:]
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(blob)
    try:
        model = nn.models.load_model(path)
    except CheckpointError:
        return
    # A flipped byte inside a weight's data still loads: then it is a working model.
    assert kind == "flip" and model.built


def _ticket_model():
    """Two outputs, as in Keras' functional-API guide: a priority score and a department."""
    nn.manual_seed(3)
    title, body = nn.Input((5,), name="title"), nn.Input((4,), name="body")
    features = layers.concatenate([layers.Dense(6, activation="relu")(title), body])
    return nn.Model([title, body], [layers.Dense(1, name="priority")(features),
                                    layers.Dense(3, name="department")(features)])


@pytest.mark.parametrize("compile_args", [
    dict(loss=["mse", nn.losses.SparseCategoricalCrossentropy(from_logits=True)],
         loss_weights=[0.5, 2.0], metrics=[["mae"], ["accuracy"]],
         weighted_metrics=[None, ["accuracy"]]),
    dict(loss={"department": nn.losses.SparseCategoricalCrossentropy(from_logits=True),
               "priority": "mae"},
         loss_weights={"priority": 3.0}, metrics={"department": ["acc"]}),
], ids=["lists", "dicts"])
def test_a_model_compiled_per_output_saves_and_resumes_its_compile_settings(
        tmp_path, rng, compile_args):
    x = [rng.standard_normal((24, 5)), rng.standard_normal((24, 4))]
    y = [rng.standard_normal((24, 1)), rng.integers(0, 3, 24)]
    weights = rng.uniform(0.5, 1.5, 24)
    model = _ticket_model()
    model.compile(optimizer="adam", **compile_args)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, sample_weight=weights)
    model.save(tmp_path / "tickets.safetensors")
    loaded = nn.io.load_model(tmp_path / "tickets.safetensors")
    expected = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    assert list(got) == list(expected)
    np.testing.assert_allclose(list(got.values()), list(expected.values()), rtol=1e-6)
    for one in (model, loaded):
        one.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
