#!/usr/bin/env python3
"""CPU time of the config test on the corpus, with Debian's keepalived side by side.

    flock /tmp/pk-bench.lock .venv/bin/python bench/config/configtest_cpu.py \
        [--target 1.0] [--heavy 5] [--runs 5] [--files NAME ...] [--corpus DIR] [--json OUT]
        [--prefix pkbcfg]

Target: pykeepalived checks every corpus file (``tests/fixtures/corpus/{field,samples}``:
keepalived's sample configs and configs from its bug reports) in at most ``--target`` seconds
of CPU (default 1.0), measured in one process as a reload parses (interpreter start-up
excluded). A file over half the target is timed twice more and its best time kept: on a busy
machine one sample can be a third slower than the next. The heaviest file is the generated
``field/1173.conf`` (~SEQ into 300 virtual servers x 100 real servers = 30 000 checkers).

Side by side: as an operator runs it (``-t -l -f FILE`` in a fresh process, interpreter
start-up and first-touch memory included), pykeepalived and Debian's keepalived alternately,
``--runs`` times each, on the ``--heavy`` files that took the most CPU above (or on
``--files``). CPU is the user+system time of the process and the children it waited for.
Reports min and median per implementation, the ratio pykeepalived / keepalived of the medians,
and the machine with its load (only ratios from one run on one machine compare).

Everything runs in a throw-away namespace holding the interfaces keepalived's verdicts were
recorded with (``pykeepalived.lab.corpus``), cwd = the file's directory. Exits 1 when a file
misses the target. Needs root and ``ip netns``; keepalived for the side-by-side part. Not part
of the test suite (timed targets do not belong there).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pykeepalived.lab.machine import machine, machine_line

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
PREFIX = "pkbcfg"


@dataclass
class InProcess:
    file: str  # field/NAME or samples/NAME
    cpu: float  # best sample
    samples: list[float]


@dataclass
class SideBySide:
    file: str
    py: list[float] = field(default_factory=list)
    ka: list[float] = field(default_factory=list)
    ka_timeouts: int = 0


def corpus_files(corpus: Path) -> list[Path]:
    return [p for sub in ("field", "samples") for p in sorted((corpus / sub).iterdir())
            if p.is_file()]


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def time_in_process(path: Path, retime_above: float) -> InProcess:
    """CPU of one in-process config test; retimed twice when above ``retime_above``."""
    from pykeepalived.config.configtest import config_test_result
    from pykeepalived.options import Options

    def once() -> float:
        os.chdir(path.parent)
        c0 = time.process_time()
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            config_test_result(Options(config_file=str(path)))
        return round(time.process_time() - c0, 4)

    samples = [once()]
    if samples[0] > retime_above:
        samples += [once(), once()]
    return InProcess(_label(path), min(samples), samples)


def cpu_of(argv: list[str], cwd: Path, timeout: float = 30.0) -> float | None:
    """User+system CPU of ``argv`` (with the children it waited for); None on timeout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.wait()
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 4)


