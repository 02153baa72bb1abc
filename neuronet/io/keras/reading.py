"""``load_keras(path)``: a neuronet model from a Keras 3 ``.keras`` file.

The file is a zip of ``metadata.json`` (the Keras version), ``config.json`` (the model:
class names and arguments, and for a functional model which layer output feeds which
layer) and ``model.weights.h5`` (HDF5: the weights of the layer that Keras names
``layers/<snake_case class name>[_<k>]``, the k-th layer of that class in the model's
``layers`` order, as ``vars/0``, ``vars/1``, ... in the layer's ``weights`` order).

The file is data: only the layer classes in ``neuronet.io.keras.layers.SPEC`` and the
Keras ops of ``neuronet.io.keras.ops.OPTIONS`` (as OpLayers) are built, from their
arguments, and a call's ``mask=`` (a Keras tensor) is passed on as Keras does; a Lambda
layer, a custom object (``registered_name``) or any module outside Keras is refused, and
nothing in the file is imported or executed. Every failure is one ``KerasFileError`` (a
ValueError) naming the file and what is wrong.
"""
import io
import json
import os
import zipfile
import zlib

from neuronet import layers as nn_layers
from neuronet.io.keras.errors import KerasFileError
from neuronet.io.keras.layers import dtype_of, to_neuronet, weight_groups
from neuronet.io.keras.naming import MEMBERS, container_names
from neuronet.io.keras.ops import is_op_layer, op_layer

CONFIG_LIMIT = 64 * 1024 * 1024
WEIGHTS_LIMIT = 4 * 1024 * 1024 * 1024
MODELS = ("Sequential", "Functional")
# What a corrupted file can make zipfile, json, h5py or numpy raise.
_READ_ERRORS = (ValueError, KeyError, TypeError, IndexError, AttributeError, OSError,
                RuntimeError, EOFError, OverflowError, RecursionError, NotImplementedError,
                zipfile.BadZipFile, zlib.error)


def load_keras(path):
    """The model of a Keras 3 ``.keras`` file, built from neuronet layers with the file's
    weights; uncompiled, predicting as Keras does (see the module docstring)."""
    path = os.fspath(path)
    try:
        config, weights = _read_archive(path)
        model, tree = _model(config, "model")
        import h5py  # the optional extra 'keras-files'

        with h5py.File(io.BytesIO(weights), "r") as store:
            _assign(store, tree, "")
        return model
    except KerasFileError as error:
        raise KerasFileError(f"Keras file {path!r}: {error}") from None
    except MemoryError as error:  # sizes in the config (an input's, a layer's) too large
        raise KerasFileError(f"Keras file {path!r} describes a model larger than this "
                             f"machine's memory ({error})") from None
    except _READ_ERRORS as error:
        raise KerasFileError(f"Keras file {path!r} is truncated, corrupted or not a Keras 3 "
                             f"file ({type(error).__name__}: {error})") from None


def _read_archive(path):
    """(config dict, the weights file's bytes), every member checked before use."""
    if not os.path.isfile(path):
        raise KerasFileError("no such file")
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist()}
        if "model.weights.json" in members:
            raise KerasFileError("its weights are sharded (model.weights.json): neuronet reads "
                                 "one model.weights.h5")
        missing = [name for name in MEMBERS if name not in members]
        if missing:
            raise KerasFileError(f"the archive lacks {missing} (it has {sorted(members)[:10]})")
        for name, limit in (("metadata.json", CONFIG_LIMIT), ("config.json", CONFIG_LIMIT),
                            ("model.weights.h5", WEIGHTS_LIMIT)):
            if members[name].file_size > limit:
                raise KerasFileError(f"{name} claims {members[name].file_size} bytes, more "
                                     f"than the {limit} neuronet reads")
        metadata = _json(archive.read("metadata.json"), "metadata.json")
        version = str(metadata.get("keras_version", ""))
        if not version.startswith("3."):
            raise KerasFileError(f"it was written by Keras {version or '(no version)'}; "
                                 "neuronet reads Keras 3 files")
        config = _json(archive.read("config.json"), "config.json")
        return config, archive.read("model.weights.h5")


