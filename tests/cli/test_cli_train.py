import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
from PIL import Image

import neuronet as nn
from harness import assert_close
from neuronet import accelerator, architectures, cli

COLUMNS = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rows(run_dir):
    with open(run_dir / "history.csv", newline="") as file:
        return list(csv.DictReader(file))


def _metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def _assert_png(path, min_width):
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        assert image.width >= min_width
        assert np.asarray(image.convert("L")).std() > 10


def test_train_writes_a_complete_run(trained_run):
    names = {"model.safetensors", "history.csv", "metrics.json", "curves.png", "confusion.png",
             "report.md", "run.json", "architecture.json"}
    assert names <= set(os.listdir(trained_run))
    _assert_png(trained_run / "curves.png", min_width=800)
    _assert_png(trained_run / "confusion.png", min_width=400)


def test_history_csv_has_one_row_per_epoch(trained_run):
    rows = _rows(trained_run)
    assert set(rows[0]) == COLUMNS
    assert [int(row["epoch"]) for row in rows] == [0, 1]
    for row in rows:
        assert 0 <= float(row["accuracy"]) <= 1 and 0 <= float(row["val_accuracy"]) <= 1
        assert float(row["loss"]) > 0 and float(row["lr"]) == 1e-3


def test_metrics_json_matches_the_history(trained_run):
    metrics, rows = _metrics(trained_run), _rows(trained_run)
    val_accuracy = [float(row["val_accuracy"]) for row in rows]
    assert metrics["epochs_run"] == len(rows) == 2
    assert metrics["best_epoch"] == int(np.argmax(val_accuracy)) + 1
    assert metrics["params"] == 421_642
    assert metrics["dataset"] == "fashion-mnist-mini" and metrics["model"] == "cnn"
    assert metrics["train_samples"] + metrics["validation_samples"] == 500
    assert metrics["test_samples"] == 500
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["test_loss"] > 0
    assert metrics["train_seconds"] > 0
    expected_speed = metrics["train_samples"] * 2 / metrics["train_seconds"]
    assert np.isclose(metrics["samples_per_second"], expected_speed)


def test_report_states_the_measured_numbers(trained_run):
    metrics, report = _metrics(trained_run), (trained_run / "report.md").read_text()
    assert f"{metrics['test_accuracy']:.4f}" in report
    assert f"{metrics['test_loss']:.4f}" in report
    assert "421,642" in report
    assert "(curves.png)" in report and "(confusion.png)" in report
    for row in _rows(trained_run):
        assert f"{float(row['val_loss']):.4f}" in report
    assert "Validation loss" in report and "Validation accuracy peaked at epoch" in report


def test_saved_model_is_the_evaluated_one(trained_run, capsys):
    assert cli.main(["evaluate", str(trained_run), "--limit", "500"]) == 0
    metrics = _metrics(trained_run)
    printed = capsys.readouterr().out
    assert f"loss {metrics['test_loss']:.4f}, accuracy {metrics['test_accuracy']:.4f}" in printed


def test_resume_continues_to_the_requested_epoch(trained_run, tmp_path):
    run_dir = tmp_path / "resumed"
    shutil.copytree(trained_run, run_dir)
    # As if the process died after logging epoch 3 but before its checkpoint was written.
    with open(run_dir / "history.csv", "a") as file:
        file.write("2,0.5,99.0,0.001,0.5,99.0\n")
    assert cli.main(["train", "--resume", str(run_dir), "--epochs", "3", "--verbose", "0"]) == 0
    rows = _rows(run_dir)
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    assert float(rows[2]["loss"]) != 99.0
    assert _rows(trained_run) == rows[:2]
    metrics = _metrics(run_dir)
    assert metrics["epochs_run"] == 3 and metrics["seed"] == 7
    report = (run_dir / "report.md").read_text()
    assert f"| 3 | {float(rows[2]['loss']):.4f}" in report


def test_train_with_the_numba_accelerator_writes_the_same_run(trained_run, train_args,
                                                              tmp_path, monkeypatch):
    """--accelerator numba fuses Adam's update (the same bits) and the convolutions' pooling
    (the same bits) and input gradients (the same to rounding): the history and weights of
    the run without it to rounding; the accelerator is off again afterwards."""
    kernels, run, compiled_kernel = [], accelerator.run, accelerator.compiled_kernel
    monkeypatch.setattr(accelerator, "run", lambda *call: kernels.append(call[0]) or run(*call))
    monkeypatch.setattr(accelerator, "compiled_kernel",
                        lambda name: kernels.append(name) or compiled_kernel(name))
    run_dir = tmp_path / "accelerated"
    assert cli.main(train_args + ["--accelerator", "numba", "--out", str(run_dir)]) == 0
    mine_rows, their_rows = _rows(run_dir), _rows(trained_run)
    assert [row.keys() for row in mine_rows] == [row.keys() for row in their_rows]
    for mine, theirs in zip(mine_rows, their_rows, strict=True):
        for key in mine:
            tolerance = 0.01 if "accuracy" in key else 1e-4  # a sample may flip its class
            assert float(mine[key]) == pytest.approx(float(theirs[key]), rel=tolerance), key
    mine = safetensors.numpy.load_file(run_dir / "model.safetensors")
    theirs = safetensors.numpy.load_file(trained_run / "model.safetensors")
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert_close(mine[name], theirs[name], 1e-4, name)
    assert {"adam", "max_pool_first", "gather_windows"} <= set(kernels)
    assert nn.get_accelerator() is None


