"""The benchmark's machinery: the Keras column is skipped, never invented, where Keras/JAX
is absent; the opt-in speed-ups (the onnxruntime engine, the numba accelerator) have
columns of their own; the ResNet-20 of the scaling section is the paper's, in both
frameworks."""
import json
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import scaling  # noqa: E402
import speed  # noqa: E402


def test_keras_runner_says_missing_where_jax_is_absent(tmp_path):
    # A Python that finds no jax: an empty module directory that shadows nothing else.
    (tmp_path / "jax.py").write_text("raise ImportError('no jax here')\n")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "keras_runner.py"), "--steps", "1"],
                          capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(figures) == ["missing"]
    assert "Keras/JAX not installed" in figures["missing"]


def fake_timings(monkeypatch):
    """neuronet's figures as constants (training 1000, predict 2000, predict on the
    onnxruntime engine 3000, training with the numba accelerator 4000 samples/s) on 256
    blank images."""
    monkeypatch.setattr(speed, "time_neuronet_training", lambda *a, **k: 1000.0)
    monkeypatch.setattr(speed, "time_numba_training", lambda *a, **k: 4000.0)
    monkeypatch.setattr(speed, "time_neuronet_predict", lambda *a, **k: 2000.0)
    monkeypatch.setattr(speed, "time_onnxruntime_predict", lambda *a, **k: 3000.0)
    images = np.zeros((256, 28, 28, 1), np.float32)
    monkeypatch.setattr(speed, "load_images", lambda count: (images, np.zeros(256, np.int64),
                                                             "test"))


def test_missing_keras_leaves_no_column(monkeypatch):
    # The first round runs, the second finds Keras gone: no partial column either.
    rounds = iter([{"versions": "Keras 3", "mlp.train.keras": 5.0, "cnn.train.keras": 6.0},
                   {"missing": "Keras/JAX not installed"}])
    monkeypatch.setattr(speed, "keras_round", lambda args: next(rounds))
    fake_timings(monkeypatch)
    args = types.SimpleNamespace(rounds=2, steps=1, warmup=0, threads=1, keras_python="python")
    medians, samples, _, missing, _ = speed.measure(args, have_torch=False)
    assert missing == "Keras/JAX not installed"
    assert not any(key.endswith(".keras") for key in list(medians) + list(samples))


@pytest.mark.parametrize("engine, available", [("onnxruntime", "have_onnxruntime"),
                                               ("numba", "have_numba")])
def test_each_opt_in_speed_up_gets_a_column_of_its_own(engine, available, monkeypatch):
    """The onnxruntime engine's inference figure and the numba accelerator's training
    figure sit beside neuronet's, never in its place; none where the library is missing."""
    fake_timings(monkeypatch)
    args = types.SimpleNamespace(rounds=1, steps=1, warmup=0, threads=1, keras_python="")
    medians = speed.measure(args, have_torch=False)[0]
    assert {k: v for k, v in medians.items() if k.startswith("cnn.")} == {
        "cnn.train.neuronet": 1000.0, "cnn.predict.neuronet": 2000.0,
        "cnn.predict.onnxruntime": 3000.0, "cnn.train.numba": 4000.0}
    monkeypatch.setattr(speed, available, lambda: False)
    assert not any(engine in key for key in speed.measure(args, have_torch=False)[0])


def test_the_table_gives_each_opt_in_its_ratios(monkeypatch, capsys):
    """report(): the numba column's ratios to PyTorch and Keras are its own figure's."""
    fake_timings(monkeypatch)
    monkeypatch.setattr(speed, "peak_memory", lambda *a: 100.0)
    monkeypatch.setattr(speed, "matmul_rate", lambda: 50.0)
    monkeypatch.setattr(speed, "keras_round", lambda args: {
        "versions": "Keras 3", **{f"{m}.{t}.keras": 500.0 for m in speed.MODELS
                                  for t in ("train", "predict")}})
    args = types.SimpleNamespace(rounds=1, steps=1, warmup=0, threads=1, keras_python="python")
    result = speed.report(args, have_torch=False)
    [cnn_train] = [row for row in result["rows"] if row["model"] == "cnn"
                   and row["task"] == "train"]
    assert cnn_train["neuronet_samples_per_s"] == 1000.0
    assert cnn_train["numba_samples_per_s"] == 4000.0 and cnn_train["ratio_numba_keras"] == 8.0
    speed.print_table(result)
    assert "cnn train with the numba accelerator (opt-in): 4,000/s, 8.00x Keras" in (
        capsys.readouterr().out)


def test_resnet20_has_the_papers_size_in_both_frameworks():
    import torch

    model = scaling.neuronet_resnet20()
    twin, _ = scaling.torch_resnet20()
    trainable = sum(w.size for w in model.trainable_weights)
    assert trainable == sum(p.numel() for p in twin.parameters())
    assert 0.26e6 < trainable < 0.28e6  # He et al.: ResNet-20 has 0.27M parameters
    convolutions = [m for m in twin.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len([c for c in convolutions if c.kernel_size == (3, 3)]) == 19  # + 1 dense = 20
    assert model.predict(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)


def test_cnn_split_unrolls_the_convolutions_own_product():
    import cnn_split

    from neuronet import ops
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    block = cnn_split.conv_block(images, kernel)
    block["cols"].reshape(block["windows"].shape)[...] = block["windows"]
    np.matmul(block["cols"], block["w"], out=block["z"])
    expected = ops.conv2d(images, kernel, padding="same").numpy()
    np.testing.assert_allclose(block["z"].reshape(expected.shape), expected, rtol=1e-5,
                               atol=1e-5)


def test_the_batch_size_section_gives_the_accelerator_a_speed_column(monkeypatch, tmp_path):
    """scaling(): the numba accelerator's training figure beside neuronet's, and no peak
    memory invented for it; the plot draws what there is."""
    fake_timings(monkeypatch)
    monkeypatch.setattr(speed, "peak_memory", lambda *a, **k: 100.0)
    monkeypatch.setattr(scaling, "BATCH_SIZES", (16,))
    args = types.SimpleNamespace(rounds=1, steps=1, threads=1)
    rows = scaling.scaling(args, have_torch=False)
    assert rows[0] == {"model": "mlp", "batch": 16, "neuronet_samples_per_s": 1000.0,
                       "neuronet_peak_mib": 100.0, "neuronet_numba_samples_per_s": 4000.0}
    scaling.plot_scaling(rows, tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").stat().st_size > 0


def test_the_long_run_section_times_both_ends_and_counts_subnormal_moments(monkeypatch):
    import long_run

    tiny = np.finfo(np.float32).tiny
    moments = [np.array([tiny / 4, 0.0, 1.0, -tiny / 2], np.float32), np.array([tiny])]
    assert long_run._subnormal_fraction(moments) == 2 / 5
    monkeypatch.setattr(long_run, "CHUNK", 2)
    monkeypatch.setattr(speed, "SETTLE_S", 0.0)
    args = types.SimpleNamespace(rounds=1, steps=0, threads=1)
    first, last = long_run.long_run(args, have_torch=True)
    assert first["steps"] == "first 2" and last["steps"] == "last 2 of 4"
    for framework in ("neuronet", "neuronet_numba", "pytorch"):
        assert first[f"{framework}_samples_per_s"] > 0 < last[f"{framework}_samples_per_s"]
        assert last[f"{framework}_subnormal_moments"] == 0.0  # 4 steps: none yet
