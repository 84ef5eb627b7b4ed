"""A checker child for test_check_starved: N HTTP_GET servers on loopback ports BASE.., run
for SECONDS at nice 19 on CPU (a busy sibling takes that CPU), then a JSON summary. Its log
lines go to stderr."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
from pathlib import Path
from typing import Any

from pykeepalived.config.model import (
    GlobalDefs,
    HttpGet,
    KeepalivedConfig,
    RealServer,
    UrlSpec,
    VirtualServer,
)
from pykeepalived.daemon.check_process import CheckerProcess
from pykeepalived.options import Options

# the recording backend and silent notifier of the checker benchmark (whose farm serves here)
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench" / "checks"))
from bench_checks import Recorder, _Quiet


def config(n: int, base: int) -> KeepalivedConfig:
    """retry 0 and a 0.25 s timeout: a single late-looking check would remove a server."""
    rss = tuple(RealServer(ip="127.0.0.1", port=p, checkers=(HttpGet(
        connect_timeout=0.25, retry=0, delay_loop=0.5, warmup=0.5, urls=(UrlSpec("/"),)),))
        for p in range(base, base + n))
    vs = VirtualServer(ip="10.255.0.1", port=80, lb_algo="rr", delay_loop=0.5,
                       real_servers=rss)
    return KeepalivedConfig(global_defs=GlobalDefs(min_auto_priority_delay=0.2),
                            virtual_servers=(vs,))


async def main(base: int, n: int, seconds: float) -> dict[str, Any]:
    backend = Recorder()
    proc = CheckerProcess(Options(), config(n, base), backend=backend, notifier=_Quiet(),
                          rng=random.random)
    task = asyncio.create_task(proc.run())
    await asyncio.sleep(seconds)
    proc.stop()
    await task
    return {"in_table": len(next(iter(backend.table.services.values())).dests),
            "stalls": proc.stall.stalls, "checks_late": proc.check_meters.late,
            "runs": sum(int(c[0]) for c in proc.check_meters.per_check.values())}


if __name__ == "__main__":
    base, n, seconds, cpu = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    os.sched_setaffinity(0, {int(cpu)})
    os.setpriority(os.PRIO_PROCESS, 0, 19)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    print(json.dumps(asyncio.run(main(base, n, seconds))))
