import numpy as np

from lab_checks import check_spread, run_lab, spread_text, table
from neuronet import optimizers
from neuronet.lab import surfaces
from neuronet.lab.optimizers import LABELS, LEARNING_RATES

FORMULAS = {"quadratic": lambda x, y: x * x / 20 + y * y,
            "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2}


def test_six_optimizers_report_matches_results(tmp_path, capsys):
    _, markdown, results, _ = run_lab(tmp_path, capsys, "optimizers")
    rows = table(markdown, "optimizer")
    entries = results["optimizers"]
    assert list(entries) == ["sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam"]
    for (name, entry), row in zip(entries.items(), rows):
        (run,) = entry["runs"]
        assert row["optimizer"] == LABELS[name]
        assert row["learning rate"] == f"{LEARNING_RATES[name]:g}"
        check_spread(entry["final_loss"], [run["history"]["loss"][-1]])
        assert row["final training loss"] == spread_text(entry["final_loss"], 4)
        assert row["test accuracy"] == spread_text(entry["test_accuracy"])
        # One recorded loss per batch (450 training images in batches of 64: 8 a epoch),
        # and their size-weighted mean per epoch is the epoch's loss.
        losses = np.asarray(entry["step_losses"][0])
        assert losses.shape == (16,)
        weights = np.array([64] * 7 + [2])
        for epoch in range(2):
            epoch_losses = losses[8 * epoch:8 * (epoch + 1)]
            np.testing.assert_allclose(np.average(epoch_losses, weights=weights),
                                       run["history"]["loss"][epoch], rtol=1e-6)
    for surface in surfaces.SURFACES:
        for name, race in results["surfaces"][surface.name].items():
            x, y = race["final_point"]
            np.testing.assert_allclose(race["final_value"], FORMULAS[surface.name](x, y),
                                       rtol=1e-9)
            np.testing.assert_allclose(race["distance"], np.hypot(x - surface.minimum[0],
                                                                  y - surface.minimum[1]))
            path = np.asarray(race["path"])
            assert path[0].tolist() == list(surface.start)
            assert race["learning_rate"] in surfaces.LEARNING_RATES
    for sentence in results["conclusions"]:
        assert sentence in markdown


def test_a_path_is_plain_gradient_descent_for_sgd():
    """SGD on the quadratic: p <- p - lr * (x / 10, 2 y), written out in NumPy."""
    surface = surfaces.SURFACES[0]
    path, diverged = surfaces.descend(surface, optimizers.SGD(learning_rate=0.3))
    expected = [np.array(surface.start)]
    for _ in range(surface.steps):
        x, y = expected[-1]
        expected.append(expected[-1] - 0.3 * np.array([x / 10, 2 * y]))
    assert not diverged
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-300)


def test_a_diverging_path_stops_without_an_error():
    surface = surfaces.SURFACES[1]
    path, diverged = surfaces.descend(surface, optimizers.SGD(learning_rate=1.0))
    assert diverged
    assert len(path) < surface.steps + 1 and np.all(np.isfinite(path))


def test_each_optimizer_keeps_the_learning_rate_with_the_lowest_mean_value():
    surface = surfaces.SURFACES[0]
    best = surfaces.best_run(surface, "momentum")
    means = []
    for rate in surfaces.LEARNING_RATES:
        path, diverged = surfaces.descend(surface, optimizers.Momentum(learning_rate=rate))
        means.append(np.inf if diverged else np.mean([FORMULAS["quadratic"](*p) for p in path]))
    assert best["learning_rate"] == surfaces.LEARNING_RATES[int(np.argmin(means))]
    np.testing.assert_allclose(best["mean_value"], min(means), rtol=1e-12)
