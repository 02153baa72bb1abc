"""Optimizers: update rules that move parameters against their gradients.

The base class ``Optimizer`` validates hyperparameters, keeps each parameter's
state (named slot arrays plus a step count) and loops over the parameters; a
subclass writes only ``create_slots`` and ``update(param, grad, state)``, a few
in-place NumPy lines run on every step. The names and defaults are Keras'; the
update rules are ``torch.optim``'s (which are the papers'), and the tests check
them against ``torch.optim`` step by step.

Example:
    >>> opt = get("adam", learning_rate=1e-3)
    >>> loss.backward()
    >>> opt.step(model.trainable_weights)
    >>> opt.zero_grad(model.trainable_weights)
"""
from neuronet.optimizers.adam import Adam, AdamW
from neuronet.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from neuronet.optimizers.optimizer import Optimizer
from neuronet.optimizers.sgd import SGD, Momentum

_OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
}


def _class_of(name):
    if not isinstance(name, str) or name.lower() not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: expected one of {sorted(_OPTIMIZERS)}")
    return _OPTIMIZERS[name.lower()]


def get(identifier, **kwargs):
    """An optimizer from a name ('adam', 'RMSprop', ...: case-insensitive), a
    ``serialize`` dict or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        if kwargs:
            raise ValueError(f"get: an optimizer instance takes no arguments, got {sorted(kwargs)}")
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _class_of(identifier)(**kwargs)
    raise TypeError(f"get expects an optimizer name, dict or instance, got "
                    f"{type(identifier).__name__}")


def serialize(optimizer):
    """``{"class_name": "Adam", "config": optimizer.get_config()}`` (Keras' layout)."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """The optimizer described by ``serialize(...)`` or by a plain ``get_config()``."""
    if "class_name" in config:
        return _class_of(config["class_name"]).from_config(config["config"])
    return _class_of(config.get("name")).from_config(config)
