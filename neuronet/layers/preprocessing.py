"""Preprocessing layers with Keras' names and arguments: ``Rescaling``, and the image
augmentation layers ``RandomFlip``, ``RandomTranslation``, ``RandomRotation`` and
``RandomZoom``, which act only with ``training=True`` (the identity in inference).

The augmentation layers draw one random transform per image of the batch from a
generator seeded with their ``seed=``, or else from the library's generator
(``neuronet.manual_seed``). Translation, rotation and zoom share one resampling op,
``neuronet.ops.image.affine_transform``; images are channels-last (batch, height,
width, channels).
"""
import math
import numbers

from neuronet import ops
from neuronet import random as nn_random
from neuronet.backend import xp
from neuronet.layers.base import InputSpec, Layer, register
from neuronet.ops.image import FILL_MODES, INTERPOLATIONS, affine_transform


def _number_or_list(value):
    """A JSON-able copy of a scale or offset: a float, or nested lists of floats."""
    if isinstance(value, numbers.Real):
        return float(value)
    return xp.asarray(value, dtype=xp.float64).tolist()


@register
class Rescaling(Layer):
    """y = x * scale + offset: e.g. ``Rescaling(1 / 255)`` maps pixels [0, 255] to [0, 1],
    ``Rescaling(1 / 127.5, offset=-1)`` to [-1, 1].

    Args:
        scale, offset: numbers, or lists that broadcast against the input (one per
            channel, say).

    Shape:
        any -> same.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = _number_or_list(scale), _number_or_list(offset)

    def input_spec(self):
        return InputSpec()

    def call(self, x, training=False):
        scale = xp.asarray(self.scale, dtype=x.dtype)
        offset = xp.asarray(self.offset, dtype=x.dtype)
        return x * scale + offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


IMAGES = InputSpec(ndim=4, layout="(batch, height, width, channels)")


class _RandomLayer(Layer):
    """What the augmentation layers share: the seed, the 4-D input, identity in inference."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, numbers.Integral):
            raise ValueError(f"{self.describe()} expects an int seed or None, got {seed!r}")
        self.seed = seed
        self._rng = None if seed is None else nn_random.generator(seed)

    def input_spec(self):
        return IMAGES

    def _generator(self):
        return self._rng if self._rng is not None else nn_random.generator()

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@register
class RandomFlip(_RandomLayer):
    """Flips each image left-right and/or top-bottom, each with probability 1/2, in training.

    Args:
        mode: 'horizontal' (left-right), 'vertical' (top-bottom) or
            'horizontal_and_vertical' (each flip drawn on its own).
        seed: an int for a repeatable stream of flips; None: the library's generator.

    A flip is a permutation of pixels, so gradients flow through it exactly.

    Shape:
        (batch, height, width, channels) -> same.
    """

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if mode not in self.MODES:
            raise ValueError(f"{self.describe()} expects mode in {self.MODES}, got {mode!r}")
        self.mode = mode

    def call(self, x, training=False):
        if not training:
            return x
        rng = self._generator()
        axes = {"horizontal": [2], "vertical": [1], "horizontal_and_vertical": [2, 1]}[self.mode]
        for axis in axes:
            flips = (rng.random(x.shape[0]) < 0.5).reshape(-1, 1, 1, 1)
            reverse = tuple(slice(None, None, -1) if a == axis else slice(None) for a in range(4))
            x = ops.where(flips, ops.getitem(x, reverse), x)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _RandomTransform(_RandomLayer):
    """An augmentation layer made of ``affine_transform``: a subclass writes only
    ``_transforms(rng, n, height, width)``, the (n, 8) output -> input maps.

    These layers usually sit at a model's input, where no gradient is needed; the
    resampling is linear in the images, so one flows all the same, to whatever comes
    before. In inference the input passes through as it is.
    """

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{self.describe()} expects fill_mode in {FILL_MODES}, "
                             f"got {fill_mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"{self.describe()} expects interpolation in {INTERPOLATIONS}, "
                             f"got {interpolation!r}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def call(self, x, training=False):
        if not training:
            return x
        n, height, width, _ = x.shape
        transforms = self._transforms(self._generator(), n, height, width)
        return affine_transform(x, transforms, self.interpolation, self.fill_mode,
                                self.fill_value)

    def _transforms(self, rng, n, height, width):
        raise NotImplementedError

    def _factor_range(self, name, factor):
        """Keras' factor: a float f means the range [-f, f], a pair (low, high) itself;
        each bound in [-1, 1]."""
        if isinstance(factor, numbers.Real):
            low, high = -abs(float(factor)), abs(float(factor))
        elif (isinstance(factor, (list, tuple)) and len(factor) == 2
              and all(isinstance(f, numbers.Real) for f in factor)):
            low, high = float(factor[0]), float(factor[1])
        else:
            raise ValueError(f"{self.describe()} expects {name} as a float or a (low, high) "
                             f"pair, got {factor!r}")
        if not -1 <= low <= high <= 1:
            raise ValueError(f"{self.describe()} expects {name} bounds with -1 <= low <= high "
                             f"<= 1, got {factor!r}")
        return low, high

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


