import numpy as np
import pytest

from neuronet import detection
from neuronet.datasets import localization


def _items(count=12, side=28):
    """Items that are a bright square of known place inside a dark frame."""
    images = np.zeros((count, side, side), dtype=np.uint8)
    images[:, 7:21, 4:24] = 200
    return images, np.arange(count) % 3


def test_resize_by_hand_and_identity(rng):
    image = np.array([[0.0, 4.0], [8.0, 12.0]])
    # Output 4 x 4: sample points (i + .5) / 2 - .5 = -.25, .25, .75, 1.25, clamped to
    # [0, 1]: 0, .25, .75, 1 in each direction.
    expected_row = np.array([0.0, 1.0, 3.0, 4.0])
    np.testing.assert_allclose(localization.resize(image, 4, 4)[0], expected_row)
    np.testing.assert_allclose(localization.resize(image, 4, 4)[:, 0], 2 * expected_row)
    other = rng.uniform(size=(5, 7))
    np.testing.assert_allclose(localization.resize(other, 5, 7), other)


def test_tight_box_by_hand():
    item = np.zeros((10, 10), dtype=np.uint8)
    item[2:5, 3:9] = 100
    np.testing.assert_array_equal(localization.tight_box(item), [3, 2, 9, 5])


def test_single_items_lie_inside_their_boxes_and_canvases_repeat():
    images, labels = _items()
    canvases = localization.place_items(images, labels, canvas_size=48, sizes=(28, 28), seed=3)
    boxes, classes = canvases.single()
    assert canvases.images.shape == (12, 48, 48) and canvases.images.dtype == np.uint8
    assert sorted(classes.tolist()) == sorted(labels.tolist())
    for image, box in zip(canvases.images, boxes):
        x1, y1, x2, y2 = box.astype(int)
        assert (x2 - x1, y2 - y1) == (20, 14)  # the square's size at scale 1
        assert image[y1:y2, x1:x2].min() == 200
        assert image.sum() == image[y1:y2, x1:x2].sum()  # nothing outside the box
    again = localization.place_items(images, labels, canvas_size=48, sizes=(28, 28), seed=3)
    np.testing.assert_array_equal(again.images, canvases.images)
    other = localization.place_items(images, labels, canvas_size=48, sizes=(28, 28), seed=4)
    assert np.any(other.images != canvases.images)


def test_several_items_keep_apart_and_scale():
    images, labels = _items(30)
    canvases = localization.place_items(images, labels, canvas_size=64, items=(2, 4),
                                        sizes=(14, 28), count=20, max_overlap=0.0, seed=0)
    assert len(canvases) == 20
    counts = [len(classes) for classes in canvases.classes]
    assert min(counts) >= 1 and max(counts) <= 4 and np.mean(counts) > 2
    widths = np.concatenate([b[:, 2] - b[:, 0] for b in canvases.boxes])
    assert widths.min() >= 10 - 1 and widths.max() <= 20 + 1  # 20 px at side 28, 10 at 14
    for boxes in canvases.boxes:
        table = detection.pairwise_iou(boxes, boxes)
        assert np.all(table[~np.eye(len(boxes), dtype=bool)] == 0)
        assert boxes.min() >= 0 and boxes.max() <= 64
    with pytest.raises(ValueError, match="every canvas must hold one item"):
        canvases.single()


def test_place_items_checks_its_arguments():
    images, labels = _items()
    with pytest.raises(ValueError, match="item sizes within 1..32"):
        localization.place_items(images, labels, canvas_size=32, sizes=(20, 40))
