"""The pykeepalived process model and signals, on the real kernel in a namespace.

One node (it becomes MASTER of its VRID alone), observed through its log, its pid files,
``ip addr`` and ``ip monitor``: respawn of a killed VRRP child, ``-R``, pid files, SIGHUP reload
by diff (no flap when the instance did not change; a broken file keeps the old config), the
USR1/USR2 dump files, a VIP deleted by hand is put back, link down/up → FAULT and back, and
TERM (VIPs removed) vs ``-V`` (VIPs left).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config, stop_all
from pykeepalived.lab.measure import AddrMonitor
from pykeepalived.lab.netns import Host, Lab, wait_for

# timeout: the first test may wait for another run to release the lab (cluster.lab_lock).
pytestmark = [pytest.mark.netns, pytest.mark.timeout(600)]

VIP = "10.99.8.200"
VIP2 = "10.99.8.201"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with locked_lab("pkdp") as lb:
        lb.add_host("n1", ["10.99.8.11/24"])
        lb.add_host("n2", ["10.99.8.12/24"])
        yield lb


@pytest.fixture(scope="module")
def host(lab: Lab) -> Host:
    return lab.hosts["n1"]


@pytest.fixture
def started(host: Host) -> Iterator[list[Daemon]]:
    ds: list[Daemon] = []
    yield ds
    stop_all(ds)
    for ip in (VIP, VIP2):
        host.run(["ip", "addr", "del", f"{ip}/24", "dev", "eth0"], check=False)
    host.run(["ip", "link", "set", "eth0", "up"], check=False)


def conf(tmp: Path, vips: tuple[str, ...] = (f"{VIP}/24",), comment: str = "") -> str:
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=vips)
    glob = (f"state_dump_file {tmp}/ka.data", f"stats_dump_file {tmp}/ka.stats",
            f"json_dump_file {tmp}/ka.json")
    return comment + render_config("n1", [inst], glob)


def master(host: Host, ds: list[Daemon], tmp: Path, *extra: str) -> Daemon:
    d = Daemon(host, "py", conf(tmp), extra_args=list(extra))
    ds.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    return d


def pid_in(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def test_pid_files_respawn_and_term(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    d = master(host, started, tmp_path)
    run = d.run_dir
    assert d.proc is not None
    assert pid_in(f"{run}/ka.pid") == d.proc.pid
    child = pid_in(f"{run}/vrrp.pid")
    assert child is not None and child != d.proc.pid
    assert not os.path.exists(f"{run}/chk.pid")  # -P: no checker child

    os.kill(child, signal.SIGKILL)
    assert d.wait_log(rf"VRRP child process\({child}\) died \(signal 9\): Respawning", 5)
    assert wait_for(lambda: pid_in(f"{run}/vrrp.pid") not in (None, child), 10)
    # The new child starts BACKUP (removing the VIP its predecessor left) and takes over again.
    assert d.wait_log(r"Entering MASTER STATE[\s\S]*Entering MASTER STATE", 10)
    assert wait_for(lambda: d.has_vip(VIP), 5)

    d.signal(signal.SIGTERM)
    assert d.proc.wait(timeout=10) == 0
    assert not d.has_vip(VIP)
    assert not os.path.exists(f"{run}/ka.pid") and not os.path.exists(f"{run}/vrrp.pid")
    assert re.search(r"\(VI_1\) sent 0 priority", d.log_text())


def test_dont_respawn_exits(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    d = master(host, started, tmp_path, "-R")
    child = pid_in(f"{d.run_dir}/vrrp.pid")
    assert child is not None and d.proc is not None
    os.kill(child, signal.SIGKILL)
    assert d.proc.wait(timeout=10) == 1
    assert re.search(r"VRRP child process\(\d+\) died \(signal 9\): Exiting", d.log_text())


def test_reload_by_diff(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    d = master(host, started, tmp_path)
    time.sleep(0.3)
    mon = AddrMonitor(host)
    # 1. Same instance, lines moved by a comment: kept as it runs, no flap.
    d.write_conf(conf(tmp_path, comment="# reloaded\n\n"))
    mark = d.mark()
    d.signal(signal.SIGHUP)
    assert d.wait_log(r"Reload finished: 1 instance\(s\) kept, 0 changed", 10, since=mark)
    time.sleep(0.5)
    events = mon.stop()
    assert "Deleted" not in events, events
    assert not re.search(r"Entering", d.log_since(mark)), d.log_since(mark)
    assert d.has_vip(VIP)

    # 2. A broken file: the running configuration stays, the error is logged with file:line.
    d.write_conf(conf(tmp_path) + "vrrp_instance VI_2 {\n    bogus_keyword 1\n}\n")
    mark = d.mark()
    d.signal(signal.SIGHUP)
    assert d.wait_log(r"keeping the running configuration", 10, since=mark)
    assert re.search(r"\(.*keepalived\.conf: Line \d+\) .*bogus_keyword", d.log_since(mark))
    assert d.has_vip(VIP)

    # 3. A real change (a second VIP) to a MASTER: it stays MASTER, the first VIP never
    #    leaves the interface, the second is added.
    mon = AddrMonitor(host)
    d.write_conf(conf(tmp_path, vips=(f"{VIP}/24", f"{VIP2}/24")))
    mark = d.mark()
    d.signal(signal.SIGHUP)
    assert d.wait_log(r"Reload finished: 0 instance\(s\) kept, 1 changed and kept MASTER", 10,
                      since=mark), d.log_since(mark)
    assert wait_for(lambda: d.has_vip(VIP) and d.has_vip(VIP2), 5), d.log_since(mark)
    time.sleep(0.5)
    events = mon.stop()
    assert "Deleted" not in events, events
    assert "(VI_1) configuration changed: staying MASTER" in d.log_since(mark)
    assert not re.search(r"Entering BACKUP|sent 0 priority", d.log_since(mark))

    # 4. And back: the dropped VIP is removed, still without leaving MASTER.
    d.write_conf(conf(tmp_path))
    mark = d.mark()
    d.signal(signal.SIGHUP)
    assert d.wait_log(r"1 changed and kept MASTER", 10, since=mark)
    assert wait_for(lambda: d.has_vip(VIP) and not d.has_vip(VIP2), 5), d.log_since(mark)


def test_dump_files(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    d = master(host, started, tmp_path)
    time.sleep(0.5)
    d.signal(signal.SIGUSR1)
    d.signal(signal.SIGUSR2)
    assert wait_for(lambda: (tmp_path / "ka.data").exists() and (tmp_path / "ka.stats").exists(),
                    5)
    time.sleep(0.2)
    data = (tmp_path / "ka.data").read_text()
    assert " VRRP Instance = VI_1" in data and "   State = MASTER" in data
    stats = (tmp_path / "ka.stats").read_text()
    sent = re.search(r"Advertisements:\n    Received: \d+\n    Sent: (\d+)", stats)
    assert sent and int(sent.group(1)) >= 3, stats
    assert "  Became master: 1" in stats
    # STATS_CLEAR writes the file and zeroes the counters; TDUMP logs the loop, killing nothing.
    child = pid_in(f"{d.run_dir}/vrrp.pid")
    d.signal(signal.SIGRTMAX - 1)
    time.sleep(0.3)
    d.signal(signal.SIGUSR2)
    time.sleep(0.3)
    again = (tmp_path / "ka.stats").read_text()
    sent2 = re.search(r"Advertisements:\n    Received: \d+\n    Sent: (\d+)", again)
    assert sent2 and int(sent2.group(1)) < int(sent.group(1)) and "  Became master: 0" in again
    d.signal(signal.SIGRTMAX)
    assert d.wait_log(r"Dumping event loop: \d+ task", 3)
    assert d.wait_log(r"\(VI_1\) MASTER, next timer", 1)
    assert pid_in(f"{d.run_dir}/vrrp.pid") == child and d.running()


def test_vip_deleted_by_hand_is_restored(host: Host, started: list[Daemon],
                                         tmp_path: Path) -> None:
    d = master(host, started, tmp_path)
    host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])
    assert wait_for(lambda: d.has_vip(VIP), 2), d.log_text()[-2000:]
    assert re.search(rf"{VIP} was removed from the interface: restoring", d.log_text())


def test_link_down_is_fault_and_back(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    d = master(host, started, tmp_path)
    host.run(["ip", "link", "set", "eth0", "down"])
    assert d.wait_log(r"\(VI_1\) Entering FAULT STATE", 5)
    mark = d.mark()
    host.run(["ip", "link", "set", "eth0", "up"])
    assert d.wait_log(r"\(VI_1\) Entering BACKUP STATE", 5, since=mark)
    assert d.wait_log(r"\(VI_1\) Entering MASTER STATE", 5, since=mark)
    assert wait_for(lambda: d.has_vip(VIP), 3)


def test_dont_release_keeps_vips(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    d = master(host, started, tmp_path, "-V")
    d.signal(signal.SIGTERM)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    assert d.has_vip(VIP)


def test_static_and_virtual_routes_rules(host: Host, started: list[Daemon],
                                         tmp_path: Path) -> None:
    """static_ipaddress at start-up; virtual_routes/rules with MASTER; all removed at stop."""
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        extra=("virtual_routes {", "    10.99.77.0/24 via 10.99.8.1 dev eth0",
                               "}", "virtual_rules {", f"    from {VIP} table 100",
                               "}"))
    static = "static_ipaddress {\n    10.99.8.50/24 dev eth0\n}"
    d = Daemon(host, "py", render_config("n1", [inst], blocks=(static,)))
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    assert d.has_vip("10.99.8.50")

    def route() -> str:
        return host.run(["ip", "route", "show", "10.99.77.0/24"]).stdout

    def rule() -> str:
        return host.run(["ip", "rule", "show"]).stdout

    assert wait_for(lambda: "via 10.99.8.1" in route(), 3), route()
    assert wait_for(lambda: f"from {VIP} lookup 100" in rule(), 3), rule()
    d.signal(signal.SIGTERM)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    assert route().strip() == ""
    assert f"from {VIP}" not in rule()
    assert not d.has_vip(VIP) and not d.has_vip("10.99.8.50")


def test_notify_scripts_from_the_daemon(host: Host, started: list[Daemon],
                                        tmp_path: Path) -> None:
    """The generic notify script gets keepalived's four trailing arguments, MASTER then STOP."""
    out = tmp_path / "notify.out"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {out}\n')
    script.chmod(0o755)
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        extra=(f'notify "{script} extra"',))
    d = Daemon(host, "py", render_config("n1", [inst]))
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    assert wait_for(lambda: out.exists() and "MASTER" in out.read_text(), 5)
    d.signal(signal.SIGTERM)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    lines = out.read_text().splitlines()
    # Scripts are fire-and-forget (as keepalived's): the first two may finish in either order.
    assert sorted(lines[:2]) == ["extra INSTANCE VI_1 BACKUP 150",
                                 "extra INSTANCE VI_1 MASTER 150"], lines
    assert lines[2:] == ["extra INSTANCE VI_1 STOP 150"], lines


