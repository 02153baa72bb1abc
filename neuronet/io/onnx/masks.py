"""Masks in the exported graph: a Value's ``mask`` names a (batch, steps) boolean tensor
of the real steps, made where neuronet makes one (``@makes_mask``: Embedding with
``mask_zero``, Masking) and passed on as ``neuronet.layers.masks`` passes it: unchanged by
a layer that supports masking with the default ``compute_mask``, joined (logical and) by
the merges, dropped elsewhere. A layer whose call reads a mask exports only where its
converter honours it (``converts(..., masks=True)``); else one clear error names it.
"""
import functools

from neuronet.io.onnx.table import OnnxExportError
from neuronet.layers import Bidirectional, Concatenate, Dot, GlobalAveragePooling1D, Layer
from neuronet.layers.recurrent.base import RNN
from neuronet.layers.base import _call_accepts
from neuronet.layers.merging import Merge

MASK_MAKERS = {}  # layer class -> function(graph, layer, inputs) -> mask name or None


def makes_mask(*classes):
    """Register the decorated function as the maker of ``classes``' output masks."""
    def register(function):
        for cls in classes:
            MASK_MAKERS[cls] = function
        return function
    return register


def check_mask_use(layer, inputs, honours_masks):
    """OnnxExportError naming ``layer`` when it would read a mask its converter ignores."""
    if honours_masks or not any(v.mask for v in inputs):
        return
    if _call_accepts(type(layer), "mask"):
        raise OnnxExportError(f"ONNX export: {layer.describe()} receives a mask (from an "
                              "Embedding with mask_zero=True or a Masking layer) and its "
                              "converter cannot honour it; export the model without the mask")


def output_mask(graph, layer, inputs):
    """The mask name of ``layer``'s (first) output, or None, as neuronet computes it."""
    maker = MASK_MAKERS.get(type(layer))
    if maker is not None:
        return maker(graph, layer, inputs)
    given = [v.mask for v in inputs if v.mask]
    if not layer.supports_masking or not given:
        return None
    if type(layer).compute_mask is Layer.compute_mask:
        return inputs[0].mask
    if isinstance(layer, Dot):
        return None
    if isinstance(layer, (RNN, Bidirectional)):  # a sequence output keeps the input's mask
        return inputs[0].mask if layer.return_sequences else None
    if isinstance(layer, Concatenate) and layer._axis(inputs[0].rank) == 1:
        raise OnnxExportError(f"ONNX export: {layer.describe()} joins masked sequences along "
                              "the steps, which has no converter; export without the mask")
    if isinstance(layer, Merge):
        return functools.reduce(lambda a, b: graph.node("And", [a, b], f"{layer.name}/mask"),
                                given)
    if isinstance(layer, GlobalAveragePooling1D):
        return None  # the mask ends here
    # a compute_mask of its own, unknown here: no silent guess at what it passes on
    raise OnnxExportError(f"ONNX export: {layer.describe()} computes the mask of its output "
                          "in a way the export does not know; export the model without the "
                          "mask")
