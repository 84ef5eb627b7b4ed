"""Start-up to the wire, and SIGTERM during start-up or reload, beside keepalived.

    flock /tmp/pk-bench.lock .venv/bin/python bench/scale/startup.py time \
        [--instances 1 1000] [--adverts 1 0.1] [--trials 3] [--impl py ka]
    flock /tmp/pk-bench.lock .venv/bin/python bench/scale/startup.py term \
        [--instances 1 250] [--offsets 0 0.02 0.05 0.1 0.2 0.4 0.8 1.6] [--reload]

``time``: one node and one observer in a namespace lab (``pykeepalived.lab.startup``); every
instance is an address owner (``state MASTER``, priority 255: MASTER at once, no protocol
timer in the figure), one /32 VIP each, 250 per interface (more veths past the first 250). Reported
per implementation: from exec to the first advert the observer receives, and to all VIPs on
the node (median and max of ``--trials``), with the machine's load.

``term``: TERM at each offset after exec (``--reload``: after a SIGHUP that adds instances,
once every VIP is held); reported per offset: how long the process tree took to go, the exit
code, whether the parent had to kill a child, VIPs and ``keepalived`` nft tables left.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from pykeepalived.lab.cluster import Daemon, keepalived_available, locked_lab, stop_all
from pykeepalived.lab.machine import machine_line
from pykeepalived.lab.netns import Lab
from pykeepalived.lab.startup import add_links, many_config, term_at, vips_held


def lab_setup(lb: Lab, n: int) -> tuple[str, str]:
    node = lb.add_host("node", ["10.97.0.11/24"])
    obs = lb.add_host("obs", ["10.97.0.12/24"])
    add_links(node, n)
    return node.ns, obs.ns


def one_start(lb: Lab, impl: str, conf: str, n: int, old: str | None = None
              ) -> tuple[float | None, float | None]:
    """One start of ``impl`` (``old``: pykeepalived from that source tree instead)."""
    node, obs = lb.hosts["node"], lb.hosts["obs"]
    w = subprocess.Popen([sys.executable, "-m", "pykeepalived.lab.startup", "watch", obs.ns,
                          node.ns, str(n)], stdout=subprocess.PIPE, text=True)
    assert w.stdout is not None
    assert w.stdout.readline().strip() == "ready"
    d = Daemon(node, "py" if impl == "old" else impl, conf)
    if impl == "old":
        os.environ["PYTHONPATH"] = old or ""
    t0 = time.time()
    try:
        d.start()
    finally:
        os.environ.pop("PYTHONPATH", None)
    got: dict[str, float] = {}
    try:
        for line in w.stdout:
            what, t = line.split()
            got[what] = float(t) - t0
    finally:
        w.wait(timeout=5)
        stop_all([d])
        for ip in vips_held(node):
            node.run(["ip", "addr", "del", f"{ip}/32", "dev", "eth0"], check=False)
    return got.get("advert"), got.get("vips")


def cmd_time(a: argparse.Namespace) -> None:
    print(machine_line())
    print(f"load before: {os.getloadavg()[0]:.2f}")
    impls = [i for i in a.impl if i != "ka" or keepalived_available()]
    if a.old:
        impls.append("old")
    for n in a.instances:
        with locked_lab("pkstart") as lb:
            lab_setup(lb, n)
            for adv in a.adverts:
                conf = many_config(n, adv)
                res: dict[str, list[tuple[float | None, float | None]]] = {i: [] for i in impls}
                for _ in range(a.trials):
                    for impl in impls:  # interleaved: both see the same load
                        res[impl].append(one_start(lb, impl, conf, n, a.old))
                for impl in impls:
                    print(f"{n:5d} inst advert {adv:<4g} {impl:3s}: "
                          f"first advert {_stat([r[0] for r in res[impl]])}, "
                          f"all VIPs {_stat([r[1] for r in res[impl]])}")
    print(f"load after: {os.getloadavg()[0]:.2f}")


def _stat(xs: list[float | None]) -> str:
    ok = [x for x in xs if x is not None]
    if not ok:
        return "never"
    miss = f" ({len(xs) - len(ok)} missed)" if len(ok) < len(xs) else ""
    return f"median {statistics.median(ok) * 1000:7.1f} ms max {max(ok) * 1000:7.1f} ms{miss}"


def cmd_term(a: argparse.Namespace) -> None:
    print(machine_line())
    print(f"load before: {os.getloadavg()[0]:.2f}")
    impls = [i for i in a.impl if i != "ka" or keepalived_available()]
    for n in a.instances:
        with locked_lab("pkstart") as lb:
            lab_setup(lb, max(n, 2 * n if a.reload else n))
            conf = many_config(n, 0.1, priority=100, no_accept=True)
            bigger = many_config(2 * n, 0.1, priority=100, no_accept=True)
            for impl in impls:
                for off in a.offsets:
                    d = Daemon(lb.hosts["node"], impl, conf)
                    r = term_at(d, off, hup_conf=bigger if a.reload else None)
                    gone = "never" if r.gone_after is None else f"{r.gone_after * 1000:6.0f} ms"
                    print(f"{impl} n={n:4d} {'reload ' if a.reload else ''}TERM at "
                          f"{off * 1000:5.0f} ms: held {r.held:4d}, gone after {gone}, "
                          f"exit {r.exit_code}, killed {r.killed}, VIPs left "
                          f"{len(r.vips_left)}, tables left {r.tables_left}")
    print(f"load after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("--instances", type=int, nargs="+", default=[1, 1000])
    t.add_argument("--adverts", type=float, nargs="+", default=[1.0, 0.1])
    t.add_argument("--trials", type=int, default=3)
    t.add_argument("--impl", nargs="+", default=["py", "ka"])
    t.add_argument("--old", metavar="SRC", help="also run pykeepalived from this source "
                   "tree (a checkout's src/, e.g. of an earlier commit), as 'old'")
    s = sub.add_parser("term")
    s.add_argument("--instances", type=int, nargs="+", default=[1, 250])
    s.add_argument("--offsets", type=float, nargs="+",
                   default=[0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2])
    s.add_argument("--reload", action="store_true")
    s.add_argument("--impl", nargs="+", default=["py", "ka"])
    a = ap.parse_args()
    cmd_time(a) if a.cmd == "time" else cmd_term(a)


if __name__ == "__main__":
    main()
