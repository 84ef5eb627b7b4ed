"""Checker throughput and failure-detection latency (run by hand, as root or not).

    .venv/bin/python bench/checks/bench_checks.py [--sizes 100,250,500,1000,2000] [--window 10]

What it measures:

1. Capacity: N real servers, each with one HTTP_GET at ``delay_loop 1`` (warmup spread over
   1 s), all in one virtual server, checked by one ``CheckerProcess`` (one thread, so one core
   at most) with the real probes and pool logic and a backend that only records the table. The
   real servers are an asyncio "farm" in a separate process listening on N loopback ports
   (``--pin`` puts the checker on CPU 0 and the farm on CPU 1).
   For each N: checks completed per second (ideal = N / (delay_loop + check time)), the
   checker's CPU use and CPU time per check (the number that survives a noisy, shared
   machine: one core's capacity ≈ 1000 / cpu_ms_per_check checks/s), and the p50/p99 lateness
   of each check versus its due time. "Keeps up" = achieved ≥ 90 % of the ideal rate and p99
   lateness < 0.25 s and median check time < 0.1 s (each server really checked every ≈1 s).
2. Latency: with N servers running, one server's listener is closed at a random moment and we
   time how long until it leaves the desired table, for ``retry 0`` and ``retry 1``
   (delay_before_retry 1, connect_timeout 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from pykeepalived.check.virtual_server import CheckId, CheckOutcome
from pykeepalived.config.model import (
    HttpGet,
    KeepalivedConfig,
    RealServer,
    UrlSpec,
    VirtualServer,
)
from pykeepalived.daemon.check_process import CheckerProcess
from pykeepalived.lvs.table import LvsOp, LvsTable, ServiceKey, diff
from pykeepalived.options import Options

VIP = "10.255.0.1"
PIN = False
KEY = ServiceKey.inet(VIP, 80)


# ----------------------------------------------------------------------------- the farm


class _Page(asyncio.Protocol):
    """The cheapest asyncio HTTP responder: answer once the request's blank line arrives."""

    RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbench real server\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" in self.buf:
            self.t.write(self.RESPONSE)  # type: ignore[attr-defined]
            self.t.close()


async def farm(n: int, base: int) -> None:
    """N listeners on 127.0.0.1:base..base+n-1; stdin ``close PORT`` closes one, ``cpu``
    prints this process's CPU seconds."""
    loop = asyncio.get_running_loop()
    servers: dict[int, asyncio.Server] = {}
    for p in range(base, base + n):
        servers[p] = await loop.create_server(_Page, "127.0.0.1", p, reuse_address=True,
                                              backlog=1024)
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd, _, arg = line.decode().strip().partition(" ")
        if cmd == "close" and int(arg) in servers:
            servers.pop(int(arg)).close()
            print("closed", flush=True)
        elif cmd == "cpu":
            print(f"{time.process_time():.3f}", flush=True)


