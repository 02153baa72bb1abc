"""keras.ops functions on placeholders: called on a symbolic tensor of a layer graph (a
functional model under construction), an op computes nothing and records itself as a node
of the graph instead, as Keras wraps such a call in an op layer.

The ops know no layers: a placeholder (``Placeholder``, which the graph's SymbolicTensor
derives from) is handed the call (``apply_op``) and records it. ``SYMBOLIC_OPS`` names the
ops that do this: what a saved graph may name (``layers.OpLayer`` looks them up here by
name; nothing else is called on loading).
"""
import functools


class Placeholder:
    """A symbolic stand-in for data: an op called on one returns ``apply_op(...)``."""

    def apply_op(self, name, args, kwargs):
        """The symbolic result of ``neuronet.ops.<name>(*args, **kwargs)``."""
        raise NotImplementedError(f"{type(self).__name__} must define apply_op")


def first_placeholder(values):
    """The first Placeholder among ``values`` (looking into lists and tuples), or None."""
    for value in values:
        if isinstance(value, Placeholder):
            return value
        if isinstance(value, (list, tuple)):
            found = first_placeholder(value)
            if found is not None:
                return found
    return None


def on_placeholders(name, function):
    """``function``, that hands a call with a placeholder among its arguments to it."""
    @functools.wraps(function)
    def op(*args, **kwargs):
        placeholder = first_placeholder(args)
        if placeholder is None and kwargs:
            placeholder = first_placeholder(kwargs.values())
        if placeholder is None:
            return function(*args, **kwargs)
        return placeholder.apply_op(name, args, kwargs)
    return op


SYMBOLIC_OPS = frozenset("""
    abs absolute add all amax amin any argmax argmin broadcast_to cast ceil clip concatenate cumsum
    divide elu equal exp expand_dims floor gelu greater greater_equal leaky_relu less
    less_equal log log_softmax logical_and logical_not logical_or logsumexp matmul max
    maximum mean min minimum moveaxis multiply negative norm not_equal one_hot pad power
    ravel relu repeat reshape round sigmoid sign silu softmax softplus split sqrt square
    squeeze stack std stop_gradient subtract sum swapaxes swish take tanh tile transpose
    true_divide var where getitem
""".split())
