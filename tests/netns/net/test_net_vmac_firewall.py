"""VMAC macvlans and the no_accept nftables table against the real kernel."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.lab.netns import Host, Lab
from pykeepalived.net.addresses import AddressManager, IpAddress
from pykeepalived.net.firewall import Firewall
from pykeepalived.net.vmac import (
    Vmac,
    create_vmac,
    delete_vmac,
    set_vmac_state,
    xmit_interface,
)

pytestmark = pytest.mark.netns


def link_json(h: Host, name: str) -> dict[str, Any] | None:
    r = h.run(["ip", "-j", "-d", "link", "show", "dev", name], check=False)
    if r.returncode != 0:
        return None
    return dict(json.loads(r.stdout)[0])


def v6_addrs(h: Host, dev: str) -> list[dict[str, Any]]:
    out = json.loads(h.run(["ip", "-j", "-6", "addr", "show", "dev", dev]).stdout or "[]")
    return [dict(x) for link in out for x in link.get("addr_info", [])]


def neigh_mac(client: Host, ip: str) -> str | None:
    for n in json.loads(client.run(["ip", "-j", "neigh", "show", "to", ip]).stdout or "[]"):
        if n.get("lladdr"):
            return str(n["lladdr"])
    return None


def test_vmac_create_mac_mode_and_delete() -> None:
    with Lab("pkn8", ipv6=True) as lab:
        a = lab.add_host("a", ["10.99.0.1/24"])
        c = lab.add_host("c", ["10.99.0.100/24"])
        v4 = Vmac(parent="eth0", vrid=51)

        def arp_ignore() -> str:
            return a.run(["sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore"]).stdout.strip()

        assert arp_ignore() == "0"
        v6 = Vmac(parent="eth0", vrid=51, family=6)

        async def up() -> None:
            async with AddressManager(a.ns) as am:
                r = await create_vmac(am, v4)
                assert r.ok and r.changed, r
                again = await create_vmac(am, v4)  # left over by a previous run: adopted
                assert again.ok and not again.changed, again
                r6 = await create_vmac(am, v6)
                assert r6.ok, r6
                res = await am.add_address(IpAddress("10.99.0.200", 24), v4.ifname)
                assert res.ok, res

        asyncio.run(up())
        j = link_json(a, "vrrp.51")
        assert j is not None
        assert j["address"] == "00:00:5e:00:01:33"
        assert j["link"] == "eth0" and "UP" in j["flags"]
        info = j["linkinfo"]
        assert info["info_kind"] == "macvlan" and info["info_data"]["mode"] == "private"
        # same VRID in both families: the IPv6 VMAC takes keepalived's second name
        j6 = link_json(a, "vrrp6.51")
        assert j6 is not None and j6["address"] == "00:00:5e:00:02:33"
        assert j6["linkinfo"]["info_data"]["mode"] == "private"
        for j_ in (j, j6):
            assert j_.get("inet6_addr_gen_mode") == "none"
        assert v6_addrs(a, "vrrp.51") == []  # no EUI-64 link-local from the shared MAC
        parent_ll = [x for x in v6_addrs(a, "eth0") if x["local"].startswith("fe80")]
        ll = v6_addrs(a, "vrrp6.51")
        assert [x["local"] for x in ll] == [parent_ll[0]["local"]]
        assert ll[0].get("nodad") and ll[0]["preferred_life_time"] == 0
        assert a.run(["sysctl", "-n", "net.ipv4.conf.vrrp/51.promote_secondaries"]
                     ).stdout.strip() == "1"
        # the parent never sources its own ARP requests from a VIP (keepalived leaves 0)
        assert a.run(["sysctl", "-n", "net.ipv4.conf.eth0.arp_announce"]).stdout.strip() == "2"
        # the client resolves the VIP to the virtual MAC, not to eth0's
        assert c.run(["ping", "-c1", "-W2", "10.99.0.200"], check=False).returncode == 0
        assert neigh_mac(c, "10.99.0.200") == "00:00:5e:00:01:33"

        async def down() -> None:
            async with AddressManager(a.ns) as am:
                r = await set_vmac_state(am, v4, up=False)
                assert r.ok
                j = link_json(a, "vrrp.51")
                assert j is not None and "UP" not in j["flags"]
                assert arp_ignore() == "1"
                r = await delete_vmac(am, v4)
                assert r.ok and r.changed, r
                assert arp_ignore() == "1", "vrrp6.51 still lives on eth0"
                r = await delete_vmac(am, v6)
                assert r.ok and r.changed, r
                assert arp_ignore() == "0", "last VMAC gone: parent restored"
                gone = await delete_vmac(am, v4)
                assert gone.ok and not gone.changed

        asyncio.run(down())
        assert link_json(a, "vrrp.51") is None and link_json(a, "vrrp6.51") is None


@pytest.mark.parametrize("backend", ["lib", "cli"])
def test_firewall_blocks_and_releases_vip(backend: str) -> None:
    vip = "10.99.1.200"
    with Lab("pkn9") as lab:
        a = lab.add_host("a", ["10.99.1.1/24", f"{vip}/24"])
        c = lab.add_host("c", ["10.99.1.100/24"])

        def ping() -> bool:
            return c.run(["ping", "-c1", "-W1", vip], check=False).returncode == 0

        assert ping()

        async def main() -> None:
            fw = Firewall(netns=a.ns, backend=backend)
            assert fw.backend == backend
            r = await fw.block([vip, "fd99::200", "fe80::200"], ifname="eth0")
            assert r.ok, r
            assert await fw.listed() == {vip, "fd99::200", "fe80::200%eth0"}
            # a link-local address without its interface is refused, the rest goes through
            r = await fw.block(["fe80::201", "10.99.1.201"])
            assert r.ok and await fw.listed() == {vip, "10.99.1.201", "fd99::200",
                                                  "fe80::200%eth0"}
            await fw.unblock(["10.99.1.201", "fe80::200"], ifname="eth0")
            assert not ping(), "traffic to a blocked VIP must be dropped"
            # and nothing leaves from it
            assert a.run(["ping", "-c1", "-W1", "-I", vip, "10.99.1.100"],
                         check=False).returncode != 0
            # the interface's own address still answers
            assert c.run(["ping", "-c1", "-W1", "10.99.1.1"], check=False).returncode == 0
            assert not (await fw.block([vip])).changed
            r = await fw.unblock([vip])
            assert r.ok and r.changed
            assert await fw.listed() == {"fd99::200"}
            assert ping()
            assert a.run(["ping", "-c1", "-W1", "-I", vip, "10.99.1.100"],
                         check=False).returncode == 0
            # an element removed behind our back does not stop the others from going
            assert (await fw.block([vip, "10.99.1.202"])).ok
            a.run(["nft", "flush", "set", "ip", "keepalived", "vips"])
            a.run(["nft", "add", "element", "ip", "keepalived", "vips", "{ 10.99.1.202 }"])
            r = await fw.unblock([vip, "10.99.1.202"])
            assert r.ok and fw.blocked == {"fd99::200"}, r
            assert await fw.listed() == {"fd99::200"}
            await fw.block([vip])
            assert (await fw.teardown()).ok
            for fam in ("ip", "ip6"):
                assert a.run(["nft", "list", "table", fam, "keepalived"],
                             check=False).returncode != 0
            assert ping()
            assert (await fw.teardown()).ok  # absent table: still fine
            fw.close()

        asyncio.run(main())


def test_adverts_leave_a_vmac_with_the_virtual_mac(tmp_path: Path) -> None:
    """The advert socket works on a macvlan: frames carry the VMAC as Ethernet source, and
    with vmac_xmit_base (socket on the parent) the parent's MAC; the peer receives both."""
    from net_pcap import read_pcap
    from test_net_sockets import ipv4_datagram, vrrp2

    from pykeepalived.net.sockets import Received, VrrpSocket4

    with Lab("pknv") as lab:
        a = lab.add_host("a", ["10.99.2.1/24"])
        b = lab.add_host("b", ["10.99.2.2/24"])
        vm = Vmac(parent="eth0", vrid=52)
        pcap = tmp_path / "b.pcap"
        with open(tmp_path / "td.err", "wb") as err:
            dump = b.popen(["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w",
                            str(pcap), "ip proto 112"], stderr=err)
        deadline = time.monotonic() + 5
        while b"listening" not in (tmp_path / "td.err").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.02)

        async def main() -> list[Received]:
            async with AddressManager(a.ns) as am:
                assert (await create_vmac(am, vm)).ok
            got: list[Received] = []
            rx = VrrpSocket4("eth0", netns=b.ns)
            rx.start(got.append)
            pkt = ipv4_datagram("10.99.2.1", "224.0.0.18", vrrp2(52, 200, "10.99.2.200"))
            for ifname in (xmit_interface(vm, False), xmit_interface(vm, True)):
                with VrrpSocket4(ifname, netns=a.ns) as tx:
                    n = len(got)
                    assert tx.send(pkt, "224.0.0.18") is None
                    deadline = time.monotonic() + 2
                    while len(got) == n and time.monotonic() < deadline:
                        await asyncio.sleep(0.01)
            rx.close()
            return got

        got = asyncio.run(main())
        time.sleep(0.2)
        dump.terminate()
        dump.wait(5)
        assert len(got) == 2 and all(r.ttl == 255 for r in got)
        srcs = [f[6:12].hex(":") for f in read_pcap(pcap)]
        assert srcs == ["00:00:5e:00:01:34", a.mac], srcs


