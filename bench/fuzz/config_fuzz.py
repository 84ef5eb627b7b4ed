"""Seeded fuzzer for the configuration front end (what ``pykeepalived -t`` runs).

    .venv/bin/python bench/fuzz/config_fuzz.py SEED_DIR [--cases N] [--seed S] [--timeout T]
                                               [--big] [--cli-every K] [--keep DIR]

Each case is a small tree of files made from the seed configurations in ``SEED_DIR`` by a few
mutations (``MUTATIONS``: braces, truncation, huge and negative numbers, unicode and invalid
UTF-8, NUL bytes, long lines, ``$macro`` and ``~SEQ`` bombs, include cycles and fan-outs,
special files as includes: a FIFO, ``/dev/zero``, a directory, ``/proc/self/mem``; with
``--big`` also files over 16 MiB). Each case runs in a forked child with a CPU-time limit
(and five times that in wall time, for a child blocked without using CPU): the
config test (``configtest.config_test_result``, cwd = the case's directory) and the ``-d``
dump. A case fails when the child raises, dies by a signal, overruns a limit (a hang), or
the result holds an "Internal error" message (the parser's last line of defence caught a bug).
Every ``--cli-every``-th case is also run as a real ``pykeepalived -t`` process, whose exit
code must be the in-process one.

Prints cases run, the exit-code distribution, failures (with the case kept under ``--keep``
for a reproducer), the peak RSS of a child and the slowest case; exits 1 on any failure.
``tests/unit/config/test_config_fuzz.py`` runs a short fixed-seed run in CI.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAIN = "keepalived.conf"
Tree = dict[str, bytes]  # relative path -> contents ("@fifo", "@dir": special entries)
FIFO = b"\0@fifo"
DIR = b"\0@dir"


# ------------------------------------------------------------------------------ mutations

def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _pick_line(rng: random.Random, lines: list[bytes]) -> int:
    return rng.randrange(len(lines)) if lines else 0


def m_brace(rng: random.Random, tree: Tree) -> None:
    """Insert, delete or double a brace somewhere."""
    data = bytearray(tree[MAIN])
    spots = [i for i, c in enumerate(data) if c in b"{}"]
    op = rng.randrange(3)
    if op == 0 or not spots:
        data.insert(rng.randrange(len(data) + 1), rng.choice(b"{}"))
    elif op == 1:
        del data[rng.choice(spots)]
    else:
        i = rng.choice(spots)
        data[i:i] = bytes([data[i]]) * rng.randrange(1, 70)
    tree[MAIN] = bytes(data)


def m_truncate(rng: random.Random, tree: Tree) -> None:
    """Cut the file anywhere (mid-line, mid-word, mid-UTF-8 sequence)."""
    data = tree[MAIN]
    tree[MAIN] = data[:rng.randrange(len(data) + 1)]


_NUMBERS = [b"0", b"-1", b"-2147483649", b"4294967296", b"18446744073709551616",
            b"99999999999999999999999999999", b"1e999", b"-0", b"0x", b"0xffffffffffff",
            b"1.5", b"-0.000001", b"255", b"256", b"65536", b"nan", b"inf", b"1" * 400,
            b"4294.967296", b"077777777777777"]


def m_number(rng: random.Random, tree: Tree) -> None:
    """Replace numbers with huge, negative or malformed ones."""
    data = tree[MAIN]
    nums = list(re.finditer(rb"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", data))
    if not nums:
        return
    picked = rng.sample(nums, min(len(nums), rng.randrange(1, 4)))
    for m in sorted(picked, key=lambda m: -m.start()):  # from the end: offsets stay valid
        data = data[:m.start()] + rng.choice(_NUMBERS) + data[m.end():]
    tree[MAIN] = data


_UNICODE = ["\u202e", "\u0301", "\uffff", "\ufeff", "\U0001f600", "\u00a0", "\u2028", "\u3000",
            "\x85", "\x1c", "é", "\u0000", "\x7f"]


def m_unicode(rng: random.Random, tree: Tree) -> None:
    """Insert unicode (bidi, combining, non-characters, odd whitespace), invalid UTF-8 or NUL."""
    data = bytearray(tree[MAIN])
    for _ in range(rng.randrange(1, 6)):
        if rng.random() < 0.4:
            ins = bytes(rng.choice([0x80, 0xC3, 0xE2, 0xF0, 0xFF, 0xFE, 0x00]) for _ in
                        range(rng.randrange(1, 4)))
        else:
            ins = "".join(rng.choice(_UNICODE) for _ in range(rng.randrange(1, 4))).encode()
        data[rng.randrange(len(data) + 1):0] = ins
    tree[MAIN] = bytes(data)


def m_long_line(rng: random.Random, tree: Tree) -> None:
    """A line around keepalived's 1024-byte buffer, or far beyond it."""
    lines = _lines(tree[MAIN])
    n = rng.choice([1022, 1023, 1024, 1025, 4096, 70_000, 1 << 20])
    filler = rng.choice([b"x", b"a b ", b"{", b"}", b"#", b"\"", b"$", b"\xc3\xa9", b"\0"])
    body = (filler * (n // len(filler) + 1))[:n]
    i = _pick_line(rng, lines)
    lines.insert(i, rng.choice([b"", b"router_id ", b"    ", b"$L="]) + body)
    tree[MAIN] = b"\n".join(lines)


_BOMBS = [
    b"$A=$B$B$B$B\n$B=$C$C$C$C\n$C=$D$D$D$D\n$D=$E$E$E$E\n$E=x x x x\n$A\n",
    b"$X=$X$X\n$X\n",
    b"$X= \\\n$X \\\n$X\n$X\n",
    b"$R=${R}${R}\n${R}\n",
    b"$P=$\n$P{P}\n",
    b"~SEQ(i, 1, 100000) ~SEQ(j, 1, 100000) w $i $j\n",
    b"~SEQ(i, -99999999999999999999, 99999999999999999999) x\n",
    b"~SEQ(i, 1, 0, 5) x\n~SEQx(i, 0, 0xffffffffff) x\n~SEQ(i,,) x\n~SEQ(\n",
    b"~LST({a,b}, " + b", ".join(b"{%d,%d}" % (i, i) for i in range(3000)) + b") $a\n",
    b"$S=~SEQ(k, 1, 300) $S\n$S\n",
    b"~SEQ(i, 1, 3) ~SEQ(i, 1, 3) ~SEQ(i, 1, 3) ~SEQ(i, 1, 3) ~SEQ(i, 1, 3) y $i\n",
    b"${_RANDOM 0 99999999999999999999999} ${_RANDOM -5 -9} ${_RANDOM a b} ${_ENV}\n",
    b"$V=${V\n${\n$=1\n${}=2\n$9=3\n",
    b"@" + b"x" * 300 + b" y\n@^\n@\n@^h\t\tz\n",
]


def m_bomb(rng: random.Random, tree: Tree) -> None:
    """A parameter or sequence bomb, at the top or in a block."""
    lines = _lines(tree[MAIN])
    lines.insert(_pick_line(rng, lines), rng.choice(_BOMBS).rstrip(b"\n"))
    tree[MAIN] = b"\n".join(lines)


def m_include(rng: random.Random, tree: Tree) -> None:
    """Include cycles and fan-outs, globs matching the including file, special files."""
    op = rng.randrange(8)
    lines = _lines(tree[MAIN])
    i = _pick_line(rng, lines)
    if op == 0:
        lines[i:i] = [b"include " + MAIN.encode()] * rng.randrange(1, 3)
    elif op == 1:
        tree["a.conf"] = b"include b.conf\ninclude b.conf\na 1\n"
        tree["b.conf"] = b"include a.conf\ninclude a.conf\nb 2\n"
        lines.insert(i, b"include a.conf")
    elif op == 2:  # a fan-out without a cycle: 2**depth reads of small files
        depth = rng.randrange(5, 40)
        for d in range(depth):
            tree[f"f{d}.conf"] = b"include f%d.conf\ninclude f%d.conf\n! x\n" % (d + 1, d + 1)
        lines.insert(i, b"include f0.conf")
    elif op == 3:
        lines.insert(i, rng.choice([b"include *", b"include *.conf", b"includea {a,b,*}.conf",
                                    b"include ./" + MAIN.encode(), b"include ../*/*"]))
    elif op == 4:
        tree["pipe.conf"] = FIFO
        lines.insert(i, rng.choice([b"include pipe.conf", b"includer pipe.conf",
                                    b"include p*.conf"]))
    elif op == 5:
        lines.insert(i, b"include " + rng.choice([b"/dev/zero", b"/dev/null", b"/dev/urandom",
                                                  b"/proc/self/mem", b"/proc/self/fd/0",
                                                  b"/", b"/etc", b"/nonexistent/x.conf"]))
    elif op == 6:
        tree["sub"] = DIR
        lines.insert(i, rng.choice([b"include sub", b"includer sub", b"include sub/*"]))
    else:
        lines.insert(i, rng.choice([b"include", b"include \"\"", b"include ''",
                                    b"include $NOPE", b"include ${_PWD}/" + MAIN.encode(),
                                    b"include_check -readable +match", b"includeb {,}"]))
    tree[MAIN] = b"\n".join(lines)


def m_lines(rng: random.Random, tree: Tree) -> None:
    """Delete, duplicate, swap or move lines."""
    lines = _lines(tree[MAIN])
    if len(lines) < 2:
        return
    i, j = _pick_line(rng, lines), _pick_line(rng, lines)
    op = rng.randrange(4)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines[i:i] = [lines[j]] * rng.randrange(1, 50)
    elif op == 2:
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines.insert(j, lines.pop(i))
    tree[MAIN] = b"\n".join(lines)


def m_bytes(rng: random.Random, tree: Tree) -> None:
    """Random byte flips, insertions and deletions."""
    data = bytearray(tree[MAIN])
    for _ in range(rng.randrange(1, 10)):
        if not data:
            data.append(rng.randrange(256))
            continue
        k = rng.randrange(len(data))
        op = rng.randrange(3)
        if op == 0:
            data[k] = rng.randrange(256)
        elif op == 1:
            data.insert(k, rng.randrange(256))
        else:
            del data[k]
    tree[MAIN] = bytes(data)


def m_tokens(rng: random.Random, tree: Tree) -> None:
    """Hostile tokens: quotes, escapes, comment characters, keywords without values."""
    lines = _lines(tree[MAIN])
    toks = [b"\"", b"'", b"\\", b"\\#", b"#", b"!", b"{", b"}", b"\"\\x\"", b"\"\\777\"",
            b"interface", b"virtual_ipaddress", b"real_server", b"script", b"auth_pass",
            b"-", b"--", b"/", b"::", b"0.0.0.0/33", b"fe80::%eth0/129", b"dev", b"\t", b"\r"]
    for _ in range(rng.randrange(1, 5)):
        i = _pick_line(rng, lines)
        if lines:
            words = lines[i].split(b" ")
            words.insert(rng.randrange(len(words) + 1), rng.choice(toks))
            lines[i] = b" ".join(words)
    tree[MAIN] = b"\n".join(lines)


def m_big(rng: random.Random, tree: Tree) -> None:
    """A file over 16 MiB (a reader once stopped there), its last line a statement."""
    filler = rng.choice([b"! padding\n", b"\n", b"}\n", b"    10.1.2.3/32\n"])
    name = rng.choice([MAIN, "big.conf"])
    body = filler * ((17 << 20) // len(filler)) + b"bogus_last_line 1\n"
    if name == MAIN:
        tree[MAIN] = tree[MAIN] + b"\n" + body
    else:
        tree[name] = body
        tree[MAIN] = b"include big.conf\n" + tree[MAIN]


MUTATIONS: dict[str, Callable[[random.Random, Tree], None]] = {
    "brace": m_brace, "truncate": m_truncate, "number": m_number, "unicode": m_unicode,
    "long_line": m_long_line, "bomb": m_bomb, "include": m_include, "lines": m_lines,
    "bytes": m_bytes, "tokens": m_tokens,
}


def make_case(rng: random.Random, seeds: list[bytes], big: bool) -> tuple[Tree, list[str]]:
    """One case: a seed (sometimes two spliced) and 1-4 mutations; returns it and their names."""
    data = rng.choice(seeds)
    if rng.random() < 0.1:
        other = _lines(rng.choice(seeds))
        cut = rng.randrange(len(other) + 1)
        data = data + b"\n" + b"\n".join(other[cut:])
    tree: Tree = {MAIN: data}
    names = [rng.choice(list(MUTATIONS)) for _ in range(rng.randrange(1, 5))]
    if big and rng.random() < 0.02:
        names.append("big")
    for name in names:
        (m_big if name == "big" else MUTATIONS[name])(rng, tree)
    return tree, names


def write_tree(tree: Tree, root: Path) -> None:
    for rel, data in tree.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if data == FIFO:
            os.mkfifo(p)
        elif data == DIR:
            p.mkdir(exist_ok=True)
            (p / "inner.conf").write_bytes(b"inner 1\n")
        else:
            p.write_bytes(data)


# ------------------------------------------------------------------------------ running

@dataclass
class Outcome:
    status: str  # "ok", "traceback", "internal", "signal", "hang"
    exit: int | None = None
    detail: str = ""
    seconds: float = 0.0
    rss_mib: float = 0.0


def _child(case_dir: Path, out_fd: int) -> None:
    """In the forked child: the config test and the dump; one JSON line to ``out_fd``."""
    from pykeepalived.config.configtest import config_test_result
    from pykeepalived.config.dump import format_config
    from pykeepalived.options import Options

    rec: dict[str, object]
    try:
        os.chdir(case_dir)
        res, code = config_test_result(Options(config_file=str(case_dir / MAIN)))
        format_config(res.config)
        internal = [m.format() for m in res.messages if "Internal error" in m.text]
        rec = {"status": "internal" if internal else "ok", "exit": code,
               "detail": internal[0] if internal else ""}
    except BaseException:
        rec = {"status": "traceback", "detail": traceback.format_exc()[-3000:]}
    os.write(out_fd, json.dumps(rec).encode() + b"\n")


def run_case(case_dir: Path, timeout: float) -> Outcome:
    """Run one case in a forked child. A hang is a child past ``timeout`` seconds of CPU
    (SIGXCPU) or, blocked without using CPU, past five times that in wall time (killed):
    wall time alone would call a slow case on a loaded machine a hang."""
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            cpu = max(1, int(timeout))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            _child(case_dir, w)
        finally:
            os._exit(0)
    os.close(w)
    buf = b""
    hung = False
    with os.fdopen(r, "rb", buffering=0) as rf:
        while True:
            left = 5 * timeout - (time.monotonic() - t0)
            if left <= 0:
                hung = True
                os.kill(pid, signal.SIGKILL)  # our own child, by its pid
                break
            ready, _, _ = select.select([rf], [], [], left)
            if ready:
                chunk = rf.read(65536)
                if not chunk:
                    break
                buf += chunk
    _, status, ru = os.wait4(pid, 0)
    secs = time.monotonic() - t0
    rss = ru.ru_maxrss / 1024
    if hung:
        return Outcome("hang", None, f"blocked over {5 * timeout} s", secs, rss)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return Outcome("hang", None, f"over {timeout} s of CPU", secs, rss)
    if os.WIFSIGNALED(status):
        return Outcome("signal", None, f"signal {os.WTERMSIG(status)}", secs, rss)
    try:
        rec = json.loads(buf.decode())
    except ValueError:
        return Outcome("traceback", None, f"no result (status {status}): {buf[-500:]!r}",
                       secs, rss)
    return Outcome(str(rec["status"]), rec.get("exit"), str(rec.get("detail", "")), secs, rss)


def run_cli(case_dir: Path, timeout: float) -> int | None:
    """The same case through the real command line (``pykeepalived -t``)."""
    try:
        p = subprocess.run([sys.executable, "-m", "pykeepalived", "-t", "-f",
                            str(case_dir / MAIN)], cwd=case_dir, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return p.returncode


@dataclass
class Report:
    cases: int = 0
    exits: collections.Counter[int] = field(default_factory=collections.Counter)
    mutations: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[tuple[int, list[str], Outcome]] = field(default_factory=list)
    cli_mismatch: list[tuple[int, int | None, int | None]] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    slowest: tuple[float, int, list[str]] = (0.0, -1, [])
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"cases run: {self.cases} in {self.seconds:.1f} s",
               "exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.exits.items())),
               "mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(self.mutations.items())),
               f"peak RSS of a case's process: {self.peak_rss_mib:.1f} MiB",
               f"slowest case: #{self.slowest[1]} {self.slowest[0]:.2f} s "
               f"({'+'.join(self.slowest[2])})",
               f"failures: {len(self.failures)} (tracebacks, internal errors, signals, hangs)",
               f"command-line exit codes differing from in-process: {len(self.cli_mismatch)}"]
        for i, names, o in self.failures[:20]:
            out.append(f"  case #{i} ({'+'.join(names)}): {o.status} {o.detail[-400:]}")
        return out


def fuzz(seed_dir: Path, cases: int, seed: int, timeout: float, big: bool = False,
         cli_every: int = 0, keep: Path | None = None,
         progress: Callable[[int], None] | None = None) -> Report:
    """Run ``cases`` cases from ``seed``; the same arguments give the same cases."""
    # what the children run, imported once here rather than in every fork
    importlib.import_module("pykeepalived.config.configtest")
    importlib.import_module("pykeepalived.config.dump")
    seeds = [p.read_bytes() for p in sorted(seed_dir.iterdir())
             if p.is_file() and not p.name.endswith(".tsv")]
    if not seeds:
        raise SystemExit(f"no seed files in {seed_dir}")
    rng = random.Random(seed)
    rep = Report()
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pk-cfgfuzz-") as tmp:
        for i in range(cases):
            tree, names = make_case(rng, seeds, big)
            case_dir = Path(tmp) / f"case{i}"
            case_dir.mkdir()
            write_tree(tree, case_dir)
            o = run_case(case_dir, timeout)
            rep.cases += 1
            rep.mutations.update(names)
            if o.exit is not None:
                rep.exits[o.exit] += 1
            rep.peak_rss_mib = max(rep.peak_rss_mib, o.rss_mib)
            if o.seconds > rep.slowest[0]:
                rep.slowest = (o.seconds, i, names)
            if o.status != "ok":
                rep.failures.append((i, names, o))
            bad = o.status != "ok"
            if cli_every and i % cli_every == 0 and not bad:
                cli = run_cli(case_dir, timeout + 5)
                if cli != o.exit:
                    rep.cli_mismatch.append((i, o.exit, cli))
                    bad = True
            if keep is not None and bad:
                shutil.copytree(case_dir, keep / f"case{i}", symlinks=True,
                                ignore_dangling_symlinks=True, copy_function=_copy_plain)
            shutil.rmtree(case_dir, ignore_errors=True)
            if progress is not None:
                progress(i)
    rep.seconds = time.monotonic() - t_start
    return rep


def _copy_plain(src: str, dst: str) -> None:
    """Copy a case's file; a FIFO is made again rather than opened."""
    import stat as _stat

    if _stat.S_ISFIFO(os.lstat(src).st_mode):
        os.mkfifo(dst)
    else:
        shutil.copy2(src, dst)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed_dir", type=Path)
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="CPU seconds per case (a hang); 5x that blocked")
    ap.add_argument("--big", action="store_true", help="sometimes files over 16 MiB")
    ap.add_argument("--cli-every", type=int, default=50)
    ap.add_argument("--keep", type=Path, help="copy failing cases here")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    def progress(i: int) -> None:
        if (i + 1) % 500 == 0:
            print(f"  {i + 1} cases", file=sys.stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        rep = fuzz(args.seed_dir, args.cases, args.seed, args.timeout, args.big,
                   args.cli_every, args.keep, progress)
        print("\n".join(rep.lines()))
        return 1 if rep.failures or rep.cli_mismatch else 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
