"""global_defs keywords that shape the daemon's processes, read back from the kernel: CPU
affinity, real-time priority and its RLIMIT_RTTIME, nice value, memory locking (``VmLck``),
netlink receive buffers (``ss -m``), the umask (the pid file's mode), automatic real-time
priority when the loop runs late, child_wait_time, reload_check_config, reload_time_file and
reload_repeat, iproute_etc_dir, and the notes of keywords that do not act (logged once per start
and reload).

One lab host ``n1``; pykeepalived runs both children (a VRRP instance and a virtual server on
the nftables data plane) with short advert intervals.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import daemon_node  # tests/netns/daemon/daemon_node.py
import pytest
from pidfd_sockets import dup_sockets

from pykeepalived.lab.cluster import locked_lab
from pykeepalived.lab.netns import Host, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.99.13.200"
VIP2 = "10.99.13.201"
NCPU = os.cpu_count() or 1


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with locked_lab("pkkw") as lb:
        yield lb.add_host("n1", ["10.99.13.11/24"])


def conf(glob: str = "", vip: str = VIP, top: str = "", vs: bool = True) -> str:
    server = ("virtual_server 10.99.13.100 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n"
              "  ha_suspend\n  real_server 10.99.13.5 80 {\n    weight 2\n"
              "    TCP_CHECK {\n      connect_timeout 1\n      delay_loop 30\n    }\n  }\n}\n"
              if vs else "")
    return (f"global_defs {{\n  router_id n1\n  lvs_dataplane nftables\n{glob}\n}}\n{top}\n"
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 13\n  priority 150\n"
            f"  version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n"
            + server)


class Node(daemon_node.Node):
    """Both children; ``master`` looks for VIP unless told another address."""

    def master(self, vip: str = VIP) -> bool:
        return super().master(vip)


@pytest.fixture
def nodes(host: Host) -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for n in started:
        n.stop()
    host.run(["ip", "addr", "flush", "dev", "eth0", "label", "eth0"], check=False)
    host.run(["ip", "addr", "add", "10.99.13.11/24", "dev", "eth0"], check=False)


def status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def rt_limit(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max realtime timeout"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no realtime timeout limit")


def netlink_rcvbufs(pid: int) -> list[tuple[int, int, int]]:
    """(protocol, groups, SO_RCVBUF) of each netlink socket ``pid`` holds, read from the
    socket itself."""
    table = {}
    for line in Path(f"/proc/{pid}/net/netlink").read_text().splitlines()[1:]:
        f = line.split()
        table[int(f[9])] = (int(f[1]), int(f[3], 16))
    return [(*table[inode], s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
            for inode, s in dup_sockets(pid) if inode in table]


def rcvbufs(pid: int) -> set[int]:
    return {b for _proto, _groups, b in netlink_rcvbufs(pid)}


def test_process_settings_read_back(host: Host, nodes: list[Node], tmp_path: Path) -> None:
    """Affinity, SCHED_RR and its rlimit, nice, mlockall, netlink buffers and the umask, each
    read back from /proc or the socket of the process they were set for."""
    other = 1 if NCPU > 1 else 0
    glob = ("  vrrp_cpu_affinity 0\n  vrrp_rt_priority 7\n  vrrp_rlimit_rttime 400000\n"
            f"  vrrp_no_swap\n  checker_cpu_affinity {other}\n  checker_priority 6\n"
            "  checker_process_name pkchk\n"
            "  checker_no_swap\n  vrrp_netlink_cmd_rcv_bufs 4600000\n"
            "  vrrp_netlink_cmd_rcv_bufs_force\n"
            "  vrrp_netlink_monitor_rcv_bufs 5000000\n  vrrp_netlink_monitor_rcv_bufs_force\n"
            "  lvs_netlink_monitor_rcv_bufs 4500000\n  lvs_netlink_monitor_rcv_bufs_force\n"
            "  umask 077")
    n = Node(host, tmp_path, conf(glob))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    vrrp, chk = n.pid("vrrp.pid"), n.pid("chk.pid")
    assert status(vrrp)["Cpus_allowed_list"] == "0"
    assert status(chk)["Cpus_allowed_list"] == str(other)
    assert os.sched_getscheduler(vrrp) & 0xFF == os.SCHED_RR
    assert os.sched_getparam(vrrp).sched_priority == 7
    assert rt_limit(vrrp) == ("200000", "400000")
    assert os.sched_getscheduler(chk) & 0xFF == os.SCHED_OTHER
    assert os.getpriority(os.PRIO_PROCESS, chk) == 6
    assert Path(f"/proc/{chk}/comm").read_text().strip() == "pkchk"
    for pid in (vrrp, chk):
        assert int(status(pid)["VmLck"].split()[0]) > 0, status(pid)
    # SO_RCVBUF reads back doubled; only a forced size passes net.core.rmem_max (4 MiB here;
    # a size not forced is read back in test_process_monitor_rcv_bufs_size_the_connector_socket)
    assert wait_for(lambda: {9200000, 10000000} <= rcvbufs(vrrp), 5), netlink_rcvbufs(vrrp)
    assert (0, 0, 9200000) in netlink_rcvbufs(vrrp)  # the command socket: no groups
    assert wait_for(lambda: 9000000 in rcvbufs(chk), 5), netlink_rcvbufs(chk)
    assert stat.S_IMODE((tmp_path / "ka.pid").stat().st_mode) == 0o600


def test_auto_priority_when_the_loop_runs_late(host: Host, nodes: list[Node],
                                               tmp_path: Path) -> None:
    """max_auto_priority: a VRRP child stopped for 1 s finds its timers late by more than
    min_auto_priority_delay (300000 µs) and moves one step up: SCHED_RR at the lowest
    priority, or one above the one a late start-up on a busy machine already gave it. The
    checker's own keywords: vrrp_priority (nice), checker_rt_priority and its rlimit."""
    n = Node(host, tmp_path, conf("  max_auto_priority 3\n  min_auto_priority_delay 300000\n"
                                  "  vrrp_priority -5\n  checker_rt_priority 4\n"
                                  "  checker_rlimit_rttime 300000"))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    vrrp = n.pid("vrrp.pid")

    def prio() -> int:
        rr = os.sched_getscheduler(vrrp) & 0xFF == os.SCHED_RR
        return os.sched_getparam(vrrp).sched_priority if rr else 0

    assert os.getpriority(os.PRIO_PROCESS, vrrp) == -5  # vrrp_priority: the nice value
    chk = n.pid("chk.pid")
    assert os.sched_getscheduler(chk) & 0xFF == os.SCHED_RR
    assert os.sched_getparam(chk).sched_priority == 4
    assert rt_limit(chk) == ("150000", "300000")
    before = prio()
    assert before < 3
    os.kill(vrrp, signal.SIGSTOP)
    time.sleep(1.0)
    os.kill(vrrp, signal.SIGCONT)
    assert wait_for(lambda: prio() == before + 1, 5), (prio(), n.log()[-2000:])
    assert re.search(r"A thread timer expired (0\.[89]|[1-9]\.)\d* seconds ago", n.log())
    assert f"Set realtime priority {before + 1}" in n.log()


