"""A reader for the classic pcap files in ``tests/fixtures`` (what ``tcpdump -w`` writes)."""

from __future__ import annotations

import struct
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vrrp"


def read_pcap(path: Path) -> list[tuple[float, bytes]]:
    """(timestamp, Ethernet frame) of every record of a little-endian microsecond pcap."""
    data = path.read_bytes()
    magic, _vmaj, _vmin, _tz, _sig, _snap, linktype = struct.unpack_from("<IHHiIII", data)
    assert magic == 0xA1B2C3D4 and linktype == 1  # microsecond pcap, Ethernet
    frames, off = [], 24
    while off < len(data):
        sec, usec, caplen, _origlen = struct.unpack_from("<IIII", data, off)
        off += 16
        frames.append((sec + usec / 1e6, data[off:off + caplen]))
        off += caplen
    return frames
