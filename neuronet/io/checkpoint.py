"""Model checkpoints: one safetensors file holding weights, optimizer slots and a
JSON document (architecture, compile settings, epoch, random state).

Tensor names in the file:
- ``weights/<i>/<weight>`` for every weight of the i-th layer (nested models add
  another index), e.g. ``weights/0/kernel``: by position, like PyTorch's
  state_dict, so the same architecture built again (with other automatic layer
  names) loads the file;
- ``optimizer/<i>/<slot>`` for the optimizer's slots of the i-th trainable weight.

The architecture may name only layer classes registered with neuronet
(``neuronet.layers.register``), never an importable Python path, and nothing in
the file is executed: loading is parsing.
"""
import numpy

from neuronet import layers, losses, optimizers
from neuronet import random as nn_random
from neuronet.io.files import CheckpointError, load_tensors, save_tensors

FORMAT = "neuronet.checkpoint"
VERSION = 1


def named_weights(model, prefix="weights"):
    """``[(key, Tensor)]`` for every weight of ``model``: key ``weights/<i>/<name>``."""
    entries = []
    for index, layer in enumerate(model.layers):
        if hasattr(layer, "layers"):
            entries += named_weights(layer, f"{prefix}/{index}")
        else:
            entries += [(f"{prefix}/{index}/{name}", weight)
                        for name, weight in zip(layer.weight_names, layer.weights)]
    return entries


def _weight_labels(model, prefix="weights", path=""):
    """``{key: 'layer_name/weight_name'}``, for messages."""
    labels = {}
    for index, layer in enumerate(model.layers):
        if hasattr(layer, "layers"):
            labels.update(_weight_labels(layer, f"{prefix}/{index}", f"{path}{layer.name}/"))
        else:
            labels.update({f"{prefix}/{index}/{name}": f"{path}{layer.name}/{name}"
                           for name in layer.weight_names})
    return labels


def save_model(model, path, include_optimizer=True, extra=None):
    """Write ``model`` (architecture, weights, compile settings, optimizer state,
    epoch, random state) to ``path`` atomically. ``extra``: JSON-able notes."""
    _require_built(model, "save")
    tensors = {name: weight.data for name, weight in named_weights(model)}
    document = _document(model, extra)
    document["architecture"] = layers.serialize(model)
    document["compile"] = _compile_settings(model)
    if include_optimizer and model.optimizer is not None and model.optimizer.iterations:
        state = model.optimizer.state_dict()
        document["optimizer_iterations"] = state["iterations"]
        for index, slots in enumerate(state["slots"]):
            for slot, array in slots.items():
                tensors[f"optimizer/{index}/{slot}"] = numpy.asarray(array)
    save_tensors(path, tensors, document)


def save_weights(model, path):
    """Write only the weights of ``model`` to ``path`` atomically."""
    _require_built(model, "save_weights")
    tensors = {name: weight.data for name, weight in named_weights(model)}
    save_tensors(path, tensors, _document(model, None))


def load_weights(model, path):
    """Copy the weights stored in ``path`` into ``model`` (which must fit them)."""
    tensors, document = _read(path)
    _assign_weights(model, tensors, path)
    return document


def load_model(path, compile=True):
    """A model rebuilt from a ``save_model`` file, compiled and ready to resume:
    ``model.fit(..., initial_epoch=model.epochs_done)`` continues where it stopped."""
    tensors, document = _read(path)
    if "architecture" not in document:
        raise CheckpointError(f"checkpoint {str(path)!r} holds weights only: build the model "
                              "and call model.load_weights(path)")
    try:
        return _rebuild(tensors, document, path, compile)
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as error:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupted: its document does not "
                              f"describe a model ({type(error).__name__}: {error})") from None


def _rebuild(tensors, document, path, compile):
    model = layers.deserialize(document["architecture"])
    _require_built(model, "load_model")
    _assign_weights(model, tensors, path)
    settings = document.get("compile")
    if compile and settings:
        model.compile(optimizer=optimizers.deserialize(settings["optimizer"]),
                      loss=_read_losses(settings["loss"]), metrics=settings["metrics"],
                      loss_weights=settings.get("loss_weights"),
                      weighted_metrics=settings.get("weighted_metrics"))
        _restore_optimizer(model, tensors, document, path)
    model.epochs_done = int(document.get("epoch", 0))
    if document.get("random_state") is not None:
        nn_random.set_state(document["random_state"])
    model.checkpoint_extra = document.get("extra") or {}
    return model


