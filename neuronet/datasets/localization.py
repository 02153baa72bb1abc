"""Localisation data sets built from small item images (Fashion-MNIST's 28 x 28): each
item is scaled and put at a random place on a larger empty canvas, with its box.

    canvases = place_items(x_train, y_train, canvas_size=64, items=(1, 1), seed=0)
    canvases.images   # (N, 64, 64) uint8
    canvases.boxes    # N arrays (k, 4): (x1, y1, x2, y2) in pixels, tight around the item
    canvases.classes  # N arrays (k,): the items' labels

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments give
the same canvases. Several items on one canvas are kept apart: a new item's box may
overlap each earlier box by at most ``max_overlap`` IoU (else its place is drawn
again; after ``PLACE_TRIES`` tries the canvas holds fewer items).
"""
import dataclasses
import functools

import numpy

PLACE_TRIES = 50
INK = 32  # pixel value from which a pixel counts as part of the item (for the tight box)


@dataclasses.dataclass
class Canvases:
    """Images (N, H, W) uint8 with, per image, boxes (k, 4) float32 corners in pixels
    and classes (k,) int64."""

    images: numpy.ndarray
    boxes: list
    classes: list

    def __len__(self):
        return len(self.images)

    def single(self):
        """(boxes (N, 4), classes (N,)) of canvases that hold one item each."""
        counts = {len(classes) for classes in self.classes}
        if counts != {1}:
            raise ValueError(f"Canvases.single: every canvas must hold one item, found "
                             f"counts {sorted(counts)}")
        return numpy.stack([b[0] for b in self.boxes]), numpy.array([c[0] for c in self.classes])


def resize(image, height, width):
    """Bilinear resampling of a 2-D image to (height, width): output pixel centres
    mapped to input coordinates (i + 0.5) * in / out - 0.5, clamped at the border;
    computed as R_rows @ image @ R_cols^T with the interpolation matrices."""
    image = numpy.asarray(image, dtype=numpy.float64)
    return (_interpolation(image.shape[0], height) @ image
            @ _interpolation(image.shape[1], width).T)


@functools.lru_cache(maxsize=256)
def _interpolation(size_in, size_out):
    """(size_out, size_in) weights: row i mixes the two input pixels around point i."""
    points = numpy.clip((numpy.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0,
                        size_in - 1)
    low = numpy.floor(points).astype(int)
    high = numpy.minimum(low + 1, size_in - 1)
    weights = numpy.zeros((size_out, size_in))
    rows = numpy.arange(size_out)
    numpy.add.at(weights, (rows, low), 1 - (points - low))
    numpy.add.at(weights, (rows, high), points - low)
    weights.flags.writeable = False
    return weights


def tight_box(item):
    """(x1, y1, x2, y2) of the pixels >= INK in a 2-D item (x2, y2 one past the last),
    or the whole item when none is."""
    rows = numpy.flatnonzero((item >= INK).any(axis=1))
    cols = numpy.flatnonzero((item >= INK).any(axis=0))
    if not len(rows):
        return numpy.array([0, 0, item.shape[1], item.shape[0]], dtype=numpy.float32)
    return numpy.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=numpy.float32)


def place_items(images, labels, canvas_size=64, items=(1, 1), sizes=(20, 36), count=None,
                max_overlap=0.0, seed=0):
    """Canvases with ``items[0]..items[1]`` items each, drawn from ``images``.

    Args:
        images: (M, h, w) uint8 item images; labels: (M,) their classes.
        canvas_size: side of the square canvas in pixels.
        items: (fewest, most) items per canvas, drawn uniformly.
        sizes: (smallest, largest) side in pixels of a scaled item (square), uniform.
        count: canvases to make (default: M / mean items, so each image is used about
            once); items are taken in a random order, cycling through ``images``.
        max_overlap: the largest IoU allowed between two items' boxes on a canvas.
        seed: seeds every random choice.
    """
    images, labels = numpy.asarray(images), numpy.asarray(labels)
    fewest, most = items
    if not 1 <= fewest <= most or sizes[1] > canvas_size or sizes[0] < 1:
        raise ValueError(f"place_items: need 1 <= items[0] <= items[1] and item sizes within "
                         f"1..{canvas_size}, got items={items}, sizes={sizes}")
    rng = numpy.random.default_rng(seed)
    count = count or max(1, int(round(len(images) / ((fewest + most) / 2))))
    order = rng.permutation(len(images))
    canvases = numpy.zeros((count, canvas_size, canvas_size), dtype=numpy.uint8)
    boxes, classes, used = [], [], 0
    for canvas in canvases:
        wanted = int(rng.integers(fewest, most + 1))
        placed, kinds = [], []
        for _ in range(wanted):
            index = order[used % len(order)]
            used += 1
            box = _place(canvas, images[index], placed, rng, sizes, max_overlap)
            if box is not None:
                placed.append(box)
                kinds.append(int(labels[index]))
        boxes.append(numpy.array(placed, dtype=numpy.float32).reshape(-1, 4))
        classes.append(numpy.array(kinds, dtype=numpy.int64))
    return Canvases(canvases, boxes, classes)


def _place(canvas, image, placed, rng, sizes, max_overlap):
    """Scale ``image``, find a free place for it, draw it (maximum with what is there);
    returns its box on the canvas or None."""
    side = int(rng.integers(sizes[0], sizes[1] + 1))
    item = numpy.clip(numpy.rint(resize(image, side, side)), 0, 255).astype(numpy.uint8)
    local = tight_box(item)
    limit = canvas.shape[0] - side
    for _ in range(PLACE_TRIES):
        x, y = (int(value) for value in rng.integers(0, limit + 1, size=2))
        box = local + numpy.array([x, y, x, y], dtype=numpy.float32)
        if all(_iou(box, other) <= max_overlap for other in placed):
            region = canvas[y:y + side, x:x + side]
            numpy.maximum(region, item, out=region)
            return box
    return None


def _iou(a, b):
    """IoU of two (x1, y1, x2, y2) boxes in plain floats (``neuronet.detection.iou`` for
    arrays; here the boxes come one pair at a time, where NumPy's overhead dominates)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
