"""What the window layers (Conv2D and the poolings) share: their ``padding`` argument and
the output size along one axis, for shapes whose sizes may be unknown (None).

The ops' geometry (``neuronet.ops.windows``) takes any padding (ints, pairs) and known
sizes; a layer takes only Keras' 'valid' or 'same' and infers shapes before it sees data.
"""
from neuronet.ops.windows import output_size

PADDINGS = ("valid", "same")


def check_padding(layer, padding):
    """'valid' or 'same' (any case), lower-cased; ValueError naming the layer otherwise."""
    if not isinstance(padding, str) or padding.lower() not in PADDINGS:
        raise ValueError(f"{layer.describe()} expects padding 'valid' or 'same', got {padding!r}")
    return padding.lower()


def window_output_size(size, window, stride, padding, dilation=1):
    """Outputs along one axis: ceil(size / stride) for 'same',
    (size - (window - 1) * dilation - 1) // stride + 1 for 'valid'; None stays None."""
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return output_size(size, (0, 0), window, stride, dilation)
