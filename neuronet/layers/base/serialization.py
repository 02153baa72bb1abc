"""The registry of layer classes, which turns ``{"class_name": ..., "config": ...}``
back into layers."""
from neuronet.layers.base.layer import Layer
from neuronet.registry import Registry

LAYERS = Registry("layer class", base=Layer,
                     hint="register your own with neuronet.layers.register")


def register(cls=None, name=None):
    """Make a Layer subclass known to ``get`` and ``deserialize`` under ``name``
    (its class name by default). Usable as a decorator: ``@layers.register`` or
    ``@layers.register(name=...)``."""
    return LAYERS.register(cls, name)


def get(class_name):
    """The registered layer class called ``class_name``."""
    return LAYERS.get(class_name)


def serialize(layer):
    """``{"class_name": ..., "config": ...}`` for a layer (JSON-able)."""
    return LAYERS.serialize(layer)


def deserialize(description):
    """A new layer from ``serialize``'s dict; only registered classes, never an import path."""
    return get(description["class_name"]).from_config(dict(description["config"]))
