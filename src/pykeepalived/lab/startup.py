"""Start-up and stop observation: how soon a daemon is on the wire, and what a TERM leaves.

``watch`` runs in a process of its own (``python -m pykeepalived.lab.startup watch OBS NODE
N``): a raw VRRP socket in the observer's namespace reports the first advert on the wire, an
rtnetlink socket in the node's namespace counts the VIPs (``10.98.0.0/16``) as they are added,
each as a wall-clock time on stdout. ``term_at`` starts a daemon, sends SIGTERM after a given
delay (after a SIGHUP too, for a reload), and reports how long the process tree took to go, the
exit code, whether the parent had to kill a child, and which VIPs and ``keepalived`` nftables
tables were left behind. Both implementations are driven the same way (``lab.cluster``).
"""

from __future__ import annotations

import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

from pykeepalived.lab.cluster import Daemon, _group_alive
from pykeepalived.lab.netns import Host

VIP_NET = (10, 98)  # the VIPs of many_config: 10.98.X.Y
VRRP_GROUP = "224.0.0.18"
_RTMGRP_IPV4_IFADDR = 0x10
_RTM_NEWADDR, _RTM_DELADDR = 20, 21
_IFA_LOCAL = 2


def vip_of(i: int) -> str:
    return f"{VIP_NET[0]}.{VIP_NET[1]}.{i // 250}.{i % 250 + 1}"


def many_config(n: int, advert: float = 1.0, priority: int = 255, no_accept: bool = False,
                per_if: int = 250, state: str = "MASTER") -> str:
    """``n`` VRRPv3 instances, ``per_if`` per interface (``eth0``, then ``eth1``, ...
    see :func:`add_links`), one /32 VIP each; ``no_accept`` makes the daemons build their
    nftables table."""
    out = ["global_defs {\n    router_id startup\n}\n"]
    for i in range(n):
        k = i // per_if
        ifname = f"eth{k}"
        out.append(f"vrrp_instance VI_{i} {{\n    state {state}\n    interface {ifname}\n"
                   f"    virtual_router_id {i % per_if + 1}\n    priority {priority}\n"
                   f"    advert_int {advert:g}\n    version 3\n"
                   + ("    no_accept\n" if no_accept else "")
                   + f"    virtual_ipaddress {{\n        {vip_of(i)}/32\n    }}\n}}\n")
    return "".join(out)


def add_links(host: Host, n: int, per_if: int = 250) -> None:
    """The interfaces ``many_config`` puts instances past the first ``per_if`` on: ``eth1``,
    ``eth2``... each a veth whose peer stays in the host (up, with carrier; their adverts
    reach no one, so equal VRIDs on separate links never meet)."""
    for k in range(1, (n + per_if - 1) // per_if):
        name = f"eth{k}"
        host.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p"],
                 check=False)
        host.run(["ip", "addr", "add", f"10.97.{k}.1/24", "dev", name], check=False)
        for dev in (name, f"{name}p"):
            host.run(["ip", "link", "set", dev, "up"])


def vips_held(host: Host) -> list[str]:
    r = host.run(["ip", "-o", "-4", "addr", "show"], check=False)
    return re.findall(rf"inet ({VIP_NET[0]}\.{VIP_NET[1]}\.\d+\.\d+)/", r.stdout)


def nft_tables(host: Host) -> list[str]:
    r = host.run(["nft", "list", "tables"], check=False)
    return [line.split()[-1] for line in r.stdout.splitlines() if line.startswith("table")]


@dataclass
class TermResult:
    offset: float  # seconds from exec (or from the SIGHUP) to the TERM
    held: int  # VIPs held when the TERM was sent
    gone_after: float | None  # seconds from the TERM until no process of the tree ran
    exit_code: int | None
    killed: bool  # the parent had to SIGKILL a child ("did not stop: killing")
    vips_left: list[str]
    tables_left: list[str]

    @property
    def clean(self) -> bool:
        return not (self.killed or self.vips_left or self.tables_left) and \
            self.gone_after is not None


