import sys

import numpy as np
import pytest

import neuronet as nn
from neuronet import callbacks, layers, losses, optimizers


def blobs(rng, n=300, classes=3, features=4):
    """Gaussian blobs around well separated centres: a separable problem, shuffled."""
    centres = 4.0 * np.eye(classes, features)
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.standard_normal((n, features))
    return x.astype(np.float32), y


def bar_images(rng, n=96):
    """8x8 images holding a vertical (class 0) or horizontal (class 1) bar, plus noise."""
    y = rng.integers(0, 2, n)
    x = 0.3 * rng.standard_normal((n, 8, 8, 1))
    where = rng.integers(1, 7, n)
    for i in range(n):
        if y[i] == 0:
            x[i, :, where[i], 0] += 1.0
        else:
            x[i, where[i], :, 0] += 1.0
    return x.astype(np.float32), y


def mlp(seed=0, learning_rate=0.05):
    nn.manual_seed(seed)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(16, activation="relu"),
                           layers.Dense(3)])
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


class TwoLayerNet(nn.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.dropout = layers.Dropout(0.1)
        self.out = layers.Dense(3)

    def call(self, x, training=False):
        return self.out(self.dropout(self.hidden(x), training=training))


# --- learning ---------------------------------------------------------------------------------
def test_mlp_learns_separable_classes_in_two_epochs(rng):
    x, y = blobs(rng)
    model = mlp()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.8  # chance is 1/3
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.85 and loss < history.history["loss"][0]


def test_tiny_cnn_learns_bar_orientation(rng):
    x, y = bar_images(rng, 160)
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                           layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.03),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=6, batch_size=16, verbose=0)
    x_test, y_test = bar_images(rng, 64)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.8  # chance is 1/2


def test_subclassed_model_trains(rng):
    x, y = blobs(rng)
    nn.manual_seed(0)
    model = TwoLayerNet()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["sparse_categorical_accuracy"])
    assert not model.built
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert model.built and len(model.trainable_weights) == 4
    assert history.history["sparse_categorical_accuracy"][-1] > 0.8


def test_one_hot_targets_and_probabilities(rng):
    x, y = blobs(rng)
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05),
                  loss="categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, np.eye(3)[y], epochs=2, verbose=0)
    assert history.history["acc"][-1] > 0.8


# --- History and validation -------------------------------------------------------------------
def test_history_holds_one_value_per_epoch_per_key(rng):
    x, y = blobs(rng, 100)
    model = mlp()
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(values) == 3 for values in history.history.values())
    assert history.epoch == [0, 1, 2] and model.history is history
    assert history.history["lr"] == [0.05] * 3
    assert all(isinstance(v, float) for values in history.history.values() for v in values)


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses(rng):
    x, y = blobs(rng, 50)
    model = mlp(learning_rate=0.0)  # nothing moves: every batch sees the same weights
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(model.evaluate(x, y, verbose=0)[0],
                                                       rel=1e-6)


def test_validation_split_takes_the_last_samples_before_shuffling(rng):
    x, y = blobs(rng, 100)
    model = mlp()
    recorder = callbacks.Callback()
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.3,
                        callbacks=[recorder])
    assert recorder.params["steps"] == 3  # 70 training samples in batches of 32
    val_loss, val_accuracy = model.evaluate(x[70:], y[70:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)
    assert model.evaluate(x[:30], y[:30], verbose=0)[0] != pytest.approx(val_loss, rel=1e-6)


def test_validation_split_warns_when_the_slice_holds_one_class(rng):
    x, y = blobs(rng, 100)
    order = np.argsort(y, kind="stable")  # sorted by class: the last 20% are all class 2
    with pytest.warns(UserWarning, match=r"validation_split=0.2 takes the last 20 samples.*"
                                         r"class 2"):
        mlp().fit(x[order], y[order], epochs=1, verbose=0, validation_split=0.2)


def test_validation_data_is_evaluated_each_epoch(rng):
    x, y = blobs(rng, 80)
    x_val, y_val = blobs(rng, 20)
    model = mlp()
    history = model.fit(x, y, epochs=2, verbose=0, validation_data=(x_val, y_val))
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x_val, y_val, verbose=0)[0], rel=1e-6)


def test_initial_epoch_resumes_numbering(rng):
    x, y = blobs(rng, 40)
    model = mlp()
    model.fit(x, y, epochs=3, verbose=0)
    assert model.epochs_done == 3
    history = model.fit(x, y, epochs=5, initial_epoch=model.epochs_done, verbose=0)
    assert history.epoch == [3, 4] and len(history.history["loss"]) == 2
    assert model.epochs_done == 5


