import json
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from lab_checks import check_figures
from neuronet.lab import report as lab_report
from neuronet.lab.common import band, format_spread, moving_average, spread


def test_report_writes_markdown_html_and_strict_json(tmp_path):
    report = lab_report.Report("A <title>", tmp_path)
    report.heading("Numbers")
    report.table(["name", "value"], [["a|b", 1.5], ["<c>", "2"]])
    report.paragraph("x < y & z")
    figure = Figure()
    ax = figure.subplots()
    ax.plot([0, 1], [1, 0], linewidth=5)
    report.figure(figure, "line.png", "A line")
    report.write({"loss": [1.0, math.nan, math.inf], "array": np.arange(3),
                  "number": np.float32(0.5), "flag": np.bool_(True)})
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("# A <title>\n")
    assert "| a\\|b | 1.5 |" in markdown
    check_figures(tmp_path, markdown)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<p>x &lt; y &amp; z</p>" in page and "<td>&lt;c&gt;</td>" in page
    results = json.loads((tmp_path / "results.json").read_text())
    assert results == {"loss": [1.0, None, None], "array": [0, 1, 2], "number": 0.5,
                       "flag": True}


def test_a_table_row_must_fit_the_header(tmp_path):
    report = lab_report.Report("t", tmp_path)
    with pytest.raises(ValueError, match="a row has 1 cells, the header 2"):
        report.table(["a", "b"], [["only one"]])


def test_spread_and_its_text():
    summary = spread([0.86, 0.87, 0.85])
    assert summary["mean"] == pytest.approx(0.86)
    assert summary["std"] == pytest.approx(0.01)
    assert format_spread(summary) == "0.860 ± 0.010"
    assert format_spread(spread([0.5])) == "0.500"
    assert format_spread(spread([0.00012, 0.00014]), 2, "g") == "0.00013 ± 1.4e-05"


def test_band_over_runs_of_different_lengths():
    mean, std = band([[1.0, 2.0, 3.0], [3.0, 4.0]])
    np.testing.assert_allclose(mean, [2.0, 3.0, 3.0])
    np.testing.assert_allclose(std, [np.sqrt(2), np.sqrt(2), 0.0])


def test_moving_average():
    np.testing.assert_allclose(moving_average([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(moving_average([1, 2], 1), [1, 2])
