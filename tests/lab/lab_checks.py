"""Running a lab command on a tiny budget and checking what it wrote."""
import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
from PIL import Image

from neuronet import cli

TINY = ["--limit", "500", "--epochs", "2"]


def run_lab(tmp_path, capsys, experiment, *options, seeds=1):
    """`neuronet lab <experiment> --limit 500 --epochs 2 --seeds K --out DIR ...`:
    returns (DIR, report.md's text, results.json's document, stdout)."""
    out = tmp_path / experiment
    argv = ["lab", experiment, *TINY, "--seeds", str(seeds), "--out", str(out), *options]
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Traceback" not in captured.err
    markdown = (out / "report.md").read_text(encoding="utf-8")
    results = _strict_json(out / "results.json")
    check_figures(out, markdown)
    assert re.search(rf"This experiment took {results['seconds']:.1f} s\.", markdown)
    return out, markdown, results, captured.out


def _strict_json(path):
    """JSON that a browser would accept too: NaN and Infinity are refused."""
    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}, which is not JSON")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


class _Images(HTMLParser):
    """Collects the src of every <img> and checks that the tags nest."""

    def __init__(self):
        super().__init__()
        self.sources, self.open_tags = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        elif tag not in ("meta", "br"):
            self.open_tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags[-1] == tag, (tag, self.open_tags)
        self.open_tags.pop()


def check_figures(out, markdown):
    """Every figure linked from report.md is a PNG that decodes, has something drawn, and
    is embedded byte for byte in report.html as a data URI; nothing else is linked."""
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert linked, "the report shows no figure"
    parser = _Images()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    parser.close()
    assert parser.open_tags == []
    assert len(parser.sources) == len(linked)
    for name, source in zip(linked, parser.sources):
        data = (out / name).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            pixels = np.asarray(image.convert("RGB"))
        assert pixels.std() > 10
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        assert base64.b64decode(source[len(prefix):]) == data


def table(markdown, first_header):
    """The rows of the markdown table whose first header cell is ``first_header``, as
    dicts header -> cell (the first such table)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(f"| {first_header} |"))
    headers = _cells(lines[start])
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(headers, _cells(line))))
    return rows


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def spread_text(summary, digits=3, kind="f"):
    """How the report must print a {'mean', 'std', 'values'} summary."""
    text = f"{summary['mean']:.{digits}{kind}}"
    if len(summary["values"]) > 1:
        text += f" ± {summary['std']:.{digits}{kind}}"
    return text


def check_spread(summary, values):
    """A summary holds the mean and sample standard deviation of ``values``."""
    np.testing.assert_allclose(summary["values"], values, rtol=1e-12)
    np.testing.assert_allclose(summary["mean"], np.mean(values), rtol=1e-12)
    expected_std = np.std(values, ddof=1) if len(values) > 1 else 0.0
    np.testing.assert_allclose(summary["std"], expected_std, rtol=1e-9, atol=1e-15)
