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

Or the PyTorch way (PyTorch's argument names and defaults, see ``torch_form``)::

    >>> opt = Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    >>> opt.zero_grad(); loss.backward(); opt.step()

``learning_rate`` may be a schedule of ``schedules`` (``ExponentialDecay``,
``PiecewiseConstantDecay``, ``CosineDecay``).
"""
from neuronet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from neuronet.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from neuronet.optimizers import schedules
from neuronet.optimizers.optimizer import Optimizer
from neuronet.optimizers.sgd import SGD, Momentum
from neuronet.registry import Registry

OPTIMIZERS = Registry("optimizer", base=Optimizer, case_sensitive=False)


def register(cls=None, name=None, aliases=()):
    """Make an Optimizer subclass known to ``get`` and ``deserialize`` under ``name`` (its
    class name by default) and ``aliases``, whatever their case ('Adam', 'adam').
    Usable as a decorator: ``@optimizers.register`` or ``@optimizers.register(name=...)``."""
    return OPTIMIZERS.register(cls, name, aliases)


for _cls in (SGD, Momentum, Adagrad, RMSprop, Adadelta, Adam, AdamW, Nadam, Adamax):
    register(_cls)


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
        return OPTIMIZERS.get(identifier)(**kwargs)
    raise TypeError(f"get expects an optimizer name, dict or instance, got "
                    f"{type(identifier).__name__}")


def serialize(optimizer):
    """``{"class_name": "Adam", "config": optimizer.get_config()}`` (Keras' layout)."""
    return OPTIMIZERS.serialize(optimizer)


def deserialize(config):
    """The optimizer described by ``serialize(...)`` or by a plain ``get_config()``."""
    if "class_name" in config:
        return OPTIMIZERS.deserialize(config)
    return OPTIMIZERS.get(config.get("name")).from_config(config)
