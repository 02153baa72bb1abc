"""The Keras 3 layers neuronet reads and writes, and how their configs translate.

A Keras layer config is a dict of arguments. Each supported layer names the arguments it
passes on (``ARGS``), those that must keep their Keras default because neuronet has no
such option (``FIXED``), and those that change nothing at inference (initializers,
regularizers, constraints, ``seed``: ``IGNORED``). Anything else is
refused unless it is null: a file is read only as far as it is understood.
"""
from neuronet import layers as nn_layers
from neuronet.io.keras.errors import KerasFileError

# Keras' activation names that neuronet's functions compute exactly (Keras' 'leaky_relu'
# activation has slope 0.2, neuronet's 0.01: the LeakyReLU layer carries its slope instead).
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax", "elu", "softplus",
               "log_softmax")

IGNORED = {"name", "trainable", "dtype", "seed", "kernel_initializer",
           "bias_initializer", "beta_initializer", "gamma_initializer",
           "moving_mean_initializer", "moving_variance_initializer", "kernel_regularizer",
           "bias_regularizer", "beta_regularizer", "gamma_regularizer",
           "activity_regularizer", "kernel_constraint", "bias_constraint", "beta_constraint",
           "gamma_constraint", "noise_shape", "renorm_momentum", "recurrent_initializer",
           "recurrent_regularizer", "recurrent_constraint", "embeddings_initializer",
           "embeddings_regularizer", "embeddings_constraint", "unit_forget_bias",
           "quantization_config", "unroll"}
RECURRENT = ("SimpleRNN", "LSTM", "GRU")
WRAPPERS = ("TimeDistributed", "Bidirectional")

_CHANNELS_LAST = {"data_format": "channels_last"}


def _activation(value):
    if value is None:
        return "linear"
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise KerasFileError(f"activation {value!r} is not one neuronet computes as Keras "
                             f"does; known: {list(ACTIVATIONS)}")
    return value


def _same(value):
    return value


def _shape(value):
    return tuple(value)


def _axis(value):
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int):
        raise KerasFileError(f"axis {value!r}: neuronet reads a single int axis here")
    return value


_RNN_ARGS = {"units": int, "activation": _activation, "use_bias": bool, "dropout": float,
             "recurrent_dropout": float, "return_sequences": bool, "return_state": bool,
             "go_backwards": bool, "zero_output_for_mask": bool}
_RNN_FIXED = {"stateful": False}
_POOL1D = {"pool_size": _shape, "strides": _shape, "padding": _same}

# Keras class name -> neuronet class, {keras argument: converter}, {argument: required value}
SPEC = {
    "Dense": (nn_layers.Dense, {"units": int, "activation": _activation, "use_bias": bool},
              {"lora_rank": None}),
    "Conv2D": (nn_layers.Conv2D,
               {"filters": int, "kernel_size": _shape, "strides": _shape, "padding": _same,
                "dilation_rate": _shape, "activation": _activation, "use_bias": bool},
               {**_CHANNELS_LAST, "groups": 1, "lora_rank": None}),
    "MaxPooling2D": (nn_layers.MaxPooling2D,
                     {"pool_size": _shape, "strides": _shape, "padding": _same},
                     _CHANNELS_LAST),
    "AveragePooling2D": (nn_layers.AveragePooling2D,
                         {"pool_size": _shape, "strides": _shape, "padding": _same},
                         _CHANNELS_LAST),
    "GlobalAveragePooling2D": (nn_layers.GlobalAveragePooling2D, {"keepdims": bool},
                               _CHANNELS_LAST),
    "GlobalMaxPooling2D": (nn_layers.GlobalMaxPooling2D, {"keepdims": bool},
                           _CHANNELS_LAST),
    "Flatten": (nn_layers.Flatten, {}, _CHANNELS_LAST),
    "Reshape": (nn_layers.Reshape, {"target_shape": _shape}, {}),
    "Dropout": (nn_layers.Dropout, {"rate": float}, {}),
    "BatchNormalization": (nn_layers.BatchNormalization,
                           {"axis": _axis, "epsilon": float, "center": bool, "scale": bool,
                            "momentum": float},
                           {"synchronized": False, "renorm": False}),
    "Activation": (nn_layers.Activation, {"activation": _activation}, {}),
    "ReLU": (nn_layers.ReLU, {}, {"max_value": None, "negative_slope": 0.0,
                                  "threshold": 0.0}),
    "LeakyReLU": (nn_layers.LeakyReLU, {"negative_slope": float}, {}),
    "Softmax": (nn_layers.Softmax, {"axis": _axis}, {}),
    "Add": (nn_layers.Add, {}, {}),
    "Subtract": (nn_layers.Subtract, {}, {}),
    "Multiply": (nn_layers.Multiply, {}, {}),
    "Average": (nn_layers.Average, {}, {}),
    "Maximum": (nn_layers.Maximum, {}, {}),
    "Minimum": (nn_layers.Minimum, {}, {}),
    "Concatenate": (nn_layers.Concatenate, {"axis": _axis}, {}),
    "Embedding": (nn_layers.Embedding, {"input_dim": int, "output_dim": int,
                                        "mask_zero": bool}, {}),
    "Masking": (nn_layers.Masking, {"mask_value": float}, {}),
    "Conv1D": (nn_layers.Conv1D,
               {"filters": int, "kernel_size": _shape, "strides": _shape, "padding": _same,
                "dilation_rate": _shape, "activation": _activation, "use_bias": bool},
               {**_CHANNELS_LAST, "groups": 1, "lora_rank": None}),
    "MaxPooling1D": (nn_layers.MaxPooling1D, _POOL1D, _CHANNELS_LAST),
    "AveragePooling1D": (nn_layers.AveragePooling1D, _POOL1D, _CHANNELS_LAST),
    "GlobalAveragePooling1D": (nn_layers.GlobalAveragePooling1D, {"keepdims": bool},
                               _CHANNELS_LAST),
    "GlobalMaxPooling1D": (nn_layers.GlobalMaxPooling1D, {"keepdims": bool}, _CHANNELS_LAST),
    "SimpleRNN": (nn_layers.SimpleRNN, _RNN_ARGS, _RNN_FIXED),
    "LSTM": (nn_layers.LSTM, {**_RNN_ARGS, "recurrent_activation": _activation}, _RNN_FIXED),
    "GRU": (nn_layers.GRU, {**_RNN_ARGS, "recurrent_activation": _activation,
                            "reset_after": bool}, _RNN_FIXED),
    "TimeDistributed": (nn_layers.TimeDistributed, {}, {}),
    "Bidirectional": (nn_layers.Bidirectional, {"merge_mode": _same}, {}),
}