def _json(data, member):
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise KerasFileError(f"{member} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise KerasFileError(f"{member} holds a {type(value).__name__}, expected an object")
    return value


# --- the architecture ------------------------------------------------------------------
def _check_keras_object(description, where):
    if not isinstance(description, dict) or not isinstance(description.get("config"), dict):
        raise KerasFileError(f"{where}: expected a Keras object {{class_name, config}}, got "
                             f"{str(description)[:80]}")
    module, registered = description.get("module"), description.get("registered_name")
    class_name = description.get("class_name")
    if not isinstance(class_name, str):
        raise KerasFileError(f"{where}: class_name {class_name!r} is not a string")
    if module is not None and (not isinstance(module, str) or module.split(".")[0] != "keras"):
        raise KerasFileError(f"{where}: {class_name} comes from module {module!r}; neuronet "
                             "reads Keras' own classes only, never importing a module")
    if registered not in (None, class_name):
        raise KerasFileError(f"{where}: {class_name} is a custom object (registered as "
                             f"{registered!r}); neuronet never runs code from a file")
    return class_name, description["config"]


def _model(description, where):
    """(neuronet model, weight tree) for a Sequential or Functional description. The tree
    lists (Keras class name, neuronet layer or None, subtree) in Keras' ``layers`` order."""
    class_name, config = _check_keras_object(description, where)
    if class_name not in MODELS:
        raise KerasFileError(f"{where}: the model is a {class_name}; neuronet reads "
                             f"{list(MODELS)} (a subclassed model is Python code)")
    where = f"{where} {config.get('name')!r}"
    if class_name == "Sequential":
        return _sequential(config, where)
    return _functional(config, where)


def _layer(description, where):
    class_name, config = _check_keras_object(description, where)
    if class_name in MODELS:
        return _model(description, where)
    return to_neuronet(class_name, config, f"{where}, layer {config.get('name')!r}",
                       inner=_wrapped), None


def _wrapped(description, where):
    """The layer inside a TimeDistributed or Bidirectional wrapper (no model)."""
    class_name, config = _check_keras_object(description, where)
    if class_name in MODELS:
        raise KerasFileError(f"{where}: a wrapped {class_name} model is not read")
    return to_neuronet(class_name, config, where, inner=_wrapped)


def _input(config, where):
    shape = config.get("batch_shape") or [None] + list(config.get("shape") or [])
    if not isinstance(shape, list) or len(shape) < 2 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape[1:]):
        raise KerasFileError(f"{where}: input shape {shape!r} must give every size but the "
                             "batch's as a positive int")
    # Integer ids (an Embedding's input) are fed as they come; neuronet keeps float inputs.
    if config.get("dtype") in ("int32", "int64", "uint8", "int16"):
        config = {**config, "dtype": "float32"}
    return nn_layers.Input(tuple(shape[1:]), dtype=dtype_of(config, where),
                           name=config.get("name"))


def _sequential(config, where):
    descriptions = _list(config, "layers", where)
    first = descriptions[0] if descriptions else None
    stack, tree = [], []
    if isinstance(first, dict) and first.get("class_name") == "InputLayer":
        stack.append(_input(first.get("config") or {}, where))
        descriptions = descriptions[1:]
    for description in descriptions:
        layer, subtree = _layer(description, where)
        stack.append(layer)
        tree.append((description["class_name"], layer, subtree))
    model = nn_layers.get("Sequential")(stack, name=config.get("name"))
    if not model.built:
        shape = config.get("build_input_shape")
        if not isinstance(shape, list):
            raise KerasFileError(f"{where}: the Sequential model has no input shape")
        model.build(tuple(shape))
    return model, tree


def _functional(config, where):
    made, pending, tree = {}, [], []
    for description in _list(config, "layers", where):
        class_name, layer_config = _check_keras_object(description, where)
        name = description.get("name", layer_config.get("name"))
        nodes = description.get("inbound_nodes") or []
        if class_name == "InputLayer":
            made[(name, 0)] = [_input(layer_config, f"{where}, input {name!r}")]
            tree.append((class_name, None, None))
            continue
        if is_op_layer(description):  # not in Keras' model.layers: no place in the tree
            layer, tensors = op_layer(class_name, layer_config, nodes,
                                      f"{where}, op layer {name!r}")
            pending.append((layer, name, 0, tensors, None))
            continue
        layer, subtree = _layer(description, where)
        tree.append((class_name, layer, subtree))
        for index, node in enumerate(nodes):
            pending.append((layer, name, index, *_call(node, where)))
    while pending:
        ready = [item for item in pending if _resolvable(item, made)]
        if not ready:
            raise KerasFileError(f"{where}: the inbound nodes of "
                                 f"{sorted({str(item[1]) for item in pending})} name layers or "
                                 "calls that are not in the config")
        for item in ready:
            made[item[1], item[2]] = _called(item, made, where)
            pending.remove(item)
    inputs = _histories(config.get("input_layers"), made, where)
    outputs = _histories(config.get("output_layers"), made, where)
    return nn_layers.get("Functional")(inputs, outputs, name=config.get("name")), tree


def _called(item, made, where):
    """The outputs (a list) of a pending layer call, on the symbolic tensors it reads."""
    layer, name, _, arguments, mask = item
    mask = _decode(mask, made) if mask is not None else None
    try:
        outputs = layer(_decode(arguments, made), mask=mask)
    except (TypeError, ValueError) as error:
        raise KerasFileError(f"{where}, layer {name!r}: its call does not fit the tensors "
                             f"it reads: {error}") from None
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _list(config, key, where):
    value = config.get(key)
    if not isinstance(value, list):
        raise KerasFileError(f"{where}: {key!r} must be a list, got {type(value).__name__}")
    return value


