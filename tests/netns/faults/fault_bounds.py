"""Shared steps and comparisons of the fault matrix (tests/netns/faults).

Every bound is relative to keepalived's own figure measured in the same run on the same
machine: ``ours <= theirs * factor + slack``. ``slack`` absorbs what one run cannot control
(an advert interval of phase, scheduling on a loaded 2-core machine) and is stated per metric.
Figures are printed (``pytest -s``) and, when ``PKD_FAULTS_FIGURES`` names a file, appended to
it as JSON lines, which is how docs/reliability.md's table is made.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import time
from collections.abc import Sequence

from pykeepalived.lab.sampler import Timeline
from pykeepalived.lab.scenario import IMPL_NAMES, Side

A = 0.1  # advert interval of every scenario (VRRPv3)
# PKD_FAULTS_FULL=1 (bench/faults/run.py): the long variants (30 s of loss, 50 link flaps,
# three partitions); CI runs the same scenarios shorter
FULL = os.environ.get("PKD_FAULTS_FULL") == "1"
N1 = frozenset({"n1"})
N2 = frozenset({"n2"})
BOTH = frozenset({"n1", "n2"})


def start_pair(s: Side, count: int = 1, *, timeout: float = 60.0, **kw: object) -> list[str]:
    """n1 (150) and n2 (100) with ``count`` instances, sampled; returns once n1 holds every VIP
    and n2 none (n2 is started first so n1's election is the usual preemption)."""
    vs = s.pair(count, advert=A, **kw)  # type: ignore[arg-type]
    s.sample(vs)
    s.start("n2")
    s.start("n1")
    assert s.wait_holders(vs, ["n1"], timeout), f"{s.name}: n1 never held every VIP\n{s.logs()}"
    time.sleep(0.5)  # n2 has heard n1 for a while: its down timer is the steady-state one
    return vs


def group_signal(s: Side, node: str, sig: int) -> None:
    """``sig`` to the node's whole process group (parent and children at once)."""
    d = s.nodes[node]
    assert d.proc is not None
    os.killpg(d.proc.pid, sig)


def entered(s: Side, node: str, state: str, since: int = 0) -> int:
    """How many ``Entering <state> STATE`` lines the node logged after log offset ``since``."""
    return len(re.findall(rf"Entering {state} STATE", s.nodes[node].log_since(since)))


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def no_worse(what: str, figs: dict[str, float], *, factor: float, slack: float,
             detail: str = "") -> None:
    """Assert pykeepalived's figure is within ``factor``×keepalived's + ``slack``."""
    if "ka" not in figs:
        return
    ours, theirs = figs["py"], figs["ka"]
    assert ours <= theirs * factor + slack, (
        f"{what}: pykeepalived {ours:.4g} vs keepalived {theirs:.4g} "
        f"(bound {factor:g}× + {slack:g})\n{detail}")


def record(scenario: str, metrics: dict[str, dict[str, float]]) -> None:
    """Print a scenario's figures per implementation and keep them for the docs."""
    names = sorted({k for m in metrics.values() for k in m})
    for k in names:
        row = "  ".join(f"{IMPL_NAMES[i]}={metrics[i].get(k, float('nan')):.4g}"
                        for i in metrics)
        print(f"[faults] {scenario}: {k}: {row}")
    path = os.environ.get("PKD_FAULTS_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"scenario": scenario, "time": time.time(),
                                "load": os.getloadavg()[0], "metrics": metrics}) + "\n")


def sane_sampling(tl: Timeline, what: str) -> None:
    """The sampler kept up: it looked often enough for its spans to mean something."""
    period = tl.end - tl.start
    assert tl.samples >= period / 0.05, (what, tl.samples, period)


def stop_continue(s: Side, node: str) -> None:
    group_signal(s, node, signal.SIGCONT)
