"""``neuronet lab autoencoder``: learning without labels.

Three autoencoders are trained to give back their input, x -> code (10 numbers) -> x',
by the reconstruction loss MSE = mean (x' - x)^2 (the labels are never used):

- dense: 784 -> 256 -> 64 -> 10 -> 64 -> 256 -> 784 (ReLU, sigmoid out);
- conv: two stride-2 convolutions down, Dense to the code, two stride-2
  ``Conv2DTranspose`` up;
- denoising: the dense one with ``GaussianNoise`` first, so each batch is seen with
  new noise while the target stays the clean image;
- stacked: DEC's sizes, 784 -> 500 -> 500 -> 2000 -> 10 and back (trained end to
  end, not layer by layer as the paper).

Then k-means (``neuronet.clustering``: written in NumPy, k-means++ start) groups the
test images by their codes, and by their raw pixels and their 10 principal
components for comparison; the groups are scored against the hidden labels by cluster
accuracy (the best one-to-one map of clusters to classes) and NMI. The stacked
model's encoder is then fine-tuned by DEC (``neuronet.lab.dec``) on the training
images, and its soft assignments of the test images are scored the same way.
"""
import time

import numpy

from neuronet import clustering, layers, models, optimizers
from neuronet.lab import common, dec, figures
from neuronet.random import manual_seed

DEFAULTS = {"epochs": 15, "validation_split": 0.1}
CODE_SIZE = 10
NOISE = 0.3  # the denoising model's noise (std), also used to test every model on noisy input
KMEANS_RESTARTS = 3
SHOWN = 8  # images in the reconstruction figure
MAP_POINTS = 2000  # points drawn in the code maps
MODELS = ("dense", "conv", "denoising", "stacked")
DEC_MODEL = "stacked"  # the model whose encoder DEC fine-tunes
STACKED_UNITS = (500, 500, 2000)  # DEC's encoder for MNIST-sized images


def dense_autoencoder(input_shape, noise=0.0, units=(256, 64)):
    """(autoencoder, encoder): two Models sharing their layers; the hidden layers of
    the encoder have ``units``, the decoder's mirror them."""
    inputs = layers.Input(shape=input_shape)
    x = layers.GaussianNoise(noise)(inputs) if noise else inputs
    x = layers.Flatten()(x)
    for count in units:
        x = layers.Dense(count, activation="relu")(x)
    code = layers.Dense(CODE_SIZE, name="code")(x)
    x = code
    for count in reversed(units):
        x = layers.Dense(count, activation="relu")(x)
    x = layers.Dense(int(numpy.prod(input_shape)), activation="sigmoid")(x)
    outputs = layers.Reshape(input_shape)(x)
    return models.Model(inputs, outputs), models.Model(inputs, code)


