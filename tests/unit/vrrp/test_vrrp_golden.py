"""Golden packets captured from Debian's keepalived 2.2.7 (``tests/fixtures/golden``).

Each capture decodes to the fields tcpdump shows and the instance configuration in
``tests/fixtures/golden/conf`` implies, and our encoder, fed only that configuration plus the IP
ID and AH sequence number of the packet, rebuilds the same bytes (whole IPv4 packet, header
checksum and ICV included; the VRRP message for IPv6). The pcaps are read with a small pcap
reader, so the bytes under test never pass through scapy.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykeepalived.config import load
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.lab.pcap import ETH_IPV4, CapturedPacket, ip_packets
from pykeepalived.vrrp.auth import AhState, AuthConfig
from pykeepalived.vrrp.packet import (
    Advert,
    AdvertEncoder,
    ChecksumForm,
    DropReason,
    Expect,
    PacketError,
    decode_ipv4,
    decode_ipv6,
)

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
PASSWORD = "kl-pass8"  # golden/conf/*.conf: auth_pass kl-pass8
VIP4 = ("10.77.0.200",)
VIP6 = ("fd77::200",)
SRC4 = "10.77.0.11"


def load_golden() -> list[CapturedPacket]:
    return ip_packets(sorted(GOLDEN.glob("*.pcap")))


def packets_of(name: str) -> list[bytes]:
    return [g.packet for g in load_golden() if g.pcap == name]


@dataclass(frozen=True)
class Case:
    pcap: str
    conf: str  # the sender's configuration in golden/conf
    auth: AuthConfig | None
    version: int
    adver_int: int  # on the wire: seconds (v2) or centiseconds (v3)
    unicast: bool


CASES = [
    Case("vrrp_v2_pass.pcap", "v2pass-n1.conf", AuthConfig.pass_(PASSWORD), 2, 1, False),
    Case("vrrp_v2_ah.pcap", "v2ah-n1.conf", AuthConfig.ah(PASSWORD), 2, 1, False),
    Case("vrrp_v2_unicast.pcap", "v2uni-n1.conf", AuthConfig.pass_(PASSWORD), 2, 1, True),
    Case("vrrp_v2_pass_shutdown.pcap", "v2pass-n1.conf", AuthConfig.pass_(PASSWORD), 2, 1,
         False),
    Case("vrrp_v3.pcap", "v3-n1.conf", None, 3, 100, False),
]
IPV6_CASE = Case("vrrp_v3_ipv6.pcap", "v3v6-n1.conf", None, 3, 100, False)


def test_fixture_has_every_capture() -> None:
    names = {g.pcap for g in load_golden()}
    assert names == {c.pcap for c in [*CASES, IPV6_CASE]}
    assert len(load_golden()) == 18  # three adverts per capture; two in the shutdown one


@pytest.mark.parametrize("case", [*CASES, IPV6_CASE], ids=lambda c: c.pcap)
def test_golden_config_is_what_the_case_assumes(case: Case) -> None:
    """The settings each case hard-codes are those of the configuration keepalived ran."""
    res = load(str(GOLDEN / "conf" / case.conf), config_id="",
               env=FakeEnvironment(interfaces={"lo", "kl-eth0"}))
    assert res.exit_code_for_test() == 0, [m.format() for m in res.messages]
    (inst,) = res.config.vrrp_instances
    assert (inst.vrid, inst.priority, inst.version) == (51, 150, case.version)
    assert inst.advert_int * (100 if case.version == 3 else 1) == case.adver_int
    assert tuple(a.ip for a in inst.virtual_ipaddresses) == (VIP6 if case is IPV6_CASE else VIP4)
    want_auth = None if case.auth is None else ("AH" if "ah" in case.pcap else "PASS")
    assert inst.auth_type == want_auth
    if want_auth:
        assert inst.auth_pass == PASSWORD.encode()
    assert bool(inst.unicast_peers) == case.unicast


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.pcap)
def test_ipv4_golden_decode_and_reencode(case: Case) -> None:
    expect = Expect(
        version=case.version,
        adver_int=case.adver_int,
        addresses=VIP4,
        unicast=case.unicast,
        auth=case.auth,
        unicast_peers={"10.77.0.11": (0, 255)} if case.unicast else None,
    )
    pkts = packets_of(case.pcap)
    assert pkts
    for raw in pkts:
        ad = decode_ipv4(raw, expect=expect)
        assert (ad.version, ad.vrid, ad.adver_int, ad.addresses) == (
            case.version,
            51,
            case.adver_int,
            VIP4,
        )
        assert ad.type == 1 and ad.ttl == 255 and ad.family == 4
        assert ad.checksum == int.from_bytes(raw[-ad_len(ad) + 6 : -ad_len(ad) + 8], "big")
        assert ad.ip_id == int.from_bytes(raw[4:6], "big")
        enc = AdvertEncoder(
            version=case.version,
            vrid=51,
            adver_int=case.adver_int,
            addresses=VIP4,
            src=ad.src,
            auth=case.auth,
            unicast=case.unicast,
        )
        assert ad.ip_id is not None
        rebuilt = enc.ipv4(priority=ad.priority, ip_id=ad.ip_id, dst=ad.dst, ah_seq=ad.ah_seq)
        assert rebuilt == raw


def ad_len(ad: Advert) -> int:
    """Length of the VRRP message of a decoded IPv4 advert (the tail of the packet)."""
    return 8 + 4 * len(ad.addresses) + (8 if ad.version == 2 else 0)


def test_v2_pass_fields() -> None:
    ads = [decode_ipv4(p, auth=AuthConfig.pass_(PASSWORD)) for p in packets_of("vrrp_v2_pass.pcap")]
    assert [a.ip_id for a in ads] == [7, 8, 9]
    for a in ads:
        assert (a.src, a.dst, a.priority, a.auth_type) == (SRC4, "224.0.0.18", 150, 1)
        assert a.auth_data == b"kl-pass8" and a.checksum == 0xCF2C
        assert a.checksum_form is ChecksumForm.MESSAGE and a.interval == 1.0


def test_v2_pass_wrong_password_is_auth_failure() -> None:
    raw = packets_of("vrrp_v2_pass.pcap")[0]
    with pytest.raises(PacketError) as ei:
        decode_ipv4(raw, auth=AuthConfig.pass_("kl-pass9"))
    assert ei.value.reason is DropReason.AUTH_FAILURE and ei.value.vrid == 51
    # Only the first 8 characters of auth_pass count, as in keepalived.
    assert decode_ipv4(raw, auth=AuthConfig.pass_("kl-pass8-and-more")).priority == 150


def test_v2_shutdown_priority_zero_and_peer() -> None:
    first, second = (
        decode_ipv4(p, auth=AuthConfig.pass_(PASSWORD))
        for p in packets_of("vrrp_v2_pass_shutdown.pcap")
    )
    assert (first.src, first.priority, first.ip_id) == (SRC4, 0, 13)
    assert (second.src, second.priority, second.ip_id) == ("10.77.0.12", 100, 1)


def test_v2_unicast_same_ip_id_per_peer() -> None:
    auth = AuthConfig.pass_(PASSWORD)
    ads = [decode_ipv4(p, auth=auth) for p in packets_of("vrrp_v2_unicast.pcap")]
    assert [(a.dst, a.ip_id) for a in ads] == [
        ("10.77.0.12", 15),
        ("10.77.0.13", 15),
        ("10.77.0.12", 16),
        ("10.77.0.13", 16),
    ]


def test_v2_ah_fields_and_sequence() -> None:
    state = AhState()
    raws = packets_of("vrrp_v2_ah.pcap")
    ads = [decode_ipv4(p, auth=AuthConfig.ah(PASSWORD), ah_state=state) for p in raws]
    assert [(a.ah_seq, a.ip_id) for a in ads] == [(3, 3), (4, 4), (5, 5)]
    assert all(a.auth_type == 2 and a.auth_data == bytes(8) and a.checksum == 0x3BB5 for a in ads)
    assert state.seq == 5
    with pytest.raises(PacketError) as ei:
        decode_ipv4(raws[1], auth=AuthConfig.ah(PASSWORD), ah_state=state)
    assert ei.value.reason is DropReason.AH_REPLAY
    with pytest.raises(PacketError) as ei:
        decode_ipv4(raws[0], auth=AuthConfig.ah("other"))
    assert ei.value.reason is DropReason.AUTH_FAILURE


def test_v2_ah_icv_covers_ttl_in_multicast_only() -> None:
    raw = bytearray(packets_of("vrrp_v2_ah.pcap")[0])
    raw[8] = 254  # TTL: keepalived keeps it in the ICV for multicast
    with pytest.raises(PacketError) as ei:
        decode_ipv4(bytes(raw), auth=AuthConfig.ah(PASSWORD), expect=Expect(unicast=True))
    assert ei.value.reason is DropReason.AUTH_FAILURE
    raw[1] = 0x00  # TOS is a mutable field, zeroed in the ICV: changing it is harmless
    raw[8] = 255
    assert decode_ipv4(bytes(raw), auth=AuthConfig.ah(PASSWORD)).ah_seq == 3


def test_v3_fields() -> None:
    for raw in packets_of("vrrp_v3.pcap"):
        a = decode_ipv4(raw)
        assert (a.version, a.priority, a.adver_int, a.interval) == (3, 150, 100, 1.0)
        assert a.checksum == 0x426B and a.checksum_form is ChecksumForm.PSEUDO_HEADER
        assert a.auth_data == b"" and a.auth_type == 0


def ipv6_parts(raw: bytes) -> tuple[str, str, int, bytes]:
    return (
        str(ipaddress.IPv6Address(raw[8:24])),
        str(ipaddress.IPv6Address(raw[24:40])),
        raw[7],
        raw[40:],
    )


def test_v3_ipv6_decode_and_reencode() -> None:
    pkts = packets_of("vrrp_v3_ipv6.pcap")
    assert len(pkts) == 3
    for raw in pkts:
        src, dst, hlim, msg = ipv6_parts(raw)
        a = decode_ipv6(
            msg,
            src=src,
            dst=dst,
            hop_limit=hlim,
            expect=Expect(version=3, addresses=VIP6, unicast=False),
        )
        assert (a.src, a.dst, a.ttl, a.family) == ("fe80::77:ff:fe00:1", "ff02::12", 255, 6)
        assert (a.version, a.vrid, a.priority, a.adver_int, a.addresses) == (3, 51, 150, 100, VIP6)
        assert a.checksum == 0x3B59 and a.checksum_form is ChecksumForm.PSEUDO_HEADER
        enc = AdvertEncoder(version=3, vrid=51, adver_int=100, addresses=VIP6, src=src)
        assert enc.ipv6(priority=150) == msg


def test_scapy_reads_golden_packets_like_we_do() -> None:
    """Second opinion on the field layout (scapy never verifies checksums: we rebuild)."""
    from scapy.layers.inet import IP
    from scapy.layers.vrrp import VRRP, VRRPv3

    for g in load_golden():
        if g.ethertype != ETH_IPV4:
            continue
        raw = g.packet
        ours = decode_ipv4(raw, auth=_auth_for(g.pcap))
        pkt = IP(raw)
        if ours.ah_seq is not None:  # scapy leaves the payload after AH undissected
            layer = VRRP(raw[20 + 24 :])
        else:
            layer = pkt[VRRPv3] if ours.version == 3 else pkt[VRRP]
        assert (layer.vrid, layer.priority, list(layer.addrlist)) == (
            ours.vrid,
            ours.priority,
            list(ours.addresses),
        )
        assert layer.chksum == ours.checksum
        if ours.version == 3:
            layer.chksum = None
            assert bytes(IP(bytes(pkt)))[-12:] == raw[-12:]  # scapy recomputes the same sum


def _auth_for(pcap: str) -> AuthConfig | None:
    if "ah" in pcap:
        return AuthConfig.ah(PASSWORD)
    if "pass" in pcap or "unicast" in pcap:
        return AuthConfig.pass_(PASSWORD)
    return None
