"""Link keywords against a real veth: ``interface_up_down_delays`` (a flap shorter than the
down delay changes nothing; a longer cut is a FAULT once the delay has run),
``linkbeat_interfaces`` (the link polled, netlink ignored), ``dynamic_interfaces`` (an
interface made after the start) and the VRRP child's reaction to its own stall
(``timer_expired_backup``).

One lab host ``n1`` whose switch port is taken down and up (the host sees its carrier go and
come back); pykeepalived runs the VRRP child alone, VRRPv3 at 0.2 s.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import daemon_node  # tests/netns/daemon/daemon_node.py
import pytest

from pykeepalived.lab.cluster import locked_lab
from pykeepalived.lab.netns import Host, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.99.17.200"


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with locked_lab("pklk") as lb:
        yield lb.add_host("n1", ["10.99.17.11/24"])


def conf(top: str = "", inst: str = "") -> str:
    return ("global_defs {\n  router_id n1\n}\n" + top
            + "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 17\n  priority 150\n"
            f"  version 3\n  advert_int 0.2\n{inst}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n"
            "}\n")


class Node(daemon_node.Node):
    """The VRRP child alone; ``master``: it holds VIP."""

    def __init__(self, host: Host, run: Path, text: str) -> None:
        super().__init__(host, run, text, children=("-P",))

    def master(self, vip: str = VIP) -> bool:
        return super().master(vip)


@pytest.fixture
def nodes(host: Host) -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for n in started:
        n.stop()
    host.heal()


def test_up_down_delays_ride_out_a_short_flap(host: Host, nodes: list[Node],
                                             tmp_path: Path) -> None:
    """``eth0 0.3 0.1``: three 0.1 s cuts of the link leave the master alone (each held
    change is cancelled when the carrier returns); a 1 s cut keeps the VIP for the 0.3 s
    delay, then is a FAULT; the return is acted on after the 0.1 s up delay."""
    n = Node(host, tmp_path, conf("interface_up_down_delays {\n  eth0 0.3 0.1\n}\n"))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    for _ in range(3):
        host.cut()
        time.sleep(0.1)
        host.heal()
        time.sleep(0.3)
    assert n.master()
    log = n.log()
    assert "Entering FAULT STATE" not in log, log[-3000:]
    assert log.count("eth0: Adding down change delay by 300000") == 3, log[-3000:]
    assert log.count("Delay timer for eth0 cancelled") == 3, log[-3000:]
    t0 = time.monotonic()
    host.cut()
    time.sleep(0.15)
    assert n.master(), "the VIP went before the down delay ran out"
    assert wait_for(lambda: "Entering FAULT STATE" in n.log(), 3), n.log()[-3000:]
    assert time.monotonic() - t0 >= 0.3
    assert not n.master()
    host.heal()
    assert wait_for(n.master, 5), n.log()[-3000:]
    assert "eth0: Adding up change delay by 100000" in n.log()


def test_timer_expired_backup_after_a_stall(host: Host, nodes: list[Node],
                                            tmp_path: Path) -> None:
    """``timer_expired_backup``: the VRRP child stopped for 1 s (far more than 3 intervals
    and a priority-254 peer's skew at 0.2 s) finds its timers late and goes BACKUP instead
    of advertising again; alone on its LAN it is MASTER again one master-down later."""
    n = Node(host, tmp_path, conf(inst="  nopreempt\n  timer_expired_backup\n"))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    vrrp = n.pid("vrrp.pid")
    os.kill(vrrp, signal.SIGSTOP)
    time.sleep(1.0)
    os.kill(vrrp, signal.SIGCONT)
    assert wait_for(lambda: "VRRP thread timer expired" in n.log(), 5), n.log()[-3000:]
    after = n.log().split("VRRP thread timer expired", 1)[1]
    assert "(VI_1) Entering BACKUP STATE" in after.split("Entering MASTER STATE", 1)[0], \
        n.log()[-3000:]
    assert wait_for(lambda: "Entering MASTER STATE" in
                    n.log().split("VRRP thread timer expired", 1)[1], 5), n.log()[-3000:]


def test_linkbeat_polls_the_link_and_ignores_netlink(host: Host, nodes: list[Node],
                                                     tmp_path: Path) -> None:
    """``linkbeat_interfaces { eth0 MII }``: a veth has no MII registers, so keepalived's
    fallback picks ETHTOOL (ETHTOOL_GLINK: the veth's carrier); the link is then polled once
    a second and netlink's up/down reports for it are ignored: a cut is seen as "Linkbeat
    reports eth0 down" (a FAULT), never as "Netlink reports"."""
    n = Node(host, tmp_path, conf("linkbeat_interfaces {\n  eth0 MII\n}\n"))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    log = n.log()
    assert "(eth0): Configured linkbeat type MII not supported, using ETHTOOL" in log, log
    assert "Using MII-BMSR/ETHTOOL NIC polling thread(s)..." in log
    host.cut()
    assert wait_for(lambda: "Linkbeat reports eth0 down" in n.log(), 3), n.log()[-3000:]
    assert wait_for(lambda: not n.master(), 2), n.log()[-3000:]
    assert "Entering FAULT STATE" in n.log()
    host.heal()
    assert wait_for(lambda: "Linkbeat reports eth0 up" in n.log(), 3), n.log()[-3000:]
    assert wait_for(n.master, 5), n.log()[-3000:]
    assert "Netlink reports eth0" not in n.log()


def test_dynamic_interfaces_start_without_the_interface(host: Host, nodes: list[Node],
                                                        tmp_path: Path) -> None:
    """``dynamic_interfaces``: the instance's interface does not exist at start; the
    instance waits in FAULT and, once the interface is made, becomes MASTER on it."""
    host.unplug()
    try:
        n = Node(host, tmp_path, conf().replace("router_id n1\n",
                                                "router_id n1\n  dynamic_interfaces\n"))
        nodes.append(n)
        assert wait_for(lambda: "Entering FAULT STATE" in n.log(), 15), n.log()[-3000:]
        assert "(VI_1) interface eth0 does not exist yet: waiting for it" in n.log()
        time.sleep(0.5)
        assert n.proc.poll() is None
    finally:
        host.replug()
    assert wait_for(n.master, 10), n.log()[-3000:]
    assert n.proc.poll() is None
