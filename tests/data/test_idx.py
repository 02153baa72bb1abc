import gzip
import io
import re
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuronet.data import DatasetError, read_idx, write_idx

# dtype -> IDX type code, from the format's specification.
TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
              np.float32: 0x0D, np.float64: 0x0E}
FUZZ = settings(max_examples=200, deadline=None)


def _random_array(rng, dtype, ndim):
    shape = tuple(int(s) for s in rng.integers(1, 5, size=ndim))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


def _hand_built(array):
    """IDX bytes written from the specification, independently of write_idx."""
    header = bytes([0, 0, TYPE_CODES[array.dtype.type], array.ndim])
    sizes = b"".join(struct.pack(">I", size) for size in array.shape)
    return header + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _read_bytes(data):
    return read_idx(io.BytesIO(data))


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_through_files(dtype, suffix, rng, tmp_path):
    for ndim in range(1, 5):
        array = _random_array(rng, dtype, ndim)
        path = tmp_path / f"a{ndim}.idx{suffix}"
        write_idx(path, array)
        result = read_idx(path)
        assert result.dtype == np.dtype(dtype) and result.dtype.isnative and result.flags.writeable
        np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_matches_the_specification(dtype, rng):
    array = _random_array(rng, dtype, 3)
    expected = _hand_built(array)
    written = io.BytesIO()
    write_idx(written, array)
    assert written.getvalue() == expected
    np.testing.assert_array_equal(_read_bytes(expected), array)
    np.testing.assert_array_equal(_read_bytes(gzip.compress(expected)), array)


def test_gz_is_recognised_by_content_not_name(rng, tmp_path):
    array = _random_array(rng, np.uint8, 2)
    plain, packed = tmp_path / "plain.gz", tmp_path / "packed.idx"
    write_idx(plain, array, compress=False)
    write_idx(packed, array, compress=True)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(plain), array)
    np.testing.assert_array_equal(read_idx(packed), array)


def test_empty_dimension_is_allowed():
    array = np.zeros((0, 28, 28), np.uint8)
    assert _read_bytes(_hand_built(array)).shape == (0, 28, 28)


VALID = _hand_built(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
MALFORMED = {
    "empty": (b"", "truncated"),
    "short magic": (b"\x00\x00\x08", "truncated"),
    "bad magic": (b"\x01\x02" + VALID[2:], "bad magic number 0102"),
    "unknown type": (b"\x00\x00\x0a" + VALID[3:], "unknown type code 0x0A"),
    "zero dims": (b"\x00\x00\x08\x00" + VALID[4:], "expected 1 to 4 dimensions, header claims 0"),
    "five dims": (b"\x00\x00\x08\x05" + VALID[4:], "expected 1 to 4 dimensions, header claims 5"),
    "short sizes": (VALID[:10], "truncated header"),
    # A plain file's size is known before reading; a gzip file's only after.
    "short payload": (VALID[:-1], "holds at most 47 bytes|needs 48 bytes .* found 47"),
    "trailing bytes": (VALID + b"\x00", "trailing bytes"),
    "huge claim": (b"\x00\x00\x0e\x04" + struct.pack(">4I", *[2 ** 32 - 1] * 4),
                   r"claims shape \(4294967295, 4294967295, 4294967295, 4294967295\)"),
}


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("compress", [False, True])
def test_malformed_file_names_file_and_fault(case, compress, tmp_path):
    data, fault = MALFORMED[case]
    path = tmp_path / "broken.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DatasetError) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)
    assert re.search(fault, str(caught.value)), str(caught.value)


def test_unseekable_stream_is_refused():
    class Pipe(io.RawIOBase):
        def seekable(self):
            return False

    with pytest.raises(DatasetError, match="expected a path or a seekable binary file object"):
        read_idx(Pipe())


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="nothing.idx"):
        read_idx(tmp_path / "nothing.idx")


def test_gzip_bomb_is_not_decompressed_past_the_claim():
    bomb = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + bytes(30_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="trailing bytes"):
            _read_bytes(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"peak allocation {peak} bytes for a 10-byte claim"


def test_claim_within_gzip_capacity_allocates_only_real_data(rng):
    payload = rng.integers(0, 256, size=100_000, dtype=np.uint8).tobytes()
    claim = struct.pack(">4I", 100, 1000, 1000, 1)  # 100 MB claimed, 100 kB present
    data = gzip.compress(b"\x00\x00\x08\x04" + claim + payload)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="truncated"):
            _read_bytes(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"peak allocation {peak} bytes for 100 kB of data"


def test_write_refuses_what_idx_cannot_hold(tmp_path):
    with pytest.raises(DatasetError, match="uint64"):
        write_idx(tmp_path / "x.idx", np.zeros(3, np.uint64))
    with pytest.raises(DatasetError, match=r"got shape \(1, 1, 1, 1, 1\)"):
        write_idx(tmp_path / "x.idx", np.zeros((1,) * 5, np.uint8))


def _valid_files():
    arrays = st.sampled_from(list(TYPE_CODES)).flatmap(
        lambda dtype: st.lists(st.integers(1, 4), min_size=1, max_size=4).map(
            lambda shape: np.arange(np.prod(shape), dtype=dtype).reshape(shape)))
    return st.tuples(arrays.map(_hand_built), st.booleans()).map(
        lambda pair: gzip.compress(pair[0], mtime=0) if pair[1] else pair[0])


def _reads_or_refuses(data):
    """Any input gives an array or a DatasetError, with little memory."""
    tracemalloc.start()
    try:
        result = _read_bytes(data)
    except DatasetError:
        result = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 2_000_000 + 1100 * len(data), f"peak allocation {peak} for {len(data)} bytes"
    return result


@FUZZ
@given(data=st.one_of(st.binary(max_size=64),
                      st.binary(max_size=64).map(lambda tail: b"\x00\x00" + tail),
                      st.binary(max_size=64).map(gzip.compress),
                      st.binary(max_size=64).map(lambda tail: b"\x1f\x8b" + tail)))
def test_fuzz_random_bytes(data):
    result = _reads_or_refuses(data)
    assert result is None or isinstance(result, np.ndarray)


@FUZZ
@given(file=_valid_files(), cut=st.floats(0.0, 1.0, exclude_max=True))
def test_fuzz_truncations_are_refused(file, cut):
    assert _reads_or_refuses(file[:int(cut * len(file))]) is None


@FUZZ
@given(file=_valid_files(), position=st.floats(0.0, 1.0, exclude_max=True),
       flip=st.integers(1, 255))
def test_fuzz_corrupted_byte(file, position, flip):
    data = bytearray(file)
    data[int(position * len(data))] ^= flip
    result = _reads_or_refuses(bytes(data))
    assert result is None or isinstance(result, np.ndarray)


@FUZZ
@given(code=st.sampled_from(sorted(TYPE_CODES.values())),
       shape=st.lists(st.integers(2 ** 16, 2 ** 32 - 1), min_size=1, max_size=4),
       payload=st.binary(max_size=256), compress=st.booleans())
def test_fuzz_huge_claims_are_refused(code, shape, payload, compress):
    data = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload
    assert _reads_or_refuses(gzip.compress(data) if compress else data) is None
