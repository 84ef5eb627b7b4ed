"""pykeepalived -t against Debian keepalived 2.2.7's verdicts on the corpus in
``tests/fixtures/corpus`` (keepalived's sample configs and configs from its bug reports).

One namespace with the interfaces ``oracle.sh`` made; one Python process inside it runs the config
test in-process on every file (cwd = the file's directory, as oracle.sh does) and writes JSON.
No file may crash the parser, and the verdicts (exit 0 or not) must agree with keepalived's,
except where ``docs/corpus-disagreements.md`` lists the file with its reason.
How much CPU the config test takes is measured by ``bench/config/configtest_cpu.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from disagreements import check  # tests/netns/config/disagreements.py

from pykeepalived.lab.corpus import add_oracle_interfaces
from pykeepalived.lab.netns import Lab

pytestmark = pytest.mark.netns

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parents[1] / "fixtures" / "corpus"


def _oracle(corpus: Path, name: str) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for line in (corpus / f"{name}-oracle.tsv").read_text().splitlines():
        parts = line.split("\t")
        out[parts[0]] = (int(parts[1]), parts[2] if len(parts) > 2 else "")
    return out


def _disagreements(name: str, mine: list[dict[str, Any]], oracle: dict[str, tuple[int, str]]
                   ) -> tuple[dict[str, tuple[int, int]], str]:
    """The files whose verdict differs (file -> (keepalived's exit, ours)), and a report
    listing each."""
    differ = [r for r in mine if (r["exit"] == 0) != (oracle[r["file"]][0] == 0)]
    pct = 100.0 * (len(mine) - len(differ)) / len(mine)
    lines = [f"{name}: {len(mine) - len(differ)}/{len(mine)} verdicts agree ({pct:.1f}%)"]
    for r in differ:
        ka_exit, ka_first = oracle[r["file"]]
        lines += [f"  {name}/{r['file']}",
                  f"    keepalived   exit {ka_exit:<3} {ka_first[:100] or '(no message)'}",
                  f"    pykeepalived exit {r['exit']:<3} {r['first'][:100] or '(no message)'}"]
    return {r["file"]: (oracle[r["file"]][0], r["exit"]) for r in differ}, "\n".join(lines)


def test_config_corpus_agrees_with_keepalived(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    with Lab("pkccor") as lab:
        host = lab.add_host("t", ["10.200.1.1/24"])
        add_oracle_interfaces(host.ns)
        proc = subprocess.run(
            ["ip", "netns", "exec", host.ns, sys.executable, str(HERE / "corpus_runner.py"),
             str(out), str(CORPUS / "field"), str(CORPUS / "samples")],
            capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    crashes = [(r["file"], r["crash"]) for r in results if "crash" in r]
    assert not crashes, crashes[:3]
    for corpus_name in ("field", "samples"):
        oracle = _oracle(CORPUS, corpus_name)
        mine = [r for r in results if r["dir"] == corpus_name and r["file"] in oracle]
        assert len(mine) == len(oracle)
        differing, report = _disagreements(corpus_name, mine, oracle)
        print("\n" + report)
        problems = check(corpus_name, differing)
        assert not problems, "\n".join(problems) + "\n" + report
