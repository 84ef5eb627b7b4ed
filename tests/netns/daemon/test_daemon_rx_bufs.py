"""``vrrp_rx_bufs_policy`` and ``vrrp_rx_bufs_multiplier``: the VRRP receive socket's SO_RCVBUF,
read back from the socket itself, is what keepalived 2.2.7 sets for the same configuration
(each policy run by both implementations side by side in one lab) and what its formula says:
the multiplier times the interface's MTU, times the advert's length, or the size given."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pidfd_sockets import dup_sockets

from pykeepalived.lab.cluster import Daemon
from pykeepalived.lab.netns import Lab

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

CONF = """global_defs {{
    {policy}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        10.90.2.200/24
        10.90.2.201/24
    }}
}}
"""
# (global_defs lines, SO_RCVBUF as read back: the kernel doubles what it is given)
POLICIES = {
    "mtu": ("vrrp_rx_bufs_policy MTU\n    vrrp_rx_bufs_multiplier 4", 2 * 4 * 1500),
    # IPv4 header 20 + VRRP header 8 + v2 authentication data 8 + 2 addresses 8 = 44 bytes
    "advert": ("vrrp_rx_bufs_policy ADVERT\n    vrrp_rx_bufs_multiplier 100", 2 * 100 * 44),
    "size": ("vrrp_rx_bufs_policy 100000", 2 * 100000),
    "mtu 1400": ("(the mtu daemons after their interface's MTU went to 1400)", 2 * 4 * 1400),
}


def vrrp_rcvbufs(pid: int) -> dict[str, int]:
    """SO_RCVBUF of each raw IPPROTO_VRRP socket of ``pid`` by its bound address (hex, as
    /proc/net/raw shows it)."""
    bound = {}
    for line in Path(f"/proc/{pid}/net/raw").read_text().splitlines()[1:]:
        f = line.split()
        addr, port = f[1].split(":")
        if int(port, 16) == 112:
            bound[int(f[9])] = addr
    return {bound[inode]: s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            for inode, s in dup_sockets(pid) if inode in bound}


def receive_buf(d: Daemon) -> int | None:
    """The receive socket's buffer: keepalived reads on a socket bound to 224.0.0.18 (its
    send socket keeps the default); pykeepalived reads and sends on one socket."""
    try:
        pid = int(Path(d.run_dir, "vrrp.pid").read_text())
        bufs = vrrp_rcvbufs(pid)
    except (OSError, ValueError):
        return None
    if d.impl == "ka":
        return bufs.get("120000E0")
    return next(iter(bufs.values())) if len(bufs) == 1 else None


@pytest.fixture(scope="module")
def measured() -> Iterator[dict[tuple[str, str], int | None]]:
    """Every policy under both implementations at once, one lab host each."""
    with Lab("pkrx") as lab:
        daemons = {}
        for i, (name, (policy, _want)) in enumerate(list(POLICIES.items())[:3]):
            for j, impl in enumerate(("ka", "py")):
                n = 2 * i + j
                h = lab.add_host(f"{impl}{name[:2]}", [f"10.90.2.{n + 1}/24"])
                d = daemons[name, impl] = Daemon(h, impl, CONF.format(policy=policy,
                                                                      vrid=70 + n))
                d.start()
        got: dict[tuple[str, str], int | None] = {}
        deadline = time.monotonic() + 15
        while len(got) < len(daemons) and time.monotonic() < deadline:
            for k, d in daemons.items():
                # sized by the time the instance has a state (its socket is open by then)
                if k not in got and d.state() and (b := receive_buf(d)) is not None:
                    got[k] = b
            time.sleep(0.1)
        # the MTU policy follows an MTU change
        for impl in ("ka", "py"):
            daemons["mtu", impl].host.run(["ip", "link", "set", "eth0", "mtu", "1400"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for impl in ("ka", "py"):
                got["mtu 1400", impl] = receive_buf(daemons["mtu", impl])
            if all(got["mtu 1400", i] == 2 * 4 * 1400 for i in ("ka", "py")):
                break
            time.sleep(0.1)
        for d in daemons.values():
            d.stop()
        yield got


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_vrrp_rx_bufs_policy_as_keepalived(
        measured: dict[tuple[str, str], int | None], policy: str) -> None:
    """vrrp_rx_bufs_policy (with vrrp_rx_bufs_multiplier) sizes the receive socket."""
    want = POLICIES[policy][1]
    assert measured.get((policy, "ka")) == want, measured
    assert measured.get((policy, "py")) == want, measured
