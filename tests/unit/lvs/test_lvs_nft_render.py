"""nftables rendering of the LVS table: one rule per service, every table feature.

The kernel accepting these rules (and traffic following them) is tested in
tests/netns/lvs/test_lvs_nft_netns.py.
"""

from __future__ import annotations

import re

import pytest

from pykeepalived.lvs import nft
from pykeepalived.lvs.table import (
    FwdMethod,
    LvsDest,
    LvsService,
    LvsTable,
    ServiceEntry,
    ServiceFlag,
    ServiceKey,
)

K = ServiceKey.inet("10.0.0.100", 80)


def entry(svc: LvsService, *dests: LvsDest) -> ServiceEntry:
    return ServiceEntry(svc, {d.key: d for d in dests})


def rule(svc: LvsService, *dests: LvsDest) -> str:
    r = nft.render_service(entry(svc, *dests)).rule
    assert r is not None
    return r


def d(addr: str, w: int, port: int = 8080, **kw: object) -> LvsDest:
    return LvsDest(addr, port, w, **kw)  # type: ignore[arg-type]


def test_wrr_gives_each_server_weight_slots_after_gcd() -> None:
    r = rule(LvsService(K, "wrr"), d("10.1.0.1", 2), d("10.1.0.2", 4), d("10.1.0.3", 6))
    assert r == (f'ip daddr 10.0.0.100 tcp dport 80 counter name "{nft.counter_name(K)}" '
                 'dnat ip to numgen inc mod 6 map '
                 '{ 0 : 10.1.0.1 . 8080, 1-2 : 10.1.0.2 . 8080, 3-5 : 10.1.0.3 . 8080 } '
                 'comment "[10.0.0.100]:tcp:80"')


def test_rr_one_slot_each_and_weight_zero_left_out() -> None:
    r = rule(LvsService(K, "rr"), d("10.1.0.1", 5), d("10.1.0.2", 1), d("10.1.0.3", 0))
    assert "numgen inc mod 2 map { 0 : 10.1.0.1 . 8080, 1 : 10.1.0.2 . 8080 }" in r
    assert "10.1.0.3" not in r


def test_huge_weights_are_scaled_to_a_bounded_map() -> None:
    r = rule(LvsService(K, "wrr"), d("10.1.0.1", 65535), d("10.1.0.2", 1))
    total = int(re.search(r"mod (\d+)", r).group(1))  # type: ignore[union-attr]
    assert total <= nft.MAX_SLOTS + 1
    assert ", 1024 : 10.1.0.2 . 8080" in r or f", {total - 1} : 10.1.0.2 . 8080" in r


def test_source_hashing_and_sh_port() -> None:
    r = rule(LvsService(K, "sh"), d("10.1.0.1", 1), d("10.1.0.2", 1))
    assert "jhash ip saddr mod 2 map" in r
    r = rule(LvsService(K, "mh", flags=ServiceFlag.SCHED2), d("10.1.0.1", 1), d("10.1.0.2", 1))
    assert "jhash ip saddr . th sport mod 2 map" in r


def test_destination_hashing() -> None:
    assert "jhash ip daddr mod 1 map" in rule(LvsService(K, "dh"), d("10.1.0.1", 1))


def test_fo_sends_everything_to_the_highest_weight() -> None:
    r = rule(LvsService(K, "fo"), d("10.1.0.1", 1), d("10.1.0.2", 9), d("10.1.0.3", 3))
    assert r.endswith('dnat ip to 10.1.0.2:8080 comment "[10.0.0.100]:tcp:80"')


def test_persistence_hashes_the_masked_client_address_one_element_per_slot() -> None:
    r = rule(LvsService(K, "wrr", timeout=300, flags=ServiceFlag.PERSISTENT, netmask=24),
             d("10.1.0.1", 1), d("10.1.0.2", 2))
    assert ("jhash ip saddr & 255.255.255.0 mod 3 map { 0 : 10.1.0.1 . 8080, "
            "1 : 10.1.0.2 . 8080, 2 : 10.1.0.2 . 8080 }") in r
    r = rule(LvsService(K, "wrr", timeout=300), d("10.1.0.1", 1))
    assert "jhash ip saddr mod 1" in r  # /32: no mask