def test_child_wait_time_bounds_the_stop(host: Host, nodes: list[Node],
                                         tmp_path: Path) -> None:
    """A child that does not stop (SIGSTOPped) is killed after child_wait_time, not 5 s."""
    n = Node(host, tmp_path, conf(top="child_wait_time 1", vs=False))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    vrrp = n.pid("vrrp.pid")
    os.kill(vrrp, signal.SIGSTOP)
    t0 = time.monotonic()
    n.proc.send_signal(signal.SIGTERM)
    n.proc.wait(timeout=10)
    took = time.monotonic() - t0
    assert 0.9 < took < 3.0, (took, n.log()[-2000:])
    assert re.search(r"VRRP child process\(\d+\) did not stop: killing", n.log())


def test_reload_check_config_refuses_a_broken_file(host: Host, nodes: list[Node],
                                                   tmp_path: Path) -> None:
    """With reload_check_config a HUP first checks the file: a broken one is not reloaded (the
    children never read it) and the check's lines are in the log file; a good one is."""
    check = tmp_path / "check.log"
    glob = f"  reload_check_config {check}"
    n = Node(host, tmp_path, conf(glob, vs=False))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    n.conf.write_text(conf(glob, vip=VIP2, vs=False) + "vrrp_instance {\n bogus_keyword\n")
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "New config failed validation" in n.log(), 10), n.log()[-2000:]
    assert f"see {check} for details" in n.log()
    assert "Unknown keyword 'bogus_keyword'" in check.read_text()
    time.sleep(0.5)
    assert "Reload of configuration failed" not in n.log() and n.master(VIP)
    n.conf.write_text(conf(glob, vip=VIP2, vs=False))
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: n.master(VIP2), 10), n.log()[-2000:]


