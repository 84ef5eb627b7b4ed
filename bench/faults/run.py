#!/usr/bin/env python3
"""The fault matrix's long variants, with every figure written into docs/reliability.md.

    .venv/bin/python bench/faults/run.py [--short] [--no-write] [-- PYTEST ARGS]

Runs ``tests/netns/faults`` with ``PKD_FAULTS_FULL=1`` (30 s of 30 % loss, 50 link flaps, three
partitions; ``--short`` keeps CI's variants) and ``PKD_FAULTS_FIGURES`` pointing at a
temporary file, then turns the figures the scenarios recorded (pykeepalived and keepalived
2.2.7, measured side by side in the same run) into the table between ``<!-- faults:begin -->``
and ``<!-- faults:end -->`` of docs/reliability.md, with the machine and its load. The exit
status is pytest's: a bound that failed is reported, its figures are still written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.lab.machine import machine_line
from pykeepalived.lab.report import write_section

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"


def fmt(v: object) -> str:
    if not isinstance(v, (int, float)):
        return "–"
    if v != v:  # NaN: not measured
        return "–"
    if float(v).is_integer() and abs(v) >= 1:
        return f"{int(v)}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def table(rows: list[dict[str, object]]) -> str:
    out = ["| scenario | figure | pykeepalived | keepalived 2.2.7 |", "| --- | --- | --- | --- |"]
    for r in rows:
        metrics = r["metrics"]
        assert isinstance(metrics, dict)
        names = sorted({k for m in metrics.values() for k in m})
        for k in names:
            py = metrics.get("py", {}).get(k)
            ka = metrics.get("ka", {}).get(k)
            out.append(f"| {r['scenario']} | {k} | {fmt(py)} | {fmt(ka)} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true", help="CI's variants instead of the long ones")
    p.add_argument("--no-write", action="store_true", help="do not update docs/reliability.md")
    p.add_argument("pytest_args", nargs="*")
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w+", suffix=".jsonl") as figs:
        env = dict(os.environ, PKD_FAULTS_FIGURES=figs.name,
                   PKD_FAULTS_FULL="0" if a.short else "1")
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                             str(ROOT / "tests" / "netns" / "faults"), *a.pytest_args],
                            env=env, cwd=ROOT).returncode
        took = time.monotonic() - t0
        rows = [json.loads(line) for line in Path(figs.name).read_text().splitlines() if line]
    report = (f"{table(rows)}\n\n{'CI' if a.short else 'Long'} variants, {took:.0f} s, "
              f"pytest exit status {rc}. Machine: {machine_line()}.")
    print(report)
    if not a.no_write:
        write_section(DOC, "faults", report)
    return rc


if __name__ == "__main__":
    sys.exit(main())
