"""``neuronet lab kernels``: convolution seen as filtering.

Three parts:

1. The classic kernels of ``neuronet.kernels`` applied to sample test images, with
   what each does to the image's total variation TV = mean |x[i, j+1] - x[i, j]| +
   mean |x[i+1, j] - x[i, j]| (blurs lower it, sharpening raises it).
2. The first-layer filters a small CNN learns, each compared with the classic kernels
   by cosine similarity cos = <w, k> / (||w|| ||k||), before and after training.
3. The feature maps of one image after each convolution and pooling layer.
"""
import numpy

from neuronet import kernels, layers, models
from neuronet.lab import common, figures
from neuronet.random import manual_seed

DEFAULTS = {"epochs": 3}
CLASSIC = {"identity": kernels.identity(), "sharpen": kernels.sharpen(),
           "gaussian blur": kernels.gaussian_blur(3, 1.0), "box blur": kernels.box_blur(3),
           "laplacian (edges)": kernels.laplacian(), "sobel x": kernels.sobel_x(),
           "sobel y": kernels.sobel_y(), "emboss": kernels.emboss()}
SAMPLES = 3
FIRST_FILTERS, SECOND_FILTERS = 8, 16
MAPS_SHOWN = 8  # channels drawn per layer in the feature-map figure


def small_cnn(input_shape, num_classes):
    """Conv2D(8, 3, relu) -> MaxPooling2D(2) -> Conv2D(16, 3, relu) -> MaxPooling2D(2)
    -> Flatten -> Dense(classes), 'same' padding."""
    return models.Sequential([
        layers.Input(shape=input_shape),
        layers.Conv2D(FIRST_FILTERS, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(SECOND_FILTERS, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(num_classes)])


def total_variation(image):
    """Mean absolute difference between horizontal plus vertical neighbours."""
    image = numpy.asarray(image, dtype=float)
    return (numpy.abs(numpy.diff(image, axis=1)).mean()
            + numpy.abs(numpy.diff(image, axis=0)).mean())


def cosine(first, second):
    first, second = numpy.ravel(first).astype(float), numpy.ravel(second).astype(float)
    norms = numpy.linalg.norm(first) * numpy.linalg.norm(second)
    return float(first @ second / norms) if norms else 0.0


def closest_classic(filter_weights):
    """(name, cosine) of the classic kernel most similar to a (3, 3) filter, up to sign
    (a filter and its negative detect the same pattern)."""
    scores = {name: cosine(filter_weights, kernel) for name, kernel in CLASSIC.items()}
    name = max(scores, key=lambda key: abs(scores[key]))
    return name, scores[name]


def run(settings):
    """Filter sample images, train the CNN per seed, show its filters and feature maps.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("kernels", "Lab: kernels, learned filters and feature maps",
                            settings)
    data = lab.load_data()
    samples = _sample_indices(data.y_test)
    images = data.x_test[samples].mean(axis=-1)  # grey: the mean of the channels
    classic = _classic_results(images)
    runs, matches = _train_cnns(lab, data)
    maps = feature_maps(runs[0].model, data.x_test[samples[:1]])
    conclusions = [_classic_sentence(classic), _filter_sentence(matches),
                   _maps_sentence(maps, runs)]
    results = {"samples": [{"index": int(i), "class": data.class_names[data.y_test[i]]}
                           for i in samples],
               "classic": classic, "filters": matches, "feature_maps": _maps_facts(maps),
               "test_accuracy": common.spread([r.test_accuracy for r in runs]),
               "runs": [r.summary() for r in runs], "conclusions": conclusions}
    _write_report(lab, data, results, images, runs[0].model, maps)
    return lab.finish(results)


def _sample_indices(labels):
    """The first test image of each of the first SAMPLES classes that occur."""
    indices, seen = [], set()
    for index, label in enumerate(labels):
        if label not in seen:
            seen.add(label)
            indices.append(index)
        if len(indices) == SAMPLES:
            break
    return numpy.asarray(indices)


def _classic_results(images):
    rows = []
    for name, kernel in CLASSIC.items():
        filtered = [kernels.apply_kernel(image, kernel) for image in images]
        ratios = [total_variation(out) / total_variation(image)
                  for out, image in zip(filtered, images)]
        rows.append({"kernel": name, "weights": kernel.tolist(), "sum": float(kernel.sum()),
                     "tv_ratio": common.spread(ratios),
                     "min": float(min(out.min() for out in filtered)),
                     "max": float(max(out.max() for out in filtered))})
    return rows


def _classic_sentence(classic):
    """Among the kernels that keep flat areas as they are (weights summing to 1): the
    smoothest and the roughest output; then the edge detectors (weights summing to 0)."""
    ratios = {row["kernel"]: row["tv_ratio"]["mean"] for row in classic
              if abs(row["sum"] - 1) < 1e-6}
    lowest, highest = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
    zero_sum = [row["kernel"] for row in classic if abs(row["sum"]) < 1e-6]
    return (f"Among the kernels whose weights sum to 1 (flat areas keep their value), "
            f"{lowest} gave the smoothest output (total variation {_times(ratios[lowest])}) "
            f"and {highest} the roughest (total variation {_times(ratios[highest])}); the "
            f"kernels whose weights sum to 0 "
            f"({', '.join(zero_sum)}) give 0 on flat areas and respond only where the "
            "intensity changes.")


def _times(ratio):
    """'0.42 times the original (lowered)' or '3.1 times the original (raised)'."""
    change = "lowered" if ratio < 1 else "raised" if ratio > 1 else "unchanged"
    return f"{ratio:.3g} times the original, {change}"


def _train_cnns(lab, data):
    """Train the CNN once per seed; compare each first-layer filter with the classic
    kernels, at initialisation and after training."""
    runs, matches = [], []
    for seed in lab.settings.seed_list:
        manual_seed(seed)
        initial = first_layer_filters(small_cnn(data.input_shape, data.num_classes))
        trained = common.train_classifier(small_cnn, data, lab.settings, seed)
        learned = first_layer_filters(trained.model)
        matches.append({"seed": seed, "initial": [_match(f) for f in initial],
                        "trained": [_match(f) for f in learned]})
        lab.log(f"CNN seed {seed}: test accuracy {trained.test_accuracy:.4f}, "
                f"{trained.seconds:.1f} s")
        runs.append(trained)
    return runs, matches


def first_layer_filters(model):
    """The first Conv2D's filters as (filters, kh, kw), summed over input channels."""
    conv = next(layer for layer in model.layers if isinstance(layer, layers.Conv2D))
    return numpy.moveaxis(conv.kernel.numpy().sum(axis=2), -1, 0)


def _match(filter_weights):
    name, score = closest_classic(filter_weights)
    return {"closest": name, "cosine": score}


def _mean_best_cosine(matches, stage):
    return common.spread([numpy.mean([abs(m["cosine"]) for m in seed[stage]])
                          for seed in matches])


def _filter_sentence(matches):
    before, after = _mean_best_cosine(matches, "initial"), _mean_best_cosine(matches, "trained")
    first = matches[0]["trained"]
    best = max(range(len(first)), key=lambda index: abs(first[index]["cosine"]))
    verb = "raised" if after["mean"] > before["mean"] else "lowered"
    return (f"Training {verb} the mean |cosine| between each first-layer filter and its "
            f"closest classic kernel from {common.format_spread(before)} (random "
            f"initial filters) to {common.format_spread(after)}; in the first seed's "
            f"network, filter {best + 1} is the most classic: closest to "
            f"{first[best]['closest']} (cosine {first[best]['cosine']:.3f}).")


def feature_maps(model, image):
    """[(layer name, layer type, output (H, W, C))] after every Conv2D and pooling layer
    for one image of shape (1, H, W, C)."""
    maps, x = [], image
    for layer in model.layers:
        x = layer(x, training=False)
        if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D)):
            maps.append((layer.name, type(layer).__name__, x.numpy()[0]))
    return maps


