"""``save_keras(model, path)``: a Keras 3 ``.keras`` file of a neuronet model, which Keras'
``keras.saving.load_model`` reads and predicts with as neuronet does.

It holds the architecture and the weights only (no optimizer state, no compile settings).
Only the layer classes of ``neuronet.io.keras.layers.SPEC``, in Sequential or functional
models (nested too), with options Keras computes the same way, can be written; anything
else is one KerasFileError naming the layer, before the file is touched.
"""
import datetime
import io
import json
import zipfile

from neuronet import activations, layers as nn_layers
from neuronet.io.files import write_atomic
from neuronet.io.keras.errors import KerasFileError
from neuronet.io.keras.graph import keras_order
from neuronet.io.keras.layers import ACTIVATIONS, IGNORED, SPEC, WRAPPERS, weight_groups
from neuronet.io.keras.naming import container_names
from neuronet.models.model import Model  # this module is imported on first use, after models

KERAS_VERSION = "3.15.1"  # the Keras whose files the format follows (metadata.json)


def save_keras(model, path):
    """Write ``model`` (built) to ``path`` as a Keras 3 ``.keras`` file, atomically."""
    import h5py  # the optional extra 'keras-files'

    if not model.built:
        raise ValueError(f"{model.describe()}: build the model before saving it")
    description, tree = _model(model)
    weights = io.BytesIO()
    with h5py.File(weights, "w") as store:
        store.create_group("vars")
        _write_weights(store, tree, "")
    metadata = {"keras_version": KERAS_VERSION, "saved_by": "neuronet",
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as files:
        files.writestr("metadata.json", json.dumps(metadata))
        files.writestr("config.json", json.dumps(description))
        files.writestr("model.weights.h5", weights.getvalue())
    write_atomic(path, archive.getvalue())


def _policy(dtype):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype},
            "registered_name": None}


def _model(model):
    """(Keras description, weight tree) of a Sequential or functional neuronet model."""
    kind = type(model).__name__
    if kind == "Sequential":
        return _sequential(model)
    if kind == "Functional":
        return _functional(model)
    raise KerasFileError(f"{model.describe()}: a subclassed model is Python code; only "
                         "Sequential and functional models can be written as .keras files")


def _input(name, shape, dtype):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False,
                       "name": name}, "registered_name": None}


def _sequential(model):
    first = model._layers[0] if model._layers else None
    name = first.name if isinstance(first, nn_layers.InputLayer) else f"{model.name}_input"
    described, tree = [_input(name, model.input_shape[1:], model.dtype)], []
    for layer in model.layers:
        description, subtree = _layer(layer)
        described.append(description)
        tree.append((description["class_name"], layer, subtree))
    config = {"name": model.name, "trainable": model.trainable, "dtype": _policy(model.dtype),
              "layers": described}
    return {"module": "keras", "class_name": "Sequential", "config": config,
            "registered_name": None, "build_config": {"input_shape": list(model.input_shape)}}, tree


def _functional(model):
    own = model.get_config()  # Keras' functional form already: names and inbound nodes
    by_name = {layer.name: layer for layer in model._layers}
    described, trees = [], {}
    for entry in own["layers"]:
        layer = by_name[entry["name"]]
        if isinstance(layer, nn_layers.InputLayer):
            description, subtree = _input(layer.name, layer.input_shape[1:], layer.dtype), None
        else:
            description, subtree = _layer(layer)
        described.append({**description, "name": entry["name"],
                          "inbound_nodes": entry["inbound_nodes"]})
        trees[entry["name"]] = (description["class_name"], layer, subtree)
    ordered = keras_order(described, own["input_layers"], own["output_layers"])
    config = {"name": model.name, "trainable": model.trainable, "layers": ordered,
              "input_layers": own["input_layers"], "output_layers": own["output_layers"]}
    tree = [trees[entry["name"]] for entry in ordered]
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": config, "registered_name": "Functional",
            "build_config": {"input_shape": None}}, tree


def _layer(layer):
    if isinstance(layer, Model):
        return _model(layer)
    class_name = type(layer).__name__
    if class_name not in SPEC or type(layer) is not SPEC[class_name][0]:
        raise KerasFileError(f"{layer.describe()}: {class_name} cannot be written as a Keras "
                             f"layer; the .keras writer knows {sorted(SPEC)}")
    _, arguments, fixed = SPEC[class_name]
    try:
        own = layer.get_config()
    except ValueError as error:  # an unregistered activation, initializer, ...
        raise KerasFileError(f"{layer.describe()} cannot be written: {error}") from None
    config = {"name": layer.name, "trainable": own.get("trainable", True),
              "dtype": _policy(layer.dtype)}
    if class_name in WRAPPERS:
        inner = layer.layer if class_name == "TimeDistributed" else layer.forward_layer
        config["layer"] = _layer(inner)[0]
        if class_name == "Bidirectional" and "backward_layer" in own:
            config["backward_layer"] = _layer(layer.backward_layer)[0]
        own = {key: value for key, value in own.items()
               if key not in ("layer", "backward_layer")}
    for key, value in own.items():
        if key in arguments:
            config[key] = _activation_name(layer, value) if "activation" in key else value
        elif key in fixed:
            if value != fixed[key]:
                raise KerasFileError(f"{layer.describe()}: {key}={value!r} has no Keras "
                                     "equivalent")
        elif key not in IGNORED and key not in config:
            raise KerasFileError(f"{layer.describe()}: option {key}={value!r} cannot be "
                                 "written to a Keras file")
    config.update({key: value for key, value in fixed.items() if value is not None})
    return {"module": "keras.layers", "class_name": class_name, "config": config,
            "registered_name": None}, None


def _activation_name(layer, value):
    name = value if isinstance(value, str) else activations.serialize(value)
    if name not in ACTIVATIONS:
        raise KerasFileError(f"{layer.describe()}: activation {name!r} cannot be written; "
                             f"Keras computes the same for {list(ACTIVATIONS)}")
    return name


def _write_weights(store, tree, prefix):
    for (class_name, layer, subtree), name in zip(tree, container_names(c for c, _, _ in tree)):
        path = f"{prefix}layers/{name}"
        if subtree is not None:
            store.create_group(f"{path}/vars")
            _write_weights(store, subtree, f"{path}/")
            continue
        for group_path, weights in weight_groups(class_name, layer):
            group = store.create_group(f"{path}/{group_path}")
            for index, weight in enumerate(weights):
                group.create_dataset(str(index), data=weight.data)
