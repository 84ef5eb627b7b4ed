"""Internet checksum (RFC 1071) and the pseudo-headers VRRP sums over (sans-IO).

VRRP needs four variants: the plain message sum (v2, and v3/IPv4 per RFC 9568), the IPv4
pseudo-header sum (keepalived's v3 default), the same with the multicast group in place of the
unicast destination (keepalived <= 1.3.6, still accepted), and the IPv6 pseudo-header sum.
"""

from __future__ import annotations

import ipaddress
import struct

from pykeepalived.vrrp.constants import PROTO_VRRP


def ones_sum(data: bytes, initial: int = 0) -> int:
    """The folded 16-bit one's-complement sum of ``data`` (odd length padded with a zero byte).

    Folding the carries back in is arithmetic modulo 0xFFFF (2**16 = 1 mod 0xFFFF), so the
    whole buffer read as one big-endian integer has the same residue as the sum of its 16-bit
    words: one C-level conversion instead of unpacking word by word (this runs per packet).
    A non-zero total folds to 1..0xFFFF, never 0 (0xFFFF, not 0, for a multiple of 0xFFFF).
    """
    value = int.from_bytes(data, "big")
    if len(data) % 2:
        value <<= 8
    total = value + initial
    if total <= 0xFFFF:
        return total
    return (total - 1) % 0xFFFF + 1


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """The value to put in a checksum field: the complement of the one's-complement sum.

    Summing a message whose checksum field already holds this value gives 0 (``verify``).
    """
    return ~ones_sum(data, initial) & 0xFFFF


def verify(data: bytes, initial: int = 0) -> bool:
    """True when ``data`` (checksum field included) sums to all ones, i.e. checks out."""
    return ones_sum(data, initial) == 0xFFFF


def pseudo_header_v4(src: str | bytes, dst: str | bytes, length: int,
                     proto: int = PROTO_VRRP) -> bytes:
    """IPv4 pseudo-header {src, dst, 0, proto, length} as summed by VRRPv3 (RFC 5798 form)."""
    return _packed4(src) + _packed4(dst) + struct.pack("!BBH", 0, proto, length)


def pseudo_header_v6(src: str | bytes, dst: str | bytes, length: int,
                     proto: int = PROTO_VRRP) -> bytes:
    """IPv6 pseudo-header {src, dst, length32, 0, next header} (RFC 8200 §8.1)."""
    return _packed6(src) + _packed6(dst) + struct.pack("!I3xB", length, proto)


def _packed4(addr: str | bytes) -> bytes:
    return addr if isinstance(addr, bytes) else ipaddress.IPv4Address(addr).packed


def _packed6(addr: str | bytes) -> bytes:
    return addr if isinstance(addr, bytes) else ipaddress.IPv6Address(addr).packed
