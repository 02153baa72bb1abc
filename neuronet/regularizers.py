"""Weight and activity penalties, as Keras 3 defines them: a regularizer maps a tensor to a
scalar Tensor that training adds to the loss.

- ``L1(l1=0.01)``: ``l1 * sum(|x|)``;
- ``L2(l2=0.01)``: ``l2 * sum(x ** 2)`` (no 1/2: Keras' formula, not weight decay's);
- ``L1L2(l1=0.0, l2=0.0)``: both terms.

A layer takes them as ``kernel_regularizer=``, ``bias_regularizer=`` (penalties on its
weights, computed at each step from the weights' current values) and
``activity_regularizer=`` (a penalty on its output, each call). ``layer.losses`` lists
them; ``fit``, ``train_on_batch`` and ``evaluate`` add them to the loss they report.

Example:
    >>> layer = layers.Dense(4, kernel_regularizer=regularizers.L2(1e-3))
    >>> regularizers.get("l2").get_config()
    {'l2': 0.01}
"""
from neuronet import ops
from neuronet.registry import Configurable, Registry
from neuronet.tensor import Tensor


def _factor(regularizer, name, value):
    """A non-negative real number as a float; ValueError naming the argument otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{regularizer} expects {name} to be a non-negative number, "
                         f"got {value!r}")
    return float(value)


class Regularizer(Configurable):
    """Base class: ``regularizer(x)`` gives the penalty, a scalar Tensor."""

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(x)")


class L1L2(Regularizer):
    """penalty = l1 * sum(|x|) + l2 * sum(x ** 2). Defaults 0 (Keras): give at least one."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(type(self).__name__, "l1", l1)
        self.l2 = _factor(type(self).__name__, "l2", l2)

    def __call__(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        terms = []
        if self.l1:
            terms.append(self.l1 * ops.sum(ops.abs(x)))
        if self.l2:
            terms.append(self.l2 * ops.sum(x * x))
        if not terms:
            return Tensor(0.0, dtype=x.dtype)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """penalty = l1 * sum(|x|); its gradient is l1 * sign(x) (0 at x = 0, as PyTorch's abs)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """penalty = l2 * sum(x ** 2); its gradient is 2 * l2 * x."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


REGULARIZERS = Registry("regularizer", base=Regularizer, case_sensitive=False,
                        hint="register your own with neuronet.regularizers.register")


def register(cls=None, name=None, aliases=()):
    """Make a Regularizer subclass known to ``get`` and ``deserialize`` under ``name`` (its
    class name by default) and ``aliases``. Usable as a decorator."""
    return REGULARIZERS.register(cls, name, aliases)


register(L1, aliases=["l1"])
register(L2, aliases=["l2"])
register(L1L2, aliases=["l1_l2"])

# Keras' lowercase spellings: ``regularizers.l2(1e-4)`` builds an L2.
l1, l2, l1_l2 = L1, L2, L1L2


def serialize(regularizer):
    """``{"class_name": ..., "config": ...}``, or None for None. A plain function cannot be
    written: a config is data, never code."""
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer):
        raise ValueError(f"cannot serialize the regularizer {regularizer!r}: only Regularizer "
                         "instances can be saved; write it as a Regularizer subclass with "
                         "get_config and register it with neuronet.regularizers.register")
    return REGULARIZERS.serialize(regularizer)


def deserialize(description):
    """A new regularizer from ``serialize``'s dict (registered classes only)."""
    return REGULARIZERS.deserialize(description)


def get(identifier):
    """A regularizer from None, a name ('l2' gives ``L2()`` with Keras' default factor), a
    ``serialize`` dict, a Regularizer or a callable ``f(x) -> scalar Tensor``."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        return REGULARIZERS.get(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"cannot interpret {identifier!r} as a regularizer: expected None, a name "
                    "('l1', 'l2', 'l1_l2'), a config dict, a Regularizer or a callable")
