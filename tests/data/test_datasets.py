import dataclasses
import functools
import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from neuronet import datasets
from neuronet.data import DatasetError, fetch, read_cifar_batch, write_idx

SYSTEM_FOLDER = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_set(rng, n_train, n_test):
    """Random (x_train, y_train, x_test, y_test) in the IDX files' order."""
    return (rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n_train, dtype=np.uint8),
            rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n_test, dtype=np.uint8))


def _write_idx_set(folder, arrays, suffixes=(".gz",) * 4):
    folder.mkdir(parents=True, exist_ok=True)
    for name, array, suffix in zip(IDX_NAMES, arrays, suffixes):
        write_idx(folder / f"{name}{suffix}", array)
    return arrays


def _assert_loaded(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for actual, expected in zip((x_train, y_train, x_test, y_test), arrays):
        assert actual.dtype == np.uint8
        np.testing.assert_array_equal(actual, expected)


def _without_system_folder(monkeypatch, tmp_path):
    """Fashion-MNIST's Debian folder moved to an empty place under tmp_path."""
    moved = dataclasses.replace(datasets.FASHION_MNIST, system_folder=str(tmp_path / "system"))
    monkeypatch.setattr(datasets, "FASHION_MNIST", moved)
    return tmp_path / "system"


def test_reads_the_debian_fashion_mnist_or_a_written_copy(rng, tmp_path):
    if SYSTEM_FOLDER.is_dir():
        (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist(SYSTEM_FOLDER)
        assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
        assert x_train.dtype == y_train.dtype == np.uint8
        np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [6000] * 10)
        np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    else:
        arrays = _write_idx_set(tmp_path / "fashion", _idx_set(rng, 30, 20))
        _assert_loaded(datasets.load_fashion_mnist(tmp_path / "fashion"), arrays)


def test_mnist_accepts_gzipped_and_plain_files(rng, tmp_path):
    arrays = _write_idx_set(tmp_path / "mnist", _idx_set(rng, 12, 7), (".gz", "", "", ".gz"))
    _assert_loaded(datasets.load_mnist(tmp_path / "mnist"), arrays)
    _assert_loaded(datasets.load("mnist", path=tmp_path / "mnist"), arrays)


def test_search_order_path_env_cache_system(rng, tmp_path, monkeypatch):
    system = _without_system_folder(monkeypatch, tmp_path)
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path / "env"))
    places = {"path": tmp_path / "given", "env": tmp_path / "env" / "fashion-mnist",
              "cache": tmp_path / "home" / ".cache" / "neuronet" / "fashion-mnist",
              "system": system}
    written = {place: _write_idx_set(folder, _idx_set(rng, 3, 2))
               for place, folder in places.items()}
    _assert_loaded(datasets.load_fashion_mnist(places["path"]), written["path"])
    _assert_loaded(datasets.load_fashion_mnist(tmp_path / "nowhere"), written["env"])
    monkeypatch.delenv("NEURONET_DATA")
    _assert_loaded(datasets.load_fashion_mnist(), written["cache"])
    (places["cache"] / "t10k-labels-idx1-ubyte.gz").unlink()  # an incomplete folder is passed over
    _assert_loaded(datasets.load_fashion_mnist(), written["system"])


