"""GARP and unsolicited NA move a client's neighbour entry to the new owner's MAC.

The failover case: a client has resolved the VIP to host b; the VIP moves to host a, which
announces it; the client's entry must switch to a's MAC at once (no waiting for ARP/ND expiry).
The GARP as captured on the client must be byte-for-byte the frame keepalived sends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from net_pcap import read_pcap  # tests/netns/net/net_pcap.py

from pykeepalived.lab.netns import Host, Lab
from pykeepalived.net.arp import Announcer, build_garp

pytestmark = pytest.mark.netns


def neigh_mac(client: Host, ip: str) -> str | None:
    out = client.run(["ip", "-j", "neigh", "show", "to", ip, "dev", "eth0"]).stdout
    for n in json.loads(out or "[]"):
        if n.get("dst") == ip and n.get("lladdr"):
            return str(n["lladdr"])
    return None


def wait_mac(client: Host, ip: str, mac: str, timeout: float = 2.0) -> str | None:
    deadline = time.monotonic() + timeout
    seen = neigh_mac(client, ip)
    while seen != mac and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = neigh_mac(client, ip)
    return seen


def test_garp_moves_client_arp_entry(tmp_path: Path) -> None:
    vip = "10.97.0.200"
    with Lab("pkn4") as lab:
        a = lab.add_host("a", ["10.97.0.1/24"])
        b = lab.add_host("b", ["10.97.0.2/24"])
        c = lab.add_host("c", ["10.97.0.100/24"])
        b.run(["ip", "addr", "add", f"{vip}/24", "dev", "eth0"])
        assert c.run(["ping", "-c1", "-W2", vip], check=False).returncode == 0
        assert neigh_mac(c, vip) == b.mac
        # failover: the VIP moves from b to a, a announces it
        b.run(["ip", "addr", "del", f"{vip}/24", "dev", "eth0"])
        a.run(["ip", "addr", "add", f"{vip}/24", "dev", "eth0"])
        pcap = tmp_path / "c.pcap"
        with open(tmp_path / "td.err", "wb") as err:
            dump = c.popen(["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w", str(pcap),
                            "arp"], stderr=err)
        deadline = time.monotonic() + 5
        while b"listening" not in (tmp_path / "td.err").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert neigh_mac(c, vip) == b.mac  # nothing else has told the client yet
        with Announcer("eth0", netns=a.ns) as ann:
            assert ann.mac == a.mac
            assert ann.garp(vip) is None
            assert wait_mac(c, vip, a.mac) == a.mac
            # a VMAC-style announcement: the learned MAC is the one in the frame
            assert ann.garp(vip, mac="00:00:5e:00:01:33") is None
            assert wait_mac(c, vip, "00:00:5e:00:01:33") == "00:00:5e:00:01:33"
        time.sleep(0.2)
        dump.terminate()
        dump.wait(5)
        frames = read_pcap(pcap)
        assert frames[0] == build_garp(a.mac, vip)
        # keepalived's shape: broadcast, ARP request, sender IP = target IP, target MAC bcast
        assert frames[0][:6] == b"\xff" * 6 and frames[0][20:22] == b"\x00\x01"
        assert frames[0][28:32] == frames[0][38:42] and frames[0][32:38] == b"\xff" * 6
        assert len(frames[0]) == 42


def test_unsolicited_na_moves_client_neighbour() -> None:
    vip = "fd97::200"
    with Lab("pkn5", ipv6=True) as lab:
        a = lab.add_host("a", ["fd97::1/64"])
        b = lab.add_host("b", ["fd97::2/64"])
        c = lab.add_host("c", ["fd97::100/64"])
        b.run(["ip", "addr", "add", f"{vip}/64", "dev", "eth0", "nodad"])
        ok = False
        for _ in range(20):
            if c.run(["ping", "-6", "-c1", "-W1", vip], check=False).returncode == 0:
                ok = True
                break
            time.sleep(0.1)
        assert ok
        assert neigh_mac(c, vip) == b.mac
        b.run(["ip", "addr", "del", f"{vip}/64", "dev", "eth0"])
        a.run(["ip", "addr", "add", f"{vip}/64", "dev", "eth0", "nodad"])
        time.sleep(0.3)
        assert neigh_mac(c, vip) == b.mac  # the kernel announced nothing by itself
        with Announcer("eth0", netns=a.ns) as ann:
            assert ann.unsolicited_na(vip) is None
            assert wait_mac(c, vip, a.mac) == a.mac
            assert ann.sent == 1 and ann.errors == 0
