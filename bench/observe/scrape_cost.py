"""What metrics cost: CPU per scrape in each process, and the daemon's CPU with and without.

    sudo .venv/bin/python bench/observe/scrape_cost.py [--instances 250] [--version 3]
                                                       [--advert 0.1] [--scrapes 30]

Two lab nodes (master priority 150, backup 100) run pykeepalived with ``--metrics-listen`` on
``bench/resources``' configuration (N instances, one VIP each). On each node, once every VIP
is where it belongs:

* idle window: the CPU time (``/proc/PID/task/*/schedstat``, nanoseconds) of each of the
  daemon's processes over ``--idle`` seconds with no scrape: the daemon's own cost;
* scrape window: ``--scrapes`` GETs of ``/metrics``, ``--gap`` seconds apart (longer than the
  listener's 0.5 s cache, so each one reaches the children), over the same kind of window.

The difference, per scrape, is what one scrape costs each process (the VRRP child builds its
status document, the metrics child decodes it and renders the text format). Dividing by a
scrape interval and by the idle CPU of the whole daemon gives the relative overhead at that
interval, the figure ``docs/observability.md`` quotes. CPU time does not depend on how busy
the machine is the way wall-clock time does, but the run says how loaded it was (``uptime``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

from pykeepalived.lab.netns import Host, Lab, netns_available

ROOT = Path(__file__).resolve().parents[2]
LISTEN = "127.0.0.1:9650"


def _resources() -> object:
    """bench/resources/run.py as a module (its configuration and /proc sampling)."""
    spec = importlib.util.spec_from_file_location("bench_resources",
                                                  ROOT / "bench" / "resources" / "run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_resources"] = mod
    spec.loader.exec_module(mod)
    return mod


R = _resources()


def cpu_ns(root: int) -> dict[str, int]:
    """CPU nanoseconds per process of the tree under ``root``, keyed by role."""
    out: dict[str, int] = {}
    for pid, s in R.sample_tree(root).items():  # type: ignore[attr-defined]
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        role = "parent"
        if b"--child" in cmd:
            role = cmd[cmd.index(b"--child") + 1].decode()
        out[role] = out.get(role, 0) + s.cpu_ns
    return out


def window(root: int, seconds: float, host: Host | None, gap: float) -> tuple[dict[str, int],
                                                                              float, int]:
    """CPU ns per role over a window; with ``host``, scrape every ``gap`` seconds meanwhile."""
    before = cpu_ns(root)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        if host is not None:
            r = host.run(["curl", "-sf", "-o", "/dev/null", f"http://{LISTEN}/metrics"],
                         check=False)
            n += r.returncode == 0
        time.sleep(gap if host is not None else 0.5)
    w = time.monotonic() - t0
    after = cpu_ns(root)
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}, w, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=250)
    ap.add_argument("--version", type=int, choices=[2, 3], default=3)
    ap.add_argument("--advert", type=float, default=0.1)
    ap.add_argument("--scrapes", type=int, default=30)
    ap.add_argument("--gap", type=float, default=0.7, help="seconds between scrapes")
    args = ap.parse_args()
    if not netns_available():
        print("needs root and ip netns", file=sys.stderr)
        return 2
    R.compile_sources()  # type: ignore[attr-defined]
    sc = R.Scenario(args.instances, args.version, args.advert)  # type: ignore[attr-defined]
    print(f"load before: {os.getloadavg()}")
    with Lab("pkoc") as lab:
        R.lab_hosts(lab)  # type: ignore[attr-defined]
        with R.running_pair(lab, "py", sc,  # type: ignore[attr-defined]
                            extra_args=["--metrics-listen", LISTEN]) as daemons:
            time.sleep(5)
            seconds = args.scrapes * args.gap
            print(f"{sc.label}; {args.scrapes} scrapes {args.gap:g} s apart")
            print("| node | process | idle CPU % | CPU per scrape (ms) |")
            print("| --- | --- | --- | --- |")
            for role, d in daemons.items():
                assert d.proc is not None
                mark = d.mark()
                idle, wi, _ = window(d.proc.pid, seconds, None, args.gap)
                busy, wb, n = window(d.proc.pid, seconds, d.host, args.gap)
                total_idle = sum(idle.values()) / 1e9 / wi
                for proc in sorted(idle):
                    per = (busy.get(proc, 0) / wb - idle[proc] / wi) * wb / max(n, 1) / 1e6
                    print(f"| {role} | {proc} | {idle[proc] / 1e9 / wi * 100:.2f} | {per:.1f} |")
                per_all = (sum(busy.values()) / wb - sum(idle.values()) / wi) * wb / max(n, 1)
                print(f"| {role} | whole daemon | {total_idle * 100:.2f} | {per_all / 1e6:.1f} |")
                for interval in (1, 15, 60):
                    print(f"  {role}: scraped every {interval} s: +"
                          f"{per_all / 1e9 / interval / total_idle * 100:.1f} % CPU")
                became = d.log_since(mark).count("Entering MASTER STATE")
                print(f"  {role}: {n} scrapes answered; 'Entering MASTER STATE' lines during "
                      f"the windows: {became}")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
