"""sd_notify and process names of a real pykeepalived node in a namespace.

systemd's side of ``NOTIFY_SOCKET`` is a datagram socket that reads ``KEY=VALUE`` lines; the
test binds one (the protocol is that simple: no systemd is needed to check what is sent) and
records every datagram with the time it arrived. The same under a real systemd as PID 1 is
``tests/vm/test_systemd_vm.py``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import InstanceConf, locked_lab, render_config
from pykeepalived.lab.netns import Host, Lab, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(600)]

VIP = "10.99.9.200"


class NotifyListener:
    """A NOTIFY_SOCKET: every datagram with its arrival time (monotonic)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.got: list[tuple[float, str]] = []
        self.hook: list[tuple[str, threading.Event, list[object]]] = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.got.append((time.monotonic(), data.decode()))

    def messages(self, key: str) -> list[tuple[float, str]]:
        return [(t, m) for t, m in self.got if any(ln.startswith(key) for ln in m.split("\n"))]

    def wait(self, key: str, timeout: float, after: float = 0.0) -> str | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, m in self.messages(key):
                if t >= after:
                    return m
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self._stop = True
        self._t.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with locked_lab("pksd") as lb:
        lb.add_host("n1", ["10.99.9.11/24"])
        yield lb


@pytest.fixture(scope="module")
def host(lab: Lab) -> Host:
    return lab.hosts["n1"]


class Node:
    def __init__(self, host: Host, tmp: Path, conf: str, env: dict[str, str]) -> None:
        self.host, self.tmp = host, tmp
        (tmp / "keepalived.conf").write_text(conf)
        self.log = tmp / "daemon.log"
        cmd = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-D", "-G", "-P",
               "-f", str(tmp / "keepalived.conf"), "-p", str(tmp / "ka.pid"),
               "-r", str(tmp / "vrrp.pid"), "-c", str(tmp / "chk.pid")]
        with open(self.log, "ab") as out:
            self.proc = host.popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **env})

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def has_vip(self) -> bool:
        return VIP in self.host.run(["ip", "-4", "addr", "show", "dev", "eth0"]).stdout

    def vrrp_pid(self) -> int | None:
        try:
            return int((self.tmp / "vrrp.pid").read_text())
        except (OSError, ValueError):
            return None

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
        return self.proc.returncode


def config(tmp: Path, prio: int = 150, glob: tuple[str, ...] = ()) -> str:
    script = tmp / "notify.sh"
    script.write_text(f"#!/bin/sh\nenv > {tmp}/notify.env\n")
    script.chmod(0o755)
    inst = InstanceConf(priority=prio, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        state="MASTER", extra=(f"notify_master {script}",))
    return render_config("n1", [inst], ("enable_script_security", "script_user root", *glob))


@pytest.fixture
def node_factory(host: Host) -> Iterator[list[Node]]:
    nodes: list[Node] = []
    yield nodes
    for n in nodes:
        n.stop()


def test_ready_after_the_vip_then_reload_stop(host: Host, tmp_path: Path,
                                              node_factory: list[Node]) -> None:
    lis = NotifyListener(tmp_path / "notify.sock")
    try:
        n = Node(host, tmp_path, config(tmp_path), {"NOTIFY_SOCKET": str(lis.path)})
        node_factory.append(n)
        ready = lis.wait("READY=1", 20)
        assert ready is not None, n.text()[-3000:]
        # READY only once the VIP is on the interface (state MASTER: after its election)
        assert n.has_vip(), n.text()[-2000:]
        assert f"MAINPID={n.proc.pid}" in ready
        assert "STATUS=1 instance: 1 MASTER" in ready, ready
        assert re.search(r"Startup complete", n.text())
        # Nothing below the parent may talk to systemd: not the VRRP child, not a script.
        child = n.vrrp_pid()
        assert child is not None
        env = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        assert not any(e.startswith(b"NOTIFY_SOCKET=") for e in env)
        assert wait_for(lambda: (tmp_path / "notify.env").exists(), 5)
        assert "NOTIFY_SOCKET" not in (tmp_path / "notify.env").read_text()

        mark = time.monotonic()
        n.proc.send_signal(signal.SIGHUP)
        rel = lis.wait("RELOADING=1", 5, after=mark)
        assert rel is not None and re.search(r"MONOTONIC_USEC=\d+", rel), lis.got
        usec = int(re.search(r"MONOTONIC_USEC=(\d+)", rel).group(1))  # type: ignore[union-attr]
        assert abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 5
        again = lis.wait("READY=1", 10, after=mark)
        assert again is not None, n.text()[-2000:]
        t_rel = lis.messages("RELOADING=1")[-1][0]
        assert lis.messages("READY=1")[-1][0] >= t_rel
        assert n.has_vip()

        mark = time.monotonic()
        assert n.stop() == 0
        assert lis.wait("STOPPING=1", 2, after=mark) is not None
        assert not lis.messages("ERRNO=")
        assert not lis.messages("WATCHDOG=1")  # no WATCHDOG_USEC: no pings
    finally:
        lis.close()


