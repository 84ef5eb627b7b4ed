#!/usr/bin/env python3
"""Failover benchmark: pykeepalived and Debian's keepalived side by side, same lab, same run.

    .venv/bin/python bench/failover/run.py [--trials 5] [--impl py,ka] [--cases v2-1,v3-0.1,v3-0.01]
                                           [--modes crash,kill9,term] [--no-write]
                                           [--prefix pkdb]

Two nodes of the same implementation on one bridge (n1 priority 150, n2 priority 100) and a
client pinging the VIP every 10 ms. Per trial n1 is (re)started and takes the VIP back, the run
waits a random phase in [0, A), then fails n1 at t0:

* ``crash``: n1's link is cut and its whole process group SIGKILLed;
* ``kill9``: the process group is SIGKILLed, the link stays (the VIP stays on the dead node, so
  the client sees ~no outage: only the takeover time is meaningful);
* ``term``: SIGTERM to n1's parent (graceful: priority-0 advert).

Measured from t0: ``vip`` = the VIP appears on n2 (``ip -ts monitor address`` in n2) and
``outage`` = the client's largest gap between ping replies. RFC bound: crash/kill9 takeover in
[MDI - A, MDI] (MDI = 3A + skew, skew = (256-100)/256 s for v2, ×A for v3); term = skew.
Prints min/median/max per case and writes the table into docs/performance.md (between the
``<!-- failover:begin -->`` / ``<!-- failover:end -->`` markers) with the machine it ran on.
Needs root, ``ip netns`` and keepalived; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pykeepalived.lab.cluster import Daemon, InstanceConf, render_config
from pykeepalived.lab.measure import AddrMonitor, Pinger
from pykeepalived.lab.netns import Lab, lab_lock, wait_for
from pykeepalived.lab.prometheus import Scraper
from pykeepalived.lab.report import write_section

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"
VIP = "10.99.5.200"
IMPL_NAMES = {"py": "pykeepalived", "ka": "keepalived 2.2.7"}
METRICS_LISTEN = "127.0.0.1:9650"


@dataclass
class Row:
    impl: str
    case: str
    mode: str
    vip: list[float]
    outage: list[float]
    bound: tuple[float, float]
    failed: int = 0


def case_params(case: str) -> tuple[int, float]:
    ver, adv = case.split("-")
    return int(ver[1:]), float(adv)


def bounds(version: int, adv: float, mode: str) -> tuple[float, float]:
    skew = (256 - 100) / 256 * (adv if version == 3 else 1.0)
    mdi = 3 * adv + skew
    return (0.0, skew) if mode == "term" else (mdi - adv, mdi)


def conf(name: str, prio: int, version: int, adv: float) -> str:
    inst = InstanceConf(priority=prio, version=version, advert_int=adv,
                        auth="PASS" if version == 2 else None, vips=(f"{VIP}/24 dev eth0",))
    return render_config(name, [inst])


def run_case(lab: Lab, impl: str, case: str, modes: list[str], trials: int,
             metrics: float | None = None) -> list[Row]:
    """``metrics``: pykeepalived serves /metrics on each node's loopback and both nodes are
    scraped every ``metrics`` seconds through the case (docs/observability.md)."""
    version, adv = case_params(case)
    n1h, n2h, cl = lab.hosts["n1"], lab.hosts["n2"], lab.hosts["cl"]
    extra = ["--metrics-listen", METRICS_LISTEN] if metrics is not None and impl == "py" else []
    n1 = Daemon(n1h, impl, conf("n1", 150, version, adv), extra_args=list(extra))
    n2 = Daemon(n2h, impl, conf("n2", 100, version, adv), extra_args=list(extra))
    rows = []
    n2.start()
    scraper = (Scraper([n1h, n2h], f"http://{METRICS_LISTEN}/metrics", metrics or 1.0).start()
               if extra else None)
    try:
        for mode in modes:
            row = Row(IMPL_NAMES[impl], case, mode, [], [], bounds(version, adv, mode))
            for trial in range(trials):
                n1h.heal()
                n1h.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
                n1.start()
                if not wait_for(lambda: n1.has_vip(VIP) and not n2.has_vip(VIP), 30):
                    print(f"  {impl} {case} {mode} #{trial + 1}: n1 did not become master",
                          file=sys.stderr)
                    row.failed += 1
                    n1.crash()
                    continue
                time.sleep(max(1.0, 3 * adv))  # n2 has heard n1 for a while
                cl.run(["ip", "neigh", "flush", "dev", "eth0"], check=False)
                mon = AddrMonitor(n2h)
                pinger = Pinger(cl, VIP, 0.01)
                time.sleep(0.4)
                time.sleep(random.uniform(0, adv))
                t0 = time.time()
                if mode == "crash":
                    n1h.cut()
                    n1.crash()
                elif mode == "kill9":
                    n1.crash()
                else:
                    n1.signal(15)
                ok = wait_for(lambda: n2.has_vip(VIP), 10 + 4 * adv)
                time.sleep(0.3)
                pinger.finish()
                t_vip = mon.first_add(VIP, t0)
                if mode == "term":
                    n1.stop()
                else:
                    n1.crash()
                if not ok or t_vip is None:
                    row.failed += 1
                    print(f"  {impl} {case} {mode} #{trial + 1}: no takeover", file=sys.stderr)
                    continue
                row.vip.append(t_vip - t0)
                out = pinger.outage(t0)
                if out is not None:
                    row.outage.append(out)
                print(f"  {impl} {case} {mode} #{trial + 1}: vip {t_vip - t0:.3f} s, "
                      f"outage {out if out is None else round(out, 3)} s", flush=True)
            rows.append(row)
    finally:
        if scraper is not None:
            scraper.stop()
        n1.crash()
        n2.stop()
        n1h.heal()
    return rows


def fmt3(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"{min(xs):.3f} / {statistics.median(xs):.3f} / {max(xs):.3f}"


def table(rows: list[Row]) -> str:
    out = ["| implementation | case | failure | RFC bound (s) | takeover min / median / max (s) "
           "| max over bound (s) | client outage min / median / max (s) | trials |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lo, hi = r.bound
        over = f"{max(r.vip) - hi:+.3f}" if r.vip else "n/a"
        bound = f"≤ {hi:.3f}" if r.mode == "term" else f"{lo:.3f} .. {hi:.3f}"
        version, adv = case_params(r.case)
        case = f"v{version} A={adv:g} s"
        outage = fmt3(r.outage) + (" (old node still answers)" if r.mode == "kill9" else "")
        out.append(f"| {r.impl} | {case} | {r.mode} | {bound} | {fmt3(r.vip)} | {over} | "
                   f"{outage} | {len(r.vip)}" + (f" ({r.failed} failed)" if r.failed else "")
                   + " |")
    return "\n".join(out)


def machine() -> str:
    cpu = ""
    try:
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else ""
    except OSError:
        pass
    ka = subprocess.run(["keepalived", "--version"], capture_output=True, text=True)
    ka_v = (ka.stderr or ka.stdout).splitlines()[0] if (ka.stderr or ka.stdout) else "?"
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}; "
            f"kernel {platform.release()}; {os.cpu_count()} CPUs ({cpu}); "
            f"Python {platform.python_version()}; {ka_v}")


def write_doc(text: str) -> None:
    write_section(DOC, "failover", text, "Performance")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--impl", default="py,ka")
    p.add_argument("--cases", default="v2-1,v3-0.1,v3-0.01")
    p.add_argument("--modes", default="crash,kill9,term")
    p.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    p.add_argument("--prefix", default="pkdb", help="namespace prefix of the lab (default pkdb)")
    p.add_argument("--metrics", type=float, metavar="SECONDS",
                   help="pykeepalived with --metrics-listen, both nodes scraped every SECONDS")
    a = p.parse_args()
    rows: list[Row] = []
    with lab_lock(a.prefix):  # a second run with the same prefix waits instead of wrecking it
        return _run(a, rows)


def _run(a: argparse.Namespace, rows: list[Row]) -> int:
    lab = Lab(a.prefix)
    try:
        for i in (1, 2):
            lab.add_host(f"n{i}", [f"10.99.5.{10 + i}/24"])
        lab.add_host("cl", ["10.99.5.100/24"])
        for case in a.cases.split(","):
            for impl in a.impl.split(","):
                print(f"== {IMPL_NAMES[impl]} {case}", flush=True)
                rows += run_case(lab, impl, case, a.modes.split(","), a.trials, a.metrics)
    finally:
        lab.cleanup()
    text = (f"Measured on: {machine()}. Trials per row: {a.trials}, random phase in [0, A) "
            "before each failure." + (f" Metrics on, scraped every {a.metrics:g} s."
                                      if a.metrics is not None else "")
            + "\n\n" + table(rows))
    print()
    print(text)
    if not a.no_write:
        write_doc(text)
        print(f"\nwritten to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
