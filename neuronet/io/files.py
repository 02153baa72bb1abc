"""Safe files: atomic writes, and safetensors with a JSON document beside the tensors.

A checkpoint is one safetensors file. Its tensors are plain arrays; its header's
``__metadata__`` holds one entry, ``neuronet``, a JSON document (architecture,
optimizer and training state). Nothing in it is executed on load: no pickle.
"""
import json
import os
import tempfile

import numpy
from safetensors import SafetensorError
from safetensors import numpy as safetensors_numpy

METADATA_KEY = "neuronet"
HEADER_LIMIT = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or does not fit the model."""


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` so that a failure leaves the old file intact.

    The bytes go to a temporary file in the same folder, are flushed to disk, and
    only then replace ``path`` in one ``os.replace``.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def save_tensors(path, tensors, document):
    """Atomically write ``tensors`` (name -> array) and ``document`` (JSON-able) to ``path``."""
    arrays = {name: numpy.ascontiguousarray(array) for name, array in tensors.items()}
    metadata = {METADATA_KEY: json.dumps(document)}
    write_atomic(path, safetensors_numpy.save(arrays, metadata=metadata))


def load_tensors(path):
    """Read a file written by ``save_tensors``: ``(tensors, document)``.

    Raises CheckpointError naming the file for anything but a well-formed file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path!r} does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint {path!r} is a folder, expected a file") from None
    document = _read_document(path, data)
    try:
        tensors = safetensors_numpy.load(data)
    except (SafetensorError, ValueError, TypeError) as error:
        raise CheckpointError(f"checkpoint {path!r} is corrupted: {error}") from None
    return tensors, document


def _read_document(path, data):
    """The JSON document from the safetensors header, validated before anything else."""
    if len(data) < 8:
        raise CheckpointError(f"checkpoint {path!r} is truncated: {len(data)} bytes")
    header_size = int.from_bytes(data[:8], "little")
    if header_size > min(HEADER_LIMIT, len(data) - 8):
        raise CheckpointError(f"checkpoint {path!r} is truncated or corrupted: its header "
                              f"claims {header_size} bytes, the file has {len(data)}")
    try:
        header = json.loads(data[8:8 + header_size])
        document = json.loads(header["__metadata__"][METADATA_KEY])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise CheckpointError(f"checkpoint {path!r} is not a neuronet checkpoint "
                              "(no readable neuronet metadata in its header)") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"checkpoint {path!r} has malformed neuronet metadata")
    return document