def test_stop_training_is_honoured_within_an_epoch(rng):
    x, y = blobs(rng, 64)

    class StopAfterTwoBatches(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if batch == 1:
                self.model.stop_training = True

    stopper = StopAfterTwoBatches()
    history = mlp().fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[stopper])
    assert stopper.batches == 2 and len(history.history["loss"]) == 1


# --- evaluate, predict, *_on_batch ------------------------------------------------------------
def test_evaluate_return_forms_and_no_gradients(rng):
    x, y = blobs(rng, 37)
    model = mlp()
    model.zero_grad()
    loss, accuracy = model.evaluate(x, y, batch_size=8, verbose=0)
    assert all(w.grad is None for w in model.weights)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        {"loss": loss, "accuracy": accuracy})
    logits = model(x).numpy()
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(37), y])
    assert loss == pytest.approx(expected, rel=1e-5)
    assert accuracy == pytest.approx(np.mean(logits.argmax(1) == y))
    model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(loss, rel=1e-6)  # a bare float


def test_evaluate_and_test_on_batch_run_in_inference_mode(rng):
    x, y = blobs(rng, 40)
    nn.manual_seed(0)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(8), layers.BatchNormalization(),
                           layers.Dropout(0.5), layers.Dense(3)])
    model.compile(loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    weights = model.get_weights()
    logits = model.predict(x)
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(40), y])
    assert model.evaluate(x, y, batch_size=16, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert model.test_on_batch(x, y) == pytest.approx(expected, rel=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


def test_predict_returns_numpy_in_inference_mode(rng):
    x, _ = blobs(rng, 37)
    nn.manual_seed(0)
    model = TwoLayerNet()
    model.build((None, 4))
    predictions = model.predict(x, batch_size=8)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (37, 3)
    assert predictions.dtype == np.float32
    np.testing.assert_allclose(predictions, model(x, training=False).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(model.predict(x, batch_size=8), predictions)  # no dropout
    assert all(w.grad is None for w in model.weights)


def test_train_on_batch_steps_once_and_test_on_batch_does_not(rng):
    x, y = blobs(rng, 32)
    model = mlp(learning_rate=0.01)
    before = model.test_on_batch(x, y)
    weights = model.get_weights()
    assert model.test_on_batch(x, y) == pytest.approx(before)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    trained = model.train_on_batch(x, y)
    assert trained == pytest.approx(before, rel=1e-5)  # loss of the forward before the step
    assert model.optimizer.iterations == 1
    after = model.test_on_batch(x, y, return_dict=True)
    assert set(after) == {"loss", "accuracy"} and after["loss"] < before[0]


# --- progress output --------------------------------------------------------------------------
@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_in_a_pipe_is_one_line_per_epoch(verbose, rng, capsys):
    x, y = blobs(rng, 40)
    mlp().fit(x, y, epochs=3, batch_size=8, verbose=verbose, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {epoch}/3 - 4/4 - ")
        assert " - loss: " in line and " - accuracy: " in line and " - val_loss: " in line
        assert "\r" not in line


def test_progress_in_a_terminal_draws_a_bar(rng, capsys, monkeypatch):
    x, y = blobs(rng, 40)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    mlp().fit(x, y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert out.count("\r") >= 2 * 5 and "ETA: " in out and "[" in out
    assert out.count("\n") == 4  # 'Epoch i/2' and the finished bar, per epoch
    assert "5/5 [==============================]" in out


def test_validation_in_fit_draws_no_bar_of_its_own(rng, capsys, monkeypatch):
    x, y = blobs(rng, 40)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    mlp().fit(x, y, epochs=2, batch_size=8, verbose=1, validation_split=0.25)
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 5 and lines[-1] == ""  # 'Epoch i/2' and the finished bar, per epoch
    for line in lines[1:4:2]:
        finished = line.rsplit("\r", 1)[-1]
        assert finished.startswith("4/4 [==============================]")
        assert " - loss: " in finished and " - val_loss: " in finished
        assert "1/1 [" not in line  # no validation batch drawn over the epoch's bar


def test_verbose_zero_prints_nothing(rng, capsys):
    x, y = blobs(rng, 40)
    model = mlp()
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    assert capsys.readouterr().out == ""


# --- reproducibility --------------------------------------------------------------------------
def _trained_weights(seed, x, y):
    model = mlp(seed=seed)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model.get_weights()


def test_manual_seed_makes_fit_repeat(rng):
    x, y = blobs(rng, 64)
    first, second = _trained_weights(0, x, y), _trained_weights(0, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    other = _trained_weights(1, x, y)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


# --- bad input --------------------------------------------------------------------------------
def test_length_mismatch_is_a_clear_error(rng):
    x, y = blobs(rng, 40)
    with pytest.raises(ValueError, match=r"fit: x and y must hold the same number of samples, "
                                         r"got x of shape \(40, 4\) and y of shape \(39,\)"):
        mlp().fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: x and y"):
        mlp().evaluate(x[:5], y, verbose=0)


def test_wrong_feature_shape_is_a_clear_error(rng):
    model = mlp()
    with pytest.raises(ValueError, match=r"Sequential '.*' expects .*4.*got shape \(10, 5\)"):
        model.fit(np.zeros((10, 5), np.float32), np.zeros(10, np.int64), verbose=0)
    with pytest.raises(ValueError, match=r"got shape \(10, 5\)"):
        model.predict(np.zeros((10, 5), np.float32))


def test_fit_needs_compile_and_sane_arguments(rng):
    x, y = blobs(rng, 20)
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    with pytest.raises(RuntimeError, match=r"call compile\(optimizer=..., loss=...\) before fit"):
        model.fit(x, y)
    model = mlp()
    with pytest.raises(ValueError, match=r"validation_split in \[0, 1\), got 1.5"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data as a tuple \(x_val, y_val\)"):
        model.fit(x, y, validation_data=x, verbose=0)
    with pytest.raises(ValueError, match="batch_size to be an integer >= 1, got 0"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2, got 3"):
        model.fit(x, y, verbose=3)


@pytest.mark.parametrize("bad_x, dtype", [
    (lambda x: x.astype(np.complex64) + 1j, "complex64"),
    (lambda x: x.astype(str), "<U"),
    (lambda x: x.astype(object), "object"),
])
def test_x_that_is_not_real_numbers_is_refused_by_every_entry(bad_x, dtype, rng):
    x, y = blobs(rng, 12)
    bad, model = bad_x(x), mlp()
    before = model.get_weights()
    calls = {"fit": lambda: model.fit(bad, y, verbose=0),
             "evaluate": lambda: model.evaluate(bad, y, verbose=0),
             "predict": lambda: model.predict(bad),
             "train_on_batch": lambda: model.train_on_batch(bad, y),
             "test_on_batch": lambda: model.test_on_batch(bad, y)}
    for method, call in calls.items():
        with pytest.raises(ValueError, match=rf"^{method}: x must hold real numbers \(bool, "
                                             rf"integer or float\), got dtype {dtype}"):
            call()
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x_is_reported_when_fit_starts(value, rng):
    x, y = blobs(rng, 40)
    x[17, 2] = x[30, 0] = x[30, 3] = value
    model = mlp()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"^fit: x holds 3 NaN or infinite values, the first in "
                                         r"sample 17 \(x\[17\]\)"):
        model.fit(x, y, verbose=0, validation_split=0.5)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match=r"^fit \(validation_data\): x holds 3 NaN .* sample 17"):
        model.fit(x[:10], y[:10], verbose=0, validation_data=(x, y))


def test_huge_finite_x_whose_sum_overflows_is_not_taken_for_inf(rng):
    x, y = blobs(rng, 16)
    x = x.astype(np.float64)
    x[:, 1] = np.finfo(np.float64).max  # the sum overflows to inf: the full check runs
    history = mlp().fit(x, y, epochs=0, verbose=0)  # checks the data, trains nothing
    assert history.history == {}


class SetWeightsToNaN(nn.callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.model.trainable_weights[0].data[...] = np.nan


def test_a_nan_training_loss_warns_once_naming_epoch_and_batch(rng):
    x, y = blobs(rng, 40)
    model = mlp()
    with pytest.warns(RuntimeWarning) as caught:
        history = model.fit(x, y, epochs=3, batch_size=8, verbose=0,
                            callbacks=[SetWeightsToNaN(epoch=1, batch=3)])
    messages = [str(warning.message) for warning in caught if warning.category is RuntimeWarning]
    assert len(messages) == 1, messages
    assert "fit: the training loss is nan in epoch 2/3, batch 4/5" in messages[0]
    assert caught[0].filename == __file__  # points at the caller's fit
    assert np.isfinite(history.history["loss"][0]) and np.isnan(history.history["loss"][2])
    with pytest.warns(RuntimeWarning, match="epoch 1/1, batch 1/5"):  # once per fit
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