def term_at(d: Daemon, offset: float, hup_conf: str | None = None, wait_up: float = 30.0,
            limit: float = 10.0, after: str | None = None) -> TermResult:
    """Start ``d``, TERM it ``offset`` s after exec (``after``: after its log shows this
    pattern, or, when it is ``"held"``, once every VIP is held); with ``hup_conf``, first
    wait until all its VIPs are held, write ``hup_conf``, SIGHUP, and TERM ``offset`` s after
    the HUP."""
    if after is not None or hup_conf is not None:
        d.start()
        if after is not None and after != "held":
            d.wait_log(after, wait_up)
        else:
            want = d.conf_text.count("virtual_ipaddress")
            deadline = time.monotonic() + wait_up
            while len(vips_held(d.host)) < want and time.monotonic() < deadline:
                time.sleep(0.05)
        t0 = time.monotonic()
    else:
        t0 = time.monotonic()
        d.start()
    if hup_conf is not None:
        d.write_conf(hup_conf)
        d.signal(signal.SIGHUP)
        t0 = time.monotonic()
    assert d.proc is not None
    held = 0
    if offset >= 0.1:  # counted just before the TERM (an ``ip`` run takes ~10-20 ms)
        time.sleep(max(0.0, t0 + offset - 0.05 - time.monotonic()))
        held = len(vips_held(d.host))
    time.sleep(max(0.0, t0 + offset - time.monotonic()))
    t_term = time.monotonic()
    d.signal(signal.SIGTERM)
    code: int | None
    try:
        code = d.proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        code = None
    gone: float | None = None
    while time.monotonic() - t_term < limit:
        if not _group_alive(d.proc.pid):
            gone = time.monotonic() - t_term
            break
        time.sleep(0.005)
    if code is None or gone is None:
        d.crash()
    res = TermResult(offset, held, gone, code, "did not stop" in d.log_text(), vips_held(d.host),
                     [t for t in nft_tables(d.host) if t == "keepalived"])
    for ip in res.vips_left:  # the next trial starts from a clean namespace
        d.host.run(["ip", "addr", "del", f"{ip}/32", "dev", "eth0"], check=False)
    for t in res.tables_left:
        d.host.run(["nft", "delete", "table", "inet", t], check=False)
    return res


# ------------------------------------------------------------------ the watcher process
def _ifaddr_events(data: bytes) -> list[tuple[bool, bytes]]:
    """(added, IPv4 address) of each RTM_NEWADDR / RTM_DELADDR in a netlink datagram."""
    out: list[tuple[bool, bytes]] = []
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from("IH", data, off)
        if length < 16:
            break
        if kind in (_RTM_NEWADDR, _RTM_DELADDR):
            a = off + 16 + 8  # nlmsghdr, ifaddrmsg
            while a + 4 <= off + length:
                alen, atype = struct.unpack_from("HH", data, a)
                if alen < 4:
                    break
                if atype == _IFA_LOCAL and alen == 8:
                    out.append((kind == _RTM_NEWADDR, data[a + 4:a + 8]))
                a += (alen + 3) & ~3
        off += (length + 3) & ~3
    return out


def watch(observer_ns: str, node_ns: str, want: int, timeout: float = 120.0) -> None:
    """Print ``ready``, then ``advert T`` at the first VRRP packet the observer receives and
    ``vips T`` once ``want`` VIPs are on the node (T: ``time.time()``)."""
    from pykeepalived.daemon.process import enter_netns

    enter_netns(observer_ns)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    mreq = socket.inet_aton(VRRP_GROUP) + socket.inet_aton("0.0.0.0") + struct.pack(
        "i", socket.if_nametoindex("eth0"))  # ip_mreqn: the lab has no multicast route
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    enter_netns(node_ns)
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    nl.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: 1000 adds in a burst
    nl.bind((0, _RTMGRP_IPV4_IFADDR))
    print("ready", flush=True)
    held: set[bytes] = set()
    advert = vips = False
    end = time.monotonic() + timeout
    while not (advert and vips) and time.monotonic() < end:
        r, _, _ = select.select([raw, nl], [], [], 0.5)
        now = time.time()
        if raw in r:
            raw.recv(2048)
            if not advert:
                advert = True
                print(f"advert {now:.6f}", flush=True)
        if nl in r:
            for added, ip in _ifaddr_events(nl.recv(1 << 20)):
                if ip[:2] == bytes(VIP_NET):
                    (held.add if added else held.discard)(ip)
            if not vips and len(held) >= want:
                vips = True
                print(f"vips {now:.6f}", flush=True)


if __name__ == "__main__":  # pragma: no cover - run as the watcher process
    if len(sys.argv) == 5 and sys.argv[1] == "watch":
        watch(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: python -m pykeepalived.lab.startup watch OBSERVER_NS NODE_NS N")
