"""Image classification data sets as uint8 NumPy arrays: ``(x_train, y_train), (x_test, y_test)``.

    load("fashion-mnist-mini")   # 10,000 + 2,000 images shipped inside the package
    load("fashion-mnist")        # 60,000 + 10,000, (N, 28, 28)
    load("mnist")                # 60,000 + 10,000, (N, 28, 28)
    load("cifar10")              # 50,000 + 10,000, (N, 32, 32, 3), channels last

As Keras has them: ``mnist.load_data()``, ``fashion_mnist.load_data()``,
``cifar10.load_data()`` (labels (N, 1) for CIFAR-10, as in Keras).

Files are looked for, in order: the ``path=`` argument, ``$NEURONET_DATA/<name>/``,
``~/.cache/neuronet/<name>/``, the Debian package's folder (Fashion-MNIST:
``apt-get install dataset-fashion-mnist``), and last a download from the official
address into the cache, checked against the published MD5. ``download=False``
or the environment variable ``NEURONET_OFFLINE=1`` turns downloads off.
"""
import functools
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy

from neuronet.data import DatasetError, read_cifar_batch, read_idx
from neuronet.data.fetch import extract_members, fetch_file

CLASS_NAMES = {
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
    "mnist": tuple(str(digit) for digit in range(10)),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                "truck"),
}
CLASS_NAMES["fashion-mnist-mini"] = CLASS_NAMES["fashion-mnist"]

MINI_FILE = "fashion_mnist_mini.npz"
NUM_CLASSES = 10
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_FOLDER = "cifar-10-batches-bin"
CIFAR_TRAIN_FILES = tuple(f"data_batch_{number}.bin" for number in range(1, 6))
CIFAR_FILES = CIFAR_TRAIN_FILES + ("test_batch.bin",)


@dataclass(frozen=True)
class _DataSet:
    """Where one data set's files may be and how to fetch them."""

    name: str                      # folder name under $NEURONET_DATA and the cache
    title: str
    files: dict                    # needed file -> accepted paths relative to a folder
    fetch: Callable                # fetch(cache_folder) downloads the files into it
    accepted_forms: str            # how the files may look, for the error message
    system_folder: str | None = None  # where a Debian package installs them
    apt_package: str | None = None


def _idx_files():
    return {name: (f"{name}.gz", name) for name in IDX_FILES}


def _fetch_idx(base_urls, md5s, cache):
    """Download each missing ``<file>.gz`` from the first base URL that answers."""
    for name, md5 in md5s.items():
        if (cache / f"{name}.gz").is_file() or (cache / name).is_file():
            continue
        fetch_file([base + f"{name}.gz" for base in base_urls], cache / f"{name}.gz", md5)


def _fetch_cifar(cache):
    """Download the binary tarball, extract the six batch files, delete the tarball."""
    archive = cache / "cifar-10-binary.tar.gz"
    fetch_file(["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"], archive,
               "c32a1d4ab5d03f1284b67883e8d87530")
    try:
        extract_members(archive, [f"{CIFAR_FOLDER}/{name}" for name in CIFAR_FILES],
                        cache / CIFAR_FOLDER)
    finally:
        archive.unlink(missing_ok=True)


FASHION_MNIST = _DataSet(
    name="fashion-mnist", title="Fashion-MNIST", files=_idx_files(),
    fetch=functools.partial(
        _fetch_idx, ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        {"train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
         "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
         "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310"}),
    accepted_forms="IDX files, gzipped (.gz) or not",
    system_folder="/usr/share/datasets/fashion-mnist", apt_package="dataset-fashion-mnist")

MNIST = _DataSet(
    name="mnist", title="MNIST", files=_idx_files(),
    # yann.lecun.com refuses downloads; these mirrors serve the same files.
    fetch=functools.partial(
        _fetch_idx, ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        {"train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
         "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
         "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c"}),
    accepted_forms="IDX files, gzipped (.gz) or not")

CIFAR10 = _DataSet(
    name="cifar10", title="CIFAR-10",
    files={name: (f"{CIFAR_FOLDER}/{name}", name) for name in CIFAR_FILES},
    fetch=_fetch_cifar,
    accepted_forms=f"the binary version's .bin files, in the folder or in {CIFAR_FOLDER}/")


