"""Our sockets + the codec against Debian's keepalived on the same bridge.

keepalived runs as an address owner (priority 255, state MASTER: master at once). Our socket must
receive its adverts intact (the codec decodes them: TTL 255, PASS, checksum), and keepalived must
accept ours: we advertise priority 255 from a higher source address, which makes the real
keepalived step down to BACKUP and remove its VIP (of two owners the higher address wins), as
it only does for an advert that passed every one of its checks. The GARPs and unsolicited NAs
the real keepalived sends on becoming MASTER are compared byte for byte with our frame builders.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from net_pcap import read_pcap

from pykeepalived.lab.netns import Host, Lab
from pykeepalived.net.arp import build_garp, build_unsolicited_na
from pykeepalived.net.sockets import Received, VrrpSocket4, VrrpSocket6, link_local_of

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

KA_V2 = """global_defs {{
    router_id pkn-a
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 255
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass pkn-pas8
    }}
    virtual_ipaddress {{
        {vip} dev eth0
    }}
}}
"""

KA_V3_6 = """global_defs {{
    router_id pkn-a
}}
vrrp_instance VI_6 {{
    state MASTER
    interface eth0
    virtual_router_id 62
    priority 255
    advert_int 1
    version 3
    virtual_ipaddress {{
        {vip} dev eth0
    }}
}}
"""


def start_keepalived(host: Host, tmp: Path, conf: str) -> None:
    (tmp / "ka.conf").write_text(conf)
    run = tmp / "run"
    run.mkdir()
    host.popen(["keepalived", "-n", "-l", "-D", "-G", "-P", "-f", str(tmp / "ka.conf"),
                "-p", f"{run}/ka.pid", "-r", f"{run}/vrrp.pid", "-c", f"{run}/chk.pid",
                "-b", f"{run}/bfd.pid"], stdout=(tmp / "ka.log").open("wb"),
               stderr=(tmp / "ka.err").open("wb"))


def has_addr(host: Host, ip: str) -> bool:
    out = json.loads(host.run(["ip", "-j", "addr", "show", "dev", "eth0"]).stdout)
    return any(a.get("local") == ip for link in out for a in link.get("addr_info", []))


async def first(got: list[Received], timeout: float) -> Received:
    deadline = time.monotonic() + timeout
    while not got:
        assert time.monotonic() < deadline, "no advert received"
        await asyncio.sleep(0.02)
    return got[0]


async def until(pred: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_v2_pass_with_keepalived(tmp: Path) -> None:
    from pykeepalived.vrrp.auth import AuthConfig
    from pykeepalived.vrrp.packet import decode_ipv4, encode_ipv4

    vip = "10.90.0.200"
    auth = AuthConfig.pass_("pkn-pas8")
    with Lab("pknk") as lab:
        a = lab.add_host("a", ["10.90.0.1/24"])
        b = lab.add_host("b", ["10.90.0.2/24"])
        with open(tmp / "td.err", "wb") as err:
            dump = b.popen(["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w",
                            str(tmp / "arp.pcap"), "arp"], stderr=err)
        deadline = time.monotonic() + 5
        while b"listening" not in (tmp / "td.err").read_bytes():
            assert time.monotonic() < deadline, "tcpdump did not start"
            time.sleep(0.02)

        async def main() -> None:
            sock = VrrpSocket4("eth0", netns=b.ns)
            got: list[Received] = []
            sock.start(got.append)
            start_keepalived(a, tmp, KA_V2.format(vip=vip))
            r = await first(got, 8.0)
            adv = decode_ipv4(r.data, auth=auth)
            assert (adv.version, adv.vrid, adv.priority, adv.addresses) == (2, 61, 255, (vip,))
            assert (adv.src, adv.dst, adv.ttl) == ("10.90.0.1", "224.0.0.18", 255)
            assert r.data[1] == 0xC0
            assert await until(lambda: has_addr(a, vip), 3.0)
            # our owner advert from a higher address: keepalived must yield
            for i in range(6):
                pkt = encode_ipv4(version=2, vrid=61, priority=255, adver_int=1,
                                  addresses=[vip], src="10.90.0.2", ip_id=i + 1, auth=auth)
                assert sock.send(pkt, "224.0.0.18") is None
                if await until(lambda: not has_addr(a, vip), 0.5):
                    break
            sock.close()

        asyncio.run(main())
        log = (tmp / "ka.log").read_text() + (tmp / "ka.err").read_text()
        assert not has_addr(a, vip), log
        assert "Master received advert from 10.90.0.2 with higher priority 255" in log, log
        dump.terminate()
        dump.wait(5)
        garps = [f for f in read_pcap(tmp / "arp.pcap") if f[6:12] == bytes.fromhex(
            a.mac.replace(":", "")) and f[28:32] == bytes([10, 90, 0, 200])]
        assert len(garps) >= 5, "keepalived sends 5 GARPs on becoming MASTER"
        assert all(f[:42] == build_garp(a.mac, vip) for f in garps)


def test_v3_ipv6_with_keepalived(tmp: Path) -> None:
    from pykeepalived.vrrp.packet import decode_ipv6, encode_ipv6

    vip = "fd90::200"
    with Lab("pknl", ipv6=True) as lab:
        a = lab.add_host("a", ["fd90::1/64"])
        b = lab.add_host("b", ["fd90::2/64"])
        deadline = time.monotonic() + 5
        while not (link_local_of("eth0", a.ns) and link_local_of("eth0", b.ns)):
            assert time.monotonic() < deadline
            time.sleep(0.05)

        with open(tmp / "td.err", "wb") as err:
            dump = b.popen(["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w",
                            str(tmp / "na.pcap"), "icmp6 and ip6[40] == 136"], stderr=err)
        while b"listening" not in (tmp / "td.err").read_bytes():
            assert time.monotonic() < deadline + 5, "tcpdump did not start"
            time.sleep(0.02)

        async def main() -> None:
            sock = VrrpSocket6("eth0", netns=b.ns)
            assert sock.src is not None
            got: list[Received] = []
            sock.start(got.append)
            start_keepalived(a, tmp, KA_V3_6.format(vip=vip))
            r = await first(got, 8.0)
            adv = decode_ipv6(r.data, src=r.src, dst=r.dst, hop_limit=r.ttl)
            assert (adv.version, adv.vrid, adv.priority, adv.addresses) == (3, 62, 255, (vip,))
            assert adv.src == link_local_of("eth0", a.ns) and adv.dst == "ff02::12"
            assert r.ttl == 255 and r.tos == 0xC0  # keepalived's traffic class
            assert await until(lambda: has_addr(a, vip), 3.0)
            for _ in range(6):
                msg = encode_ipv6(version=3, vrid=62, priority=255, adver_int=100,
                                  addresses=[vip], src=sock.src)
                assert sock.send(msg, "ff02::12") is None
                if await until(lambda: not has_addr(a, vip), 0.5):
                    break
            sock.close()

        asyncio.run(main())
        log = (tmp / "ka.log").read_text() + (tmp / "ka.err").read_text()
        assert not has_addr(a, vip), log
        assert f"Master received advert from {link_local_of('eth0', b.ns)} with higher " \
            "priority 255" in log, log
        dump.terminate()
        dump.wait(5)
        # keepalived's unsolicited NAs for its VIP are byte-for-byte what we build
        frames = read_pcap(tmp / "na.pcap")
        assert frames, "keepalived sent no unsolicited NA"
        assert all(f == build_unsolicited_na(a.mac, vip) for f in frames), frames[0].hex()


KA_NO_ACCEPT = """global_defs {
    vrrp_version 3
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 63
    priority 200
    advert_int 0.1
    no_accept
    virtual_ipaddress {
        10.90.1.200/24
        10.90.1.201/24
    }
}
vrrp_instance VI_6 {
    state BACKUP
    interface eth0
    virtual_router_id 64
    priority 200
    advert_int 0.1
    no_accept
    virtual_ipaddress {
        fe80::200/64
        fd90:1::200/64
    }
}
"""


@pytest.mark.parametrize("vmac", [False, True])
def test_no_accept_tables_identical_to_keepalived(tmp: Path, vmac: bool) -> None:
    """keepalived (a non-owner MASTER with no_accept, with or without use_vmac) and our
    Firewall holding the same VIPs and VMACs produce the same ``nft list ruleset``."""
    from pykeepalived.net.addresses import AddressManager
    from pykeepalived.net.firewall import Firewall
    from pykeepalived.net.vmac import Vmac, create_vmac

    conf = KA_NO_ACCEPT.replace("no_accept", "no_accept\n    use_vmac") if vmac else \
        KA_NO_ACCEPT
    with Lab("pknt", ipv6=True) as lab:
        a = lab.add_host("a", ["10.90.1.1/24", "fd90:1::1/64"])
        b = lab.add_host("b", ["10.90.1.2/24", "fd90:1::2/64"])
        start_keepalived(a, tmp, conf)
        deadline = time.monotonic() + 8
        theirs = ""
        while time.monotonic() < deadline:
            theirs = a.run(["nft", "list", "ruleset"]).stdout
            if "10.90.1.201" in theirs and "fd90:1::200" in theirs and "fe80::200" in theirs:
                break
            time.sleep(0.1)
        assert "fd90:1::200" in theirs, theirs

        async def main() -> str:
            fw = Firewall(netns=b.ns)
            assert (await fw.setup()).ok
            ll_dev = "eth0"
            if vmac:
                async with AddressManager(b.ns) as am:
                    for fam, vrid in ((4, 63), (6, 64)):
                        v = Vmac(parent="eth0", vrid=vrid, family=fam)
                        assert (await create_vmac(am, v)).ok
                        assert (await fw.add_vmac(v.ifname, "eth0", fam)).ok
                ll_dev = "vrrp.64"
            assert (await fw.block(["10.90.1.200", "10.90.1.201"])).ok
            assert (await fw.block(["fe80::200", "fd90:1::200"], ifname=ll_dev)).ok
            ruleset = b.run(["nft", "list", "ruleset"]).stdout
            if vmac:
                assert not (await fw.add_vmac("vrrp.63", "eth0", 4)).changed
                for name in ("vrrp.63", "vrrp.64"):
                    r = await fw.remove_vmac(name)
                    assert r.ok and r.changed, r
                for fam in ("ip", "ip6"):
                    m = b.run(["nft", "list", "map", fam, "keepalived", "vmac_map"]).stdout
                    assert "elements" not in m, m
            fw.close()
            return ruleset

        ours = asyncio.run(main())
        assert normal(ours) == normal(theirs), f"ours:\n{ours}\ntheirs:\n{theirs}"


def normal(ruleset: str) -> list[str]:
    """Whitespace-free tokens, with each set's elements sorted (hash sets list in any order)."""
    def sort_elems(m: re.Match[str]) -> str:
        items = sorted(x.strip() for x in m.group(1).split(","))
        return "elements = { " + ", ".join(items) + " }"

    return re.sub(r"elements = \{([^}]*)\}", sort_elems, ruleset).split()
