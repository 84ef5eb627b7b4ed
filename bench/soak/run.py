#!/usr/bin/env python3
"""Soak: 10,000 VRRP transitions, and no growth of memory, descriptors or asyncio tasks.

    .venv/bin/python bench/soak/run.py [--transitions 10000] [--instances 25] [--advert 0.05]
                                       [--impl py,ka] [--every 10] [--no-write]

Per implementation, one lab (``pksopy``/``pksoka``) with two nodes: n1 (priority 150) tracks a
file with weight -100 in every instance, n2 (priority 100) does not. A flip writes 1 to the
file (n1 drops to 50: n2 takes every instance over) and then 0 (n1 takes them back): two
transitions per instance and node each way. Flips repeat until the nodes' logs hold
``--transitions`` state changes in all; both implementations run at the same time.

Every ``--every`` flips, once the VIPs have settled, each daemon process of both nodes is
measured: RSS (``VmRSS``), open descriptors (``/proc/PID/fd``) and, for pykeepalived's VRRP
child, its asyncio tasks (SIGRTMAX: the child logs ``Dumping event loop: N task(s)``). The
first sample is taken after a warm-up of ``--every`` flips. Growth is the last sample against
the first; for RSS also the least-squares slope per 1000 transitions over all samples.
pykeepalived passes when no process grew a descriptor or a task and no RSS grew by more than
1 MiB (allocator noise; a leak of one object per transition at 10,000 transitions is more).
The table goes to docs/reliability.md (between ``<!-- soak:begin -->`` and ``<!-- soak:end -->``)
with the machine and its load. Needs root, ``ip netns`` and (for the comparison) keepalived.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pykeepalived.lab.cluster import render_config
from pykeepalived.lab.machine import machine_line
from pykeepalived.lab.netns import wait_for
from pykeepalived.lab.report import write_section
from pykeepalived.lab.scenario import (
    IMPL_NAMES,
    Side,
    daemon_processes,
    instances,
    run_sides,
    sides,
    usage,
    vips,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
RSS_SLACK_KIB = 1024


@dataclass
class Series:
    """One process's samples: (transitions so far, RSS KiB, fds, tasks or -1)."""

    node: str
    role: str
    points: list[tuple[int, int, int, int]] = field(default_factory=list)

    def slope_per_1000(self) -> float:
        """Least-squares RSS growth per 1000 transitions (KiB)."""
        if len(self.points) < 2:
            return 0.0
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        return 1000 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den \
            if den else 0.0


@dataclass
class Result:
    impl: str
    transitions: int = 0
    flips: int = 0
    seconds: float = 0.0
    series: dict[tuple[str, str], Series] = field(default_factory=dict)
    failed: str = ""


def _transitions(s: Side) -> int:
    return sum(len(re.findall(r"Entering (?:MASTER|BACKUP) STATE$", s.nodes[n].log_text(),
                              re.M)) for n in ("n1", "n2"))


def _tasks(s: Side, node: str) -> int:
    """asyncio tasks of the node's VRRP child (pykeepalived), -1 for keepalived."""
    d = s.nodes[node]
    if s.impl != "py":
        return -1
    mark = d.mark()
    d.signal(signal.SIGRTMAX)  # TDUMP, forwarded to the VRRP child
    found: list[int] = []

    def dumped() -> bool:
        m = re.search(r"Dumping event loop: (\d+) task", d.log_since(mark))
        if m:
            found.append(int(m.group(1)))
        return bool(m)

    return found[-1] if wait_for(dumped, 5, 0.02) else -2


def _sample(s: Side, res: Result, transitions: int) -> None:
    for node in ("n1", "n2"):
        tasks = _tasks(s, node)
        for role, pid in daemon_processes(s.nodes[node]).items():
            u = usage(pid)
            if u is None:
                continue
            ser = res.series.setdefault((node, role), Series(node, role))
            ser.points.append((transitions, u.rss_kib, u.fds, tasks if role == "vrrp" else -1))


