"""How long a reload holds the VRRP child's loop, at 250 to 1000 instances.

    .venv/bin/python bench/scale/reload_stall.py [--instances 1000] [--repeat 3]

The VRRP child runs in-process against the in-memory kernel of the unit tests
(``tests/unit/daemon/memory_kernel.py``: no namespaces, no keepalived), every instance MASTER
at advert 0.1 s. A ticker task asks the loop for a callback every 2 ms and records how late each
one ran; then SIGHUP's work (``VrrpProcess.reload``) runs for each kind of change: nothing
changed, one instance added, one removed, the VIP of 100 instances changed. Reported per kind:
the reload's wall time and the loop's largest lateness during it, twice: as the daemon does it
(``threaded``: the file read and the plan in a worker thread) and with both on the loop
(``on loop``: how a reload ran before, the same code called directly). At advert 0.1 s a backup's
master-down timer is ~0.36 s: a lateness above that is a takeover by every peer, above a
quarter interval (25 ms) an advert later than the bound this project sets itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "unit" / "daemon"))

from memory_kernel import MemoryKernel

from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.lab.machine import machine_line
from pykeepalived.options import parse


def config(n: int, changed: int = 0, extra: int = 0) -> str:
    out = []
    for i in range(n + extra):
        third = 200 if i < changed else 100
        out.append(f"vrrp_instance VI_{i} {{\n state BACKUP\n interface eth{i // 250}\n"
                   f" virtual_router_id {i % 250 + 1}\n priority 100\n advert_int 0.1\n"
                   f" version 3\n virtual_ipaddress {{\n  10.{i // 250}.{third}.{i % 250}/16\n"
                   f" }}\n}}\n")
    return "".join(out)


async def measure(p: VrrpProcess, threaded: bool | None) -> tuple[float, float]:
    """(reload wall time, largest loop lateness during it), in seconds; ``threaded`` None:
    no reload, 0.4 s of the loop's own lateness (adverts, timers, a shared machine)."""
    late: list[float] = []
    done = False
    loop = asyncio.get_running_loop()

    async def ticker() -> None:
        while not done:
            want = loop.time() + 0.002
            await asyncio.sleep(0.002)
            late.append(loop.time() - want)

    t = loop.create_task(ticker())
    await asyncio.sleep(0.02)
    late.clear()
    t0 = time.perf_counter()
    if threaded is None:
        await asyncio.sleep(0.4)
    elif threaded:
        await p.reload()
    else:
        async def inline(fn, *args):  # type: ignore[no-untyped-def]
            return fn(*args)

        p._off_loop = inline  # type: ignore[method-assign]
        try:
            await p.reload()
        finally:
            del p._off_loop
    took = time.perf_counter() - t0
    done = True
    await t
    return took, max(late, default=0.0)


Results = dict[tuple[str, bool | None], list[tuple[float, float]]]


async def run(n: int, repeat: int, path: Path) -> Results:
    path.write_text(config(n))
    k = MemoryKernel()
    p = VrrpProcess(parse(["-f", str(path)])[0], kernel=k)
    assert await p.start()
    out: Results = {}
    try:
        kinds = [("nothing changed", config(n)), ("one instance added", config(n, extra=1)),
                 ("one instance removed", config(n - 1)), ("100 VIPs changed", config(n, 100))]
        for _ in range(repeat):
            out.setdefault(("idle", None), []).append(await measure(p, None))
            for threaded in (False, True):
                for kind, text in kinds:
                    path.write_text(text)
                    out.setdefault((kind, threaded), []).append(await measure(p, threaded))
                    path.write_text(config(n))
                    await p.reload()  # back to the start
    finally:
        await p.shutdown()
        p.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        res = asyncio.run(run(a.instances, a.repeat, Path(d) / "keepalived.conf"))
    print(f"{a.instances} instances, {a.repeat} runs each; {machine_line()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| change | on loop: reload s / loop late ms (max) | threaded: reload s / loop late ms "
          "(max) |")
    print("| --- | --- | --- |")
    for kind in ("nothing changed", "one instance added", "one instance removed",
                 "100 VIPs changed"):
        cells = []
        for threaded in (False, True):
            rs = res[(kind, threaded)]
            cells.append(f"{statistics.median(r[0] for r in rs):.2f} / "
                         f"{1000 * max(r[1] for r in rs):.0f}")
        print(f"| {kind} | {cells[0]} | {cells[1]} |")
    idle = max(r[1] for r in res[("idle", None)])
    print(f"\nWithout a reload, the loop's largest lateness over 0.4 s: {1000 * idle:.0f} ms.")


if __name__ == "__main__":
    main()
