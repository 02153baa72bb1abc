import re

import numpy as np
import pytest
from PIL import Image

from neuronet import cli, datasets, models

NAMES = datasets.CLASS_NAMES["fashion-mnist-mini"]


def _test_images(count):
    _, (x_test, y_test) = datasets.load("fashion-mnist-mini")
    return x_test[:count], y_test[:count]


def _parse_predictions(line):
    """'path: name p, name p, name p' -> (path, [(name, p), ...])."""
    path, ranked = line.split(": ", 1)
    pairs = [item.rsplit(" ", 1) for item in ranked.split(", ")]
    return path, [(name, float(p)) for name, p in pairs]


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def test_predict_ranks_the_top_three_classes(trained_run, tmp_path, capsys):
    images, _ = _test_images(2)
    grey = tmp_path / "grey.png"
    Image.fromarray(images[0]).save(grey)
    # A colour JPEG twice the size: predict must convert it to grey and resize it.
    colour = tmp_path / "colour.jpg"
    Image.fromarray(images[1]).convert("RGB").resize((56, 56)).save(colour, quality=95)
    assert cli.main(["predict", str(trained_run / "model.safetensors"), str(grey),
                     str(colour)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    model = models.load_model(trained_run / "model.safetensors")
    expected = _softmax(model.predict(images[:1, :, :, None] / np.float32(255), verbose=0))[0]
    path, ranked = _parse_predictions(lines[0])
    assert path == str(grey) and len(ranked) == 3
    assert [name for name, _ in ranked] == [NAMES[i] for i in np.argsort(expected)[::-1][:3]]
    np.testing.assert_allclose([p for _, p in ranked], np.sort(expected)[::-1][:3], atol=1e-3)
    _, ranked = _parse_predictions(lines[1])
    assert all(name in NAMES for name, _ in ranked)
    probabilities = [p for _, p in ranked]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.001


def test_summary_lists_the_layers_and_parameters(trained_run, capsys):
    assert cli.main(["summary", str(trained_run)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("Conv2D") == 2 and "Dropout" in printed
    assert re.search(r"421,?642", printed)


def test_evaluate_on_another_data_set_size(trained_run, capsys):
    assert cli.main(["evaluate", str(trained_run), "--limit", "50"]) == 0
    printed = capsys.readouterr().out
    assert re.fullmatch(r"fashion-mnist-mini test set \(50 images\): loss \d+\.\d{4}, "
                        r"accuracy \d\.\d{4}\n", printed)


@pytest.mark.parametrize("outputs", [np.array([[0.1, 0.7, 0.2]]), np.array([[2.0, -1.0, 0.5]])])
def test_as_probabilities_keeps_probabilities_and_softmaxes_logits(outputs):
    probabilities = cli.as_probabilities(outputs)
    expected = outputs if outputs.min() >= 0 else _softmax(outputs)
    np.testing.assert_allclose(probabilities, expected)
