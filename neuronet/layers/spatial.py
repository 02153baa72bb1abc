"""Layers that resize channels-last images without weights: UpSampling2D, ZeroPadding2D
and Cropping2D (Keras' names, arguments and configs); and the ``data_format`` check that
the image layers share."""
from neuronet import ops
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.ops.spatial import INTERPOLATIONS, edges
from neuronet.ops.windows import pair

IMAGE_LAYOUT = "(batch, height, width, channels)"


def check_data_format(layer, data_format):
    """'channels_last' for None or 'channels_last' (any case); ValueError naming the layer
    otherwise: neuronet's images are channels-last only."""
    if data_format is None or (isinstance(data_format, str) and
                               data_format.lower() == "channels_last"):
        return "channels_last"
    if isinstance(data_format, str) and data_format.lower() == "channels_first":
        raise ValueError(f"{layer.describe()} supports only data_format='channels_last' "
                         f"(inputs {IMAGE_LAYOUT}), got 'channels_first': transpose the images "
                         "first, e.g. x.transpose(0, 2, 3, 1)")
    raise ValueError(f"{layer.describe()} expects data_format None or 'channels_last', "
                     f"got {data_format!r}")


class _ImageLayer(Layer):
    """Base: 4-D channels-last inputs, ``data_format`` in the config."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)

    def input_spec(self):
        return InputSpec(ndim=4, layout=IMAGE_LAYOUT)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@register
class UpSampling2D(_ImageLayer):
    """Repeats (nearest) or interpolates (bilinear) the rows by fh and the columns by fw.

    Args:
        size: int or (fh, fw) positive factors.
        data_format: None or 'channels_last' (the only layout neuronet has).
        interpolation: 'nearest' (y[i, j] = x[i // fh, j // fw]) or 'bilinear'
            (half-pixel centres, as Keras / TensorFlow; see ``ops.upsample2d``).

    Shape:
        (batch, H, W, C) -> (batch, H * fh, W * fw, C).

    Example:
        >>> UpSampling2D(2)(np.zeros((8, 7, 7, 16))).shape
        (8, 14, 14, 16)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = pair(size, "size", self.describe())
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"{self.describe()} expects interpolation 'nearest' or "
                             f"'bilinear', got {interpolation!r}")
        self.interpolation = interpolation

    def call(self, x, training=False):
        return ops.upsample2d(x, self.size, self.interpolation)

    def compute_output_shape(self, input_shape):
        batch, h, w, c = input_shape
        return (batch,) + tuple(None if n is None else n * f
                                for n, f in zip((h, w), self.size)) + (c,)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size),
                "interpolation": self.interpolation}


@register
class ZeroPadding2D(_ImageLayer):
    """Surrounds the images with zeros.

    Args:
        padding: int (all sides), (rows, columns) (top = bottom = rows, left = right =
            columns) or ((top, bottom), (left, right)).
        data_format: None or 'channels_last'.

    Shape:
        (batch, H, W, C) -> (batch, top + H + bottom, left + W + right, C).
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = edges(padding, "padding", self.describe())

    def call(self, x, training=False):
        return ops.pad2d(x, self.padding)

    def compute_output_shape(self, input_shape):
        batch, h, w, c = input_shape
        return (batch,) + tuple(None if n is None else n + sum(p)
                                for n, p in zip((h, w), self.padding)) + (c,)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


@register
class Cropping2D(_ImageLayer):
    """Removes rows and columns at the images' edges.

    Args:
        cropping: int (all sides), (rows, columns) or ((top, bottom), (left, right)).
        data_format: None or 'channels_last'.

    Shape:
        (batch, H, W, C) -> (batch, H - top - bottom, W - left - right, C); at least one
        row and one column must remain.
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = edges(cropping, "cropping", self.describe())

    def call(self, x, training=False):
        self._check_fits(x.shape)
        return ops.crop2d(x, self.cropping)

    def _check_fits(self, input_shape):
        for n, crop in zip(input_shape[1:3], self.cropping):
            if n is not None and sum(crop) >= n:
                raise ValueError(f"{self.describe()}: cropping {self.cropping} leaves no "
                                 f"pixels of inputs of shape {tuple(input_shape)}")

    def compute_output_shape(self, input_shape):
        self._check_fits(input_shape)
        batch, h, w, c = input_shape
        return (batch,) + tuple(None if n is None else n - sum(crop)
                                for n, crop in zip((h, w), self.cropping)) + (c,)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping]}