@pytest.mark.parametrize("redirect", [False, True])
def test_vmac_igmp_reports_leave_through_parent(tmp_path: Path, redirect: bool) -> None:
    """Without keepalived's VMAC rule, joining a group on a VMAC sends IGMP reports from the
    shared virtual MAC (on a backup, that would pull the switch's entry for the VMAC away from
    the master); with ``Firewall.add_vmac`` they leave through the parent with its MAC."""
    import socket
    import struct

    from net_pcap import read_pcap

    from pykeepalived.net.links import if_index
    from pykeepalived.net.netns import in_netns

    with Lab("pkni") as lab:
        a = lab.add_host("a", ["10.99.4.1/24"])
        b = lab.add_host("b", ["10.99.4.2/24"])
        pcap = tmp_path / "ig.pcap"
        with open(tmp_path / "td.err", "wb") as err:
            dump = b.popen(["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w",
                            str(pcap), "igmp"], stderr=err)
        deadline = time.monotonic() + 5
        while b"listening" not in (tmp_path / "td.err").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.02)

        async def main() -> None:
            vm = Vmac("eth0", 70)
            async with AddressManager(a.ns) as am:
                assert (await create_vmac(am, vm)).ok
                assert (await am.add_address(IpAddress("10.99.4.200", 24), vm.ifname)).ok
            fw = Firewall(netns=a.ns)
            if redirect:
                assert (await fw.add_vmac(vm.ifname, "eth0", 4)).ok
            with in_netns(a.ns):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            mreqn = (socket.inet_aton("239.1.1.1") + socket.inet_aton("0.0.0.0")
                     + struct.pack("@i", if_index(vm.ifname, a.ns)))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
            await asyncio.sleep(0.4)
            s.close()
            fw.close()

        asyncio.run(main())
        time.sleep(0.2)
        dump.terminate()
        dump.wait(5)
        srcs = {f[6:12].hex(":") for f in read_pcap(pcap)}
        assert srcs == ({a.mac} if redirect else {"00:00:5e:00:01:46"}), srcs
