"""bench/config/configtest_cpu.py still runs: both parts on three small corpus files.

Only the report's shape and the exit code are checked (the target is met or missed on
purpose): the figures themselves are the hand-run benchmark in docs/configuration.md.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.keepalived, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench" / "config" / "configtest_cpu.py"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    for sub, name in (("field", "1.conf"), ("field", "1009.conf"),
                      ("samples", "keepalived.conf.vrrp")):
        (tmp_path / "corpus" / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / sub / name, tmp_path / "corpus" / sub / name)
    return tmp_path / "corpus"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), "--prefix", "pkgcfg", *args],
                          capture_output=True, text=True, timeout=100)


def test_side_by_side_report(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    r = _bench("--corpus", str(small_corpus), "--target", "60", "--heavy", "2", "--runs", "1",
               "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 files, target 60 s of CPU each: met" in r.stdout
    rows = re.findall(r"^\| (\S+) \| ([\d.]+) / ([\d.]+) \| ([\d.]+) / ([\d.]+) \| ([\d.]+) \|$",
                      r.stdout, re.M)
    assert len(rows) == 2, r.stdout
    figures = json.loads(out.read_text())
    assert figures["machine"]["keepalived"].startswith("Keepalived v")
    assert {x["file"] for x in figures["in_process"]} == {
        "field/1.conf", "field/1009.conf", "samples/keepalived.conf.vrrp"}
    assert len(figures["side_by_side"]) == 2


def test_missed_target_exits_1(small_corpus: Path) -> None:
    r = _bench("--corpus", str(small_corpus), "--target", "0.000001", "--runs", "0")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "MISSED by" in r.stdout and "fresh process" not in r.stdout
