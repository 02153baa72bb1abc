"""IDX files (the format of MNIST and Fashion-MNIST), plain or gzip-compressed.

Layout (big-endian): two zero bytes, a type code, the number of dimensions
``ndim``, then ``ndim`` uint32 sizes, then the values in C order. The reader
checks every field and the payload size against the file BEFORE it allocates
the array, and never decompresses more than the header claims (plus one byte to
detect trailing data), so a corrupt or hostile file costs no more memory than
its honest size.
"""
import contextlib
import gzip
import io
import math
import os
import struct
import zlib

import numpy

from neuronet.data.errors import DatasetError

# IDX type code -> big-endian NumPy dtype.
TYPE_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_DIMS = 4
GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data more than ~1032:1, so a gzip file of n bytes holds
# at most this many bytes: a larger claim is refused without decompressing.
MAX_DEFLATE_RATIO = 1032
GZIP_SLACK = 1024
CHUNK = 1 << 20


def read_idx(source):
    """Read an IDX file into a NumPy array of the file's type in native byte order.

    Args:
        source: a path or a seekable binary file object; gzip data (``.gz``) is
            recognised by its magic bytes and decompressed on the fly.

    Returns:
        an array of shape ``(d1, ..., dn)`` with 1 <= n <= 4.

    Raises:
        DatasetError: the file is missing or malformed; the message names the
            file and the fault (bad magic, unknown type, truncated, trailing bytes).
    """
    name = _describe(source)
    try:
        with _open(source, name) as raw:
            stream, capacity = _payload_stream(raw)
            return _read_array(stream, capacity, name)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"IDX file {name}: cannot read it: {error}") from error


def write_idx(destination, array, compress=None):
    """Write ``array`` (1 to 4 dims, uint8/int8/int16/int32/float32/float64) as IDX.

    Args:
        destination: a path or a binary file object.
        array: the data; its dtype picks the IDX type code.
        compress: gzip the output; None means "if the path ends with .gz".
    """
    array = numpy.asarray(array)
    header = _header(array, _describe(destination))
    if compress is None:
        compress = str(destination).endswith(".gz")
    payload = header + array.astype(array.dtype.newbyteorder(">"), copy=False).tobytes()
    if compress:
        payload = gzip.compress(payload, mtime=0)
    if hasattr(destination, "write"):
        destination.write(payload)
        return
    with open(destination, "wb") as file:
        file.write(payload)


def _header(array, name):
    codes = {numpy.dtype(dtype).newbyteorder("="): code for code, dtype in TYPE_CODES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DatasetError(f"write_idx {name}: expected one of dtypes "
                           f"{sorted(str(d) for d in codes)}, got {array.dtype}")
    if not 1 <= array.ndim <= MAX_DIMS:
        raise DatasetError(f"write_idx {name}: expected 1 to {MAX_DIMS} dimensions, "
                           f"got shape {array.shape}")
    if max(array.shape) >= 2 ** 32:
        raise DatasetError(f"write_idx {name}: sizes must fit in uint32, got shape {array.shape}")
    return struct.pack(f">2xBB{array.ndim}I", code, array.ndim, *array.shape)


def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return repr(getattr(source, "name", f"<{type(source).__name__}>"))


def _open(source, name):
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb")
    if not source.seekable():
        raise DatasetError(f"IDX file {name}: expected a path or a seekable binary file object")
    return contextlib.nullcontext(source)


def _payload_stream(raw):
    """The stream of IDX bytes and the most bytes it can hold (from the file size)."""
    start = raw.tell()
    size = raw.seek(0, io.SEEK_END) - start
    raw.seek(start)
    magic = raw.read(2)
    raw.seek(start)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb"), size * MAX_DEFLATE_RATIO + GZIP_SLACK
    return raw, size


def _read_array(stream, capacity, name):
    dtype, shape = _read_header(stream, name)
    header_size = 4 + 4 * len(shape)
    payload_size = math.prod(shape) * dtype.itemsize
    if header_size + payload_size > capacity:
        raise DatasetError(f"IDX file {name}: header claims shape {shape} of {dtype.name} "
                           f"= {payload_size} bytes, but the file holds at most "
                           f"{capacity - header_size} bytes after the header")
    data = _read_at_most(stream, payload_size + 1)
    if len(data) < payload_size:
        raise DatasetError(f"IDX file {name}: truncated: shape {shape} of {dtype.name} needs "
                           f"{payload_size} bytes after the header, found {len(data)}")
    if len(data) > payload_size:
        raise DatasetError(f"IDX file {name}: trailing bytes after the {payload_size} bytes "
                           f"of shape {shape} (expected the file to end)")
    array = numpy.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_header(stream, name):
    magic = _read_at_most(stream, 4)
    if len(magic) < 4:
        raise DatasetError(f"IDX file {name}: truncated: expected a 4-byte magic number, "
                           f"got {len(magic)} bytes")
    if magic[:2] != b"\x00\x00":
        raise DatasetError(f"IDX file {name}: bad magic number {bytes(magic).hex()}: "
                           f"expected it to start with 0000 (not an IDX file)")
    code, ndim = magic[2], magic[3]
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
        raise DatasetError(f"IDX file {name}: unknown type code 0x{code:02X}, "
                           f"expected one of {known}")
    if not 1 <= ndim <= MAX_DIMS:
        raise DatasetError(f"IDX file {name}: expected 1 to {MAX_DIMS} dimensions, "
                           f"header claims {ndim}")
    sizes = _read_at_most(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DatasetError(f"IDX file {name}: truncated header: {ndim} dimensions need "
                           f"{4 * ndim} bytes of sizes, got {len(sizes)}")
    return numpy.dtype(TYPE_CODES[code]), struct.unpack(f">{ndim}I", sizes)


def _read_at_most(stream, size):
    """Up to ``size`` bytes, read in chunks so memory follows the real data, not the claim."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data
