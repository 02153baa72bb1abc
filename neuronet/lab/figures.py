"""Figure helpers shared by the lab: matplotlib ``Figure`` objects (no pyplot, so no
global state and no display), curves with a band of ± one standard deviation."""
import numpy
from matplotlib.figure import Figure


def new_figure(columns=1, rows=1, width=6.0, height=4.2, title=None):
    """(figure, flat list of axes) for a grid of panels."""
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    if title:
        figure.suptitle(title)
    return figure, axes


def label_axes(ax, title, xlabel, ylabel, legend=True):
    """Title, axis labels (with units), a light grid and the legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def plot_band(ax, mean, std, label, x=None, **style):
    """A mean curve and a translucent band of ± one standard deviation around it;
    x defaults to epochs 1, 2, ..."""
    mean, std = numpy.asarray(mean, dtype=float), numpy.asarray(std, dtype=float)
    if x is None:
        x = numpy.arange(1, len(mean) + 1)
    line, = ax.plot(x, mean, label=label, **style)
    if numpy.any(std > 0):
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2,
                        linewidth=0)
    return line


def integer_epochs(ax):
    """Epoch axes show whole numbers only."""
    ax.xaxis.get_major_locator().set_params(integer=True)


def show_image(ax, image, title, cmap="gray", symmetric=False):
    """An image without ticks; ``symmetric`` centres the colour map on 0 (filters,
    signed responses)."""
    image = numpy.asarray(image, dtype=float)
    limits = {}
    if symmetric:
        bound = float(numpy.abs(image).max()) or 1.0
        limits = {"vmin": -bound, "vmax": bound}
    ax.imshow(image, cmap=cmap, **limits)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
