"""Keras' training API for models: compile, fit, evaluate, predict, *_on_batch.

``fit`` is one loop: for each epoch, for each mini-batch (indices into the
arrays, so the data set is never copied): forward with ``training=True`` ->
loss -> ``backward()`` -> ``optimizer.step`` -> metrics -> callbacks. The
epoch's logs hold the sample-weighted mean ``loss`` of its batches, the metrics
over all its samples, the same on validation data (``val_*``) and ``lr``.
"""
import math
import warnings

from neuronet import losses, optimizers, targets
from neuronet import metrics as metrics_module
from neuronet.backend import check_real, xp
from neuronet.callbacks import CallbackList, History
from neuronet.data.batching import batches, num_batches
from neuronet.models.progress import ProgressLogger
from neuronet.tensor import no_grad


def _array(data):
    """The array behind a Tensor, list or array."""
    return xp.asarray(getattr(data, "data", data))


def _check_count(method, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < minimum:
        raise ValueError(f"{method} expects {name} to be an integer >= {minimum}, got {value!r}")


def _slices(n, batch_size):
    """Consecutive batches as slices: views of the data, where an index array would copy."""
    return (slice(start, start + batch_size) for start in range(0, n, batch_size))


def _check_finite(x, method):
    """Refuse NaN or inf in x: one such value makes the loss NaN at the first batch that
    holds it, and the optimizer step then makes every weight NaN."""
    if x.dtype.kind != "f":
        return
    with xp.errstate(over="ignore", invalid="ignore"):
        total = x.sum(dtype=xp.float64)  # NaN or inf whenever an element is (or on overflow)
    if math.isfinite(total):
        return
    bad = ~xp.isfinite(x.reshape(len(x), -1))
    count = int(bad.sum())
    if count:
        first = int(xp.argmax(bad.any(axis=1)))
        raise ValueError(f"{method}: x holds {count} NaN or infinite values, the first in sample "
                         f"{first} (x[{first}]); they would make the loss and every weight NaN. "
                         "Drop or replace those samples first (numpy.isfinite(x) finds them)")


def _warn_if_one_class(y, y_val, split):
    """Warn when the validation slice holds one class although the data holds several."""
    val_classes = xp.unique(targets.sample_classes(y_val))
    if len(val_classes) == 1 and len(xp.unique(targets.sample_classes(y))) > 1:
        warnings.warn(
            f"fit: validation_split={split} takes the last {len(y_val)} samples, before any "
            f"shuffling, and they all belong to class {val_classes[0]}: the data looks sorted "
            "by class. Shuffle x and y together before fit (order = rng.permutation(len(x)); "
            "x, y = x[order], y[order]) or pass validation_data.", UserWarning, stacklevel=4)


class Trainer:
    """The training half of ``Model``: it needs ``__call__``, ``trainable_weights`` and
    ``describe`` from the model it is mixed into.

    Attributes:
        optimizer, loss, compiled_metrics: what ``compile`` chose.
        stop_training: set it to True (from a callback) to end ``fit`` after the batch.
        history: the ``History`` of the last ``fit``.
        epochs_done: epochs finished by ``fit`` so far (set before ``on_epoch_end``, so
            a checkpoint saved there can resume with ``initial_epoch=epochs_done``).
    """

    def __init__(self):
        self.optimizer, self.loss, self.compiled_metrics = None, None, []
        self.loss_tracker = metrics_module.Mean("loss")
        self.stop_training = False
        self.history = None
        self.epochs_done = 0

    # --- configuration -------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics reported by fit/evaluate.

        Args:
            optimizer: a name ('adam', 'sgd', 'rmsprop', ...) or an Optimizer.
            loss: a name ('sparse_categorical_crossentropy', 'mse', ...), a Loss or
                a function ``loss(y_true, y_pred) -> scalar Tensor``.
            metrics: names or Metric instances; 'accuracy' / 'acc' become the
                accuracy that fits the loss (see ``metrics.get``).
        """
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.compiled_metrics = [metrics_module.get(m, loss=self.loss) for m in metrics or []]
        names = self.metrics_names
        if len(set(names)) != len(names):
            raise ValueError(f"{self.describe()}.compile: metric names must be unique and "
                             f"differ from 'loss', got {names}")

    @property
    def metrics_names(self):
        """'loss' then each metric's name: the keys of the logs (and of History)."""
        return ["loss"] + [metric.name for metric in self.compiled_metrics]

    def reset_metrics(self):
        for metric in [self.loss_tracker, *self.compiled_metrics]:
            metric.reset_state()

    def _require_compiled(self, method, needs_optimizer=True):
        if self.loss is None or (needs_optimizer and self.optimizer is None):
            raise RuntimeError(f"{self.describe()}: call compile(optimizer=..., loss=...) "
                               f"before {method}()")

    def _checked_data(self, x, y, method):
        """x and y as arrays with as many samples each, x fitting the model's input."""
        x, y = _array(x), _array(y)
        targets.checked(method, y, what="y")  # labels: numbers, not strings or objects
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise ValueError(f"{method}: x and y must hold the same number of samples, got x "
                             f"of shape {x.shape} and y of shape {y.shape}")
        self._check_inputs(x, method)
        return x, y

    def _check_inputs(self, x, method):
        check_real(x, f"{method}: x")
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"{method} needs at least one sample, got x of shape {x.shape}")
        if self.built:
            self.input_spec().check(self, x.shape)

    # --- one step ------------------------------------------------------------
    def _compute_loss(self, y, y_pred):
        loss = self.loss(y, y_pred)
        if loss.size != 1:
            raise ValueError(f"{self.describe()}: the loss must reduce to a scalar, got shape "
                             f"{loss.shape} (use the default reduction)")
        extra = self.losses  # add_loss and regularization penalties: Keras adds them in
        return loss + sum(extra) if extra else loss

    def _train_step(self, x, y):
        """forward (training=True) -> loss -> backward -> optimizer step -> metrics, run
        as the model's plan says (``neuronet.execution``)."""
        with self.execution_plan.running():
            y_pred = self(x, training=True)  # builds a subclassed model's weights
            loss = self._compute_loss(y, y_pred)
            params = self.trainable_weights
            if not params:
                raise ValueError(f"{self.describe()} has no trainable weights: nothing to fit")
            self.optimizer.zero_grad(params)
            loss.backward()
            self.optimizer.step(params)
        self._update_metrics(y, y_pred, loss)

    def _test_step(self, x, y):
        with no_grad():
            y_pred = self(x, training=False)
            loss = self._compute_loss(y, y_pred)
        self._update_metrics(y, y_pred, loss)

    def _update_metrics(self, y, y_pred, loss):
        self.loss_tracker.update_state(loss.item(), weight=len(y))
        for metric in self.compiled_metrics:
            metric.update_state(y, y_pred.data)

    def _logs(self):
        """The running loss and metrics since the last ``reset_metrics``."""
        logs = {"loss": self.loss_tracker.result()}
        for metric in self.compiled_metrics:
            logs[metric.name] = metric.result()
        return logs

    @staticmethod
    def _returned(logs, return_dict):
        """Keras' return value: the dict, the loss alone, or [loss, *metrics]."""
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # --- the loops -------------------------------------------------------------
    def fit(self, x, y, batch_size=32, epochs=1, verbose=1, validation_split=0.0,
            validation_data=None, shuffle=True, callbacks=None, initial_epoch=0):
        """Train for ``epochs`` passes over (x, y); returns the ``History``.

        Args:
            x, y: arrays (or Tensors) with the same number of samples.
            batch_size: samples per gradient step (the last batch may be smaller).
            epochs: index of the last epoch (training runs from ``initial_epoch``).
            verbose: 0 silent, 1 progress bar (one line per epoch when stdout is not
                a terminal), 2 one line per epoch.
            validation_split: fraction of the data held out for validation. As in
                Keras it is the LAST fraction of x and y, taken before shuffling:
                shuffle data sorted by class first (a warning says when the slice
                holds only one class). Ignored when ``validation_data`` is given.
            validation_data: (x_val, y_val) evaluated at the end of each epoch.
            shuffle: draw a new order of the training samples every epoch (from
                ``neuronet.random.generator()``: ``manual_seed`` makes it repeat).
            callbacks: Callback instances, called in order.
            initial_epoch: the epoch to start at (to resume training).

        The logs of each epoch: 'loss', each metric, 'val_loss' and 'val_<metric>'
        with validation data, and 'lr', the learning rate the epoch used. Validation
        runs the callbacks' ``on_test_*`` hooks (as Keras does), before ``on_epoch_end``.

        Bad data is refused before the first epoch: x (and x_val) must hold real numbers
        (complex, text or object arrays raise ValueError) and no NaN or inf (ValueError
        naming how many values and the first sample index). A training loss that turns
        NaN or inf later gives one RuntimeWarning per fit, naming the epoch and batch
        (1-based); ``callbacks.TerminateOnNaN`` also stops training there.

        An exception in a step or a callback propagates as it is; ``on_train_end`` is
        not called then (as in Keras), and what the callbacks wrote so far stays whole.
        """
        self._require_compiled("fit")
        _check_count("fit", "batch_size", batch_size, 1)
        _check_count("fit", "epochs", epochs, 0)
        x, y = self._checked_data(x, y, "fit")
        _check_finite(x, "fit")
        x, y, validation = self._validation_split(x, y, validation_split, validation_data)
        steps = num_batches(len(x), batch_size)
        self.history = history = History()
        callbacks = self._callback_list(callbacks, history, verbose, steps, epochs)
        self.stop_training, logs, loss_finite = False, None, True
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            for step, index in enumerate(batches(len(x), batch_size, shuffle=shuffle)):
                callbacks.on_train_batch_begin(step)
                self._train_step(x[index], y[index])
                batch_logs = self._logs()
                if loss_finite:
                    loss_finite = self._loss_is_finite(batch_logs["loss"], epoch, epochs,
                                                       step, steps)
                callbacks.on_train_batch_end(step, batch_logs)
                if self.stop_training:
                    break
            logs = self._epoch_logs(validation, batch_size, callbacks)
            self.epochs_done = epoch + 1
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end(logs)
        return history

    def _validation_split(self, x, y, split, validation_data):
        """(x_train, y_train, (x_val, y_val) or None); the split is views, not copies."""
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit expects validation_data as a tuple (x_val, y_val), got "
                                 f"{type(validation_data).__name__}")
            x_val, y_val = self._checked_data(*validation_data, "fit (validation_data)")
            _check_finite(x_val, "fit (validation_data)")
            return x, y, (x_val, y_val)
        if not split:
            return x, y, None
        if not 0.0 < split < 1.0:
            raise ValueError(f"fit expects validation_split in [0, 1), got {split!r}")
        split_at = int(len(x) * (1.0 - split))
        if split_at in (0, len(x)):
            raise ValueError(f"fit: validation_split={split} leaves {split_at} of {len(x)} "
                             "samples for training: too few samples to split")
        _warn_if_one_class(y, y[split_at:], split)
        return x[:split_at], y[:split_at], (x[split_at:], y[split_at:])

    def _callback_list(self, callbacks, history, verbose, steps, epochs=None):
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        chain = [ProgressLogger(steps, verbose, epochs), *(callbacks or []), history]
        params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        return CallbackList([c for c in chain if c is not None], model=self, params=params)

    def _loss_is_finite(self, loss, epoch, epochs, step, steps):
        """Warn when the running loss of the epoch turns NaN or inf: it does so at the
        first such batch, and ``fit`` calls this until it has warned once."""
        if math.isfinite(loss):
            return True
        warnings.warn(f"{self.describe()}.fit: the training loss is {loss} in epoch "
                      f"{epoch + 1}/{epochs}, batch {step + 1}/{steps}; the weights are "
                      "probably NaN from here on. Lower the learning rate or check the data "
                      "and labels; callbacks.TerminateOnNaN() stops training when it happens",
                      RuntimeWarning, stacklevel=3)
        return False

    def _epoch_logs(self, validation, batch_size, callbacks):
        """The epoch's logs; validation runs the test hooks of ``fit``'s own callbacks."""
        logs = self._logs()
        if validation is not None:
            val_logs = self._test_loop(*validation, batch_size, callbacks)
            logs.update({f"val_{key}": value for key, value in val_logs.items()})
        logs["lr"] = self.optimizer.learning_rate
        return logs

    def _test_loop(self, x, y, batch_size, callbacks):
        self.reset_metrics()
        callbacks.on_test_begin()
        for step, index in enumerate(_slices(len(x), batch_size)):
            callbacks.on_test_batch_begin(step)
            self._test_step(x[index], y[index])
            callbacks.on_test_batch_end(step, self._logs())
        logs = self._logs()
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x, y, batch_size=32, verbose=1, return_dict=False, callbacks=None):
        """The loss and metrics on (x, y), in inference mode and without gradients.

        Returns the loss alone when no metrics were compiled, else
        [loss, *metrics] (or a dict with ``return_dict=True``).
        """
        self._require_compiled("evaluate", needs_optimizer=False)
        _check_count("evaluate", "batch_size", batch_size, 1)
        x, y = self._checked_data(x, y, "evaluate")
        steps = num_batches(len(x), batch_size)
        callbacks = self._callback_list(callbacks, None, verbose, steps)
        return self._returned(self._test_loop(x, y, batch_size, callbacks), return_dict)

    def predict(self, x, batch_size=32, verbose=0, callbacks=None):
        """The model's outputs on x as a NumPy array: inference mode, no gradients kept."""
        _check_count("predict", "batch_size", batch_size, 1)
        x = _array(x)
        self._check_inputs(x, "predict")
        steps = num_batches(len(x), batch_size)
        callbacks = self._callback_list(callbacks, None, verbose, steps)
        callbacks.on_predict_begin()
        outputs = []
        with no_grad():
            for step, index in enumerate(_slices(len(x), batch_size)):
                callbacks.on_predict_batch_begin(step)
                outputs.append(self(x[index], training=False).numpy())
                callbacks.on_predict_batch_end(step)
        callbacks.on_predict_end()
        return xp.concatenate(outputs)

    def train_on_batch(self, x, y, return_dict=False):
        """One gradient step on (x, y); returns its loss (and metrics) as ``evaluate`` does."""
        self._require_compiled("train_on_batch")
        x, y = self._checked_data(x, y, "train_on_batch")
        self.reset_metrics()
        self._train_step(x, y)
        return self._returned(self._logs(), return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        """The loss (and metrics) on one batch, in inference mode and without gradients."""
        self._require_compiled("test_on_batch", needs_optimizer=False)
        x, y = self._checked_data(x, y, "test_on_batch")
        self.reset_metrics()
        self._test_step(x, y)
        return self._returned(self._logs(), return_dict)
