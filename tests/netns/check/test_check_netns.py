"""The checker child against three real HTTP servers in namespaces (prefix pkh).

The checker runs in the director's namespace (a thread that joined it with setns), with the real
probes, pool, Notifier (lvs_notify_fifo + notify/quorum scripts) and a backend that records the
desired table. Stopping a server must remove it within delay_loop × (retry + 1) +
connect_timeout; losing quorum must switch the table to the sorry server and back, with notifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pykeepalived.config import load_text
from pykeepalived.daemon.check_process import CheckerProcess
from pykeepalived.daemon.process import enter_netns
from pykeepalived.lab.netns import Host, Lab
from pykeepalived.lvs.table import LvsOp, LvsTable, ServiceKey, diff
from pykeepalived.options import Options

pytestmark = [pytest.mark.netns, pytest.mark.slow]

VIP = "10.66.0.100"
RS_IPS = {"rs1": "10.66.0.11", "rs2": "10.66.0.12", "rs3": "10.66.0.13"}
DELAY_LOOP, RETRY, DELAY_BEFORE_RETRY, CONNECT_TIMEOUT = 1.0, 1, 1.0, 1.0
BOUND = DELAY_LOOP * (RETRY + 1) + CONNECT_TIMEOUT
SLACK = 1.5  # two busy cores, shared with other test suites


class Recorder:
    name = "recording"

    def __init__(self) -> None:
        self.table = LvsTable()
        self.lock = threading.Lock()

    async def start(self) -> None:
        pass

    async def apply(self, desired: LvsTable) -> list[LvsOp]:
        with self.lock:
            ops = diff(self.table, desired)
            self.table = desired
        return ops

    async def close(self) -> None:
        pass

    def addrs(self) -> set[str]:
        with self.lock:
            return {d.addr for d in self.table.dests(ServiceKey.inet(VIP, 80)).values()}


def wait(pred: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``pred()`` held, or None after ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def start_http(host: Host, docroot: Path) -> None:
    """Start the real server and return once it listens (so no check races its start-up)."""
    host.popen([sys.executable, "-m", "http.server", "8080", "--bind", host.ip4(),
                "--directory", str(docroot)], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
    listening = wait(lambda: ":8080" in host.run(["ss", "-ltnH"], check=False).stdout, 10.0)
    assert listening is not None, f"http.server did not start in {host.ns}"


def stop_http(host: Host) -> None:
    host.stop_procs()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[Lab, Path]]:
    lab = Lab("pkh")
    try:
        lab.add_host("dir", ["10.66.0.1/24"])
        for name, ip in RS_IPS.items():
            lab.add_host(name, [f"{ip}/24"])
        yield lab, tmp_path
    finally:
        lab.cleanup()


def test_pool_follows_real_servers_and_quorum(rig: tuple[Lab, Path]) -> None:
    lab, tmp = rig
    docroot = tmp / "www"
    docroot.mkdir()
    body = b"<html>pkh real server</html>\n"
    (docroot / "index.html").write_bytes(body)
    events = tmp / "events.log"
    script = tmp / "notify.sh"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {events}\n")
    script.chmod(0o755)
    fifo = tmp / "lvs.fifo"
    os.mkfifo(fifo, 0o600)
    fifo_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    rs_blocks = "".join(f"""
  real_server {ip} 8080 {{
    notify_up "{script} up {name}"
    notify_down "{script} down {name}"
    HTTP_GET {{
      url {{
        path /index.html
        digest {hashlib.md5(body).hexdigest()}
      }}
      connect_timeout {CONNECT_TIMEOUT}
      retry {RETRY}
      delay_before_retry {DELAY_BEFORE_RETRY}
      warmup 0
    }}
  }}""" for name, ip in RS_IPS.items())
    text = f"""
