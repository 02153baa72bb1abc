"""Forecasting a real series: yearly sunspot numbers, 1700-2008, one year ahead.

    python examples/forecast_series.py [--layer lstm|gru] [--epochs 300] [--out DIR]

The series ships with neuronet (``neuronet/data/sunspots_yearly.csv``, public domain;
source in ``neuronet/data/SUNSPOTS_SOURCE.txt``). Each input is the last ``--window``
years (``neuronet.utils.timeseries_windows``), the target the next year's number. The
last ``--test-years`` are held out; every forecast there is one step ahead, from the
true past values (as the baselines' are):

    naive            y_hat[t] = y[t - 1]
    seasonal naive   y_hat[t] = y[t - 11] (the solar cycle is about 11 years)
    model            LSTM(units) (or GRU) -> Dense(1) on y / scale, scale = the training
                     years' maximum

Reported: the mean absolute error (MAE) of each on the held-out years, and a plot of the
forecasts against the truth.
"""
import argparse
import csv
import json
import os
import time
from importlib import resources

import numpy
from matplotlib.figure import Figure

from neuronet import layers, models, optimizers
from neuronet.random import manual_seed
from neuronet.utils import timeseries_windows

SEASON = 11


def load_sunspots():
    """(years, values): int years and float32 yearly mean sunspot numbers."""
    with resources.files("neuronet").joinpath("data/sunspots_yearly.csv").open() as file:
        rows = [row for row in csv.DictReader(line for line in file if not line.startswith("#"))]
    years = numpy.asarray([int(float(row["year"])) for row in rows])
    return years, numpy.asarray([float(row["sunspots"]) for row in rows], dtype=numpy.float32)


def build(kind, window, units):
    recurrent = {"lstm": layers.LSTM, "gru": layers.GRU}[kind]
    return models.Sequential([layers.Input(shape=(window, 1)), recurrent(units),
                              layers.Dense(1)])


def mae(forecast, truth):
    return float(numpy.mean(numpy.abs(numpy.asarray(forecast) - numpy.asarray(truth))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--window", type=int, default=22)
    parser.add_argument("--test-years", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/forecast")
    args = parser.parse_args(argv)
    manual_seed(args.seed)
    years, values = load_sunspots()
    first_test = len(values) - args.test_years
    scale = float(values[:first_test].max())
    x, y = timeseries_windows(values / scale, args.window)
    target_index = numpy.arange(args.window, len(values))  # the year each window predicts
    train = target_index < first_test
    model = build(args.layer, args.window, args.units)
    model.compile(optimizer=optimizers.Adam(learning_rate=args.lr), loss="mse")
    started = time.perf_counter()
    history = model.fit(x[train], y[train], batch_size=args.batch_size, epochs=args.epochs,
                        verbose=0)
    seconds = time.perf_counter() - started
    test = ~train
    truth = values[target_index[test]]
    forecasts = {"model": model.predict(x[test], verbose=0)[:, 0] * scale,
                 "naive": values[target_index[test] - 1],
                 "seasonal naive": values[target_index[test] - SEASON]}
    results = {"series": "yearly mean sunspot number", "years": [int(years[0]), int(years[-1])],
               "test_years": [int(years[first_test]), int(years[-1])],
               "settings": vars(args), "train_seconds": seconds,
               "final_training_mse_scaled": float(history.history["loss"][-1]),
               "mae": {name: mae(f, truth) for name, f in forecasts.items()},
               "train_mae_model": mae(model.predict(x[train], verbose=0)[:, 0] * scale,
                                      values[target_index[train]])}
    write_report(args.out, results, years[target_index[test]], truth, forecasts)
    print("forecast_series: held-out MAE " + ", ".join(
        f"{name} {value:.2f}" for name, value in results["mae"].items())
        + f" ({seconds:.0f} s); report {os.path.join(args.out, 'forecast.md')}")
    return results


def write_report(out, results, test_years, truth, forecasts):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
    figure = Figure(figsize=(9, 4), layout="constrained")
    ax = figure.subplots()
    ax.plot(test_years, truth, "k-", linewidth=2, label="truth")
    for name, style in (("model", "C0-o"), ("naive", "C1--"), ("seasonal naive", "C2:")):
        ax.plot(test_years, forecasts[name], style, markersize=3,
                label=f"{name} (MAE {results['mae'][name]:.1f})")
    ax.set_xlabel("year")
    ax.set_ylabel("yearly mean sunspot number")
    ax.set_title("One-year-ahead forecasts on the held-out years")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.savefig(os.path.join(out, "forecast.png"), dpi=100)
    s = results["settings"]
    mae_rows = [f"| {name} | {value:.2f} |" for name, value in results["mae"].items()]
    lines = [
        "# Forecasting yearly sunspot numbers", "",
        f"Command: `python examples/forecast_series.py --layer {s['layer']} --units "
        f"{s['units']} --window {s['window']} --epochs {s['epochs']} --batch-size "
        f"{s['batch_size']} --lr {s['lr']:g} --seed {s['seed']} --out {out}` "
        f"(training {results['train_seconds']:.0f} s).", "",
        f"Series: {results['series']}, {results['years'][0]}-{results['years'][1]}; held out: "
        f"{results['test_years'][0]}-{results['test_years'][1]}. Inputs: the last "
        f"{s['window']} years; every forecast is one year ahead from the true past.", "",
        "| forecast | MAE on the held-out years |", "| --- | --- |", *mae_rows, "",
        f"The model's MAE on its training years: {results['train_mae_model']:.2f}.", "",
        "![forecast vs truth](forecast.png)", ""]
    with open(os.path.join(out, "forecast.md"), "w", encoding="utf-8") as file:
        file.write("\n".join(lines))


if __name__ == "__main__":
    main()
