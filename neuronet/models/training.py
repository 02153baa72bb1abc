"""Keras' training API for models: compile, fit, evaluate, predict, *_on_batch.

``fit`` is one loop: for each epoch, for each mini-batch (indices into the
arrays, so the data set is never copied, or the batches of a PyDataset or a
generator: ``neuronet.data.adapters``): forward with ``training=True`` ->
loss -> ``backward()`` -> ``optimizer.step`` -> metrics -> callbacks. The
epoch's logs hold the sample-weighted mean ``loss`` of its batches, the metrics
over all its samples, the same on validation data (``val_*``) and ``lr``. With
several outputs the loss is the weighted sum of theirs (``models.compiled``).
"""
import math
import warnings

from neuronet import optimizers, targets
from neuronet import metrics as metrics_module
from neuronet.backend import check_real, xp
from neuronet.callbacks import CallbackList, History
from neuronet.data import adapters
from neuronet.models.compiled import Compiled, resolve_loss, unique_names
from neuronet.models.progress import ProgressLogger
from neuronet.tensor import no_grad


def _check_count(method, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < minimum:
        raise ValueError(f"{method} expects {name} to be an integer >= {minimum}, got {value!r}")


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
        optimizer, loss, compiled_metrics: what ``compile`` chose (the metrics of every
            output, once the first batch has shown the outputs).
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
        self._compiled = None

    # --- configuration -------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None):
        """Choose the optimizer, the loss and the metrics reported by fit/evaluate.

        Args:
            optimizer: a name ('adam', 'sgd', 'rmsprop', ...) or an Optimizer.
            loss: a name ('sparse_categorical_crossentropy', 'mse', ...), a Loss or a
                function ``loss(y_true, y_pred)`` giving a scalar or one value per sample
                (averaged, as Keras does); for a model with several outputs one for all,
                a list with one per output or a dict from output names.
            metrics: names or Metric instances; 'accuracy' / 'acc' become the
                accuracy that fits the loss (see ``metrics.get``). Several outputs: a
                list with one entry (a metric or a list) per output, or a dict.
            loss_weights: with several outputs, the training loss is
                sum_k loss_weights[k] * loss_k (a list or a dict; 1 where not given).
            weighted_metrics: as ``metrics``, but weighted by ``sample_weight`` /
                ``class_weight``.

        See ``neuronet.models.compiled`` for the names the logs give each output.
        """
        self.optimizer = optimizers.get(optimizer)
        self.loss = resolve_loss(loss)
        self._compiled = Compiled(self.loss, loss_weights, metrics, weighted_metrics,
                                  loss_spec=loss)
        # One output until the first batch shows more: its metrics exist already.
        flat = isinstance(metrics, (list, tuple)) and not any(
            isinstance(m, (list, tuple, dict)) for m in metrics)
        single_loss = not isinstance(self.loss, (list, tuple, dict)) or len(self.loss) == 1
        self.compiled_metrics = [metrics_module.get(m, loss=self.loss) for m in metrics] if (
            flat and single_loss and len(getattr(self, "output_names", None) or [0]) == 1) else []

    @property
    def metrics_names(self):
        """'loss', each output's loss (with several), then each metric's name: the keys
        of the logs (and of History)."""
        if not self._built_compiled():
            return unique_names(["loss"] + [metric.name for metric in self.compiled_metrics])
        return ["loss"] + [name for name, _ in self._compiled.named_values()]

    def reset_metrics(self):
        extra = self._compiled.trackers() if self._built_compiled() else []
        for metric in [self.loss_tracker, *extra, *self.compiled_metrics]:
            metric.reset_state()

    def _built_compiled(self):
        return self._compiled is not None and self._compiled.outputs is not None

    def _require_compiled(self, method, needs_optimizer=True):
        if self.loss is None or (needs_optimizer and self.optimizer is None):
            raise RuntimeError(f"{self.describe()}: call compile(optimizer=..., loss=...) "
                               f"before {method}()")

    def _checked_data(self, x, y, method, sample_weight=None):
        """x, y (and sample_weight) as arrays, or lists/dicts of arrays, with as many
        samples each, x fitting the model's input."""
        x, y = adapters.as_arrays(x), adapters.as_arrays(y)
        sample_weight = adapters.as_arrays(sample_weight)
        if y is None:
            raise ValueError(f"{method} needs targets y (or x that gives (x, y) batches)")
        for leaf in adapters.leaves(y):
            targets.checked(method, leaf, what="y")  # labels: numbers, not strings or objects
        parts = adapters.leaves(x) + adapters.leaves(y) + adapters.leaves(sample_weight)
        if any(leaf.ndim == 0 for leaf in parts) or len({len(leaf) for leaf in parts}) != 1:
            raise ValueError(f"{method}: x and y must hold the same number of samples, got x "
                             f"of shape {adapters.describe_shapes(x)} and y of shape "
                             f"{adapters.describe_shapes(y)}" + (
                                 "" if sample_weight is None else " and sample_weight of "
                                 f"shape {adapters.describe_shapes(sample_weight)}"))
        self._check_inputs(x, method)
        return x, y, sample_weight

    def _check_inputs(self, x, method):
        for leaf in adapters.leaves(x):
            check_real(leaf, f"{method}: x")
            if leaf.ndim == 0 or len(leaf) == 0:
                raise ValueError(f"{method} needs at least one sample, got x of shape "
                                 f"{leaf.shape}")
        if self.built and not adapters.is_structure(x):
            self.input_spec().check(self, x.shape)

    # --- one step ------------------------------------------------------------
    def _compute_loss(self, y, y_pred, sample_weight=None):
        """The training loss: sum_k loss_weight_k * loss_k over the outputs (one output:
        its loss), each weighted by ``sample_weight`` (Keras: sum_i w_i loss_i / N)."""
        if not self._built_compiled():
            self._compiled.build(y_pred, getattr(self, "output_names", None), self.describe())
            self.compiled_metrics = self._compiled.all_metrics()
        loss = self._compiled.compute_loss(y, y_pred, sample_weight)
        if loss.size != 1:
            raise ValueError(f"{self.describe()}: the loss must reduce to a scalar, got shape "
                             f"{loss.shape} (use the default reduction)")
        extra = self.losses  # add_loss and regularization penalties: Keras adds them in
        return loss + sum(extra) if extra else loss

    def _train_step(self, x, y, sample_weight=None):
        """forward (training=True) -> loss -> backward -> optimizer step -> metrics, run
        as the model's plan says (``neuronet.execution``)."""
        with self.execution_plan.running():
            y_pred = self(x, training=True)  # builds a subclassed model's weights
            loss = self._compute_loss(y, y_pred, sample_weight)
            params = self.trainable_weights
            if not params:
                raise ValueError(f"{self.describe()} has no trainable weights: nothing to fit")
            self.optimizer.zero_grad(params)
            loss.backward()
            self.optimizer.step(params)
        self._update_metrics(y, y_pred, loss, sample_weight)

    def _test_step(self, x, y, sample_weight=None):
        with no_grad():
            y_pred = self(x, training=False)
            loss = self._compute_loss(y, y_pred, sample_weight)
        self._update_metrics(y, y_pred, loss, sample_weight)

    def _update_metrics(self, y, y_pred, loss, sample_weight=None):
        batch = adapters.leaves(y_pred if adapters.is_structure(y_pred) else [y_pred])[0]
        self.loss_tracker.update_state(loss.item(), weight=batch.shape[0])
        self._compiled.update_metrics(y, y_pred, sample_weight)

    def _logs(self):
        """The running loss and metrics since the last ``reset_metrics``."""
        logs = {"loss": self.loss_tracker.result()}
        if self._built_compiled():
            for name, metric in self._compiled.named_values():
                logs[name] = metric.result()
        return logs

    @staticmethod
    def _returned(logs, return_dict):
        """Keras' return value: the dict, the loss alone, or [loss, *metrics]."""
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # --- the loops -------------------------------------------------------------
    def fit(self, x, y=None, batch_size=None, epochs=1, verbose=1, validation_split=0.0,
            validation_data=None, shuffle=True, callbacks=None, initial_epoch=0,
            class_weight=None, sample_weight=None, steps_per_epoch=None,
            validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the ``History``.

        Args:
            x, y: arrays (or Tensors) with the same number of samples; lists or dicts of
                them for several inputs / outputs (dict keys name them). Or x alone as a
                batch source: a PyDataset (``__len__``, ``__getitem__(i)`` -> (x, y) or
                (x, y, sample_weight), ``on_epoch_end()``), a generator or any iterable
                of such batches.
            batch_size: samples per gradient step with arrays (default 32; the last
                batch may be smaller); a batch source makes its own batches.
            epochs: index of the last epoch (training runs from ``initial_epoch``).
            verbose: 0 silent, 1 progress bar (one line per epoch when stdout is not
                a terminal), 2 one line per epoch.
            validation_split: fraction of the data held out for validation. As in
                Keras it is the LAST fraction of x and y, taken before shuffling:
                shuffle data sorted by class first (a warning says when the slice
                holds only one class). Ignored when ``validation_data`` is given.
            validation_data: (x_val, y_val) or (x_val, y_val, sample_weight_val), or a
                batch source; evaluated at the end of every ``validation_freq``-th epoch
                (an int, or a list of 1-based epochs), on ``validation_steps`` batches
                when given (a generator keeps its place from one validation to the next).
            shuffle: draw a new order of the training samples every epoch (from
                ``neuronet.random.generator()``: ``manual_seed`` makes it repeat); for a
                PyDataset, a new order of its batches (Keras 3).
            callbacks: Callback instances, called in order.
            initial_epoch: the epoch to start at (to resume training).
            class_weight: {class: weight}; each sample is weighted by its label's weight
                (1 for a class not listed; Keras' ``class_weight_to_sample_weights``).
                One output only, and not together with sample_weight.
            sample_weight: one weight per sample; the loss is sum_i w_i loss_i / N.
            steps_per_epoch: batches per epoch; a generator keeps its place across
                epochs. Without it an epoch is one pass over the data (of a generator:
                until it ends). A generator that runs out warns and ends training.

        The logs of each epoch: 'loss', each output's loss as '<output>_loss' with several
        outputs, each metric, 'val_*' with validation data, and 'lr', the learning rate
        the epoch used. Validation runs the callbacks' ``on_test_*`` hooks (as Keras
        does), before ``on_epoch_end``.

        Bad data is refused before the first epoch: x (and x_val) must hold real numbers
        (complex, text or object arrays raise ValueError) and no NaN or inf (ValueError
        naming how many values and the first sample index). A training loss that turns
        NaN or inf later gives one RuntimeWarning per fit, naming the epoch and batch
        (1-based); ``callbacks.TerminateOnNaN`` also stops training there.

        An exception in a step or a callback propagates as it is; ``on_train_end`` is
        not called then (as in Keras), and what the callbacks wrote so far stays whole.
        """
        self._require_compiled("fit")
        _check_count("fit", "epochs", epochs, 0)
        _check_validation_freq(validation_freq)
        training, validation = self._training_epochs(x, y, sample_weight, class_weight,
                                                     batch_size, shuffle, steps_per_epoch,
                                                     validation_split)
        if validation_data is not None:
            validation = self._validation_epochs(validation_data, validation_batch_size or (
                batch_size if not adapters.is_batch_source(x) else None), validation_steps)
        elif validation is not None:
            validation = adapters.EpochIterator(adapters.ArrayPasses(
                *validation, validation_batch_size or batch_size or 32, shuffle=False),
                validation_steps, "fit (validation_split)")
        self.history = history = History()
        callbacks = self._callback_list(callbacks, history, verbose, training.steps, epochs)
        self.stop_training, logs, loss_finite = False, None, True
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            step = -1
            for step, batch in enumerate(training.epoch()):
                callbacks.on_train_batch_begin(step)
                self._train_step(*_without_none(batch))
                batch_logs = self._logs()
                if loss_finite:
                    loss_finite = self._loss_is_finite(batch_logs["loss"], epoch, epochs,
                                                       step, training.steps)
                callbacks.on_train_batch_end(step, batch_logs)
                if self.stop_training:
                    break
            if step < 0:  # the data ran out before this epoch (EpochIterator warned)
                break
            run_validation = validation is not None and _should_validate(epoch,
                                                                         validation_freq)
            logs = self._epoch_logs(validation if run_validation else None, callbacks)
            self.epochs_done = epoch + 1
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training or training.ran_out:
                break
        callbacks.on_train_end(logs)
        return history

    def _training_epochs(self, x, y, sample_weight, class_weight, batch_size, shuffle,
                         steps_per_epoch, split):
        """(the training EpochIterator, validation_split's (x, y, sample_weight) or None)."""
        if adapters.is_batch_source(x):
            if split:
                raise ValueError("fit: validation_split needs arrays; with a PyDataset or a "
                                 "generator pass validation_data")
            return self._epochs("fit", x, y, sample_weight, batch_size, steps_per_epoch,
                                shuffle=shuffle, class_weight=class_weight), None
        if batch_size is not None:
            _check_count("fit", "batch_size", batch_size, 1)
        x, y, sample_weight = self._checked_data(x, y, "fit", sample_weight)
        for leaf in adapters.leaves(x):
            _check_finite(leaf, "fit")
        sample_weight = _with_class_weight("fit", y, sample_weight, class_weight)
        train, validation = self._validation_split(x, y, sample_weight, split)
        passes = adapters.ArrayPasses(*train, batch_size or 32, shuffle)
        return adapters.EpochIterator(passes, steps_per_epoch, "fit"), validation

    def _epochs(self, method, x, y, sample_weight, batch_size, steps, shuffle=False,
                class_weight=None):
        """An EpochIterator over data (x, y, sample_weight) or over a batch source x."""
        if steps is not None:
            _check_count(method, "steps", steps, 1)
        if adapters.is_batch_source(x):
            given = {"y": y, "sample_weight": sample_weight, "batch_size": batch_size}
            for name, value in given.items():
                if value is not None:
                    raise ValueError(f"{method}: x is a {type(x).__name__} that gives its own "
                                     f"batches; {name} cannot be given too (the batches "
                                     "carry the targets and sample weights)")
            passes = adapters.SourcePasses(x, shuffle, method, class_weight)
            return adapters.EpochIterator(passes, steps, method)
        if batch_size is not None:
            _check_count(method, "batch_size", batch_size, 1)
        x, y, sample_weight = self._checked_data(x, y, method, sample_weight)
        for leaf in adapters.leaves(x):
            _check_finite(leaf, method)
        sample_weight = _with_class_weight(method, y, sample_weight, class_weight)
        passes = adapters.ArrayPasses(x, y, sample_weight, batch_size or 32, shuffle)
        return adapters.EpochIterator(passes, steps, method)

    def _validation_epochs(self, data, batch_size, steps):
        """validation_data: (x_val, y_val), (x_val, y_val, sample_weight_val) or a source."""
        method = "fit (validation_data)"
        if adapters.is_batch_source(data):
            return self._epochs(method, data, None, None, None, steps)
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError("fit expects validation_data as a tuple (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val), a PyDataset or a generator, "
                             f"got {type(data).__name__}")
        x_val, y_val, weight_val = tuple(data) + (None,) * (3 - len(data))
        return self._epochs(method, x_val, y_val, weight_val, batch_size, steps)

    def _validation_split(self, x, y, sample_weight, split):
        """((x, y, sample_weight) to train on, the same to validate on or None); the split
        is views, not copies."""
        if not split:
            return (x, y, sample_weight), None
        if not 0.0 < split < 1.0:
            raise ValueError(f"fit expects validation_split in [0, 1), got {split!r}")
        samples = adapters.sample_count(x)
        split_at = int(samples * (1.0 - split))
        if split_at in (0, samples):
            raise ValueError(f"fit: validation_split={split} leaves {split_at} of {samples} "
                             "samples for training: too few samples to split")
        if not adapters.is_structure(y):
            _warn_if_one_class(y, y[split_at:], split)
        parts = (x, y, sample_weight)
        return (tuple(adapters.take(part, slice(None, split_at)) for part in parts),
                tuple(adapters.take(part, slice(split_at, None)) for part in parts))

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
                      f"{epoch + 1}/{epochs}, batch {step + 1}/{steps or '?'}; the weights are "
                      "probably NaN from here on. Lower the learning rate or check the data "
                      "and labels; callbacks.TerminateOnNaN() stops training when it happens",
                      RuntimeWarning, stacklevel=3)
        return False

    def _epoch_logs(self, validation, callbacks):
        """The epoch's logs; validation runs the test hooks of ``fit``'s own callbacks."""
        logs = self._logs()
        if validation is not None:
            val_logs = self._test_loop(validation, callbacks, "fit (validation_data)")
            logs.update({f"val_{key}": value for key, value in val_logs.items()})
        logs["lr"] = self.optimizer.learning_rate
        return logs

    def _test_loop(self, epochs, callbacks, method):
        self.reset_metrics()
        callbacks.on_test_begin()
        step = -1
        for step, batch in enumerate(epochs.epoch()):
            callbacks.on_test_batch_begin(step)
            self._test_step(*_without_none(batch))
            callbacks.on_test_batch_end(step, self._logs())
        if step < 0:
            raise ValueError(f"{method}: the data gave no batch to evaluate (a generator "
                             "that has ended?); pass validation_steps with a generator "
                             "that loops over its data, or a PyDataset")
        logs = self._logs()
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x, y=None, batch_size=None, verbose=1, return_dict=False,
                 callbacks=None, sample_weight=None, steps=None):
        """The loss and metrics on (x, y), in inference mode and without gradients.

        x, y, sample_weight: as ``fit`` takes them (x may be a PyDataset or a generator;
        ``steps`` batches of it when given). Returns the loss alone when no metrics were
        compiled, else [loss, *metrics] (or a dict with ``return_dict=True``).
        """
        self._require_compiled("evaluate", needs_optimizer=False)
        epochs = self._epochs("evaluate", x, y, sample_weight, batch_size, steps)
        callbacks = self._callback_list(callbacks, None, verbose, epochs.steps)
        return self._returned(self._test_loop(epochs, callbacks, "evaluate"), return_dict)

    def predict(self, x, batch_size=None, verbose=0, callbacks=None, steps=None):
        """The model's outputs on x as NumPy arrays (a list or dict of them for several
        outputs): inference mode, no gradients kept. x may be a PyDataset or generator
        (each batch x or (x, ...)), ``steps`` batches of it when given."""
        if adapters.is_batch_source(x):
            epochs = adapters.EpochIterator(adapters.SourcePasses(x, False, "predict"), steps,
                                            "predict")
        else:
            if batch_size is not None:
                _check_count("predict", "batch_size", batch_size, 1)
            x = adapters.as_arrays(x)
            self._check_inputs(x, "predict")
            epochs = adapters.EpochIterator(adapters.ArrayPasses(
                x, None, None, batch_size or 32, shuffle=False), steps, "predict")
        callbacks = self._callback_list(callbacks, None, verbose, epochs.steps)
        callbacks.on_predict_begin()
        outputs = []
        with no_grad():
            for step, (x_batch, _, _) in enumerate(epochs.epoch()):
                callbacks.on_predict_batch_begin(step)
                y_pred = self(x_batch, training=False)
                outputs.append(adapters.map_data(lambda tensor: tensor.numpy(), y_pred))
                callbacks.on_predict_batch_end(step)
        callbacks.on_predict_end()
        return _concatenated(outputs)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on (x, y); returns its loss (and metrics) as ``evaluate`` does."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = self._checked_data(x, y, "train_on_batch", sample_weight)
        sample_weight = _with_class_weight("train_on_batch", y, sample_weight, class_weight)
        self.reset_metrics()
        self._train_step(*_without_none((x, y, sample_weight)))
        return self._returned(self._logs(), return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch, in inference mode and without gradients."""
        self._require_compiled("test_on_batch", needs_optimizer=False)
        x, y, sample_weight = self._checked_data(x, y, "test_on_batch", sample_weight)
        self.reset_metrics()
        self._test_step(*_without_none((x, y, sample_weight)))
        return self._returned(self._logs(), return_dict)


def _without_none(batch):
    """(x, y) or (x, y, sample_weight): the step's arguments, without a missing weight."""
    x, y, sample_weight = batch
    if y is None:
        raise ValueError("fit/evaluate: each batch must hold targets: (x, y) or (x, y, "
                         "sample_weight), got (x,) alone")
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def _with_class_weight(method, y, sample_weight, class_weight):
    """sample_weight, or class_weight turned into one weight per sample by its label."""
    if class_weight is None:
        return sample_weight
    if sample_weight is not None:
        raise ValueError(f"{method}: give class_weight or sample_weight, not both (Keras "
                         "does not combine them)")
    return adapters.class_weight_to_sample_weights(method, y, class_weight)


def _check_validation_freq(freq):
    if isinstance(freq, (list, tuple)):
        if all(isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in freq):
            return
    elif isinstance(freq, int) and not isinstance(freq, bool) and freq >= 1:
        return
    raise ValueError(f"fit expects validation_freq to be an integer >= 1 (validate every "
                     f"N epochs) or a list of 1-based epochs, got {freq!r}")


def _should_validate(epoch, freq):
    """Keras: validate after epoch e (0-based) when (e + 1) % freq == 0, or e + 1 in freq."""
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq


def _concatenated(outputs):
    """predict's batches joined along the samples, in the form of the model's output."""
    first = outputs[0]
    if isinstance(first, dict):
        return {key: xp.concatenate([batch[key] for batch in outputs]) for key in first}
    if adapters.is_structure(first):
        return type(first)(xp.concatenate([batch[k] for batch in outputs])
                           for k in range(len(first)))
    return xp.concatenate(outputs)