def _maps_facts(maps):
    return [{"layer": name, "type": kind, "shape": list(values.shape),
             "zero_fraction": float(numpy.mean(values == 0)),
             "mean_activation": float(values.mean())} for name, kind, values in maps]


def _maps_sentence(maps, runs):
    facts = _maps_facts(maps)
    sizes = " -> ".join("x".join(str(n) for n in fact["shape"]) for fact in facts)
    first = facts[0]
    return (f"The image shrinks and deepens through the network ({sizes}); after the "
            f"first convolution's ReLU {100 * first['zero_fraction']:.1f}% of the values are "
            f"0, so each filter answers only where its pattern is. Test accuracy of the "
            f"CNN: {common.format_spread(common.spread([r.test_accuracy for r in runs]))}.")


def _write_report(lab, data, results, images, model, maps):
    report = lab.report
    classic_sentence, filter_sentence, maps_sentence = results["conclusions"]
    lab.setup_table(data, [("CNN", "Conv2D(8, 3, relu) -> MaxPooling2D(2) -> Conv2D(16, 3, "
                                   "relu) -> MaxPooling2D(2) -> Flatten -> Dense(classes)"),
                           ("optimizer", "Adam (learning rate 0.001)")])
    report.heading("Classic kernels")
    report.paragraph("out[i, j] = sum over u, v of image[i + u, j + v] * kernel[u, v] "
                     "(zero padding at the border); TV ratio = total variation of the output "
                     "/ total variation of the image, mean over the sample images.")
    report.table(["kernel", "weights (rows)", "sum of weights", "TV ratio", "output min",
                  "output max"], [_classic_row(row) for row in results["classic"]])
    report.paragraph(classic_sentence)
    report.figure(_classic_figure(images, results["samples"]), "classic_kernels.png",
                  "Sample images filtered by the classic kernels")
    report.heading("Filters learned by the first layer")
    report.table(["filter", "closest classic kernel (trained)", "cosine (trained)",
                  "closest classic kernel (initial)", "cosine (initial)"],
                 _filter_rows(results["filters"][0]))
    report.paragraph(filter_sentence)
    report.figure(_filters_figure(model, results["filters"][0]), "learned_filters.png",
                  "The first layer's 3 x 3 filters after training (first seed)")
    report.heading("Feature maps of one image")
    report.table(["layer", "type", "output shape", "zeros (%)", "mean value"],
                 [[f["layer"], f["type"], " x ".join(str(n) for n in f["shape"]),
                   f"{100 * f['zero_fraction']:.1f}", f"{f['mean_activation']:.4f}"]
                  for f in results["feature_maps"]])
    report.paragraph(maps_sentence)
    report.figure(_maps_figure(data.x_test[int(results["samples"][0]["index"])], maps),
                  "feature_maps.png", "Feature maps after each convolution and pooling layer")


