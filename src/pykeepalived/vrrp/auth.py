"""VRRPv2 authentication as keepalived does it: PASS and its userspace IPsec-AH (sans-IO).

Facts (keepalived 2.2.7, ``vrrp/vrrp.c``: ``vrrp_build_ipsecah``, ``vrrp_in_chk_ipsecah``):

* Both are VRRPv2/IPv4 only. Only the first 8 bytes of ``auth_pass`` count; they are zero padded
  to 8 bytes. PASS carries them in the advert's 8-byte authentication field and the receiver
  compares them in constant time.
* AH: IP protocol 51, then a 24-byte AH header {next header 112, payload len 4, reserved 0,
  SPI = the sender's IPv4 source address, sequence number, 12-byte ICV}, then the VRRP message
  (whose 8-byte authentication field is zero). ICV = HMAC-MD5-96 keyed with the 8-byte padded
  password over: the IPv4 header with TOS, flags/fragment offset and header checksum zeroed (and
  TTL too, but only in unicast mode; ID and total length stay in), the AH header with a zero ICV,
  and the VRRP message.
* One sequence counter per instance, shared by sending and receiving (``AhState``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from dataclasses import dataclass

from pykeepalived.vrrp.constants import PROTO_VRRP

AUTH_DATA_LEN = 8
AH_HEADER_LEN = 24
AH_ICV_LEN = 12
AH_PAYLOAD_LEN = 4  # RFC 2402: AH length in 32-bit words minus 2: (24 / 4) - 2
# keepalived stops incrementing here and flags the counter as cycled (see AhState.next_seq).
AH_SEQ_CYCLE = 0xFFFFFFFD


class AuthType(enum.IntEnum):
    """The VRRPv2 Auth Type field."""

    NONE = 0
    PASS = 1
    AH = 2


def auth_key(password: str | bytes) -> bytes:
    """The 8-byte field keepalived derives from ``auth_pass``: truncated, zero padded."""
    raw = password.encode() if isinstance(password, str) else password
    return raw[:AUTH_DATA_LEN].ljust(AUTH_DATA_LEN, b"\x00")


@dataclass(frozen=True)
class AuthConfig:
    """An instance's ``authentication {}`` block. ``key`` is the 8-byte padded password."""

    type: AuthType = AuthType.NONE
    key: bytes = bytes(AUTH_DATA_LEN)

    @classmethod
    def none(cls) -> AuthConfig:
        return cls()

    @classmethod
    def pass_(cls, password: str | bytes) -> AuthConfig:
        """``auth_type PASS``."""
        return cls(AuthType.PASS, auth_key(password))

    @classmethod
    def ah(cls, password: str | bytes) -> AuthConfig:
        """``auth_type AH``."""
        return cls(AuthType.AH, auth_key(password))

    @property
    def field(self) -> bytes:
        """What goes in the advert's 8-byte authentication field (zeros unless PASS)."""
        return self.key if self.type == AuthType.PASS else bytes(AUTH_DATA_LEN)


def pass_matches(field: bytes, config: AuthConfig) -> bool:
    """Constant-time comparison of a received authentication field with ours."""
    return hmac.compare_digest(field, config.key)


def ah_header(spi: bytes, seq: int, icv: bytes = bytes(AH_ICV_LEN)) -> bytes:
    """The 24-byte AH header keepalived sends (SPI is the 4-byte packed source address)."""
    return struct.pack("!BBH4sI", PROTO_VRRP, AH_PAYLOAD_LEN, 0, spi, seq) + icv


def ah_icv(key: bytes, ip_header: bytes, ah: bytes, vrrp_message: bytes, *,
           zero_ttl: bool) -> bytes:
    """HMAC-MD5-96 over the packet with its mutable fields zeroed, as keepalived computes it.

    ``ip_header`` and ``ah`` are taken as they are on the wire; the fields that routers may change
    (TOS, flags/fragment offset, header checksum, and TTL when ``zero_ttl``) and the ICV itself are
    zeroed here. keepalived zeroes TTL only in unicast mode.
    """
    hdr = bytearray(ip_header)
    hdr[1] = 0  # TOS
    hdr[6:8] = b"\x00\x00"  # flags + fragment offset
    hdr[10:12] = b"\x00\x00"  # header checksum
    if zero_ttl:
        hdr[8] = 0
    mac = hmac.new(key, bytes(hdr), hashlib.md5)
    mac.update(ah[:12])
    mac.update(bytes(AH_ICV_LEN))
    mac.update(vrrp_message)
    return mac.digest()[:AH_ICV_LEN]


class AhState:
    """One instance's IPsec-AH sequence counter, shared by its sending and receiving paths.

    Owned by the router/daemon per instance. Rules (keepalived):

    * Sending: ``next_seq()`` increments before each advert, so the first one carries 1. Past
      ``0xFFFFFFFD`` the counter stops and ``cycle`` is set (the instance should stop being master).
    * Receiving: ``accept(seq)`` takes only ``seq`` greater than the counter (replay protection)
      and moves the counter up to it, so a backup that becomes master continues from the last
      sequence number it saw.
    * ``resync(seq)``: a master that hears a lower-priority AH advert continues from ``seq + 1``.
    * ``backup_received()``: a valid AH advert received in BACKUP clears ``cycle``.
    * ``become_master()``: a cycled counter restarts from 0.
    """

    __slots__ = ("cycle", "seq")

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.cycle = False

    def next_seq(self) -> int:
        """The sequence number for the next advert sent."""
        if self.seq > AH_SEQ_CYCLE:
            self.cycle = True
        else:
            self.seq += 1
        return self.seq

    def accept(self, seq: int) -> bool:
        """Replay check for a received advert whose ICV is already verified."""
        if seq > self.seq:
            self.seq = seq
            return True
        return False

    def resync(self, seq: int) -> None:
        """Continue after a lower-priority peer's sequence number."""
        self.seq = min(seq + 1, 0xFFFFFFFF)
        self.cycle = False

    def backup_received(self) -> None:
        self.cycle = False

    def become_master(self) -> None:
        if self.cycle:
            self.seq = 0
            self.cycle = False

    def __repr__(self) -> str:
        return f"AhState(seq={self.seq}, cycle={self.cycle})"
