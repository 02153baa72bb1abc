import numpy as np
import pytest

from lab_checks import check_spread, run_lab, spread_text, table
from neuronet import architectures, cli, layers, models
from neuronet.lab import architectures as ladder


def _tiny_json_model(path):
    model = models.Sequential([layers.Input(shape=(28, 28, 1)), layers.Flatten(),
                               layers.Dense(16, activation="tanh"), layers.Dense(10)])
    architectures.to_json(model, path)
    return model.count_params()


def test_ladder_report_matches_its_results(tmp_path, capsys):
    json_path = tmp_path / "tiny.json"
    json_params = _tiny_json_model(json_path)
    models_option = f"logistic,mlp-1,conv-1,{json_path}"
    _, markdown, results, printed = run_lab(tmp_path, capsys, "architectures", "--models",
                                            models_option, seeds=2)
    entries = results["models"]
    assert [entry["name"] for entry in entries] == models_option.split(",")
    assert entries[-1]["params"] == json_params
    assert entries[0]["params"] == 28 * 28 * 10 + 10  # logistic regression: x W + b
    rows = table(markdown, "model")
    assert [row["model"] for row in rows] == [entry["label"] for entry in entries]
    for entry, row in zip(entries, rows):
        runs = entry["runs"]
        assert [run["seed"] for run in runs] == [0, 1]
        best = [max(run["history"]["val_accuracy"]) for run in runs]
        epochs = [int(np.argmax(run["history"]["val_accuracy"])) + 1 for run in runs]
        check_spread(entry["best_val_accuracy"], best)
        check_spread(entry["best_epoch"], epochs)
        check_spread(entry["test_accuracy"], [run["test_accuracy"] for run in runs])
        check_spread(entry["seconds_per_epoch"], [run["seconds"] / 2 for run in runs])
        assert row["parameters"] == f"{entry['params']:,}"
        assert row["best val_accuracy"] == spread_text(entry["best_val_accuracy"])
        assert row["epoch of the best"] == spread_text(entry["best_epoch"], 1)
        assert row["test accuracy"] == spread_text(entry["test_accuracy"])
        assert row["time per epoch (s)"] == spread_text(entry["seconds_per_epoch"], 3)
        assert all(len(run["history"]["val_accuracy"]) == 2 for run in runs)
    # The conclusions are the report's sentences and quote its numbers.
    for sentence in results["conclusions"]:
        assert sentence in markdown
    mlp, conv = entries[1], entries[2]
    verb = "raised" if conv["best_val_accuracy"]["mean"] > mlp["best_val_accuracy"]["mean"] \
        else "lowered"
    assert ("Adding a hidden Dense(128) layer (logistic regression -> MLP, 1 hidden layer)"
            in markdown)
    assert (f"Conv+pool + MLP instead of MLP, 1 hidden layer {verb} the best val_accuracy "
            f"from {spread_text(mlp['best_val_accuracy'])} to "
            f"{spread_text(conv['best_val_accuracy'])}") in markdown
    assert "lab architectures:" in printed and "report.md" in printed


def test_ladder_steps_add_one_thing_each():
    counts = [builder((28, 28, 1), 10).count_params() for _, builder, _ in
              ladder.LADDER.values()]
    hidden_1 = 784 * 128 + 128
    assert counts[0] == 7850
    assert counts[1] == hidden_1 + 128 * 10 + 10
    assert counts[2] == hidden_1 + 128 * 64 + 64 + 64 * 10 + 10
    assert counts[4] == counts[5]  # Dropout has no weights
    kinds = [type(layer).__name__ for layer in ladder.conv_2_dropout((28, 28, 1), 10).layers]
    assert kinds.count("Conv2D") == 2 and kinds.count("MaxPooling2D") == 2
    assert kinds.count("Dropout") == 1


@pytest.mark.parametrize("argv, expected", [
    (["lab", "architectures", "--models", "resnet"], "argument --models: expected a comma"),
    (["lab", "architectures", "--models", "missing.json", "--limit", "100"],
     "model file 'missing.json' does not exist"),
    (["lab", "architectures", "--limit", "5"], "lab architectures: 5 training images"),
    (["lab", "architectures", "--seeds", "0"], "argument --seeds: expected a positive integer"),
    (["lab", "telescope"], "invalid choice: 'telescope'"),
])
def test_mistakes_give_one_line(argv, expected, capsys, tmp_path):
    status = cli.main(argv + ["--out", str(tmp_path / "out")] if len(argv) > 2 else argv)
    captured = capsys.readouterr()
    assert status != 0
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuronet: error: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()  # a failed run leaves no report folder