def test_not_found_lists_every_place_and_the_remedies(tmp_path, monkeypatch):
    system = _without_system_folder(monkeypatch, tmp_path)
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path / "env"))
    cache = tmp_path / "home" / ".cache" / "neuronet" / "fashion-mnist"
    cache.mkdir(parents=True)
    (cache / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(DatasetError) as caught:
        datasets.load_fashion_mnist(tmp_path / "given")
    lines = str(caught.value).splitlines()
    assert lines[0] == "Fashion-MNIST not found. Looked in, in order:"
    assert lines[1] == f"  1. {tmp_path / 'given'} (path= argument): no such folder"
    env = tmp_path / "env" / "fashion-mnist"
    assert lines[2] == f"  2. {env} ($NEURONET_DATA/fashion-mnist): no such folder"
    assert lines[3] == (f"  3. {cache} (cache): missing train-labels-idx1-ubyte, "
                        f"t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")
    assert lines[4] == f"  4. {system} (Debian package dataset-fashion-mnist): no such folder"
    assert lines[5] == "  5. download: turned off (download=False or NEURONET_OFFLINE=1)"
    for remedy in ("apt-get install dataset-fashion-mnist", "~/.cache/neuronet/fashion-mnist/",
                   "NEURONET_DATA", "train-images-idx3-ubyte, train-labels-idx1-ubyte"):
        assert remedy in lines[6]


def test_not_found_without_env_and_with_download_argument_off(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURONET_OFFLINE")
    with pytest.raises(DatasetError) as caught:
        datasets.load_cifar10(download=False)
    message = str(caught.value)
    assert "$NEURONET_DATA/cifar10: NEURONET_DATA is not set" in message
    cache = tmp_path / "home" / ".cache" / "neuronet" / "cifar10"
    assert f"{cache} (cache): no such folder" in message
    assert "download: turned off" in message and "apt-get" not in message


def _serve(monkeypatch, files):
    """Answer urlopen(url) with ``files[url]``; other URLs fail like a dead network."""
    def fake_urlopen(url, timeout):
        assert timeout > 0
        if url not in files:
            raise OSError(f"unreachable {url}")
        return io.BytesIO(files[url])
    monkeypatch.setattr(fetch, "urlopen", fake_urlopen)


def test_download_checks_md5_and_writes_atomically(rng, tmp_path, monkeypatch):
    content = rng.bytes(3000)
    _serve(monkeypatch, {"http://mirror/b": content})
    destination = tmp_path / "cache" / "file.gz"
    with pytest.raises(DatasetError, match="checksum mismatch for file.gz: expected MD5 0{32}"):
        fetch.fetch_file(["http://mirror/b"], destination, "0" * 32)
    assert list((tmp_path / "cache").iterdir()) == []
    fetch.fetch_file(["http://mirror/a", "http://mirror/b"], destination,
                     hashlib.md5(content).hexdigest())
    assert destination.read_bytes() == content
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["file.gz"]


def test_failed_download_reports_each_url(tmp_path, monkeypatch):
    _serve(monkeypatch, {})
    monkeypatch.delenv("NEURONET_OFFLINE")
    with pytest.raises(DatasetError) as caught:
        datasets.load_mnist()
    message = str(caught.value)
    assert "download into" in message
    for mirror in ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                   "https://storage.googleapis.com/cvdf-datasets/mnist/"):
        assert f"{mirror}train-images-idx3-ubyte.gz: unreachable" in message


def test_download_lands_in_the_cache(rng, tmp_path, monkeypatch):
    arrays = _write_idx_set(tmp_path / "served", _idx_set(rng, 5, 4))
    served = {name: (tmp_path / "served" / f"{name}.gz").read_bytes() for name in IDX_NAMES}
    _serve(monkeypatch, {f"http://mirror/{name}.gz": data for name, data in served.items()})
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in served.items()}
    mirrored = dataclasses.replace(
        datasets.MNIST, fetch=functools.partial(datasets._fetch_idx, ["http://mirror/"], md5s))
    monkeypatch.setattr(datasets, "MNIST", mirrored)
    monkeypatch.delenv("NEURONET_OFFLINE")
    _assert_loaded(datasets.load_mnist(), arrays)
    cache = tmp_path / "home" / ".cache" / "neuronet" / "mnist"
    assert sorted(path.name for path in cache.iterdir()) == sorted(f"{n}.gz" for n in IDX_NAMES)


def _cifar_records(images, labels):
    """The binary version's layout: label byte, then the R, G and B planes row-major."""
    return b"".join(bytes([label]) + image.transpose(2, 0, 1).tobytes()
                    for image, label in zip(images, labels))


def _cifar_batch(rng, n):
    return (rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, size=n, dtype=np.uint8))


def test_cifar_batch_reader(rng, tmp_path):
    images, labels = _cifar_batch(rng, 4)
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(_cifar_records(images, labels))
    x, y = read_cifar_batch(path)
    assert x.dtype == y.dtype == np.uint8 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("mutate, fault", [
    (lambda data: data[:-1], "multiple of 3073 bytes"),
    (lambda data: b"", "got 0 bytes"),
    (lambda data: data[:3073] + b"\x0a" + data[3074:], "record 1 has label 10"),
])
def test_cifar_reader_refuses_malformed_files(mutate, fault, rng, tmp_path):
    path = tmp_path / "bad.bin"
    path.write_bytes(mutate(_cifar_records(*_cifar_batch(rng, 3))))
    with pytest.raises(DatasetError, match=fault) as caught:
        read_cifar_batch(path)
    assert str(path) in str(caught.value)


def _write_cifar_folder(folder, rng):
    batches = {name: _cifar_batch(rng, 2) for name in datasets.CIFAR_FILES}
    folder.mkdir(parents=True)
    for name, (images, labels) in batches.items():
        (folder / name).write_bytes(_cifar_records(images, labels))
    return batches


