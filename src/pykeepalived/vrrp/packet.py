"""VRRP v2/v3 advertisement codec (sans-IO).

The ``Advert`` dataclass is what the codec, the router state machine and the daemon exchange.
Its fields up to ``type`` are the advert itself (the router and the tests build adverts
positionally from them); the fields after ``type`` record how a received packet was framed and
all have defaults.

Decoding takes exactly what a raw socket hands over:

* ``decode_ipv4(packet)``: the whole IPv4 packet from an ``IPPROTO_VRRP`` or ``IPPROTO_AH`` raw
  socket (IP header, optional AH header, VRRP message);
* ``decode_ipv6(message, src=, dst=, hop_limit=)``: the VRRP message from an IPv6 raw socket plus
  the addresses and hop limit from the ancillary data.

It validates in keepalived's order (``vrrp_check_packet`` in keepalived's ``vrrp/vrrp.c``)
against an optional ``Expect`` (the receiving instance's configuration) and raises
``PacketError`` whose ``reason`` (``DropReason``) names the stats counter keepalived bumps.
Encoding builds exactly what keepalived sends (``AdvertEncoder``, ``encode_ipv4``,
``encode_ipv6``).
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import socket
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final

from pykeepalived.vrrp import checksum as ck
from pykeepalived.vrrp.auth import (
    AH_HEADER_LEN,
    AUTH_DATA_LEN,
    AhState,
    AuthConfig,
    AuthType,
    ah_header,
    ah_icv,
    pass_matches,
)
from pykeepalived.vrrp.constants import (
    MCAST_GROUP4,
    MCAST_GROUP6,
    PROTO_AH,
    PROTO_VRRP,
    TOS_NETWORK_CONTROL,
    VRRP_TTL,
)

TYPE_ADVERTISEMENT: Final = 1
VRRP_HEADER_LEN: Final = 8
IPV4_HEADER_LEN: Final = 20
V3_MAX_ADVER_INT: Final = 0x0FFF  # 12-bit field, centiseconds


class ChecksumForm(enum.Enum):
    """Which VRRP checksum a packet carried (or an encoder produces)."""

    MESSAGE = "message"  # v2; v3/IPv4 per RFC 9568 (keepalived's ``v3_checksum_as_v2``)
    PSEUDO_HEADER = "pseudo-header"  # v3/IPv4 keepalived default (RFC 5798 reading); IPv6
    LEGACY_UNICAST = "legacy-unicast"  # v3/IPv4 unicast summed with the multicast group as dst
    UNCHECKED = "unchecked"  # IPv6 decoded with verify_checksum=False (the kernel checked it)


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
    # How a received packet was framed (an advert built in code has none of these):
    checksum_form: ChecksumForm | None = None  # how the received checksum verified
    ip_id: int | None = None  # IPv4 identification field of a received packet

    @property
    def interval(self) -> float:
        """The advertisement interval in seconds, whatever the version."""
        return float(self.adver_int) if self.version == 2 else self.adver_int / 100.0


class DropReason(enum.Enum):
    """Why a packet was rejected, mapped onto keepalived's counters.

    Attributes: ``stat`` is keepalived's counter field (the key in ``/tmp/keepalived.json``
    ``stats``; ``chk_err``/``vers_err``/``vrid_err`` exist only for SNMP (RFC 2787/6527), ``None``
    when keepalived counts nothing); ``stats_line`` is ``(section, label)`` as printed in
    ``/tmp/keepalived.stats`` (``None`` when not printed there); ``counter`` is a readable name.
    Several reasons can share one counter (keepalived logs them differently, counts them together).
    ``counts_as_received``: keepalived has already bumped ``advert_rcvd`` when it rejects a packet
    for this reason (the VIP list and unicast-source checks come after that count).
    """

    PACKET_LENGTH = ("packet_len_err", ("Packet Errors", "Length"), "Packet Length Errors")
    IP_TOTAL_LENGTH = ("packet_len_err", ("Packet Errors", "Length"), "Packet Length Errors",
                       "ip_tot_len")
    TTL = ("ip_ttl_err", ("Packet Errors", "TTL"), "TTL Errors")
    VERSION = ("vers_err", None, "Version Errors")
    INVALID_AUTH_TYPE = ("invalid_authtype", ("Authentication Errors", "Invalid Type"),
                         "Invalid Authentication Type")
    AUTH_TYPE_MISMATCH = ("authtype_mismatch", ("Authentication Errors", "Type Mismatch"),
                          "Authentication Type Mismatch")
    AUTH_FAILURE = ("auth_failure", ("Authentication Errors", "Failure"),
                    "Authentication Failure")
    AH_REPLAY = ("auth_failure", ("Authentication Errors", "Failure"), "Authentication Failure",
                 "replay")
    # keepalived 2.2.7 logs a v2 interval mismatch and drops the advert, but its Advertisement
    # Interval counter does not move (seen side by side: tests/netns/daemon/test_daemon_hostile)
    INTERVAL_MISMATCH = (None, None, "Advertisement Interval Mismatch")
    INVALID_TYPE = ("invalid_type_rcvd", ("Packet Errors", "Invalid Type"), "Invalid Type")
    ADDRESS_COUNT = ("addr_list_err", ("Packet Errors", "Address List"), "Address List Errors",
                     "count")
    CHECKSUM = ("chk_err", None, "Checksum Errors")
    CAST_MISMATCH = ("addr_list_err", ("Packet Errors", "Address List"), "Address List Errors",
                     "cast")
    ADDRESS_LIST = ("addr_list_err", ("Packet Errors", "Address List"), "Address List Errors")
    UNICAST_TTL = ("ip_ttl_err", ("Packet Errors", "TTL"), "TTL Errors", "unicast range")
    UNKNOWN_VRID = ("vrid_err", None, "VRID Errors")
    NOT_UNICAST_PEER = (None, None, "Unicast Source Not A Peer")
    NOT_VRRP = (None, None, "Not VRRP")

    def __init__(self, stat: str | None, stats_line: tuple[str, str] | None, counter: str,
                 _variant: str = "") -> None:
        self.stat = stat
        self.stats_line = stats_line
        self.counter = counter

    @property
    def counts_as_received(self) -> bool:
        return self in _AFTER_RECEIVED_COUNT


_AFTER_RECEIVED_COUNT = frozenset({DropReason.ADDRESS_LIST, DropReason.NOT_UNICAST_PEER,
                                   DropReason.UNICAST_TTL})


class PacketError(Exception):
    """A received packet keepalived would drop. ``vrid`` is known once the header was readable."""

    def __init__(self, reason: DropReason, detail: str = "", *, vrid: int | None = None) -> None:
        super().__init__(f"{reason.counter}: {detail}" if detail else reason.counter)
        self.reason = reason
        self.detail = detail
        self.vrid = vrid


@dataclass(frozen=True, eq=False)
class Expect:
    """What the receiving instance is configured with; ``None`` fields are not checked.

    * ``version``: ``vrrp_version``/``version``. Without it, 2 and 3 are accepted (2 only when
      authentication is configured, as keepalived forces v2 then).
    * ``adver_int``: wire value of ``advert_int`` (v2 drops a mismatch; v3 does not check).
    * ``addresses``: the VIPs; count and membership are checked (``None``: skip, as for
      ``skip_check_adv_addr`` on a repeat master).
    * ``unicast``: True when ``unicast_peer`` is configured (no TTL check, destination must be
      unicast), False for multicast (TTL 255, destination must be multicast). ``None``: inferred
      from the destination and the cast check is skipped.
    * ``unicast_peers``: with ``check_unicast_src``, the peers' addresses mapped to their accepted
      (min_ttl, max_ttl).
    * ``auth``/``ah_state``: the instance's authentication and its AH counter (the ``auth`` and
      ``ah_state`` arguments of ``decode_*`` take precedence when given).
    * ``mcast_group``: the multicast group for the legacy unicast v3 checksum.
    * ``old_unicast_checksum`` (``old_unicast_checksum``, v3/IPv4 to a unicast destination):
      None (not configured) accepts the standard and the legacy form (the caller switches to
      legacy on seeing it, as keepalived does); True accepts only the legacy form, False only
      the standard ones (``never``).
    """

    version: int | None = None
    adver_int: int | None = None
    addresses: tuple[str, ...] | None = None
    unicast: bool | None = None
    unicast_peers: Mapping[str, tuple[int, int]] | None = None
    auth: AuthConfig | None = None
    ah_state: AhState | None = None
    mcast_group: str | None = None
    old_unicast_checksum: bool | None = None

    @cached_property
    def packed_addresses(self) -> tuple[bytes, ...]:
        """``addresses`` in network byte order (computed once per Expect)."""
        return tuple(_packed(a) for a in self.addresses or ())

    @cached_property
    def packed_peers(self) -> dict[bytes, tuple[int, int]]:
        """``unicast_peers`` keyed by packed address."""
        return {_packed(a): r for a, r in (self.unicast_peers or {}).items()}


@lru_cache(maxsize=4096)
def _packed(addr: str) -> bytes:
    """Packed form of an address string (a scope ``%if`` is ignored); cached: peers repeat."""
    return ipaddress.ip_address(addr.split("%", 1)[0]).packed


ExpectArg = Expect | Mapping[int, Expect] | None
_FailFn = Callable[[DropReason, str], PacketError]

_NO_AUTH = AuthConfig()


# ----------------------------------------------------------------------------------------------
# Decoding


def peek_vrid(data: bytes, family: int = 4) -> int | None:
    """The VRID of a raw-socket buffer without validating anything (``None`` if too short)."""
    if family == 6:
        return data[1] if len(data) >= VRRP_HEADER_LEN else None
    if len(data) < IPV4_HEADER_LEN:
        return None
    off = (data[0] & 0x0F) * 4 + (AH_HEADER_LEN if data[9] == PROTO_AH else 0)
    return data[off + 1] if len(data) >= off + VRRP_HEADER_LEN else None


def _resolve(expect: ExpectArg, vrid: int) -> Expect | None:
    if expect is None or isinstance(expect, Expect):
        return expect
    found = expect.get(vrid)
    if found is None:
        raise PacketError(DropReason.UNKNOWN_VRID, f"no instance for VRID {vrid}", vrid=vrid)
    return found


def repeat_key(packet: bytes) -> bytes:
    """The bytes of an IPv4 VRRP datagram (without AH) that decide how it decodes: all but the
    IP ID and the header checksum, the only fields a master changes between its repeats.

    Every check ``decode_ipv4`` makes is a function of these bytes and the ``Expect`` (but the
    AH replay check, which also depends on the sequence counter), so two datagrams with the
    same key decode to the same advert but for ``ip_id`` (``vrrp.endpoint`` relies on this)."""
    return packet[:4] + packet[6:10] + packet[12:]


def decode_ipv4(packet: bytes, *, auth: AuthConfig | None = None, expect: ExpectArg = None,
                ah_state: AhState | None = None) -> Advert:
    """Validate and decode an IPv4 VRRP packet as received on a raw socket.

    ``auth`` is the instance's authentication (``None`` with no ``expect.auth``: none configured,
    so PASS/AH packets are a type mismatch). ``expect`` is the instance's ``Expect`` or a mapping
    VRID → ``Expect`` for all instances on the socket (an absent VRID is ``UNKNOWN_VRID``).
    ``ah_state`` is updated (replay protection) when an AH packet authenticates.
    """
    n = len(packet)
    if n < IPV4_HEADER_LEN:
        raise PacketError(DropReason.PACKET_LENGTH, f"IPv4 VRRP packet too short - {n} bytes")
    if packet[0] >> 4 != 4:
        raise PacketError(DropReason.NOT_VRRP, "not an IPv4 packet")
    ihl = (packet[0] & 0x0F) * 4
    proto = packet[9]
    if proto not in (PROTO_VRRP, PROTO_AH):
        raise PacketError(DropReason.NOT_VRRP, f"IP protocol {proto}")
    has_ah = proto == PROTO_AH
    off = ihl + (AH_HEADER_LEN if has_ah else 0)
    if ihl < IPV4_HEADER_LEN or n < off + VRRP_HEADER_LEN:
        raise PacketError(DropReason.PACKET_LENGTH, f"IPv4 VRRP packet too short - {n} bytes")
    vers_type, vrid, priority, naddr, b4, b5, csum = struct.unpack_from("!BBBBBBH", packet, off)
    exp = _resolve(expect, vrid)
    auth_cfg = _auth_of(auth, exp)

    def fail(reason: DropReason, detail: str) -> PacketError:
        return PacketError(reason, detail, vrid=vrid)

    if has_ah != (auth_cfg.type == AuthType.AH):
        raise fail(DropReason.AUTH_TYPE_MISMATCH, "Received AH header but auth type not AH"
                   if has_ah else "No AH header but auth type is AH")
    version = vers_type >> 4
    msg_len = VRRP_HEADER_LEN + naddr * 4 + (AUTH_DATA_LEN if version == 2 else 0)
    if n != off + msg_len:
        raise fail(DropReason.PACKET_LENGTH, _length_detail(n, off + msg_len))
    ttl = packet[8]
    src_b, dst_b = packet[12:16], packet[16:20]
    dst_mcast = (dst_b[0] & 0xF0) == 0xE0
    unicast_mode = exp.unicast if exp is not None and exp.unicast is not None else not dst_mcast
    if not unicast_mode and ttl != VRRP_TTL:
        raise fail(DropReason.TTL, f"invalid TTL/HL. Received {ttl} and expect {VRRP_TTL}")
    _check_version(version, exp, auth_cfg, fail)
    msg = packet[off:]
    auth_field = b""
    ah_seq: int | None = None
    if version == 2:
        auth_field = msg[-AUTH_DATA_LEN:]
        _check_v2_auth(b4, auth_cfg, fail)
        if auth_cfg.type == AuthType.PASS and not pass_matches(auth_field, auth_cfg):
            raise fail(DropReason.AUTH_FAILURE, "received an invalid passwd!")
        if auth_cfg.type == AuthType.AH:
            ah_st = ah_state if ah_state is not None else (exp.ah_state if exp else None)
            ah_seq = _check_ah(packet, ihl, off, auth_cfg, ah_st, unicast_mode, fail)
        adver_int = b5
        if exp is not None and exp.adver_int is not None and adver_int != exp.adver_int:
            raise fail(DropReason.INTERVAL_MISMATCH, f"advertisement interval mismatch mine="
                       f"{exp.adver_int} sec rcv'd={adver_int} sec")
    else:
        adver_int = ((b4 << 8) | b5) & V3_MAX_ADVER_INT
    _check_type(vers_type, fail)
    _check_count(naddr, exp, fail)
    tot_len = (packet[2] << 8) | packet[3]
    if tot_len != n:
        raise fail(DropReason.IP_TOTAL_LENGTH,
                   f"ip_tot_len mismatch against received length. {tot_len} and received {n}")
    form = _ipv4_checksum_form(version, msg, src_b, dst_b, dst_mcast, exp, fail)
    _check_tail(src_b, dst_mcast, ttl, msg[8:8 + 4 * naddr], 4, exp, fail)
    # inet_ntoa is pure formatting (no I/O) and prints exactly what str(IPv4Address) does.
    return Advert(
        version=version, vrid=vrid, priority=priority, adver_int=adver_int,
        addresses=tuple(socket.inet_ntoa(msg[8 + 4 * i: 12 + 4 * i]) for i in range(naddr)),
        src=socket.inet_ntoa(src_b), dst=socket.inet_ntoa(dst_b), family=4,
        auth_type=b4 if version == 2 else 0, auth_data=auth_field, checksum=csum, ttl=ttl,
        ah_seq=ah_seq, type=vers_type & 0x0F, checksum_form=form,
        ip_id=(packet[4] << 8) | packet[5],
    )


def _check_ah(packet: bytes, ihl: int, off: int, auth_cfg: AuthConfig, ah_st: AhState | None,
              unicast_mode: bool, fail: _FailFn) -> int:
    """keepalived's IPsec-AH checks (ICV, SPI, replay); the packet's sequence number."""
    ah = packet[ihl:off]
    if ah[0] != PROTO_VRRP:
        raise fail(DropReason.NOT_VRRP, f"AH next header {ah[0]}")
    icv = ah_icv(auth_cfg.key, packet[:ihl], ah, packet[off:], zero_ttl=unicast_mode)
    if not hmac.compare_digest(ah[12:24], icv):
        raise fail(DropReason.AUTH_FAILURE, "IPSEC-AH : invalid IPSEC HMAC-MD5 value")
    if ah[4:8] != packet[12:16]:
        raise fail(DropReason.AUTH_FAILURE, "IPSEC AH : invalid IPSEC SPI value")
    ah_seq = int.from_bytes(ah[8:12], "big")
    if ah_st is not None and not ah_st.accept(ah_seq):
        raise fail(DropReason.AH_REPLAY, f"IPSEC-AH : sequence number {ah_seq} already "
                   f"processed. Packet dropped. Local({ah_st.seq})")
    return ah_seq


def with_ip_id(advert: Advert, ip_id: int) -> Advert:
    """A copy of a decoded ``advert`` with another IP ID (the frozen dataclass's fields copied
    at C speed: a fifth of what building it through ``__init__`` costs)."""
    new = object.__new__(Advert)
    new.__dict__.update(advert.__dict__)
    object.__setattr__(new, "ip_id", ip_id)
    return new


def decode_ipv6(message: bytes, *, src: str, dst: str, hop_limit: int | None,
                auth: AuthConfig | None = None, expect: ExpectArg = None,
                verify_checksum: bool = True) -> Advert:
    """Validate and decode a VRRP message received on an IPv6 raw socket.

    ``src``/``dst`` come from the socket address and ``IPV6_PKTINFO``; ``hop_limit`` from
    ``IPV6_HOPLIMIT`` (``None``: unknown, not checked). The kernel verifies the checksum on a
    socket with ``IPV6_CHECKSUM``; ``verify_checksum`` checks the pseudo-header sum here too.
    """
    n = len(message)
    if n < VRRP_HEADER_LEN:
        raise PacketError(DropReason.PACKET_LENGTH, f"IPv6 VRRP packet too short - {n} bytes")
    vers_type, vrid, priority, naddr, b4, b5, csum = struct.unpack_from("!BBBBBBH", message, 0)
    exp = _resolve(expect, vrid)
    auth_cfg = _auth_of(auth, exp)

    def fail(reason: DropReason, detail: str) -> PacketError:
        return PacketError(reason, detail, vrid=vrid)

    msg_len = VRRP_HEADER_LEN + naddr * 16
    if n != msg_len:
        raise fail(DropReason.PACKET_LENGTH, _length_detail(n, msg_len))
    src_b, dst_b = _packed(src), _packed(dst)
    if len(src_b) != 16 or len(dst_b) != 16:
        raise ValueError(f"not IPv6 addresses: {src}, {dst}")
    dst_mcast = dst_b[0] == 0xFF
    unicast_mode = exp.unicast if exp is not None and exp.unicast is not None else not dst_mcast
    if not unicast_mode and hop_limit is not None and hop_limit != VRRP_TTL:
        raise fail(DropReason.TTL, f"invalid TTL/HL. Received {hop_limit} and expect {VRRP_TTL}")
    version = vers_type >> 4
    _check_version(version, exp, auth_cfg, fail)
    if version == 2:
        _check_v2_auth(b4, auth_cfg, fail)
        if auth_cfg.type != AuthType.NONE:
            raise fail(DropReason.AUTH_FAILURE, "authentication is IPv4 only")
        adver_int = b5
        if exp is not None and exp.adver_int is not None and adver_int != exp.adver_int:
            raise fail(DropReason.INTERVAL_MISMATCH, f"advertisement interval mismatch mine="
                       f"{exp.adver_int} sec rcv'd={adver_int} sec")
    else:
        adver_int = ((b4 << 8) | b5) & V3_MAX_ADVER_INT
    _check_type(vers_type, fail)
    _check_count(naddr, exp, fail)
    form = ChecksumForm.UNCHECKED
    if verify_checksum:
        phdr = ck.pseudo_header_v6(src_b, dst_b, n)
        if not ck.verify(message, ck.ones_sum(phdr)):
            raise fail(DropReason.CHECKSUM, "Invalid VRRP checksum")
        form = ChecksumForm.PSEUDO_HEADER
    addresses = tuple(str(ipaddress.IPv6Address(message[8 + 16 * i: 24 + 16 * i]))
                      for i in range(naddr))
    _check_tail(src_b, dst_mcast, hop_limit, message[8:], 16, exp, fail)
    return Advert(
        version=version, vrid=vrid, priority=priority, adver_int=adver_int, addresses=addresses,
        src=src, dst=dst, family=6, auth_type=b4 if version == 2 else 0, checksum=csum,
        ttl=hop_limit, type=vers_type & 0x0F, checksum_form=form,
    )


def decode(data: bytes, *, family: int = 4, src: str | None = None, dst: str | None = None,
           hop_limit: int | None = None, auth: AuthConfig | None = None,
           expect: ExpectArg = None, ah_state: AhState | None = None) -> Advert:
    """``decode_ipv4(data)`` or, for ``family=6``, ``decode_ipv6(data, src=, dst=, hop_limit=)``."""
    if family == 6:
        if src is None or dst is None:
            raise ValueError("IPv6 decoding needs the source and destination addresses")
        return decode_ipv6(data, src=src, dst=dst, hop_limit=hop_limit, auth=auth, expect=expect)
    return decode_ipv4(data, auth=auth, expect=expect, ah_state=ah_state)


def _length_detail(got: int, want: int) -> str:
    return f"vrrp packet too {'long' if got > want else 'short'}, length {got} and expect {want}"


def _auth_of(auth: AuthConfig | None, exp: Expect | None) -> AuthConfig:
    if auth is not None:
        return auth
    if exp is not None and exp.auth is not None:
        return exp.auth
    return _NO_AUTH


def _check_version(version: int, exp: Expect | None, auth_cfg: AuthConfig,
                   fail: _FailFn) -> None:
    want = exp.version if exp is not None and exp.version is not None else None
    if want is None and auth_cfg.type != AuthType.NONE:
        want = 2  # keepalived keeps authentication only on v2 instances
    if version not in (2, 3) or (want is not None and version != want):
        raise fail(DropReason.VERSION,
                   f"wrong version. Received {version} and expect {want if want else '2 or 3'}")


def _check_v2_auth(auth_type: int, auth_cfg: AuthConfig, fail: _FailFn) -> None:
    if auth_type not in (AuthType.NONE, AuthType.PASS, AuthType.AH):
        raise fail(DropReason.INVALID_AUTH_TYPE, f"Invalid auth type: {auth_type}")
    if auth_type != auth_cfg.type:
        raise fail(DropReason.AUTH_TYPE_MISMATCH,
                   f"received a {auth_type} auth, expecting {int(auth_cfg.type)}!")


def _check_type(vers_type: int, fail: _FailFn) -> None:
    if vers_type & 0x0F != TYPE_ADVERTISEMENT:
        raise fail(DropReason.INVALID_TYPE,
                   f"Invalid packet type. {vers_type & 0x0F} and expect {TYPE_ADVERTISEMENT}")


def _check_count(naddr: int, exp: Expect | None, fail: _FailFn) -> None:
    if exp is not None and exp.addresses is not None and naddr != len(exp.addresses):
        raise fail(DropReason.ADDRESS_COUNT, f"received an unexpected ip number count {naddr}, "
                   f"expected {len(exp.addresses)}!")


def _ipv4_checksum_form(version: int, msg: bytes, src_b: bytes, dst_b: bytes, dst_mcast: bool,
                        exp: Expect | None, fail: _FailFn) -> ChecksumForm:
    if version == 2:
        if not ck.verify(msg):
            raise fail(DropReason.CHECKSUM, "Invalid VRRPv2 checksum")
        return ChecksumForm.MESSAGE
    if exp is None:
        return _v3_ipv4_form(msg, src_b, dst_b, dst_mcast, _packed(MCAST_GROUP4), fail)
    group_b = _packed(exp.mcast_group or MCAST_GROUP4)
    return _v3_ipv4_form(msg, src_b, dst_b, dst_mcast, group_b, fail, exp.old_unicast_checksum)


def _v3_ipv4_form(msg: bytes, src_b: bytes, dst_b: bytes, dst_mcast: bool, group_b: bytes,
                  fail: _FailFn, old: bool | None = None) -> ChecksumForm:
    """keepalived's default first, then RFC 9568's message-only sum, then the legacy form
    (``old``: see ``Expect.old_unicast_checksum``; a multicast destination is the group, so
    the legacy form is the default one there)."""
    n = len(msg)
    if old and not dst_mcast:
        if ck.verify(msg, ck.ones_sum(ck.pseudo_header_v4(src_b, group_b, n))):
            return ChecksumForm.LEGACY_UNICAST
        raise fail(DropReason.CHECKSUM, "Invalid VRRPv3 checksum")
    if ck.verify(msg, ck.ones_sum(ck.pseudo_header_v4(src_b, dst_b, n))):
        return ChecksumForm.PSEUDO_HEADER
    if ck.verify(msg):
        return ChecksumForm.MESSAGE
    if old is None and not dst_mcast and ck.verify(
            msg, ck.ones_sum(ck.pseudo_header_v4(src_b, group_b, n))):
        return ChecksumForm.LEGACY_UNICAST
    raise fail(DropReason.CHECKSUM, "Invalid VRRPv3 checksum")


def _check_tail(src_b: bytes, dst_mcast: bool, ttl: int | None, addr_block: bytes, width: int,
                exp: Expect | None, fail: _FailFn) -> None:
    """The checks keepalived makes after the checksum: cast, VIP list, unicast source."""
    if exp is None:
        return
    if exp.unicast is not None and dst_mcast == exp.unicast:
        want, got = ("un", "mult") if exp.unicast else ("mult", "un")
        raise fail(DropReason.CAST_MISMATCH, f"Expected {want}icast packet but received "
                   f"{got}icast packet")
    if exp.addresses is not None:
        received = {addr_block[i:i + width] for i in range(0, len(addr_block), width)}
        for vip, packed in zip(exp.addresses, exp.packed_addresses, strict=True):
            if packed not in received:
                raise fail(DropReason.ADDRESS_LIST, f"ip address associated with VRID not "
                           f"present in MASTER advert : {vip}")
    if exp.unicast and exp.unicast_peers is not None:
        ttl_range = exp.packed_peers.get(src_b)
        if ttl_range is None:
            src = ipaddress.ip_address(src_b)
            raise fail(DropReason.NOT_UNICAST_PEER,
                       f"unicast source address {src} not a unicast peer")
        min_ttl, max_ttl = ttl_range
        if ttl is not None and not min_ttl <= ttl <= max_ttl:
            raise fail(DropReason.UNICAST_TTL, f"TTL/HL {ttl} not in range {min_ttl} - {max_ttl}")


# ----------------------------------------------------------------------------------------------
# Encoding


class IpIdCounter:
    """keepalived's IPv4 identification: incremented once per advert (not per unicast peer),
    skipping 0 because the kernel would fill in its own ID for 0 on an IP_HDRINCL socket."""

    __slots__ = ("value",)

    def __init__(self, start: int = 0) -> None:
        self.value = start & 0xFFFF

    def next(self) -> int:
        self.value = (self.value + 1) & 0xFFFF
        if self.value == 0:
            self.value = 1
        return self.value


class AdvertEncoder:
    """Builds one instance's adverts; everything constant across adverts is prepared once.

    Per advert only the priority, the destination (unicast peers), the IP ID and the AH
    sequence number change, so ``ipv4()``/``ipv6()`` are cheap to call once per peer: the
    message and the IPv4 header (all but its ID and checksum) are built once per (priority,
    destination) and reused; without AH a packet then costs one checksum fold and a join.
    Construct a new encoder when the interval or the address list changes (the daemon keys
    its encoders by them); the attributes set by the constructor are not meant to be changed.

    * ``v3_checksum_as_v2``: v3/IPv4 checksum over the message only (RFC 9568) instead of
      keepalived's default pseudo-header form.
    * ``legacy_unicast_checksum``: v3/IPv4 pseudo-header with the multicast group as destination
      even for unicast (keepalived <= 1.3.6; keepalived switches to it when a peer uses it).
    * ``unicast``: keepalived's unicast mode (peers configured): AH then zeroes the TTL in its
      ICV. ``None`` infers it from each destination.
    """

    def __init__(self, *, version: int, vrid: int, adver_int: int, addresses: Sequence[str],
                 src: str, auth: AuthConfig | None = None, ttl: int = VRRP_TTL,
                 unicast: bool | None = None, v3_checksum_as_v2: bool = False,
                 legacy_unicast_checksum: bool = False, mcast_group: str | None = None) -> None:
        src_a = ipaddress.ip_address(src.split("%", 1)[0])
        self.family = src_a.version
        self.auth = auth if auth is not None else _NO_AUTH
        if version not in (2, 3):
            raise ValueError(f"VRRP version must be 2 or 3, not {version}")
        if not 0 <= vrid <= 255:
            raise ValueError(f"VRID out of range: {vrid}")
        if version == 2 and not 0 <= adver_int <= 255:
            raise ValueError(f"VRRPv2 advert interval is 0-255 s: {adver_int}")
        if version == 3 and not 0 <= adver_int <= V3_MAX_ADVER_INT:
            raise ValueError(f"VRRPv3 advert interval is 0-4095 cs: {adver_int}")
        if len(addresses) > 255:
            raise ValueError("at most 255 addresses fit in an advert")
        if self.auth.type != AuthType.NONE and (version != 2 or self.family != 4):
            raise ValueError("authentication exists only for VRRPv2 over IPv4")
        if not 0 <= ttl <= 255:
            raise ValueError(f"TTL out of range: {ttl}")
        self.version = version
        self.vrid = vrid
        self.adver_int = adver_int
        self.ttl = ttl
        self.unicast = unicast
        self.v3_checksum_as_v2 = v3_checksum_as_v2
        self.legacy_unicast_checksum = legacy_unicast_checksum
        self.src = src
        self._src_b = src_a.packed
        ip_cls = ipaddress.IPv4Address if self.family == 4 else ipaddress.IPv6Address
        packed = b"".join(ip_cls(a.split("%", 1)[0]).packed for a in addresses)
        self.addresses = tuple(str(ip_cls(a.split("%", 1)[0])) for a in addresses)
        group = mcast_group or (MCAST_GROUP4 if self.family == 4 else MCAST_GROUP6)
        self.mcast_group = group
        self._group_b = ipaddress.ip_address(group).packed
        if version == 2:
            b4, b5 = int(self.auth.type), adver_int
        else:
            b4, b5 = adver_int >> 8, adver_int & 0xFF
        # Everything but priority and checksum: [vers_type, vrid] prio [naddr, b4, b5] csum body
        self._head = bytes(((version << 4) | TYPE_ADVERTISEMENT, vrid))
        self._mid = bytes((len(addresses), b4, b5))
        self._body = packed + (self.auth.field if version == 2 and self.family == 4 else b"")
        self.length = VRRP_HEADER_LEN + len(self._body)
        self._fixed_sum = ck.ones_sum(self._head + b"\x00" + self._mid + b"\x00\x00" + self._body)
        self._phdr_sums: dict[bytes, int] = {}
        self._messages: dict[tuple[int, bytes], bytes] = {}
        # (priority, dst) -> IPv4 header before the ID, between ID and checksum, after the
        # checksum + message, and the one's-complement sum of the header with ID and sum zero
        self._v4_parts: dict[tuple[int, bytes], tuple[bytes, bytes, bytes, int]] = {}

    def _dst_packed(self, dst: str | None) -> bytes:
        if dst is None:
            return self._group_b
        packed = _packed(dst)
        if len(packed) != len(self._src_b):
            raise ValueError(f"destination {dst} is not in the source's address family")
        return packed

    def message(self, priority: int, dst: str | None = None) -> bytes:
        """The VRRP message with its checksum, as sent to ``dst`` (default: the group)."""
        return self._message(priority, self._dst_packed(dst))

    def _message(self, priority: int, dst_b: bytes) -> bytes:
        key = (priority, dst_b)
        msg = self._messages.get(key)
        if msg is None:
            msg = self._messages[key] = self._build_message(priority, dst_b)
        return msg

    def _build_message(self, priority: int, dst_b: bytes) -> bytes:
        if not 0 <= priority <= 255:
            raise ValueError(f"priority out of range: {priority}")
        initial = self._fixed_sum + (priority << 8)  # high byte of the 2nd 16-bit word
        if self.family == 6:
            initial += self._phdr_sum(dst_b)
        elif self.version == 3 and not self.v3_checksum_as_v2:
            initial += self._phdr_sum(self._group_b if self.legacy_unicast_checksum else dst_b)
        csum = ~ck.ones_sum(b"", initial) & 0xFFFF
        return (self._head + bytes((priority,)) + self._mid + csum.to_bytes(2, "big")
                + self._body)

    def _phdr_sum(self, dst_b: bytes) -> int:
        cached = self._phdr_sums.get(dst_b)
        if cached is None:
            if self.family == 4:
                phdr = ck.pseudo_header_v4(self._src_b, dst_b, self.length)
            else:
                phdr = ck.pseudo_header_v6(self._src_b, dst_b, self.length)
            cached = self._phdr_sums[dst_b] = ck.ones_sum(phdr)
        return cached

    def ipv4(self, *, priority: int, ip_id: int, dst: str | None = None,
             ah_seq: int | None = None) -> bytes:
        """The whole IPv4 packet keepalived writes to its IP_HDRINCL socket (header checksum
        filled in, as the kernel would). ``ah_seq`` is required with AH (``AhState.next_seq``)."""
        if self.family != 4:
            raise ValueError("ipv4() on an IPv6 encoder")
        if not 0 <= ip_id <= 0xFFFF:
            raise ValueError(f"IP ID out of range: {ip_id}")
        dst_b = self._dst_packed(dst)
        use_ah = self.auth.type == AuthType.AH
        if not use_ah:
            parts = self._v4_parts.get((priority, dst_b))
            if parts is None:
                parts = self._v4_parts[(priority, dst_b)] = self._v4_template(priority, dst_b)
            head, mid, tail, fixed = parts
            csum = ~ck.ones_sum(b"", fixed + ip_id) & 0xFFFF
            return head + ip_id.to_bytes(2, "big") + mid + csum.to_bytes(2, "big") + tail
        msg = self._message(priority, dst_b)
        if ah_seq is None:
            raise ValueError("AH authentication needs ah_seq")
        tot_len = IPV4_HEADER_LEN + AH_HEADER_LEN + len(msg)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, TOS_NETWORK_CONTROL, tot_len, ip_id, 0,
                          self.ttl, PROTO_AH, 0, self._src_b, dst_b)
        hdr = hdr[:10] + ck.internet_checksum(hdr).to_bytes(2, "big") + hdr[12:]
        ah = ah_header(self._src_b, ah_seq)
        unicast = self.unicast if self.unicast is not None else (dst_b[0] & 0xF0) != 0xE0
        icv = ah_icv(self.auth.key, hdr, ah, msg, zero_ttl=unicast)
        return hdr + ah[:12] + icv + msg

    def _v4_template(self, priority: int, dst_b: bytes) -> tuple[bytes, bytes, bytes, int]:
        """The parts of a non-AH IPv4 packet that do not depend on the IP ID (see ``ipv4``)."""
        msg = self._message(priority, dst_b)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, TOS_NETWORK_CONTROL, IPV4_HEADER_LEN + len(msg),
                          0, 0, self.ttl, PROTO_VRRP, 0, self._src_b, dst_b)
        return hdr[:4], hdr[6:10], hdr[12:] + msg, ck.ones_sum(hdr)

    def ipv6(self, *, priority: int, dst: str | None = None) -> bytes:
        """The VRRP message for an IPv6 raw socket, checksum already correct for ``dst``."""
        if self.family != 6:
            raise ValueError("ipv6() on an IPv4 encoder")
        return self.message(priority, dst)


def encode_ipv4(*, version: int, vrid: int, priority: int, adver_int: int,
                addresses: Sequence[str], src: str, dst: str = MCAST_GROUP4, ip_id: int,
                ttl: int = VRRP_TTL, auth: AuthConfig | None = None, ah_seq: int | None = None,
                v3_checksum_as_v2: bool = False, legacy_unicast_checksum: bool = False,
                unicast: bool | None = None) -> bytes:
    """One-shot ``AdvertEncoder(...).ipv4(...)``."""
    enc = AdvertEncoder(version=version, vrid=vrid, adver_int=adver_int, addresses=addresses,
                        src=src, auth=auth, ttl=ttl, unicast=unicast,
                        v3_checksum_as_v2=v3_checksum_as_v2,
                        legacy_unicast_checksum=legacy_unicast_checksum)
    return enc.ipv4(priority=priority, ip_id=ip_id, dst=dst, ah_seq=ah_seq)


def encode_ipv6(*, version: int, vrid: int, priority: int, adver_int: int,
                addresses: Sequence[str], src: str, dst: str = MCAST_GROUP6) -> bytes:
    """One-shot ``AdvertEncoder(...).ipv6(...)``."""
    enc = AdvertEncoder(version=version, vrid=vrid, adver_int=adver_int, addresses=addresses,
                        src=src)
    return enc.ipv6(priority=priority, dst=dst)


def encode(advert: Advert, *, ip_id: int = 1, auth: AuthConfig | None = None,
           ah_seq: int | None = None, v3_checksum_as_v2: bool = False) -> bytes:
    """Encode an ``Advert`` (IPv4: the whole packet with ``advert.ttl`` or 255; IPv6: the
    message). ``auth`` defaults to PASS with ``advert.auth_data`` when the advert says PASS."""
    if auth is None and advert.auth_type == AuthType.PASS:
        auth = AuthConfig(AuthType.PASS, advert.auth_data)
    enc = AdvertEncoder(version=advert.version, vrid=advert.vrid, adver_int=advert.adver_int,
                        addresses=advert.addresses, src=advert.src, auth=auth,
                        ttl=advert.ttl if advert.ttl is not None else VRRP_TTL,
                        v3_checksum_as_v2=v3_checksum_as_v2)
    if advert.family == 6:
        return enc.ipv6(priority=advert.priority, dst=advert.dst)
    return enc.ipv4(priority=advert.priority, ip_id=ip_id, dst=advert.dst, ah_seq=ah_seq)