def _classic_row(row):
    weights = " / ".join(" ".join(f"{w:.3g}" for w in line) for line in row["weights"])
    return [row["kernel"], weights, f"{row['sum']:.3g}", common.format_spread(row["tv_ratio"]),
            f"{row['min']:.3f}", f"{row['max']:.3f}"]


def _filter_rows(matches):
    return [[index + 1, trained["closest"], f"{trained['cosine']:.3f}", initial["closest"],
             f"{initial['cosine']:.3f}"]
            for index, (trained, initial) in enumerate(zip(matches["trained"],
                                                           matches["initial"]))]


def _classic_figure(images, samples):
    columns = len(CLASSIC) + 1
    figure, axes = figures.new_figure(columns=columns, rows=len(images), width=1.7, height=1.9,
                                      title="Classic kernels (grey: intensity; kernels that "
                                            "sum to 0 are drawn around 0)")
    for row, (image, sample) in enumerate(zip(images, samples)):
        figures.show_image(axes[row * columns], image, f"{sample['class']} (original)")
        for column, (name, kernel) in enumerate(CLASSIC.items(), start=1):
            filtered = kernels.apply_kernel(image, kernel)
            figures.show_image(axes[row * columns + column], filtered, name,
                               symmetric=abs(float(kernel.sum())) < 1e-6)
    return figure


def _filters_figure(model, matches):
    filters = first_layer_filters(model)
    figure, axes = figures.new_figure(columns=len(filters), width=1.6, height=2.0,
                                      title="Learned first-layer filters (red < 0 < blue)")
    for index, (ax, weights) in enumerate(zip(axes, filters)):
        match = matches["trained"][index]
        figures.show_image(ax, weights, f"{index + 1}: ~{match['closest']}\n"
                                        f"cos {match['cosine']:.2f}", cmap="RdBu",
                           symmetric=True)
    return figure


def _maps_figure(image, maps):
    figure, axes = figures.new_figure(columns=MAPS_SHOWN + 1, rows=len(maps), width=1.4,
                                      height=1.6, title="Feature maps of one test image "
                                                        "(brighter: larger activation)")
    for row, (name, kind, values) in enumerate(maps):
        figures.show_image(axes[row * (MAPS_SHOWN + 1)], image.mean(axis=-1), "input")
        for channel in range(MAPS_SHOWN):
            ax = axes[row * (MAPS_SHOWN + 1) + channel + 1]
            if channel < values.shape[-1]:
                figures.show_image(ax, values[:, :, channel], f"{name} #{channel + 1}")
            else:
                ax.axis("off")
    return figure
