"""Raw VRRP sockets against the real kernel: two hosts on a bridge, each in its own namespace.

Packets are built by hand here (struct), independently of the codec, so the test checks what
the sockets do to the bytes: TTL 255 and TOS 0xC0 arrive intact, multicast joins happen on the
right interface, multicast loop is off, unicast/multicast filtering, AH on protocol 51, and for
IPv6 the kernel checksum (computed on send, bad ones dropped on receive) and the hop limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from net_pcap import read_pcap  # tests/netns/net/net_pcap.py

from pykeepalived.lab.netns import Lab
from pykeepalived.net.arp import inet_checksum
from pykeepalived.net.links import if_index
from pykeepalived.net.netns import in_netns
from pykeepalived.net.sockets import Received, VrrpSocket4, VrrpSocket6, link_local_of

pytestmark = pytest.mark.netns

A4, B4 = "10.91.0.1", "10.91.0.2"


def ipv4_datagram(src: str, dst: str, payload: bytes, proto: int = 112, ttl: int = 255,
                  ident: int = 7) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), ident, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:]
    return hdr + payload


def vrrp2(vrid: int, prio: int, vip: str) -> bytes:
    msg = struct.pack("!BBBBBBH", 0x21, vrid, prio, 1, 1, 1, 0) + socket.inet_aton(vip)
    msg += b"pass1234"
    return msg[:6] + struct.pack("!H", inet_checksum(msg)) + msg[8:]


def vrrp3_v6(vrid: int, prio: int, vip: str) -> bytes:
    """VRRPv3 message with a zero checksum (the sending socket fills it)."""
    return struct.pack("!BBBBHH", 0x31, vrid, prio, 1, 100, 0) + ipaddress.IPv6Address(
        vip).packed


def v6_checksum(src: str, dst: str, msg: bytes) -> int:
    pseudo = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
              + struct.pack("!I3xB", len(msg), 112))
    return inet_checksum(pseudo + msg[:6] + b"\0\0" + msg[8:])


@pytest.fixture
def lab4() -> Iterator[Lab]:
    with Lab("pkn1") as lab:
        lab.add_host("a", [f"{A4}/24"])
        lab.add_host("b", [f"{B4}/24"])
        yield lab


async def collect(sock: VrrpSocket4 | VrrpSocket6, seconds: float) -> list[Received]:
    got: list[Received] = []
    sock.start(got.append)
    await asyncio.sleep(seconds)
    return got


async def wait_first(got: list[Received], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def test_multicast_v4_ttl_tos_join_and_no_loop(lab4: Lab, tmp_path: Path) -> None:
    a, b = lab4.hosts["a"], lab4.hosts["b"]
    pcap = tmp_path / "b.pcap"
    with open(tmp_path / "td.err", "wb") as err:
        dump = b.popen(["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w", str(pcap),
                        "ip proto 112"], stderr=err)
    deadline = time.monotonic() + 5
    while b"listening" not in (tmp_path / "td.err").read_bytes():
        assert time.monotonic() < deadline, "tcpdump did not start"
        time.sleep(0.02)

    async def main() -> tuple[list[Received], list[Received], int]:
        sa = VrrpSocket4("eth0", netns=a.ns)
        sb = VrrpSocket4("eth0", netns=b.ns)
        got_a: list[Received] = []
        got_b: list[Received] = []
        sa.start(got_a.append)
        sb.start(got_b.append)
        # the group is joined on eth0 of b (kernel view)
        igmp = b.run(["ip", "maddr", "show", "dev", "eth0"]).stdout
        assert "224.0.0.18" in igmp
        pkt = ipv4_datagram(A4, "224.0.0.18", vrrp2(51, 150, "10.91.0.200"))
        assert sa.send(pkt, "224.0.0.18") is None
        await wait_first(got_b)
        await asyncio.sleep(0.2)
        sent = sa.tx_packets
        sa.close()
        sb.close()
        return got_a, got_b, sent

    got_a, got_b, sent = asyncio.run(main())
    time.sleep(0.3)
    dump.terminate()
    dump.wait(5)
    assert got_b, "b received nothing"
    r = got_b[0]
    assert (r.src, r.dst, r.ttl, r.family, r.protocol) == (A4, "224.0.0.18", 255, 4, 112)
    assert r.data[1] == r.tos == 0xC0
    assert r.data[20:] == vrrp2(51, 150, "10.91.0.200")
    assert r.ifindex == if_index("eth0", b.ns)
    assert got_a == [], "multicast loop must be off"
    assert sent >= 1
    # what was on the wire, from the capture
    frames = read_pcap(pcap)
    assert frames, "tcpdump captured nothing"
    ip = frames[0][14:]
    assert ip[1] == 0xC0 and ip[8] == 255 and ip[9] == 112
    assert frames[0][:6] == bytes.fromhex("01005e000012")


def test_unicast_v4_and_mode_filter_and_ah(lab4: Lab) -> None:
    a, b = lab4.hosts["a"], lab4.hosts["b"]

    async def main() -> tuple[list[Received], list[Received], int]:
        sa = VrrpSocket4("eth0", netns=a.ns, unicast=True, ah=True)
        uni = VrrpSocket4("eth0", netns=b.ns, unicast=True, ah=True)
        mc = VrrpSocket4("eth0", netns=b.ns)
        got_u: list[Received] = []
        got_m: list[Received] = []
        uni.start(got_u.append)
        mc.start(got_m.append)
        assert "224.0.0.18" in b.run(["ip", "maddr", "show", "dev", "eth0"]).stdout
        sa.send(ipv4_datagram(A4, B4, vrrp2(7, 100, "10.91.0.201"), ttl=64), B4)
        # an AH datagram: protocol 51 leaves through the AH socket and is received as such
        ah = struct.pack("!BBHII", 112, 4, 0, 0x0A5B0001, 1) + bytes(12)
        sa.send(ipv4_datagram(A4, B4, ah + vrrp2(7, 100, "10.91.0.201"), proto=51), B4)
        sa.send(ipv4_datagram(A4, "224.0.0.18", vrrp2(8, 100, "10.91.0.202")), "224.0.0.18")
        await asyncio.sleep(0.5)
        filtered = mc.rx_filtered + uni.rx_filtered
        for s in (sa, uni, mc):
            s.close()
        return got_u, got_m, filtered

    got_u, got_m, filtered = asyncio.run(main())
    protos = sorted(r.protocol for r in got_u)
    assert protos == [51, 112], got_u
    vr = next(r for r in got_u if r.protocol == 112)
    assert (vr.src, vr.dst, vr.ttl) == (A4, B4, 64)
    assert [r.dst for r in got_m] == ["224.0.0.18"], \
        "a multicast socket must deliver multicast adverts only"
    # each socket's kernel filter dropped the other mode's datagram: none was read to be
    # discarded (a multicast and a unicast socket share a link with heartbeat paths)
    assert filtered == 0


@pytest.fixture
def lab6() -> Iterator[Lab]:
    with Lab("pkn2", ipv6=True) as lab:
        lab.add_host("a", ["fd91::1/64"])
        lab.add_host("b", ["fd91::2/64"])
        yield lab


def wait_link_local(lab: Lab) -> None:
    from pykeepalived.net.sockets import link_local_of
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(link_local_of("eth0", h.ns) for h in lab.hosts.values()):
            return
        time.sleep(0.05)
    raise AssertionError("no link-local address")


def test_ipv6_hop_limit_kernel_checksum_and_bad_checksum_dropped(lab6: Lab) -> None:
    a, b = lab6.hosts["a"], lab6.hosts["b"]
    wait_link_local(lab6)

    async def main() -> tuple[list[Received], str, str]:
        sa = VrrpSocket6("eth0", netns=a.ns)
        sb = VrrpSocket6("eth0", netns=b.ns)
        assert sa.src is not None and sa.src.startswith("fe80")
        got: list[Received] = []
        sb.start(got.append)
        assert "ff02::12" in b.run(["ip", "-6", "maddr", "show", "dev", "eth0"]).stdout
        msg = vrrp3_v6(51, 150, "fd91::200")
        assert sa.send(msg, "ff02::12") is None
        await wait_first(got)
        good = list(got)
        got.clear()
        # A plain raw socket (no IPV6_CHECKSUM): the kernel sends what we give it.
        with in_netns(a.ns):
            plain = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
        plain.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
        plain.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        idx = sa.ifindex
        plain.bind((sa.src, 0, 0, idx))
        csum = v6_checksum(sa.src, "ff02::12", msg)
        bad = msg[:6] + struct.pack("!H", csum ^ 0x5A5A) + msg[8:]
        plain.sendto(bad, ("ff02::12", 0, 0, idx))
        await asyncio.sleep(0.4)
        after_bad = list(got)
        fixed = msg[:6] + struct.pack("!H", csum) + msg[8:]
        plain.sendto(fixed, ("ff02::12", 0, 0, idx))
        await wait_first(got)
        plain.close()
        sa.close()
        sb.close()
        assert after_bad == [], "a corrupted checksum must be dropped by the kernel"
        assert got, "the same packet with a correct checksum must arrive"
        return good, sa.src, "ok"

    good, src, _ = asyncio.run(main())
    assert good, "b received nothing"
    r = good[0]
    assert (r.src, r.dst, r.ttl, r.family, r.tos) == (src, "ff02::12", 255, 6, 0xC0)
    # the kernel filled in the checksum of what it sent
    wire_csum = struct.unpack("!H", r.data[6:8])[0]
    assert wire_csum == v6_checksum(src, "ff02::12", r.data)
    assert r.data[8:] == vrrp3_v6(51, 150, "fd91::200")[8:]


def test_ipv6_unicast_hop_limit(lab6: Lab) -> None:
    a, b = lab6.hosts["a"], lab6.hosts["b"]
    wait_link_local(lab6)

    async def main() -> list[Received]:
        sa = VrrpSocket6("eth0", netns=a.ns, unicast=True, src="fd91::1", hop_limit=42)
        sb = VrrpSocket6("eth0", netns=b.ns, unicast=True)
        got: list[Received] = []
        sb.start(got.append)
        for _ in range(3):  # the first may wait on neighbour resolution
            sa.send(vrrp3_v6(9, 100, "fd91::201"), "fd91::2")
            await wait_first(got, 1.0)
            if got:
                break
        # a link-local unicast peer needs the interface as scope: the socket supplies it
        ll_b = link_local_of("eth0", b.ns)
        assert ll_b is not None
        n = len(got)
        assert sa.send(vrrp3_v6(9, 100, "fd91::201"), ll_b) is None
        deadline = time.monotonic() + 2
        while len(got) == n and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        sa.close()
        sb.close()
        return got

    got = asyncio.run(main())
    assert got
    assert (got[0].src, got[0].dst, got[0].ttl) == ("fd91::1", "fd91::2", 42)
    assert got[-1].dst == link_local_of("eth0", b.ns) and got[-1].src == "fd91::1"


def test_constructor_error_for_missing_interface_and_send_after_close(lab4: Lab) -> None:
    with pytest.raises(OSError), contextlib.closing(
            VrrpSocket4("nosuch0", netns=lab4.hosts["a"].ns)):
        pass
    s4 = VrrpSocket4("eth0", netns=lab4.hosts["a"].ns)
    s4.close()
    s4.close()
    assert isinstance(s4.send(ipv4_datagram(A4, B4, b"x"), B4), OSError)
    assert s4.closed and s4.tx_errors == 1


def test_sockets_opened_on_a_down_interface_work_once_it_is_up() -> None:
    """The daemon may start while its interface is down (FAULT): opening must not fail, sends
    fail as values, and after the link comes up the IPv6 link-local source is picked up and the
    group memberships made while down are in force."""
    with Lab("pknd", ipv6=True) as lab:
        a = lab.add_host("a", ["10.91.5.1/24", "fd91:5::1/64"])
        b = lab.add_host("b", ["10.91.5.2/24", "fd91:5::2/64"])
        a.run(["ip", "link", "set", "eth0", "down"])

        async def main() -> tuple[list[Received], list[Received]]:
            a4 = VrrpSocket4("eth0", netns=a.ns)
            a6 = VrrpSocket6("eth0", netns=a.ns)
            assert a6.src is None  # no link-local while down
            assert isinstance(a4.send(ipv4_datagram("10.91.5.1", "224.0.0.18",
                                                    vrrp2(5, 100, "10.91.5.200")),
                                      "224.0.0.18"), OSError)
            assert isinstance(a6.send(vrrp3_v6(5, 100, "fd91:5::200"), "ff02::12"), OSError)
            assert a4.tx_errors == 1 and a6.tx_errors == 1
            a.run(["ip", "link", "set", "eth0", "up"])
            got4: list[Received] = []
            got6: list[Received] = []
            a4.start(got4.append)
            a6.start(got6.append)
            b4 = VrrpSocket4("eth0", netns=b.ns)
            b6 = VrrpSocket6("eth0", netns=b.ns)
            deadline = time.monotonic() + 5
            while not (b6.src and link_local_of("eth0", a.ns)):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            b4.send(ipv4_datagram("10.91.5.2", "224.0.0.18", vrrp2(5, 100, "10.91.5.200")),
                    "224.0.0.18")
            b6.send(vrrp3_v6(5, 100, "fd91:5::200"), "ff02::12")
            await wait_first(got4)
            await wait_first(got6)
            assert a6.send(vrrp3_v6(5, 100, "fd91:5::200"), "ff02::12") is None
            assert a6.src == link_local_of("eth0", a.ns)
            for s in (a4, a6, b4, b6):
                s.close()
            return got4, got6

        got4, got6 = asyncio.run(main())
        assert got4[0].src == "10.91.5.2" and got6[0].src == link_local_of("eth0", b.ns)


def test_configured_group_and_interface_binding(lab4: Lab) -> None:
    """``vrrp_mcast_group4`` / ``mcast_dst_ip``: the socket joins the configured group (not
    224.0.0.18) and delivers adverts sent to it only; a socket bound to another interface of the
    same host delivers nothing that arrived on eth0. The daemon's choice of group follows
    keepalived: the instance's ``mcast_dst_ip``, else the global ``vrrp_mcast_group4/6``."""
    from pykeepalived.config.model import GlobalDefs, VrrpInstance
    from pykeepalived.daemon.settings import mcast_group

    g = GlobalDefs(vrrp_mcast_group4="224.0.0.99")
    assert mcast_group(VrrpInstance("V", family=4), GlobalDefs()) == "224.0.0.18"
    assert mcast_group(VrrpInstance("V", family=6), GlobalDefs()) == "ff02::12"
    assert mcast_group(VrrpInstance("V", family=4), g) == "224.0.0.99"
    assert mcast_group(VrrpInstance("V", family=4, mcast_dst_ip="224.0.0.77"), g) == "224.0.0.77"

    a, b = lab4.hosts["a"], lab4.hosts["b"]
    b.run(["ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1"])
    for ifname in ("dum0", "dum1"):
        b.run(["ip", "link", "set", ifname, "up"])
    grp = "224.0.0.99"

    async def main() -> tuple[list[Received], list[Received]]:
        sa = VrrpSocket4("eth0", netns=a.ns, group=grp)
        sb = VrrpSocket4("eth0", netns=b.ns, group=grp)
        other = VrrpSocket4("dum0", netns=b.ns)  # default group, on another interface
        got_b: list[Received] = []
        got_o: list[Received] = []
        sb.start(got_b.append)
        other.start(got_o.append)
        maddr = b.run(["ip", "maddr", "show", "dev", "eth0"]).stdout
        assert grp in maddr and "224.0.0.18" not in maddr, maddr
        assert "224.0.0.18" in b.run(["ip", "maddr", "show", "dev", "dum0"]).stdout
        sa.send(ipv4_datagram(A4, "224.0.0.18", vrrp2(9, 100, "10.91.0.209")), "224.0.0.18")
        sa.send(ipv4_datagram(A4, grp, vrrp2(8, 100, "10.91.0.208")), grp)
        deadline = time.monotonic() + 2
        while not got_b and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        for s in (sa, sb, other):
            s.close()
        return got_b, got_o

    got_b, got_o = asyncio.run(main())
    assert [(r.dst, r.data[21]) for r in got_b] == [(grp, 8)], got_b
    assert got_o == [], "a socket bound to dum0 delivered adverts that arrived on eth0"
