"""Activations by name, as Keras' ``activations.get("relu")``: one registry, get, serialize."""
from neuronet.ops import activation
from neuronet.registry import Registry


def linear(x):
    """y = x;  dy/dx = 1 (the identity: no activation)."""
    return x


ACTIVATIONS = Registry("activation", hint="or None or a callable")


def register(function=None, name=None, aliases=()):
    """Make an activation function known to ``get`` and ``serialize`` under ``name`` (its
    ``__name__`` by default) and ``aliases``, so layers using it save it by name.
    Usable as a decorator: ``@activations.register`` or
    ``@activations.register(aliases=[...])``."""
    return ACTIVATIONS.register(function, name, aliases)


for _function in (linear, activation.sigmoid, activation.tanh, activation.relu,
                  activation.leaky_relu, activation.elu, activation.softplus, activation.softmax,
                  activation.log_softmax):
    register(_function)


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
    return ACTIVATIONS.get(identifier)


def serialize(function):
    """The registered name of an activation function (the inverse of ``get``)."""
    return ACTIVATIONS.name_of(function)


def deserialize(name):
    """The activation function registered under ``name`` (same as ``get``)."""
    return get(name)