def conv_autoencoder(input_shape):
    """(autoencoder, encoder): Conv2D(16, 3, stride 2) -> Conv2D(32, 3, stride 2) ->
    Dense(code) -> Dense -> Conv2DTranspose(16, 3, stride 2) -> Conv2DTranspose(C, 3,
    stride 2, sigmoid); 'same' padding, so H and W must be multiples of 4."""
    height, width, channels = input_shape
    if height % 4 or width % 4:
        raise ValueError(f"lab autoencoder: the conv model needs images whose height and "
                         f"width are multiples of 4, got {height} x {width}")
    inputs = layers.Input(shape=input_shape)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    code = layers.Dense(CODE_SIZE, name="code")(layers.Flatten()(x))
    x = layers.Dense(height // 4 * width // 4 * 32, activation="relu")(code)
    x = layers.Reshape((height // 4, width // 4, 32))(x)
    x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
    outputs = layers.Conv2DTranspose(channels, 3, strides=2, padding="same",
                                     activation="sigmoid")(x)
    return models.Model(inputs, outputs), models.Model(inputs, code)


BUILDERS = {"dense": dense_autoencoder, "conv": conv_autoencoder,
            "denoising": lambda shape: dense_autoencoder(shape, noise=NOISE),
            "stacked": lambda shape: dense_autoencoder(shape, units=STACKED_UNITS)}
DESCRIPTIONS = {
    "dense": "Flatten -> Dense 256 -> 64 -> 10 (code) -> 64 -> 256 -> 784 sigmoid",
    "conv": "Conv2D 16, 32 (3x3, stride 2) -> Dense 10 (code) -> Dense -> "
            "Conv2DTranspose 16, 1 (stride 2, sigmoid)",
    "denoising": f"GaussianNoise({NOISE}) in training, then the dense model",
    "stacked": "Flatten -> Dense 500 -> 500 -> 2000 -> 10 (code) -> 2000 -> 500 -> 500 -> "
               "784 sigmoid (DEC's sizes)"}


def reconstruction_mse(model, x, batch_size=256):
    """mean over images and pixels of (model(x) - x)^2, in inference mode."""
    return float(numpy.mean((model.predict(x, batch_size=batch_size) - x) ** 2))


def noisy(x, seed, stddev=NOISE):
    """x + N(0, stddev^2) per pixel, clipped to [0, 1] (a fixed noisy copy for testing)."""
    rng = numpy.random.default_rng(seed)
    return numpy.clip(x + rng.normal(scale=stddev, size=x.shape), 0, 1).astype(x.dtype)


def score_clusters(features, labels, seed):
    """k-means with as many clusters as classes on ``features``: {'acc', 'nmi'}."""
    found = clustering.kmeans(features.reshape(len(features), -1), len(numpy.unique(labels)),
                              seed=seed, n_init=KMEANS_RESTARTS)[0]
    return {"acc": clustering.cluster_accuracy(labels, found),
            "nmi": clustering.normalized_mutual_info(labels, found)}


def run(settings, names=MODELS):
    """Train each autoencoder per seed; cluster codes, pixels and principal components.

    Returns:
        the results written to results.json.
    """
    lab = common.Experiment("autoencoder", "Lab: autoencoders and clustering", settings)
    data = lab.load_data()
    noisy_test = noisy(data.x_test, seed=12345)
    baselines, pixel_map = _baselines(lab, data)
    trained = {name: [_train(lab, name, data, noisy_test, seed) for seed in settings.seed_list]
               for name in names}
    summary = {name: _summary(runs) for name, runs in trained.items()}
    results = {"models": {name: {"description": DESCRIPTIONS[name], **summary[name],
                                 "runs": [run["facts"] for run in runs]}
                          for name, runs in trained.items()},
               "baselines": baselines, "code_size": CODE_SIZE, "noise": NOISE,
               "conclusions": _conclusions(summary, baselines)}
    _write_report(lab, data, results, trained, noisy_test, pixel_map)
    return lab.finish(results)


def _baselines(lab, data):
    """k-means on the test images' pixels and on their first CODE_SIZE principal
    components, once per seed: (scores, (the pixels' first two components, their
    shares of the variance)) for the code maps."""
    pixels = data.x_test.reshape(len(data.x_test), -1)
    components, ratios = clustering.pca(pixels, CODE_SIZE)
    results = {}
    for name, features in (("pixels", pixels), (f"PCA {CODE_SIZE}", components)):
        scores = [score_clusters(features, data.y_test, seed) for seed in lab.settings.seed_list]
        results[name] = {key: common.spread([score[key] for score in scores])
                         for key in ("acc", "nmi")}
        lab.log(f"k-means on {name}: ACC {results[name]['acc']['mean']:.3f}, "
                f"NMI {results[name]['nmi']['mean']:.3f}")
    return results, (components[:, :2], ratios[:2])


def _train(lab, name, data, noisy_test, seed):
    manual_seed(seed)
    autoencoder, encoder = BUILDERS[name](data.input_shape)
    autoencoder.compile(optimizer=optimizers.get("adam", learning_rate=1e-3), loss="mse")
    started = time.perf_counter()
    history = autoencoder.fit(data.x_train, data.x_train, batch_size=lab.settings.batch_size,
                              epochs=lab.settings.epochs, verbose=0,
                              validation_data=(data.x_val, data.x_val))
    seconds = time.perf_counter() - started
    codes = encoder.predict(data.x_test, batch_size=256)
    facts = {"seed": seed, "history": history.history, "seconds": seconds,
             "test_mse": reconstruction_mse(autoencoder, data.x_test),
             "noisy_test_mse": float(numpy.mean(
                 (autoencoder.predict(noisy_test, batch_size=256) - data.x_test) ** 2)),
             "clusters": score_clusters(codes, data.y_test, seed)}
    lab.log(f"{name} seed {seed}: test MSE {facts['test_mse']:.4f}, k-means on codes ACC "
            f"{facts['clusters']['acc']:.3f} NMI {facts['clusters']['nmi']:.3f}, "
            f"{seconds:.1f} s")
    if name == DEC_MODEL:
        # after the codes above are taken: DEC changes the encoder's weights
        facts["dec"] = _fine_tune(lab, encoder, data, seed)
    return {"facts": facts, "model": autoencoder, "codes": codes}


def _fine_tune(lab, encoder, data, seed):
    """DEC on the training images; the test images' clusters: argmax_j q_ij."""
    started = time.perf_counter()
    model, rounds = dec.fine_tune(encoder, data.x_train, data.num_classes, seed,
                                  KMEANS_RESTARTS)
    seconds = time.perf_counter() - started
    found = model.predict(data.x_test, batch_size=256).argmax(axis=1)
    facts = {"acc": clustering.cluster_accuracy(data.y_test, found),
             "nmi": clustering.normalized_mutual_info(data.y_test, found),
             "rounds": rounds, "seconds": seconds}
    lab.log(f"DEC seed {seed}: ACC {facts['acc']:.3f} NMI {facts['nmi']:.3f} after {rounds} "
            f"rounds, {seconds:.1f} s")
    return facts


def _summary(runs):
    facts = [run["facts"] for run in runs]
    summary = {"test_mse": common.spread([fact["test_mse"] for fact in facts]),
               "noisy_test_mse": common.spread([fact["noisy_test_mse"] for fact in facts]),
               "acc": common.spread([fact["clusters"]["acc"] for fact in facts]),
               "nmi": common.spread([fact["clusters"]["nmi"] for fact in facts]),
               "seconds": common.spread([fact["seconds"] for fact in facts])}
    if "dec" in facts[0]:
        summary["dec"] = {key: common.spread([fact["dec"][key] for fact in facts])
                          for key in ("acc", "nmi", "rounds", "seconds")}
    return summary


def _verdict(codes, pixels, gap):
    """How the codes' ACC compares with the pixels': judged against the seed-to-seed
    spread, and only said as a gap when one seed leaves no spread to judge by."""
    if len(codes["values"]) < 2:
        return (f"ACC {gap:+.3f} against the pixels, from one seed (no spread to judge "
                "that gap by: run --seeds 3)")
    if common.differs(codes, pixels) and gap > 0:
        return f"it beats the pixels (ACC {gap:+.3f}, more than the seed-to-seed spread)"
    return f"it does not clearly beat the pixels (ACC {gap:+.3f}, within the spread or below)"


def _conclusions(summary, baselines):
    pixels = baselines["pixels"]
    best = max(summary, key=lambda name: summary[name]["acc"]["mean"])
    gap = summary[best]["acc"]["mean"] - pixels["acc"]["mean"]
    verdict = _verdict(summary[best]["acc"], pixels["acc"], gap)
    sharpest = min(summary, key=lambda name: summary[name]["test_mse"]["mean"])
    robust = min(summary, key=lambda name: summary[name]["noisy_test_mse"]["mean"])
    sentences = [
        f"k-means on the {best} autoencoder's {CODE_SIZE}-number codes reached ACC "
        f"{common.format_spread(summary[best]['acc'])} and NMI "
        f"{common.format_spread(summary[best]['nmi'])}, against ACC "
        f"{common.format_spread(pixels['acc'])} and NMI {common.format_spread(pixels['nmi'])} "
        f"on the 784 raw pixels: {verdict}; the published "
        "anchors are about 0.47 / 0.51 for pixels and 0.61 / 0.64 for a stacked "
        "autoencoder.",
        f"The {sharpest} model reconstructs the clean test images best (MSE "
        f"{common.format_spread(summary[sharpest]['test_mse'], 4)}); on test images with "
        f"noise of std {NOISE} added, the {robust} model comes closest to the clean image "
        f"(MSE {common.format_spread(summary[robust]['noisy_test_mse'], 4)})."]
    if DEC_MODEL in summary:
        tuned, before = summary[DEC_MODEL]["dec"], summary[DEC_MODEL]
        sentences.append(
            f"DEC fine-tuning of the {DEC_MODEL} encoder reached ACC "
            f"{common.format_spread(tuned['acc'])} and NMI {common.format_spread(tuned['nmi'])} "
            f"after {common.format_spread(tuned['rounds'], 0)} rounds, from ACC "
            f"{common.format_spread(before['acc'])} and NMI "
            f"{common.format_spread(before['nmi'])} for k-means on its codes.")
    return sentences


def _write_report(lab, data, results, trained, noisy_test, pixel_map):
    report = lab.report
    lab.setup_table(data, [(f"{name} model", DESCRIPTIONS[name]) for name in trained]
                    + [("loss", "MSE between output and input"),
                       ("optimizer", "Adam (learning rate 0.001)"),
                       ("k-means", f"own NumPy k-means, k-means++ start, best of "
                                   f"{KMEANS_RESTARTS}, on the {len(data.x_test)} test "
                                   "images")]
                    + ([("DEC", f"on the {DEC_MODEL} encoder: {dec.DESCRIPTION}")]
                       if DEC_MODEL in trained else []))
    report.heading("Reconstruction and clustering")
    report.paragraph("test MSE = mean over test images and pixels of (x' - x)^2; noisy-input "
                     f"MSE feeds x + N(0, {NOISE}^2) (clipped to [0, 1]) and compares with the "
                     "clean x; ACC = the share of test images in a cluster mapped to their "
                     "class by the best one-to-one map (Hungarian method); NMI = I(classes; "
                     "clusters) / mean(H(classes), H(clusters))"
                     + ("; the DEC row puts each test image in its most likely cluster, "
                        "argmax_j q_ij, instead of k-means." if DEC_MODEL in trained else "."))
    report.table(["features for k-means", "test MSE", "noisy-input MSE", "ACC", "NMI",
                  "training time (s)"], _rows(results))
    for sentence in results["conclusions"]:
        report.paragraph(sentence)
    report.figure(_reconstruction_figure(data, trained, noisy_test), "reconstructions.png",
                  "Test images (top) and what each autoencoder gives back; the last rows: "
                  "noisy input and the denoising model's output")
    report.figure(_map_figure(data, trained, pixel_map), "code_maps.png",
                  "The first two principal components of the codes (and of the pixels), "
                  "coloured by the true class that training never saw")
    report.figure(_curves_figure(trained), "learning_curves.png",
                  "Reconstruction loss per epoch (training and validation)")


def _rows(results):
    rows = [[name, "-", "-", common.format_spread(base["acc"]),
             common.format_spread(base["nmi"]), "-"]
            for name, base in results["baselines"].items()]
    for name, model in results["models"].items():
        rows.append([f"{name} codes", common.format_spread(model["test_mse"], 4),
                     common.format_spread(model["noisy_test_mse"], 4),
                     common.format_spread(model["acc"]), common.format_spread(model["nmi"]),
                     common.format_spread(model["seconds"], 1)])
        if "dec" in model:
            tuned = model["dec"]
            rows.append([f"{name} encoder, DEC", "-", "-", common.format_spread(tuned["acc"]),
                         common.format_spread(tuned["nmi"]),
                         common.format_spread(tuned["seconds"], 1)])
    return rows


def _reconstruction_figure(data, trained, noisy_test):
    """One mosaic: a row of SHOWN test images per model (one imshow: quick to draw)."""
    images = data.x_test[:SHOWN]
    rows = [("original", images)] + [
        (name, runs[0]["model"].predict(images)) for name, runs in trained.items()]
    name = "denoising" if "denoising" in trained else next(iter(trained))
    rows += [("noisy input", noisy_test[:SHOWN]),
             (f"{name} on it", trained[name][0]["model"].predict(noisy_test[:SHOWN]))]
    mosaic = numpy.concatenate([numpy.concatenate(list(batch.mean(axis=-1)), axis=1)
                                for _, batch in rows], axis=0)
    height = images.shape[1]
    figure, axes = figures.new_figure(width=1.0 * SHOWN + 1.5, height=1.0 * len(rows))
    figures.show_image(axes[0], mosaic, "Test images and their reconstructions")
    axes[0].set_yticks([height * (row + 0.5) for row in range(len(rows))],
                       labels=[label for label, _ in rows])
    return figure


def _map_figure(data, trained, pixel_map):
    """The pixels' and each model's codes' first two principal components, MAP_POINTS
    test images, coloured by class."""
    shown = slice(0, MAP_POINTS)
    panels = [("pixels", *pixel_map)] + [
        (f"{name} codes", *clustering.pca(runs[0]["codes"], 2)) for name, runs in trained.items()]
    figure, axes = figures.new_figure(columns=len(panels), width=4.2, height=4.0)
    for ax, (title, points, ratios) in zip(axes, panels):
        scatter = ax.scatter(points[shown, 0], points[shown, 1], c=data.y_test[shown],
                             cmap="tab10", s=3, vmin=-0.5, vmax=data.num_classes - 0.5)
        figures.label_axes(ax, title, f"PC 1 ({100 * ratios[0]:.0f}% of variance)",
                           f"PC 2 ({100 * ratios[1]:.0f}%)", legend=False)
    colorbar = figure.colorbar(scatter, ax=axes, ticks=range(data.num_classes))
    colorbar.ax.set_yticklabels(data.class_names, fontsize=7)
    return figure


def _curves_figure(trained):
    figure, axes = figures.new_figure()
    for name, runs in trained.items():
        for key, style in (("loss", "-"), ("val_loss", "--")):
            mean, std = common.curve([run["facts"]["history"] for run in runs], key)
            figures.plot_band(axes[0], mean, std, f"{name} {key}", linestyle=style)
    figures.label_axes(axes[0], "Reconstruction loss", "epoch", "MSE")
    figures.integer_epochs(axes[0])
    return figure
