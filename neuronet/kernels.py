"""Classic image kernels: convolution seen as applying a filter.

Each function returns a float array (kh, kw) in ``floatx()``. ``apply_kernel``
filters a grey or colour image with one, and ``KernelInitializer`` makes a Conv2D
start as that filter: ``Conv2D(1, 3, kernel_initializer='sharpen')``.

Like every deep learning framework, neuronet's "convolution" is a
cross-correlation: out[i, j] = sum_{u, v} image[i + u, j + v] * kernel[u, v], the
kernel is not flipped. The kernels below are written for that reading (sobel_x is
right minus left).
"""
from neuronet import backend, ops
from neuronet.backend import xp
from neuronet.initializers import Initializer
from neuronet.tensor import Tensor, no_grad


def _as_kernel(rows):
    return xp.asarray(rows, dtype=backend.floatx())


def _check_odd_size(name, size):
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"{name} expects an odd positive size, got {size!r}")


def identity(size=3):
    """1 at the centre, 0 elsewhere: the image is unchanged."""
    _check_odd_size("identity", size)
    kernel = xp.zeros((size, size), dtype=backend.floatx())
    kernel[size // 2, size // 2] = 1
    return kernel


def sharpen():
    """5 at the centre, -1 at the four neighbours: centre + 4*centre - neighbours
    (identity minus the Laplacian), sums to 1 so flat areas keep their value."""
    return _as_kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


def box_blur(size=3):
    """Mean of the size x size neighbourhood: every weight 1 / size^2."""
    _check_odd_size("box_blur", size)
    return xp.full((size, size), 1.0 / (size * size), dtype=backend.floatx())


def gaussian_blur(size=3, sigma=1.0):
    """k[u, v] proportional to exp(-(u^2 + v^2) / (2 sigma^2)), u, v measured from the
    centre, normalised to sum to 1."""
    _check_odd_size("gaussian_blur", size)
    if sigma <= 0:
        raise ValueError(f"gaussian_blur expects a positive sigma, got {sigma!r}")
    offsets = xp.arange(size, dtype=backend.floatx()) - size // 2
    squared_distance = offsets[:, None] ** 2 + offsets[None, :] ** 2
    kernel = xp.exp(-squared_distance / xp.asarray(2 * sigma * sigma, dtype=backend.floatx()))
    return kernel / kernel.sum()


def laplacian():
    """Discrete Laplacian f(x+1) + f(x-1) + f(y+1) + f(y-1) - 4 f: zero on flat areas
    and ramps, large at edges."""
    return _as_kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]])


def sobel_x():
    """Horizontal derivative (right minus left, smoothed vertically): responds to
    vertical edges."""
    return _as_kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def sobel_y():
    """Vertical derivative (bottom minus top, smoothed horizontally): responds to
    horizontal edges."""
    return _as_kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])


def emboss():
    """Differences along the diagonal plus the pixel itself: a relief lit from the
    bottom right."""
    return _as_kernel([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])


# The names ``initializers.get`` resolves to a KernelInitializer.
KERNELS = {
    "identity": identity,
    "sharpen": sharpen,
    "box_blur": box_blur,
    "gaussian_blur": gaussian_blur,
    "laplacian": laplacian,
    "sobel_x": sobel_x,
    "sobel_y": sobel_y,
    "emboss": emboss,
}


def _image_dtype(image):
    return image.dtype if backend.is_float(image) else xp.dtype(backend.floatx())


def apply_kernel(image, kernel, padding="same"):
    """Filter a grey (H, W) or colour (H, W, C) image with a 2-D kernel, each channel
    on its own, through ``ops.conv2d`` (a cross-correlation: the kernel is not flipped).

    Args:
        image: array (H, W) or (H, W, C); integer images (e.g. uint8) become ``floatx()``.
        kernel: array (kh, kw), e.g. ``kernels.sharpen()``.
        padding: 'same' (output H x W, zero padding) or 'valid' (no padding).

    Returns:
        A float array (H', W') or (H', W', C), not clipped to the input's range.

    Example:
        >>> edges = apply_kernel(grey_image, sobel_x())
    """
    image, kernel = xp.asarray(image), xp.asarray(kernel)
    if image.ndim not in (2, 3):
        raise ValueError("apply_kernel expects a grey (H, W) or colour (H, W, C) image, "
                         f"got shape {image.shape}")
    if kernel.ndim != 2:
        raise ValueError(f"apply_kernel expects a 2-D kernel (kh, kw), got shape {kernel.shape}")
    dtype = _image_dtype(image)
    channels = image if image.ndim == 3 else image[:, :, None]
    # Each channel becomes one grey image of a batch: (C, H, W, 1).
    batch = xp.transpose(channels, (2, 0, 1))[..., None].astype(dtype)
    weights = kernel.astype(dtype)[:, :, None, None]
    with no_grad():
        filtered = ops.conv2d(Tensor(batch, dtype=dtype), Tensor(weights, dtype=dtype),
                              padding=padding).numpy()
    result = xp.transpose(filtered[..., 0], (1, 2, 0))
    return result if image.ndim == 3 else result[:, :, 0]


class KernelInitializer(Initializer):
    """Conv2D kernel (kh, kw, in, out) that applies a fixed 2-D filter.

    Output channel o filters input channel ``o % in`` with ``kernel``; every other
    (in, out) pair is zero. So with in == out each channel is filtered on its own
    (the kernel sits on the diagonal pairs (c, c)), exactly as ``apply_kernel``
    does, and with one input channel every output channel is the filtered grey image.

    Example:
        >>> Conv2D(1, 3, kernel_initializer='sharpen')   # via initializers.get
        >>> Conv2D(3, 3, kernel_initializer=KernelInitializer(gaussian_blur(3, 0.8)))
    """

    def __init__(self, kernel):
        kernel = xp.asarray(kernel, dtype=xp.float64)
        if kernel.ndim != 2:
            raise ValueError(f"KernelInitializer expects a 2-D kernel (kh, kw), "
                             f"got shape {kernel.shape}")
        self.kernel = kernel

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 4 or shape[:2] != self.kernel.shape:
            raise ValueError(f"KernelInitializer with a {self.kernel.shape} kernel expects a "
                             f"Conv2D kernel shape {self.kernel.shape + ('in', 'out')}, "
                             f"got {shape}")
        in_channels, out_channels = shape[2], shape[3]
        weights = xp.zeros(shape, dtype=backend.resolve_dtype(dtype))
        for out in range(out_channels):
            weights[:, :, out % in_channels, out] = self.kernel
        return weights

    def get_config(self):
        return {"kernel": self.kernel.tolist()}
