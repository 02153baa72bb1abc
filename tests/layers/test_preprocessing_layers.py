"""Rescaling and the augmentation layers: exact moves on hand-made images, identity in
inference, seeds, one draw per image, configs and checkpoints."""
import json

import numpy as np
import pytest

from harness import assert_close
from layer_harness import check_layer
import neuronet as nn
from neuronet import layers


def grid(n=1, height=4, width=4, channels=1, dtype=np.float32):
    """n copies of an image whose pixels are 0, 1, 2, ... in reading order."""
    image = np.arange(height * width * channels, dtype=dtype).reshape(height, width, channels)
    return np.repeat(image[None], n, axis=0)


AUGMENTATIONS = [
    lambda **kw: layers.RandomFlip("horizontal", **kw),
    lambda **kw: layers.RandomTranslation(0.3, (-0.2, 0.4), fill_mode="constant",
                                          fill_value=0.5, **kw),
    lambda **kw: layers.RandomRotation(0.2, fill_mode="wrap", interpolation="nearest", **kw),
    lambda **kw: layers.RandomZoom((-0.3, 0.2), (0.1, 0.5), fill_mode="nearest", **kw),
]


# --- Rescaling -----------------------------------------------------------------------
def test_rescaling_layer_checks(rng):
    check_layer(layers.Rescaling(1 / 255, offset=-0.5), (3, 4, 4, 2), rng, expected_params=0)


def test_rescaling_scales_then_offsets_per_channel(rng):
    x = rng.uniform(0, 255, (2, 3, 3, 2)).astype(np.float32)
    y = layers.Rescaling([1 / 127.5, 2.0], offset=[-1.0, 0.5])(x)
    expected = x * np.array([1 / 127.5, 2.0], dtype=np.float32) + np.float32([-1.0, 0.5])
    assert_close(y.numpy(), expected, 1e-6)
    assert y.dtype == np.float32
    assert layers.Rescaling(2.0, dtype="float64")(x).dtype == np.float64


def test_rescaling_turns_uint8_pixels_into_floats():
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    y = layers.Rescaling(1 / 255)(pixels)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [[0.0, 0.2, 1.0]], rtol=1e-6)


# --- all augmentation layers ------------------------------------------------------
@pytest.mark.parametrize("make", AUGMENTATIONS)
def test_augmentation_layer_checks(make, rng):
    """Shape, no parameters, config round trip, and the identity (gradient included) in
    inference, where check_layer runs it."""
    check_layer(make(seed=3), (2, 5, 6, 3), rng, expected_params=0)


@pytest.mark.parametrize("make", AUGMENTATIONS)
def test_augmentation_is_the_identity_in_inference(make, rng):
    x = rng.standard_normal((4, 5, 6, 2)).astype(np.float32)
    layer = make()
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert np.any(layer(x, training=True).numpy() != x), "training changed nothing"