def _as_config(factor):
    return float(factor) if isinstance(factor, numbers.Real) else [float(f) for f in factor]


@register
class RandomTranslation(_RandomTransform):
    """Shifts each image by a random fraction of its height and width, in training.

    Args:
        height_factor: a float f (shifts in [-f, f] of the height) or a (low, high)
            pair; negative moves the image up, positive down.
        width_factor: the same for the width; negative moves it left, positive right.
        fill_mode: what the uncovered border shows: 'reflect', 'wrap', 'constant'
            (``fill_value``) or 'nearest' (see ``ops.image.affine_transform``).
        interpolation: 'bilinear' or 'nearest'.
        seed: an int for a repeatable stream of shifts; None: the library's generator.

    Transform: a shift of dy = u H rows and dx = v W columns, u and v drawn uniformly
    in the factors' ranges, reads input pixel (x - dx, y - dy) at output (x, y).

    Shape:
        (batch, height, width, channels) -> same.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_range = self._factor_range("height_factor", height_factor)
        self.width_range = self._factor_range("width_factor", width_factor)
        self.height_factor, self.width_factor = _as_config(height_factor), _as_config(width_factor)

    def _transforms(self, rng, n, height, width):
        dy = rng.uniform(*self.height_range, size=n) * height
        dx = rng.uniform(*self.width_range, size=n) * width
        ones, zeros = xp.ones(n), xp.zeros(n)
        return xp.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


@register
class RandomRotation(_RandomTransform):
    """Rotates each image about its centre by a random angle, in training.

    Args:
        factor: a fraction of a full turn (2 pi): a float f draws angles in
            [-f 2 pi, f 2 pi], a pair (low, high) in [low 2 pi, high 2 pi]; positive
            turns counter-clockwise, negative clockwise.
        fill_mode, interpolation, seed, fill_value: as for ``RandomTranslation``.

    Transform: with angle a and (cx, cy) = ((W - 1) / 2, (H - 1) / 2) the centre,
    output (x, y) reads the input at
        x_in = cos(a) (x - cx) - sin(a) (y - cy) + cx
        y_in = sin(a) (x - cx) + cos(a) (y - cy) + cy
    (rows grow downwards, so this turns the picture counter-clockwise by a).

    Shape:
        (batch, height, width, channels) -> same.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor_range = self._factor_range("factor", factor)
        self.factor = _as_config(factor)

    def _transforms(self, rng, n, height, width):
        angle = rng.uniform(*self.factor_range, size=n) * 2 * math.pi
        cos, sin = xp.cos(angle), xp.sin(angle)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        x_offset = cx - cos * cx + sin * cy
        y_offset = cy - sin * cx - cos * cy
        zeros = xp.zeros(n)
        return xp.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register
class RandomZoom(_RandomTransform):
    """Zooms each image in or out about its centre by a random amount, in training.

    Args:
        height_factor: a float f (zoom in [-f, f]) or a (low, high) pair, as a fraction:
            positive zooms out (the image shrinks), negative zooms in; 0.2 shows 20%
            more of the height, -0.2 20% less.
        width_factor: the same for the width; None (default) zooms the width as the
            height, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value: as for ``RandomTranslation``.

    Transform: zooms zy = 1 + u, zx = 1 + v (u, v drawn in the factors' ranges;
    v = u when width_factor is None); output (x, y) reads the input at
        x_in = zx (x - cx) + cx,  y_in = zy (y - cy) + cy,  (cx, cy) = ((W - 1) / 2, (H - 1) / 2).

    Shape:
        (batch, height, width, channels) -> same.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_range = self._factor_range("height_factor", height_factor)
        self.width_range = (None if width_factor is None
                            else self._factor_range("width_factor", width_factor))
        self.height_factor = _as_config(height_factor)
        self.width_factor = None if width_factor is None else _as_config(width_factor)

    def _transforms(self, rng, n, height, width):
        zoom_y = 1 + rng.uniform(*self.height_range, size=n)
        zoom_x = zoom_y if self.width_range is None else 1 + rng.uniform(*self.width_range,
                                                                         size=n)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        zeros = xp.zeros(n)
        return xp.stack([zoom_x, zeros, cx * (1 - zoom_x), zeros, zoom_y, cy * (1 - zoom_y),
                         zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}
