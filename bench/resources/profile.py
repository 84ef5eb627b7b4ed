"""Where pykeepalived's VRRP child spends its CPU under load (py-spy), and what its memory is.

    sudo .venv/bin/python bench/resources/profile.py [--instances 200 --version 3 --advert 0.1]
        [--duration 15] [--py-spy PATH] [--role backup|master|both]

Starts the same two-node lab as run.py with pykeepalived on both nodes, waits until the master
holds every VIP, then samples the VRRP child of the chosen node(s) with ``py-spy record
--nonblocking -f raw`` (collapsed stacks; the daemon is never paused) and prints the functions
with the most samples on top of the stack (self) and anywhere on it (inclusive), in % of the
samples taken. py-spy is not a project dependency: ``pip install --target /tmp/pyspy py-spy``
and pass ``--py-spy /tmp/pyspy/bin/py-spy``.

``--memory`` instead reports, for the parent and the VRRP child, RSS/PSS split by mapping
(the heap and anonymous memory vs. the interpreter and shared libraries) from ``smaps``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # the harness next to this file

from pykeepalived.lab.netns import Lab

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``func (path/to/pkg/mod.py:123)`` -> ``mod.py:func`` (lines merged)."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    short = "/".join(path.split("/")[-2:]) if "pykeepalived" in path else path.split("/")[-1]
    return f"{short}:{m.group('func')}"


def summarize(raw: str, top: int = 20) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    self_c: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ")]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return "no samples (idle process?)"
    out = [f"{total} samples", "", "self %   function"]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in self_c.most_common(top)]
    out += ["", "incl %   function"]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in incl.most_common(top)]
    return "\n".join(out)


def vrrp_child(root: int) -> int:
    kids = [p for p in bench.process_tree(root) if p != root]
    if not kids:
        raise RuntimeError(f"no child under {root}")
    return kids[0]


def memory_split(pid: int) -> str:
    """RSS/PSS of one process by kind of mapping, from /proc/PID/smaps."""
    text = Path(f"/proc/{pid}/smaps").read_text()
    acc: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    kind = "?"
    for line in text.splitlines():
        head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
        if head:
            name = head.group(1)
            if not name or name == "[heap]":
                kind = "heap + anonymous (Python objects)"
            elif "python" in name.split("/")[-1] or "libpython" in name:
                kind = "interpreter binary"
            elif name.endswith(".so") or ".so." in name or "/lib-dynload/" in name:
                kind = "shared libraries / C extensions"
            else:
                kind = f"other ({name.split('/')[-1]})"
            continue
        m = re.match(r"^(Rss|Pss):\s+(\d+) kB", line)
        if m:
            acc[kind][0 if m.group(1) == "Rss" else 1] += int(m.group(2))
    rows = sorted(acc.items(), key=lambda kv: -kv[1][0])
    return "\n".join(f"  {k:40} RSS {r / 1024:6.1f} MiB  PSS {p / 1024:6.1f} MiB"
                     for k, (r, p) in rows if r >= 100)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--version", type=int, default=3, choices=[2, 3])
    ap.add_argument("--advert", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--role", choices=["backup", "master", "both"], default="both")
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")
    ap.add_argument("--memory", action="store_true", help="memory split instead of py-spy")
    ap.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here (a prefix)")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if "/tmp/pyspy" in args.py_spy:  # a --target install needs its own path for nothing else
        env["PYTHONPATH"] = "/tmp/pyspy"
    sc = bench.Scenario(args.instances, args.version, args.advert)
    roles = ["master", "backup"] if args.role == "both" else [args.role]
    bench.compile_sources()
    with Lab(bench.PREFIX) as lab:
        bench.lab_hosts(lab)
        with bench.running_pair(lab, "py", sc) as daemons:
            time.sleep(args.settle)
            for role in roles:
                proc = daemons[role].proc
                assert proc is not None
                if args.memory:
                    for label, pid in (("parent", proc.pid), ("VRRP child", vrrp_child(proc.pid))):
                        print(f"{sc.label}, {role} {label} (pid {pid}):")
                        print(memory_split(pid))
                    continue
                child = vrrp_child(proc.pid)
                with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
                    subprocess.run([args.py_spy, "record", "--nonblocking", "-r", "200", "-f",
                                    "raw", "-d", str(int(args.duration)), "-p", str(child),
                                    "-o", out.name], check=True, capture_output=True, env=env)
                    print(f"== {sc.label}, {role} VRRP child (pid {child}), "
                          f"{args.duration:g} s at 200 Hz")
                    raw = Path(out.name).read_text()
                    if args.raw:
                        Path(f"{args.raw}-{role}.txt").write_text(raw)
                    print(summarize(raw))
                    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