def test_watchdog_follows_the_vrrp_loop(host: Host, tmp_path: Path,
                                        node_factory: list[Node]) -> None:
    lis = NotifyListener(tmp_path / "notify.sock")
    try:
        n = Node(host, tmp_path, config(tmp_path),
                 {"NOTIFY_SOCKET": str(lis.path), "WATCHDOG_USEC": "1000000"})
        node_factory.append(n)
        assert lis.wait("READY=1", 20) is not None, n.text()[-3000:]
        time.sleep(2.0)
        recent = [t for t, _ in lis.messages("WATCHDOG=1") if t > time.monotonic() - 2.0]
        assert len(recent) >= 4, lis.got[-10:]  # WatchdogSec=1 s: pings every ~0.25 s
        child = n.vrrp_pid()
        assert child is not None
        os.kill(child, signal.SIGSTOP)  # a VRRP loop that no longer runs
        try:
            stopped = time.monotonic()
            time.sleep(2.0)
            late = [t for t, _ in lis.messages("WATCHDOG=1") if t > stopped + 0.3]
            assert not late, "the parent kept pinging for a stopped VRRP child"
        finally:
            os.kill(child, signal.SIGCONT)
        resumed = time.monotonic()
        assert lis.wait("WATCHDOG=1", 3, after=resumed) is not None
    finally:
        lis.close()


def large_include(tmp: Path, services: int = 300, reals: int = 200) -> str:
    """An included file of ``services`` x ``reals`` real servers (a second or more to read),
    for a VRRP-only node (-P): it only makes reading the configuration slow."""
    out = []
    for v in range(services):
        out.append(f"virtual_server 10.1.{v // 250}.{v % 250 + 1} 80 {{\n lb_kind DR\n"
                   " protocol TCP\n")
        out += [f" real_server 10.2.{r // 250}.{r % 250 + 1} 80 {{\n  weight 1\n }}\n"
                for r in range(reals)]
        out.append("}\n")
    big = tmp / "services.conf"
    big.write_text("".join(out))
    return f"include {big}\n"


def test_watchdog_fed_while_a_reload_reads_a_large_file(host: Host, tmp_path: Path,
                                                        node_factory: list[Node]) -> None:
    """The parent reads the new file (in a helper) before the children do: meanwhile it
    still relays the children's beats, or systemd would kill the service for a reload of a
    large configuration."""
    lis = NotifyListener(tmp_path / "notify.sock")
    try:
        conf = config(tmp_path) + large_include(tmp_path)
        n = Node(host, tmp_path, conf, {"NOTIFY_SOCKET": str(lis.path),
                                        "WATCHDOG_USEC": "600000"})
        node_factory.append(n)
        assert lis.wait("READY=1", 60) is not None, n.text()[-3000:]
        time.sleep(0.5)
        mark = time.monotonic()
        n.proc.send_signal(signal.SIGHUP)
        assert lis.wait("READY=1", 60, after=mark) is not None, n.text()[-3000:]
        done = lis.messages("READY=1")[-1][0]
        # The reload lasted longer than the watchdog timeout: it had to be fed meanwhile.
        assert done - mark > 0.6, f"reload took {done - mark:.2f} s: not slow enough to tell"
        pings = [t for t, _ in lis.messages("WATCHDOG=1") if t <= done]
        before = [t for t in pings if t < mark]
        during = [t for t in pings if t >= mark]
        assert before and during, lis.got[-10:]
        gaps = [b - a for a, b in zip([before[-1], *during], [*during, done], strict=True)]
        assert max(gaps) < 0.6, f"no WATCHDOG=1 for {max(gaps):.2f} s during the reload"
    finally:
        lis.close()


