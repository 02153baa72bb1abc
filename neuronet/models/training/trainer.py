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

from neuronet import optimizers
from neuronet import metrics as metrics_module
from neuronet.callbacks import CallbackList, History
from neuronet.data import adapters
from neuronet.distributed.fitting import fit_plan
from neuronet.models.compiled import Compiled, resolve_loss, unique_names
from neuronet.models.progress import ProgressLogger
from neuronet.models.training.data import (DataFeeding, _check_count, _with_class_weight,
                                          _without_none)
from neuronet.models.training.inference import Inference


class Trainer(Inference, DataFeeding):
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
        plan = fit_plan(self)  # over several MPI ranks: neuronet.distributed.fitting
        training, validation = self._training_epochs(x, y, sample_weight, class_weight,
                                                     batch_size, shuffle, steps_per_epoch,
                                                     validation_split)
        training.passes = plan.shard_training(training.passes)
        if validation_data is not None:
            validation = self._validation_epochs(plan.shard_validation(validation_data),
                                                 validation_batch_size or (
                batch_size if not adapters.is_batch_source(x) else None), validation_steps)
        elif validation is not None:
            validation = adapters.EpochIterator(adapters.ArrayPasses(
                *plan.shard_validation(validation), validation_batch_size or batch_size or 32,
                shuffle=False), validation_steps, "fit (validation_split)")
        self.history = history = History()
        callbacks, verbose = plan.callbacks(callbacks, verbose)
        callbacks = self._callback_list(callbacks, history, verbose, training.steps, epochs)
        self.stop_training, logs, loss_finite = False, None, True
        plan.begin(self, training.passes)
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            step = -1
            for step, batch in enumerate(training.epoch()):
                callbacks.on_train_batch_begin(step)
                plan.step(self._train_step, _without_none(batch))
                batch_logs = self._logs()
                if loss_finite:
                    loss_finite = self._loss_is_finite(batch_logs["loss"], epoch, epochs,
                                                       step, training.steps)
                callbacks.on_train_batch_end(step, batch_logs)
                self.stop_training = plan.agree_to_stop(self.stop_training)
                if self.stop_training:
                    break
            if step < 0:  # the data ran out before this epoch (EpochIterator warned)
                break
            run_validation = validation is not None and _should_validate(epoch,
                                                                         validation_freq)
            logs = plan.epoch_logs(self._epoch_logs(validation if run_validation else None,
                                                    callbacks))
            self.epochs_done = epoch + 1
            callbacks.on_epoch_end(epoch, logs)
            self.stop_training = plan.agree_to_stop(self.stop_training)
            if self.stop_training or training.ran_out:
                break
        callbacks.on_train_end(logs)
        return history

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

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on (x, y); returns its loss (and metrics) as ``evaluate`` does."""
        self._require_compiled("train_on_batch")
        x, y, sample_weight = self._checked_data(x, y, "train_on_batch", sample_weight)
        sample_weight = _with_class_weight("train_on_batch", y, sample_weight, class_weight)
        self.reset_metrics()
        self._train_step(*_without_none((x, y, sample_weight)))
        return self._returned(self._logs(), return_dict)


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
