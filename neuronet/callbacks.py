"""Callbacks: code that ``fit`` runs at fixed points of training, with Keras' hooks.

A callback overrides the ``on_*`` hooks it needs (the others do nothing) and
reads ``self.model``. ``logs`` is a dict of numbers: at a batch's end the
running ``loss`` and metrics of the epoch so far; at an epoch's end the epoch's
``loss``, metrics, ``val_*`` and ``lr``. A callback stops training by setting
``model.stop_training = True``; ``fit`` checks it after every batch and epoch.

Example:
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    >>> model.fit(x, y, epochs=100, validation_split=0.2, callbacks=[stop])
"""
import csv
import math
import os

from neuronet.backend import xp


class Callback:
    """Base class: every hook is a no-op; ``set_model`` gives the model."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        """Keras' older name for ``on_train_batch_begin``, still called by it."""

    def on_batch_end(self, batch, logs=None):
        """Keras' older name for ``on_train_batch_end``, still called by it."""

    def on_train_batch_begin(self, batch, logs=None):
        # As Keras 3: a callback that defines only the older hook is still called.
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """Calls each hook on every callback in order; one object for ``fit`` to talk to."""

    def __init__(self, callbacks=(), model=None, params=None):
        self.callbacks = []
        for callback in callbacks:
            self.append(callback, model, params)

    def append(self, callback, model=None, params=None):
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be Callback instances, got {callback!r}")
        if model is not None:
            callback.set_model(model)
        callback.set_params(dict(params or {}))
        self.callbacks.append(callback)

    def _call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)


class History(Callback):
    """Records every epoch's logs: ``history[key]`` is a list with one value per epoch.

    ``fit`` returns it and sets it as ``model.history``.
    """

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1")


class Monitor:
    """Which way a logged quantity improves, and by how much it must.

    ``mode='auto'`` follows Keras: names with 'acc' (so also 'accuracy') or
    'auc' are maximised, and so are precision, recall and F1 scores (Keras 3
    knows their direction too); everything else (losses, errors) is minimised.
    An improvement beats the reference by more than ``min_delta``.
    """

    def __init__(self, owner, monitor, mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.owner, self.monitor, self.min_delta = owner, monitor, abs(min_delta)
        if mode == "auto":
            name = monitor.lower()
            mode = "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"
        self.mode = mode

    def improved(self, current, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def value(self, logs):
        """The monitored value in ``logs``; a clear error when it was not logged."""
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"{self.owner} monitors {self.monitor!r}, which is not in the logs; "
                             f"available: {sorted(logs)} (val_* needs validation data)")
        return float(logs[self.monitor])


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    It only compares and sets ``model.stop_training``. An epoch improves when it
    beats the best value so far by more than ``min_delta``; ``baseline``, when
    given, must also be beaten for the patience count to restart, so training
    stops after ``patience`` epochs that do not beat it. Epochs before
    ``start_from_epoch`` are not considered. With ``restore_best_weights=True``
    the weights of the best epoch come back when training ends, whether it
    stopped early or ran all its epochs.

    Attributes:
        stopped_epoch: the (0-based) epoch at which training stopped, 0 if it did not.
        best_epoch: the (0-based) epoch with the best monitored value.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.criterion = Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        current = self.criterion.value(logs)
        self.wait += 1
        if self.criterion.improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.criterion.improved(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of every epoch.

    ``filepath`` may hold format fields filled from the epoch (1-based) and the
    logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.npz"``. With
    ``save_best_only=True`` it saves only when ``monitor`` improves (mode as in
    EarlyStopping). It calls ``model.save(path)`` or ``model.save_weights(path)``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto"):
        super().__init__()
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.criterion = Monitor("ModelCheckpoint", monitor, mode)
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = self.criterion.value(logs)
            if not self.criterion.improved(current, self.best):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        self._save(path)

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as missing:
            raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} names {missing}, which "
                             f"is not in the logs; available: {['epoch'] + sorted(logs)}") from None

    def _save(self, path):
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    new_lr = max(lr * factor, min_lr). After a reduction, ``cooldown`` epochs
    pass before stalls count again. An epoch improves when it beats the best
    by more than ``min_delta``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor}")
        self.criterion = Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_counter, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        current = self.criterion.value(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.criterion.improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch):
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        if old_lr <= self.min_lr:
            return
        optimizer.learning_rate = max(old_lr * self.factor, self.min_lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                  f"{optimizer.learning_rate}.")
        self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start: ``lr = schedule(epoch, lr)`` (0-based epoch)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = self.schedule(epoch, float(optimizer.learning_rate))
        if not isinstance(lr, (float, int, xp.floating, xp.integer)) or not math.isfinite(lr):
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, lr) must return a finite "
                             f"number, got {lr!r}")
        optimizer.learning_rate = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")


class CSVLogger(Callback):
    """Write each epoch's logs as one CSV row: ``epoch`` then the log keys, sorted.

    With ``append=True`` rows go after an existing file's (no second header). Each row
    is appended and the file closed again at once, so a crash or a kill loses no
    finished epoch and a fit that raised leaves no file open.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys, self.write_header = None, True

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        if not self.append:
            open(self.filename, "w").close()
        self.keys, self.write_header = None, not has_rows

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.filename, "a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["epoch"] + self.keys,
                                    delimiter=self.separator, restval="NA",
                                    extrasaction="ignore")
            if self.write_header:
                writer.writeheader()
                self.write_header = False
            writer.writerow({"epoch": epoch, **logs})


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite, saying where."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {self.epoch + 1}, batch {batch}: invalid loss {loss}, "
                  f"terminating training")
            self.model.stop_training = True
