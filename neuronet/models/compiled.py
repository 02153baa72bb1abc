"""What ``compile``'s loss, loss_weights and metrics become for a model's outputs.

Keras 3's rules (``keras/src/trainers/compile_utils.py``):

- Outputs: ``call`` returns a Tensor, a list/tuple or a dict of Tensors. Their names are
  the model's ``output_names`` when it has them (a functional model: its output layers),
  else a dict's keys (sorted), else none (a subclassed model's list).
- ``loss``: one loss for every output, a list with one per output (None: no loss) or a
  dict from output names. ``loss_weights`` likewise (a number for one output); 1 if unset.
- The training loss is sum_k loss_weight_k * loss_k. With several losses the logs hold
  each unweighted loss_k as '<name>_loss', name being the output's name, or for an
  unnamed output the loss's name ('mse' for loss='mse'); repeats get '_1', '_2', ...
- ``metrics``: for one output a list; for several a list with one entry (a metric or a
  list of them) per output, or a dict from output names. Logged as '<output>_<metric>'
  (an unnamed output: '<metric>'; a repeated name gets '_1', '_2', ... as in Keras 3,
  and so does a metric named 'loss'). ``weighted_metrics`` alike, updated with the sample
  weights ('weighted_<metric>' where the name is taken).
- ``sample_weight``: one array for every output, or a list/dict with one per output.
"""
from neuronet import losses as losses_module
from neuronet import metrics as metrics_module
from neuronet.data.adapters import is_structure, leaves
from neuronet.ops._utils import as_tensor


class LossFunction(losses_module.Loss):
    """A plain function ``f(y_true, y_pred)`` as a Loss (Keras' LossFunctionWrapper): its
    values, one per sample or a scalar, are reduced as any Loss reduces them, with the
    sample weights (sum_i w_i f_i / N)."""

    def __init__(self, function, name=None):
        super().__init__(name=name or getattr(function, "__name__", "loss"))
        self.function = function

    def call(self, y_true, y_pred):
        return as_tensor(self.function(y_true, y_pred))


def resolve_loss(identifier):
    """``losses.get``, a list or a dict of it (None stays None)."""
    if isinstance(identifier, (list, tuple)):
        return [resolve_loss(item) for item in identifier]
    if isinstance(identifier, dict):
        return {key: resolve_loss(value) for key, value in identifier.items()}
    return losses_module.get(identifier)


def _loss_name(identifier, loss):
    if isinstance(identifier, str):
        return identifier
    return getattr(loss, "name", None) or getattr(loss, "__name__", "loss")


def unique_names(names):
    """Keras' rule for repeated log names: the second 'x' is 'x_1', the third 'x_2'."""
    seen, unique = {}, []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique.append(name if count == 0 else f"{name}_{count}")
    return unique


