"""``-t`` on very large configuration files: pykeepalived side by side with Debian's keepalived.

    flock /tmp/pk-bench.lock .venv/bin/python bench/config/large_inputs.py [--cases a,b] [--runs N]

Generates each file into a temporary directory, then runs ``pykeepalived -t -f FILE`` and
``keepalived -t -f FILE`` one after the other (alternating, ``--runs`` times each) inside one
throw-away network namespace that has ``eth0``, as an operator would: a fresh process, interpreter
start-up included. Per run: peak RSS (``ru_maxrss`` of ``wait4``), CPU time (user + system of the
process and everything it waited for), wall time, exit code and the number of message lines.
The table shows the best run of each (the machine is shared) and the ratios pykeepalived /
keepalived; the machine and its load are printed with it.

Cases (the sizes a fuzzing probe used; see docs/configuration.md "Limits and large files"):

* ``vips300k`` / ``vips1200k``: one ``vrrp_instance`` with 300 000 / 1 200 000 addresses in
  ``virtual_ipaddress`` (17 / 68 MB of text);
* ``rs40k``: 400 ``virtual_server`` blocks of 100 ``real_server`` blocks, each with a
  ``TCP_CHECK`` (40 000 real servers, 7 lines each);
* ``onechar16m``: 16 MiB of one-character lines (``}``, each an unexpected-block-end error);
* ``comments16m``: 16 MiB of short comment lines (the reader alone, nothing to parse).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NS = "cfglarge"  # no "pk" prefix: lab tests remove stale namespaces by prefix


def _vips(n: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("w") as f:
            f.write("vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n"
                    "    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n")
            for i in range(n):
                f.write(f"        10.{(i >> 16) & 0xFF}.{(i >> 8) & 0xFF}.{i & 0xFF}/32\n")
            f.write("    }\n}\n")
    return write


def _real_servers(vs: int, per_vs: int) -> Callable[[Path], None]:
    """``vs`` virtual servers of ``per_vs`` real servers each, every one with a TCP_CHECK."""
    def write(path: Path) -> None:
        with path.open("w") as f:
            for v in range(vs):
                f.write(f"virtual_server 198.18.{v >> 8}.{v & 0xFF} 80 {{\n"
                        "    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n"
                        "    protocol TCP\n")
                for r in range(per_vs):
                    i = v * per_vs + r
                    f.write(f"    real_server 10.{(i >> 16) & 0xFF}.{(i >> 8) & 0xFF}.{i & 0xFF}"
                            " 8080 {\n        weight 1\n        TCP_CHECK {\n"
                            "            connect_timeout 3\n        }\n    }\n")
                f.write("}\n")
    return write


def _lines(line: str, size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        chunk = (line + "\n") * (1 << 16)
        with path.open("w") as f:
            left = size
            while left > 0:
                f.write(chunk[:left])
                left -= len(chunk)
    return write


CASES: dict[str, Callable[[Path], None]] = {
    "vips300k": _vips(300_000),
    "vips1200k": _vips(1_200_000),
    "rs40k": _real_servers(400, 100),
    "onechar16m": _lines("}", 16 << 20),
    "comments16m": _lines("#", 16 << 20),
}


@dataclass
class Run:
    rss_mib: float
    cpu_s: float
    wall_s: float
    exit: int
    messages: int
    first: str


def _run(argv: list[str], workdir: Path) -> Run:
    err = workdir / "stderr.txt"
    with err.open("wb") as ef:
        t0 = time.monotonic()
        proc = subprocess.Popen(["ip", "netns", "exec", NS, *argv], stdout=subprocess.DEVNULL,
                                stderr=ef, cwd=workdir)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    with err.open("rb") as ef:
        first = ef.readline()
        messages = (1 if first else 0) + sum(1 for _ in ef)
    err.unlink()
    return Run(ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime, wall, proc.returncode, messages,
               first.decode(errors="replace").strip()[:100])


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    ka = subprocess.run(["keepalived", "--version"], capture_output=True, text=True)
    kav = (ka.stderr or ka.stdout).splitlines()[0] if (ka.stderr or ka.stdout) else "?"
    return (f"{platform.node()}: {os.cpu_count()} x {cpu}, {mem} MiB, "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
            f"{kav}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _namespace() -> None:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    for cmd in (["ip", "netns", "add", NS], ["ip", "-n", NS, "link", "set", "lo", "up"],
                ["ip", "-n", NS, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"],
                ["ip", "-n", NS, "link", "set", "eth0", "up"],
                ["ip", "-n", NS, "addr", "add", "192.0.2.1/24", "dev", "eth0"]):
        subprocess.run(cmd, check=True, capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--pykeepalived", default=str(ROOT / ".venv" / "bin" / "pykeepalived"))
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    args = ap.parse_args()
    impls = {"pykeepalived": [args.pykeepalived], "keepalived": ["keepalived"]}
    print(machine())
    _namespace()
    try:
        with tempfile.TemporaryDirectory(prefix="pk-large-") as tmp:
            work = Path(args.keep or tmp)
            work.mkdir(parents=True, exist_ok=True)
            print(f"{'case':<12} {'MB':>6}  {'impl':<12} {'exit':>4} {'msgs':>8} "
                  f"{'RSS MiB':>8} {'CPU s':>7} {'wall s':>7}")
            for name in args.cases.split(","):
                path = work / f"{name}.conf"
                if not path.exists():
                    CASES[name](path)
                size = path.stat().st_size / 1e6
                best: dict[str, Run] = {}
                for _ in range(args.runs):
                    for impl, argv in impls.items():
                        r = _run([*argv, "-t", "-f", str(path)], work)
                        b = best.get(impl)
                        best[impl] = r if b is None else Run(
                            min(b.rss_mib, r.rss_mib), min(b.cpu_s, r.cpu_s),
                            min(b.wall_s, r.wall_s), r.exit, r.messages, r.first)
                for impl, r in best.items():
                    print(f"{name:<12} {size:6.1f}  {impl:<12} {r.exit:>4} {r.messages:>8} "
                          f"{r.rss_mib:8.1f} {r.cpu_s:7.2f} {r.wall_s:7.2f}  {r.first[:60]}")
                py, ka = best["pykeepalived"], best["keepalived"]
                print(f"{name:<12} {'':6}  ratio        RSS {py.rss_mib / ka.rss_mib:.2f}x  "
                      f"CPU {py.cpu_s / max(ka.cpu_s, 0.01):.2f}x")
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
