"""The configuration fuzzer (bench/fuzz/config_fuzz.py): a short fixed-seed run finds no
traceback, internal error, signal or hang, and the harness does tell those apart.

The long run and what it found are in docs/fuzzing.md; the seeds are tests/fixtures/fuzz/config
(keepalived's own doc/samples, GPL-2.0-or-later like keepalived, and two files written here).
"""

from __future__ import annotations

import faulthandler
import importlib.util
import os
import random
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ROOT / "tests" / "fixtures" / "fuzz" / "config"


def _fuzzer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_fuzz",
                                                  ROOT / "bench" / "fuzz" / "config_fuzz.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["config_fuzz"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_short_seeded_run_has_no_failure() -> None:
    cf = _fuzzer()
    rep = cf.fuzz(SEEDS, cases=20, seed=11, timeout=60.0, cli_every=19)
    assert rep.cases == 20 and sum(rep.exits.values()) == 20
    assert rep.failures == [] and rep.cli_mismatch == [], "\n".join(rep.lines())


def test_the_same_seed_makes_the_same_cases() -> None:
    cf = _fuzzer()
    seeds = [p.read_bytes() for p in sorted(SEEDS.iterdir())]
    runs = [[cf.make_case(random.Random(5), seeds, True) for _ in range(30)] for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("behaviour", "status"), [
    ("raise", "traceback"), ("segv", "signal"), ("sleep", "hang"), ("spin", "hang"),
    ("internal", "internal")])
def test_the_harness_reports_each_kind_of_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behaviour: str, status: str) -> None:
    cf = _fuzzer()

    def child(case_dir: Path, out_fd: int) -> None:
        if behaviour == "raise":
            raise RuntimeError("boom")
        if behaviour == "segv":
            faulthandler.disable()  # (pytest's would print the child's stack)
            os.kill(os.getpid(), signal.SIGSEGV)
        if behaviour == "sleep":  # blocked (a FIFO would be): the wall-time limit
            time.sleep(30)
        while behaviour == "spin":  # the CPU-time limit
            pass
        os.write(out_fd, b'{"status": "internal", "exit": 5, "detail": "Internal error"}\n')

    def wrapped(case_dir: Path, out_fd: int) -> None:
        try:
            child(case_dir, out_fd)
        except BaseException:
            os.write(out_fd, b'{"status": "traceback", "detail": "RuntimeError: boom"}\n')

    monkeypatch.setattr(cf, "_child", wrapped)
    out = cf.run_case(tmp_path, timeout=1.0)
    assert out.status == status
