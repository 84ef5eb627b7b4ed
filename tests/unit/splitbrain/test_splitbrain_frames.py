"""ARP/ND frames of the probes, checked against scapy as an independent decoder."""

from __future__ import annotations

from scapy.layers.inet6 import ICMPv6ND_NS, IPv6
from scapy.layers.l2 import ARP, Ether

from pykeepalived.splitbrain.arp import build_arp_request, build_ns, parse_arp, parse_na

MAC = "02:5b:00:00:00:01"


def test_rfc5227_probe_and_its_parse() -> None:
    f = build_arp_request(MAC, "0.0.0.0", "10.98.0.200")
    a = Ether(f)[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.pdst) == (1, MAC, "0.0.0.0", "10.98.0.200")
    assert parse_arp(f) == (1, MAC, "0.0.0.0", "10.98.0.200")
    reply = bytes(Ether(src="02:00:00:00:00:09", dst=MAC) / ARP(
        op=2, hwsrc="02:00:00:00:00:09", psrc="10.98.0.200", hwdst=MAC, pdst="0.0.0.0"))
    assert parse_arp(reply) == (2, "02:00:00:00:00:09", "10.98.0.200", "0.0.0.0")
    assert parse_arp(reply[:30]) is None


def test_neighbour_solicitation_is_valid_and_an_advert_parses() -> None:
    f = build_ns(MAC, "fe80::5b:ff:fe00:1", "fd98::1")
    pkt = Ether(f)
    ns = pkt[ICMPv6ND_NS]
    assert ns.tgt == "fd98::1" and pkt[IPv6].dst == "ff02::1:ff00:1" and pkt[IPv6].hlim == 255
    want = ns.cksum
    del ns.cksum
    assert Ether(bytes(pkt))[ICMPv6ND_NS].cksum == want  # scapy recomputes the same sum
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr

    na = bytes(Ether(src="02:00:00:00:00:09", dst=MAC) / IPv6(src="fd98::1", dst="fe80::1")
               / ICMPv6ND_NA(tgt="fd98::1", S=1) / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:09"))
    assert parse_na(na) == ("fd98::1", "02:00:00:00:00:09")
