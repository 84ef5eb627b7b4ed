"""The checker engine at scale, natively: N real servers, HTTP_GET at ``delay_loop 1``.

    flock /tmp/pk-bench.lock .venv/bin/python bench/scale/checkers.py [--n 2000] [--window 60]

What runs (as root, in a network namespace of its own, ``pkscale``, so the host's nftables
ruleset is never touched):

* the real servers: one nginx listening on N loopback ports (``127.0.0.1:20000+i``), each
  answering ``GET /`` with 200; its ``stub_status`` count of accepted connections is the
  independent count of the checks that really reached a server;
* the director: the whole daemon (``pykeepalived -n -l -C``: parent + checker child) with
  ``lvs_dataplane nftables``, one virtual server with the N real servers, each with one
  HTTP_GET (``delay_loop 1``, ``connect_timeout``/``retry``/``delay_before_retry`` from the
  flags, keepalived's defaults otherwise).

What it reports (one JSON line, after the machine line):

* ``full_table_s``: from the daemon's start to every real server being in the nftables ruleset
  (read with ``nft list table``);
* over the window (starting ``--settle`` seconds after the full table): ``checks_per_s`` as
  nginx counted them (connections accepted), against the ideal ``N / delay_loop``, and its
  share ``rate_pct``;
  the checker child's CPU (``/proc/PID/stat``, percent of one core) and per check; how
  contended the machine was: ``cpu_pressure_pct``, the share of the window in which some
  runnable task waited for a CPU (``/proc/pressure/cpu``; other work on a shared machine);
* ``false_removals``: "Removing service" lines logged up to the end of the window: every
  server stays up, so each is a false removal; ``late_lines``: "A thread timer expired" lines
  (the checker saying it is late);
* with ``--kill K``: K real servers are then stopped (nginx reloaded without their ports) and
  each one's detection is timed from its first refused connect (seen by a poller inside the
  namespace) to its absence from the ruleset: min / median / max against ``detect_bound_s``.

``--check tcp`` runs TCP_CHECK instead of HTTP_GET.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.lab.machine import machine_line

NS = "pkscale"
VIP = "10.255.0.1"
BASE = 20000
STATUS_PORT = 19999
ROOT = Path(__file__).resolve().parents[2]


def ns(*argv: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *argv]


def make_ns() -> None:
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(ns("ip", "link", "set", "lo", "up"), check=True)


def nginx_conf(d: Path, n: int, without: frozenset[int] = frozenset()) -> Path:
    listens = "\n".join(f"    listen 127.0.0.1:{BASE + i} backlog=4096;" for i in range(n)
                        if BASE + i not in without)
    conf = d / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
worker_rlimit_nofile 65536;
pid {d}/nginx.pid;
error_log {d}/nginx.err warn;
daemon off;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
{listens}
    location / {{ return 200 "real server\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{STATUS_PORT};
    location / {{ stub_status; }}
  }}
}}
""")
    return conf


def keepalived_conf(d: Path, n: int, args: argparse.Namespace) -> Path:
    timing = f"    connect_timeout {args.connect_timeout}\n" if args.connect_timeout else ""
    if args.retry is not None:
        timing += f"    retry {args.retry}\n"
    if args.delay_before_retry is not None:
        timing += f"    delay_before_retry {args.delay_before_retry}\n"
    if args.check == "tcp":
        check = f"   TCP_CHECK {{\n{timing}   }}\n"
    else:
        check = (f"   HTTP_GET {{\n    url {{\n     path /\n     status_code 200\n    }}\n"
                 f"{timing}   }}\n")
    rss = "".join(f"  real_server 127.0.0.1 {BASE + i} {{\n{check}  }}\n" for i in range(n))
    conf = d / "keepalived.conf"
    conf.write_text(f"global_defs {{\n  lvs_dataplane nftables\n}}\n"
                    f"virtual_server {VIP} 80 {{\n  delay_loop {args.delay_loop}\n"
                    f"  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{rss}}}\n")
    return conf