def test_no_accept_drops_traffic_to_held_vips(lab: Lab, host: Host, started: list[Daemon],
                                              tmp_path: Path) -> None:
    """no_accept: the MASTER holds the VIP but drops packets to it (nftables set)."""
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        extra=("no_accept",))
    d = Daemon(host, "py", render_config("n1", [inst]))
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    peer = lab.hosts["n2"]
    assert peer.run(["ping", "-c1", "-W1", "10.99.8.11"], check=False).returncode == 0
    assert wait_for(lambda: VIP in host.run(["nft", "list", "ruleset"]).stdout, 3)
    assert peer.run(["ping", "-c2", "-W1", VIP], check=False).returncode != 0
    # Control: with the drop set emptied by hand the same ping goes through.
    host.run(["nft", "flush", "set", "ip", "keepalived", "vips"])
    assert peer.run(["ping", "-c2", "-W1", VIP], check=False).returncode == 0
    d.signal(signal.SIGTERM)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    assert VIP not in host.run(["nft", "list", "ruleset"]).stdout


def test_children_die_with_the_parent(host: Host, started: list[Daemon],
                                      tmp_path: Path) -> None:
    """SIGKILL of the parent alone: the VRRP child gets SIGTERM (parent-death signal) and
    stops gracefully, as keepalived's does (priority 0 sent, VIPs removed)."""
    d = master(host, started, tmp_path)
    child = pid_in(f"{d.run_dir}/vrrp.pid")
    assert child is not None and d.proc is not None
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait(timeout=5)
    assert wait_for(lambda: not os.path.exists(f"/proc/{child}"), 10)
    assert re.search(r"\(VI_1\) sent 0 priority", d.log_text())
    assert not d.has_vip(VIP)


