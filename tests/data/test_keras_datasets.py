"""``datasets.<name>.load_data()``: Keras' shapes and dtypes, the loaders' search places."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import neuronet as nn
from neuronet import datasets
from neuronet.data import DatasetError, write_idx
from neuronet.datasets import cifar10, fashion_mnist, mnist

SYSTEM_FOLDER = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _write_idx_set(folder, rng, n_train=9, n_test=4):
    arrays = (rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, size=n_train, dtype=np.uint8),
              rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, size=n_test, dtype=np.uint8))
    folder.mkdir(parents=True)
    for name, array in zip(IDX_NAMES, arrays):
        write_idx(folder / f"{name}.gz", array)
    return arrays


def _assert_keras_mnist_like(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    assert x_train.shape[1:] == x_test.shape[1:] == (28, 28)
    assert y_train.shape == x_train.shape[:1] and y_test.shape == x_test.shape[:1]
    for actual, expected in zip((x_train, y_train, x_test, y_test), arrays):
        assert actual.dtype == np.uint8
        np.testing.assert_array_equal(actual, expected)


def test_mnist_load_data_from_a_folder_and_from_neuronet_data(rng, tmp_path, monkeypatch):
    arrays = _write_idx_set(tmp_path / "root" / "mnist", rng)
    _assert_keras_mnist_like(mnist.load_data(tmp_path / "root" / "mnist"), arrays)
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path / "root"))
    _assert_keras_mnist_like(mnist.load_data(), arrays)  # Keras' call: no argument


def test_mnist_load_data_without_files_says_where_it_looked(tmp_path):
    with pytest.raises(DatasetError, match=r"MNIST not found(.|\n)*NEURONET_DATA is not set"):
        mnist.load_data()


def test_fashion_mnist_load_data_finds_the_debian_package(rng, tmp_path, monkeypatch):
    if SYSTEM_FOLDER.is_dir():  # CI installs dataset-fashion-mnist
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
        assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
        assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
        assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
        np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    else:  # the same search, with the package's folder moved to files written here
        arrays = _write_idx_set(tmp_path / "system", rng)
        moved = dataclasses.replace(datasets.FASHION_MNIST, system_folder=str(tmp_path / "system"))
        monkeypatch.setattr(datasets, "FASHION_MNIST", moved)
        _assert_keras_mnist_like(fashion_mnist.load_data(), arrays)


def _cifar_folder(folder, rng, per_batch=2):
    """Six batch files of the binary version: label byte, then the R, G, B planes."""
    folder.mkdir(parents=True)
    batches = {}
    for name in datasets.CIFAR_FILES:
        images = rng.integers(0, 256, size=(per_batch, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch, dtype=np.uint8)
        (folder / name).write_bytes(b"".join(bytes([label]) + image.transpose(2, 0, 1).tobytes()
                                             for image, label in zip(images, labels)))
        batches[name] = images, labels
    return batches


def test_cifar10_load_data_has_keras_shapes_and_a_label_column(rng, tmp_path):
    batches = _cifar_folder(tmp_path / "cifar", rng)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(tmp_path / "cifar")
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (2, 1)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    train = [batches[f"data_batch_{number}.bin"] for number in range(1, 6)]
    np.testing.assert_array_equal(x_train, np.concatenate([images for images, _ in train]))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate([labels for _, labels in train]))
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch.bin"][1])
    # Keras' next step: the column becomes one-hot rows, not (N, 1, 10).
    assert nn.utils.to_categorical(y_train, 10).shape == (10, 10)


def test_the_old_import_paths_still_work():
    from neuronet.datasets import CLASS_NAMES, LOADERS, load, load_fashion_mnist_mini

    assert sorted(LOADERS) == ["cifar10", "fashion-mnist", "fashion-mnist-mini", "mnist"]
    assert len(CLASS_NAMES["cifar10"]) == 10 and callable(load)
    (x_train, y_train), _ = load_fashion_mnist_mini()
    assert x_train.shape == (10000, 28, 28) and y_train.dtype == np.uint8