class Outputs:
    """The form of a model's outputs: how many, where each sits, and their names.

    Args:
        y_pred: one output of the model (a Tensor, a list/tuple or a dict of Tensors).
        output_names: the model's ``output_names`` or None.
        owner: the model's description, for errors.
    """

    def __init__(self, y_pred, output_names, owner):
        self.owner = owner
        if isinstance(y_pred, dict):
            names = list(output_names) if output_names and set(output_names) == set(
                y_pred) else sorted(y_pred)
            self.keys, self.names = names, names
        elif isinstance(y_pred, (list, tuple)):
            self.keys = list(range(len(y_pred)))
            named = output_names and len(output_names) == len(y_pred)
            self.names = list(output_names) if named else [None] * len(y_pred)
        else:
            self.keys = [None]
            self.names = list(output_names) if output_names and len(output_names) == 1 else [
                None]

    def __len__(self):
        return len(self.keys)

    def predictions(self, y_pred):
        """The outputs as a list, in output order."""
        return [y_pred] if self.keys == [None] else [y_pred[key] for key in self.keys]

    def per_output(self, value, what, single_is_shared=True):
        """``value`` (one for all, a list with one per output, or a dict from output names)
        as a list with one entry per output (None where a dict leaves one out)."""
        if isinstance(value, dict):
            self._check_keys(value, what)
            return [value.get(name) for name in self.names]
        if isinstance(value, (list, tuple)):
            if len(value) != len(self):
                raise ValueError(f"{self.owner}: {what} is a list of {len(value)} entries, but "
                                 f"the model has {len(self)} outputs; give one per output "
                                 f"(None for none) or a dict from the output names "
                                 f"{self._named()}")
            return list(value)
        if len(self) > 1 and not single_is_shared:
            raise ValueError(f"{self.owner}: the model has {len(self)} outputs, so {what} "
                             "must be a list with one entry per output or a dict from the "
                             f"output names {self._named()}, got {value!r}")
        return [value] * len(self)

    def targets(self, y, what="y"):
        """The targets as a list in output order, from an array (one output), a list or a
        dict from output names; a key that names no output is an error."""
        if len(self) == 1 and not isinstance(y, dict):
            return [y[0] if is_structure(y) and len(y) == 1 else y]
        if isinstance(y, dict):
            self._check_keys(y, what)
            return [y.get(name) for name in self.names]
        if not is_structure(y) or len(y) != len(self):
            raise ValueError(f"{self.owner} has {len(self)} outputs {self._named()}; {what} "
                             f"must be a list of {len(self)} arrays or a dict from the "
                             f"output names, got {len(leaves(y))} array(s)")
        return list(y)

    def _check_keys(self, value, what):
        unknown = [key for key in value if key not in self.names]
        if unknown:
            raise ValueError(f"{self.owner}: {what} has the key {unknown[0]!r}, which names no "
                             f"output of the model; its outputs: {self._named()}")

    def _named(self):
        return [name for name in self.names if name is not None] or (
            f"{len(self)} unnamed (a list)")


class Head:
    """One output's loss, loss weight, metrics and log names."""

    def __init__(self, name, loss, loss_name, weight):
        self.name, self.loss, self.loss_name, self.weight = name, loss, loss_name, weight
        self.metrics, self.weighted_metrics = [], []
        self.tracker = None  # the Mean of its loss, when there are several losses


