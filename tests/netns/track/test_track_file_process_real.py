"""track_file reacts to real writes (inotify); vrrp_track_process to real processes starting
and exiting, through the kernel proc connector and through the /proc fallback used inside
network namespaces."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from pykeepalived.config.model import TrackFile, TrackProcess
from pykeepalived.track import TrackerChanged, TrackerKind
from pykeepalived.track.file import TrackFileWatcher
from pykeepalived.track.process import ProcessMonitor, open_proc_connector

pytestmark = pytest.mark.netns  # root for the proc connector; no network


async def _wait(events: list[TrackerChanged], n: int, timeout: float = 3.0) -> float:
    t0 = time.monotonic()
    while len(events) < n:
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"only {len(events)} events: {events}")
        await asyncio.sleep(0.005)
    return time.monotonic() - t0


def test_track_file_follows_real_writes(tmp_path: Path) -> None:
    path = tmp_path / "weight"
    tf = TrackFile("tf", str(path), weight=-10, init_file=True, init_value=0)
    events: list[TrackerChanged] = []

    async def main() -> None:
        w = TrackFileWatcher([tf], events.append)
        initial = w.start()
        assert initial == [TrackerChanged(TrackerKind.FILE, "tf", True, 0)]
        assert path.read_text() == "0\n"  # init_file created it
        path.write_text("5\n")
        took = await _wait(events, 1)
        assert events[-1] == TrackerChanged(TrackerKind.FILE, "tf", False, 5)
        assert took < 0.5
        subprocess.run(["sh", "-c", f"echo -7 > {path}"], check=True)
        await _wait(events, 2)
        assert events[-1].value == -7
        path.write_text("-7\n")  # same value: no event
        tmp = tmp_path / "new"
        tmp.write_text("0x10\n")
        os.rename(tmp, path)  # renamed over it (IN_MOVED_TO)
        await _wait(events, 3)
        assert events[-1].value == 16
        path.unlink()  # gone: counts as 0
        await _wait(events, 4)
        assert events[-1] == TrackerChanged(TrackerKind.FILE, "tf", True, 0)
        await asyncio.sleep(0.1)
        assert len(events) == 4
        w.stop()
    asyncio.run(main())


def _sleeper(tmp_path: Path) -> tuple[str, Path]:
    name = "pkt" + uuid.uuid4().hex[:8]
    exe = tmp_path / name
    shutil.copy("/bin/sleep", exe)
    return name, exe


@pytest.mark.parametrize("connector", [True, False], ids=["proc-connector", "proc-scan"])
def test_track_process_follows_real_processes(tmp_path: Path, connector: bool) -> None:
    if connector and open_proc_connector() is None:
        pytest.skip("kernel proc connector unavailable")
    name, exe = _sleeper(tmp_path)
    tp = TrackProcess("tp", name, quorum=2, quorum_max=3)
    events: list[TrackerChanged] = []
    procs: list[subprocess.Popen[bytes]] = []

    async def main() -> None:
        mon = ProcessMonitor([tp], events.append, poll_interval=0.1, use_connector=connector)
        initial = mon.start()
        assert mon.event_driven is connector
        assert initial == [TrackerChanged(TrackerKind.PROCESS, "tp", False, 0)]
        procs.append(subprocess.Popen([str(exe), "30"]))
        await asyncio.sleep(0.3)
        assert events == []  # 1 < quorum 2
        procs.append(subprocess.Popen([str(exe), "30"]))
        took = await _wait(events, 1)
        assert events[-1] == TrackerChanged(TrackerKind.PROCESS, "tp", True, 2)
        assert took < (0.3 if connector else 0.8), took
        procs.append(subprocess.Popen([str(exe), "30"]))
        procs.append(subprocess.Popen([str(exe), "30"]))  # 4 > quorum_max 3
        await _wait(events, 2)
        assert events[-1] == TrackerChanged(TrackerKind.PROCESS, "tp", False, 4)
        # The killed one is an unreaped zombie of this process until the monitor has seen it
        # go (a zombie is not a running process); it stays in ``procs`` so it is reaped below,
        # not left as a zombie of the test run for later tests' zombie checks to find.
        procs[-1].kill()
        await _wait(events, 3)
        assert events[-1].up and events[-1].value == 3
        for p in procs:
            p.kill()
            p.wait()
        await _wait(events, 4)
        assert not events[-1].up and events[-1].value == 0
        await mon.stop()
    try:
        asyncio.run(main())
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_track_process_terminate_delay_hides_a_quick_restart(tmp_path: Path) -> None:
    name, exe = _sleeper(tmp_path)
    tp = TrackProcess("tp", name, terminate_delay=0.6, fork_delay=0.2)
    events: list[TrackerChanged] = []
    procs: list[subprocess.Popen[bytes]] = []

    async def main() -> None:
        mon = ProcessMonitor([tp], events.append, poll_interval=0.05)
        assert mon.start()[0].up is False
        procs.append(subprocess.Popen([str(exe), "30"]))
        took = await _wait(events, 1)
        assert events[-1].up and 0.15 <= took < 1.0, took  # after fork_delay
        procs[0].kill()
        procs[0].wait()
        await asyncio.sleep(0.2)
        procs.append(subprocess.Popen([str(exe), "30"]))  # restarted within terminate_delay
        await asyncio.sleep(0.8)
        assert len(events) == 1
        procs[1].kill()
        procs[1].wait()
        took = await _wait(events, 2)
        assert not events[-1].up and 0.5 <= took < 1.6, took
        await mon.stop()
    try:
        asyncio.run(main())
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_proc_scan_sees_an_exec_under_the_same_pid(tmp_path: Path) -> None:
    """Fallback mode: a wrapper that ``exec``s the tracked program keeps its pid; the periodic
    full rescan finds it (the incremental scans only read new pids)."""
    name, exe = _sleeper(tmp_path)
    events: list[TrackerChanged] = []
    procs: list[subprocess.Popen[bytes]] = []

    async def main() -> None:
        mon = ProcessMonitor([TrackProcess("tp", name)], events.append, poll_interval=0.05,
                             use_connector=False)
        mon.FULL_SCAN_EVERY = 4
        mon.start()
        procs.append(subprocess.Popen(["sh", "-c", f"sleep 0.3; exec {exe} 30"]))
        took = await _wait(events, 1, timeout=3.0)
        assert events[-1].up and events[-1].value == 1
        assert 0.3 <= took < 1.5, took
        await mon.stop()
    try:
        asyncio.run(main())
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_process_monitor_rcv_bufs_size_the_connector_socket() -> None:
    """process_monitor_rcv_bufs (with _force: past net.core.rmem_max) sizes the proc connector
    socket of the trackers built from the configuration."""
    import socket

    from pykeepalived.config import load_text
    from pykeepalived.track import Trackers

    if open_proc_connector() is None:
        pytest.skip("kernel proc connector unavailable")
    text = ("global_defs {\n process_monitor_rcv_bufs %d\n%s}\n"
            "vrrp_track_process tp {\n process pk-nothing-by-this-name\n}\n")

    async def size(n: int, force: str) -> int:
        cfg = load_text(text % (n, force)).config
        t = Trackers(cfg, lambda _e: None, all_trackers=True)
        await t.start()
        try:
            sock = t.processes._sock
            assert sock is not None
            return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        finally:
            await t.stop()

    assert asyncio.run(size(300000, "")) == 600000
    big = int(Path("/proc/sys/net/core/rmem_max").read_text()) + 4096
    assert asyncio.run(size(big, " process_monitor_rcv_bufs_force\n")) == 2 * big
