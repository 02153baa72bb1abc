import json

import numpy as np
import pytest

from neuronet import architectures, layers


def _cnn_params(height, width, channels, classes):
    """Keras' count, layer by layer: kernel + bias of each Conv2D and Dense."""
    conv1 = 3 * 3 * channels * 32 + 32
    conv2 = 3 * 3 * 32 * 64 + 64
    flat = (height // 2 // 2) * (width // 2 // 2) * 64
    return conv1 + conv2 + (flat * 128 + 128) + (128 * classes + classes)


def _mlp_params(height, width, channels, classes):
    flat = height * width * channels
    return (flat * 256 + 256) + (256 * 128 + 128) + (128 * classes + classes)


def _logistic_params(height, width, channels, classes):
    return height * width * channels * classes + classes


COUNTS = {"cnn": _cnn_params, "mlp": _mlp_params, "logistic": _logistic_params}


@pytest.mark.parametrize("name, expected", [("cnn", 421_642), ("mlp", 235_146),
                                            ("logistic", 7_850)])
def test_course_models_on_fashion_mnist(name, expected):
    assert architectures.build(name, (28, 28, 1), 10).count_params() == expected


def test_cnn_on_cifar10():
    assert architectures.build("cnn", (32, 32, 3), 10).count_params() == 545_098


@pytest.mark.parametrize("name", COUNTS)
def test_param_counts_and_logits_shape_for_random_shapes(name, rng):
    height, width = rng.integers(4, 13, size=2)
    channels, classes, batch = rng.integers(1, 4), rng.integers(2, 7), rng.integers(1, 4)
    model = architectures.build(name, (height, width, channels), classes)
    assert model.count_params() == COUNTS[name](height, width, channels, classes)
    x = rng.random((batch, height, width, channels)).astype(np.float32)
    assert model.predict(x, verbose=0).shape == (batch, classes)


def test_cnn_layers_in_order():
    model = architectures.build("cnn", (28, 28, 1), 10)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [layers.Conv2D, layers.MaxPooling2D, layers.Dropout, layers.Conv2D,
                     layers.MaxPooling2D, layers.Dropout, layers.Flatten, layers.Dense,
                     layers.Dropout, layers.Dense]
    assert [layer.rate for layer in model.layers if isinstance(layer, layers.Dropout)] == [
        0.2, 0.2, 0.4]


def test_build_rejects_unknown_names_and_too_few_classes():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'.*'cnn'"):
        architectures.build("resnet", (28, 28, 1), 10)
    with pytest.raises(ValueError, match="num_classes must be at least 2, got 1"):
        architectures.build("mlp", (28, 28, 1), 1)


def test_from_json_round_trips_a_config(tmp_path, rng):
    model = architectures.build("mlp", (6, 5, 2), 4)
    path = tmp_path / "mlp.json"
    architectures.to_json(model, path)
    rebuilt = architectures.from_json(path)
    assert rebuilt.count_params() == _mlp_params(6, 5, 2, 4)
    assert [type(layer) for layer in rebuilt.layers] == [type(layer) for layer in model.layers]
    assert rebuilt.predict(rng.random((3, 6, 5, 2)).astype(np.float32), verbose=0).shape == (3, 4)


def test_from_json_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="architecture file .*nothing.json"):
        architectures.from_json(tmp_path / "nothing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json' is not valid JSON"):
        architectures.from_json(broken)
    functional = tmp_path / "functional.json"
    functional.write_text(json.dumps({"class_name": "Functional", "config": {}}))
    with pytest.raises(ValueError, match="got class_name 'Functional'"):
        architectures.from_json(functional)


@pytest.mark.parametrize("shape, expected", [((5, 4, 3), (5, 4, 3, 1)),
                                             ((2, 4, 3, 3), (2, 4, 3, 3))])
def test_prepare_images(shape, expected, rng):
    images = rng.integers(0, 256, size=shape, dtype=np.uint8)
    prepared = architectures.prepare_images(images)
    assert prepared.dtype == np.float32 and prepared.shape == expected
    assert prepared.min() >= 0 and prepared.max() <= 1
    np.testing.assert_allclose(prepared.reshape(images.shape) * 255, images, atol=1e-4)


def test_prepare_images_rejects_other_ranks():
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, C\), got shape \(4, 4\)"):
        architectures.prepare_images(np.zeros((4, 4), np.uint8))


def test_mlp_layers_in_order():
    model = architectures.build("mlp", (28, 28, 1), 10)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [layers.Flatten, layers.Dense, layers.Dropout, layers.Dense, layers.Dropout,
                     layers.Dense]
    units = [layer.units for layer in model.layers if isinstance(layer, layers.Dense)]
    assert units == [256, 128, 10]
