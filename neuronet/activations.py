"""Activations by name, as Keras' ``activations.get("relu")``: one dict, get, serialize."""
from neuronet.ops import activation


def linear(x):
    """y = x;  dy/dx = 1 (the identity: no activation)."""
    return x


ACTIVATIONS = {
    "linear": linear,
    "sigmoid": activation.sigmoid,
    "tanh": activation.tanh,
    "relu": activation.relu,
    "leaky_relu": activation.leaky_relu,
    "elu": activation.elu,
    "softplus": activation.softplus,
    "softmax": activation.softmax,
    "log_softmax": activation.log_softmax,
}


def get(identifier):
    """The activation function for a name, a callable (returned as is), or None (linear).

    Example:
        >>> get("relu")(neuronet.tensor([-1.0, 2.0]))
        tensor([0., 2.], dtype=float32)
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str) or identifier not in ACTIVATIONS:
        raise ValueError(f"unknown activation {identifier!r}: expected one of "
                         f"{sorted(ACTIVATIONS)}, None or a callable")
    return ACTIVATIONS[identifier]


def serialize(function):
    """The registered name of an activation function (the inverse of ``get``)."""
    for name, registered in ACTIVATIONS.items():
        if registered is function:
            return name
    raise ValueError(f"activation {function!r} is not registered, so it cannot be saved by "
                     f"name: use one of {sorted(ACTIVATIONS)}")


def deserialize(name):
    """The activation function registered under ``name`` (same as ``get``)."""
    return get(name)