@pytest.mark.parametrize("layout", ["flat", "cifar-10-batches-bin"])
def test_load_cifar10_concatenates_the_five_training_batches(layout, rng, tmp_path):
    folder = tmp_path / "cifar" / ("" if layout == "flat" else layout)
    batches = _write_cifar_folder(folder, rng)
    (x_train, y_train), (x_test, y_test) = datasets.load("cifar10", path=tmp_path / "cifar")
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    train = [batches[f"data_batch_{number}.bin"] for number in range(1, 6)]
    np.testing.assert_array_equal(x_train, np.concatenate([images for images, _ in train]))
    np.testing.assert_array_equal(y_train, np.concatenate([labels for _, labels in train]))
    np.testing.assert_array_equal(x_test, batches["test_batch.bin"][0])


def test_extract_members_takes_only_the_named_regular_files(rng, tmp_path):
    archive = tmp_path / "archive.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in [("cifar-10-batches-bin/a.bin", b"first"), ("../evil.bin", b"x"),
                           ("cifar-10-batches-bin/b.bin", b"second")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("cifar-10-batches-bin/link.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    target = tmp_path / "out" / "cifar-10-batches-bin"
    fetch.extract_members(archive, ["cifar-10-batches-bin/a.bin", "cifar-10-batches-bin/b.bin"],
                          target)
    assert sorted(path.name for path in (tmp_path / "out").rglob("*")) == [
        "a.bin", "b.bin", "cifar-10-batches-bin"]
    assert (target / "b.bin").read_bytes() == b"second"
    with pytest.raises(DatasetError, match="is not a regular file"):
        fetch.extract_members(archive, ["cifar-10-batches-bin/link.bin"], target)
    with pytest.raises(DatasetError, match="cannot extract"):
        fetch.extract_members(archive, ["cifar-10-batches-bin/missing.bin"], target)


def test_mini_set_is_stratified_uint8():
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist_mini()
    assert x_train.shape == (10000, 28, 28) and x_test.shape == (2000, 28, 28)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert y_train.shape == (10000,) and y_test.shape == (2000,)
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [1000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [200] * 10)
    assert datasets.load("fashion-mnist-mini")[0][0].shape == (10000, 28, 28)
    assert len(datasets.CLASS_NAMES["fashion-mnist-mini"]) == 10


def _build_script():
    path = Path(__file__).resolve().parents[2] / "scripts" / "build_mini_dataset.py"
    spec = importlib.util.spec_from_file_location("build_mini_dataset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pairs(images, labels):
    return {image.tobytes() + bytes([label]) for image, label in zip(images, labels)}


def test_mini_images_occur_in_the_full_set(rng, tmp_path):
    if SYSTEM_FOLDER.is_dir():
        full = datasets.load_fashion_mnist(SYSTEM_FOLDER)
        mini = datasets.load_fashion_mnist_mini()
    else:  # the shipped file cannot be checked: check that the script builds a true subset
        _write_idx_set(tmp_path / "full", _idx_set(rng, 12000, 2400), ("",) * 4)
        _build_script().build(tmp_path / "full", 0, tmp_path / "mini.npz")
        full = datasets.load_fashion_mnist(tmp_path / "full")
        with np.load(tmp_path / "mini.npz", allow_pickle=False) as archive:
            mini = [(archive[f"x_{part}"], archive[f"y_{part}"]) for part in ("train", "test")]
    for (x_mini, y_mini), (x_full, y_full) in zip(mini, full):
        assert _pairs(x_mini, y_mini) <= _pairs(x_full, y_full)


def test_stratified_indices_are_exact_distinct_and_seeded(rng):
    script = _build_script()
    labels = rng.integers(0, 10, size=5000)
    first = script.stratified_indices(labels, 300, np.random.default_rng(7))
    again = script.stratified_indices(labels, 300, np.random.default_rng(7))
    other = script.stratified_indices(labels, 300, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len(np.unique(first)) == 3000
    np.testing.assert_array_equal(np.bincount(labels[first], minlength=10), [300] * 10)
    with pytest.raises(ValueError, match="class 0 has"):
        script.stratified_indices(np.ones(50, int), 5, rng)


def test_load_refuses_unknown_names():
    with pytest.raises(DatasetError, match=r"'cifar10', 'fashion-mnist'.*got 'svhn'"):
        datasets.load("svhn")


def test_idx_loader_checks_shapes_and_labels(rng, tmp_path):
    arrays = list(_idx_set(rng, 4, 3))
    arrays[1] = arrays[1][:3]
    _write_idx_set(tmp_path / "short", arrays)
    with pytest.raises(DatasetError, match=r"expected uint8 labels of shape \(4,\)"):
        datasets.load_mnist(tmp_path / "short")
    arrays = list(_idx_set(rng, 4, 3))
    arrays[3][0] = 10
    _write_idx_set(tmp_path / "label", arrays)
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: expected labels in 0..9"):
        datasets.load_mnist(tmp_path / "label")
