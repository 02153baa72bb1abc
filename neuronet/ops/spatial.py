"""Ops that change the size of channels-last images: zero padding, cropping, up-sampling
(nearest and bilinear, as Keras' ``UpSampling2D``) and the global maximum.

Padding, cropping and the global maximum are compositions of ``pad``, ``getitem`` and
``max``, whose gradients already exist; up-sampling has its own small forward/backward.
"""
from neuronet.backend import xp
from neuronet.ops import reduce, shape
from neuronet.ops._utils import as_tensor
from neuronet.ops.windows import pair
from neuronet.tensor import Function

INTERPOLATIONS = ("nearest", "bilinear")


def _is_int(value):
    return isinstance(value, (int, xp.integer)) and not isinstance(value, bool)


def _check_images(x, op):
    if x.ndim != 4:
        raise ValueError(f"{op} expects inputs of shape (N, H, W, C), got shape {x.shape}")


def edges(value, name, op):
    """An int, a pair (rows, columns) or ((top, bottom), (left, right)) of non-negative
    ints, as ((top, bottom), (left, right)) (Keras' ZeroPadding2D / Cropping2D forms)."""
    pairs = (value, value) if _is_int(value) else value
    if isinstance(pairs, (tuple, list)) and len(pairs) == 2:
        if all(_is_int(v) for v in pairs):
            pairs = ((pairs[0], pairs[0]), (pairs[1], pairs[1]))
        if all(isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(e) and e >= 0
                                                                      for e in v)
               for v in pairs):
            return tuple((int(v[0]), int(v[1])) for v in pairs)
    raise ValueError(f"{op}: {name} must be a non-negative int, a pair of them or "
                     f"((top, bottom), (left, right)), got {value!r}")


def pad2d(x, padding):
    """Zero padding of (N, H, W, C) images.

    y[n, top + i, left + j, c] = x[n, i, j, c], 0 elsewhere;  dL/dx = gy cropped back.

    Args:
        padding: int, (rows, columns) or ((top, bottom), (left, right)).

    Shape:
        (N, H, W, C) -> (N, top + H + bottom, left + W + right, C).
    """
    x = as_tensor(x)
    _check_images(x, "pad2d")
    (top, bottom), (left, right) = edges(padding, "padding", "pad2d")
    return shape.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def crop2d(x, cropping):
    """Cropping of (N, H, W, C) images.

    y[n, i, j, c] = x[n, top + i, left + j, c];  dL/dx = gy placed back, 0 on the edges.

    Args:
        cropping: int, (rows, columns) or ((top, bottom), (left, right)) pixels removed.

    Shape:
        (N, H, W, C) -> (N, H - top - bottom, W - left - right, C); at least one pixel
        must remain along each axis.
    """
    x = as_tensor(x)
    _check_images(x, "crop2d")
    (top, bottom), (left, right) = edges(cropping, "cropping", "crop2d")
    h, w = x.shape[1:3]
    if top + bottom >= h or left + right >= w:
        raise ValueError(f"crop2d: cropping (({top}, {bottom}), ({left}, {right})) leaves no "
                         f"pixels of inputs of shape {x.shape}")
    return shape.getitem(x, (slice(None), slice(top, h - bottom), slice(left, w - right)))


def global_max_pool2d(x, keepdims=False):
    """y[n, c] = max over (h, w) of x[n, h, w, c].

    dL/dx = gy / m at each of the m pixels that hold the maximum, 0 elsewhere: ties share
    the gradient evenly, as torch.amax and TensorFlow's reduce_max (what Keras'
    GlobalMaxPooling2D computes) do.

    Shape:
        (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``.
    """
    x = as_tensor(x)
    _check_images(x, "global_max_pool2d")
    return reduce.max(x, axis=(1, 2), keepdims=keepdims)