def start_farm(n: int, base: int) -> subprocess.Popen[bytes]:
    p = subprocess.Popen([sys.executable, __file__, "--farm", str(n), "--base", str(base)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if PIN and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(p.pid, {1})
    assert p.stdout is not None
    assert p.stdout.readline().strip() == b"ready"
    return p


# ----------------------------------------------------------------------------- the checker


class Recorder:
    name = "recording"

    def __init__(self) -> None:
        self.table = LvsTable()
        self.changed_at: dict[int, float] = {}

    async def start(self) -> None:
        pass

    async def apply(self, desired: LvsTable) -> list[LvsOp]:
        ops = diff(self.table, desired)
        self.table = desired
        return ops

    async def close(self) -> None:
        pass

    def ports(self) -> set[int]:
        return {d.port for d in self.table.dests(KEY).values()}


def config(n: int, base: int, retry: int = 1) -> KeepalivedConfig:
    rss = tuple(RealServer(ip="127.0.0.1", port=p, checkers=(HttpGet(
        connect_ip="127.0.0.1", connect_port=p, connect_timeout=1.0, retry=retry,
        delay_before_retry=1.0, delay_loop=1.0, warmup=1.0,
        urls=(UrlSpec("/"),)),)) for p in range(base, base + n))
    vs = VirtualServer(ip=VIP, port=80, lb_algo="rr", delay_loop=1.0, real_servers=rss)
    return KeepalivedConfig(virtual_servers=(vs,))


class Instrumented(CheckerProcess):
    """Counts checks and records how late each started versus its due time."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.done = 0
        self.failed = 0
        self.lateness: list[float] = []
        self.durations: list[float] = []

    def _launch(self, cid: CheckId) -> None:
        due = self.pool.scheduled_at(cid)
        if due is not None:
            self.lateness.append(self._now() - due)
        super()._launch(cid)

    def _ran(self, cid: CheckId, kind: str, began: float, outcome: CheckOutcome) -> None:
        self.durations.append(self._now() - began)
        self.done += 1
        self.failed += not outcome.ok
        super()._ran(cid, kind, began, outcome)


def farm_cpu(fp: subprocess.Popen[bytes]) -> float:
    assert fp.stdin is not None and fp.stdout is not None
    fp.stdin.write(b"cpu\n")
    fp.stdin.flush()
    return float(fp.stdout.readline())


async def capacity(n: int, base: int, window: float,
                   fp: subprocess.Popen[bytes]) -> dict[str, Any]:
    proc = Instrumented(Options(), config(n, base), backend=Recorder(),
                        notifier=_Quiet(), rng=random.random)
    task = asyncio.create_task(proc.run())
    await asyncio.sleep(3.0)  # warm-up spread + settle
    d0, cpu0, t0 = proc.done, time.process_time(), time.monotonic()
    fcpu0 = await asyncio.to_thread(farm_cpu, fp)
    proc.lateness.clear()
    proc.durations.clear()
    await asyncio.sleep(window)
    done, cpu, wall = proc.done - d0, time.process_time() - cpu0, time.monotonic() - t0
    fcpu = await asyncio.to_thread(farm_cpu, fp) - fcpu0
    late = sorted(proc.lateness) or [0.0]
    dur = sorted(proc.durations) or [0.0]
    proc.stop()
    await task
    rate = done / wall
    ideal = n / (1.0 + statistics.median(dur))
    p99 = late[int(len(late) * 0.99) - 1] if len(late) > 1 else late[0]
    return {"n": n, "checks_per_s": round(rate, 1), "ideal_per_s": round(ideal, 1),
            "cpu_pct": round(100 * cpu / wall, 1),
            "cpu_ms_per_check": round(1000 * cpu / max(done, 1), 3),
            "farm_cpu_pct": round(100 * fcpu / wall, 1),
            "late_p50_ms": round(1000 * late[len(late) // 2], 1),
            "late_p99_ms": round(1000 * p99, 1),
            "check_p50_ms": round(1000 * dur[len(dur) // 2], 2), "failed": proc.failed,
            "keeps_up": rate >= 0.9 * ideal and p99 < 0.25 and statistics.median(dur) < 0.1}


async def latency(n: int, base: int, retry: int, rounds: int,
                  farm_proc: subprocess.Popen[bytes]) -> list[float]:
    """Close one listener per round and time its removal from the desired table."""
    backend = Recorder()
    proc = CheckerProcess(Options(), config(n, base, retry), backend=backend,
                          notifier=_Quiet(), rng=random.random)
    task = asyncio.create_task(proc.run())
    await asyncio.sleep(3.0)
    out: list[float] = []
    assert farm_proc.stdin is not None and farm_proc.stdout is not None
    victims = random.sample(range(base, base + n), rounds)
    for port in victims:
        await asyncio.sleep(random.uniform(0.2, 1.2))  # a random phase of the check cycle
        farm_proc.stdin.write(f"close {port}\n".encode())
        farm_proc.stdin.flush()
        await asyncio.to_thread(farm_proc.stdout.readline)
        t0 = time.monotonic()
        while port in backend.ports():
            await asyncio.sleep(0.005)
            if time.monotonic() - t0 > 10:
                break
        out.append(time.monotonic() - t0)
    proc.stop()
    await task
    return out


class _Quiet:
    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def run_script(self, *_: Any) -> None:
        pass

    def rs_state(self, *_: Any, **__: Any) -> None:
        pass

    def vs_state(self, *_: Any, **__: Any) -> None:
        pass


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--farm", type=int)
    ap.add_argument("--base", type=int, default=20000)
    ap.add_argument("--sizes", default="100,250,500,1000,1500,2000")
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--latency-n", type=int, default=200)
    ap.add_argument("--pin", action="store_true",
                    help="pin the checker to CPU 0 and the farm to CPU 1 (quiet machines only)")
    args = ap.parse_args()
    if args.farm:
        asyncio.run(farm(args.farm, args.base))
        return 0
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    global PIN
    PIN = args.pin and (os.cpu_count() or 1) > 1
    if PIN and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} machine: {platform.machine()} "
          f"{_cpu_model()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}")
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        fp = start_farm(n, args.base)
        try:
            r = asyncio.run(capacity(n, args.base, args.window, fp))
        finally:
            fp.kill()
            fp.wait()
        results.append(r)
        print(json.dumps(r), flush=True)
    for retry in (0, 1):
        fp = start_farm(args.latency_n, args.base)
        try:
            lat = asyncio.run(latency(args.latency_n, args.base, retry, args.rounds, fp))
        finally:
            fp.kill()
            fp.wait()
        lat.sort()
        print(json.dumps({"latency_n": args.latency_n, "retry": retry,
                          "bound_s": 1.0 * (retry + 1) + 1.0,
                          "min_s": round(lat[0], 3), "median_s": round(statistics.median(lat), 3),
                          "max_s": round(lat[-1], 3)}), flush=True)
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


if __name__ == "__main__":
    sys.exit(main())