def _document(model, extra):
    return {"format": FORMAT, "version": VERSION, "model": model.name,
            "epoch": int(getattr(model, "epochs_done", 0)),
            "random_state": nn_random.get_state(), "extra": extra or {}}


def _compile_settings(model):
    """compile's arguments as JSON: the loss (one, a list, or per output name), the loss
    weights, and the metrics by name, in the form compile was given them."""
    if model.optimizer is None or model.loss is None:
        return None
    given = model._compiled
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": _written_losses(model, model.loss),
            "loss_weights": _numbers(given.loss_weights),
            "metrics": _metric_names(given.metrics),
            "weighted_metrics": _metric_names(given.weighted_metrics)}


def _written_losses(model, loss):
    """A Loss as ``losses.serialize`` writes it, None as None, a list as a list, a dict
    (per output name) as {"outputs": {...}}."""
    if loss is None:
        return None
    if isinstance(loss, (list, tuple)):
        return [_written_losses(model, each) for each in loss]
    if isinstance(loss, dict):
        return {"outputs": {key: _written_losses(model, each) for key, each in loss.items()}}
    if not isinstance(loss, losses.Loss):
        raise CheckpointError(f"{model.describe()}: a loss given as a plain function cannot be "
                              "saved; use a neuronet.losses.Loss")
    return losses.serialize(loss)


def _read_losses(document):
    if document is None:
        return None
    if isinstance(document, list):
        return [_read_losses(each) for each in document]
    if "outputs" in document and "class_name" not in document:
        return {key: _read_losses(each) for key, each in document["outputs"].items()}
    return losses.deserialize(document)


def _metric_names(spec):
    """compile's metrics with every Metric as its name (what ``metrics.get`` reads back)."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (list, tuple)):
        return [_metric_names(each) for each in spec]
    if isinstance(spec, dict):
        return {key: _metric_names(each) for key, each in spec.items()}
    return spec.name


def _numbers(spec):
    if spec is None:
        return None
    if isinstance(spec, (list, tuple)):
        return [_numbers(each) for each in spec]
    if isinstance(spec, dict):
        return {key: _numbers(each) for key, each in spec.items()}
    return float(spec)


def _read(path):
    tensors, document = load_tensors(path)
    if document.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} is not a neuronet checkpoint "
                              f"(format {document.get('format')!r})")
    if document.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has format version "
                              f"{document.get('version')!r}; this neuronet reads {VERSION}")
    return tensors, document


def _assign_weights(model, tensors, path):
    expected = named_weights(model)
    stored = {name for name in tensors if name.startswith("weights/")}
    missing = [name for name, _ in expected if name not in tensors]
    unexpected = sorted(stored - {name for name, _ in expected})
    if missing or unexpected:
        raise CheckpointError(f"checkpoint {str(path)!r} does not fit {model.describe()}: "
                              f"missing {missing or 'nothing'}, unexpected "
                              f"{unexpected or 'nothing'}")
    labels = _weight_labels(model)
    for name, weight in expected:
        array = tensors[name]
        if array.shape != weight.shape:
            raise CheckpointError(f"checkpoint {str(path)!r}: tensor {name!r} ({labels[name]}) "
                                  f"has shape {array.shape}, the model expects {weight.shape}")
    for name, weight in expected:
        weight.data[...] = tensors[name]


def _restore_optimizer(model, tensors, document, path):
    if "optimizer_iterations" not in document:
        return
    weights = model.trainable_weights
    slots = [{} for _ in weights]
    for name, array in tensors.items():
        if name.startswith("optimizer/"):
            _, index, slot = name.split("/", 2)
            if not index.isdigit() or int(index) >= len(slots):
                raise CheckpointError(f"checkpoint {str(path)!r}: optimizer tensor {name!r} "
                                      f"names no trainable weight (the model has {len(slots)})")
            slots[int(index)][slot] = array
    try:
        model.optimizer.build(weights)
        model.optimizer.load_state_dict({"iterations": document["optimizer_iterations"],
                                         "slots": slots})
    except ValueError as error:
        raise CheckpointError(f"checkpoint {str(path)!r}: optimizer state does not fit: "
                              f"{error}") from None


def _require_built(model, action):
    if not model.built:
        raise ValueError(f"{model.describe()}: build the model (call it on data, or start it "
                         f"with an Input) before {action}")
