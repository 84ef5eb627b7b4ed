"""VRRP global and instance keywords whose effect is outside the wire's adverts, read back
where they land: the start delayed after boot (a time namespace makes the system look freshly
booted), IGMP reports of link-local groups (the sysctl and the reports on the wire), the notify
FIFO on reload, gratuitous ARPs on a VIP's extra interface every ``garp_extra_if`` seconds.

One lab host ``n1`` (lab ``pkvk``); pykeepalived runs the VRRP child only, v3 at 0.1 s.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import locked_lab
from pykeepalived.lab.measure import AdvertCapture, Recorder
from pykeepalived.lab.netns import Host, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.99.14.200"
IGMP_SYSCTL = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with locked_lab("pkvk") as lb:
        yield lb.add_host("n1", ["10.99.14.11/24"])


def conf(glob: str = "", inst: str = "", top: str = "") -> str:
    return (f"global_defs {{\n  router_id n1\n{glob}\n}}\n{top}\n"
            "vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 14\n"
            f"  priority 150\n  version 3\n  advert_int 0.1\n{inst}\n"
            f"  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n")


class Node:
    """pykeepalived (VRRP child only) in the lab host, logging to a file; ``wrap`` goes in
    front of the command (e.g. ``unshare`` into a time namespace)."""

    def __init__(self, host: Host, run: Path, text: str, wrap: tuple[str, ...] = ()) -> None:
        self.host, self.run = host, run
        self.conf = run / "keepalived.conf"
        self.conf.write_text(text)
        self.out = run / "out.log"
        cmd = [*wrap, sys.executable, "-m", "pykeepalived", "-P", "-n", "-l", "-D", "-G",
               "-f", str(self.conf), "-p", f"{run}/ka.pid", "-r", f"{run}/vrrp.pid"]
        with open(self.out, "wb") as f:
            self.proc = host.popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL,
                                   env=dict(os.environ, PYTHONUNBUFFERED="1"))

    def log(self) -> str:
        return self.out.read_text(errors="replace")

    def logged_at(self, phrase: str) -> float | None:
        """Wall-clock time of the first log line holding ``phrase`` (console lines carry
        microseconds)."""
        for line in self.log().splitlines():
            if phrase in line:
                stamp = line.split(": ", 1)[0]
                return datetime.strptime(stamp, "%a %b %d %H:%M:%S.%f %Y").timestamp()
        return None

    def master(self) -> bool:
        r = self.host.run(["ip", "-o", "addr", "show", "dev", "eth0"])
        return f"inet {VIP}/" in r.stdout

    def stop(self) -> None:
        if self.proc.poll() is None:
            pid = self.run / "ka.pid"  # the daemon itself: a wrapper may ignore TERM
            text = pid.read_text().strip() if pid.exists() else ""
            if text:
                os.kill(int(text), signal.SIGTERM)
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@pytest.fixture
def nodes(host: Host) -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for n in started:
        n.stop()
    host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)


class FreshBoot:
    """A command prefix (``wrap``) that runs in a time namespace whose /proc/uptime read
    ``about`` seconds when it was made; ``uptime(t)`` is what it reads at wall time ``t``
    (the offset is whole seconds)."""

    def __init__(self, about: float) -> None:
        real, self.at = float(Path("/proc/uptime").read_text().split()[0]), time.time()
        self.offset = int(about - real)
        self.base = real + self.offset
        self.wrap = ("unshare", "--fork", "--time", "--boottime", str(self.offset))

    def uptime(self, t: float) -> float:
        return self.base + (t - self.at)


def test_vrrp_delay_after_boot_delays_only_a_fresh_boot(host: Host, nodes: list[Node],
                                                        tmp_path: Path) -> None:
    """On a system up for about a second, ``vrrp_delay_after_boot 5`` holds the start back
    until 5 s after boot: the delay logged is what was left then, and no advert leaves
    before it ends. On this machine (up far longer than 5 s) the same keyword delays
    nothing."""
    cap = AdvertCapture(host)
    boot = FreshBoot(0.5)
    fresh = Node(host, tmp_path, conf("  vrrp_delay_after_boot 5"), boot.wrap)
    nodes.append(fresh)
    assert wait_for(fresh.master, 15), fresh.log()[-3000:]
    adverts = cap.finish()
    said = re.search(r"Delaying startup for ([\d.]+) seconds", fresh.log())
    assert said is not None, fresh.log()[-3000:]
    delay = float(said.group(1))
    t_delay = fresh.logged_at("Delaying startup")
    assert t_delay is not None
    assert abs(delay - (5 - boot.uptime(t_delay))) < 0.1, (delay, boot.uptime(t_delay))
    first = min(a.t for a in adverts if a.vrid == 14)
    assert first >= t_delay + delay - 0.05, (first - t_delay, delay)
    fresh.stop()
    host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)

    run2 = tmp_path / "long-up"
    run2.mkdir()
    old = Node(host, run2, conf("  vrrp_delay_after_boot 5"))
    nodes.append(old)
    assert wait_for(old.master, 15), old.log()[-3000:]
    assert "Delaying startup" not in old.log()


JOIN = "gaddr 224.0.0.18 to_ex"  # an IGMPv3 report joining the VRRP group (a leave: to_in)


def igmp_capture(host: Host) -> Recorder:
    rec = Recorder(host, ["tcpdump", "-i", "eth0", "-nn", "-v", "-l", "--immediate-mode",
                          "igmp"])  # -v: the group records
    assert wait_for(lambda: "listening on" in Path(rec.path).read_text(errors="replace"), 3)
    return rec


def test_disable_local_igmp_silences_the_vrrp_group_join(host: Host, nodes: list[Node],
                                                         tmp_path: Path) -> None:
    """``disable_local_igmp`` turns the namespace's igmp_link_local_mcast_reports off while
    the daemon runs (read back from /proc) and on again when it stops: joining 224.0.0.18
    sends no IGMP report then; the same start without the keyword sends one. (Leaves are not
    counted: an earlier test's daemon may still be repeating its own.)"""
    def reports() -> str:
        return host.run(["cat", IGMP_SYSCTL]).stdout.strip()

    assert reports() == "1"
    cap = igmp_capture(host)
    quiet = Node(host, tmp_path, conf("  disable_local_igmp"))
    nodes.append(quiet)
    assert wait_for(quiet.master, 15), quiet.log()[-3000:]
    assert reports() == "0"
    time.sleep(0.3)
    quiet.stop()
    assert reports() == "1"
    heard = cap.stop()
    assert JOIN not in heard, heard
    host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)

    cap = igmp_capture(host)
    run2 = tmp_path / "control"
    run2.mkdir()
    loud = Node(host, run2, conf())
    nodes.append(loud)
    assert wait_for(loud.master, 15), loud.log()[-3000:]
    assert wait_for(lambda: JOIN in Path(cap.path).read_text(errors="replace"), 3)
    cap.stop()


