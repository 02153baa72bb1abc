"""The table of converters: one function per layer class, found by the layer's exact class.

A converter is ``function(graph, layer, inputs) -> output name(s)``: ``inputs`` are
``Value``s already in the layout the converter asked for when it was registered:

- ``NCHW``: 4-D inputs transposed to (N, C, H, W) (Conv, pools, Resize);
- ``NHWC``: 4-D inputs in neuronet's own layout (Dense, Flatten, Reshape, ...);
- ``FOLLOW``: the first 4-D input's layout, the others brought to it (elementwise layers,
  padding, merges: they map neuronet's axes with ``Value.axis``);
- ``None``: the inputs as they come, and the converter returns ``Value``s (nested models).

New layer families (recurrent layers, say) add a module of converters registered with
``@converts(LSTM, layout=NHWC)`` and import it in this package's ``__init__``. The exact
class is looked up (not its bases): a subclass may compute something else.
"""
from neuronet.io.onnx.graph import NCHW, NHWC  # noqa: F401 - the layouts converters name

FOLLOW = "follow"
CONVERTERS = {}


class OnnxExportError(ValueError):
    """A model or layer that cannot be written as ONNX; the message names it."""


class Converter:
    def __init__(self, function, layout, masks):
        self.function, self.layout, self.masks = function, layout, masks


def converts(*classes, layout=FOLLOW, masks=False):
    """Register the decorated function as the converter of ``classes``; ``masks``: it
    honours the mask its inputs carry (``Value.mask``), for a layer whose call reads one."""
    def register(function):
        for cls in classes:
            CONVERTERS[cls] = Converter(function, layout, masks)
        return function
    return register


def converter_for(layer):
    """The converter of ``layer``'s class; OnnxExportError naming the layer otherwise."""
    converter = CONVERTERS.get(type(layer))
    if converter is None:
        raise OnnxExportError(f"ONNX export: {unsupported_message([layer])}")
    return converter


def unsupported_message(layers):
    """Why ``layers`` (of classes without a converter) cannot be exported."""
    named = ", ".join(layer.describe() for layer in layers)
    classes = sorted({cls.__name__ for cls in CONVERTERS})
    return (f"{named} cannot be exported: no ONNX converter for "
            f"{'its class' if len(layers) == 1 else 'their classes'} (a Lambda or a custom "
            f"layer runs Python code, which an ONNX graph cannot hold). Layers that export: "
            f"{', '.join(classes)}")
