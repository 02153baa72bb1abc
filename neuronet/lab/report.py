"""A lab report: headings, paragraphs, tables and figures, written three ways from the
same blocks.

- ``report.md``: Markdown; figures are linked PNG files next to it.
- ``report.html``: one self-contained page, the PNGs embedded as base64 data URIs, so
  it opens in any browser, mailed or moved on its own.
- ``results.json``: every number the report shows (and more), for programs; floats
  that are NaN or infinite (a diverging run) are written as null, so the file is
  strict JSON.
"""
import base64
import html
import json
import math
import os

import numpy

STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
         "line-height:1.45}table{border-collapse:collapse;margin:1em 0}"
         "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:right}"
         "th:first-child,td:first-child{text-align:left}img{max-width:100%}")


class Heading:
    def __init__(self, text, level):
        self.text, self.level = text, level

    def markdown(self):
        return "#" * self.level + " " + self.text

    def html(self, folder):
        return f"<h{self.level}>{html.escape(self.text)}</h{self.level}>"


class Paragraph:
    def __init__(self, text):
        self.text = text

    def markdown(self):
        return self.text

    def html(self, folder):
        return f"<p>{html.escape(self.text)}</p>"


class Table:
    def __init__(self, headers, rows):
        self.headers = [str(cell) for cell in headers]
        self.rows = [[str(cell) for cell in row] for row in rows]
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"report table: a row has {len(row)} cells, the header "
                                 f"{len(self.headers)}: {row}")

    def markdown(self):
        lines = [_markdown_row(self.headers), "|" + "---|" * len(self.headers)]
        return "\n".join(lines + [_markdown_row(row) for row in self.rows])

    def html(self, folder):
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
                       + "</tr>" for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _markdown_row(cells):
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


class Figure:
    """A PNG already written in the report's folder, with its caption."""

    def __init__(self, filename, caption):
        self.filename, self.caption = filename, caption

    def markdown(self):
        return f"![{self.caption}]({self.filename})\n\n*{self.caption}*"

    def html(self, folder):
        with open(os.path.join(folder, self.filename), "rb") as file:
            encoded = base64.b64encode(file.read()).decode("ascii")
        caption = html.escape(self.caption)
        return (f'<figure><img src="data:image/png;base64,{encoded}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>")


class Report:
    """Blocks in reading order, written by ``write`` as report.md, report.html and
    results.json in ``folder``.

    Example:
        >>> report = Report("Learning rate", "out")
        >>> report.paragraph("lr 0.1 reached the lowest loss.")
        >>> report.figure(fig, "curves.png", "Training loss per step")
        >>> report.write({"rates": [0.1]})
    """

    def __init__(self, title, folder):
        self.title, self.folder = title, os.fspath(folder)
        self.blocks = []

    def heading(self, text, level=2):
        self.blocks.append(Heading(text, level))

    def paragraph(self, text):
        self.blocks.append(Paragraph(text))

    def table(self, headers, rows):
        self.blocks.append(Table(headers, rows))

    def figure(self, figure, filename, caption):
        """Save a matplotlib Figure as ``folder/filename`` (PNG) and show it here; the
        folder is made with the first file, so a run that fails early leaves nothing."""
        os.makedirs(self.folder, exist_ok=True)
        figure.savefig(os.path.join(self.folder, filename), dpi=100)
        self.blocks.append(Figure(filename, caption))

    def write(self, results):
        """Write the three files; returns the path of report.md."""
        os.makedirs(self.folder, exist_ok=True)
        self._write_text("report.md", self.markdown())
        self._write_text("report.html", self.html())
        self._write_text("results.json", json.dumps(json_safe(results), indent=2,
                                                    allow_nan=False) + "\n")
        return os.path.join(self.folder, "report.md")

    def markdown(self):
        blocks = [Heading(self.title, 1)] + self.blocks
        return "\n\n".join(block.markdown() for block in blocks) + "\n"

    def html(self):
        body = "\n".join(block.html(self.folder) for block in [Heading(self.title, 1)]
                         + self.blocks)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head>\n"
                f"<body>\n{body}\n</body></html>\n")

    def _write_text(self, filename, text):
        with open(os.path.join(self.folder, filename), "w", encoding="utf-8") as file:
            file.write(text)


def json_safe(value):
    """``value`` with NumPy numbers and arrays as Python ones, tuples as lists and
    non-finite floats as None."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, numpy.ndarray)):
        return [json_safe(item) for item in value]
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    if isinstance(value, (int, numpy.integer)):
        return int(value)
    if isinstance(value, (float, numpy.floating)):
        return float(value) if math.isfinite(value) else None
    return value
