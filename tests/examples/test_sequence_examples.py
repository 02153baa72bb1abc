"""examples/forecast_series.py and examples/char_lm.py on a tiny budget: they run, write
their report, and their numbers are what they claim to be."""
import json
import math
import pathlib
import runpy

import numpy as np

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _example(name):
    return runpy.run_path(str(EXAMPLES / name))


def test_forecast_series_tiny(tmp_path):
    example = _example("forecast_series.py")
    results = example["main"](["--epochs", "2", "--units", "4", "--out", str(tmp_path)])
    years, values = example["load_sunspots"]()
    assert years[0] == 1700 and years[-1] == 2008 and len(values) == 309
    truth = values[-40:]
    # The baselines' MAE by their definition: last year's value, the value 11 years back.
    assert math.isclose(results["mae"]["naive"], np.mean(np.abs(values[-41:-1] - truth)),
                        rel_tol=1e-6)
    assert math.isclose(results["mae"]["seasonal naive"],
                        np.mean(np.abs(values[-51:-11] - truth)), rel_tol=1e-6)
    assert results["test_years"] == [1969, 2008]
    assert (tmp_path / "forecast.png").stat().st_size > 1000
    report = (tmp_path / "forecast.md").read_text()
    assert f"| naive | {results['mae']['naive']:.2f} |" in report
    assert json.loads((tmp_path / "results.json").read_text())["mae"] == results["mae"]


def test_char_lm_tiny(tmp_path):
    example = _example("char_lm.py")
    results = example["main"](["--epochs", "1", "--units", "8", "--chars", "3000",
                               "--seq-len", "16", "--sample-length", "10", "--out",
                               str(tmp_path)])
    assert results["characters"] == 3000
    assert math.isclose(results["uniform_bpc"], math.log2(results["alphabet"]))
    assert 0 < results["heldout_bpc"] < 2 * results["uniform_bpc"]
    for temperature, text in results["samples"].items():
        assert text.startswith("And God said") and len(text) == len("And God said") + 10
    report = (tmp_path / "report.md").read_text()
    assert f"{results['heldout_bpc']:.3f} bpc held out" in report


def test_char_lm_windows_shift_by_one():
    windows = _example("char_lm.py")["windows"]
    x, y = windows(np.arange(10), 3)
    assert np.array_equal(x, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    assert np.array_equal(y, x + 1)