def nginx_accepts() -> int:
    """nginx's count of accepted connections (stub_status), read from inside the namespace:
    one per check of either kind (a TCP_CHECK sends no request)."""
    out = subprocess.run(ns("curl", "-s", f"http://127.0.0.1:{STATUS_PORT}/"),
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*(\d+)\s+\d+\s+\d+\s*$", out, re.M)
    if m is None:
        raise RuntimeError(f"stub_status: {out!r}")
    return int(m.group(1))


def ports_in_ruleset() -> set[int]:
    """Ports of the real servers (127.0.0.1) the nftables ruleset DNATs to."""
    p = subprocess.run(ns("nft", "list", "table", "inet", "pykeepalived"),
                       capture_output=True, text=True, check=False)
    return {int(a or b) for a, b in
            re.findall(r"127\.0\.0\.1 \. (\d+)|127\.0\.0\.1:(\d+)", p.stdout)}


REFUSED = """
import socket, sys, time
ports = [int(p) for p in sys.argv[1:]]
while ports:
    for p in list(ports):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", p))
        except ConnectionRefusedError:
            print(p, time.monotonic(), flush=True)
            ports.remove(p)
        finally:
            s.close()
    time.sleep(0.002)
"""


def detection(d: Path, args: argparse.Namespace, nginx: subprocess.Popen[bytes]
              ) -> list[float]:
    """Stop ``--kill`` random real servers (nginx reloaded without their ports: a connect
    is refused from then on) and time, for each, from its first refused connect to its
    absence from the ruleset."""
    victims = frozenset(random.sample(range(BASE, BASE + args.n), args.kill))
    nginx_conf(d, args.n, victims)
    watch = subprocess.Popen(ns(sys.executable, "-c", REFUSED, *map(str, victims)),
                             stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    nginx.send_signal(signal.SIGHUP)
    gone: dict[int, float] = {}
    deadline = time.monotonic() + 60
    while len(gone) < len(victims) and time.monotonic() < deadline:
        present = ports_in_ruleset()
        now = time.monotonic()
        for p in victims - present - set(gone):
            gone[p] = now
        time.sleep(0.05)
    assert watch.stdout is not None
    refused = {int(p): float(t) for p, t in (ln.split() for ln in watch.stdout.read().split(
        "\n") if ln)} if watch.wait(10) == 0 else {}
    return sorted(gone[p] - refused[p] for p in victims if p in gone and p in refused)


def cpu_seconds(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def cpu_pressure_us() -> int:
    """The kernel's total of microseconds some runnable task waited for a CPU (PSI)."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return 0
    return int(line.rsplit("total=", 1)[1])


def count(log: Path, phrase: str) -> int:
    return log.read_text(errors="replace").count(phrase)


def run(args: argparse.Namespace) -> dict[str, object]:
    d = Path(tempfile.mkdtemp(prefix="pkscale-"))
    make_ns()
    nginx = subprocess.Popen(ns("nginx", "-c", str(nginx_conf(d, args.n))))
    daemon = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                nginx_accepts()
                break
            except (RuntimeError, subprocess.CalledProcessError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        conf = keepalived_conf(d, args.n, args)
        log = d / "daemon.log"
        exe = shutil.which("pykeepalived", path=str(ROOT / ".venv/bin")) or "pykeepalived"
        t0 = time.monotonic()
        with open(log, "wb") as out:
            daemon = subprocess.Popen(
                ns(exe, "-n", "-l", "-G", "-C", *(["-D"] if args.keep else []), "-f", str(conf),
                   "-p", str(d / "k.pid"), "-c", str(d / "c.pid")),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        full = None
        while time.monotonic() - t0 < args.full_timeout:
            if len(ports_in_ruleset()) >= args.n:
                full = time.monotonic() - t0
                break
            time.sleep(0.1)
        time.sleep(args.settle)
        pid = int((d / "c.pid").read_text())
        r0, c0, w0 = nginx_accepts(), cpu_seconds(pid), time.monotonic()
        p0 = cpu_pressure_us()
        if args.py_spy:
            subprocess.run([str(ROOT / ".venv/bin/py-spy"), "record", "--idle", "-r", "50",
                            "-f", "raw", "-o", args.py_spy, "-d", str(int(args.window)),
                            "-p", str(pid)], check=False, capture_output=True)
        else:
            time.sleep(args.window)
        r1, c1, w1 = nginx_accepts(), cpu_seconds(pid), time.monotonic()
        pressure = (cpu_pressure_us() - p0) / 1e6 / (w1 - w0)
        wall = w1 - w0
        checks = r1 - r0
        ideal = args.n / args.delay_loop
        removals = count(log, "Removing service")
        detect = detection(d, args, nginx) if args.kill else []
        return {
            "n": args.n, "delay_loop": args.delay_loop, "window_s": round(wall, 1),
            "full_table_s": None if full is None else round(full, 2),
            "checks_per_s": round(checks / wall, 1), "ideal_per_s": ideal,
            "rate_pct": round(100 * checks / wall / ideal, 1),
            "checker_cpu_pct": round(100 * (c1 - c0) / wall, 1),
            "cpu_ms_per_check": round(1000 * (c1 - c0) / max(checks, 1), 3),
            "false_removals": removals,
            "cpu_pressure_pct": round(100 * pressure, 1),
            "late_lines": count(log, "A thread timer expired"),
            "run_s": round(time.monotonic() - t0, 1),
            **({"killed": args.kill, "detected": len(detect),
                "detect_s": [round(x, 2) for x in (detect[0], detect[len(detect) // 2],
                                                   detect[-1])] if detect else None,
                "detect_bound_s": bound(args)} if args.kill else {}),
        }
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        nginx.terminate()
        nginx.wait(10)
        subprocess.run(["ip", "netns", "del", NS], check=False)
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print(f"# kept {d}", file=sys.stderr)


def bound(args: argparse.Namespace) -> float:
    """docs/checkers.md's bound for a refused connect: the wait for the next check, then
    ``retry`` retries ``delay_before_retry`` apart (keepalived's defaults when not given),
    plus ``connect_timeout`` once."""
    retry: int = 1 if args.retry is None else args.retry
    dbr: float = args.delay_before_retry or (3.0 if args.check == "http" else 1.0)
    loop: float = args.delay_loop
    return loop + retry * dbr + (args.connect_timeout or 5.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--delay-loop", type=float, default=1.0)
    ap.add_argument("--connect-timeout", type=float, default=None)
    ap.add_argument("--retry", type=int, default=None)
    ap.add_argument("--delay-before-retry", type=float, default=None)
    ap.add_argument("--full-timeout", type=float, default=120.0)
    ap.add_argument("--check", choices=("http", "tcp"), default="http")
    ap.add_argument("--kill", type=int, default=0,
                    help="after the window, stop this many real servers and time their removal")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (daemon.log with -D detail)")
    ap.add_argument("--py-spy", metavar="FILE",
                    help="sample the checker child with py-spy during the window (collapsed "
                    "stacks, idle frames included) into FILE")
    args = ap.parse_args()
    print(f"# {machine_line()}", flush=True)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
