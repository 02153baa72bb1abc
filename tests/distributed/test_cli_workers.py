"""``neuronet train --workers N``: a run that moves between 1 and 2 ranks by its checkpoint."""
import csv
import json
import os

from neuronet import cli
from neuronet.distributed import launch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--model", "logistic", "--limit", "60", "--batch-size", "8", "--verbose", "0",
        "--early-stopping", "0", "--reduce-lr", "0"]


def test_a_run_resumes_from_one_to_two_ranks_and_back(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    assert cli.main(["train", *TINY, "--epochs", "1", "--out", run_dir]) == 0
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = launch.run_ranks(1, ["-m", "neuronet", "train", "--workers", "2", "--resume",
                                run_dir, "--epochs", "2", "--verbose", "0"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("after 2 epochs") == 1  # rank 0 alone reports
    with open(os.path.join(run_dir, "metrics.json")) as file:
        assert json.load(file)["epochs_run"] == 2
    assert cli.main(["train", "--resume", run_dir, "--epochs", "3", "--verbose", "0"]) == 0
    assert "after 3 epochs" in capsys.readouterr().out
    with open(os.path.join(run_dir, "history.csv")) as file:
        assert [row["epoch"] for row in csv.DictReader(file)] == ["0", "1", "2"]


def test_workers_is_taken_out_of_the_ranks_command_line():
    assert cli._without_workers(["train", "--workers", "2", "--epochs", "3"]) == [
        "train", "--epochs", "3"]
    assert cli._without_workers(["train", "--workers=4"]) == ["train"]