def side_by_side(paths: list[Path], runs: int) -> list[SideBySide]:
    py = [sys.executable, "-m", "pykeepalived", "-t", "-l", "-f"]
    ka = ["keepalived", "-t", "-l", "-f"]
    out = []
    for path in paths:
        row = SideBySide(_label(path))
        for _ in range(runs):  # alternate, so a burst of load hits both alike
            row.py.append(cpu_of([*py, str(path)], path.parent) or float("nan"))
            got = cpu_of([*ka, str(path)], path.parent)
            if got is None:
                row.ka_timeouts += 1
            else:
                row.ka.append(got)
        out.append(row)
    return out


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def report(inproc: list[InProcess], sbs: list[SideBySide], target: float) -> list[str]:
    slow = [r for r in inproc if r.cpu > target]
    top = sorted(inproc, key=lambda r: -r.cpu)[:5]
    lines = [f"machine: {machine_line()}",
             f"in-process config test, {len(inproc)} files, target {target:g} s of CPU each: "
             + ("met" if not slow else f"MISSED by {len(slow)}: "
                + ", ".join(f"{r.file} {r.cpu:.2f} s" for r in slow)),
             f"  total {sum(r.cpu for r in inproc):.2f} s; slowest (best of the samples): "
             + ", ".join(f"{r.file} {r.cpu:.2f} ({'/'.join(f'{x:.2f}' for x in r.samples)})"
                         for r in top)]
    if sbs:
        lines += ["", "fresh process `-t -l -f FILE`, CPU seconds (min / median), "
                  f"{len(sbs[0].py)} alternating runs each:", "",
                  "| file | pykeepalived | keepalived 2.2.7 | ratio of medians |",
                  "| --- | --- | --- | --- |"]
        for r in sbs:
            ka = (f"{min(r.ka):.2f} / {_median(r.ka):.2f}" if r.ka else "n/a") + (
                f" ({r.ka_timeouts} timed out)" if r.ka_timeouts else "")
            ratio = _median(r.py) / _median(r.ka) if r.ka else float("nan")
            lines.append(f"| {r.file} | {min(r.py):.2f} / {_median(r.py):.2f} | {ka} "
                         f"| {ratio:.2f} |")
    return lines


def inside(a: argparse.Namespace) -> int:
    """The measurements proper, run inside the namespace."""
    paths = corpus_files(a.corpus)
    inproc = [time_in_process(p, a.target / 2) for p in paths]
    if a.files:
        heavy = [p for p in paths if p.name in a.files or _label(p) in a.files]
    else:
        by_cpu = {r.file: r.cpu for r in inproc}
        heavy = sorted(paths, key=lambda p: -by_cpu[_label(p)])[:a.heavy]
    have_ka = shutil.which("keepalived") is not None
    sbs = side_by_side(heavy, a.runs) if have_ka and a.runs > 0 else []
    print("\n".join(report(inproc, sbs, a.target)), flush=True)
    if not have_ka:
        print("keepalived is not installed: no side-by-side figures")
    if a.json:
        a.json.write_text(json.dumps({
            "machine": machine(), "target": a.target,
            "in_process": [asdict(r) for r in inproc],
            "side_by_side": [asdict(r) for r in sbs]}, indent=1))
    return 1 if any(r.cpu > a.target for r in inproc) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", type=float, default=1.0, help="CPU seconds per file (1.0)")
    p.add_argument("--heavy", type=int, default=5, help="side by side on the N heaviest (5)")
    p.add_argument("--runs", type=int, default=5, help="fresh-process runs per side (5)")
    p.add_argument("--files", nargs="+", help="side by side on these files instead")
    p.add_argument("--corpus", type=Path, default=CORPUS, help="a dir with field/ and samples/")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--prefix", default=PREFIX, help=f"namespace prefix (default {PREFIX})")
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.corpus = a.corpus.resolve()
    if a.json:
        a.json = a.json.resolve()
    if a.inside:
        return inside(a)
    from pykeepalived.lab.corpus import add_oracle_interfaces
    from pykeepalived.lab.netns import Lab, netns_available

    if not netns_available():
        print("needs root and `ip netns`", file=sys.stderr)
        return 2
    with Lab(a.prefix) as lab:
        host = lab.add_host("t", ["10.200.1.1/24"])
        add_oracle_interfaces(host.ns)
        args = [sys.executable, str(Path(__file__).resolve()), "--inside",
                "--target", str(a.target), "--heavy", str(a.heavy), "--runs", str(a.runs),
                "--corpus", str(a.corpus), *(["--files", *a.files] if a.files else []),
                *(["--json", str(a.json)] if a.json else [])]
        return subprocess.run(host.cmd(args)).returncode


if __name__ == "__main__":
    sys.exit(main())