def test_reload_time_file_schedules_a_reload(host: Host, nodes: list[Node],
                                             tmp_path: Path) -> None:
    """The time written in reload_time_file reloads the daemon then; the file is removed,
    unless reload_repeat."""
    when = tmp_path / "reload.time"
    glob = f"  reload_time_file {when}\n  reload_repeat"
    n = Node(host, tmp_path, conf(glob, vs=False))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    n.conf.write_text(conf(f"  reload_time_file {when}", vip=VIP2, vs=False))
    at = float(int(time.time()) + 3)  # the file holds whole seconds
    when.write_text(time.strftime("%H:%M:%S", time.localtime(at)) + "\n")
    assert wait_for(lambda: "Scheduling reload for" in n.log(), 5), n.log()[-2000:]
    assert not n.master(VIP2)
    assert wait_for(lambda: n.master(VIP2), 8), n.log()[-2000:]
    assert time.time() >= at - 0.05
    assert when.exists()  # reload_repeat was in force when the reload came
    # the reloaded file has no reload_repeat: the next reload removes the file
    n.conf.write_text(conf(f"  reload_time_file {when}", vip=VIP, vs=False))
    when.write_text(time.strftime("%H:%M:%SZ", time.gmtime(time.time() + 2)))
    assert wait_for(lambda: n.master(VIP), 8), n.log()[-2000:]
    assert wait_for(lambda: not when.exists(), 3)


def test_notes_logged_once_per_start_and_reload(host: Host, nodes: list[Node],
                                                tmp_path: Path) -> None:
    note = "enable_snmp_vrrp is accepted but has no effect: SNMP is not supported"
    n = Node(host, tmp_path, conf("  enable_snmp_vrrp", vs=False))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    time.sleep(0.3)
    assert n.log().count(note) == 1, n.log()[-3000:]
    assert re.search(rf"\({re.escape(str(n.conf))}: Line 4\) {note}", n.log())
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: n.log().count(note) == 2, 10), n.log()[-3000:]
    time.sleep(0.5)
    assert n.log().count(note) == 2


def test_iproute_etc_dir_names_the_tables(host: Host, nodes: list[Node],
                                          tmp_path: Path) -> None:
    """A routing table named in iproute_etc_dir's rt_tables is the route's table."""
    etc = tmp_path / "iproute2"
    etc.mkdir()
    (etc / "rt_tables").write_text("# test\n77\tpktable\n")
    top = "static_routes {\n  10.99.14.0/24 dev eth0 table pktable\n}\n"
    n = Node(host, tmp_path, conf(f"  iproute_etc_dir {etc}", top=top, vs=False))
    nodes.append(n)
    assert wait_for(n.master, 15), n.log()[-3000:]
    assert wait_for(lambda: "10.99.14.0/24" in host.run(
        ["ip", "route", "show", "table", "77"]).stdout, 5), n.log()[-2000:]


def socket_rcvbufs(pid: int) -> set[int]:
    """SO_RCVBUF of every socket ``pid`` holds."""
    return {s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) for _, s in dup_sockets(pid)}


def test_vrrp_process_keywords(host: Host, nodes: list[Node], tmp_path: Path) -> None:
    """vrrp_startup_delay delays the start; vmac_prefix names the VMAC; an instance without
    ``interface`` takes default_interface; mcast_src_ip is the adverts' source address;
    kernel_rx_buf_size sizes the VRRP socket's receive buffer."""
    from pykeepalived.lab.measure import AdvertCapture

    host.run(["ip", "addr", "add", "10.99.13.12/24", "dev", "eth0"])
    text = ("global_defs {\n  router_id n1\n  vrrp_startup_delay 1\n  vmac_prefix pkv\n"
            "  default_interface eth0\n}\n"
            "vrrp_instance VI_1 {\n  interface eth0\n  use_vmac\n  virtual_router_id 13\n"
            "  priority 150\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n"
            f"    {VIP}/24\n  }}\n}}\n"
            "vrrp_instance VI_2 {\n  virtual_router_id 14\n  priority 150\n  version 3\n"
            "  advert_int 0.1\n  mcast_src_ip 10.99.13.12\n  kernel_rx_buf_size 300000\n"
            f"  virtual_ipaddress {{\n    {VIP2}/24\n  }}\n}}\n")
    cap = AdvertCapture(host)
    try:
        t0 = time.monotonic()
        n = Node(host, tmp_path, text)
        nodes.append(n)
        assert wait_for(lambda: n.master(VIP2), 15), n.log()[-3000:]
        assert time.monotonic() - t0 > 1.0
        assert "Delaying startup for 1 seconds" in n.log()
        assert wait_for(lambda: host.run(["ip", "link", "show", "pkv.13"],
                                         check=False).returncode == 0, 5), n.log()[-2000:]
        assert 600000 in socket_rcvbufs(n.pid("vrrp.pid"))
        time.sleep(0.3)
    finally:
        adverts = cap.finish()
    assert {a.src for a in adverts if a.vrid == 14} == {"10.99.13.12"}, adverts[:5]