def test_leftover_vip_removed_at_start(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    """A VIP left on the interface by a crashed run is removed at start-up (the instance
    starts BACKUP), then added back when it becomes MASTER."""
    host.run(["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"])
    mon = AddrMonitor(host)
    d = Daemon(host, "py", conf(tmp_path))
    started.append(d)
    d.start()
    assert d.wait_log(r"\(VI_1\) Entering MASTER STATE", 15), d.log_text()[-3000:]
    time.sleep(0.3)
    events = mon.stop()
    lines = [ln for ln in events.splitlines() if f"{VIP}/24" in ln]
    assert lines and lines[0].split("]", 1)[1].strip().startswith("Deleted"), events
    assert any("Deleted" not in ln for ln in lines[1:]), events
    assert re.search(r"\(VI_1\) removing VIPs\.", d.log_text())


def test_log_files_and_config_dump(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    """-g FILE: the parent logs to FILE, the VRRP child to FILE_vrrp; -d dumps the config."""
    logf = tmp_path / "ka.log"
    d = master(host, started, tmp_path, f"--log-file={logf}", "-d", "--flush-log-file")
    parent = logf.read_text()
    child = (tmp_path / "ka_vrrp.log").read_text()
    assert "Starting pykeepalived" in parent and "Starting VRRP child process" in parent
    assert "VI_1" in parent, parent[-2000:]  # only the -d dump names instances in the parent
    assert "(VI_1) Entering MASTER STATE" in child and "Starting pykeepalived" not in child
    assert d.running()


def test_startup_and_shutdown_scripts(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    """global_defs startup_script runs in the parent before any child starts (no VRRP pid file
    yet), shutdown_script after the children stopped (VIP already removed)."""
    out = tmp_path / "global.out"
    script = tmp_path / "global.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ -e {tmp_path}/vrrp.pid ]; then c=child; else c=nochild; fi\n'
        f'if ip -o addr show dev eth0 | grep -q " {VIP}/"; then v=vip; else v=novip; fi\n'
        f'echo "$1 $c $v" >> {out}\n')
    script.chmod(0o755)
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",))
    glob = (f'startup_script "{script} start"', "startup_script_timeout 5",
            f'shutdown_script "{script} stop"', "shutdown_script_timeout 5")
    d = Daemon(host, "py", render_config("n1", [inst], glob), run_dir=str(tmp_path))
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    assert out.read_text().splitlines() == ["start nochild novip"]
    d.signal(signal.SIGTERM)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    assert out.read_text().splitlines() == ["start nochild novip", "stop nochild novip"]


@pytest.fixture
def host6() -> Iterator[Host]:
    """A host with IPv6 (the module's lab has none)."""
    with locked_lab("pkfv", ipv6=True) as lb:
        yield lb.add_host("n1", ["10.99.8.11/24", "fd99:8::11/64"])


def test_vmacs_of_both_families_on_one_vrid(host6: Host, started: list[Daemon]) -> None:
    """An IPv6 and an IPv4 instance with the same VRID and use_vmac: the first VMAC name goes
    to one, ``vrrp6.51`` to the IPv6 one (each family's VIPs on its own VMAC), and keepalived's
    nftables VMAC map lists both (built for VMACs even without no_accept)."""
    host = host6
    v4 = InstanceConf(name="VI_4", vrid=51, priority=150, version=3, advert_int=0.1,
                      vips=(f"{VIP}/24",), use_vmac=True)
    v6 = InstanceConf(name="VI_6", vrid=51, priority=150, version=3, advert_int=0.1,
                      vips=("fd99:8::200/64",), use_vmac=True)
    d = Daemon(host, "py", render_config("n1", [v4, v6]))
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP, "vrrp.51"), 15), d.log_text()[-3000:]
    assert wait_for(lambda: d.has_vip("fd99:8::200", "vrrp6.51"), 15), d.log_text()[-3000:]
    assert not d.has_vip("fd99:8::200", "vrrp.51")
    ruleset = host.run(["nft", "list", "ruleset"]).stdout
    assert re.search(r'"vrrp\.51" : "eth0"', ruleset), ruleset
    assert re.search(r'"vrrp6\.51" : "eth0"', ruleset), ruleset
    d.signal(signal.SIGTERM)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    assert "keepalived" not in host.run(["nft", "list", "tables"]).stdout
    assert host.run(["ip", "link", "show", "vrrp6.51"], check=False).returncode != 0