class Compiled:
    """compile's settings applied to a model's outputs, made at the first batch (when the
    form of the outputs is known): ``loss(...)`` gives the training loss, ``update(...)``
    the metrics, ``logs()`` the values under Keras' names."""

    def __init__(self, loss, loss_weights, metrics, weighted_metrics, loss_spec):
        self.loss, self.loss_weights = loss, loss_weights
        self.metrics, self.weighted_metrics = metrics, weighted_metrics
        self.loss_spec = loss_spec  # what compile was given, for the loss names
        self.outputs, self.heads = None, []

    def build(self, y_pred, output_names, owner):
        self.outputs = outputs = Outputs(y_pred, output_names, owner)
        losses = outputs.per_output(self.loss, "loss")
        specs = outputs.per_output(self.loss_spec, "loss")
        weights = self._loss_weights(outputs)
        if all(loss is None for loss in losses):
            raise ValueError(f"{owner}: compile gave no loss for any output")
        for name, loss, spec, weight in zip(outputs.names, losses, specs, weights):
            if loss is not None and not isinstance(loss, losses_module.Loss):
                loss = LossFunction(loss, _loss_name(spec, loss))
            self.heads.append(Head(name, loss, name or _loss_name(spec, loss), weight))
        self._add_trackers()
        self._add_metrics(self.metrics, "metrics", weighted=False)
        self._add_metrics(self.weighted_metrics, "weighted_metrics", weighted=True)

    def _loss_weights(self, outputs):
        if self.loss_weights is None:
            return [1.0] * len(outputs)
        weights = outputs.per_output(self.loss_weights, "loss_weights", single_is_shared=False)
        return [1.0 if weight is None else float(weight) for weight in weights]

    def _add_trackers(self):
        with_loss = [head for head in self.heads if head.loss is not None]
        if len(with_loss) < 2:
            return
        names = unique_names([f"{head.loss_name}_loss" for head in with_loss])
        for head, name in zip(with_loss, names):
            head.tracker = metrics_module.Mean(name)

    def _add_metrics(self, spec, what, weighted):
        if not spec:
            return
        if len(self.heads) == 1 and not isinstance(spec, dict):
            entries = [spec]  # one output: the list is all its metrics
        else:
            entries = self.outputs.per_output(spec, what, single_is_shared=False)
        for head, entry in zip(self.heads, entries):
            items = entry if isinstance(entry, (list, tuple)) else [entry]
            made = [metrics_module.get(item, loss=head.loss) for item in items
                    if item is not None]
            (head.weighted_metrics if weighted else head.metrics).extend(made)

    # --- per batch -----------------------------------------------------------------------
    def compute_loss(self, y, y_pred, sample_weight):
        """sum_k loss_weight_k * loss_k(y_k, y_pred_k, sample_weight_k); each output's
        tracker records its unweighted loss_k, weighted by the batch size."""
        predictions, targets = self.outputs.predictions(y_pred), self.outputs.targets(y)
        weights = self._sample_weights(sample_weight)
        total = None
        for head, pred, target, weight in zip(self.heads, predictions, targets, weights):
            if head.loss is None:
                continue
            if target is None:
                raise ValueError(f"{self.outputs.owner}: output {head.name!r} has a loss but "
                                 "y gives no target for it")
            value = head.loss(target, pred) if weight is None else head.loss(
                target, pred, sample_weight=weight)
            if value.size != 1:
                raise ValueError(f"{self.outputs.owner}: the loss of output "
                                 f"{head.loss_name!r} must reduce to a scalar, got shape "
                                 f"{value.shape} (use the default reduction)")
            if head.tracker is not None:
                head.tracker.update_state(value.item(), weight=pred.shape[0])
            term = value if head.weight == 1.0 else value * head.weight
            total = term if total is None else total + term
        return total

    def _sample_weights(self, sample_weight):
        if sample_weight is None or not (is_structure(sample_weight) or isinstance(
                sample_weight, dict)):
            return [sample_weight] * len(self.heads)  # one array weighs every output (Keras)
        return self.outputs.per_output(sample_weight, "sample_weight")

    def update_metrics(self, y, y_pred, sample_weight):
        predictions, targets = self.outputs.predictions(y_pred), self.outputs.targets(y)
        weights = self._sample_weights(sample_weight)
        for head, pred, target, weight in zip(self.heads, predictions, targets, weights):
            for metric in head.metrics:
                metric.update_state(target, pred.data)
            for metric in head.weighted_metrics:
                if weight is None:
                    metric.update_state(target, pred.data)
                else:
                    metric.update_state(target, pred.data, sample_weight=weight)

    # --- names and values ----------------------------------------------------------------
    def trackers(self):
        return [head.tracker for head in self.heads if head.tracker is not None]

    def all_metrics(self):
        return [metric for head in self.heads
                for metric in head.metrics + head.weighted_metrics]

    def named_values(self):
        """(log name, metric) pairs: the per-output losses, then the metrics, then the
        weighted metrics, under Keras 3's names."""
        pairs = [(tracker.name, tracker) for tracker in self.trackers()]
        several = len(self.heads) > 1
        for attribute in ("metrics", "weighted_metrics"):
            for head in self.heads:
                prefix = f"{head.name}_" if several and head.name else ""
                for metric in getattr(head, attribute):
                    name = prefix + metric.name
                    if attribute == "weighted_metrics" and name in dict(pairs):
                        name = f"{prefix}weighted_{metric.name}"
                    pairs.append((name, metric))
        names = unique_names(["loss"] + [name for name, _ in pairs])[1:]  # 'loss' is taken
        return list(zip(names, [metric for _, metric in pairs]))