global_defs {{
  lvs_notify_fifo {fifo}
}}
virtual_server {VIP} 80 {{
  delay_loop {DELAY_LOOP}
  lb_algo rr
  protocol TCP
  quorum 2
  quorum_up "{script} quorum_up"
  quorum_down "{script} quorum_down"
  sorry_server 10.66.0.99 80
{rs_blocks}
}}
"""
    parsed = load_text(text)
    cfg = parsed.config
    assert len(cfg.virtual_servers) == 1, parsed.messages
    for name in RS_IPS:
        start_http(lab.hosts[name], docroot)
    backend = Recorder()
    proc = CheckerProcess(Options(), cfg, backend=backend)
    result: list[int] = []

    def child() -> None:
        enter_netns(lab.hosts["dir"].ns)  # this thread only
        result.append(asyncio.run(proc.run()))

    th = threading.Thread(target=child, daemon=True)
    th.start()
    fifo_lines: list[str] = []

    def read_fifo() -> list[str]:
        try:
            fifo_lines.extend(os.read(fifo_fd, 65536).decode().splitlines())
        except BlockingIOError:
            pass
        return fifo_lines

    def events_text() -> str:
        return events.read_text() if events.exists() else ""

    try:
        all3 = set(RS_IPS.values())
        # http.server takes a moment to listen; the first failed check may remove a server
        assert wait(lambda: backend.addrs() == all3, 15.0) is not None, backend.addrs()
        time.sleep(0.5)
        events.unlink(missing_ok=True)
        read_fifo()
        fifo_lines.clear()

        # 1. one server dies: removed within the bound
        stop_http(lab.hosts["rs1"])
        took = wait(lambda: "10.66.0.11" not in backend.addrs(), BOUND + SLACK + 2)
        assert took is not None and took <= BOUND + SLACK, took
        print(f"rs1 removed {took:.2f} s after its server stopped (bound {BOUND})")
        assert backend.addrs() == {"10.66.0.12", "10.66.0.13"}
        assert wait(lambda: "down rs1" in events_text(), 3.0) is not None
        assert wait(lambda: f"RS [10.66.0.11]:tcp:8080 [{VIP}]:tcp:80 DOWN" in read_fifo(),
                    3.0) is not None

        # 2. it comes back
        start_http(lab.hosts["rs1"], docroot)
        assert wait(lambda: backend.addrs() == all3, DELAY_LOOP * 3 + 3) is not None
        assert wait(lambda: "up rs1" in events_text(), 3.0) is not None

        # 3. two die: weight 1 < quorum 2 -> the sorry server alone
        stop_http(lab.hosts["rs1"])
        stop_http(lab.hosts["rs2"])
        assert wait(lambda: backend.addrs() == {"10.66.0.99"}, BOUND + SLACK + 2) is not None
        assert wait(lambda: "quorum_down" in events_text(), 3.0) is not None
        assert wait(lambda: f"VS [{VIP}]:tcp:80 DOWN" in read_fifo(), 3.0) is not None

        # 4. they return: quorum regained, sorry server out
        start_http(lab.hosts["rs1"], docroot)
        start_http(lab.hosts["rs2"], docroot)
        assert wait(lambda: backend.addrs() == all3, DELAY_LOOP * 3 + 3) is not None
        assert wait(lambda: "quorum_up" in events_text(), 3.0) is not None
        assert wait(lambda: f"VS [{VIP}]:tcp:80 UP" in read_fifo(), 3.0) is not None
    finally:
        proc.request_stop()
        th.join(10)
        os.close(fifo_fd)
    assert result == [0]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) or not fifo.exists()


def test_ha_suspend_waits_for_the_virtual_address() -> None:
    """Checks of an ha_suspend VS stay paused until its address appears on the director."""
    text = """
virtual_server 10.69.0.100 80 {
  delay_loop 1
  lb_algo rr
  protocol TCP
  ha_suspend
  real_server 10.69.0.1 9 {
    TCP_CHECK {
      connect_timeout 1
      retry 0
      warmup 0
    }
  }
}
"""
    cfg = load_text(text).config
    with Lab("pkhs") as lab:
        director = lab.add_host("dir", ["10.69.0.1/24"])
        backend = Recorder()
        proc = CheckerProcess(Options(), cfg, backend=backend)
        result: list[int] = []

        def child() -> None:
            enter_netns(director.ns)
            result.append(asyncio.run(proc.run()))

        th = threading.Thread(target=child, daemon=True)
        th.start()
        key = ServiceKey.inet("10.69.0.100", 80)

        def dests() -> set[str]:
            with backend.lock:
                return {d.addr for d in backend.table.dests(key).values()}

        try:
            assert wait(lambda: dests() == {"10.69.0.1"}, 10) is not None
            time.sleep(2.5)  # > 2 × delay_loop: a running check would have removed it
            assert dests() == {"10.69.0.1"}
            director.run(["ip", "addr", "add", "10.69.0.100/32", "dev", "lo"])
            took = wait(lambda: dests() == set(), 5)
            assert took is not None and took < 2.5, took
        finally:
            proc.request_stop()
            th.join(10)
        assert result == [0]
