import numpy as np

from lab_checks import check_spread, run_lab, spread_text, table
from neuronet.lab import overfitting


def _overfit_epoch_by_hand(history):
    """The epoch after the lowest validation loss, if the training loss fell after it."""
    best = int(np.argmin(history["val_loss"]))
    if best < len(history["loss"]) - 1 and history["loss"][-1] < history["loss"][best]:
        return best + 2
    return None


def test_three_variants_report_matches_results(tmp_path, capsys):
    _, markdown, results, _ = run_lab(tmp_path, capsys, "overfitting", "--patience", "1")
    setup = {row["setting"]: row["value"] for row in table(markdown, "setting")}
    assert setup["training images"] == "400" and setup["validation images"] == "100"
    assert "Definition: overfitting starts in the epoch after the one with the lowest " \
           "validation loss" in markdown
    variants = results["variants"]
    rows = {row["variant"]: row for row in table(markdown, "variant")}
    assert list(rows) == ["plain", "early stopping", "dropout"]
    for name, variant in variants.items():
        (run,) = variant["runs"]
        history = run["history"]
        assert run["epochs_run"] == len(history["loss"])
        assert run["overfit_epoch"] == _overfit_epoch_by_hand(history)
        gap = history["accuracy"][-1] - history["val_accuracy"][-1]
        check_spread(variant["final_accuracy_gap"], [gap])
        check_spread(variant["test_accuracy"], [run["test_accuracy"]])
        row = rows[name]
        assert row["test accuracy"] == spread_text(variant["test_accuracy"], 4)
        assert row["test loss"] == spread_text(variant["test_loss"], 4)
        assert row["final accuracy gap (points)"] == f"{100 * gap:.1f}"
        assert row["overfitting starts (epoch, per seed)"] == str(run["overfit_epoch"] or "none")
    stopped = variants["early stopping"]["runs"][0]
    assert stopped["kept_epoch"] == int(np.argmax(stopped["history"]["val_accuracy"])) + 1
    assert variants["plain"]["runs"][0]["kept_epoch"] == 2
    assert variants["dropout"]["params"] == variants["plain"]["params"]
    # The per-epoch gap table of the plain model, from its (one-seed) history.
    plain = variants["plain"]["runs"][0]["history"]
    gap_rows = table(markdown, "epoch")
    assert len(gap_rows) == 2
    for epoch, row in enumerate(gap_rows):
        gap = plain["accuracy"][epoch] - plain["val_accuracy"][epoch]
        assert row["gap (points)"] == f"{100 * gap:.1f}"
        assert row["val loss"] == f"{plain['val_loss'][epoch]:.4f}"
    for sentence in results["conclusions"]:
        assert sentence in markdown


def test_gaps_are_train_minus_validation():
    history = {"loss": [1.0, 0.5], "val_loss": [1.2, 1.4], "accuracy": [0.6, 0.9],
               "val_accuracy": [0.55, 0.7]}
    accuracy_gap, loss_gap = overfitting.gaps(history)
    np.testing.assert_allclose(accuracy_gap, [0.05, 0.2])
    np.testing.assert_allclose(loss_gap, [0.2, 0.9])


def test_dropout_variant_adds_a_dropout_after_each_hidden_layer():
    plain = overfitting.large_mlp()((28, 28, 1), 10)
    dropped = overfitting.large_mlp(0.5)((28, 28, 1), 10)
    kinds = [type(layer).__name__ for layer in dropped.layers]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert plain.count_params() == dropped.count_params() == (784 * 512 + 512 + 512 * 512
                                                              + 512 + 512 * 10 + 10)