def _call(node, where):
    """(the inputs, the mask or None) of an inbound node {'args': [inputs], 'kwargs': {}};
    among the kwargs Keras writes ``mask`` (a Keras tensor) and ``training`` (which the
    model's own mode overrides, as in Keras)."""
    if not isinstance(node, dict) or not isinstance(node.get("args"), list) or \
            len(node["args"]) != 1 or not isinstance(node.get("kwargs") or {}, dict):
        raise KerasFileError(f"{where}: an inbound node must be {{'args': [inputs], "
                             f"'kwargs': {{}}}}, got {str(node)[:80]}")
    kwargs = dict(node.get("kwargs") or {})
    mask, training = kwargs.pop("mask", None), kwargs.pop("training", None)
    if not isinstance(training, (bool, type(None))) or \
            any(value is not None for value in kwargs.values()):
        raise KerasFileError(f"{where}: a layer call with arguments {node['kwargs']} is not "
                             "supported (neuronet reads mask= and training=)")
    return node["args"][0], mask


def _resolvable(item, made):
    _, _, _, arguments, mask = item
    histories = _tensor_histories(arguments)
    if mask is not None:
        histories += _tensor_histories(mask)
    return all((history[0], history[1]) in made for history in histories)


def _tensor_histories(value):
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [_history(value.get("config", {}).get("keras_history"))]
    if isinstance(value, list):
        return [history for item in value for history in _tensor_histories(item)]
    raise KerasFileError(f"a layer input {str(value)[:80]} is not a Keras tensor")


def _history(history):
    if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in history[1:])):
        raise KerasFileError(f"keras_history {history!r} is not [layer name, node, tensor]")
    return tuple(history)


def _decode(value, made):
    if isinstance(value, list):
        return [_decode(item, made) for item in value]
    name, node, index = _history(value["config"]["keras_history"])
    if not 0 <= index < len(made[(name, node)]):
        raise KerasFileError(f"keras_history {[name, node, index]} names no output of "
                             f"{name!r} (it has {len(made[(name, node)])})")
    return made[(name, node)][index]


def _histories(value, made, where):
    """The model's inputs or outputs: one [name, node, tensor] history or a list of them."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise KerasFileError(f"{where}: input_layers/output_layers {value!r} are malformed")
    tensors = []
    for history in value:
        name, node, index = _history(history)
        if (name, node) not in made or not 0 <= index < len(made[(name, node)]):
            raise KerasFileError(f"{where}: the model's input or output {history!r} names no "
                                 "layer output")
        tensors.append(made[(name, node)][index])
    return tensors if len(tensors) > 1 else tensors[0]


# --- the weights -------------------------------------------------------------------------
def _assign(store, tree, prefix):
    """Copy each layer's ``vars`` from the HDF5 store, in Keras' weight order."""
    for (class_name, layer, subtree), name in zip(tree, container_names(c for c, _, _ in tree)):
        path = f"{prefix}layers/{name}"
        if subtree is not None:
            _assign(store, subtree, f"{path}/")
            continue
        for group_path, weights in weight_groups(class_name, layer):
            _assign_group(store, f"{path}/{group_path}", class_name, layer, weights)


def _assign_group(store, path, class_name, layer, weights):
    group = _member(store, path)
    stored = sorted(group.keys(), key=_index) if group is not None else []
    if len(stored) != len(weights):
        raise KerasFileError(f"{path}: the weights file holds {len(stored)} arrays for "
                             f"{class_name} {layer and layer.name!r}, neuronet's layer has "
                             f"{len(weights)}")
    for key, weight in zip(stored, weights):
        dataset = _member(store, f"{path}/{key}")
        if not hasattr(dataset, "shape") or dataset.external or dataset.is_virtual:
            raise KerasFileError(f"{path}/{key} is not a dataset inside the file")
        if getattr(dataset, "dtype", None) is None or dataset.dtype.kind != "f" or \
                tuple(dataset.shape) != tuple(weight.shape):
            raise KerasFileError(f"{path}/{key} ({layer.name}/{weight.name}) has shape "
                                 f"{getattr(dataset, 'shape', None)} and dtype "
                                 f"{getattr(dataset, 'dtype', None)}, the layer expects "
                                 f"float {tuple(weight.shape)}")
        weight.data[...] = dataset[()]


def _member(store, path):
    """The group or dataset at ``path`` (None if absent), reached by hard links only: a soft
    or external link could lead the reader to other files on this machine."""
    import h5py

    node = store
    for part in path.split("/"):
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{path}: {type(link).__name__}s are not followed")
        node = node[part]
    return node


def _index(key):
    if not key.isdigit():
        raise KerasFileError(f"weight name {key!r} is not a Keras vars index")
    return int(key)
