import numpy as np

from lab_checks import run_lab, spread_text, table
from neuronet import kernels as classic
from neuronet.lab import kernels


def test_kernels_report_matches_results(tmp_path, capsys):
    _, markdown, results, _ = run_lab(tmp_path, capsys, "kernels")
    rows = table(markdown, "kernel")
    assert [row["kernel"] for row in rows] == list(kernels.CLASSIC)
    for row, entry in zip(rows, results["classic"]):
        assert row["TV ratio"] == spread_text(entry["tv_ratio"])
        np.testing.assert_allclose(entry["sum"], np.sum(entry["weights"]), atol=1e-6)
    identity = results["classic"][0]
    np.testing.assert_allclose(identity["tv_ratio"]["values"], 1.0, rtol=1e-6)
    ratios = {entry["kernel"]: entry["tv_ratio"]["mean"] for entry in results["classic"]}
    assert ratios["box blur"] < 1 < ratios["sharpen"]
    classes = [sample["class"] for sample in results["samples"]]
    assert len(set(classes)) == len(classes) == kernels.SAMPLES
    (matches,) = results["filters"]
    assert len(matches["trained"]) == len(matches["initial"]) == kernels.FIRST_FILTERS
    filter_rows = table(markdown, "filter")
    for row, match in zip(filter_rows, matches["trained"]):
        assert row["closest classic kernel (trained)"] == match["closest"]
        assert row["cosine (trained)"] == f"{match['cosine']:.3f}"
    shapes = [fact["shape"] for fact in results["feature_maps"]]
    assert shapes == [[28, 28, 8], [14, 14, 8], [14, 14, 16], [7, 7, 16]]
    for sentence in results["conclusions"]:
        assert sentence in markdown


def test_total_variation_by_hand():
    image = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 3.0]])
    # Horizontal |differences|: 1, 0, 0, 3 (mean 1); vertical: 0, 1, 2 (mean 1).
    assert kernels.total_variation(image) == 2.0


def test_a_scaled_negated_classic_kernel_is_recognised():
    name, score = kernels.closest_classic(-2.5 * classic.sobel_x())
    assert name == "sobel x"
    np.testing.assert_allclose(score, -1.0)
    assert kernels.cosine([1.0, 0.0], [0.0, 3.0]) == 0.0


def test_feature_maps_follow_the_layers(rng):
    model = kernels.small_cnn((12, 12, 1), 3)
    image = rng.uniform(size=(1, 12, 12, 1)).astype(np.float32)
    maps = kernels.feature_maps(model, image)
    assert [kind for _, kind, _ in maps] == ["Conv2D", "MaxPooling2D", "Conv2D",
                                             "MaxPooling2D"]
    first_conv = maps[0][2]
    pooled = first_conv.reshape(6, 2, 6, 2, 8).max(axis=(1, 3))
    np.testing.assert_allclose(maps[1][2], pooled)
    assert first_conv.min() >= 0  # after the ReLU
