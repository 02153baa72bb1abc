import numpy as np
import pytest

from lab_checks import run_lab, spread_text, table
from neuronet.lab import sequences


def test_first_token_labels_are_step_zero():
    x, y = sequences.first_token_data(50, 7, seed=0)
    assert x.shape == (50, 7, sequences.SYMBOLS) and x.dtype == np.float32
    assert np.array_equal(x.sum(-1), np.ones((50, 7)))
    assert np.array_equal(x[:, 0].argmax(-1), y)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM"])
def test_step_gradients_match_finite_differences(kind):
    """g_0 and g_last against central differences of the summed loss (float64)."""
    from neuronet import backend, losses
    backend.set_floatx("float64")
    try:
        model = sequences.build(kind, 5, units=3)
        x, y = sequences.first_token_data(4, 5, seed=1)
        x = x.astype(np.float64)
        g0, glast = sequences.step_gradients(model, x, y)
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
        numeric = np.zeros_like(x)
        for index in np.ndindex(*x.shape):
            for sign in (1, -1):
                shifted = x.copy()
                shifted[index] += sign * 1e-6
                numeric[index] += sign * float(loss(y, model(shifted)).numpy()) / 2e-6
        norms = np.linalg.norm(numeric, axis=-1)
        np.testing.assert_allclose([g0, glast], [norms[:, 0].mean(), norms[:, -1].mean()],
                                   rtol=1e-6)
    finally:
        backend.set_floatx("float32")


def test_lab_sequences_report(tmp_path, capsys):
    _, markdown, results, _ = run_lab(tmp_path, capsys, "sequences", "--lengths", "3,12",
                                      "--epochs", "3")
    entries = results["entries"]
    assert [(e["layer"], e["length"]) for e in entries] == [
        (kind, t) for t in (3, 12) for kind in sequences.LAYERS]
    rows = table(markdown, "layer")
    for entry, row in zip(entries, rows):
        assert row["test accuracy"] == spread_text(entry["test_accuracy"])
        assert row["g_0 / g_last at init"] == spread_text(entry["init"]["ratio"], 3, "e")
        assert 0 <= entry["test_accuracy"]["mean"] <= 1
        assert entry["init"]["ratio"]["mean"] > 0
    # T = 3 is easy: the first token is two steps back; every layer beats chance (0.25).
    for entry in entries[:3]:
        assert entry["test_accuracy"]["mean"] >= 0.5, entry
    for sentence in results["conclusions"]:
        assert sentence in markdown
