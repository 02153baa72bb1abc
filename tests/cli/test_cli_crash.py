"""A killed or failing `neuronet train` loses nothing it reported, and --resume continues."""
import csv
import os
import signal
import subprocess
import sys
import time

from neuronet import cli, io, models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Many short epochs, so the kill lands in the middle of the run.
LONG_RUN = ["--limit", "300", "--epochs", "300", "--early-stopping", "0", "--reduce-lr", "0",
            "--seed", "3", "--verbose", "0"]


def _history(run_dir):
    with open(run_dir / "history.csv", newline="") as file:
        return list(csv.reader(file))


def _checkpoint_epoch(path):
    """The epoch of a checkpoint, or 0 while there is none (it is written atomically)."""
    return io.load_tensors(path)[1]["epoch"] if path.exists() else 0


def _kill_after_epoch(run_dir, epoch, timeout=120):
    command = [sys.executable, "-m", "neuronet", "train", *LONG_RUN, "--out", str(run_dir)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while _checkpoint_epoch(run_dir / "model.safetensors") < epoch:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def test_a_killed_train_keeps_complete_rows_and_resumes_to_the_end(tmp_path):
    run_dir = tmp_path / "killed"
    _kill_after_epoch(run_dir, epoch=2)
    header, *rows = _history(run_dir)
    assert header == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert all(len(row) == len(header) for row in rows)
    assert [int(row[0]) for row in rows] == list(range(len(rows)))
    assert all(float(value) >= 0 for row in rows for value in row)
    done = models.load_model(run_dir / "model.safetensors").epochs_done
    # The row of an epoch is written before its checkpoint: at most one row more.
    assert done >= 2 and len(rows) in (done, done + 1)
    assert not (run_dir / "report.md").exists()

    end = done + 2
    assert cli.main(["train", "--resume", str(run_dir), "--epochs", str(end),
                     "--verbose", "0"]) == 0
    header_after, *rows_after = _history(run_dir)
    assert header_after == header
    assert [int(row[0]) for row in rows_after] == list(range(end))
    assert rows_after[:done] == rows[:done]  # what was reported stays as it was
    assert models.load_model(run_dir / "model.safetensors").epochs_done == end
    assert (run_dir / "report.md").exists()


def test_resume_interrupted_while_rewriting_the_history_keeps_it(trained_run, tmp_path,
                                                                  monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for path in trained_run.iterdir():
        (run_dir / path.name).write_bytes(path.read_bytes())
    with open(run_dir / "history.csv", "a") as file:  # a row whose checkpoint was lost
        file.write("2,0.5,99.0,0.001,0.5,99.0\n")
    before = (run_dir / "history.csv").read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(io.files.os, "replace", killed)
    monkeypatch.setattr(os, "replace", killed)
    assert cli.main(["train", "--resume", str(run_dir), "--epochs", "3", "--verbose", "0"]) == 130
    assert (run_dir / "history.csv").read_bytes() == before
    assert not [path.name for path in run_dir.iterdir() if path.name.startswith(".tmp-")]
