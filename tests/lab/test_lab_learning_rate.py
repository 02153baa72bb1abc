import numpy as np

from lab_checks import run_lab, spread_text, table


def _diverged(losses):
    """null (NaN/inf in results.json), an explosion past 10x the first loss, or a rise."""
    if any(loss is None for loss in losses):
        return True
    return max(losses) > 10 * losses[0] or losses[-1] > losses[0]


def test_sweep_verdicts_follow_the_losses(tmp_path, capsys):
    _, markdown, results, printed = run_lab(tmp_path, capsys, "learning-rate", "--rates",
                                            "1000,0.001,0.1")
    entries = results["rates"]
    assert [entry["learning_rate"] for entry in entries] == [0.001, 0.1, 1000.0]
    diverged = [any(_diverged(losses) for losses in entry["step_losses"]) for entry in entries]
    assert diverged[-1]  # alpha = 1000 cannot but blow up
    healthy = [entry for entry, bad in zip(entries, diverged) if not bad]
    good = min(healthy, key=lambda entry: entry["final_loss"]["mean"])
    rows = table(markdown, "learning rate")
    for entry, bad, row in zip(entries, diverged, rows):
        expected = ("diverged" if bad else "good" if entry is good else
                    "too small" if entry["learning_rate"] < good["learning_rate"] else
                    "too large")
        assert entry["verdict"] == row["verdict"] == expected
        assert row["learning rate"] == f"{entry['learning_rate']:g}"
        assert row["test accuracy"] == spread_text(entry["test_accuracy"])
        if entry["final_loss"]["mean"] is None:  # infinite: the run stopped on NaN/inf
            assert row["last-epoch training loss"] == "NaN/inf"
            assert row["first NaN/inf step"] == str(entry["first_bad_step"])
        else:
            assert row["last-epoch training loss"] == spread_text(entry["final_loss"], 4)
            np.testing.assert_allclose(entry["final_loss"]["mean"],
                                       entry["runs"][0]["history"]["loss"][-1])
    for sentence in results["conclusions"]:
        assert sentence in markdown
    assert "Traceback" not in printed