def soak(s: Side, a: argparse.Namespace) -> Result:
    res = Result(s.impl)
    flag = Path(f"/tmp/pkd-run/{s.host('n1').ns}/soak-flip")
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.write_text("0\n")
    block = f'vrrp_track_file soak {{\n    file "{flag}"\n}}'
    extra = ("track_file {", "    soak weight -100", "}")
    s.configure("n1", render_config("n1", instances(s.net, a.instances, 150, advert=a.advert,
                                                    extra=extra), blocks=(block,)))
    s.configure("n2", render_config("n2", instances(s.net, a.instances, 100,
                                                    advert=a.advert)))
    vs = vips(s.net, a.instances)
    s.sample(vs, interval=0.02)
    s.start("n2")
    s.start("n1")
    if not s.wait_holders(vs, ["n1"], 60):
        res.failed = "n1 never held every VIP"
        return res
    t0 = time.monotonic()
    while True:
        for value, holder in (("1", "n2"), ("0", "n1")):
            flag.write_text(value + "\n")
            if not s.wait_holders(vs, [holder], 30):
                res.failed = f"flip {res.flips}: {holder} did not take every VIP"
                return res
        res.flips += 1
        if res.flips % a.every == 0:
            time.sleep(0.3)  # notifies, GARP bursts and kernel work of the flip are over
            n = _transitions(s)
            if res.flips > a.every:  # the first block of flips is the warm-up
                _sample(s, res, n)
            res.transitions = n
            print(f"  {IMPL_NAMES[s.impl]}: {res.flips} flips, {n} transitions, "
                  f"{time.monotonic() - t0:.0f} s", flush=True)
            if n >= a.transitions:
                break
    res.seconds = time.monotonic() - t0
    s.stop_sampling()
    return res


def verdict(res: Result) -> list[str]:
    """What grew in a pykeepalived process (empty: nothing did)."""
    bad = []
    for (node, role), ser in res.series.items():
        if len(ser.points) < 2:
            bad.append(f"{node} {role}: fewer than two samples")
            continue
        first, last = ser.points[0], ser.points[-1]
        if last[1] - first[1] > RSS_SLACK_KIB:
            bad.append(f"{node} {role}: RSS {first[1]} -> {last[1]} KiB")
        if last[2] > first[2]:
            bad.append(f"{node} {role}: descriptors {first[2]} -> {last[2]}")
        if last[3] > first[3]:
            bad.append(f"{node} {role}: asyncio tasks {first[3]} -> {last[3]}")
    return bad


def table(results: list[Result]) -> str:
    out = ["| implementation | node | process | RSS first → last (max) KiB | RSS slope "
           "KiB/1000 transitions | descriptors first → last (max) | asyncio tasks first → "
           "last (max) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for (node, role), ser in sorted(r.series.items()):
            p = ser.points
            tasks = ("–" if p[0][3] < 0 else
                     f"{p[0][3]} → {p[-1][3]} ({max(x[3] for x in p)})")
            out.append(f"| {IMPL_NAMES[r.impl]} | {node} | {role} | {p[0][1]} → {p[-1][1]} "
                       f"({max(x[1] for x in p)}) | {ser.slope_per_1000():+.1f} | "
                       f"{p[0][2]} → {p[-1][2]} ({max(x[2] for x in p)}) | {tasks} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transitions", type=int, default=10000)
    p.add_argument("--instances", type=int, default=25)
    p.add_argument("--advert", type=float, default=0.05)
    p.add_argument("--every", type=int, default=10, help="flips between two samples")
    p.add_argument("--impl", default="py,ka")
    p.add_argument("--no-write", action="store_true", help="do not update docs/reliability.md")
    a = p.parse_args()
    impls = a.impl.split(",")
    with sides(impls, "pkso", net_base="10.97") as ss:
        results = run_sides(ss, lambda s: soak(s, a))
    ordered = [results[i] for i in impls if i in results]
    for r in ordered:
        if r.failed:
            print(f"{IMPL_NAMES[r.impl]}: {r.failed}", file=sys.stderr)
            return 1
    text = table(ordered)
    bad = verdict(results["py"]) if "py" in results else []
    runs = "; ".join(f"{IMPL_NAMES[r.impl]} {r.transitions} transitions in {r.flips} flips, "
                     f"{r.seconds:.0f} s" for r in ordered)
    report = (f"{text}\n\n{a.instances} instances, advert_int {a.advert:g} s; {runs}.\n"
              f"Verdict: {'; '.join(bad) or 'no growth in any pykeepalived process'}.\n"
              f"Machine: {machine_line()}.")
    print(report)
    if not a.no_write:
        write_section(DOC, "soak", report)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
