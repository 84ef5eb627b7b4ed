"""A tiny classic-pcap reader for the namespace tests (no scapy needed to read a capture)."""

from __future__ import annotations

import struct
from pathlib import Path


def read_pcap(path: Path) -> list[bytes]:
    """Frames of a classic pcap file written by ``tcpdump -w``, in order."""
    raw = path.read_bytes()
    assert len(raw) >= 24, "not a pcap file"
    endian = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, pos = [], 24
    while pos + 16 <= len(raw):
        _s, _us, incl, _orig = struct.unpack(endian + "IIII", raw[pos:pos + 16])
        out.append(raw[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return out
