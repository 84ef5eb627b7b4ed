"""VRRP codec: every drop reason, keepalived's validation order, checksum forms, the encoder."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from pykeepalived.vrrp import checksum as ck
from pykeepalived.vrrp.auth import AhState, AuthConfig, ah_header, ah_icv
from pykeepalived.vrrp.packet import (
    AdvertEncoder,
    ChecksumForm,
    DropReason,
    Expect,
    IpIdCounter,
    PacketError,
    decode,
    decode_ipv4,
    decode_ipv6,
    encode,
    encode_ipv4,
    encode_ipv6,
    peek_vrid,
)

SRC = "10.1.0.11"
PEER = "10.1.0.12"
VIPS = ("10.1.0.200", "10.1.0.201")
SRC6 = "fe80::11"
VIPS6 = ("fd00::200",)


def v2(priority: int = 100, *, auth: AuthConfig | None = None, dst: str = "224.0.0.18",
       ip_id: int = 1, ttl: int = 255, ah_seq: int | None = None, vrid: int = 51) -> bytes:
    return encode_ipv4(version=2, vrid=vrid, priority=priority, adver_int=1, addresses=VIPS,
                       src=SRC, dst=dst, ip_id=ip_id, ttl=ttl, auth=auth, ah_seq=ah_seq)


def v3(priority: int = 100, *, dst: str = "224.0.0.18", ttl: int = 255, **kw: bool) -> bytes:
    return encode_ipv4(version=3, vrid=51, priority=priority, adver_int=100, addresses=VIPS,
                       src=SRC, dst=dst, ip_id=1, ttl=ttl, **kw)


def reason(fn: object, *args: object, **kwargs: object) -> DropReason:
    assert callable(fn)
    with pytest.raises(PacketError) as ei:
        fn(*args, **kwargs)
    return ei.value.reason


def patch(raw: bytes, offset: int, value: bytes) -> bytes:
    return raw[:offset] + value + raw[offset + len(value):]


def fix_ip_checksum(raw: bytes) -> bytes:
    hdr = patch(raw[:20], 10, b"\x00\x00")
    return patch(raw, 10, ck.internet_checksum(hdr).to_bytes(2, "big"))


# -------------------------------------------------------------------------------- drop reasons

def test_every_drop_reason_has_a_counter_name() -> None:
    stats = {"packet_len_err", "ip_ttl_err", "invalid_type_rcvd", "advert_interval_err",
             "addr_list_err", "invalid_authtype", "authtype_mismatch", "auth_failure"}
    for r in DropReason:
        assert r.counter
        if r.stats_line is not None:
            assert r.stat in stats  # printed in /tmp/keepalived.stats and the JSON dump
    assert DropReason.TTL.stats_line == ("Packet Errors", "TTL")
    assert DropReason.AUTH_TYPE_MISMATCH.stats_line == ("Authentication Errors", "Type Mismatch")
    assert DropReason.AH_REPLAY.stat == DropReason.AUTH_FAILURE.stat == "auth_failure"
    assert len({r.value for r in DropReason}) == len(DropReason)  # no aliases
    assert DropReason.ADDRESS_LIST.counts_as_received
    assert not DropReason.CHECKSUM.counts_as_received


def test_packet_length() -> None:
    raw = v2()
    assert reason(decode_ipv4, raw[:19]) is DropReason.PACKET_LENGTH
    assert reason(decode_ipv4, raw[:25]) is DropReason.PACKET_LENGTH  # header cut
    assert reason(decode_ipv4, raw[:-1]) is DropReason.PACKET_LENGTH
    assert reason(decode_ipv4, raw + b"\x00") is DropReason.PACKET_LENGTH
    assert reason(decode_ipv4, patch(raw, 0, b"\x44")) is DropReason.PACKET_LENGTH  # IHL 16
    assert reason(decode_ipv6, b"\x31\x33", src=SRC6, dst="ff02::12",
                  hop_limit=255) is DropReason.PACKET_LENGTH
    msg6 = encode_ipv6(version=3, vrid=51, priority=1, adver_int=100, addresses=VIPS6, src=SRC6)
    assert reason(decode_ipv6, msg6 + bytes(4), src=SRC6, dst="ff02::12",
                  hop_limit=255) is DropReason.PACKET_LENGTH


def test_ip_total_length() -> None:
    raw = patch(v2(), 2, (len(v2()) + 4).to_bytes(2, "big"))
    with pytest.raises(PacketError) as ei:
        decode_ipv4(raw)
    assert ei.value.reason is DropReason.IP_TOTAL_LENGTH and ei.value.vrid == 51


def test_ttl_multicast_only() -> None:
    assert reason(decode_ipv4, v2(ttl=254)) is DropReason.TTL
    assert reason(decode_ipv6, _msg6(), src=SRC6, dst="ff02::12", hop_limit=64) is DropReason.TTL
    # Unicast mode: no TTL check (unicast_ttl may be anything); unknown hop limit: no check.
    assert decode_ipv4(v2(dst=PEER, ttl=3)).ttl == 3
    assert decode_ipv6(_msg6(), src=SRC6, dst="ff02::12", hop_limit=None).ttl is None


def test_unicast_ttl_range_and_source() -> None:
    exp = Expect(unicast=True, unicast_peers={SRC: (250, 255)})
    assert decode_ipv4(v2(dst=PEER, ttl=251), expect=exp).src == SRC
    assert reason(decode_ipv4, v2(dst=PEER, ttl=64), expect=exp) is DropReason.UNICAST_TTL
    other = Expect(unicast=True, unicast_peers={"10.1.0.99": (0, 255)})
    assert reason(decode_ipv4, v2(dst=PEER), expect=other) is DropReason.NOT_UNICAST_PEER


def test_version() -> None:
    assert reason(decode_ipv4, v3(), expect=Expect(version=2)) is DropReason.VERSION
    assert reason(decode_ipv4, v2(), expect=Expect(version=3)) is DropReason.VERSION
    # Version nibble 4: same length rules as v3, then rejected.
    raw = v3()
    assert reason(decode_ipv4, patch(raw, 20, b"\x41")) is DropReason.VERSION
    # Authentication configured means a v2 instance.
    assert reason(decode_ipv4, v3(), auth=AuthConfig.pass_("x")) is DropReason.VERSION


def test_auth_types() -> None:
    pw = AuthConfig.pass_("secret")
    raw = v2(auth=pw)
    assert decode_ipv4(raw, auth=pw).auth_data == b"secret\x00\x00"
    assert reason(decode_ipv4, raw) is DropReason.AUTH_TYPE_MISMATCH  # PASS, none configured
    assert reason(decode_ipv4, v2(), auth=pw) is DropReason.AUTH_TYPE_MISMATCH
    assert reason(decode_ipv4, raw, auth=AuthConfig.pass_("secreT")) is DropReason.AUTH_FAILURE
    bad_type = patch(raw, 24, b"\x03")
    assert reason(decode_ipv4, bad_type, auth=pw) is DropReason.INVALID_AUTH_TYPE
    ah = AuthConfig.ah("secret")
    ah_raw = v2(auth=ah, ah_seq=1)
    assert reason(decode_ipv4, ah_raw) is DropReason.AUTH_TYPE_MISMATCH  # AH header, no AH
    assert reason(decode_ipv4, raw, auth=ah) is DropReason.AUTH_TYPE_MISMATCH  # AH expected
    assert reason(decode_ipv4, ah_raw, auth=AuthConfig.ah("secreT")) is DropReason.AUTH_FAILURE
    # v2 over IPv6 (keepalived accepts it without strict mode) never carries authentication.
    msg6 = encode_ipv6(version=2, vrid=51, priority=1, adver_int=1, addresses=VIPS6, src=SRC6)
    assert decode_ipv6(msg6, src=SRC6, dst="ff02::12", hop_limit=255).version == 2
    msg6_pass = patch(msg6, 4, b"\x01")
    assert reason(decode_ipv6, msg6_pass, src=SRC6, dst="ff02::12", hop_limit=255,
                  auth=pw) is DropReason.AUTH_FAILURE
    assert reason(decode_ipv6, patch(msg6, 4, b"\x07"), src=SRC6, dst="ff02::12",
                  hop_limit=255) is DropReason.INVALID_AUTH_TYPE


def test_ah_spi_must_be_source_address() -> None:
    ah = AuthConfig.ah("secret")
    raw = v2(auth=ah, ah_seq=9)
    ip_hdr, msg = raw[:20], raw[44:]
    forged_ah = ah_header(ipaddress.IPv4Address("10.9.9.9").packed, 9)
    icv = ah_icv(ah.key, ip_hdr, forged_ah, msg, zero_ttl=False)  # a valid ICV, wrong SPI
    forged = ip_hdr + forged_ah[:12] + icv + msg
    assert reason(decode_ipv4, forged, auth=ah) is DropReason.AUTH_FAILURE
    assert decode_ipv4(raw, auth=ah).ah_seq == 9


def test_ah_replay_and_shared_counter() -> None:
    ah = AuthConfig.ah("secret")
    state = AhState()
    assert decode_ipv4(v2(auth=ah, ah_seq=5), auth=ah, ah_state=state).ah_seq == 5
    assert reason(decode_ipv4, v2(auth=ah, ah_seq=5), auth=ah,
                  ah_state=state) is DropReason.AH_REPLAY
    assert reason(decode_ipv4, v2(auth=ah, ah_seq=4), auth=ah,
                  ah_state=state) is DropReason.AH_REPLAY
    # A backup that becomes master continues from the last sequence number it saw.
    assert state.next_seq() == 6


def test_ah_for_other_protocol_is_not_vrrp() -> None:
    ah = AuthConfig.ah("secret")
    raw = v2(auth=ah, ah_seq=1)
    assert reason(decode_ipv4, patch(raw, 20, b"\x06"), auth=ah) is DropReason.NOT_VRRP
    assert reason(decode_ipv4, patch(v2(), 9, b"\x06")) is DropReason.NOT_VRRP
    assert reason(decode_ipv4, patch(v2(), 0, b"\x65")) is DropReason.NOT_VRRP


def test_interval_mismatch_v2_only() -> None:
    assert reason(decode_ipv4, v2(), expect=Expect(adver_int=2)) is DropReason.INTERVAL_MISMATCH
    assert reason(decode_ipv6, encode_ipv6(version=2, vrid=1, priority=1, adver_int=3,
                                           addresses=VIPS6, src=SRC6),
                  src=SRC6, dst="ff02::12", hop_limit=255,
                  expect=Expect(adver_int=1)) is DropReason.INTERVAL_MISMATCH
    # v3 only logs a mismatch; the router adopts the master's interval.
    assert decode_ipv4(v3(), expect=Expect(version=3, adver_int=200)).adver_int == 100


def test_invalid_type() -> None:
    raw = patch(v2(), 20, b"\x22")
    assert reason(decode_ipv4, raw) is DropReason.INVALID_TYPE
    msg6 = patch(_msg6(), 0, b"\x32")
    assert reason(decode_ipv6, msg6, src=SRC6, dst="ff02::12",
                  hop_limit=255) is DropReason.INVALID_TYPE


def test_address_count_and_list() -> None:
    assert reason(decode_ipv4, v2(), expect=Expect(addresses=VIPS[:1])) is DropReason.ADDRESS_COUNT
    other = (VIPS[0], "10.1.0.250")
    assert reason(decode_ipv4, v2(), expect=Expect(addresses=other)) is DropReason.ADDRESS_LIST
    # Order does not matter, only membership.
    assert decode_ipv4(v2(), expect=Expect(addresses=VIPS[::-1])).addresses == VIPS
    assert reason(decode_ipv6, _msg6(), src=SRC6, dst="ff02::12", hop_limit=255,
                  expect=Expect(addresses=("fd00::1",))) is DropReason.ADDRESS_LIST


def test_checksum() -> None:
    raw = v2()
    bad = patch(raw, 26, bytes(((raw[26] ^ 0x01),)))
    assert reason(decode_ipv4, bad) is DropReason.CHECKSUM
    bad3 = patch(v3(), 26, b"\x00\x00")
    assert reason(decode_ipv4, bad3) is DropReason.CHECKSUM
    msg6 = patch(_msg6(), 6, b"\x12\x34")
    assert reason(decode_ipv6, msg6, src=SRC6, dst="ff02::12",
                  hop_limit=255) is DropReason.CHECKSUM
    # The kernel already verified it on a real IPv6 socket: decode can skip it.
    ad = decode_ipv6(msg6, src=SRC6, dst="ff02::12", hop_limit=255, verify_checksum=False)
    assert ad.checksum_form is ChecksumForm.UNCHECKED and ad.checksum == 0x1234


def test_cast_mismatch() -> None:
    assert reason(decode_ipv4, v2(), expect=Expect(unicast=True)) is DropReason.CAST_MISMATCH
    assert reason(decode_ipv4, v2(dst=PEER),
                  expect=Expect(unicast=False)) is DropReason.CAST_MISMATCH
    assert reason(decode_ipv6, _msg6(dst="fe80::12"), src=SRC6, dst="fe80::12", hop_limit=255,
                  expect=Expect(unicast=False)) is DropReason.CAST_MISMATCH


def test_unknown_vrid() -> None:
    instances = {51: Expect(version=2), 52: Expect(version=3)}
    assert decode_ipv4(v2(vrid=51), expect=instances).vrid == 51
    with pytest.raises(PacketError) as ei:
        decode_ipv4(v2(vrid=53), expect=instances)
    assert ei.value.reason is DropReason.UNKNOWN_VRID and ei.value.vrid == 53
    assert reason(decode_ipv6, _msg6(), src=SRC6, dst="ff02::12", hop_limit=255,
                  expect={}) is DropReason.UNKNOWN_VRID


def test_per_vrid_expectation_supplies_auth_and_ah_state() -> None:
    ah = AuthConfig.ah("k")
    state = AhState()
    instances = {51: Expect(version=2, auth=ah, ah_state=state)}
    assert decode_ipv4(v2(auth=ah, ah_seq=3), expect=instances).ah_seq == 3
    assert state.seq == 3


# ----------------------------------------------------------------------------- validation order

def test_order_ah_presence_before_length() -> None:
    raw = v2(auth=AuthConfig.ah("k"), ah_seq=1)
    assert reason(decode_ipv4, raw + b"\x00") is DropReason.AUTH_TYPE_MISMATCH


def test_order_length_before_ttl_before_version() -> None:
    raw = patch(v2(ttl=1), 20, b"\x41")  # TTL wrong and version 4
    assert reason(decode_ipv4, raw + bytes(4)) is DropReason.PACKET_LENGTH
    assert reason(decode_ipv4, raw[:-8]) is DropReason.TTL  # v4 nibble: no auth field


def test_order_auth_before_interval_before_type() -> None:
    pw = AuthConfig.pass_("a")
    raw = patch(v2(auth=pw), 20, b"\x22")  # type 2
    exp = Expect(adver_int=5)
    assert reason(decode_ipv4, raw, auth=AuthConfig.pass_("b"), expect=exp) is \
        DropReason.AUTH_FAILURE
    assert reason(decode_ipv4, raw, auth=pw, expect=exp) is DropReason.INTERVAL_MISMATCH
    assert reason(decode_ipv4, raw, auth=pw) is DropReason.INVALID_TYPE


def test_order_count_before_total_length_before_checksum_before_cast() -> None:
    raw = patch(v2(), 26, b"\x00\x00")  # bad checksum
    raw_len = patch(raw, 2, b"\x00\x10")  # and a wrong IP total length
    assert reason(decode_ipv4, raw_len, expect=Expect(addresses=("1.2.3.4",))) is \
        DropReason.ADDRESS_COUNT
    assert reason(decode_ipv4, raw_len) is DropReason.IP_TOTAL_LENGTH
    assert reason(decode_ipv4, raw, expect=Expect(unicast=True)) is DropReason.CHECKSUM


def test_order_cast_before_address_list() -> None:
    exp = Expect(unicast=True, addresses=("10.9.9.9", "10.9.9.8"))
    assert reason(decode_ipv4, v2(), expect=exp) is DropReason.CAST_MISMATCH


# ---------------------------------------------------------------------------- checksum forms

def test_v3_checksum_forms_all_accepted() -> None:
    pseudo = decode_ipv4(v3())
    plain = decode_ipv4(v3(v3_checksum_as_v2=True))
    assert pseudo.checksum_form is ChecksumForm.PSEUDO_HEADER
    assert plain.checksum_form is ChecksumForm.MESSAGE
    assert pseudo.checksum != plain.checksum
    legacy = decode_ipv4(v3(dst=PEER, legacy_unicast_checksum=True))
    assert legacy.checksum_form is ChecksumForm.LEGACY_UNICAST
    assert decode_ipv4(v3(dst=PEER)).checksum_form is ChecksumForm.PSEUDO_HEADER


def test_v3_checksum_independent_computation() -> None:
    raw = v3(priority=200)
    msg = raw[20:]
    zeroed = patch(msg, 6, b"\x00\x00")
    phdr = ipaddress.IPv4Address(SRC).packed + bytes((224, 0, 0, 18, 0, 112, 0, len(msg)))
    words = struct.unpack(f"!{(len(phdr) + len(zeroed)) // 2}H", phdr + zeroed)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert int.from_bytes(msg[6:8], "big") == (~total & 0xFFFF)


def test_legacy_form_uses_configured_group() -> None:
    raw = encode_ipv4(version=3, vrid=51, priority=100, adver_int=100, addresses=VIPS, src=SRC,
                      dst=PEER, ip_id=1)
    enc = AdvertEncoder(version=3, vrid=51, adver_int=100, addresses=VIPS, src=SRC,
                        legacy_unicast_checksum=True, mcast_group="224.0.0.19")
    legacy = enc.ipv4(priority=100, ip_id=1, dst=PEER)
    assert legacy != raw
    assert reason(decode_ipv4, legacy) is DropReason.CHECKSUM
    ad = decode_ipv4(legacy, expect=Expect(mcast_group="224.0.0.19"))
    assert ad.checksum_form is ChecksumForm.LEGACY_UNICAST



def test_old_unicast_checksum_bytes_and_modes() -> None:
    """old_unicast_checksum: a unicast v3 advert summed over a pseudo-header whose destination
    is the multicast group (computed here by hand); not configured, both forms verify (the
    legacy one reported as such); configured, only the legacy one; ``never``, only the
    standard one. Multicast adverts are the same either way (their destination is the group)."""
    legacy = v3(dst=PEER, legacy_unicast_checksum=True)
    msg = legacy[20:]
    phdr = ipaddress.IPv4Address(SRC).packed + bytes((224, 0, 0, 18, 0, 112, 0, len(msg)))
    words = struct.unpack(f"!{(len(phdr) + len(msg)) // 2}H", phdr + patch(msg, 6, b"\0\0"))
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert int.from_bytes(msg[6:8], "big") == (~total & 0xFFFF)
    standard = v3(dst=PEER)
    assert standard[20:26] == msg[:6] and standard[26:28] != msg[6:8]
    auto, old, never = (Expect(unicast=True, old_unicast_checksum=m) for m in (None, True, False))
    assert decode_ipv4(legacy, expect=auto).checksum_form is ChecksumForm.LEGACY_UNICAST
    assert decode_ipv4(standard, expect=auto).checksum_form is ChecksumForm.PSEUDO_HEADER
    assert decode_ipv4(legacy, expect=old).checksum_form is ChecksumForm.LEGACY_UNICAST
    assert reason(decode_ipv4, standard, expect=old) is DropReason.CHECKSUM
    assert reason(decode_ipv4, legacy, expect=never) is DropReason.CHECKSUM
    assert decode_ipv4(standard, expect=never).checksum_form is ChecksumForm.PSEUDO_HEADER
    assert v3(legacy_unicast_checksum=True) == v3()
    mcast = Expect(unicast=False, old_unicast_checksum=True)
    assert decode_ipv4(v3(), expect=mcast).checksum_form is ChecksumForm.PSEUDO_HEADER


# ---------------------------------------------------------------------------------- encoding

def test_ipv4_header_as_keepalived_sends_it() -> None:
    raw = v2(ip_id=0x1234)
    ver_ihl, tos, tot_len, ip_id, frag, ttl, proto, _c, src, dst = struct.unpack(
        "!BBHHHBBH4s4s", raw[:20])
    assert (ver_ihl, tos, tot_len, ip_id, frag, ttl, proto) == (0x45, 0xC0, len(raw), 0x1234, 0,
                                                                255, 112)
    assert ck.verify(raw[:20])  # header checksum filled in
    assert (src, dst) == (ipaddress.IPv4Address(SRC).packed, bytes((224, 0, 0, 18)))
    ah = v2(auth=AuthConfig.ah("k"), ah_seq=7)
    assert ah[9] == 51 and len(ah) == len(raw) + 24 and ah[20] == 112 and ah[21] == 4
    assert ah[24:28] == ipaddress.IPv4Address(SRC).packed and ah[28:32] == (7).to_bytes(4, "big")


def test_unicast_encoding_per_peer() -> None:
    enc = AdvertEncoder(version=3, vrid=9, adver_int=50, addresses=VIPS, src=SRC, ttl=64,
                        unicast=True)
    ids = IpIdCounter()
    ip_id = ids.next()
    a = enc.ipv4(priority=90, ip_id=ip_id, dst=PEER)
    b = enc.ipv4(priority=90, ip_id=ip_id, dst="10.1.0.13")
    assert a[16:20] != b[16:20] and a[4:6] == b[4:6] == b"\x00\x01" and a[8] == 64
    for raw in (a, b):
        ad = decode_ipv4(raw, expect=Expect(unicast=True))
        assert ad.checksum_form is ChecksumForm.PSEUDO_HEADER and ad.priority == 90
    # The AH ICV of unicast packets leaves TTL out: a router changing it does not break it.
    ah = AuthConfig.ah("k")
    enc2 = AdvertEncoder(version=2, vrid=9, adver_int=1, addresses=VIPS, src=SRC, auth=ah,
                         unicast=True)
    raw = bytearray(enc2.ipv4(priority=90, ip_id=3, dst=PEER, ah_seq=1))
    raw[8] = 17
    assert decode_ipv4(bytes(raw), auth=ah, expect=Expect(unicast=True)).ttl == 17


def test_priority_changes_keep_checksums_right() -> None:
    for version in (2, 3):
        enc = AdvertEncoder(version=version, vrid=1, adver_int=1 if version == 2 else 100,
                            addresses=VIPS, src=SRC)
        for prio in (0, 1, 100, 254, 255):
            assert decode_ipv4(enc.ipv4(priority=prio, ip_id=5)).priority == prio
    enc6 = AdvertEncoder(version=3, vrid=1, adver_int=100, addresses=VIPS6, src=SRC6)
    for prio in (0, 255):
        for dst in ("ff02::12", "fe80::99"):
            assert decode_ipv6(enc6.ipv6(priority=prio, dst=dst), src=SRC6, dst=dst,
                               hop_limit=255).priority == prio


def test_ip_id_counter_skips_zero() -> None:
    c = IpIdCounter(0xFFFE)
    assert [c.next(), c.next(), c.next()] == [0xFFFF, 1, 2]
    assert IpIdCounter().next() == 1


def test_encoder_rejects_what_does_not_fit() -> None:
    def make(version: int, adver_int: int, auth: AuthConfig | None = None) -> AdvertEncoder:
        return AdvertEncoder(version=version, vrid=1, adver_int=adver_int, addresses=VIPS,
                             src=SRC, auth=auth)

    for args in ((3, 5000), (2, 256), (4, 1), (3, 100, AuthConfig.pass_("x"))):
        with pytest.raises(ValueError):
            make(*args)
    with pytest.raises(ValueError):
        AdvertEncoder(version=2, vrid=256, adver_int=1, addresses=VIPS, src=SRC)
    with pytest.raises(ValueError):
        AdvertEncoder(version=2, vrid=1, adver_int=1, addresses=VIPS6, src=SRC6,
                      auth=AuthConfig.pass_("x"))
    enc = make(2, 1, AuthConfig.ah("x"))
    with pytest.raises(ValueError):
        enc.ipv4(priority=1, ip_id=1)  # AH needs a sequence number
    with pytest.raises(ValueError):
        enc.ipv4(priority=256, ip_id=1, ah_seq=1)
    with pytest.raises(ValueError):
        enc.ipv4(priority=1, ip_id=70000, ah_seq=1)
    with pytest.raises(ValueError):
        enc.ipv6(priority=1)
    with pytest.raises(ValueError):
        enc.ipv4(priority=1, ip_id=1, ah_seq=1, dst="fe80::1")  # wrong family


def test_encode_advert_round_trip_and_peek() -> None:
    ad = decode_ipv4(v2(auth=AuthConfig.pass_("pw"), ip_id=77), auth=AuthConfig.pass_("pw"))
    assert encode(ad, ip_id=77) == v2(auth=AuthConfig.pass_("pw"), ip_id=77)
    assert peek_vrid(v2(vrid=42)) == 42
    assert peek_vrid(v2(vrid=43, auth=AuthConfig.ah("k"), ah_seq=1)) == 43
    assert peek_vrid(b"\x45" + bytes(10)) is None
    assert peek_vrid(_msg6(), family=6) == 51 and peek_vrid(b"", family=6) is None


def _msg6(dst: str = "ff02::12") -> bytes:
    return encode_ipv6(version=3, vrid=51, priority=100, adver_int=100, addresses=VIPS6,
                       src=SRC6, dst=dst)


def _reachability_cases() -> dict[DropReason, tuple[object, ...]]:
    """One (decoder, packet, kwargs) per reason; the kwargs describe the receiving instance."""
    pw, ah = AuthConfig.pass_("a"), AuthConfig.ah("a")
    multi = {"src": SRC6, "dst": "ff02::12", "hop_limit": 255}
    return {
        DropReason.PACKET_LENGTH: (decode_ipv4, v2()[:-1], {}),
        DropReason.IP_TOTAL_LENGTH: (decode_ipv4, patch(v2(), 2, b"\x00\x00"), {}),
        DropReason.TTL: (decode_ipv4, v2(ttl=1), {}),
        DropReason.VERSION: (decode_ipv4, v3(), {"expect": Expect(version=2)}),
        DropReason.INVALID_AUTH_TYPE: (decode_ipv4, patch(v2(), 24, b"\x09"), {}),
        DropReason.AUTH_TYPE_MISMATCH: (decode_ipv4, v2(auth=pw), {}),
        DropReason.AUTH_FAILURE: (decode_ipv4, v2(auth=pw), {"auth": AuthConfig.pass_("b")}),
        DropReason.AH_REPLAY: (decode_ipv4, v2(auth=ah, ah_seq=1),
                               {"auth": ah, "ah_state": AhState(1)}),
        DropReason.INTERVAL_MISMATCH: (decode_ipv4, v2(), {"expect": Expect(adver_int=3)}),
        DropReason.INVALID_TYPE: (decode_ipv6, patch(_msg6(), 0, b"\x3f"), multi),
        DropReason.ADDRESS_COUNT: (decode_ipv4, v2(), {"expect": Expect(addresses=())}),
        DropReason.CHECKSUM: (decode_ipv4, patch(v3(), 27, b"\x00"), {}),
        DropReason.CAST_MISMATCH: (decode_ipv4, v2(), {"expect": Expect(unicast=True)}),
        DropReason.ADDRESS_LIST: (decode_ipv4, v2(),
                                  {"expect": Expect(addresses=("1.1.1.1", "1.1.1.2"))}),
        DropReason.UNICAST_TTL: (decode_ipv4, v2(dst=PEER, ttl=9),
                                 {"expect": Expect(unicast=True, unicast_peers={SRC: (10, 20)})}),
        DropReason.UNKNOWN_VRID: (decode_ipv4, v2(), {"expect": {1: Expect()}}),
        DropReason.NOT_UNICAST_PEER: (decode_ipv4, v2(dst=PEER),
                                      {"expect": Expect(unicast=True, unicast_peers={})}),
        DropReason.NOT_VRRP: (decode_ipv4, patch(v2(), 9, b"\x11"), {}),
    }


def test_every_drop_reason_is_reachable() -> None:
    cases = _reachability_cases()
    assert set(cases) == set(DropReason)
    for want, (fn, raw, kwargs) in cases.items():
        assert isinstance(kwargs, dict)
        with pytest.raises(PacketError) as ei:
            fn(raw, **kwargs)  # type: ignore[operator]
        assert ei.value.reason is want, (want, ei.value)


def test_decode_dispatches_by_family() -> None:
    assert decode(v2()).family == 4
    assert decode(_msg6(), family=6, src=SRC6, dst="ff02::12").family == 6
    with pytest.raises(ValueError):
        decode(_msg6(), family=6)
