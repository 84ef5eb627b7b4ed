"""net.rtnl against the real kernel: a request has taken effect when ``send`` returns, the
attributes are those pyroute2 sends for the same address line (read back with ``ip -j``),
refusals come back as acknowledgements, and dumps list what is there."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pykeepalived.lab.netns import Host, Lab
from pykeepalived.net.addresses import AddressManager, IpAddress, address_kwargs
from pykeepalived.net.rtnl import RTPROT_KEEPALIVED, RtnlSocket

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with Lab("pkrtn", ipv6=True) as lab:
        yield lab.add_host("a", ["10.93.0.1/24", "fd93::1/64"])


def _info(h: Host, ip: str) -> dict[str, Any] | None:
    for link in json.loads(h.run(["ip", "-j", "addr", "show", "dev", "eth0"]).stdout):
        for a in link.get("addr_info", []):
            if a.get("local") == ip:
                return {k: v for k, v in a.items() if k not in ("valid_life_time",)}
    return None


def _ifindex(h: Host) -> int:
    return int(json.loads(h.run(["ip", "-j", "link", "show", "eth0"]).stdout)[0]["ifindex"])


LINES = [
    IpAddress("10.93.5.200", 24),
    IpAddress("10.93.6.200", 24, brd="+", scope="site", label="eth0:vip", preferred_lft=0),
    IpAddress("10.93.7.1", 32, peer="10.93.7.2", peer_prefixlen=32),
    IpAddress("fd93:5::200", 64),
    IpAddress("fd93:6::200", 64, noprefixroute=True, home=True),
]


@pytest.mark.parametrize("addr", LINES, ids=str)
def test_same_address_as_pyroute2_and_applied_at_send(host: Host, addr: IpAddress) -> None:
    idx = _ifindex(host)
    kw = address_kwargs(addr, idx)

    async def with_pyroute2() -> None:
        async with AddressManager(host.ns) as am:
            assert (await am.add_address(addr, "eth0")).ok
    asyncio.run(with_pyroute2())
    theirs = _info(host, addr.ip)
    assert theirs is not None
    host.run(["ip", "addr", "del", f"{addr.ip}/{kw['prefixlen']}", "dev", "eth0"]
             + (["peer", addr.peer] if addr.peer else []))
    rt = RtnlSocket(host.ns)
    try:
        seq = rt.add_address(kw)
        ours = _info(host, addr.ip)  # no wait at all: applied during send()
        assert rt.wait(seq) == 0
        assert ours == theirs
        seq = rt.delete_address(kw)
        assert _info(host, addr.ip) is None
        assert rt.wait(seq) == 0
    finally:
        rt.close()


def test_refusals_are_acknowledgements(host: Host) -> None:
    idx = _ifindex(host)
    v4 = address_kwargs(IpAddress("10.93.8.200", 24), idx)
    rt = RtnlSocket(host.ns)
    try:
        assert rt.wait(rt.add_address(v4)) == 0
        assert rt.wait(rt.add_address(v4)) == errno.EEXIST
        assert rt.wait(rt.delete_address(v4)) == 0
        assert rt.wait(rt.delete_address(v4)) == errno.EADDRNOTAVAIL
        host.run(["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"])
        v6 = address_kwargs(IpAddress("fd93:9::200", 64), idx)
        assert rt.wait(rt.add_address(v6)) == errno.EACCES  # "IPv6 is disabled on this device"
        # acks can also be collected later, in one go, as a loop reader does
        seqs = [rt.add_address(v4), rt.add_address(v6), rt.delete_address(v4)]
        deadline = time.monotonic() + 2
        got: dict[int, int] = {}
        while len(got) < 3 and time.monotonic() < deadline:
            got.update(rt.acks())
        assert [got[s] for s in seqs] == [0, errno.EACCES, 0]
    finally:
        host.run(["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=0"])
        rt.close()


def test_dump_lists_addresses_with_their_protocol(host: Host) -> None:
    idx = _ifindex(host)
    kw = dict(address_kwargs(IpAddress("10.93.9.200", 24), idx), proto=RTPROT_KEEPALIVED)
    host.run(["ip", "addr", "replace", "fd93:a::1/64", "dev", "eth0", "nodad"])
    rt = RtnlSocket(host.ns)
    try:
        assert rt.wait(rt.add_address(kw)) == 0
        dump = {(a.ip, a.prefixlen, a.ifindex, a.proto, a.family) for a in rt.dump_addresses()}
        assert ("10.93.9.200", 24, idx, RTPROT_KEEPALIVED, 4) in dump
        assert ("10.93.0.1", 24, idx, 0, 4) in dump
        assert ("fd93:a::1", 64, idx, 0, 6) in dump
        rt.wait(rt.delete_address(kw))
    finally:
        rt.close()


def test_neighbour_dump_names_usable_macs_only(host: Host) -> None:
    """The lab's ARP view of a client: entries with a link-layer address in a valid state, per
    family; an incomplete or failed entry names no MAC and is left out."""
    host.run(["ip", "neigh", "replace", "10.93.0.77", "lladdr", "02:00:00:00:93:77", "dev",
              "eth0", "nud", "permanent"])
    host.run(["ip", "neigh", "replace", "10.93.0.78", "lladdr", "02:00:00:00:93:78", "dev",
              "eth0", "nud", "stale"])
    host.run(["ip", "neigh", "replace", "fd93::77", "lladdr", "02:00:00:00:93:76", "dev",
              "eth0", "nud", "permanent"])
    host.run(["ip", "neigh", "replace", "10.93.0.79", "dev", "eth0", "nud", "failed"])
    rt = RtnlSocket(host.ns)
    try:
        idx = _ifindex(host)
        v4 = {(n.ip, n.lladdr, n.ifindex) for n in rt.dump_neighbours(socket.AF_INET)}
        assert ("10.93.0.77", "02:00:00:00:93:77", idx) in v4
        assert ("10.93.0.78", "02:00:00:00:93:78", idx) in v4
        assert not any(ip in ("10.93.0.79", "fd93::77") for ip, _m, _i in v4)
        every = {n.ip for n in rt.dump_neighbours()}
        assert {"10.93.0.77", "fd93::77"} <= every
    finally:
        for ip in ("10.93.0.77", "10.93.0.78", "10.93.0.79", "fd93::77"):
            host.run(["ip", "neigh", "del", ip, "dev", "eth0"], check=False)
        rt.close()


def test_delete_tagged_removes_only_the_tagged_addresses(host: Host) -> None:
    """What the supervisor does when the VRRP child dies: the VIPs it added (tagged
    ``proto keepalived``, through pyroute2 as the queue adds them or through net.rtnl) go, an
    untagged address (an owner's VIP, the host's own) stays."""
    from pykeepalived.daemon import process
    from pykeepalived.net.rtnl import delete_tagged

    tagged = [IpAddress("10.93.8.1", 24), IpAddress("fd93:8::1", 64)]
    mine = IpAddress("10.93.9.2", 24)  # another subnet: not a secondary of the first
    rt = RtnlSocket(host.ns)

    async def add() -> None:
        async with AddressManager(host.ns) as am:
            assert (await am.add_address(tagged[0], "eth0", proto=RTPROT_KEEPALIVED)).ok
            assert (await am.add_address(mine, "eth0")).ok
    try:
        asyncio.run(add())
        kw = address_kwargs(tagged[1], _ifindex(host))
        kw["proto"] = RTPROT_KEEPALIVED
        assert rt.wait(rt.add_address(kw)) == 0
        # another daemon's tagged VIP in the same namespace is not ours to take
        assert delete_tagged(netns=host.ns, only=process.unpack_addresses(
            process.pack_addresses(["10.93.8.77", "fd93:8:0:0::1"]))) != []
        assert _info(host, "10.93.8.1") is not None
        done = delete_tagged(netns=host.ns)
        assert sorted(a.ip for a, err in done if not err) == ["10.93.8.1"]
        assert _info(host, "10.93.8.1") is None and _info(host, "fd93:8::1") is None
        assert _info(host, "10.93.9.2") is not None
        assert delete_tagged(netns=host.ns) == []
    finally:
        rt.close()
        host.run(["ip", "addr", "del", "10.93.9.2/24", "dev", "eth0"], check=False)
