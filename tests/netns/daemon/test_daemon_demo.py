"""The README's main command (`scripts/demo.sh` → `python -m pykeepalived.lab.demo`) end to end."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from pykeepalived.lab import demo
from pykeepalived.lab.netns import Lab, lab_lock, list_netns, wait_for

# timeout: the first test may wait for another run to release the lab (cluster.lab_lock).
pytestmark = [pytest.mark.netns, pytest.mark.timeout(600)]


def test_demo_runs_and_cleans_up(capsys: pytest.CaptureFixture[str]) -> None:
    with lab_lock(demo.PREFIX):  # held through the final check (no other run's lab in it)
        rc = demo.main([])
        out = capsys.readouterr().out
        assert rc == 0, out
        assert "n1: MASTER" in out, out
        assert re.search(r"n[23] took over: 10\.99\.7\.200 added 0\.\d+ s after the crash",
                         out), out
        assert out.count("hello from backend") == 4, out
        assert re.search(r"the client now reaches 10\.99\.7\.200 at MAC 02:\S+:0[23] ", out), out
        assert not [n for n in list_netns() if n.startswith(demo.PREFIX)]


def test_demo_keep_then_clean(capsys: pytest.CaptureFixture[str]) -> None:
    """``--keep`` leaves the cluster up (the VIP still answers the client from the new master);
    ``--clean`` removes every namespace and process it left."""
    vip = "10.99.7.200"
    kept: set[int] = set()
    with lab_lock(demo.PREFIX):
        try:
            before = _children()
            rc = demo.main(["--keep"])
            # The demo ran in this process: what it left running are this process's children.
            kept = _children() - before
            out = capsys.readouterr().out
            assert rc == 0, out
            assert "Leaving the lab running (--keep)" in out and "Cleaning up" not in out, out
            left = [n for n in list_netns() if n.startswith(demo.PREFIX)]
            assert {f"{demo.PREFIX}n2", f"{demo.PREFIX}n3", f"{demo.PREFIX}cl"} <= set(left)
            r = subprocess.run(["ip", "netns", "exec", f"{demo.PREFIX}cl", "curl", "-s",
                                "-m", "3", f"http://{vip}/"], capture_output=True, text=True,
                               timeout=10)
            assert "hello from backend" in r.stdout, (r.returncode, r.stdout, out)
            holders = [n for n in ("n2", "n3") if f"inet {vip}/" in subprocess.run(
                ["ip", "-n", f"{demo.PREFIX}{n}", "-o", "addr", "show", "dev", "eth0"],
                capture_output=True, text=True).stdout]
            assert len(holders) == 1, holders
            pids = subprocess.run(["ip", "netns", "pids", f"{demo.PREFIX}{holders[0]}"],
                                  capture_output=True, text=True).stdout.split()
            assert pids  # its daemon (and the relay) still run

            assert demo.main(["--clean"]) == 0
            assert not [n for n in list_netns() if n.startswith(demo.PREFIX)]
            assert wait_for(lambda: not any(_alive(p) for p in pids), 5)
            # Every process the kept lab ran is gone, not only the VIP holder's (reaped here:
            # a CLI --keep exits and init adopts them, this process must not keep zombies).
            assert kept
            assert wait_for(lambda: _reap(kept), 5), sorted(kept)
        finally:
            Lab.remove_stale(demo.PREFIX)
            wait_for(lambda: _reap(kept), 5)


def _children() -> set[int]:
    """This process's child processes (``/proc/<pid>/stat`` field 4 is the parent pid)."""
    me, out = os.getpid(), set()
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.add(int(p))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _reap(pids: set[int]) -> bool:
    """Collect those of ``pids`` that have exited; True once none is left running."""
    for pid in list(pids):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # already collected (its Popen object polled it)
            done = pid
        if done:
            pids.discard(pid)
    return not pids


def _alive(pid: str) -> bool:
    """Running (a killed child of this test process lingers as a zombie until reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
