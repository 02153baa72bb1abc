"""Canvases with their true (green) and predicted (red, dashed) boxes."""
from matplotlib.patches import Rectangle

from neuronet.lab import figures


def draw_boxes(ax, image, truths, predictions, class_names, title=""):
    """``truths`` and ``predictions``: lists of (box (x1, y1, x2, y2), label text)."""
    figures.show_image(ax, image, title)
    for boxes, color, style in ((truths, "lime", "-"), (predictions, "red", "--")):
        for box, text in boxes:
            x1, y1, x2, y2 = (float(value) for value in box)
            # imshow puts pixel i's centre at i: its left edge is at i - 0.5
            ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                                   edgecolor=color, linestyle=style, linewidth=1.2))
            if text:
                ax.text(x1 - 0.5, y1 - 1.0 if color == "lime" else y2 + 4.5, text,
                        color=color, fontsize=6)


def grid_figure(count, columns=4, title=None):
    rows = (count + columns - 1) // columns
    figure, axes = figures.new_figure(columns=columns, rows=rows, width=2.2, height=2.4,
                                      title=title)
    for ax in axes[count:]:
        ax.axis("off")
    return figure, axes
