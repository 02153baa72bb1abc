"""Image resampling: one projective transform per image, read with bilinear or
nearest interpolation, points outside the image filled by a chosen rule.

The output is linear in the images (each output pixel a weighted sum of input pixels
and the fill value), so the gradient scatters the upstream gradient back with the
same weights; the transforms are constants (no gradient).
"""
from neuronet.backend import xp
from neuronet.ops._utils import as_tensor
from neuronet.tensor import Function

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


class AffineTransform(Function):
    """y[n, y, x] = sum over the neighbours (row, col, w) of the point read of
    w * images[n, row, col] (or w * fill_value where 'constant' leaves the image);
    dimages[n, row, col] += w * gy[n, y, x] for every such term inside the image."""

    def forward(self, images, transforms, interpolation, fill_mode, fill_value):
        self.shape = images.shape
        self.batch = xp.arange(images.shape[0])[:, None, None]
        self.terms = _terms(images.shape, transforms, interpolation, fill_mode)
        output = xp.zeros(images.shape, dtype=images.dtype)
        fill = images.dtype.type(fill_value)
        for row, col, weight, inside in self.terms:
            values = images[self.batch, row, col]
            if inside is not None:
                values = xp.where(inside[..., None], values, fill)
            output += weight.astype(images.dtype)[..., None] * values
        return output

    def backward(self, gy):
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        for row, col, weight, inside in self.terms:
            if inside is not None:
                weight = xp.where(inside, weight, 0)
            xp.add.at(gx, (self.batch, row, col), weight.astype(gy.dtype)[..., None] * gy)
        return gx


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="reflect",
                     fill_value=0.0):
    """Resample each channels-last image through its own projective transform.

    ``transforms[n] = [a0, a1, a2, b0, b1, b2, c0, c1]`` maps every output pixel
    (x, y) = (column, row) to the input point it reads (Keras' and TensorFlow's
    layout, output -> input):
        x_in = (a0 x + a1 y + a2) / k,   y_in = (b0 x + b1 y + b2) / k,   k = c0 x + c1 y + 1
    so [1, 0, -dx, 0, 1, -dy, 0, 0] moves the content dx pixels right and dy down.

    ``interpolation``: 'bilinear' weighs the four pixels around (x_in, y_in) by
    (1 - fx)(1 - fy), fx (1 - fy), (1 - fx) fy, fx fy, with fx, fy its fractional
    parts; 'nearest' reads the pixel at (round(x_in), round(y_in)), halves to even.
    ``fill_mode`` says what a pixel index outside the image reads, on a row a b c d:
        'reflect'  (d c b a | a b c d | d c b a)  mirrored about the edge of the last pixel
        'wrap'     (a b c d | a b c d | a b c d)
        'nearest'  (a a a a | a b c d | d d d d)
        'constant' (k k k k | a b c d | k k k k)  k = ``fill_value``
    Each of the pixels that bilinear interpolation weighs is filled on its own, so a
    point half a pixel outside the image reads half the edge pixel and half the fill.

    Args:
        images: float Tensor or array (N, H, W, C).
        transforms: array (N, 8), one transform per image.
        interpolation: 'bilinear' or 'nearest'.
        fill_mode: 'reflect', 'wrap', 'nearest' or 'constant'; fill_value: k of 'constant'.

    Returns:
        Tensor (N, H, W, C) of the images' dtype, differentiable in the images.
        Coordinates are computed in float64 and snapped to whole pixels within 1e-9, so
        a quarter turn or a whole-pixel shift moves pixels exactly.
    """
    images = as_tensor(images)
    transforms = xp.asarray(transforms, dtype=xp.float64)
    _check(images, transforms, interpolation, fill_mode)
    return AffineTransform.apply(images, transforms=transforms, interpolation=interpolation,
                                 fill_mode=fill_mode, fill_value=fill_value)


def _terms(shape, transforms, interpolation, fill_mode):
    """[(row, col, weight, inside)]: for each output pixel, the input pixels it is made of
    (indices folded into the image by ``fill_mode``) and their weights; ``inside`` marks,
    for 'constant', the terms that read the image rather than the fill (None otherwise)."""
    height, width = shape[1:3]
    t = transforms[:, :, None, None]  # (N, 8, 1, 1)
    rows, cols = xp.meshgrid(xp.arange(height, dtype=xp.float64),
                             xp.arange(width, dtype=xp.float64), indexing="ij")
    k = t[:, 6] * cols + t[:, 7] * rows + 1
    x_in = _snapped((t[:, 0] * cols + t[:, 1] * rows + t[:, 2]) / k)  # (N, H, W)
    y_in = _snapped((t[:, 3] * cols + t[:, 4] * rows + t[:, 5]) / k)
    terms = []
    for row, col, weight in _neighbours(y_in, x_in, interpolation):
        if fill_mode == "constant":
            inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
            terms.append((xp.clip(row, 0, height - 1), xp.clip(col, 0, width - 1), weight,
                          inside))
        else:
            terms.append((_fold(row, height, fill_mode), _fold(col, width, fill_mode), weight,
                          None))
    return terms


def _snapped(coordinates):
    """Coordinates within 1e-9 pixel of a whole number set to it: cos(pi / 2) is 6e-17,
    not 0, and would otherwise blend a trace of the neighbouring pixel in."""
    whole = xp.rint(coordinates)
    return xp.where(xp.abs(coordinates - whole) < 1e-9, whole, coordinates)


def _neighbours(y_in, x_in, interpolation):
    """(row, col, weight) for each pixel that the value at (y_in, x_in) is made of."""
    if interpolation == "nearest":
        return [(xp.rint(y_in).astype(xp.int64), xp.rint(x_in).astype(xp.int64),
                 xp.ones_like(y_in))]
    y0, x0 = xp.floor(y_in), xp.floor(x_in)
    fy, fx = y_in - y0, x_in - x0
    y0, x0 = y0.astype(xp.int64), x0.astype(xp.int64)
    return [(y0, x0, (1 - fy) * (1 - fx)), (y0, x0 + 1, (1 - fy) * fx),
            (y0 + 1, x0, fy * (1 - fx)), (y0 + 1, x0 + 1, fy * fx)]


def _fold(index, size, fill_mode):
    """Integer indices brought into [0, size) as ``fill_mode`` extends the image."""
    if fill_mode == "nearest":
        return xp.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    # reflect: the extended row repeats with period 2 size, the second half mirrored
    index = index % (2 * size)
    return xp.where(index < size, index, 2 * size - 1 - index)


def _check(images, transforms, interpolation, fill_mode):
    if images.ndim != 4:
        raise ValueError(f"affine_transform expects images (N, H, W, C), got shape "
                         f"{images.shape}")
    if not xp.issubdtype(images.dtype, xp.floating):
        raise ValueError(f"affine_transform expects float images, got dtype {images.dtype}")
    if transforms.shape != (images.shape[0], 8):
        raise ValueError(f"affine_transform expects transforms of shape ({images.shape[0]}, 8) "
                         f"for {images.shape[0]} images, got {transforms.shape}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"affine_transform: interpolation must be one of {INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"affine_transform: fill_mode must be one of {FILL_MODES}, "
                         f"got {fill_mode!r}")
