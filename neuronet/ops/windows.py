"""Window geometry shared by convolution and pooling on channels-last images: argument
checks, 'same' padding, output sizes, padding into a buffer and the strided views of the
windows' taps."""
from numpy.lib.stride_tricks import as_strided

from neuronet.backend import xp


def _is_int(value):
    return isinstance(value, (int, xp.integer)) and not isinstance(value, bool)


def pair(value, name, op):
    """An int or a pair of ints as a (rows, columns) pair of positive ints."""
    values = (value, value) if _is_int(value) else value
    if not isinstance(values, (tuple, list)):
        values = ()
    if len(values) != 2 or not all(_is_int(v) and v > 0 for v in values):
        raise ValueError(f"{op}: {name} must be a positive int or a pair of positive ints, "
                         f"got {value!r}")
    return int(values[0]), int(values[1])


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding of one axis as (before, after).

    total = max((ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0),
    the odd pixel going after (bottom / right), so the output has ceil(size / stride) pixels.
    """
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, image_hw, kernel_hw, strides, dilation, op):
    """``padding`` ('valid', 'same', int, pair or ((top, bottom), (left, right))) as
    ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            axes = zip(image_hw, kernel_hw, strides, dilation)
            return tuple(same_padding(*axis) for axis in axes)
    elif _is_int(padding):
        return (padding, padding), (padding, padding)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(_is_int(p) for p in padding):
            return (padding[0], padding[0]), (padding[1], padding[1])
        if all(isinstance(p, (tuple, list)) and len(p) == 2 and all(map(_is_int, p))
               for p in padding):
            return tuple(tuple(p) for p in padding)
    raise ValueError(f"{op}: padding must be 'valid', 'same', an int, a pair of ints or "
                     f"((top, bottom), (left, right)), got {padding!r}")


def output_size(size, pads, kernel, stride, dilation=1):
    """Windows along one axis: (size + before + after - span) // stride + 1."""
    span = (kernel - 1) * dilation + 1
    return (size + pads[0] + pads[1] - span) // stride + 1


def check_window_fits(x_shape, pads, kernel_hw, dilation, op):
    """Raise ValueError when the (dilated) window is larger than the padded image."""
    padded = tuple(n + p[0] + p[1] for n, p in zip(x_shape[1:3], pads))
    spans = tuple((k - 1) * d + 1 for k, d in zip(kernel_hw, dilation))
    if any(p < 0 for axis in pads for p in axis):
        raise ValueError(f"{op}: padding must not be negative, got {pads}")
    if spans[0] > padded[0] or spans[1] > padded[1]:
        raise ValueError(f"{op}: the window spans {spans[0]}x{spans[1]} pixels, larger than the "
                         f"padded input {padded[0]}x{padded[1]} (input shape {x_shape}, "
                         f"padding {pads})")


def pad_image(x, pads, fill, out=None):
    """x (N, H, W, C) surrounded by ``fill``, written once into ``out`` (a new buffer if
    None); x itself when there is no padding. Every element of ``out`` is written."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    h, w = x.shape[1:3]
    if out is None:
        out = xp.empty(padded_shape(x.shape, pads), dtype=x.dtype)
    out[:, :top] = fill
    out[:, top + h:] = fill
    out[:, top:top + h, :left] = fill
    out[:, top:top + h, left + w:] = fill
    out[:, top:top + h, left:left + w] = x
    return out


def padded_shape(x_shape, pads):
    """The shape of ``pad_image``'s result for an input of ``x_shape``."""
    (top, bottom), (left, right) = pads
    n, h, w, c = x_shape
    return n, top + h + bottom, left + w + right, c


def crop(x, pads, image_hw):
    """The view of a padded (N, Hp, Wp, C) array that covers the original image."""
    (top, _), (left, _) = pads
    return x[:, top:top + image_hw[0], left:left + image_hw[1]]


def offset_slices(kernel_hw, out_hw, strides, dilation=(1, 1)):
    """For each kernel offset (i, j), row-major, the index of the padded-image pixels
    it meets in every window: x[:, i*d + s*ho, j*d + s*wo, :] for all (ho, wo)."""
    slices = []
    for i in range(kernel_hw[0]):
        rows = slice(i * dilation[0], i * dilation[0] + (out_hw[0] - 1) * strides[0] + 1,
                     strides[0])
        for j in range(kernel_hw[1]):
            cols = slice(j * dilation[1], j * dilation[1] + (out_hw[1] - 1) * strides[1] + 1,
                         strides[1])
            slices.append((slice(None), rows, cols, slice(None)))
    return slices


def windows(xpad, kernel_hw, out_hw, strides, dilation):
    """Read-only (N, Ho, Wo, kh, kw, C) view of every window of xpad (no copy)."""
    sn, sh, sw, sc = xpad.strides
    shape = (xpad.shape[0],) + out_hw + kernel_hw + (xpad.shape[3],)
    steps = (sn, sh * strides[0], sw * strides[1], sh * dilation[0], sw * dilation[1], sc)
    return as_strided(xpad, shape, steps, writeable=False)
