"""affine_transform: exact moves, each fill mode on a known border, a loop-by-loop
reference (fill by np.pad) and torch's grid_sample as oracles, gradients against
finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness import assert_close, check_gradients
import neuronet as nn
from neuronet.ops.image import affine_transform

IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0]
ROW = np.array([1, 2, 3, 4], dtype=np.float32).reshape(1, 1, 4, 1)  # a b c d


def shift(dx, dy=0.0):
    """The transform that moves the content dx columns right and dy rows down."""
    return [1, 0, -dx, 0, 1, -dy, 0, 0]


def run(images, *transforms, **kwargs):
    images = nn.tensor(images, dtype=images.dtype)
    return affine_transform(images, np.array(transforms, dtype=np.float64), **kwargs).numpy()


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_identity_gives_the_images_back(interpolation, fill_mode, rng):
    images = rng.standard_normal((2, 3, 5, 2)).astype(np.float32)
    out = run(images, IDENTITY, IDENTITY, interpolation=interpolation, fill_mode=fill_mode)
    np.testing.assert_array_equal(out, images)
    assert out.dtype == np.float32


# a b c d moved 2 pixels right and 2 left: what Keras' fill-mode table says the border shows
@pytest.mark.parametrize("fill_mode, right, left", [
    ("reflect", [2, 1, 1, 2], [3, 4, 4, 3]),   # (d c b a | a b c d | d c b a)
    ("wrap", [3, 4, 1, 2], [3, 4, 1, 2]),      # (a b c d | a b c d | a b c d)
    ("nearest", [1, 1, 1, 2], [3, 4, 4, 4]),   # (a a a a | a b c d | d d d d)
    ("constant", [9, 9, 1, 2], [3, 4, 9, 9]),  # (k k k k | a b c d | k k k k), k = 9
])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_whole_pixel_shifts_fill_the_border_by_mode(fill_mode, right, left, interpolation):
    out = run(ROW, shift(2), interpolation=interpolation, fill_mode=fill_mode, fill_value=9)
    np.testing.assert_array_equal(out.reshape(-1), right)
    out = run(ROW, shift(-2), interpolation=interpolation, fill_mode=fill_mode, fill_value=9)
    np.testing.assert_array_equal(out.reshape(-1), left)


def test_a_half_pixel_shift_averages_neighbours_and_the_fill():
    out = run(ROW, shift(0.5), fill_mode="constant", fill_value=9)
    np.testing.assert_array_equal(out.reshape(-1), [5, 1.5, 2.5, 3.5])  # (9 + 1) / 2 first


@pytest.mark.parametrize("dx, expected", [(0.4, [1, 2, 3, 4]), (0.6, [1, 1, 2, 3])])
def test_nearest_interpolation_rounds_to_the_closest_pixel(dx, expected):
    out = run(ROW, shift(dx), interpolation="nearest", fill_mode="nearest")
    np.testing.assert_array_equal(out.reshape(-1), expected)


def test_each_image_gets_its_own_transform(rng):
    """A quarter turn counter-clockwise about the centre is np.rot90; a shift down is a roll."""
    images = rng.standard_normal((3, 4, 4, 2))
    quarter = [0, -1, 3, 1, 0, 0, 0, 0]  # cos = 0, sin = 1, offsets for centre (1.5, 1.5)
    out = run(images, quarter, shift(0, 1), IDENTITY, fill_mode="wrap")
    np.testing.assert_array_equal(out[0], np.rot90(images[0], k=1, axes=(0, 1)))
    np.testing.assert_array_equal(out[1], np.roll(images[1], 1, axis=0))
    np.testing.assert_array_equal(out[2], images[2])


PADDING = {"reflect": "symmetric", "wrap": "wrap", "nearest": "edge", "constant": "constant"}


def reference(image, t, interpolation, fill_mode, fill_value, pad=8):
    """One image, pixel by pixel: the image padded by np.pad as the fill mode extends it,
    then read at the transformed point."""
    height, width, _ = image.shape
    extra = {"constant_values": fill_value} if fill_mode == "constant" else {}
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode=PADDING[fill_mode], **extra)
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            k = t[6] * x + t[7] * y + 1
            x_in, y_in = (t[0] * x + t[1] * y + t[2]) / k, (t[3] * x + t[4] * y + t[5]) / k
            if interpolation == "nearest":
                out[y, x] = padded[int(np.rint(y_in)) + pad, int(np.rint(x_in)) + pad]
                continue
            x0, y0 = int(np.floor(x_in)), int(np.floor(y_in))
            fx, fy = x_in - x0, y_in - y0
            for dy, dx, w in [(0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                              (1, 0, fy * (1 - fx)), (1, 1, fy * fx)]:
                out[y, x] += w * padded[y0 + dy + pad, x0 + dx + pad]
    return out


def random_transforms(rng, n):
    """Near the identity (rotation, scale, shear, shift, a little perspective), so that
    every point read lies within the reference's padding."""
    t = np.tile(np.array(IDENTITY, dtype=np.float64), (n, 1))
    t[:, [0, 1, 3, 4]] += rng.uniform(-0.4, 0.4, (n, 4))
    t[:, [2, 5]] = rng.uniform(-3, 3, (n, 2))
    t[:, [6, 7]] = rng.uniform(-0.02, 0.02, (n, 2))
    return t


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_random_projective_transforms_against_a_reference(interpolation, fill_mode, rng):
    images = rng.standard_normal((3, 5, 6, 2))
    transforms = random_transforms(rng, 3)
    out = affine_transform(nn.tensor(images, dtype="float64"), transforms, interpolation,
                           fill_mode, fill_value=0.5).numpy()
    for image, t, result in zip(images, transforms, out):
        expected = reference(image, t, interpolation, fill_mode, 0.5)
        assert_close(result, expected, 1e-12, what=f"{fill_mode} {interpolation}")


