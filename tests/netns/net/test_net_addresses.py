"""AddressManager against the real kernel: every address-line option, routes, rules,
idempotency and the leftover clean-up, each read back with ``ip -j``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pykeepalived.lab.netns import Host, Lab
from pykeepalived.net.addresses import AddressManager, IpAddress, Route, Rule

pytestmark = pytest.mark.netns


@pytest.fixture
def host() -> Iterator[Host]:
    with Lab("pkn3", ipv6=True) as lab:
        yield lab.add_host("a", ["10.92.0.1/24", "fd92::1/64"])


def ip_json(h: Host, *args: str) -> Any:
    return json.loads(h.run(["ip", "-j", *args]).stdout or "[]")


def addr_info(h: Host, ip: str) -> dict[str, Any] | None:
    for link in ip_json(h, "addr", "show", "dev", "eth0"):
        for a in link.get("addr_info", []):
            if a.get("local") == ip:
                return dict(a)
    return None


def test_address_options_and_idempotency(host: Host) -> None:
    # (the kernel refuses a secondary whose scope differs from its primary's: own subnet)
    vip = IpAddress("10.92.5.200", 24, brd="+", scope="site", label="eth0:vip",
                    preferred_lft=0)
    vip2 = IpAddress("10.92.5.201", 24, brd="-", scope="site", label="eth0:v2")
    peer = IpAddress("10.92.1.1", 32, peer="10.92.1.2", peer_prefixlen=32)
    v6 = IpAddress("fd92::200", 64, nodad=True, noprefixroute=True, preferred_lft=100)
    ll = IpAddress("fe80::200", 64, scope="link", label=None)

    async def main() -> None:
        async with AddressManager(host.ns) as am:
            for a in (vip, vip2, peer, v6, ll):
                r = await am.add_address(a, "eth0")
                assert r.ok and r.changed, r
            again = await am.add_address(vip, "eth0")
            assert again.ok and not again.changed
            assert await am.has_address("10.92.5.200", "eth0")
            assert await am.primary_address("eth0", 4) == "10.92.0.1"
            assert (await am.primary_address("eth0", 6) or "").startswith("fe80")
            listed = {a.ip: a for a in await am.list_addresses("eth0")}
            assert listed["10.92.1.1"].peer == "10.92.1.2"
            assert listed["10.92.5.200"].label == "eth0:vip"
            assert not listed["10.92.5.200"].secondary
            assert listed["10.92.5.201"].secondary

    asyncio.run(main())
    a = addr_info(host, "10.92.5.200")
    assert a is not None
    assert a["prefixlen"] == 24 and a["broadcast"] == "10.92.5.255"
    assert a["scope"] == "site" and a["label"] == "eth0:vip"
    # IPv4 with an infinite valid_lft: the kernel records preferred_lft 0 as "deprecated"
    assert a.get("deprecated") is True
    b2 = addr_info(host, "10.92.5.201")
    assert b2 is not None and b2["broadcast"] == "10.92.5.0" and b2["label"] == "eth0:v2"
    p = addr_info(host, "10.92.1.1")
    assert p is not None and p["address"] == "10.92.1.2" and p["prefixlen"] == 32
    s = addr_info(host, "fd92::200")
    assert s is not None
    assert s.get("nodad") is True and s.get("noprefixroute") is True
    assert s["preferred_life_time"] == 100
    assert s["valid_life_time"] == 4294967295
    l6 = addr_info(host, "fe80::200")
    assert l6 is not None and l6["scope"] == "link"

    async def remove() -> None:
        async with AddressManager(host.ns) as am:
            # secondaries first: deleting a primary takes its secondaries with it
            for a in (vip2, vip, peer, v6, ll):
                r = await am.delete_address(a, "eth0")
                assert r.ok and r.changed, r
            r = await am.delete_address(vip, "eth0")
            assert r.ok and not r.changed
            r = await am.delete_address(IpAddress("10.92.0.9", 24, dev="nosuch0"))
            assert r.ok and not r.changed
            bad = await am.add_address(IpAddress("10.92.0.9", 24, dev="nosuch0"))
            assert not bad.ok and "nosuch0" in bad.error

    asyncio.run(remove())
    for ip in ("10.92.5.200", "10.92.1.1", "fd92::200", "fe80::200"):
        assert addr_info(host, ip) is None, ip
    assert addr_info(host, "10.92.0.1") is not None


def test_remove_leftovers_only_touches_present(host: Host) -> None:
    host.run(["ip", "addr", "add", "10.92.0.201/32", "dev", "eth0"])
    vips = [IpAddress("10.92.0.201", 32), IpAddress("10.92.0.202", 32)]

    async def main() -> list[str]:
        async with AddressManager(host.ns) as am:
            res = await am.remove_leftovers(vips, "eth0")
            return [r.target for r in res if r.ok and r.changed]

    removed = asyncio.run(main())
    assert removed == ["10.92.0.201/32"]
    assert addr_info(host, "10.92.0.201") is None


def test_routes_and_rules(host: Host) -> None:
    r1 = Route("10.93.0.0/24", via="10.92.0.254", table="100", metric=7,
               options=(("mtu", "1400"),))
    r2 = Route("10.94.0.0/16", dev="eth0", scope="link", src="10.92.0.1")
    r3 = Route("10.95.0.0/24", type="blackhole")
    r6 = Route("fd93::/64", family=6, via="fd92::fe", dev="eth0")
    rule = Rule(from_="10.92.0.0/24", table="100", priority=1000)
    rule2 = Rule(to="10.96.0.0/16", fwmark="0x10/0xff", action="blackhole", priority=1001)
    rule6 = Rule(family=6, from_="fd92::/64", table="100", priority=1002)

    async def add() -> None:
        async with AddressManager(host.ns) as am:
            for r in (r1, r2, r3, r6):
                res = await am.add_route(r)
                assert res.ok and res.changed, res
            assert not (await am.add_route(r1)).changed
            for ru in (rule, rule2, rule6):
                res = await am.add_rule(ru)
                assert res.ok and res.changed, res
            assert not (await am.add_rule(rule)).changed

    asyncio.run(add())
    t100 = ip_json(host, "route", "show", "table", "100")
    assert [(r["dst"], r["gateway"], r["metric"], r.get("metrics", [{}])[0].get("mtu"))
            for r in t100] == [("10.93.0.0/24", "10.92.0.254", 7, 1400)]
    main = {r["dst"]: r for r in ip_json(host, "route", "show")}
    assert main["10.94.0.0/16"]["scope"] == "link"
    assert main["10.94.0.0/16"]["prefsrc"] == "10.92.0.1"
    assert main["10.95.0.0/24"]["type"] == "blackhole"
    v6 = {r["dst"]: r for r in ip_json(host, "-6", "route", "show")}
    assert v6["fd93::/64"]["gateway"] == "fd92::fe"
    rules = {r["priority"]: r for r in ip_json(host, "rule", "show")}
    assert rules[1000]["src"] == "10.92.0.0" and rules[1000]["srclen"] == 24
    assert rules[1000]["table"] == "100"
    assert rules[1001]["dst"] == "10.96.0.0" and rules[1001]["action"] == "blackhole"
    assert rules[1001]["fwmark"] == "0x10" and rules[1001]["fwmask"] == "0xff"
    rules6 = {r["priority"]: r for r in ip_json(host, "-6", "rule", "show")}
    assert rules6[1002]["src"] == "fd92::"

    async def delete() -> None:
        async with AddressManager(host.ns) as am:
            for r in (r1, r2, r3, r6):
                res = await am.delete_route(r)
                assert res.ok and res.changed, res
            assert not (await am.delete_route(r1)).changed
            for ru in (rule, rule2, rule6):
                res = await am.delete_rule(ru)
                assert res.ok and res.changed, res
            assert not (await am.delete_rule(rule)).changed

    asyncio.run(delete())
    assert ip_json(host, "route", "show", "table", "100") == []
    dsts = {r["dst"] for r in ip_json(host, "route", "show")}
    assert not dsts & {"10.94.0.0/16", "10.95.0.0/24"}
    prios = {r["priority"] for r in ip_json(host, "rule", "show")}
    assert not prios & {1000, 1001}


def test_promote_secondaries_keeps_vips(host: Host) -> None:
    from pykeepalived.net.addresses import set_promote_secondaries

    host.run(["ip", "addr", "add", "10.92.7.1/24", "dev", "eth0"])
    host.run(["ip", "addr", "add", "10.92.7.200/24", "dev", "eth0"])
    assert set_promote_secondaries("eth0", host.ns)

    async def main() -> None:
        async with AddressManager(host.ns) as am:
            assert (await am.delete_address(IpAddress("10.92.7.1", 24), "eth0")).changed

    asyncio.run(main())
    assert addr_info(host, "10.92.7.200") is not None


def test_concurrent_operations_on_one_manager(host: Host) -> None:
    """Many instances going MASTER at once share one netlink socket: concurrent requests
    must all be answered (pyroute2 matches replies by sequence number)."""

    async def main() -> tuple[int, int, int]:
        async with AddressManager(host.ns) as am:
            adds = await asyncio.gather(
                *[am.add_address(IpAddress(f"10.92.8.{i + 1}", 32), "eth0") for i in range(60)],
                *[am.add_route(Route(f"10.91.{i}.0/24", via="10.92.0.254")) for i in range(30)])
            dels = await asyncio.gather(
                *[am.delete_address(IpAddress(f"10.92.8.{i + 1}", 32), "eth0")
                  for i in range(60)])
            left = [a for a in await am.list_addresses("eth0", 4) if a.ip.startswith("10.92.8.")]
            return (sum(r.ok and r.changed for r in adds), sum(r.ok and r.changed for r in dels),
                    len(left))

    assert asyncio.run(main()) == (90, 60, 0)
    routes = {r["dst"] for r in ip_json(host, "route", "show")}
    assert {f"10.91.{i}.0/24" for i in range(30)} <= routes


def test_home_mngtmpaddr_and_autojoin_reach_the_kernel(host: Host) -> None:
    """The address-line flags not covered above, read back from the kernel: ``home`` and
    ``mngtmpaddr`` (IPv6) and ``autojoin`` (a multicast address whose group the kernel then
    joins on the interface)."""
    home = IpAddress("fd92::300", 64, home=True, mngtmpaddr=True)
    mc = IpAddress("239.9.9.9", 32, autojoin=True)

    async def main(add: bool) -> None:
        async with AddressManager(host.ns) as am:
            for a in (home, mc):
                r = await (am.add_address(a, "eth0") if add else am.delete_address(a, "eth0"))
                assert r.ok and r.changed, r

    asyncio.run(main(True))
    h = addr_info(host, "fd92::300")
    assert h is not None and h.get("home") is True and h.get("mngtmpaddr") is True, h
    m = addr_info(host, "239.9.9.9")
    assert m is not None and m.get("autojoin") is True, m
    assert "239.9.9.9" in host.run(["ip", "maddr", "show", "dev", "eth0"]).stdout
    asyncio.run(main(False))
    assert addr_info(host, "fd92::300") is None and addr_info(host, "239.9.9.9") is None
    assert "239.9.9.9" not in host.run(["ip", "maddr", "show", "dev", "eth0"]).stdout