def test_python_dash_m_neuronet_trains_a_logistic_model(tmp_path):
    run_dir = tmp_path / "logistic"
    command = [sys.executable, "-m", "neuronet", "train", "--model", "logistic", "--limit", "200",
               "--epochs", "1", "--early-stopping", "0", "--verbose", "2", "--out", str(run_dir)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    metrics = _metrics(run_dir)
    assert metrics["params"] == 28 * 28 * 10 + 10 and metrics["best_epoch"] is None
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in done.stdout


def test_console_script_points_at_main():
    with open(os.path.join(ROOT, "pyproject.toml")) as file:
        text = file.read()  # tomllib needs Python 3.11; the project supports 3.10
    assert '[project.scripts]\nneuronet = "neuronet.cli:main"' in text
    dependencies = text.split("\ndependencies = [")[1].split("]")[0]
    assert all(name in dependencies for name in ('"matplotlib', '"Pillow', '"safetensors'))


def test_license_is_an_spdx_string_that_the_build_backend_reads():
    # A TOML table makes setuptools >= 77 print a page of deprecation warnings on every
    # install; the string form needs setuptools >= 77 to build.
    with open(os.path.join(ROOT, "pyproject.toml")) as file:
        text = file.read()
    assert '\nlicense = "MIT"\n' in text and "license = {" not in text
    assert 'requires = ["setuptools>=77"]' in text


def test_default_run_dir_names_dataset_and_model():
    settings = {"dataset": "mnist", "model": "archs/wide.json"}
    folder = cli._default_run_dir(settings)
    assert folder.startswith(os.path.join("runs", "mnist-wide-"))


def test_train_a_json_architecture(tmp_path):
    architecture = tmp_path / "small.json"
    architectures.to_json(architectures.build("mlp", (28, 28, 1), 10), architecture)
    run_dir = tmp_path / "small"
    argv = ["train", "--model", str(architecture), "--limit", "100", "--epochs", "1",
            "--optimizer", "sgd", "--lr", "0.05", "--verbose", "0", "--out", str(run_dir)]
    assert cli.main(argv) == 0
    metrics = _metrics(run_dir)
    assert metrics["model"] == str(architecture) and metrics["optimizer"] == "sgd"
    assert metrics["params"] == 235_146
    assert [float(row["lr"]) for row in _rows(run_dir)] == [0.05]


def test_runs_halve_the_learning_rate_on_a_validation_loss_plateau(tmp_path):
    from neuronet import callbacks, runs

    settings = dict(runs.DEFAULT_SETTINGS)
    made, _ = runs._run_callbacks(str(tmp_path), settings, resume=False)
    [reducer] = [c for c in made if isinstance(c, callbacks.ReduceLROnPlateau)]
    assert (reducer.monitor, reducer.factor, reducer.patience, reducer.min_lr) == (
        "val_loss", 0.5, settings["reduce_lr"], 1e-5)
    for without in ({**settings, "reduce_lr": 0},
                    {k: v for k, v in settings.items() if k != "reduce_lr"}):  # an older run.json
        made, _ = runs._run_callbacks(str(tmp_path), without, resume=False)
        assert not any(isinstance(c, callbacks.ReduceLROnPlateau) for c in made)


def test_reduce_lr_option_is_recorded_with_the_run(tmp_path):
    run_dir = tmp_path / "run"
    assert cli.main(["train", "--limit", "200", "--epochs", "1", "--model", "mlp",
                     "--reduce-lr", "0", "--seed", "1", "--out", str(run_dir),
                     "--verbose", "0"]) == 0
    assert json.loads((run_dir / "run.json").read_text())["reduce_lr"] == 0


def test_train_row_sequence_models(tmp_path):
    """--model lstm / gru read each image as 28 steps of 28 pixels; a tiny run trains,
    evaluates and reloads."""
    for name in ("lstm", "gru"):
        run_dir = tmp_path / name
        assert cli.main(["train", "--limit", "64", "--epochs", "1", "--model", name,
                         "--batch-size", "32", "--seed", "0", "--out", str(run_dir),
                         "--verbose", "0"]) == 0
        accuracy = _metrics(run_dir)["test_accuracy"]
        assert 0 <= accuracy <= 1
        model = architectures.from_json(run_dir / "architecture.json")
        kinds = [type(layer).__name__ for layer in model.layers]
        assert kinds == ["Reshape", name.upper(), name.upper(), "Dense"]
        assert cli.main(["evaluate", str(run_dir), "--limit", "32"]) == 0
