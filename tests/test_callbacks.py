import csv
import math
import os
import pathlib

import numpy as np
import pytest

import neuronet as nn
from neuronet import callbacks, layers, optimizers


class StubModel:
    """What callbacks use of a model: weights, an optimizer, stop_training, save."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = optimizers.SGD(learning_rate=learning_rate)
        self.weights = [np.zeros(2)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, arrays):
        self.weights = [np.array(a) for a in arrays]

    def save(self, path):
        self.saved.append(("save", path))

    def save_weights(self, path):
        self.saved.append(("save_weights", path))


def drive(callback, values, key="val_loss", model=None):
    """Run ``callback`` over epochs whose logs hold ``key: values[epoch]``; epoch e sets the
    weights to e. Returns the model, the last epoch run and the lr seen at each epoch's end."""
    model = model or StubModel()
    hooks = callbacks.CallbackList([callback], model=model)
    hooks.on_train_begin()
    lrs = []
    for epoch, value in enumerate(values):
        hooks.on_epoch_begin(epoch)
        model.weights = [np.full(2, float(epoch))]
        hooks.on_epoch_end(epoch, {key: value})
        lrs.append(model.optimizer.learning_rate)
        if model.stop_training:
            break
    hooks.on_train_end()
    return model, epoch, lrs


def tiny_model(seed=0):
    nn.manual_seed(seed)
    model = nn.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def tiny_data(rng, n=24):
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


class Script(callbacks.Callback):
    """Overwrites logs[key] with scripted values, to steer the callbacks after it."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Recorder(callbacks.Callback):
    """Records the hooks fit calls and the weights at each epoch's end."""

    def __init__(self):
        super().__init__()
        self.calls, self.epoch_weights = [], []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(f"batch_begin {batch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")
        self.epoch_weights.append(self.model.get_weights())

    def on_train_end(self, logs=None):
        self.calls.append("train_end")

    def on_test_begin(self, logs=None):
        self.calls.append("test_begin")

    def on_test_batch_begin(self, batch, logs=None):
        self.calls.append(f"test_batch_begin {batch}")

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(f"test_batch_end {batch} {sorted(logs)}")

    def on_test_end(self, logs=None):
        self.calls.append(f"test_end {sorted(logs)}")


# --- EarlyStopping ------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_restores_best():
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model, last, _ = drive(stop, [1.0, 0.8, 0.9, 0.85, 0.7])
    assert last == 3 and stop.stopped_epoch == 3 and model.stop_training
    assert stop.best_epoch == 1
    np.testing.assert_array_equal(model.weights[0], np.full(2, 1.0))


def test_early_stopping_restores_best_also_without_stopping():
    stop = callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    model, last, _ = drive(stop, [1.0, 0.5, 0.7])
    assert last == 2 and stop.stopped_epoch == 0 and not model.stop_training
    np.testing.assert_array_equal(model.weights[0], np.full(2, 1.0))


def test_early_stopping_without_restore_keeps_last_weights():
    model, _, _ = drive(callbacks.EarlyStopping(patience=1), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(model.weights[0], np.full(2, 1.0))  # stopped at epoch 1


@pytest.mark.parametrize("values, kwargs, stop_epoch", [
    ([0.5, 0.6, 0.55, 0.58, 0.9], {"monitor": "val_accuracy", "patience": 2}, 3),  # auto: max
    ([1.0, 0.95, 0.9, 0.85], {"min_delta": 0.1, "patience": 2}, 2),
    ([0.9, 0.8, 0.7, 0.5], {"baseline": 0.6, "patience": 2}, 1),
    ([1.0, 2.0, 3.0, 4.0, 5.0], {"start_from_epoch": 2, "patience": 1}, 3),
    ([3.0, 2.0, 2.5, 1.0], {"mode": "max", "patience": 1}, 1),
])
def test_early_stopping_rules(values, kwargs, stop_epoch):
    key = kwargs.get("monitor", "val_loss")
    stop = callbacks.EarlyStopping(**kwargs)
    _, last, _ = drive(stop, values, key=key)
    assert (last, stop.stopped_epoch) == (stop_epoch, stop_epoch)


def test_missing_monitor_names_the_available_logs():
    with pytest.raises(ValueError, match=r"EarlyStopping monitors 'val_loss'.*\['loss'\]"):
        drive(callbacks.EarlyStopping(), [1.0], key="loss")


def test_early_stopping_in_fit_restores_weights_of_best_epoch(rng):
    model, (x, y) = tiny_model(), tiny_data(rng)
    recorder = Recorder()
    scripted = Script("val_loss", [1.0, 0.4, 0.6, 0.7, 0.3, 0.2])
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, batch_size=8, verbose=0, validation_data=(x, y),
                        callbacks=[scripted, recorder, stop])
    assert len(history.history["loss"]) == 4 == len(recorder.epoch_weights)
    for restored, best in zip(model.get_weights(), recorder.epoch_weights[1]):
        np.testing.assert_array_equal(restored, best)


