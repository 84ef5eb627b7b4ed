#!/usr/bin/env python3
"""Resource cost per VRRP instance: RSS and CPU of pykeepalived and keepalived, same lab.

    .venv/bin/python bench/failover/rescost.py [--instances 1,200] [--seconds 20] [--no-write]

Two nodes of one implementation (master n1, backup n2), N instances each (VRIDs 1..N on one
interface, one VIP each), for each of: v2 advert_int 1 and v3 advert_int 0.1. After the
election settles, the process group of each node is sampled for ``--seconds``: RSS is the sum of
VmRSS over the group's processes (parent + VRRP child), CPU is (utime + stime) consumed during
the window over its length, in % of one core. Writes a table into docs/performance.md between
``<!-- rescost:begin -->`` / ``<!-- rescost:end -->``. Run by hand as root; not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from pykeepalived.lab.cluster import Daemon, InstanceConf, render_config
from pykeepalived.lab.netns import Lab, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DOC, IMPL_NAMES, machine

TICK = os.sysconf("SC_CLK_TCK")


def group_pids(pgid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def sample(pgid: int) -> tuple[float, float]:
    """(CPU seconds used so far, RSS MiB) summed over the process group."""
    cpu = 0.0
    rss = 0.0
    for pid in group_pids(pgid):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / TICK
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
        except (OSError, IndexError, ValueError):
            continue
    return cpu, rss


def conf(name: str, prio: int, n: int, version: int, adv: float) -> str:
    insts = [InstanceConf(name=f"VI_{k}", vrid=k, priority=prio, version=version,
                          advert_int=adv,
                          vips=(f"10.98.{k // 250}.{1 + k % 250}/16 dev eth0",))
             for k in range(1, n + 1)]
    return render_config(name, insts)


def measure(lab: Lab, impl: str, n: int, version: int, adv: float,
            seconds: float) -> list[str]:
    n1 = Daemon(lab.hosts["n1"], impl, conf("n1", 150, n, version, adv))
    n2 = Daemon(lab.hosts["n2"], impl, conf("n2", 100, n, version, adv))
    rows = []
    try:
        n1.start()
        n2.start()
        last = f"10.98.{n // 250}.{1 + n % 250}"
        if not wait_for(lambda: n1.has_vip(last), 60):
            return [f"| {IMPL_NAMES[impl]} | {n} | v{version} A={adv:g} | (no election) | | | |"]
        time.sleep(max(2.0, 5 * adv))
        res = {}
        for role, d in (("master", n1), ("backup", n2)):
            assert d.proc is not None
            res[role] = sample(d.proc.pid)
        time.sleep(seconds)
        for role, d in (("master", n1), ("backup", n2)):
            assert d.proc is not None
            cpu1, rss = sample(d.proc.pid)
            cpu = (cpu1 - res[role][0]) / seconds * 100
            res[role] = (cpu, rss)
        rows.append(f"| {IMPL_NAMES[impl]} | {n} | v{version} A={adv:g} | "
                    f"{res['master'][1]:.1f} | {res['master'][0]:.2f} | "
                    f"{res['backup'][1]:.1f} | {res['backup'][0]:.2f} |")
    finally:
        n1.stop()
        n2.stop()
    return rows


def write_doc(text: str) -> None:
    begin, end = "<!-- rescost:begin -->", "<!-- rescost:end -->"
    doc = DOC.read_text()
    if begin not in doc:
        doc += f"\n## Resource cost\n\n{begin}\n{end}\n"
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", default="1,200")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--impl", default="py,ka")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    rows = ["| implementation | instances | adverts | master RSS (MiB) | master CPU (% of a core) "
            "| backup RSS (MiB) | backup CPU (%) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    lab = Lab("pkdr")
    try:
        lab.add_host("n1", ["10.98.250.11/16"])
        lab.add_host("n2", ["10.98.250.12/16"])
        for n in (int(x) for x in a.instances.split(",")):
            for version, adv in ((2, 1.0), (3, 0.1)):
                for impl in a.impl.split(","):
                    print(f"== {IMPL_NAMES[impl]} {n} instances v{version} A={adv:g}",
                          flush=True)
                    rows += measure(lab, impl, n, version, adv, a.seconds)
                    print(rows[-1], flush=True)
    finally:
        lab.cleanup()
    text = (f"Measured on: {machine()}. Window {a.seconds:g} s per row; RSS = parent + VRRP "
            "child.\n\n" + "\n".join(rows))
    print(text)
    if not a.no_write:
        write_doc(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