@pytest.mark.parametrize("make", AUGMENTATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_augmentation_keeps_shape_and_dtype(make, dtype, rng):
    x = rng.standard_normal((3, 5, 7, 2))
    y = make(dtype=dtype)(x, training=True)
    assert y.shape == x.shape and y.dtype == np.dtype(dtype)


@pytest.mark.parametrize("make", AUGMENTATIONS)
def test_same_seed_gives_the_same_batch(make, rng):
    x = rng.standard_normal((6, 5, 5, 1)).astype(np.float32)
    first = make(seed=11)(x, training=True).numpy()
    np.testing.assert_array_equal(make(seed=11)(x, training=True).numpy(), first)
    assert np.any(make(seed=12)(x, training=True).numpy() != first), "the seed is ignored"
    batches = []
    for _ in range(2):
        nn.manual_seed(5)
        batches.append(make()(x, training=True).numpy())
    np.testing.assert_array_equal(batches[0], batches[1])


@pytest.mark.parametrize("make", AUGMENTATIONS)
def test_one_draw_per_image(make):
    """Twelve copies of one image come out in more than one way."""
    out = make(seed=0)(grid(12, 5, 5), training=True).numpy()
    assert len({image.tobytes() for image in out}) > 1


@pytest.mark.parametrize("make", AUGMENTATIONS)
def test_augmentation_config_and_checkpoint_round_trip(make, tmp_path, rng):
    layer = make(seed=4, name="augment")
    description = json.loads(json.dumps(layers.serialize(layer)))
    clone = layers.deserialize(description)
    assert type(clone) is type(layer) and layers.serialize(clone) == description
    x = rng.standard_normal((4, 5, 5, 1)).astype(np.float32)
    np.testing.assert_array_equal(clone(x, training=True).numpy(),
                                  layer(x, training=True).numpy())

    model = nn.Sequential([layers.Input((5, 5, 1)), layers.Rescaling(0.5, offset=1.0), layer,
                           layers.Flatten(), layers.Dense(2)])
    model.save(tmp_path / "model.safetensors")
    loaded = nn.models.load_model(tmp_path / "model.safetensors")
    assert loaded.get_config()["layers"] == model.get_config()["layers"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("make, arguments", [
    (layers.RandomFlip, {"mode": "horizontal_and_vertical", "seed": None}),
    (lambda: layers.RandomTranslation(0.1, 0.2), {
        "height_factor": 0.1, "width_factor": 0.2, "fill_mode": "reflect",
        "interpolation": "bilinear", "seed": None, "fill_value": 0.0}),
    (lambda: layers.RandomRotation((-0.1, 0.2)), {
        "factor": [-0.1, 0.2], "fill_mode": "reflect", "interpolation": "bilinear",
        "seed": None, "fill_value": 0.0}),
    (lambda: layers.RandomZoom(0.1), {
        "height_factor": 0.1, "width_factor": None, "fill_mode": "reflect",
        "interpolation": "bilinear", "seed": None, "fill_value": 0.0}),
    (lambda: layers.Rescaling(0.5), {"scale": 0.5, "offset": 0.0}),
])
def test_configs_hold_keras_arguments_and_defaults(make, arguments):
    config = make().get_config()
    assert {key: config[key] for key in arguments} == arguments


# --- RandomFlip ----------------------------------------------------------------------
FLIPS = {"horizontal": lambda im: im[:, ::-1], "vertical": lambda im: im[::-1],
         "both": lambda im: im[::-1, ::-1], "none": lambda im: im}


@pytest.mark.parametrize("mode, allowed", [("horizontal", {"none", "horizontal"}),
                                           ("vertical", {"none", "vertical"}),
                                           ("horizontal_and_vertical", set(FLIPS))])
def test_random_flip_flips_exactly(mode, allowed):
    """Each image comes out as one of the flips its mode allows, and each of them occurs."""
    x = grid(40, 3, 4, 2)
    out = layers.RandomFlip(mode, seed=1)(x, training=True).numpy()
    seen = set()
    for image in out:
        found = [name for name, flip in FLIPS.items() if np.array_equal(image, flip(x[0]))]
        assert len(found) == 1 and found[0] in allowed, f"{mode} gave {found}"
        seen.add(found[0])
    assert seen == allowed


def test_random_flip_gradient_is_the_flip_of_the_upstream_gradient(rng):
    x = nn.tensor(grid(20, 3, 4), requires_grad=True)
    y = layers.RandomFlip("horizontal", seed=2)(x, training=True)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    flipped = [not np.array_equal(a, b) for a, b in zip(y.numpy(), x.numpy())]
    assert any(flipped) and not all(flipped)
    expected = np.stack([g[:, ::-1] if f else g for g, f in zip(gy, flipped)])
    np.testing.assert_array_equal(x.grad, expected)


# --- RandomRotation ------------------------------------------------------------------
@pytest.mark.parametrize("factor, turns", [((0.25, 0.25), 1), ((-0.25, -0.25), -1),
                                           ((0.5, 0.5), 2)])
def test_random_rotation_by_quarter_turns_moves_pixels_exactly(factor, turns):
    """A positive factor turns counter-clockwise, as np.rot90 does."""
    x = grid(2, 4, 4, 3)
    out = layers.RandomRotation(factor, fill_mode="constant", fill_value=-1)(x, training=True)
    for image in out.numpy():
        np.testing.assert_array_equal(image, np.rot90(x[0], k=turns, axes=(0, 1)))


def test_random_rotation_angles_stay_in_the_factor_range(rng):
    """A thin bar through the centre of a 9x9 image, turned by at most 0.05 of a turn:
    the end of the bar moves at most 4 * sin(18 degrees) ~ 1.24 pixels."""
    x = np.zeros((30, 9, 9, 1), dtype=np.float32)
    x[:, 4, :] = 1
    out = layers.RandomRotation(0.05, fill_mode="constant", seed=8)(x, training=True).numpy()
    assert np.all(out[:, :2] < 1e-6) and np.all(out[:, -2:] < 1e-6)


# --- RandomTranslation ---------------------------------------------------------------
def test_random_translation_by_whole_pixels_shifts_exactly():
    """0.25 of a height of 4 is one row down; -0.5 of a width of 4 is two columns left."""
    x = grid(2, 4, 4)
    out = layers.RandomTranslation((0.25, 0.25), (-0.5, -0.5), fill_mode="constant",
                                   fill_value=-1)(x, training=True).numpy()
    expected = np.full((4, 4, 1), -1, dtype=np.float32)
    expected[1:, :2] = x[0, :3, 2:]
    for image in out:
        np.testing.assert_array_equal(image, expected)


@pytest.mark.parametrize("fill_mode, first_row", [("reflect", [4, 5, 6, 7]),
                                                  ("wrap", [8, 9, 10, 11]),
                                                  ("nearest", [0, 1, 2, 3]),
                                                  ("constant", [7, 7, 7, 7])])
def test_random_translation_fills_the_border_by_mode(fill_mode, first_row):
    """Shifted down 2 rows of 4: rows -2, -1 show (reflect) rows 1, 0; (wrap) rows 2, 3."""
    x = grid(1, 4, 4)
    out = layers.RandomTranslation((0.5, 0.5), 0, fill_mode=fill_mode,
                                   fill_value=7)(x, training=True).numpy()[0, ..., 0]
    np.testing.assert_array_equal(out[0], first_row)
    np.testing.assert_array_equal(out[2:], x[0, :2, :, 0])


def test_a_single_float_factor_shifts_both_ways_within_it():
    """height_factor=0.25 on a height of 9: shifts in [-2.25, 2.25] rows, up and down."""
    x = np.zeros((40, 9, 1, 1), dtype=np.float32)
    x[:, 4] = 1
    out = layers.RandomTranslation(0.25, 0, fill_mode="constant", interpolation="nearest",
                                   seed=3)(x, training=True).numpy()
    moves = out[:, :, 0, 0].argmax(axis=1) - 4
    assert set(moves) == {-2, -1, 0, 1, 2}


# --- RandomZoom ----------------------------------------------------------------------
def test_random_zoom_out_by_a_factor_of_two():
    """Zoom 1 + 1: output column x reads column 2 (x - 2) + 2 of a width of 5, so
    columns 0 .. 4 read -2, 0, 2, 4, 6; height_factor 0: rows unchanged."""
    x = grid(1, 3, 5)
    out = layers.RandomZoom((0.0, 0.0), (1.0, 1.0), fill_mode="constant",
                            fill_value=-1)(x, training=True).numpy()[0, ..., 0]
    expected = np.full((3, 5), -1, dtype=np.float32)
    expected[:, 1:4] = x[0, :, [0, 2, 4], 0].T
    np.testing.assert_array_equal(out, expected)


def test_random_zoom_keeps_the_aspect_ratio_without_width_factor():
    """Zoom in by half (factor -0.5) on both axes about the centre of a 5x5 image:
    the output's centre 3x3 reads rows and columns 1.5, 2, 2.5 (bilinear)."""
    x = grid(1, 5, 5, dtype=np.float64)
    out = layers.RandomZoom((-0.5, -0.5), dtype="float64")(x, training=True).numpy()[0, ..., 0]
    coordinates = np.array([1.5, 2.0, 2.5])
    expected = 5 * coordinates[:, None] + coordinates[None, :]  # pixel value = 5 row + col
    assert_close(out[1:4, 1:4], expected, 1e-12)


# --- gradients and errors ------------------------------------------------------------
def test_gradient_through_a_translation_is_the_shift_back(rng):
    """One row down with a constant fill: row r of the input feeds row r + 1 of the
    output, and the last row feeds nothing."""
    x = nn.tensor(grid(2, 4, 3), requires_grad=True)
    y = layers.RandomTranslation((0.25, 0.25), 0, fill_mode="constant")(x, training=True)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    expected = np.zeros_like(gy)
    expected[:, :3] = gy[:, 1:]
    np.testing.assert_array_equal(x.grad, expected)


@pytest.mark.parametrize("make", AUGMENTATIONS)
def test_same_values_with_and_without_a_tape(make, rng):
    x = rng.standard_normal((3, 5, 5, 2)).astype(np.float32)
    recorded = make(seed=6)(nn.tensor(x, requires_grad=True), training=True)
    with nn.no_grad():
        plain = make(seed=6)(nn.tensor(x, requires_grad=True), training=True)
    np.testing.assert_array_equal(recorded.numpy(), plain.numpy())
    assert recorded.requires_grad and not plain.requires_grad


def test_augmentation_trains_inside_fit(rng):
    """fit calls the layers with training=True: a seeded flip draws for each of the
    2 epochs x 2 batches."""
    model = nn.Sequential([layers.Input((4, 4, 1)), layers.RandomFlip(seed=0),
                           layers.RandomRotation(0.1, seed=1), layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.standard_normal((8, 4, 4, 1)).astype(np.float32), np.zeros((8, 1), np.float32)
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    fresh = layers.RandomFlip(seed=0)
    for _ in range(4):
        fresh(x[:4], training=True)
    assert model.layers[0]._rng.bit_generator.state == fresh._rng.bit_generator.state


@pytest.mark.parametrize("make, message", [
    (lambda: layers.RandomFlip("diagonal"), r"expects mode in \('horizontal', .* got 'diagonal'"),
    (lambda: layers.RandomRotation(1.5), r"factor bounds with -1 <= low <= high <= 1, got 1.5"),
    (lambda: layers.RandomZoom((0.3, 0.1)), r"height_factor bounds .* got \(0.3, 0.1\)"),
    (lambda: layers.RandomTranslation(0.1, "wide"), r"width_factor as a float or a \(low, high\) "
                                                     r"pair, got 'wide'"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), r"fill_mode in .* got 'mirror'"),
    (lambda: layers.RandomZoom(0.1, interpolation="bicubic"), r"interpolation in .* 'bicubic'"),
    (lambda: layers.RandomFlip(seed=1.5), r"expects an int seed or None, got 1.5"),
])
def test_augmentation_rejects_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_augmentation_names_the_expected_image_layout():
    with pytest.raises(ValueError, match=r"RandomZoom '.*' expects 4-D input \(batch, height, "
                                         r"width, channels\), got shape \(2, 3\)"):
        layers.RandomZoom(0.1)(np.zeros((2, 3)))
