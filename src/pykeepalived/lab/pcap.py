"""Reading classic pcap files (what ``tcpdump -w`` writes) for tests and benchmarks.

Only what the golden captures need: microsecond little-endian pcap, Ethernet link type, and the
IP layer of the IPv4/IPv6 frames (VRRP and AH adverts; the ARP frames a capture also holds are
skipped).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
_PCAP_MAGIC = 0xA1B2C3D4
_LINKTYPE_ETHERNET = 1


@dataclass(frozen=True)
class CapturedPacket:
    """The IP layer of one frame of a capture."""

    pcap: str  # the capture's file name
    frame: int  # index among all the capture's frames (ARP included)
    ethertype: int
    packet: bytes


def read_records(path: Path) -> list[tuple[float, bytes]]:
    """(timestamp, frame) of every record of a classic little-endian microsecond pcap file
    with Ethernet link type (a replay needs the capture's timing as well as its bytes)."""
    data = path.read_bytes()
    magic, _vmaj, _vmin, _tz, _sig, _snap, linktype = struct.unpack_from("<IHHiIII", data)
    if magic != _PCAP_MAGIC or linktype != _LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: not a little-endian Ethernet pcap")
    records, off = [], 24
    while off < len(data):
        sec, usec, caplen, _origlen = struct.unpack_from("<IIII", data, off)
        off += 16
        records.append((sec + usec / 1e6, data[off : off + caplen]))
        off += caplen
    return records


def read_frames(path: Path) -> list[bytes]:
    """Frames of a classic little-endian microsecond pcap file with Ethernet link type."""
    return [frame for _ts, frame in read_records(path)]


def ip_packets(paths: list[Path]) -> list[CapturedPacket]:
    """The IPv4/IPv6 packets of the captures, in file and frame order."""
    out = []
    for path in paths:
        for i, frame in enumerate(read_frames(path)):
            ethertype = int.from_bytes(frame[12:14], "big")
            if ethertype in (ETH_IPV4, ETH_IPV6):
                out.append(CapturedPacket(path.name, i, ethertype, frame[14:]))
    return out