class FifoReader:
    """The read end of a FIFO made before the daemon starts (it writes, we read)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.text = ""

    def read(self) -> str:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.text += chunk.decode()
        return self.text

    def close(self) -> None:
        os.close(self.fd)


def test_fifo_write_vrrp_states_on_reload(host: Host, nodes: list[Node],
                                          tmp_path: Path) -> None:
    """A reload writes each sync group's state and each kept instance's but a MASTER's to the
    notify FIFO (what keepalived 2.2.7 writes, observed: a MASTER kept through a reload gets
    no line); without the keyword a reload writes nothing."""
    host.run(["ip", "link", "add", "dn0", "type", "veth", "peer", "name", "dn0p"], check=False)
    fifo = FifoReader(tmp_path / "fifo")
    top = ("vrrp_sync_group G1 {\n  group {\n    VI_1\n  }\n}\n"
           "vrrp_sync_group G2 {\n  group {\n    VI_F\n  }\n}\n"
           "vrrp_instance VI_F {\n  interface eth0\n  virtual_router_id 15\n  priority 100\n"
           "  version 3\n  advert_int 0.1\n  track_interface {\n    dn0\n  }\n"
           "  virtual_ipaddress {\n    10.99.14.201/24\n  }\n}\n")
    glob = f"  notify_fifo {tmp_path}/fifo\n"
    n = Node(host, tmp_path, conf(glob + "  fifo_write_vrrp_states_on_reload", top=top))
    nodes.append(n)
    try:
        assert wait_for(lambda: 'GROUP "G1" MASTER 0' in fifo.read(), 15), n.log()[-3000:]
        before = fifo.read()
        n.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "Reload finished" in n.log(), 10), n.log()[-3000:]
        assert wait_for(lambda: fifo.read() != before, 3)
        time.sleep(0.2)
        assert fifo.read()[len(before):] == ('GROUP "G1" MASTER 0\nGROUP "G2" FAULT 0\n'
                                            'INSTANCE "VI_F" FAULT 100\n')
        n.conf.write_text(conf(glob, top=top))
        before = fifo.read()
        n.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: n.log().count("Reload finished") == 2, 10), n.log()[-3000:]
        time.sleep(0.2)
        assert fifo.read() == before
    finally:
        fifo.close()
        host.run(["ip", "link", "del", "dn0"], check=False)


def garps(host: Host, ifname: str) -> Recorder:
    """``tcpdump -tt -e`` of ARP frames on ``ifname`` of the host."""
    rec = Recorder(host, ["tcpdump", "-i", ifname, "-nn", "-tt", "-e", "-l", "--immediate-mode",
                          "arp"])
    assert wait_for(lambda: "listening on" in Path(rec.path).read_text(errors="replace"), 3)
    return rec


def garp_times(text: str, ip: str, mac: str | None = None) -> list[float]:
    """Capture times of the gratuitous ARPs for ``ip`` (from ``mac``, when given)."""
    garp = re.compile(rf"who-has {re.escape(ip)} (\(\S+\) )?tell {re.escape(ip)},")
    return [float(line.split()[0]) for line in text.splitlines()
            if garp.search(line) and (mac is None or line.split()[1] == mac)]


@pytest.fixture
def eth1(host: Host) -> Iterator[str]:
    """A second interface in ``n1`` (``eth1``), its frames read on its peer ``eth1p``."""
    host.run(["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"])
    for dev in ("eth1", "eth1p"):
        host.run(["ip", "link", "set", dev, "up"])
    host.run(["ip", "addr", "add", "10.99.15.11/24", "dev", "eth1"])
    yield "eth1p"
    host.run(["ip", "link", "del", "eth1"], check=False)


def test_garp_extra_if_repeats_on_the_other_interfaces(host: Host, nodes: list[Node],
                                                       eth1: str, tmp_path: Path) -> None:
    """``garp_extra_if all 1``: while MASTER, one gratuitous ARP a second on each interface a
    VIP lives on other than the advert's: ``eth1`` (a VIP ``dev eth1``) and, with
    ``vmac_xmit_base``, the instance's own VMAC (from its virtual MAC, seen on ``eth0``).
    Which interfaces qualify without ``all`` (only VMACs) is in
    ``tests/unit/vrrp/test_vrrp_garp_extra_if.py``."""
    inst = ("  garp_master_repeat 1\n  garp_master_delay 0\n  garp_extra_if all 1\n"
            "  use_vmac\n  vmac_xmit_base\n")
    cap1, cap0 = garps(host, eth1), garps(host, "eth0")
    n = Node(host, tmp_path, conf(inst=inst).replace(
        f"    {VIP}/24\n", f"    {VIP}/24\n    10.99.15.200/24 dev eth1\n"))
    nodes.append(n)
    assert wait_for(lambda: "Entering MASTER STATE" in n.log(), 15), n.log()[-3000:]
    time.sleep(2.5)
    n.stop()
    on_eth1 = garp_times(cap1.stop(), "10.99.15.200")
    on_vmac = garp_times(cap0.stop(), VIP, "00:00:5e:00:01:0e")
    for times in (on_eth1, on_vmac):  # the takeover's, then one a second
        assert len(times) >= 3, (on_eth1, on_vmac)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(1.0 <= g < 1.35 for g in gaps), gaps  # each at the first advert after


def test_use_vmac_addr_puts_a_vip_on_another_interface_on_a_vmac(
        host: Host, nodes: list[Node], eth1: str, tmp_path: Path) -> None:
    """``use_vmac_addr``: the VIP ``dev eth1`` of an instance on ``eth0`` lives on a VMAC of
    the instance's VRID made on ``eth1`` and named with ``vmac_addr_prefix``; it is announced
    from the virtual MAC, and the VMAC is deleted when the daemon stops. The instance's own
    VIP stays on ``eth0``."""
    cap = garps(host, eth1)
    n = Node(host, tmp_path, conf("  vmac_addr_prefix vaddr", inst="  use_vmac_addr\n").replace(
        f"    {VIP}/24\n", f"    {VIP}/24\n    10.99.15.200/24 dev eth1\n"))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    link = host.run(["ip", "-d", "-o", "link", "show", "vaddr.14"], check=False).stdout
    assert "vaddr.14@eth1" in link and "link/ether 00:00:5e:00:01:0e" in link, link
    assert "macvlan mode private" in link, link
    addr = host.run(["ip", "-o", "addr", "show", "dev", "vaddr.14"]).stdout
    assert "inet 10.99.15.200/24" in addr, addr
    assert wait_for(lambda: garp_times(Path(cap.path).read_text(errors="replace"),
                                       "10.99.15.200", "00:00:5e:00:01:0e"), 3)
    n.stop()
    cap.stop()
    assert host.run(["ip", "link", "show", "vaddr.14"], check=False).returncode != 0
