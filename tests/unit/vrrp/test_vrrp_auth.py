"""PASS and keepalived's userspace IPsec-AH: key derivation, ICV coverage, sequence rules."""

from __future__ import annotations

import hashlib
import hmac
import struct

from pykeepalived.vrrp.auth import (
    AH_SEQ_CYCLE,
    AhState,
    AuthConfig,
    AuthType,
    ah_header,
    ah_icv,
    auth_key,
    pass_matches,
)


def test_key_is_first_8_bytes_zero_padded() -> None:
    assert auth_key("abc") == b"abc\x00\x00\x00\x00\x00"
    assert auth_key("0123456789") == b"01234567"
    assert auth_key(b"") == bytes(8)
    assert AuthConfig.pass_("abc").field == auth_key("abc")
    assert AuthConfig.ah("abc").field == bytes(8)  # the advert's auth field stays zero with AH
    assert AuthConfig.none().type is AuthType.NONE and AuthConfig.none().field == bytes(8)


def test_pass_compare() -> None:
    cfg = AuthConfig.pass_("kl-pass8")
    assert pass_matches(b"kl-pass8", cfg)
    assert not pass_matches(b"kl-pass9", cfg)
    assert not pass_matches(b"kl-pass", cfg)


IP_HDR = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 64, 3, 0, 255, 51, 0xBEEF,
                     bytes((10, 0, 0, 1)), bytes((224, 0, 0, 18)))
MSG = bytes.fromhex("2133960102013bb50a4d00c80000000000000000")


def reference_icv(key: bytes, ip_hdr: bytes, ah: bytes, msg: bytes, zero_ttl: bool) -> bytes:
    """keepalived's rule (``vrrp_in_chk_ipsecah``), written out independently."""
    hdr = bytearray(ip_hdr)
    hdr[1] = 0
    hdr[6] = hdr[7] = 0
    hdr[10] = hdr[11] = 0
    if zero_ttl:
        hdr[8] = 0
    data = bytes(hdr) + ah[:12] + bytes(12) + msg
    return hmac.new(key, data, hashlib.md5).digest()[:12]


def test_icv_matches_reference_rule() -> None:
    key = auth_key("secret")
    ah = ah_header(bytes((10, 0, 0, 1)), 3, b"\xff" * 12)  # a stale ICV in place is ignored
    for zero_ttl in (False, True):
        assert ah_icv(key, IP_HDR, ah, MSG, zero_ttl=zero_ttl) == reference_icv(
            key, IP_HDR, ah, MSG, zero_ttl)


def test_icv_covers_id_and_length_not_mutable_fields() -> None:
    key = auth_key("secret")
    ah = ah_header(bytes((10, 0, 0, 1)), 3)
    base = ah_icv(key, IP_HDR, ah, MSG, zero_ttl=False)

    def with_byte(i: int, v: int) -> bytes:
        b = bytearray(IP_HDR)
        b[i] = v
        return bytes(b)

    for mutable in (1, 6, 7, 10, 11):  # TOS, flags/fragment, header checksum
        assert ah_icv(key, with_byte(mutable, 0x5A), ah, MSG, zero_ttl=False) == base
    for covered in (3, 5, 9, 12, 19):  # total length, ID, protocol, addresses
        assert ah_icv(key, with_byte(covered, 0x5A), ah, MSG, zero_ttl=False) != base
    assert ah_icv(key, with_byte(8, 64), ah, MSG, zero_ttl=False) != base  # TTL in (multicast)
    unicast = ah_icv(key, IP_HDR, ah, MSG, zero_ttl=True)
    assert ah_icv(key, with_byte(8, 64), ah, MSG, zero_ttl=True) == unicast
    assert ah_icv(key, IP_HDR, ah_header(bytes((10, 0, 0, 1)), 4), MSG, zero_ttl=False) != base
    assert ah_icv(auth_key("secreT"), IP_HDR, ah, MSG, zero_ttl=False) != base


def test_ah_header_layout() -> None:
    h = ah_header(bytes((10, 77, 0, 11)), 0x01020304)
    assert h == bytes.fromhex("70040000" "0a4d000b" "01020304") + bytes(12)


def test_seq_first_advert_carries_one_and_counter_is_shared() -> None:
    st = AhState()
    assert [st.next_seq(), st.next_seq()] == [1, 2]
    assert not st.accept(2) and not st.accept(1)  # replay
    assert st.accept(10) and st.seq == 10
    assert st.next_seq() == 11  # continues after what it received


def test_seq_cycle_and_reset_on_master() -> None:
    st = AhState(AH_SEQ_CYCLE)
    assert st.next_seq() == AH_SEQ_CYCLE + 1 and not st.cycle
    assert st.next_seq() == AH_SEQ_CYCLE + 1 and st.cycle  # stops counting, flags the cycle
    st.become_master()
    assert (st.seq, st.cycle) == (0, False) and st.next_seq() == 1
    st2 = AhState(7)
    st2.become_master()  # no cycle: no reset
    assert st2.seq == 7
    st3 = AhState(0xFFFFFFFF)
    st3.next_seq()
    assert st3.cycle
    st3.backup_received()
    assert not st3.cycle


def test_resync_after_lower_priority_peer() -> None:
    st = AhState(3)
    st.resync(41)
    assert st.next_seq() == 43
    st.resync(0xFFFFFFFF)
    assert st.seq == 0xFFFFFFFF
    assert "seq=4294967295" in repr(st)
