import numpy as np
import pytest

from lab_checks import run_lab, spread_text, table
from neuronet.lab import autoencoder


def test_autoencoder_report_matches_results(tmp_path, capsys):
    out, markdown, results, _ = run_lab(tmp_path, capsys, "autoencoder")
    rows = {row["features for k-means"]: row for row in table(markdown, "features for k-means")}
    assert list(rows) == ["pixels", "PCA 10", "dense codes", "conv codes", "denoising codes",
                          "stacked codes", "stacked encoder, DEC"]
    tuned = results["models"]["stacked"]["dec"]
    assert rows["stacked encoder, DEC"]["ACC"] == spread_text(tuned["acc"])
    assert rows["stacked encoder, DEC"]["NMI"] == spread_text(tuned["nmi"])
    assert 1 <= tuned["rounds"]["mean"] <= autoencoder.dec.ROUNDS
    for name, base in results["baselines"].items():
        assert rows[name]["ACC"] == spread_text(base["acc"])
        assert rows[name]["NMI"] == spread_text(base["nmi"])
    for name in autoencoder.MODELS:
        model, row = results["models"][name], rows[f"{name} codes"]
        assert row["test MSE"] == spread_text(model["test_mse"], 4)
        assert row["noisy-input MSE"] == spread_text(model["noisy_test_mse"], 4)
        assert row["ACC"] == spread_text(model["acc"])
        assert row["NMI"] == spread_text(model["nmi"])
        (run,) = model["runs"]
        assert len(run["history"]["loss"]) == 2
        assert 0 < run["test_mse"] < 0.25
        assert 0.1 <= run["clusters"]["acc"] <= 1 and 0 <= run["clusters"]["nmi"] <= 1
    # k-means on raw pixels sorts Fashion-MNIST well above chance (0.1) even on 2,000 images.
    assert results["baselines"]["pixels"]["acc"]["mean"] > 0.3
    for sentence in results["conclusions"]:
        assert sentence in markdown
    assert {"reconstructions.png", "code_maps.png", "learning_curves.png"} <= {
        path.name for path in out.iterdir()}


def test_encoder_and_autoencoder_share_their_layers(rng):
    model, encoder = autoencoder.dense_autoencoder((8, 8, 1))
    x = rng.uniform(size=(3, 8, 8, 1)).astype(np.float32)
    assert model.predict(x).shape == (3, 8, 8, 1)
    assert encoder.predict(x).shape == (3, autoencoder.CODE_SIZE)
    code_layer = next(layer for layer in model.layers if layer.name.startswith("code"))
    assert code_layer in encoder.layers


def test_conv_autoencoder_shapes_and_its_size_check(rng):
    model, encoder = autoencoder.conv_autoencoder((12, 8, 2))
    x = rng.uniform(size=(2, 12, 8, 2)).astype(np.float32)
    assert model.predict(x).shape == x.shape
    assert encoder.predict(x).shape == (2, autoencoder.CODE_SIZE)
    with pytest.raises(ValueError, match="multiples of 4, got 10 x 8"):
        autoencoder.conv_autoencoder((10, 8, 1))


def test_denoising_model_adds_noise_in_training_only(rng):
    model, _ = autoencoder.BUILDERS["denoising"]((4, 4, 1))
    x = rng.uniform(size=(2, 4, 4, 1)).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
    assert np.any(model(x, training=True).numpy() != model(x).numpy())


def test_clusters_of_separated_codes_score_one():
    labels = np.repeat(np.arange(4), 30)
    codes = np.eye(4)[labels] * 10 + np.random.default_rng(0).normal(size=(120, 4)) * 0.1
    assert autoencoder.score_clusters(codes, labels, seed=0) == {"acc": 1.0, "nmi": 1.0}


def test_noisy_copies_are_clipped_and_repeatable():
    x = np.full((2, 3, 3, 1), 0.5, dtype=np.float32)
    first, second = autoencoder.noisy(x, seed=1), autoencoder.noisy(x, seed=1)
    np.testing.assert_array_equal(first, second)
    assert first.min() >= 0 and first.max() <= 1 and first.dtype == x.dtype
    assert np.std(first - x) > 0.1
