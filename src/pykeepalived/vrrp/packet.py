"""VRRP v2/v3 advertisement codec (sans-IO).

The ``Advert`` dataclass is the contract between the codec, the router state machine and the
daemon. Its fields are fixed; the codec's owner adds ``decode``/``encode`` and ``PacketError``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Advert:
    """One received or to-be-sent VRRP advertisement.

    ``adver_int`` is the header field as on the wire: whole seconds for v2, centiseconds for v3.
    ``interval`` gives it in seconds for either. Addresses are text (``str(ipaddress)``).
    """

    version: int  # 2 or 3
    vrid: int
    priority: int
    adver_int: int
    addresses: tuple[str, ...]
    src: str  # IP source address of the packet
    dst: str  # IP destination address of the packet
    family: int = 4  # 4 or 6
    auth_type: int = 0  # v2: 0 none, 1 PASS, 2 AH
    auth_data: bytes = b""  # v2: the 8-byte authentication field
    checksum: int = 0
    ttl: int | None = None  # IPv4 TTL / IPv6 hop limit when known
    ah_seq: int | None = None  # IPsec-AH sequence number when the packet carried AH
    type: int = 1  # 1 = ADVERTISEMENT

    @property
    def interval(self) -> float:
        """The advertisement interval in seconds, whatever the version."""
        return float(self.adver_int) if self.version == 2 else self.adver_int / 100.0
