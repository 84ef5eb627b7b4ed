"""track_file value parsing follows C strtol(buf, NULL, 0)."""

from __future__ import annotations

import pytest

from pykeepalived.config.model import TrackFile
from pykeepalived.track.file import init_track_file, parse_value, read_value


@pytest.mark.parametrize(("raw", "want"), [
    (b"5\n", 5), (b"  -20\n", -20), (b"+7", 7), (b"0x1f", 31), (b"010", 8), (b"0", 0),
    (b"", 0), (b"abc", 0), (b"12abc", 12), (b"\t 3 4", 3), (b"-0", 0), (b"09", 0),
    (b"2147483647", 2147483647), (b"-2147483648", -2147483648),
])
def test_strtol_semantics(raw: bytes, want: int) -> None:
    assert parse_value(raw) == want


def test_out_of_range_is_rejected() -> None:
    assert parse_value(b"2147483648") is None
    assert parse_value(b"-2147483649") is None


def test_missing_file_reads_zero(tmp_path: object) -> None:
    assert read_value(f"{tmp_path}/nope") == 0


def test_init_file_create_and_overwrite(tmp_path: object) -> None:
    path = f"{tmp_path}/v"
    init_track_file(TrackFile("f", path, init_file=True, init_value=-3))
    assert read_value(path) == -3
    with open(path, "w") as f:
        f.write("9\n")
    init_track_file(TrackFile("f", path, init_file=True, init_value=4))  # exists: kept
    assert read_value(path) == 9
    init_track_file(TrackFile("f", path, init_file=True, init_value=4, init_overwrite=True))
    assert read_value(path) == 4
    with open(path, "w") as f:
        f.write("9\n")
    init_track_file(TrackFile("f", path, init_file=True, init_value=4, init_overwrite=True),
                    reload=True)  # never overwritten on reload
    assert read_value(path) == 9