def test_ipv6_service_and_persistence_prefix() -> None:
    k6 = ServiceKey.inet("2001:db8::100", 443)
    r = rule(LvsService(k6, "sh", timeout=60, netmask=64, flags=ServiceFlag.PERSISTENT),
             LvsDest("2001:db8::1", 443, 1))
    assert r.startswith("ip6 daddr 2001:db8::100 tcp dport 443 counter name ")
    assert ("dnat ip6 to jhash ip6 saddr & ffff:ffff:ffff:ffff:: mod 1 map "
            "{ 0 : 2001:db8::1 . 443 }") in r
    r = rule(LvsService(k6, "fo", netmask=128), LvsDest("2001:db8::1", 443, 1))
    assert "dnat ip6 to [2001:db8::1]:443" in r


@pytest.mark.parametrize(("proto", "word"), [("UDP", "udp"), ("SCTP", "sctp")])
def test_protocols(proto: str, word: str) -> None:
    r = rule(LvsService(ServiceKey.inet("10.0.0.100", 53, proto), "rr"), d("10.1.0.1", 1, 53))
    assert r.startswith(f"ip daddr 10.0.0.100 {word} dport 53 ")


def test_fwmark_and_portless_services_keep_the_client_port() -> None:
    r = rule(LvsService(ServiceKey.mark(7), "rr"), d("10.1.0.1", 1, 0), d("10.1.0.2", 1, 0))
    assert r.startswith("meta nfproto ipv4 meta mark 0x00000007 counter name ")
    assert "dnat ip to numgen inc mod 2 map { 0 : 10.1.0.1, 1 : 10.1.0.2 }" in r
    r = rule(LvsService(ServiceKey.mark(8, 6), "rr", netmask=128), LvsDest("2001:db8::1", 0))
    assert r.startswith("meta nfproto ipv6 meta mark 0x00000008 ")
    r = rule(LvsService(ServiceKey.inet("10.0.0.100", 0), "rr"), d("10.1.0.1", 1, 0))
    assert r.startswith("ip daddr 10.0.0.100 meta l4proto tcp counter")


def test_portless_dest_under_a_ported_service_gets_the_service_port() -> None:
    r = rule(LvsService(K, "rr"), d("10.1.0.1", 1, 0), d("10.1.0.2", 1, 8080))
    assert "{ 0 : 10.1.0.1 . 80, 1 : 10.1.0.2 . 8080 }" in r


@pytest.mark.parametrize(("fwd", "word"), [(FwdMethod.DR, "DR"), (FwdMethod.TUN, "TUN")])
def test_dr_and_tun_dests_are_left_out_with_a_note(fwd: FwdMethod, word: str) -> None:
    out = nft.render_service(entry(LvsService(K, "rr"), d("10.1.0.1", 1),
                                   d("10.1.0.2", 1, fwd=fwd)))
    assert out.rule is not None and "10.1.0.2" not in out.rule
    assert any(word in n and "left out" in n for n in out.notes)


@pytest.mark.parametrize(("algo", "used"), [("lc", "rr"), ("wlc", "wrr"), ("sed", "wrr"),
                                             ("nq", "wrr"), ("ovf", "fo"), ("lblc", "dh"),
                                             ("lblcr", "dh"), ("twos", "wrr"), ("zz", "wrr")])
def test_unsupported_schedulers_fall_back_with_a_note(algo: str, used: str) -> None:
    out = nft.render_service(entry(LvsService(K, algo), d("10.1.0.1", 1), d("10.1.0.2", 3)))
    assert any(f"using {used}" in n for n in out.notes), out.notes
    assert out.rule is not None
    expect = {"rr": "numgen inc mod 2", "wrr": "numgen inc mod 4", "fo": "dnat ip to 10.1.0.2",
              "dh": "jhash ip daddr mod 4"}[used]
    assert expect in out.rule


def test_notes_for_options_nftables_cannot_honour() -> None:
    svc = LvsService(ServiceKey.inet("10.0.0.100", 53, "UDP"), "rr", pe_name="sip",
                     flags=ServiceFlag.ONEPACKET | ServiceFlag.SCHED3)
    out = nft.render_service(entry(svc, d("10.1.0.1", 1, 53, u_threshold=10)))
    text = " | ".join(out.notes)
    assert "ops" in text and "sip" in text and "flag-3" in text and "thresholds" in text


def test_no_usable_server_means_no_rule() -> None:
    out = nft.render_service(entry(LvsService(K, "wrr"), d("10.1.0.1", 0)))
    assert out.rule is None
    assert nft.render_service(entry(LvsService(K, "wrr"))).rule is None


def test_mixed_family_dest_left_out() -> None:
    out = nft.render_service(entry(LvsService(K, "rr"), LvsDest("2001:db8::1", 80, 1,
                                                                fwd=FwdMethod.NAT)))
    assert out.rule is None and any("family" in n for n in out.notes)


