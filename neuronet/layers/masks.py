"""Masks: which time steps of a sequence are real (True) and which are padding (False).

Keras' mechanism, as Keras 3 runs it eagerly. A mask travels with the tensor it
describes: a boolean array of shape (batch, steps) in the attribute ``_keras_mask`` of
a layer's output Tensor (Keras' name). Calling a layer (``Layer.__call__``):

1. reads the mask of its input (for a list of inputs, the list of their masks), unless
   the call is given ``mask=`` explicitly;
2. passes it to ``call`` when ``call`` accepts a ``mask`` argument (a recurrent layer's
   ``call(inputs, training=False, mask=None, initial_state=None)`` receives it so);
3. after ``call``, for a layer whose ``supports_masking`` is True, attaches
   ``compute_mask(inputs, mask)`` to each output that carries no mask yet (by default
   the input's mask, unchanged: layers that work step by step, such as Dense, Dropout
   and Activation, pass it on); for a layer that does not support masking but received
   a mask, warns that the mask stops there (Keras 3's UserWarning).

Sequential and functional models need nothing more: each layer's output carries its
mask to the next layer, in a chain or a graph, with or without a tape (a mask is data,
never read from the autograd graph). ``model(x, mask=m)`` attaches ``m`` to the inputs.
"""
import warnings

from neuronet import ops
from neuronet.backend import xp
from neuronet.layers import node as graph
from neuronet.tensor import Tensor

ATTRIBUTE = "_keras_mask"


def get_mask(value):
    """The mask a Tensor carries, or None (anything else carries none)."""
    return getattr(value, ATTRIBUTE, None) if isinstance(value, Tensor) else None


def set_mask(tensor, mask):
    """Attach ``mask`` (converted to a boolean array; None removes it) to ``tensor``."""
    setattr(tensor, ATTRIBUTE, as_mask(mask))


def as_mask(mask):
    """A boolean array of ``mask`` (an array, a Tensor, nested lists); a list of several
    masks (a layer of several inputs) stays a list; None stays None."""
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)) and any(m is None or isinstance(m, (Tensor, xp.ndarray))
                                               for m in mask):
        return [as_mask(m) for m in mask]
    data = mask.data if isinstance(mask, Tensor) else mask
    return xp.asarray(data).astype(bool, copy=False)


def carried(inputs):
    """The mask of ``inputs``: one Tensor's, or the list of a list's (None when none of
    them has one), as ``call`` receives it."""
    if isinstance(inputs, (list, tuple)):
        found = [get_mask(x) for x in inputs]
        return None if all(m is None for m in found) else found
    return get_mask(inputs)


def with_mask(x, mask):
    """A Tensor of ``x``'s values carrying ``mask`` (a new Tensor on the tape, so the
    caller's own Tensor keeps what it carries)."""
    alias = ops.reshape(x, x.shape)
    set_mask(alias, mask)
    return alias


def attach_output_masks(layer, inputs, outputs, mask):
    """Step 3 of the mechanism (see the module's docstring)."""
    if not layer.supports_masking:
        if mask is not None and any(m is not None for m in graph.flatten(mask)):
            warnings.warn(f"{layer.describe()} was passed an input with a mask attached to "
                          "it, but it does not support masking: downstream layers will not "
                          "see the mask", UserWarning, stacklevel=3)
        return
    flat = [t for t in graph.flatten(outputs) if isinstance(t, Tensor)]
    if not flat or all(get_mask(t) is not None for t in flat):
        return
    computed = layer.compute_mask(inputs, mask)
    if computed is None:
        return
    for tensor, each in zip(flat, graph.flatten(computed)):
        if get_mask(tensor) is None and each is not None:
            set_mask(tensor, each)
