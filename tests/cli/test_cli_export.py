"""`neuronet export RUN --onnx OUT.onnx`: the run's model in onnxruntime gives the test
accuracy the run reported."""
import json

import numpy as np
import onnx
import onnxruntime

from neuronet import cli, runs


def test_exported_run_has_the_runs_test_accuracy(trained_run, tmp_path, capsys):
    path = tmp_path / "cnn.onnx"
    assert cli.main(["export", str(trained_run), "--onnx", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    metrics = json.loads((trained_run / "metrics.json").read_text())
    _, (x_test, y_test) = runs.load_data(metrics["dataset"], metrics["test_samples"])
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: x_test})
    accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
    assert len(x_test) == metrics["test_samples"]
    assert abs(accuracy - metrics["test_accuracy"]) < 1e-9


def test_export_of_a_missing_run_is_one_error_line(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "nothing"), "--onnx",
                     str(tmp_path / "x.onnx")]) == 1
    assert capsys.readouterr().err.startswith("neuronet: error: no run folder")


def test_export_needs_the_onnx_option(trained_run, capsys):
    assert cli.main(["export", str(trained_run)]) == 2
    assert "--onnx" in capsys.readouterr().err