def test_script_replaces_the_rules_in_one_transaction() -> None:
    t = LvsTable.build([(LvsService(K, "rr"), [d("10.1.0.1", 1)]),
                        (LvsService(ServiceKey.inet("10.0.0.100", 81), "rr"), [])])
    script, rendered = nft.render_script(t, "pktest")
    lines = script.splitlines()
    assert lines[:4] == [
        "add table inet pktest",
        "add chain inet pktest prerouting { type nat hook prerouting priority dstnat; "
        "policy accept; }",
        "add chain inet pktest output { type nat hook output priority -100; policy accept; }",
        "add chain inet pktest services"]
    assert lines.index("flush chain inet pktest services") < lines.index(
        "add rule inet pktest prerouting jump services")
    assert sum(1 for x in lines if x.startswith("add rule inet pktest services ")) == 1
    assert [r.key for r in rendered] == sorted(t.services)


def test_counters_are_named_per_service_and_deleted_with_it() -> None:
    k81 = ServiceKey.inet("10.0.0.100", 81)
    old = LvsTable.build([(LvsService(K, "rr"), [d("10.1.0.1", 1)]),
                          (LvsService(k81, "rr"), [d("10.1.0.1", 1)])])
    new = LvsTable.build([(LvsService(K, "rr"), [d("10.1.0.2", 1)])])
    script, _ = nft.render_script(new, "pktest", previous=old)
    lines = script.splitlines()
    assert f"add counter inet pktest {nft.counter_name(K)}" in lines
    assert lines[-1] == f"delete counter inet pktest {nft.counter_name(k81)}"
    assert nft.counter_name(K) != nft.counter_name(k81)
    assert len(nft.counter_name(K)) <= 16


def dr(addr: str, w: int, port: int = 80) -> LvsDest:
    return LvsDest(addr, port, w, fwd=FwdMethod.DR)


def test_dr_only_service_is_a_stateless_fwd_rule() -> None:
    e = entry(LvsService(K, "wrr"), dr("10.1.0.1", 1), dr("10.1.0.2", 2), dr("10.1.0.3", 0))
    assert nft.render_service(e).rule is None  # not a NAT rule
    out = nft.render_dr_service(e, "eth0")
    assert out.rule == ('ip daddr 10.0.0.100 tcp dport 80 fwd ip to jhash ip saddr . th sport '
                        'mod 3 map { 0 : 10.1.0.1, 1 : 10.1.0.2, 2 : 10.1.0.2 } device "eth0" '
                        'comment "[10.0.0.100]:tcp:80"')
    assert any("stateless" in n for n in out.notes)


def test_dr_persistence_fo_and_unroutable() -> None:
    e = entry(LvsService(K, "rr", timeout=60, netmask=24), dr("10.1.0.1", 1), dr("10.1.0.2", 1))
    assert "jhash ip saddr & 255.255.255.0 mod 2" in (nft.render_dr_service(e, "eth0").rule or "")
    e = entry(LvsService(K, "fo"), dr("10.1.0.1", 1), dr("10.1.0.2", 5))
    assert "fwd ip to 10.1.0.2 device" in (nft.render_dr_service(e, "eth0").rule or "")
    assert nft.render_dr_service(e, None).rule is None
    e = entry(LvsService(ServiceKey.mark(3), "rr"), dr("10.1.0.1", 1, 0))
    out = nft.render_dr_service(e, "eth0")
    assert out.rule is None and any("fwmark" in n for n in out.notes)


def test_dr_script_rebuilds_the_netdev_table_per_device() -> None:
    k2 = ServiceKey.inet("10.0.0.101", 80)
    t = LvsTable.build([(LvsService(K, "rr"), [dr("10.1.0.1", 1)]),
                        (LvsService(k2, "rr"), [dr("10.2.0.1", 1)]),
                        (LvsService(ServiceKey.inet("10.0.0.102", 80), "rr"),
                         [d("10.1.0.9", 1)])])
    script, rendered = nft.render_dr_script(t, "pktest", {K: "eth0", k2: "eth1"})
    lines = script.splitlines()
    assert lines[:3] == ["add table netdev pktest", "delete table netdev pktest",
                         "add table netdev pktest"]
    assert 'add chain netdev pktest dr_eth0 { type filter hook ingress device "eth0" ' \
           'priority 0; policy accept; }' in lines
    assert sum(1 for x in lines if x.startswith("add rule netdev pktest dr_eth1 ")) == 1
    assert len(rendered) == 2  # the NAT service is not DR's business
    empty, _ = nft.render_dr_script(LvsTable(), "pktest", {})
    assert empty.splitlines() == ["add table netdev pktest", "delete table netdev pktest"]
