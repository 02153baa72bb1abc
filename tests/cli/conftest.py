import pytest

from neuronet import cli

# A tiny budget: the CNN on 500 images of the embedded data set for 2 epochs.
TRAIN_ARGS = ["train", "--limit", "500", "--epochs", "2", "--seed", "7", "--verbose", "0"]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A run folder written by `neuronet train`, shared (read-only) by the CLI tests."""
    run_dir = tmp_path_factory.mktemp("runs") / "cnn"
    assert cli.main(TRAIN_ARGS + ["--out", str(run_dir)]) == 0
    return run_dir


@pytest.fixture
def train_args():
    """The command line (without --out) that wrote ``trained_run``."""
    return list(TRAIN_ARGS)

