"""Keras 3 operations in a functional model, read as neuronet ``OpLayer``s.

``keras.ops.not_equal(ids, 0)`` on a Keras tensor records an op layer: class ``NotEqual``
of module ``keras.src.ops.numpy``, whose config holds the op's options (``Sum``: axis,
keepdims) and whose one inbound node holds the call's positional arguments (Keras
tensors and numbers). Keras writes the masks of a functional model so (a Masking layer's
``any(not_equal(x, 0), axis=-1)``) and passes them on as ``mask=``. Each op of ``OPTIONS``
is the neuronet op of the same name in snake case (``NotEqual`` -> ``ops.not_equal``).
Op layers hold no weights, and Keras leaves them out of ``model.layers`` and so of the
weights file's names.
"""
from neuronet.io.keras.errors import KerasFileError
from neuronet.io.keras.naming import snake_case
from neuronet.layers import OpLayer
from neuronet.layers.op_layer import Slot

MODULES = ("keras.src.ops.numpy", "keras.src.ops.core", "keras.src.ops.nn")
CAST_DTYPES = ("float32", "float64", "bool", "int32", "int64")

_REDUCE = {"axis": "axis", "keepdims": "keepdims"}
_PLAIN = ("Absolute", "Exp", "Log", "Sqrt", "Square", "Tanh", "Negative", "Sign", "Floor",
          "Ceil", "LogicalNot", "Sigmoid", "Relu", "Softplus",
          "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power",
          "Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalAnd",
          "LogicalOr", "Matmul")
# Keras op class -> {its config option: the neuronet op's keyword}
OPTIONS = {**{name: {} for name in _PLAIN},
           "Sum": _REDUCE, "Mean": _REDUCE, "Max": _REDUCE, "Min": _REDUCE, "Any": _REDUCE,
           "All": _REDUCE, "ExpandDims": {"axis": "axis"}, "Squeeze": {"axis": "axis"},
           "Reshape": {"newshape": "new_shape"}, "Transpose": {"axes": "axes"},
           "Cast": {"dtype": "dtype"}, "Clip": {"x_min": "low", "x_max": "high"},
           "Softmax": {"axis": "axis"}, "LogSoftmax": {"axis": "axis"}}
# Options neuronet's op lacks, which must keep Keras' default.
FIXED = {"Max": {"initial": None}, "Min": {"initial": None}}


def is_op_layer(description):
    """Whether a layer description is a Keras operation (its module is Keras' ops)."""
    module = description.get("module")
    return isinstance(module, str) and module.startswith("keras.src.ops")


def op_layer(class_name, config, nodes, where):
    """(an OpLayer doing the Keras op, the Keras tensors its call reads, in order)."""
    if class_name not in OPTIONS:
        raise KerasFileError(f"{where}: Keras op {class_name!r} (keras.ops."
                             f"{snake_case(class_name)}) is not one neuronet reads; it reads "
                             f"{sorted(OPTIONS)}")
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise KerasFileError(f"{where}: a Keras op layer is called once, its config has "
                             f"{len(nodes) if isinstance(nodes, list) else 'no list of'} calls")
    args, tensors = _arguments(nodes[0], where)
    kwargs = _options(class_name, config, where)
    return OpLayer(snake_case(class_name), args, kwargs, name=config.get("name"),
                   dtype=_float_dtype(tensors)), tensors


def _arguments(node, where):
    """(the call's arguments, each Keras tensor a Slot; those tensors)."""
    args, kwargs = node.get("args"), node.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise KerasFileError(f"{where}: an op call must be {{'args': [...], 'kwargs': {{}}}}, "
                             f"got {str(node)[:80]}")
    if any(value is not None for value in kwargs.values()):
        raise KerasFileError(f"{where}: an op call with keyword arguments {sorted(kwargs)} is "
                             "not read")
    slots, tensors = [], []
    for value in args:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            slots.append(Slot(len(tensors)))
            tensors.append(value)
        elif isinstance(value, (int, float)):  # a constant operand: ``x * 2.0``
            slots.append(value)
        else:
            raise KerasFileError(f"{where}: op argument {str(value)[:80]} is neither a Keras "
                                 "tensor nor a number")
    if not tensors:
        raise KerasFileError(f"{where}: an op call reads no Keras tensor")
    return slots, tensors


def _options(class_name, config, where):
    kwargs, fixed = {}, FIXED.get(class_name, {})
    for key, value in config.items():
        if key in OPTIONS[class_name]:
            kwargs[OPTIONS[class_name][key]] = _option(key, value, where)
        elif key in fixed:
            if value != fixed[key]:
                raise KerasFileError(f"{where}: {class_name} with {key}={value!r} is not "
                                     f"supported (neuronet computes {key}={fixed[key]!r})")
        elif key != "name":
            raise KerasFileError(f"{where}: {class_name} option {key}={value!r} is not "
                                 "understood by neuronet")
    return kwargs


def _option(key, value, where):
    """An option as the neuronet op takes it: a list of ints (axes, a shape) as a tuple."""
    if key == "dtype":
        if value not in CAST_DTYPES:
            raise KerasFileError(f"{where}: cast to {value!r}; neuronet reads casts to "
                                 f"{list(CAST_DTYPES)}")
        return value
    if isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool)
                                       for n in value):
        return tuple(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise KerasFileError(f"{where}: option {key}={str(value)[:80]} is not a number, a bool or "
                         "a list of ints")


def _float_dtype(tensors):
    """The op's float dtype: float64 when a float64 tensor feeds it, else float32."""
    dtypes = [(tensor.get("config") or {}).get("dtype") for tensor in tensors]
    return "float64" if "float64" in dtypes else "float32"