def test_unreachable_socket_is_one_log_line(host: Host, tmp_path: Path,
                                            node_factory: list[Node]) -> None:
    n = Node(host, tmp_path, config(tmp_path),
             {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})
    node_factory.append(n)
    assert wait_for(n.has_vip, 15), n.text()[-3000:]
    # READY=1 (after the VIP) is the first message sent: the one that fails
    assert wait_for(lambda: "NOTIFY_SOCKET" in n.text(), 5), n.text()[-2000:]
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Reload complete" in n.text(), 10), n.text()[-2000:]
    lines = [ln for ln in n.text().splitlines() if "NOTIFY_SOCKET" in ln]
    assert len(lines) == 1, lines
    assert n.proc.poll() is None
    assert n.stop() == 0


def test_fatal_exit_sends_errno(host: Host, tmp_path: Path, node_factory: list[Node]) -> None:
    lis = NotifyListener(tmp_path / "notify.sock")
    try:
        # nothing to run: the parent exits 2 (keepalived: no config) and tells systemd why
        n = Node(host, tmp_path, "global_defs {\n    router_id n1\n}\n",
                 {"NOTIFY_SOCKET": str(lis.path)})
        node_factory.append(n)
        assert n.proc.wait(15) == 2
        assert lis.wait("ERRNO=22", 2) is not None, lis.got
        assert not lis.messages("READY=1")
    finally:
        lis.close()


def test_without_notify_socket_nothing_changes(host: Host, tmp_path: Path,
                                               node_factory: list[Node]) -> None:
    n = Node(host, tmp_path, config(tmp_path), {})
    node_factory.append(n)
    assert wait_for(n.has_vip, 15), n.text()[-3000:]
    child = n.vrrp_pid()
    assert child is not None
    argv = Path(f"/proc/{child}/cmdline").read_bytes()
    # the children's real argv is replaced by the title: its absence of a status pipe shows
    # in the open descriptors instead
    assert b"--status-fd" not in argv
    fds = {os.readlink(f"/proc/{child}/fd/{f}") for f in os.listdir(f"/proc/{child}/fd")}
    parent_fds = {os.readlink(f"/proc/{n.proc.pid}/fd/{f}")
                  for f in os.listdir(f"/proc/{n.proc.pid}/fd")}
    assert not any(f.startswith("pipe:") for f in fds & parent_fds)
    assert "Reload complete" not in n.text()
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "Reload finished" in n.text(), 10)
    time.sleep(0.3)
    assert "Reload complete" not in n.text()  # the parent's relay line: no relay here


# ------------------------------------------------------------------------------ names


def comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def argv0(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()


def pids_of(cmd: list[str]) -> set[int]:
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def test_processes_are_named_keepalived(host: Host, tmp_path: Path,
                                        node_factory: list[Node]) -> None:
    n = Node(host, tmp_path, config(tmp_path), {})
    node_factory.append(n)
    assert wait_for(n.has_vip, 15), n.text()[-3000:]
    child = n.vrrp_pid()
    assert child is not None
    ours = {n.proc.pid, child}
    for pid in ours:
        assert comm(pid) == "keepalived"
        assert argv0(pid).split()[0] == "keepalived", argv0(pid)
        assert "-f " + str(tmp_path / "keepalived.conf") in argv0(pid)
    assert ours <= pids_of(["pgrep", "-x", "keepalived"])
    assert ours <= pids_of(["pidof", "keepalived"])


def test_process_name_keywords(host: Host, tmp_path: Path, node_factory: list[Node]) -> None:
    # A name no other process on the machine has, so killall's verdict is about ours only.
    name = f"pkn{os.getpid() % 100000}"
    n = Node(host, tmp_path, config(tmp_path, glob=(f"process_name {name}", "process_names")),
             {})
    node_factory.append(n)
    assert wait_for(n.has_vip, 15), n.text()[-3000:]
    child = n.vrrp_pid()
    assert child is not None
    assert comm(n.proc.pid) == name
    assert comm(child) == "keepalived_vrrp"
    assert subprocess.run(["killall", "-0", name]).returncode == 0
    assert pids_of(["pgrep", "-x", name]) == {n.proc.pid}
    assert n.stop() == 0
    assert subprocess.run(["killall", "-0", name], capture_output=True).returncode == 1

    tmp2 = tmp_path / "b"
    tmp2.mkdir()
    n2 = Node(host, tmp2, config(tmp2, glob=("vrrp_process_name vr_only",)), {})
    node_factory.append(n2)
    assert wait_for(n2.has_vip, 15), n2.text()[-3000:]
    child2 = n2.vrrp_pid()
    assert child2 is not None
    assert comm(n2.proc.pid) == "keepalived" and comm(child2) == "vr_only"