def test_checker_child_survives_vrrp_only_signals(host: Host, tmp_path: Path) -> None:
    """USR2, SIGRTMIN+2, SIGRTMAX-1 and SIGRTMAX sent straight to the checker child (not
    through the parent, which sends them to the VRRP child only) must not kill it."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text("global_defs {\n  lvs_dataplane nftables\n}\n"
                    "virtual_server 10.99.8.100 80 {\n  delay_loop 1\n  lb_algo rr\n"
                    "  protocol TCP\n  real_server 10.99.8.12 8080 {\n"
                    "    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n")
    log = tmp_path / "daemon.log"
    with open(log, "wb") as out:
        proc = host.popen([sys.executable, "-m", "pykeepalived", "-C", "-n", "-l", "-G",
                           "-f", str(conf), "-p", str(tmp_path / "k.pid"),
                           "-c", str(tmp_path / "c.pid"), "-r", str(tmp_path / "r.pid")],
                          stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: pid_in(str(tmp_path / "c.pid")) is not None, 20), \
            log.read_text()
        child = pid_in(str(tmp_path / "c.pid"))
        assert child is not None
        # The handlers are installed once the child runs its loop: wait for its first check.
        assert wait_for(lambda: "TCP_CHECK" in log.read_text() or "TCP connection" in
                        log.read_text(), 15), log.read_text()
        for sig in (signal.SIGUSR2, signal.SIGRTMIN + 2, signal.SIGRTMAX - 1, signal.SIGRTMAX):
            os.kill(child, sig)
        time.sleep(0.5)
        os.kill(child, 0)  # still there (ProcessLookupError otherwise)
        assert "died" not in log.read_text(), log.read_text()
        assert pid_in(str(tmp_path / "c.pid")) == child
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
