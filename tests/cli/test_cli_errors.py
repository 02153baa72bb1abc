import os
import subprocess
import sys

import pytest

from neuronet import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--limit", "50", "--epochs", "1", "--verbose", "0"]


def _fails_with(capsys, argv, expected):
    """`neuronet argv` exits non-zero with one line on stderr that contains ``expected``."""
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    assert status != 0
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuronet: error: "), captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: COMMAND"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["train", "--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["train", "--validation-split", "1.5"], "expected a number between 0 and 1, got '1.5'"),
    (["train", "--model", "resnet"], "or a .json architecture file, got 'resnet'"),
    (["train", "--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    (["train", "--verbose", "3"], "argument --verbose: invalid choice: 3"),
    (["predict", "run"], "the following arguments are required: IMAGE"),
])
def test_bad_arguments(argv, expected, capsys):
    _fails_with(capsys, argv, expected)


def test_unknown_optimizer_leaves_no_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    _fails_with(capsys, ["train", "--optimizer", "lion", "--out", out, *TINY],
                "unknown optimizer 'lion'")
    assert not out.exists()


def test_missing_architecture_file(tmp_path, capsys):
    _fails_with(capsys, ["train", "--model", tmp_path / "wide.json", *TINY],
                "wide.json' does not exist")


def test_a_layer_config_that_does_not_fit_is_a_mistake_not_a_bug(tmp_path, capsys):
    path = tmp_path / "wide.json"
    path.write_text('{"class_name": "Sequential", "config": {"name": "wide", "layers": ['
                    '{"class_name": "Dense", "config": {"unitz": 3}}]}}')
    _fails_with(capsys, ["train", "--model", path, *TINY],
                "does not describe a Sequential (TypeError: ")


def test_missing_data_set_gives_the_loader_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NEURONET_OFFLINE", "1")
    _fails_with(capsys, ["train", "--dataset", "mnist", *TINY], "MNIST not found")


def test_missing_and_malformed_models(tmp_path, capsys):
    _fails_with(capsys, ["evaluate", tmp_path / "nothing"], "no run folder or checkpoint")
    _fails_with(capsys, ["summary", tmp_path], "holds no model.safetensors")
    notes = tmp_path / "notes.safetensors"
    notes.write_text("not a checkpoint at all")
    _fails_with(capsys, ["summary", notes], "notes.safetensors")


def test_evaluate_needs_a_data_set_for_a_bare_checkpoint(trained_run, tmp_path, capsys):
    bare = tmp_path / "model.safetensors"
    bare.write_bytes((trained_run / "model.safetensors").read_bytes())
    _fails_with(capsys, ["evaluate", bare], "no data set recorded")


def test_predict_rejects_what_is_not_an_image(trained_run, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("hello")
    _fails_with(capsys, ["predict", trained_run, text], "cannot read")
    _fails_with(capsys, ["predict", trained_run, tmp_path / "gone.png"], "gone.png' does not exist")


def test_resume_errors(trained_run, tmp_path, capsys):
    _fails_with(capsys, ["train", "--resume", trained_run, "--lr", "0.1"],
                "only --epochs may change, got --lr")
    _fails_with(capsys, ["train", "--resume", trained_run, "--epochs", "2"],
                "has already trained 2 epochs")
    _fails_with(capsys, ["train", "--resume", tmp_path], "holds no model.safetensors")


def test_the_process_exits_non_zero_without_traceback(tmp_path):
    command = [sys.executable, "-m", "neuronet", "evaluate", str(tmp_path / "missing")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("neuronet: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


# --- --debug and bugs inside neuronet -----------------------------------------------------------
def _traceback_then(capsys, argv, status, last_line_start):
    assert cli.main([str(arg) for arg in argv]) == status
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "Traceback (most recent call last):", err
    assert lines[-1].startswith(last_line_start), err
    return err


@pytest.mark.parametrize("where", ["after", "before"])
def test_debug_shows_the_traceback_of_a_mistake(where, tmp_path, capsys):
    command = ["evaluate", tmp_path / "missing"]
    argv = command + ["--debug"] if where == "after" else ["--debug"] + command
    err = _traceback_then(capsys, argv, 1, "neuronet: error: no run folder or checkpoint")
    assert "FileNotFoundError" in err and "in checkpoint_path" in err


@pytest.mark.parametrize("value, shows", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_neuronet_debug_variable(value, shows, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEURONET_DEBUG", value)
    if shows:
        _traceback_then(capsys, ["summary", tmp_path / "missing"], 1, "neuronet: error: no run")
    else:
        _fails_with(capsys, ["summary", tmp_path / "missing"], "no run folder or checkpoint")


def test_debug_in_lab_and_explain(capsys):
    _fails_with(capsys, ["explain", "--input", "0.1,0.2"], "--input needs --model")
    err = _traceback_then(capsys, ["explain", "--input", "0.1,0.2", "--debug"], 1,
                          "neuronet: error: explain: --input needs --model")
    assert "in explain_command" in err
    _fails_with(capsys, ["lab", "kernels", "--debug", "--limit", "0"],
                "kernels: argument --limit: expected a positive integer")


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_a_bug_inside_neuronet_shows_its_traceback_and_says_so(debug, trained_run, capsys,
                                                               monkeypatch):
    def buggy_summary(self, print_fn=print):
        return {}["layers"]

    monkeypatch.setattr(cli.models.Model, "summary", buggy_summary)
    err = _traceback_then(capsys, ["summary", trained_run, *debug], 3,
                          "neuronet: internal error: KeyError: 'layers' (a bug in neuronet: "
                          "please report it with the traceback above)")
    assert "in buggy_summary" in err and "neuronet: error" not in err


def test_debug_variable_in_a_process(tmp_path):
    command = [sys.executable, "-m", "neuronet", "evaluate", str(tmp_path / "missing")]
    env = {**os.environ, "NEURONET_DEBUG": "1"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.splitlines()[-1].startswith("neuronet: error: no run folder")


def test_train_with_an_accelerator_that_is_not_installed(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.delitem(sys.modules, "neuronet.accelerator.numba_kernels", raising=False)
    _fails_with(capsys, ["train", "--accelerator", "numba", *TINY],
                "train: --accelerator numba: set_accelerator('numba') needs numba")