# --- ReduceLROnPlateau, LearningRateScheduler -----------------------------------------
@pytest.mark.parametrize("kwargs, expected", [
    ({}, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
    ({"min_lr": 0.04}, [0.1, 0.1, 0.05, 0.05, 0.04, 0.04]),
    ({"cooldown": 2}, [0.1, 0.1, 0.05, 0.05, 0.05, 0.025]),
])
def test_reduce_lr_on_plateau_after_patience(kwargs, expected):
    reduce = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, **kwargs)
    _, _, lrs = drive(reduce, [1.0] * 6)
    assert lrs == pytest.approx(expected)


def test_reduce_lr_keeps_lr_while_improving():
    _, _, lrs = drive(callbacks.ReduceLROnPlateau(patience=1), [5.0, 4.0, 3.0, 2.0])
    assert lrs == [0.1] * 4


def test_reduce_lr_rejects_factor_of_one():
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\), got 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)


def test_scheduler_sets_the_lr_each_epoch(rng):
    model, (x, y) = tiny_model(), tiny_data(rng)

    class LrDuringBatches(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_begin(self, batch, logs=None):
            self.seen.append(self.model.optimizer.learning_rate)

    spy = LrDuringBatches()
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.2 / (epoch + 1))
    history = model.fit(x, y, epochs=3, batch_size=12, verbose=0, callbacks=[schedule, spy])
    assert history.history["lr"] == pytest.approx([0.2, 0.1, 0.2 / 3])
    assert spy.seen == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.2 / 3, 0.2 / 3])


def test_scheduler_rejects_a_non_number():
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: None)
    with pytest.raises(ValueError, match=r"schedule\(0, lr\) must return a finite number"):
        drive(scheduler, [1.0])


# --- ModelCheckpoint -----------------------------------------------------------------------
def test_checkpoint_formats_paths_and_saves_best_only(tmp_path):
    path = str(tmp_path / "m-{epoch:02d}-{val_loss:.2f}.ckpt")
    checkpoint = callbacks.ModelCheckpoint(path, save_best_only=True)
    model, _, _ = drive(checkpoint, [0.5, 0.7, 0.3])
    assert model.saved == [("save", str(tmp_path / "m-01-0.50.ckpt")),
                           ("save", str(tmp_path / "m-03-0.30.ckpt"))]


def test_checkpoint_every_epoch_weights_only(tmp_path):
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "w-{epoch}", save_weights_only=True)
    model, _, _ = drive(checkpoint, [0.5, 0.7])
    assert model.saved == [("save_weights", str(tmp_path / "w-1")),
                           ("save_weights", str(tmp_path / "w-2"))]


def test_checkpoint_with_accuracy_keeps_the_highest(tmp_path):
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "{epoch}", monitor="val_accuracy",
                                           save_best_only=True)
    model, _, _ = drive(checkpoint, [0.5, 0.4, 0.8], key="val_accuracy")
    assert [path for _, path in model.saved] == [str(tmp_path / "1"), str(tmp_path / "3")]


def test_checkpoint_unknown_metric_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"names 'val_acc'.*available: \['epoch', 'val_loss'\]"):
        drive(callbacks.ModelCheckpoint(tmp_path / "{val_acc:.2f}"), [0.5])
    with pytest.raises(ValueError, match=r"ModelCheckpoint monitors 'val_auc'.*\['val_loss'\]"):
        drive(callbacks.ModelCheckpoint(tmp_path / "x", monitor="val_auc", save_best_only=True),
              [0.5])


def test_checkpoint_calls_the_models_save_in_fit(rng, tmp_path, monkeypatch):
    model, (x, y) = tiny_model(), tiny_data(rng)
    saved = []
    monkeypatch.setattr(model, "save", saved.append, raising=False)
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "e{epoch}-{loss:.3f}", monitor="loss")
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    losses = history.history["loss"]
    assert saved == [str(tmp_path / f"e{e + 1}-{losses[e]:.3f}") for e in range(2)]


# --- CSVLogger, TerminateOnNaN ---------------------------------------------------------------
def _read_csv(path, separator=","):
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=separator))


