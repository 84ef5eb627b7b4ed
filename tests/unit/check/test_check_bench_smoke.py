"""bench/checks runs (small sizes) and what it reports holds: every real server checked once
per delay_loop, and a dead server leaves the table within delay_loop × (retry + 1) +
connect_timeout. The full numbers (docs/checkers.md) come from running it by hand."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

BENCH = Path(__file__).resolve().parents[3] / "bench" / "checks" / "bench_checks.py"


def test_bench_checks_small_run() -> None:
    base = random.randint(30000, 38000)  # loopback ports of the farm, away from other tests
    p = subprocess.run([sys.executable, str(BENCH), "--sizes", "20", "--window", "2",
                        "--rounds", "2", "--latency-n", "10", "--base", str(base)],
                       capture_output=True, text=True, timeout=170)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    cap = next(r for r in rows if r.get("n") == 20)
    assert cap["failed"] == 0 and cap["checks_per_s"] >= 0.8 * cap["ideal_per_s"], cap
    lat = {r["retry"]: r for r in rows if "latency_n" in r}
    assert set(lat) == {0, 1}, rows
    for r in lat.values():
        assert 0 < r["min_s"] <= r["max_s"] <= r["bound_s"] + 1.0, r  # 1 s slack: busy CI
