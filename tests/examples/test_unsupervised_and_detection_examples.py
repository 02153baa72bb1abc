"""The examples a user copies run, on a tiny budget, and say what they claim."""
import importlib.util
import json
import pathlib

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_autoencoder_example(capsys):
    result = _load("autoencoder").main(limit=300, epochs=1)
    printed = capsys.readouterr().out
    assert 0 < result["test_mse"] < 0.2
    for name in ("pixels", "codes"):
        acc, nmi = result[name]
        assert 0.1 <= acc <= 1 and 0 <= nmi <= 1
        assert f"k-means on {name}: ACC {acc:.3f}, NMI {nmi:.3f}" in printed
    assert f"test reconstruction MSE {result['test_mse']:.4f}" in printed


def test_dec_clustering_example(capsys, tmp_path):
    example = _load("dec_clustering")
    result = example.main(limit=150, epochs=1, out=tmp_path)
    printed = capsys.readouterr().out
    for name in ("k-means on pixels", "k-means on codes", "DEC"):
        acc, nmi = result[name]
        assert 0.1 <= acc <= 1 and 0 <= nmi <= 1
        assert f"{name}: ACC {acc:.3f}, NMI {nmi:.3f} on 300 images" in printed
    assert 1 <= result["rounds"] <= 20
    assert f"DEC ran {result['rounds']} rounds" in printed
    record = json.loads((tmp_path / "seed-0.json").read_text())
    assert record["images"] == 300 and record["rounds"] == result["rounds"]
    assert len(record["autoencoder_loss"]) == 1 and record["blas_threads"] >= 1
    assert set(record["seconds"]) == {"k-means on pixels", "autoencoder", "k-means on codes",
                                      "DEC"}
    for name in example.STAGES:
        assert record["scores"][name] == list(result[name])


def test_dec_clustering_summary_averages_the_seeds(tmp_path):
    example = _load("dec_clustering")
    scores = {0: {"k-means on pixels": [0.45, 0.5], "k-means on codes": [0.5, 0.55],
                  "DEC": [0.6, 0.7]},
              1: {"k-means on pixels": [0.5, 0.5], "k-means on codes": [0.7, 0.65],
                  "DEC": [0.65, 0.6]}}
    for seed, found in scores.items():
        run = {"dataset": "d", "images": 9, "epochs": 2, "seed": seed, "threads": 2,
               "blas_threads": 1, "date": "2026-12-06", "rounds": 3,
               "seconds": {"autoencoder": 10, "DEC": 2}, "scores": found}
        (tmp_path / f"seed-{seed}.json").write_text(json.dumps(run))
    means = example.summarize(tmp_path)
    np.testing.assert_allclose(means, [(0.475, 0.5), (0.6, 0.6), (0.625, 0.65)])
    report = (tmp_path / "report.md").read_text()
    assert "| 1 | 0.500 / 0.500 | 0.700 / 0.650 | 0.650 / 0.600 | 3 |" in report
    assert "| mean of 2 | **0.475 / 0.500** | **0.600 / 0.600** | **0.625 / 0.650** |" in report
    assert "| spread (max - min) | 0.050 / 0.000 | 0.200 / 0.100 | 0.050 / 0.100 |" in report
    assert "Highest mean ACC: DEC (0.625 / 0.650)" in report
    assert "ACC +0.150 to +0.150, NMI +0.100 to +0.200." in report
    assert "Its mean reaches the anchor" in report and "per run 1 BLAS thread(s)" in report
    scores[1]["DEC"] = [0.65, 0.5]  # mean NMI 0.6: below the anchor's 0.64
    (tmp_path / "seed-1.json").write_text(json.dumps({**run, "scores": scores[1]}))
    example.summarize(tmp_path)
    assert "Its mean does not reach the anchor" in (tmp_path / "report.md").read_text()


def test_detection_example(capsys):
    result = _load("detection").main(limit=200, epochs=1)
    printed = capsys.readouterr().out
    assert 0 <= result["mean_iou"] <= 1 and 0 <= result["class_accuracy"] <= 1
    assert f"mean IoU {result['mean_iou']:.3f}" in printed
    assert f"class accuracy {result['class_accuracy']:.3f}" in printed


@pytest.mark.parametrize("name", ["autoencoder", "dec_clustering", "detection"])
def test_examples_document_how_to_run_them(name):
    text = (EXAMPLES / f"{name}.py").read_text()
    assert f"python examples/{name}.py" in text