REFUSED = {"Lambda": "a Lambda layer holds Python code (marshalled bytecode)",
           "TFSMLayer": "a TFSMLayer runs a TensorFlow SavedModel"}


def to_neuronet(class_name, config, where, inner=None):
    """A new neuronet layer for a Keras layer's ``class_name`` and ``config``; ``inner``
    turns a wrapper's nested layer description into a neuronet layer."""
    if class_name in REFUSED:
        raise KerasFileError(f"{where}: {REFUSED[class_name]}; neuronet never runs code "
                             "from a file")
    if class_name not in SPEC:
        raise KerasFileError(f"{where}: layer class {class_name!r} is not one neuronet reads; "
                             f"it reads {sorted(SPEC)} and functional/Sequential models")
    cls, arguments, fixed = SPEC[class_name]
    if not isinstance(config, dict):
        raise KerasFileError(f"{where}: the config of {class_name} is not a dict")
    kwargs, positional = {}, []
    if class_name in WRAPPERS:
        positional.append(inner(config.get("layer"), f"{where} (wrapped layer)"))
        if class_name == "Bidirectional" and config.get("backward_layer") is not None:
            kwargs["backward_layer"] = inner(config["backward_layer"],
                                             f"{where} (backward layer)")
    for key, value in config.items():
        if key in ("layer", "backward_layer") and class_name in WRAPPERS:
            continue
        if key in arguments:
            try:
                kwargs[key] = arguments[key](value) if value is not None else None
            except KerasFileError as error:
                raise KerasFileError(f"{where}: {class_name} {key}: {error}") from None
        elif key in fixed:
            if value != fixed[key]:
                raise KerasFileError(f"{where}: {class_name} with {key}={value!r} is not "
                                     f"supported (neuronet computes {key}={fixed[key]!r})")
        elif key not in IGNORED and value is not None:
            raise KerasFileError(f"{where}: {class_name} argument {key}={value!r} is not "
                                 "understood by neuronet")
    kwargs = {key: value for key, value in kwargs.items()
              if value is not None or key == "merge_mode"}
    try:
        return cls(*positional, name=config.get("name"), dtype=dtype_of(config, where),
                   **kwargs)
    except (TypeError, ValueError) as error:
        raise KerasFileError(f"{where}: {class_name} config does not make a layer: "
                             f"{error}") from None


def weight_groups(class_name, layer):
    """[(path inside the layer's group, weights)] in Keras' weights-file layout: a
    recurrent layer keeps its weights in its cell, a wrapper in its wrapped layers."""
    if class_name in RECURRENT:
        return [("vars", []), ("cell/vars", layer.weights)]
    if class_name == "TimeDistributed":
        wrapped = type(layer.layer).__name__
        return [("vars", [])] + [(f"layer/{path}", weights) for path, weights
                                 in weight_groups(wrapped, layer.layer)]
    if class_name == "Bidirectional":
        groups = [("vars", [])]
        for side in ("forward_layer", "backward_layer"):
            sub = getattr(layer, side)
            groups += [(f"{side}/{path}", weights)
                       for path, weights in weight_groups(type(sub).__name__, sub)]
        return groups
    return [("vars", layer.weights if layer is not None else [])]


def dtype_of(config, where):
    """'float32' or 'float64' from a layer's dtype (a name or a DTypePolicy dict)."""
    policy = config.get("dtype", "float32")
    if isinstance(policy, dict):
        policy = (policy.get("config") or {}).get("name")
    if policy is None:
        return "float32"
    if policy not in ("float32", "float64"):
        raise KerasFileError(f"{where}: dtype policy {policy!r} is not supported; neuronet "
                             "reads float32 and float64 models")
    return policy