def load_fashion_mnist(path=None, download=True):
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test images of clothes.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and
        uint8 labels (N,) in 0..9 (names in ``CLASS_NAMES["fashion-mnist"]``).
    """
    return _load_idx_set(_locate(FASHION_MNIST, path, download))


def load_mnist(path=None, download=True):
    """MNIST handwritten digits: 60,000 training and 10,000 test images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and
        uint8 labels (N,) in 0..9.
    """
    return _load_idx_set(_locate(MNIST, path, download))


def load_cifar10(path=None, download=True):
    """CIFAR-10 from its binary version: 50,000 training and 10,000 test colour images.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3),
        channels last, and uint8 labels (N,) in 0..9 (``CLASS_NAMES["cifar10"]``).
    """
    files = _locate(CIFAR10, path, download)
    train = [read_cifar_batch(files[name]) for name in CIFAR_TRAIN_FILES]
    x_train = numpy.concatenate([images for images, _ in train])
    y_train = numpy.concatenate([labels for _, labels in train])
    return (x_train, y_train), read_cifar_batch(files["test_batch.bin"])


def load_fashion_mnist_mini():
    """A stratified subset of Fashion-MNIST shipped inside the package (no files to fetch).

    10,000 training images (1,000 per class) drawn from Fashion-MNIST's training
    set and 2,000 test images (200 per class) from its test set; built by
    ``scripts/build_mini_dataset.py``. Fashion-MNIST is MIT-licensed, (c) 2017
    Zalando SE: see ``neuronet/data/FASHION_MNIST_LICENSE.txt``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and
        uint8 labels (N,).
    """
    source = resources.files("neuronet.data").joinpath(MINI_FILE)
    try:
        with source.open("rb") as file, numpy.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, KeyError, ValueError) as error:
        raise DatasetError(f"fashion-mnist-mini: cannot read {source} ({error}); the package "
                           f"was installed without its data: rebuild it with "
                           f"scripts/build_mini_dataset.py") from error
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


LOADERS = {
    "fashion-mnist-mini": load_fashion_mnist_mini,
    "fashion-mnist": load_fashion_mnist,
    "mnist": load_mnist,
    "cifar10": load_cifar10,
}


def load(name, **kwargs):
    """Load a data set by name: 'fashion-mnist-mini', 'fashion-mnist', 'mnist' or 'cifar10'.

    Keyword arguments (``path=``, ``download=``) go to the loader.
    """
    if name not in LOADERS:
        raise DatasetError(f"load expects a data set name in {sorted(LOADERS)}, got {name!r}")
    return LOADERS[name](**kwargs)


def _load_idx_set(files):
    train = _idx_pair(files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
    test = _idx_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
    return train, test


def _idx_pair(images_path, labels_path):
    """Images (N, 28, 28) and labels (N,), both uint8, labels in 0..9, checked."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != numpy.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{images_path}: expected uint8 images of shape (N, 28, 28), "
                           f"got {images.dtype} of shape {images.shape}")
    if labels.dtype != numpy.uint8 or labels.shape != images.shape[:1]:
        raise DatasetError(f"{labels_path}: expected uint8 labels of shape {images.shape[:1]} "
                           f"(one per image of {images_path}), got {labels.dtype} of shape "
                           f"{labels.shape}")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{labels_path}: expected labels in 0..{NUM_CLASSES - 1}, "
                           f"found {labels.max()}")
    return images, labels


def _locate(data_set, path, download):
    """Paths of ``data_set``'s files, from the first place that holds them all.

    Raises:
        DatasetError: nowhere; the message lists every place looked at, why each
            failed, and how to get the files.
    """
    looked = []
    for place, folder in _places(data_set, path):
        if folder is None:
            looked.append(place)
            continue
        found, missing = _find(folder, data_set.files)
        if not missing:
            return found
        looked.append(f"{place}: {_why_not(folder, missing)}")
    cache = _cache_folder(data_set.name)
    if not _downloads_enabled(download):
        looked.append("download: turned off (download=False or NEURONET_OFFLINE=1)")
    else:
        try:
            data_set.fetch(cache)
            return _find(cache, data_set.files)[0]
        except DatasetError as error:
            looked.append(f"download into {cache}: failed: {error}")
    raise DatasetError(_not_found_message(data_set, looked))


def _places(data_set, path):
    """(description, folder) pairs in search order; folder None where there is none."""
    if path is not None:
        yield f"{path} (path= argument)", Path(path).expanduser()
    root = os.environ.get("NEURONET_DATA")
    if root:
        folder = Path(root).expanduser() / data_set.name
        yield f"{folder} ($NEURONET_DATA/{data_set.name})", folder
    else:
        yield f"$NEURONET_DATA/{data_set.name}: NEURONET_DATA is not set", None
    yield f"{_cache_folder(data_set.name)} (cache)", _cache_folder(data_set.name)
    if data_set.system_folder is not None:
        yield (f"{data_set.system_folder} (Debian package {data_set.apt_package})",
               Path(data_set.system_folder))


def _find(folder, files):
    """({file: path found}, [files missing]) in ``folder``, trying each accepted form in order."""
    found, missing = {}, []
    for name, forms in files.items():
        paths = [folder / form for form in forms if (folder / form).is_file()]
        if paths:
            found[name] = paths[0]
        else:
            missing.append(name)
    return found, missing


def _why_not(folder, missing):
    if not folder.is_dir():
        return "no such folder"
    return f"missing {', '.join(missing)}"


def _cache_folder(name):
    return Path.home() / ".cache" / "neuronet" / name


def _downloads_enabled(download):
    return download and os.environ.get("NEURONET_OFFLINE", "") in ("", "0")


def _not_found_message(data_set, looked):
    places = "\n".join(f"  {number}. {place}" for number, place in enumerate(looked, 1))
    remedies = [f"put {', '.join(data_set.files)} ({data_set.accepted_forms}) in "
                f"~/.cache/neuronet/{data_set.name}/",
                f"set NEURONET_DATA to a folder holding {data_set.name}/",
                "pass path= to the folder"]
    if data_set.apt_package is not None:
        remedies.insert(0, f"apt-get install {data_set.apt_package}")
    return (f"{data_set.title} not found. Looked in, in order:\n{places}\n"
            f"To get the files: {'; or '.join(remedies)}.")


# Keras' per-data-set modules; they call the loaders above through this package.
from neuronet.datasets import cifar10, fashion_mnist, mnist  # noqa: E402 (needs the loaders)
