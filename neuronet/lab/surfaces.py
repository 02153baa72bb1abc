"""Optimizer paths on two classic 2-D surfaces, with the library's optimizer classes
stepping a 2-element Tensor: the same ``opt.step([p])`` that trains a network.

    quadratic   f(x, y) = x^2 / 20 + y^2           ill-conditioned (curvatures 0.1 and 2),
                start (-7, 2), minimum f(0, 0) = 0, 100 steps
    rosenbrock  f(x, y) = (1 - x)^2 + 100 (y - x^2)^2   a curved, flat-bottomed valley,
                start (-1.2, 1), minimum f(1, 1) = 0, 500 steps

Each optimizer runs with every learning rate of ``LEARNING_RATES`` and keeps the one
with the lowest mean of f over the points it visited (a fast and steady descent:
wild jumps and slow crawls both score badly), so every method is shown at its best
rather than at a guess; a run that overflows (diverges) is a result, not a crash.
"""
import dataclasses

import numpy

from neuronet import optimizers
from neuronet.lab import figures
from neuronet.tensor import Tensor

LEARNING_RATES = tuple(float(10.0 ** exponent) for exponent in numpy.arange(-4, 1.75, 0.5))
ESCAPE = 1e6  # a coordinate beyond this counts as diverged


@dataclasses.dataclass(frozen=True)
class Surface:
    name: str
    formula: str
    function: object      # f(p) on a Tensor p of shape (2,) -> scalar Tensor
    start: tuple
    minimum: tuple
    steps: int
    view: tuple           # (x_min, x_max, y_min, y_max) of the contour plot


def quadratic(p):
    """f(x, y) = x^2 / 20 + y^2."""
    x, y = p[0], p[1]
    return x * x * 0.05 + y * y


def rosenbrock(p):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2."""
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


SURFACES = (
    Surface("quadratic", "f(x, y) = x²/20 + y²", quadratic, (-7.0, 2.0), (0.0, 0.0), 100,
            (-8.0, 8.0, -3.0, 3.0)),
    Surface("rosenbrock", "f(x, y) = (1 - x)² + 100 (y - x²)²", rosenbrock, (-1.2, 1.0),
            (1.0, 1.0), 500, (-2.0, 2.0, -1.0, 3.0)),
)


def descend(surface, optimizer):
    """The points visited from ``surface.start``: (steps + 1, 2), cut short (and
    returned with diverged=True) once a coordinate overflows or turns NaN."""
    point = Tensor(numpy.asarray(surface.start), dtype="float64", requires_grad=True)
    path = [point.data.copy()]
    with numpy.errstate(all="ignore"):
        for _ in range(surface.steps):
            point.grad = None
            surface.function(point).backward()
            optimizer.step([point])
            if not numpy.all(numpy.abs(point.data) < ESCAPE):
                return numpy.asarray(path), True
            path.append(point.data.copy())
    return numpy.asarray(path), False


def values_along(surface, path):
    """f at every point of a (steps, 2) path."""
    return surface.function(Tensor(numpy.asarray(path).T, dtype="float64")).numpy()


def best_run(surface, name):
    """The run of optimizer ``name`` (default settings but the learning rate) with the
    lowest mean f along its path, over the learning rates of the grid."""
    best = None
    for learning_rate in LEARNING_RATES:
        path, diverged = descend(surface, optimizers.get(name, learning_rate=learning_rate))
        values = values_along(surface, path)
        score = numpy.inf if diverged else float(values.mean())
        if best is None or score < best["mean_value"]:
            best = {"optimizer": name, "learning_rate": learning_rate, "mean_value": score,
                    "final_value": float(values[-1]), "final_point": path[-1].tolist(),
                    "path": path.tolist(), "diverged": diverged,
                    "distance": float(numpy.linalg.norm(path[-1] - surface.minimum))}
    return best


def race(surface, names):
    """{name: best_run} for every optimizer on ``surface``."""
    return {name: best_run(surface, name) for name in names}


def describe(surface, runs):
    """One sentence: the closest and the farthest optimizer after all steps."""
    ranked = sorted(runs.values(), key=lambda run: run["distance"])
    closest, farthest = ranked[0], ranked[-1]
    return (f"On the {surface.name} surface ({surface.formula}), after {surface.steps} steps "
            f"from {surface.start}, {closest['optimizer']} came closest to the minimum "
            f"{surface.minimum} (distance {closest['distance']:.3g}, f = "
            f"{closest['final_value']:.3g}, learning rate {closest['learning_rate']:.3g}) "
            f"and {farthest['optimizer']} ended farthest from it (distance "
            f"{farthest['distance']:.3g}, f = {farthest['final_value']:.3g}).")


def paths_figure(results):
    """One panel per surface: log-spaced contours and each optimizer's path."""
    figure, axes = figures.new_figure(columns=len(SURFACES), width=6.2, height=5.0,
                                      title="Optimizer paths on two 2-D surfaces")
    for ax, surface in zip(axes, SURFACES):
        _contours(ax, surface)
        for name, run in results[surface.name].items():
            path = numpy.asarray(run["path"])
            ax.plot(path[:, 0], path[:, 1], marker=".", markersize=2, linewidth=1,
                    label=f"{name} (lr {run['learning_rate']:.3g})")
        ax.plot(*surface.start, "ko", label="start")
        ax.plot(*surface.minimum, "k*", markersize=12, label="minimum")
        low_x, high_x, low_y, high_y = surface.view
        ax.set_xlim(low_x, high_x)
        ax.set_ylim(low_y, high_y)
        figures.label_axes(ax, f"{surface.name}: {surface.formula}, {surface.steps} steps",
                           "x (parameter 1, no unit)", "y (parameter 2, no unit)",
                           legend=False)
        ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
    return figure


def _contours(ax, surface):
    low_x, high_x, low_y, high_y = surface.view
    x, y = numpy.meshgrid(numpy.linspace(low_x, high_x, 200), numpy.linspace(low_y, high_y, 200))
    grid = Tensor(numpy.stack([x, y]), dtype="float64")
    values = surface.function(grid).numpy()
    levels = numpy.logspace(numpy.log10(max(values.min(), 1e-3)), numpy.log10(values.max()), 18)
    contour = ax.contour(x, y, values, levels=levels, cmap="viridis", linewidths=0.6,
                         alpha=0.7)
    ax.figure.colorbar(contour, ax=ax, label="f(x, y) (contour levels, log-spaced)",
                       format="%.3g")
