"""The benchmark's machinery: the Keras column is skipped, never invented, where Keras/JAX
is absent; the onnxruntime engine's figures are a column of their own; the ResNet-20
of the scaling section is the paper's, in both frameworks."""
import json
import pathlib
import subprocess
import sys
import types

import numpy as np

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
    onnxruntime engine 3000 samples/s) on 256 blank images."""
    monkeypatch.setattr(speed, "time_neuronet_training", lambda *a, **k: 1000.0)
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


def test_the_onnxruntime_engine_gets_a_column_of_its_own(monkeypatch):
    """Its inference figure sits beside neuronet's, never in its place; none without it."""
    fake_timings(monkeypatch)
    args = types.SimpleNamespace(rounds=1, steps=1, warmup=0, threads=1, keras_python="")
    medians = speed.measure(args, have_torch=False)[0]
    assert {k: v for k, v in medians.items() if k.startswith("cnn.")} == {
        "cnn.train.neuronet": 1000.0, "cnn.predict.neuronet": 2000.0,
        "cnn.predict.onnxruntime": 3000.0}
    monkeypatch.setattr(speed, "have_onnxruntime", lambda: False)
    assert not any("onnxruntime" in key for key in speed.measure(args, have_torch=False)[0])


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
