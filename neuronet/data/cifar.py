"""CIFAR-10 in its binary version (``cifar-10-batches-bin/*.bin``): no pickles.

Each record is 3073 bytes: one label byte (0..9), then the 32x32 red plane, the
green plane and the blue plane, each row-major. The reader returns channels-last
images (N, 32, 32, 3).
"""
import os

import numpy

from neuronet.data.errors import DatasetError

IMAGE_SHAPE = (32, 32, 3)
RECORD_SIZE = 1 + 32 * 32 * 3
NUM_CLASSES = 10


def read_cifar_batch(path):
    """Read one binary CIFAR-10 batch file.

    Returns:
        ``(images, labels)``: uint8 arrays of shapes (N, 32, 32, 3) and (N,).

    Raises:
        DatasetError: the file is missing, empty, not a whole number of
            3073-byte records, or holds a label outside 0..9.
    """
    name = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise DatasetError(f"CIFAR-10 file {name}: cannot read it: {error}") from error
    if not data or len(data) % RECORD_SIZE:
        raise DatasetError(f"CIFAR-10 file {name}: expected a positive multiple of "
                           f"{RECORD_SIZE} bytes (records of label + 3x32x32 pixels), "
                           f"got {len(data)} bytes")
    records = numpy.frombuffer(data, dtype=numpy.uint8).reshape(-1, RECORD_SIZE)
    labels = records[:, 0].copy()
    if labels.max() >= NUM_CLASSES:
        index = int(numpy.argmax(labels >= NUM_CLASSES))
        raise DatasetError(f"CIFAR-10 file {name}: record {index} has label {labels[index]}, "
                           f"expected 0..{NUM_CLASSES - 1}")
    planes = records[:, 1:].reshape(-1, 3, 32, 32)
    return numpy.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels
