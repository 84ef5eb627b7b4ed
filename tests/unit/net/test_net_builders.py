"""Pure parts of net/: frame builders (against keepalived's golden capture and scapy as an
oracle), netlink argument builders, VMAC naming and the nftables scripts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pykeepalived.net.addresses import (
    FIB_RULE_INVERT,
    IFA_F_HOMEADDRESS,
    IFA_F_MANAGETEMPADDR,
    IFA_F_MCAUTOJOIN,
    IFA_F_NODAD,
    IFA_F_NOPREFIXROUTE,
    INFINITY_LFT,
    RTNH_F_ONLINK,
    IpAddress,
    Route,
    Rule,
    address_kwargs,
    broadcast_for,
    from_config_address,
    from_config_route,
    from_config_rule,
    route_kwargs,
    rule_kwargs,
    scope_id,
    table_id,
)
from pykeepalived.net.arp import build_garp, build_unsolicited_na, inet_checksum, mac_bytes
from pykeepalived.net.firewall import (
    element_key,
    elements_script,
    ll_part,
    setup_script,
    teardown_script,
    vips_part,
    vmac_part,
)
from pykeepalived.net.vmac import Vmac, vmac_mac, vmac_name, vmac_names, xmit_interface

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"


def test_garp_is_byte_identical_to_keepalived() -> None:
    from scapy.all import ARP, rdpcap

    frames = [bytes(p) for p in rdpcap(str(GOLDEN / "vrrp_v2_pass_shutdown.pcap"))
              if p.haslayer(ARP)]
    assert len(frames) == 5
    assert all(f == build_garp("02:77:00:00:00:02", "10.77.0.200") for f in frames)


def test_garp_fields() -> None:
    f = build_garp(b"\x00\x00\x5e\x00\x01\x07", "192.0.2.9")
    assert len(f) == 42
    assert f[:6] == b"\xff" * 6 and f[6:12] == bytes.fromhex("00005e000107")
    assert f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01"  # ARP request
    assert f[28:32] == f[38:42] == socket.inet_aton("192.0.2.9")
    assert f[32:38] == b"\xff" * 6


def test_unsolicited_na_against_scapy() -> None:
    from scapy.layers.inet6 import (
        ICMPv6ND_NA,
        ICMPv6NDOptDstLLAddr,
        IPv6,
    )
    from scapy.layers.l2 import Ether

    frame = build_unsolicited_na("02:00:00:00:00:0a", "fd00::200", src="fe80::1", router=True)
    pkt = Ether(frame)
    assert pkt.dst == "33:33:00:00:00:01" and pkt.src == "02:00:00:00:00:0a"
    ip6 = pkt[IPv6]
    assert (ip6.src, ip6.dst, ip6.hlim, ip6.nh) == ("fe80::1", "ff02::1", 255, 58)
    na = pkt[ICMPv6ND_NA]
    assert (na.R, na.S, na.O, na.tgt) == (1, 0, 1, "fd00::200")
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:00:0a"
    wire = na.cksum
    del na.cksum
    assert Ether(bytes(pkt))[ICMPv6ND_NA].cksum == wire  # scapy recomputes the same sum
    plain = Ether(build_unsolicited_na("02:00:00:00:00:0a", "fd00::200"))
    assert plain[ICMPv6ND_NA].R == 0 and plain[IPv6].src == "fd00::200"


def test_inet_checksum_and_mac_parsing() -> None:
    assert inet_checksum(b"\x45\x00\x00\x1c") == (~(0x4500 + 0x001C)) & 0xFFFF
    assert inet_checksum(b"\x01") == (~0x0100) & 0xFFFF
    assert mac_bytes("aa-bb-cc-dd-ee-ff") == bytes.fromhex("aabbccddeeff")
    with pytest.raises(ValueError):
        mac_bytes("aa:bb")


def test_address_kwargs_every_option() -> None:
    a = IpAddress("10.0.0.5", 24, brd="+", scope="link", label="eth0:1", home=True, nodad=True,
                  mngtmpaddr=True, noprefixroute=True, autojoin=True, preferred_lft=0)
    kw = address_kwargs(a, 7)
    assert kw["index"] == 7 and kw["family"] == socket.AF_INET
    assert (kw["address"], kw["prefixlen"], kw["broadcast"]) == ("10.0.0.5", 24, "10.0.0.255")
    assert kw["scope"] == 253 and kw["label"] == "eth0:1"
    assert kw["flags"] == (IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR
                           | IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN)
    assert kw["preferred_lft"] == 0 and kw["valid_lft"] == INFINITY_LFT
    p = address_kwargs(IpAddress("10.1.0.1", 32, peer="10.1.0.2", peer_prefixlen=30), 3)
    assert (p["local"], p["address"], p["prefixlen"]) == ("10.1.0.1", "10.1.0.2", 30)
    plain = address_kwargs(IpAddress("fd00::1", 64), 2)
    assert plain == {"index": 2, "family": socket.AF_INET6, "address": "fd00::1",
                     "prefixlen": 64, "flags": IFA_F_NODAD}  # IPv6: always nodad
    assert "flags" not in address_kwargs(IpAddress("10.0.0.1", 24), 2)


def test_broadcast_scope_table() -> None:
    assert broadcast_for("10.0.0.5", 24, "-") == "10.0.0.0"
    assert broadcast_for("10.0.0.5", 24, "10.0.0.127") == "10.0.0.127"
    assert broadcast_for("10.0.0.5", 24, None) is None
    assert broadcast_for("fd00::1", 64, "+") is None
    assert [scope_id(s) for s in ("global", "site", "link", "host", "nowhere", "17")] == [
        0, 200, 253, 254, 255, 17]
    assert (table_id("main"), table_id("local"), table_id("100"), table_id(None)) == (
        254, 255, 100, None)
    with pytest.raises(ValueError):
        scope_id("galaxy")
    with pytest.raises(ValueError):
        table_id("no-such-table-name")


def test_route_kwargs() -> None:
    r = Route("10.2.0.0/16", via="10.0.0.1", dev="eth1", table="main", metric=5, src="10.0.0.5",
              scope="global", proto="static", onlink=True,
              options=(("mtu", "1400"), ("initcwnd", "10"), ("bogus", "1")))
    kw, ignored = route_kwargs(r, {"eth1": 4})
    assert (kw["dst"], kw["dst_len"], kw["gateway"], kw["oif"]) == ("10.2.0.0", 16, "10.0.0.1", 4)
    assert (kw["table"], kw["priority"], kw["prefsrc"], kw["scope"]) == (254, 5, "10.0.0.5", 0)
    assert kw["flags"] == RTNH_F_ONLINK and kw["proto"] == "static"
    assert kw["metrics"] == {"RTAX_MTU": 1400, "RTAX_INITCWND": 10}
    assert ignored == ["bogus"]
    d, _ = route_kwargs(Route("default", via="10.0.0.1"), {})
    assert d["dst_len"] == 0 and "dst" not in d
    mp, _ = route_kwargs(Route("10.3.0.0/24", nexthops=(
        (("via", "10.0.0.1"), ("dev", "eth1"), ("weight", "2")),
        (("via", "10.0.0.2"),))), {"eth1": 4})
    assert mp["multipath"] == [{"gateway": "10.0.0.1", "oif": 4, "hops": 1},
                               {"gateway": "10.0.0.2"}]
    bh, _ = route_kwargs(Route("10.4.0.0/24", type="blackhole"), {})
    assert bh["type"] == "blackhole"
    # host bits in the prefix are masked like ip route does
    h, _ = route_kwargs(Route("10.5.0.9/24"), {})
    assert h["dst"] == "10.5.0.0"


def test_rule_kwargs() -> None:
    kw = rule_kwargs(Rule(from_="10.0.0.0/8", to="192.168.1.0/24", priority=100, table="7",
                          iif="eth0", oif="eth1", fwmark="0x10/0xff", tos="0x10", not_=True))
    assert (kw["src"], kw["src_len"], kw["dst"], kw["dst_len"]) == (
        "10.0.0.0", 8, "192.168.1.0", 24)
    assert (kw["priority"], kw["table"], kw["action"]) == (100, 7, 1)
    assert (kw["iifname"], kw["oifname"], kw["fwmark"], kw["fwmask"], kw["tos"]) == (
        "eth0", "eth1", 0x10, 0xFF, 0x10)
    assert kw["flags"] == FIB_RULE_INVERT
    g = rule_kwargs(Rule(from_="all", action="goto 200", priority=50))
    assert (g["action"], g["goto"]) == (2, 200) and "src" not in g
    b = rule_kwargs(Rule(family=6, to="fd00::/64", action="unreachable"))
    assert b["family"] == socket.AF_INET6 and b["action"] == 7 and b["dst_len"] == 64


def test_from_config_copies_every_field() -> None:
    from pykeepalived.config.model import AddressSpec, RouteSpec, RuleSpec

    a = from_config_address(AddressSpec(ip="10.0.0.1", prefixlen=24, family=4, brd="+",
                                        dev="eth0", scope="site", label="eth0:v",
                                        peer="10.0.0.2", peer_prefixlen=32, home=True,
                                        nodad=True, mngtmpaddr=True, noprefixroute=True,
                                        autojoin=True, preferred_lft=0))
    assert a == IpAddress("10.0.0.1", 24, dev="eth0", brd="+", scope="site", label="eth0:v",
                          peer="10.0.0.2", peer_prefixlen=32, home=True, nodad=True,
                          mngtmpaddr=True, noprefixroute=True, autojoin=True, preferred_lft=0)
    r = from_config_route(RouteSpec(dest="10.1.0.0/16", family=4, via="10.0.0.254",
                                    table="100", metric=3, options=(("mtu", "1400"),)))
    assert r == Route("10.1.0.0/16", via="10.0.0.254", table="100", metric=3,
                      options=(("mtu", "1400"),))
    u = from_config_rule(RuleSpec(family=4, from_="10.0.0.0/24", table="100", priority=9))
    assert u == Rule(from_="10.0.0.0/24", table="100", priority=9)


def test_vmac_naming() -> None:
    assert vmac_mac(51) == "00:00:5e:00:01:33"
    assert vmac_mac(255, 6) == "00:00:5e:00:02:ff"
    with pytest.raises(ValueError):
        vmac_mac(0)
    assert vmac_name(7) == "vrrp.7" and vmac_name(7, family=6) == "vrrp.7"
    assert vmac_name(7, family=6, alternate=True) == "vrrp6.7"
    assert vmac_name(7, alternate=True) == "vrrp1.7"  # keepalived's order (vmac_names)
    assert list(vmac_names(7, family=6))[:4] == ["vrrp.7", "vrrp6.7", "vrrp1.7", "vrrp2.7"]
    assert list(vmac_names(7))[:3] == ["vrrp.7", "vrrp1.7", "vrrp2.7"]
    assert next(vmac_names(255, "averyveryverylongprefix")) == "averyveryve.255"
    assert len(vmac_name(200, prefix="averylongprefix")) <= 15
    v = Vmac(parent="eth0", vrid=10, mac="00:00:5E:00:01:0A")
    assert (v.ifname, v.address) == ("vrrp.10", "00:00:5e:00:01:0a")
    assert Vmac(parent="eth0", vrid=10, name="vip10").ifname == "vip10"
    assert xmit_interface(v, True) == "eth0" and xmit_interface(v, False) == "vrrp.10"


def test_nft_scripts() -> None:
    s = setup_script("keepalived")
    assert "add table ip keepalived" in s and "add table ip6 keepalived" in s
    assert "add chain ip keepalived in { type filter hook input priority -1" in s
    assert "add chain ip keepalived out { type filter hook output priority -1" in s
    assert "add rule ip keepalived in ip daddr @vips drop" in s
    assert "add rule ip keepalived out ip saddr @vips drop" in s
    # IPv6: ND is accepted before anything is dropped; link-local goes to its own chain
    in6 = [ln for ln in s.splitlines() if ln.startswith("add rule ip6 keepalived in ")]
    assert in6 == ["add rule ip6 keepalived in icmpv6 type @neighbor-discovery accept",
                   "add rule ip6 keepalived in ip6 daddr fe80::/10 goto in_link_local",
                   "add rule ip6 keepalived in ip6 daddr @vips drop"]
    assert "ip6 daddr . iif @vips_link_local drop" in s
    assert element_key("fe80::0001", "eth0") == "fe80::1%eth0"
    assert element_key("fd00::0001") == "fd00::1"
    with pytest.raises(ValueError):
        element_key("fe80::1")
    e = elements_script("kt", ["10.0.0.1", "fd00::0001", "10.0.0.2", "fe80::1%eth0"], True)
    assert e.splitlines() == ["add element ip kt vips { 10.0.0.1, 10.0.0.2 }",
                              "add element ip6 kt vips { fd00::1 }",
                              'add element ip6 kt vips_link_local { fe80::1 . "eth0" }']
    assert elements_script("kt", ["10.0.0.1"], False).startswith("delete element ip kt")
    assert teardown_script("kt").count("delete table") == 2
    v4 = vmac_part("kt", "ip")
    assert v4[-2].startswith("add chain ip kt out { type filter hook output priority -1")
    assert v4[-1].startswith('add rule ip kt out ip protocol igmp meta oifkind "macvlan" dup')
    # after the VIP part the out chain exists: VMAC rules go in front, in their order
    v6 = vmac_part("kt", "ip6", have_out=True)
    assert [ln.split(" out ")[1].split()[2] for ln in v6 if ln.startswith("insert")] == [
        "nd-router-solicit", "mld2-listener-report"]
    assert not any("add chain" in ln for ln in vips_part("kt", "ip", have_out=True)
                   if " out " in ln)
    with pytest.raises(ValueError):
        setup_script("bad name;")
    # nftables_priority / nftables_counters: every chain's priority, a counter before verdicts
    c = setup_script("kt", priority=7, counters=True)
    assert c.count("priority 7 ;") == 4 and "priority -1" not in c
    assert "add rule ip6 kt in ip6 daddr fe80::/10 counter goto in_link_local" in c
    assert all(" counter " in ln for ln in c.splitlines() if ln.startswith("add rule"))
    assert " counter " not in s
    assert all(" counter drop" in ln for ln in vmac_part("kt", "ip6", counters=True)
               if ln.startswith("add rule"))
    # a link-local VIP keyed by name (dont_track_primary) goes to its own set
    assert element_key("fe80::1", "eth0", by_name=True) == "fe80::1@eth0"
    assert elements_script("kt", ["fe80::1@eth0"], True).strip() == (
        'add element ip6 kt vips_link_local_name { fe80::1 . "eth0" }')
    assert ll_part("kt", by_name=True)[1:] == [
        "add rule ip6 kt in_link_local ip6 daddr . iifname @vips_link_local_name drop",
        "add rule ip6 kt out_link_local ip6 saddr . oifname @vips_link_local_name drop"]
