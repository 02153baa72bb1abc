"""The lab's canvases: Fashion-MNIST items placed on a 64 x 64 canvas, seeded."""
import numpy

from neuronet import datasets
from neuronet.datasets.localization import place_items
from neuronet.lab import common

CANVAS = 64
DATA_SEED = 2024  # canvases are the same for every seed (as a lab's data are)


def canvas_sets(settings, owner, items, sizes, max_overlap):
    """(train, validation, test) Canvases: one canvas per (limited) training image, the
    last validation_split of them held out, and one per test image."""
    (x, y), (x_test, y_test) = datasets.load(settings.dataset)
    x, y = x[:settings.limit], y[:settings.limit]
    split = int(round(len(x) * (1.0 - settings.validation_split)))
    if min(split, len(x) - split) < common.MIN_SPLIT_SIZE:
        raise ValueError(f"{owner}: {len(x)} training images leave {split} for training and "
                         f"{len(x) - split} for validation; each needs at least "
                         f"{common.MIN_SPLIT_SIZE}: raise --limit")
    if x.ndim != 3:
        raise ValueError(f"{owner}: needs grey item images (N, H, W), {settings.dataset} has "
                         f"shape {x.shape}")
    made = []
    for part, (images, labels) in enumerate([(x[:split], y[:split]), (x[split:], y[split:]),
                                             (x_test, y_test)]):
        made.append(place_items(images, labels, CANVAS, items, sizes, count=len(images),
                                max_overlap=max_overlap, seed=DATA_SEED + part))
    return made


def pixels(canvases):
    """Canvas images as (N, H, W, 1) float32 in [0, 1]."""
    return (canvases.images.astype(numpy.float32) / 255.0)[..., None]
