from __future__ import annotations

import gzip

import numpy as np
import pytest

from hpo.data.idx import decompressed_bytes, encode_idx, parse_idx
from hpo.errors import DataError


@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([3, 1, 4, 1, 5], dtype=np.uint8),
        np.array([[1.5, -2.0]], dtype=np.float32),
        np.array([70000, -1], dtype=np.int32),
    ],
)
def test_round_trip(array: np.ndarray) -> None:
    parsed = parse_idx(encode_idx(array))
    assert parsed.shape == array.shape
    np.testing.assert_array_equal(parsed, array)


def test_header_is_big_endian_with_magic() -> None:
    raw = encode_idx(np.zeros((60000, 28, 28), dtype=np.uint8)[:2])
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert int.from_bytes(raw[4:8], "big") == 2
    assert int.from_bytes(raw[8:12], "big") == 28


def test_truncated_file_names_itself() -> None:
    raw = encode_idx(np.zeros((4, 28, 28), dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-images: truncated .*expected 3152 bytes, found 3000"):
        parse_idx(raw[:3000], "train-images")


def test_bad_magic() -> None:
    with pytest.raises(DataError, match="bad magic"):
        parse_idx(b"\x1f\x8b\x08\x00garbage", "x")


def test_gzip_detected_by_magic(tmp_path) -> None:
    raw = encode_idx(np.arange(10, dtype=np.uint8))
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "b").write_bytes(raw)
    assert decompressed_bytes(tmp_path / "a.gz") == raw
    assert decompressed_bytes(tmp_path / "b") == raw


def test_truncated_gzip_is_a_data_error(tmp_path) -> None:
    data = gzip.compress(encode_idx(np.arange(1000, dtype=np.uint8)))
    (tmp_path / "a.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"a\.gz: corrupted gzip"):
        decompressed_bytes(tmp_path / "a.gz")