@pytest.mark.parametrize("fill_mode, padding_mode", [("constant", "zeros"),
                                                     ("nearest", "border")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bilinear_against_torch_grid_sample(fill_mode, padding_mode, dtype, rng):
    """Output and image gradient equal grid_sample's (align_corners=False reads pixel
    centre x at (2 x + 1) / W - 1)."""
    images = rng.standard_normal((2, 5, 7, 3)).astype(dtype)
    transforms = random_transforms(rng, 2)
    height, width = images.shape[1:3]
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    grids = []
    for t in transforms:
        k = t[6] * cols + t[7] * rows + 1
        x_in, y_in = (t[0] * cols + t[1] * rows + t[2]) / k, (t[3] * cols + t[4] * rows + t[5]) / k
        grids.append(np.stack([(2 * x_in + 1) / width - 1, (2 * y_in + 1) / height - 1], -1))
    theirs = torch.tensor(images, requires_grad=True)
    expected = F.grid_sample(theirs.permute(0, 3, 1, 2),
                             torch.from_numpy(np.stack(grids).astype(dtype)), mode="bilinear",
                             padding_mode=padding_mode, align_corners=False).permute(0, 2, 3, 1)
    ours = nn.tensor(images, dtype=dtype, requires_grad=True)
    out = affine_transform(ours, transforms, "bilinear", fill_mode, fill_value=0.0)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert out.dtype == dtype
    assert_close(out.numpy(), expected.detach().numpy(), rtol, what="output")
    gy = rng.standard_normal(out.shape).astype(dtype)
    out.backward(gy)
    expected.backward(torch.from_numpy(gy))
    assert ours.grad.dtype == dtype
    assert_close(ours.grad, theirs.grad.numpy(), rtol, what="image gradient")


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_gradients(interpolation, fill_mode, rng):
    """The images' gradient against central differences, with the transforms held fixed
    (larger shifts than the reference's, so that the fills fold indices many times)."""
    transforms = random_transforms(rng, 2)
    transforms[:, [2, 5]] *= 3
    check_gradients(lambda images: affine_transform(images, transforms, interpolation,
                                                    fill_mode, fill_value=0.7),
                    [rng.standard_normal((2, 4, 5, 2))], rng)


def test_rejects_bad_arguments():
    images = np.zeros((2, 3, 3, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=r"of shape \(2, 8\) for 2 images, got \(1, 8\)"):
        affine_transform(images, np.zeros((1, 8)))
    with pytest.raises(ValueError, match=r"expects images \(N, H, W, C\), got shape \(3, 3, 1\)"):
        affine_transform(images[0], np.zeros((3, 8)))
    with pytest.raises(ValueError, match=r"fill_mode must be one of .* got 'mirror'"):
        affine_transform(images, np.zeros((2, 8)), fill_mode="mirror")
    with pytest.raises(ValueError, match=r"interpolation must be one of .* got 'bicubic'"):
        affine_transform(images, np.zeros((2, 8)), interpolation="bicubic")
    with pytest.raises(ValueError, match=r"expects float images, got dtype uint8"):
        affine_transform(images.astype(np.uint8), np.zeros((2, 8)))
