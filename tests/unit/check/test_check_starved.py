"""A checker starved of CPU removes no healthy server and says it is late.

The checker child runs at nice 19 pinned to one CPU while a busy sibling (nice 0) spins on the
same CPU, so it gets a sliver of that CPU and runs its timers late; the real servers (an
asyncio responder process) answer at once from another CPU. Every check has retry 0 and a
0.25 s timeout: a timeout counted from when the check was due, or a deadline that fires
before the loop looks at a socket the kernel already answered on, would remove servers.
Counted from the connect() call and with the socket asked first, none is removed, and the
lateness comes out as keepalived's "A thread timer expired" line and in the counters."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

HERE = Path(__file__).resolve().parent
FARM = HERE.parents[2] / "bench" / "checks" / "bench_checks.py"
N = 100


def test_starved_checker_removes_no_healthy_server_and_reports_lateness() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs: one for the starved checker, one for the servers")
    starved, other = cpus[0], cpus[1]
    base = random.randint(40000, 47000)
    farm = subprocess.Popen([sys.executable, str(FARM), "--farm", str(N), "--base", str(base)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    hog = None
    try:
        os.sched_setaffinity(farm.pid, {other})
        assert farm.stdout is not None and farm.stdout.readline().strip() == b"ready"
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        os.sched_setaffinity(hog.pid, {starved})
        with contextlib.suppress(PermissionError):  # nice 0 even under a niced test run
            os.setpriority(os.PRIO_PROCESS, hog.pid, 0)
        p = subprocess.run([sys.executable, str(HERE / "starved_checker.py"), str(base), str(N),
                            "6", str(starved)], capture_output=True, text=True, timeout=50)
    finally:
        for proc in (hog, farm):
            if proc is not None:
                proc.kill()
                proc.wait()
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads(p.stdout.strip().splitlines()[-1])
    log = p.stderr
    assert "Removing service" not in log, [ln for ln in log.splitlines() if "Removing" in ln][:5]
    assert res["in_table"] == N, res
    assert res["runs"] >= N, res  # it kept checking, however late
    assert "A thread timer expired" in log, log[-2000:]
    assert res["stalls"] >= 1 and res["checks_late"] >= 1, res