def bilinear_taps(size, factor, dtype):
    """For each of the size * factor outputs along an axis: the two source pixels and the
    weight of the second (half-pixel centres, as TensorFlow, Keras and PyTorch with
    align_corners=False):

    src = max((i + 0.5) / factor - 0.5, 0),  lo = floor(src),  hi = min(lo + 1, size - 1),
    t = src - lo,  y[i] = x[lo] + (x[hi] - x[lo]) * t.
    """
    src = xp.maximum((xp.arange(size * factor) + 0.5) / factor - 0.5, 0.0)
    lo = xp.floor(src).astype(xp.intp)
    hi = xp.minimum(lo + 1, size - 1)
    return lo, hi, (src - lo).astype(dtype)


def interpolation_matrix(size, factor, dtype):
    """A (size * factor, size) with y = A @ x along one axis: row i holds 1 - t at lo and
    t at hi (``bilinear_taps``)."""
    lo, hi, t = bilinear_taps(size, factor, dtype)
    rows = xp.arange(len(lo))
    matrix = xp.zeros((len(lo), size), dtype=dtype)
    xp.add.at(matrix, (rows, lo), 1 - t)
    xp.add.at(matrix, (rows, hi), t)
    return matrix


class UpSample2D(Function):
    """Nearest: y = x repeated (fh, fw) times; gx sums each (fh, fw) block of gy.
    Bilinear: y = A_h x A_w^T per image and channel (A from ``interpolation_matrix``);
    gx = A_h^T gy A_w."""

    def forward(self, x, size, interpolation):
        self.size, self.interpolation, self.x_shape = size, interpolation, x.shape
        n, h, w, c = x.shape
        if interpolation == "nearest":
            view = xp.broadcast_to(x[:, :, None, :, None], (n, h, size[0], w, size[1], c))
            return view.reshape(n, h * size[0], w * size[1], c)
        y = x
        for axis, (length, factor) in enumerate(zip((h, w), size), start=1):
            lo, hi, t = bilinear_taps(length, factor, x.dtype)
            low, y = xp.take(y, lo, axis=axis), xp.take(y, hi, axis=axis)
            # TensorFlow's form, in place: 5x faster than (1 - t) * low + t * high.
            y -= low
            y *= t.reshape((-1,) + (1,) * (3 - axis))
            y += low
        return y

    def backward(self, gy):
        n, h, w, c = self.x_shape
        fh, fw = self.size
        if self.interpolation == "nearest":
            return gy.reshape(n, h, fh, w, fw, c).sum(axis=(2, 4))
        # A^T as a matrix product per axis: NumPy's scatter-add (add.at) of the two taps
        # is several times slower than BLAS for the image sizes these layers see.
        a_h = interpolation_matrix(h, fh, gy.dtype)
        a_w = interpolation_matrix(w, fw, gy.dtype)
        g = xp.matmul(a_h.T, gy.reshape(n, h * fh, -1)).reshape(n * h, w * fw, c)
        return xp.matmul(a_w.T, g).reshape(self.x_shape)


def upsample2d(x, size=2, interpolation="nearest"):
    """Up-sampling of (N, H, W, C) images by integer factors (Keras' UpSampling2D).

    nearest:  y[n, i, j, c] = x[n, i // fh, j // fw, c];  dL/dx sums gy over each block.
    bilinear: y = x[lo] + (x[hi] - x[lo]) * t along rows, then along columns, with
              ``bilinear_taps`` (half-pixel centres; equal to TensorFlow's resize and to
              torch's interpolate(mode='bilinear', align_corners=False));
              dL/dx = A_h^T gy A_w, A = ``interpolation_matrix``.

    Args:
        size: int or (fh, fw) positive factors.
        interpolation: 'nearest' or 'bilinear'.

    Shape:
        (N, H, W, C) -> (N, H * fh, W * fw, C).
    """
    x = as_tensor(x)
    _check_images(x, "upsample2d")
    size = pair(size, "size", "upsample2d")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"upsample2d: interpolation must be one of {INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    return UpSample2D.apply(x, size=size, interpolation=interpolation)