def test_csv_logger_writes_one_row_per_epoch(rng, tmp_path):
    model, (x, y) = tiny_model(), tiny_data(rng)
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, verbose=0, validation_data=tiny_data(rng, 8),
                        callbacks=[callbacks.CSVLogger(path, separator=";")])
    header, *rows = _read_csv(path, ";")
    keys = sorted(history.history)
    assert header == ["epoch"] + keys
    assert keys == ["accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert [int(row[0]) for row in rows] == [0, 1, 2]
    for column, key in enumerate(keys, start=1):
        assert [float(row[column]) for row in rows] == pytest.approx(history.history[key])


def test_csv_logger_appends_without_a_second_header(rng, tmp_path):
    model, (x, y) = tiny_model(), tiny_data(rng)
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    model.fit(x, y, epochs=3, initial_epoch=2, verbose=0,
              callbacks=[callbacks.CSVLogger(path, append=True)])
    header, *rows = _read_csv(path)
    assert header[0] == "epoch" and [row[0] for row in rows] == ["0", "1", "2"]
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    assert len(_read_csv(path)) == 2  # append=False starts a new file


class PoisonWeights(callbacks.Callback):
    """Sets the first weight to NaN before batch ``batch`` of the first epoch."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.batch and not self.model.epochs_done:
            self.model.trainable_weights[0].data[...] = np.nan


def test_terminate_on_nan_stops_and_names_epoch_and_batch(rng, capsys):
    model, (x, y) = tiny_model(), tiny_data(rng)
    recorder = Recorder()
    # NaN in x is refused when fit starts, so the NaN comes from the weights at batch 2.
    with pytest.warns(RuntimeWarning, match="epoch 1/3, batch 3/6"):
        history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0,
                            callbacks=[PoisonWeights(2), callbacks.TerminateOnNaN(), recorder])
    assert "Epoch 1, batch 2: invalid loss nan" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert [c for c in recorder.calls if c.startswith("batch_begin")] == [
        "batch_begin 0", "batch_begin 1", "batch_begin 2"]


class Crash(callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.error = epoch, RuntimeError(f"crash in epoch {epoch + 1}")

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error


def test_a_crash_in_fit_loses_nothing_already_reported(rng, tmp_path):
    model, (x, y) = tiny_model(), tiny_data(rng)
    csv_path, checkpoint = tmp_path / "log.csv", tmp_path / "model.safetensors"
    crash, recorder = Crash(epoch=2), Recorder()
    run = [callbacks.CSVLogger(csv_path), callbacks.ModelCheckpoint(checkpoint), crash, recorder]
    with pytest.raises(RuntimeError) as raised:
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=run)
    assert raised.value is crash.error  # the same object, not a wrapper
    assert raised.traceback[-1].name == "on_epoch_begin"  # raised where it was raised
    assert "train_end" not in recorder.calls  # as in Keras
    header, *rows = _read_csv(csv_path)
    assert [row[0] for row in rows] == ["0", "1"] and all(len(r) == len(header) for r in rows)
    restored = nn.models.load_model(checkpoint)
    assert restored.epochs_done == 2
    assert all(np.array_equal(a, b) for a, b in zip(restored.get_weights(), model.get_weights()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv", "model.safetensors"]


def _open_paths():
    """The files this process holds open (Linux: /proc/self/fd)."""
    fds = pathlib.Path("/proc/self/fd")
    return {os.path.realpath(fd) for fd in fds.iterdir() if fd.exists()}


def test_a_fit_that_raised_leaves_no_csv_file_open_and_the_logger_reusable(rng, tmp_path):
    model, (x, y) = tiny_model(), tiny_data(rng)
    path = tmp_path / "log.csv"
    logger = callbacks.CSVLogger(path)
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[logger, Crash(epoch=1)])
    assert os.path.realpath(path) not in _open_paths()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[logger])
    assert [row[0] for row in _read_csv(path)[1:]] == ["0", "1"]


def test_a_crash_in_a_step_propagates_unchanged(rng, monkeypatch):
    model, (x, y) = tiny_model(), tiny_data(rng)
    error = FloatingPointError("step 3")
    steps = []

    def failing_step(x, y):
        steps.append(len(x))
        if len(steps) == 3:
            raise error

    monkeypatch.setattr(model, "_train_step", failing_step)
    recorder = Recorder()
    with pytest.raises(FloatingPointError) as raised:
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[recorder])
    assert raised.value is error and raised.traceback[-1].name == "failing_step"
    assert recorder.calls[-1] == "batch_begin 2" and "train_end" not in recorder.calls


def test_terminate_on_nan_ignores_finite_losses():
    model = StubModel()
    terminate = callbacks.TerminateOnNaN()
    terminate.set_model(model)
    terminate.on_train_batch_end(0, {"loss": 1.5})
    assert not model.stop_training
    terminate.on_train_batch_end(1, {"loss": math.inf})
    assert model.stop_training


# --- hooks, History, modes ---------------------------------------------------------------------
def test_fit_calls_the_hooks_in_order(rng):
    model, (x, y) = tiny_model(), tiny_data(rng, 10)
    recorder = Recorder()
    model.fit(x, y, epochs=2, batch_size=6, verbose=0, callbacks=[recorder])
    batch_keys = "['accuracy', 'loss']"
    one_epoch = ["batch_begin 0", f"batch_end 0 {batch_keys}", "batch_begin 1",
                 f"batch_end 1 {batch_keys}"]
    assert recorder.calls == (["train_begin", "epoch_begin 0", *one_epoch, "epoch_end 0",
                               "epoch_begin 1", *one_epoch, "epoch_end 1", "train_end"])
    assert recorder.params == {"epochs": 2, "steps": 2, "verbose": 0}
    assert recorder.model is model


def test_validation_in_fit_calls_the_test_hooks_before_epoch_end(rng):
    model, (x, y) = tiny_model(), tiny_data(rng, 10)
    recorder = Recorder()
    history = model.fit(x, y, epochs=2, batch_size=6, verbose=0, callbacks=[recorder],
                        validation_data=tiny_data(rng, 7))
    keys = "['accuracy', 'loss']"
    train = ["batch_begin 0", f"batch_end 0 {keys}", "batch_begin 1", f"batch_end 1 {keys}"]
    test = ["test_begin", "test_batch_begin 0", f"test_batch_end 0 {keys}",
            "test_batch_begin 1", f"test_batch_end 1 {keys}", f"test_end {keys}"]
    assert recorder.calls == (["train_begin", "epoch_begin 0", *train, *test, "epoch_end 0",
                               "epoch_begin 1", *train, *test, "epoch_end 1", "train_end"])
    assert history.epoch == [0, 1]  # History records epochs, not validation passes
    assert all(len(values) == 2 for values in history.history.values())
    evaluated = Recorder()
    model.evaluate(x, y, batch_size=6, verbose=0, callbacks=[evaluated])
    assert evaluated.calls == test


def test_history_collects_epoch_logs():
    history = callbacks.History()
    history.set_model(StubModel())
    history.on_epoch_end(0, {"loss": 2.0, "acc": 0.5})
    history.on_epoch_end(1, {"loss": 1.0, "acc": 0.75})
    assert history.history == {"loss": [2.0, 1.0], "acc": [0.5, 0.75]}
    assert history.epoch == [0, 1] and history.model.history is history


@pytest.mark.parametrize("name, mode", [("val_loss", "min"), ("val_accuracy", "max"),
                                        ("acc", "max"), ("val_auc", "max"), ("mae", "min"),
                                        ("val_f1_score", "max"), ("val_precision", "max")])
def test_auto_mode(name, mode):
    assert callbacks.Monitor("EarlyStopping", name).mode == mode


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match="callbacks must be Callback instances"):
        callbacks.CallbackList([lambda logs: None])


class OldStyleBatches(callbacks.Callback):
    """A Keras 2 style callback: it defines only on_batch_begin / on_batch_end."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(f"begin {batch}")

    def on_batch_end(self, batch, logs=None):
        self.calls.append(f"end {batch} loss={logs['loss']:.6f}")


def test_on_batch_hooks_are_called_as_aliases_of_the_train_batch_hooks(rng):
    model, (x, y) = tiny_model(), tiny_data(rng, 10)
    old_style, recorder = OldStyleBatches(), Recorder()

    class BatchLosses(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            old_style.calls.append(f"reference {batch} loss={logs['loss']:.6f}")

    model.fit(x, y, epochs=2, batch_size=6, verbose=0,
              callbacks=[old_style, BatchLosses(), recorder])
    ends = [call.split(" ", 1)[1] for call in old_style.calls if not call.startswith("begin")]
    assert ends[0::2] == ends[1::2]  # on_batch_end saw the batch and logs of the new hook
    assert [call for call in old_style.calls if call.startswith("begin")] == (
        ["begin 0", "begin 1"] * 2)
    assert len(ends) == 8
    # A callback that overrides the new hooks is called once per batch, not twice.
    assert sum(call.startswith("batch_end") for call in recorder.calls) == 4
