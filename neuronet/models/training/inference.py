"""``Inference``, the methods of ``Trainer`` that run the model without training it:
evaluate, predict, test_on_batch and the validation of ``fit``."""
from neuronet.backend import xp
from neuronet.data import adapters
from neuronet.models.training.data import _check_count, _without_none
from neuronet.tensor import no_grad


class Inference:
    """The inference half of ``Trainer``: it needs ``__call__`` from the model and
    ``_require_compiled``, ``_compute_loss``, ``_update_metrics``, ``_logs``, ``_returned``,
    ``reset_metrics``, ``_callback_list`` (``trainer``), ``_checked_data``, ``_check_inputs``
    and ``_epochs`` (``data``) from the rest of ``Trainer``."""

    def _test_step(self, x, y, sample_weight=None):
        with no_grad():
            y_pred = self(x, training=False)
            loss = self._compute_loss(y, y_pred, sample_weight)
        self._update_metrics(y, y_pred, loss, sample_weight)

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

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch, in inference mode and without gradients."""
        self._require_compiled("test_on_batch", needs_optimizer=False)
        x, y, sample_weight = self._checked_data(x, y, "test_on_batch", sample_weight)
        self.reset_metrics()
        self._test_step(*_without_none((x, y, sample_weight)))
        return self._returned(self._logs(), return_dict)


def _concatenated(outputs):
    """predict's batches joined along the samples, in the form of the model's output."""
    first = outputs[0]
    if isinstance(first, dict):
        return {key: xp.concatenate([batch[key] for batch in outputs]) for key in first}
    if adapters.is_structure(first):
        return type(first)(xp.concatenate([batch[k] for batch in outputs])
                           for k in range(len(first)))
    return xp.concatenate(outputs)
