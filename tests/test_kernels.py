import numpy as np
import pytest

from neuronet import kernels, layers


def correlate_by_hand(image, kernel, padding):
    """out[i, j] = sum_{u, v} padded[i + u, j + v] * kernel[u, v], one channel at a time."""
    kh, kw = kernel.shape
    if padding == "same":
        top, left = (kh - 1) // 2, (kw - 1) // 2
        image = np.pad(image, ((top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1, image.shape[2]))
    for c in range(image.shape[2]):
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j, c] = np.sum(image[i:i + kh, j:j + kw, c] * kernel)
    return out


@pytest.mark.parametrize("size, sigma", [(3, 1.0), (5, 0.7), (7, 2.5)])
def test_gaussian_blur_sums_to_one_and_peaks_at_the_centre(size, sigma):
    kernel = kernels.gaussian_blur(size, sigma)
    assert kernel.shape == (size, size) and kernel.dtype == np.float32
    np.testing.assert_allclose(kernel.sum(), 1.0, rtol=1e-6)
    assert kernel.argmax() == (size * size) // 2
    np.testing.assert_array_equal(kernel, kernel.T)
    ratio = kernel[size // 2, size // 2 + 1] / kernel[size // 2, size // 2]
    np.testing.assert_allclose(ratio, np.exp(-1 / (2 * sigma ** 2)), rtol=1e-6)


def test_classic_kernels_have_their_sums():
    for name in ("sharpen", "box_blur", "identity"):
        np.testing.assert_allclose(kernels.KERNELS[name]().sum(), 1.0, rtol=1e-6)
    for name in ("laplacian", "sobel_x", "sobel_y"):
        assert kernels.KERNELS[name]().sum() == 0
    np.testing.assert_allclose(kernels.box_blur(5), np.full((5, 5), 1 / 25), rtol=1e-6)
    np.testing.assert_array_equal(kernels.sobel_y(), kernels.sobel_x().T)


def test_sobel_x_responds_to_a_vertical_edge_and_sobel_y_does_not():
    image = np.zeros((6, 8))
    image[:, 4:] = 1.0  # dark left half, bright right half
    horizontal = kernels.apply_kernel(image, kernels.sobel_x(), padding="valid")
    vertical = kernels.apply_kernel(image, kernels.sobel_y(), padding="valid")
    # valid output column j looks at input columns j..j+2: the edge lies between 3 and 4.
    np.testing.assert_allclose(horizontal[:, [2, 3]], 4.0)
    np.testing.assert_allclose(horizontal[:, [0, 1, 4, 5]], 0.0)
    np.testing.assert_allclose(vertical, 0.0)


def test_laplacian_is_zero_on_a_ramp():
    ramp = np.tile(np.arange(7.0), (5, 1))
    np.testing.assert_allclose(kernels.apply_kernel(ramp, kernels.laplacian(), "valid"), 0.0,
                               atol=1e-6)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("channels", [None, 3])
def test_apply_kernel_equals_a_hand_written_loop(padding, channels, rng):
    shape = (6, 7) if channels is None else (6, 7, channels)
    image = rng.standard_normal(shape)
    kernel = rng.standard_normal((3, 2))
    result = kernels.apply_kernel(image, kernel, padding)
    expected = correlate_by_hand(image.reshape(6, 7, -1), kernel, padding)
    if channels is None:
        expected = expected[:, :, 0]
    assert result.shape == expected.shape and result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-10, atol=1e-12)


def test_apply_kernel_turns_integer_images_into_floats(rng):
    image = rng.integers(0, 256, (5, 5, 3)).astype(np.uint8)
    result = kernels.apply_kernel(image, kernels.identity())
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, image.astype(np.float32))


def test_apply_kernel_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"grey \(H, W\) or colour \(H, W, C\) image, got "
                                         r"shape \(1, 4, 4, 1\)"):
        kernels.apply_kernel(np.zeros((1, 4, 4, 1)), kernels.sharpen())
    with pytest.raises(ValueError, match="odd positive size"):
        kernels.gaussian_blur(4)


def test_conv2d_initialised_with_sharpen_reproduces_apply_kernel(rng):
    image = rng.uniform(0, 1, (9, 8))
    layer = layers.Conv2D(1, 3, padding="same", kernel_initializer="sharpen")
    filtered = layer(image[None, :, :, None]).numpy()[0, :, :, 0]
    np.testing.assert_allclose(filtered, kernels.apply_kernel(image, kernels.sharpen()),
                               rtol=1e-6, atol=1e-6)


def test_kernel_initializer_filters_each_colour_channel_on_its_own(rng):
    image = rng.uniform(0, 1, (7, 7, 3))
    layer = layers.Conv2D(3, 5, padding="same", use_bias=False,
                          kernel_initializer=kernels.KernelInitializer(kernels.gaussian_blur(5)))
    filtered = layer(image[None]).numpy()[0]
    np.testing.assert_allclose(filtered, kernels.apply_kernel(image, kernels.gaussian_blur(5)),
                               rtol=1e-6, atol=1e-6)


def test_kernel_initializer_places_input_channel_out_mod_in():
    weights = kernels.KernelInitializer(kernels.emboss())((3, 3, 2, 5))
    for out in range(5):
        for channel in range(2):
            expected = kernels.emboss() if channel == out % 2 else np.zeros((3, 3))
            np.testing.assert_array_equal(weights[:, :, channel, out], expected)


def test_kernel_initializer_rejects_a_shape_that_does_not_fit():
    with pytest.raises(ValueError, match=r"KernelInitializer with a \(3, 3\) kernel expects"):
        kernels.KernelInitializer(kernels.sharpen())((5, 5, 1, 1))
