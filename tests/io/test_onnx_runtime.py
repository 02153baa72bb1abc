"""The onnxruntime engine (``model.to_onnxruntime()``): its predict against neuronet's
for images, two inputs and outputs (a list, a dict), padded token ids and float64, in
batches that do not divide the samples; its weights are a snapshot; its threads; and the
errors for inputs that do not fit."""
import numpy as np
import pytest

from onnx_harness import assert_close, randomize
import neuronet as nn
from neuronet import Input, Model, architectures, layers
from neuronet.io.onnx import RuntimeModel
from neuronet.models import Sequential

SAMPLES, BATCH = 7, 3  # the last batch is a short one


def images(shape=(28, 28, 1), seed=0):
    return np.random.default_rng(seed).random((SAMPLES,) + shape).astype(np.float32)


def two_heads(dict_outputs=False):
    image, vector = Input((8, 8, 1), name="image"), Input((5,), name="vector")
    x = layers.Flatten()(layers.MaxPooling2D(2)(layers.Conv2D(4, 3, activation="relu")(image)))
    joined = layers.Concatenate()([x, layers.Dense(6, activation="tanh")(vector)])
    classes = layers.Dense(3, activation="softmax", name="classes")(joined)
    value = layers.Dense(1, name="value")(joined)
    outputs = {"value": value, "classes": classes} if dict_outputs else [classes, value]
    return randomize(Model([image, vector], outputs))


def test_the_cnn_predicts_as_neuronet_in_short_batches():
    model = randomize(architectures.build("cnn", (28, 28, 1), 10))
    x = images()
    got = model.to_onnxruntime().predict(x, batch_size=BATCH)
    assert got.shape == (SAMPLES, 10) and got.dtype == np.float32
    assert_close(got, model.predict(x, batch_size=BATCH))


def test_two_inputs_by_name_or_order_give_the_list_of_outputs():
    model = two_heads()
    x = [images((8, 8, 1)), np.random.default_rng(1).standard_normal((SAMPLES, 5))]
    fast = model.to_onnxruntime()
    expected = model.predict(x, batch_size=BATCH)
    for given in (x, {"vector": x[1], "image": x[0]}):
        got = fast.predict(given, batch_size=BATCH)
        assert isinstance(got, list) and len(got) == 2
        for actual, wanted in zip(got, expected):
            assert_close(actual, wanted)


def test_dict_outputs_come_back_as_the_same_dict():
    model = two_heads(dict_outputs=True)
    x = [images((8, 8, 1)), np.ones((SAMPLES, 5), np.float32)]
    got, expected = model.to_onnxruntime().predict(x), model.predict(x)
    assert list(got) == list(expected) == ["value", "classes"]
    for key in expected:
        assert_close(got[key], expected[key])


def test_padded_token_ids_into_an_lstm():
    inputs = Input((None,), dtype="int64", name="tokens")
    x = layers.LSTM(6)(layers.Embedding(9, 8, mask_zero=True)(inputs))
    model = randomize(Model(inputs, layers.Dense(3, activation="softmax")(x)))
    ids = np.random.default_rng(2).integers(1, 9, (SAMPLES, 10))
    ids[0, 5:] = 0
    ids[1, :4] = 0
    got = model.to_onnxruntime()(ids.astype(np.int32))  # ids of another integer type
    assert_close(got, model.predict(ids))


def test_a_float64_model_runs_in_float64():
    nn.set_floatx("float64")
    model = randomize(Sequential([Input((6,)), layers.Dense(4, activation="tanh"),
                                  layers.Dense(2)]))
    x = np.random.default_rng(3).standard_normal((SAMPLES, 6))
    got = model.to_onnxruntime().predict(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-12, atol=1e-12)


def test_it_keeps_the_weights_it_was_made_with():
    model = randomize(Sequential([Input((4,)), layers.Dense(3)]))
    x = np.ones((2, 4), np.float32)
    before = model.predict(x)
    fast = model.to_onnxruntime()
    model.layers[0].kernel.data[...] *= 2
    assert_close(fast.predict(x), before)
    assert_close(model.to_onnxruntime().predict(x), model.predict(x))


def test_threads_follow_neuronet_unless_given_and_stop_spinning_after_a_run():
    model = randomize(Sequential([Input((4,)), layers.Dense(3)]))
    before = nn.get_num_threads()
    nn.set_num_threads(3)
    try:
        options = model.to_onnxruntime().session.get_session_options()
    finally:
        nn.set_num_threads(before)
    assert options.intra_op_num_threads == 3
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    assert RuntimeModel(model, threads=2).session.get_session_options().intra_op_num_threads == 2


def test_verbose_shows_the_progress_of_predict(capsys):
    model = randomize(Sequential([Input((4,)), layers.Dense(3)]))
    model.to_onnxruntime().predict(np.ones((SAMPLES, 4)), batch_size=BATCH, verbose=2)
    assert "3/3" in capsys.readouterr().out


@pytest.mark.parametrize("call, message", [
    (lambda fast: fast.predict(np.ones((5, 28, 28))),
     "input 'image' takes arrays of shape (None, 28, 28, 1)"),
    (lambda fast: fast.predict(np.ones((0, 28, 28, 1))), "got (0, 28, 28, 1)"),
    (lambda fast: fast.predict([np.ones((5, 28, 28, 1))] * 2), "expects 1 input(s) ['image']"),
    (lambda fast: fast.predict({"pixels": np.ones((5, 28, 28, 1))}), "no input named ['image']"),
    (lambda fast: fast.predict(np.ones((5, 28, 28, 1)), batch_size=0), "batch_size must be"),
    (lambda fast: fast.predict(np.ones((5, 28, 28, 1)), verbose=3), "verbose must be 0, 1 or 2"),
])
def test_inputs_that_do_not_fit_get_an_error_naming_the_model(call, message):
    inputs = Input((28, 28, 1), name="image")
    model = Model(inputs, layers.Dense(2)(layers.Flatten()(inputs)), name="tiny")
    with pytest.raises(ValueError, match="Functional 'tiny' on onnxruntime predict") as error:
        call(model.to_onnxruntime())
    assert message in str(error.value)


def test_samples_must_agree_between_inputs():
    fast = two_heads().to_onnxruntime()
    with pytest.raises(ValueError, match=r"different numbers of samples \[7, 2\]"):
        fast.predict([images((8, 8, 1)), np.ones((2, 5))])
