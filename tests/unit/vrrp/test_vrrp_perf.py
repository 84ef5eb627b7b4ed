"""The hot-path shortcuts (fast checksum, cached encoder parts, the router's address-list and
address-normalisation caches) give exactly what the straightforward computation gives."""

from __future__ import annotations

import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp import checksum as ck
from pykeepalived.vrrp.actions import LogEvent, State
from pykeepalived.vrrp.auth import AhState, AuthConfig, AuthType
from pykeepalived.vrrp.packet import (
    Advert,
    AdvertEncoder,
    DropReason,
    Expect,
    PacketError,
    decode_ipv4,
)
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter


def reference_ones_sum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 word by word, with end-around carry (the textbook loop)."""
    if len(data) % 2:
        data += b"\0"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = initial + sum(words)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@given(st.binary(max_size=300), st.integers(0, 0x3FFFF))
def test_ones_sum_matches_the_word_by_word_sum(data: bytes, initial: int) -> None:
    assert ck.ones_sum(data, initial) == reference_ones_sum(data, initial)


def test_ones_sum_edge_values() -> None:
    for data in (b"", b"\0\0", b"\xff\xff", b"\xff\xff" * 3, b"\x00\x01" * 0x10000, b"\xff"):
        for initial in (0, 1, 0xFFFF, 0x10000, 0x1FFFE):
            assert ck.ones_sum(data, initial) == reference_ones_sum(data, initial)


def ipv4_by_hand(enc: AdvertEncoder, prio: int, ip_id: int, dst: str) -> bytes:
    msg = enc.message(prio, dst)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(msg), ip_id, 0, enc.ttl, 112, 0,
                      socket.inet_aton(enc.src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", ck.internet_checksum(hdr)) + hdr[12:] + msg


@settings(max_examples=200)
@given(st.integers(1, 255), st.integers(0, 0xFFFF), st.sampled_from(
    ["224.0.0.18", "10.1.2.3", "192.168.255.254"]), st.sampled_from([2, 3]))
def test_cached_ipv4_packets_equal_freshly_built_ones(prio: int, ip_id: int, dst: str,
                                                      version: int) -> None:
    enc = AdvertEncoder(version=version, vrid=9, adver_int=1 if version == 2 else 100,
                        addresses=["10.0.0.1", "10.0.0.2"], src="10.0.0.9")
    first = enc.ipv4(priority=prio, ip_id=ip_id, dst=dst)
    assert first == ipv4_by_hand(enc, prio, ip_id, dst)
    # a second call takes the cached template and must agree, for another ID as well
    assert enc.ipv4(priority=prio, ip_id=ip_id, dst=dst) == first
    other = (ip_id + 12345) & 0xFFFF
    assert enc.ipv4(priority=prio, ip_id=other, dst=dst) == ipv4_by_hand(enc, prio, other, dst)
    assert decode_ipv4(first).priority == prio


def test_cached_encoder_still_rejects_bad_priority_and_ah_without_seq() -> None:
    enc = AdvertEncoder(version=2, vrid=1, adver_int=1, addresses=["10.0.0.1"], src="10.0.0.9")
    enc.ipv4(priority=100, ip_id=1)
    for bad in (-1, 256):
        try:
            enc.ipv4(priority=bad, ip_id=1)
        except ValueError:
            pass
        else:
            raise AssertionError(f"priority {bad} accepted")
    ah = AdvertEncoder(version=2, vrid=1, adver_int=1, addresses=["10.0.0.1"], src="10.0.0.9",
                       auth=AuthConfig(AuthType.AH, b"secret"))
    try:
        ah.ipv4(priority=100, ip_id=1)
    except ValueError:
        pass
    else:
        raise AssertionError("AH without a sequence number accepted")
    # AH packets change with every sequence number (no caching of the ICV)
    p1, p2 = ah.ipv4(priority=100, ip_id=1, ah_seq=1), ah.ipv4(priority=100, ip_id=1, ah_seq=2)
    assert p1 != p2
    state = AhState()
    exp_auth = AuthConfig(AuthType.AH, b"secret")
    assert decode_ipv4(p1, auth=exp_auth, ah_state=state).ah_seq == 1
    assert decode_ipv4(p2, auth=exp_auth, ah_state=state).ah_seq == 2


def backup(**kw: object) -> VrrpRouter:
    base: dict[str, object] = {"name": "VI_1", "vrid": 5, "priority": 100,
                               "addresses": ("10.0.0.200/24", "10.0.0.201"),
                               "src_ip": "10.0.0.2"}
    base.update(kw)
    r = VrrpRouter(RouterSettings(**base), 0.0)  # type: ignore[arg-type]
    r.start(0.0)
    r.actions()
    return r


def adv(addresses: tuple[str, ...], src: str = "10.0.0.3", prio: int = 150) -> Advert:
    return Advert(version=2, vrid=5, priority=prio, adver_int=1, addresses=addresses, src=src,
                  dst="224.0.0.18")


def warnings(r: VrrpRouter) -> list[str]:
    return [a.message for a in r.actions() if isinstance(a, LogEvent) and a.level == "WARNING"]


def test_address_list_cache_keeps_every_rejection_and_warning() -> None:
    r = backup()
    good = ("10.0.0.201", "10.0.0.200")
    r.receive(adv(good), 0.5)
    assert r.master_ip == "10.0.0.3" and not warnings(r)
    r.receive(adv(good), 1.0)  # cached
    assert r.stats.addr_list_err == 0 and not warnings(r)
    # a different list after the cached one is checked again and rejected every time
    for t in (1.5, 2.0):
        r.receive(adv(("10.0.0.201", "10.0.0.9")), t)
        assert r.stats.addr_list_err == int((t - 1.0) * 2)
        assert any("not present" in w for w in warnings(r))
    # a wrong count that still holds every VIP is accepted but warned about each time
    extra = ("10.0.0.200", "10.0.0.201", "10.0.0.7")
    for n in (1, 2):
        r.receive(adv(extra), 2.0 + n)
        assert any("ip number count" in w for w in warnings(r))
        assert r.stats.addr_list_err == 2 + n
    assert r.state is State.BACKUP


def test_own_advert_recognised_in_any_spelling() -> None:
    r = backup(src_ip="10.0.0.2", version=3, advert_int=1.0)
    own = Advert(version=3, vrid=5, priority=200, adver_int=100, addresses=("10.0.0.200",
                 "10.0.0.201"), src="10.0.0.2", dst="224.0.0.18")
    r.receive(own, 0.5)
    assert r.stats.advert_rcvd == 0  # ignored as looped back
    r6 = backup(src_ip="fe80::0001", family=6, version=3, advert_int=1.0,
                addresses=("2001:db8::1",))
    own6 = Advert(version=3, vrid=5, priority=200, adver_int=100, addresses=("2001:db8::1",),
                  src="fe80::1", dst="ff02::12", family=6)
    r6.receive(own6, 0.5)
    assert r6.stats.advert_rcvd == 0


def drop_reason(packet: bytes, exp: Expect) -> DropReason | None:
    try:
        decode_ipv4(packet, expect=exp)
    except PacketError as e:
        return e.reason
    return None


def test_repeated_packets_decode_like_the_first() -> None:
    enc = AdvertEncoder(version=3, vrid=7, adver_int=10, addresses=["10.0.0.1"],
                        src="10.0.0.9")
    exp = Expect(version=3, unicast=False, addresses=("10.0.0.1",))
    first = decode_ipv4(enc.ipv4(priority=150, ip_id=1), expect=exp)
    again = decode_ipv4(enc.ipv4(priority=150, ip_id=2), expect=exp)
    assert again.ip_id == 2 and first.ip_id == 1
    assert again == Advert(**{**first.__dict__, "ip_id": 2})
    assert decode_ipv4(enc.ipv4(priority=120, ip_id=3), expect=exp).priority == 120
    # a packet that differs only in TTL is checked again (and dropped) after a good one
    good = enc.ipv4(priority=150, ip_id=4)
    assert decode_ipv4(good, expect=exp).ttl == 255
    bad_ttl = good[:8] + b"\xfe" + good[9:]
    assert drop_reason(bad_ttl, exp) is DropReason.TTL
    # another Expect (another instance's configuration) does not share the memo
    other = Expect(version=3, unicast=False, addresses=("10.0.0.2",))
    assert drop_reason(good, other) is DropReason.ADDRESS_LIST


def test_ah_packets_are_never_memoised_replay_still_caught() -> None:
    key = AuthConfig(AuthType.AH, b"secret")
    enc = AdvertEncoder(version=2, vrid=7, adver_int=1, addresses=["10.0.0.1"],
                        src="10.0.0.9", auth=key)
    exp = Expect(version=2, adver_int=1, auth=key, ah_state=AhState())
    pkt = enc.ipv4(priority=150, ip_id=1, ah_seq=5)
    assert decode_ipv4(pkt, expect=exp).ah_seq == 5
    assert drop_reason(pkt, exp) is DropReason.AH_REPLAY


def test_repeated_ipv6_messages_decode_like_the_first() -> None:
    from pykeepalived.vrrp.packet import decode_ipv6

    enc = AdvertEncoder(version=3, vrid=7, adver_int=10, addresses=["2001:db8::1"],
                        src="fe80::9")
    exp = Expect(version=3, unicast=False, addresses=("2001:db8::1",))
    msg = enc.ipv6(priority=150)
    kw: dict[str, object] = {"src": "fe80::9", "dst": "ff02::12", "expect": exp}
    first = decode_ipv6(msg, hop_limit=255, **kw)  # type: ignore[arg-type]
    assert decode_ipv6(msg, hop_limit=255, **kw) == first  # type: ignore[arg-type]
    try:
        decode_ipv6(msg, hop_limit=64, **kw)  # type: ignore[arg-type]
    except PacketError as e:
        reason = e.reason
    else:
        raise AssertionError("hop limit 64 accepted after a cached hop limit 255 message")
    assert reason is DropReason.TTL
    # another source: the pseudo-header checksum no longer matches (not served from the memo)
    try:
        decode_ipv6(msg, src="fe80::8", dst="ff02::12", hop_limit=255, expect=exp)
    except PacketError as e:
        reason = e.reason
    else:
        raise AssertionError("checksum over another source accepted")
    assert reason is DropReason.CHECKSUM
