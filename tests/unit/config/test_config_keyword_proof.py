"""No silent keyword: every keyword of keepalived (``tests/fixtures/keepalived-keywords.tsv``)
either acts, and names the test that shows its effect (``keyword_effects.tsv``: the test must
exist and name the keyword or the field it fills), or says at ``-t`` (and in the log, by the same
machinery: ``tests/netns/daemon/test_daemon_keywords.py``) that it does not, with its file and
line. The ``-t`` run is the real command on a file holding every keyword that does not fully
act, each in a block of its own.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from pykeepalived.config.parse.reference import read_releases
from pykeepalived.config.parse.table import Kind, Kw, Section, Status
from pykeepalived.config.parse.top import ALL_SECTIONS

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = ROOT / "tests" / "fixtures" / "keepalived-keywords.tsv"
EFFECTS = Path(__file__).with_name("keyword_effects.tsv")
ACTING = (Status.ACTS, Status.PARTIAL)
NOTED = (Status.NO_EFFECT, Status.PARTIAL)


def _sections() -> dict[str, Section]:
    return {p: sec for sec in ALL_SECTIONS for p in (sec.path, *sec.aliases)}


def _effects() -> dict[tuple[str, str], str]:
    out = {}
    for line in EFFECTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        section, kw, test = line.split("\t")
        out[(section, kw)] = test
    return out


@cache
def _module(path: Path) -> tuple[list[str], dict[str, ast.AST], dict[str, str]]:
    """A test module's lines, top-level definitions, and the text of each (decorators too)."""
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    defs: dict[str, ast.AST] = {}
    texts: dict[str, str] = {}
    for node in ast.parse(src).body:
        names: list[str] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        for n in names:
            defs[n] = node
            texts[n] = "\n".join(lines[first - 1:node.end_lineno])
    return lines, defs, texts


def _test_text(path: Path, name: str) -> str | None:
    """The test function's text with the module-level names it uses (config texts, helpers,
    fixtures): where a keyword of its configuration is spelt."""
    _, defs, texts = _module(path)
    node = defs.get(name)
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    used |= {a.arg for a in node.args.args}
    return "\n".join([texts[name], *(texts[u] for u in sorted(used) if u in texts and u != name)])


def _mentions(text: str, test: str, row: Kw) -> bool:
    words = [*row.names(), *([row.to] if len(row.to) > 2 else [])]
    if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text) for w in words):
        return True
    return row.name.lower() in test.lower()


def test_every_acting_keyword_names_a_test_that_shows_its_effect() -> None:
    effects = _effects()
    problems = []
    for sec in ALL_SECTIONS:
        for row in sec.rows:
            if row.status not in ACTING:
                if (sec.path, row.name) in effects:
                    problems.append(f"{sec.path}/{row.name}: listed but {row.status.value}")
                continue
            test = effects.get((sec.path, row.name))
            if test is None:
                problems.append(f"{sec.path}/{row.name}: no effect test listed")
                continue
            file, _, name = test.partition("::")
            path = ROOT / file
            text = _test_text(path, name) if path.is_file() else None
            if text is None:
                problems.append(f"{sec.path}/{row.name}: {test} does not exist")
            elif not _mentions(text, name, row):
                problems.append(f"{sec.path}/{row.name}: {test} does not name it")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the -t run

_NAMED = {"vrrp_instance": "vrrp_instance VI_{n} {{\n interface eth0\n virtual_router_id 1",
          "vrrp_sync_group": "vrrp_sync_group G{n} {{",
          "vrrp_script": "vrrp_script S{n} {{\n script /bin/true",
          "track_file": "track_file F{n} {{\n file /nonexistent",
          "vrrp_track_process": "vrrp_track_process P{n} {{\n process p",
          "track_group": "track_group T{n} {{", "bfd_instance": "bfd_instance B{n} {{",
          "virtual_server": "virtual_server 10.0.0.1 {n} {{\n protocol TCP",
          "real_server": "real_server 10.0.1.1 80 {{", "url": "url {{\n path /"}
_SAMPLE = {Kind.INT: "1", Kind.TIMER: "1", Kind.STR: "x", Kind.WORDS: "x", Kind.RAW: "x",
           Kind.IGNORE: "x", Kind.ADDRESS: "10.0.0.9", Kind.SCRIPT: "/bin/true"}


def _line_for(row: Kw) -> str:
    if row.block:
        return f"{row.name} {{\n}}"
    arg = row.choices[0] if row.kind is Kind.ENUM and row.choices else _SAMPLE.get(row.kind, "")
    return f"{row.name} {arg}".rstrip()


def _noted_rows() -> list[tuple[Section, Kw]]:
    return [(sec, row) for sec in ALL_SECTIONS if not sec.quiet for row in sec.rows
            if row.status in NOTED and not row.says]


def _config(rows: list[tuple[Section, Kw]]) -> tuple[str, dict[tuple[str, str], int]]:
    """Every row in a block nesting of its own; the line number of each keyword."""
    out: list[str] = []
    where: dict[tuple[str, str], int] = {}
    for n, (sec, row) in enumerate(rows, 1):
        opens = [_NAMED.get(c, c + " {{").format(n=n) for c in sec.path.split("/") if c]
        for o in opens:
            out.extend(o.split("\n"))
        where[(sec.path, row.name)] = len(out) + 1
        out.extend(_line_for(row).split("\n"))
        out.extend("}" * bool(o) for o in opens)
    return "\n".join(out) + "\n", where


def test_every_keyword_that_does_not_fully_act_says_so_at_t(tmp_path: Path) -> None:
    rows = _noted_rows()
    text, where = _config(rows)
    conf = tmp_path / "keepalived.conf"
    conf.write_text(text)
    r = subprocess.run([sys.executable, "-m", "pykeepalived", "-t", "-f", str(conf)],
                       capture_output=True, text=True, timeout=120)
    said = set(r.stderr.splitlines())
    missing = []
    for sec, row in rows:
        want = f"({conf}: Line {where[(sec.path, row.name)]}) {row.note(row.name)}"
        if want not in said:
            missing.append(want)
    assert not missing, "\n".join(missing[:20]) + "\n--- -t said:\n" + r.stderr[-3000:]


def test_a_quiet_block_is_opened_by_a_keyword_that_says_so() -> None:
    """The keywords inside bfd_instance and BFD_CHECK get no note of their own: the line that
    opens the block has one."""
    openers = {row.name: row for sec in ALL_SECTIONS for row in sec.rows if row.block}
    bad = [sec.path for sec in ALL_SECTIONS if sec.quiet
           and openers[sec.path.rsplit("/", 1)[-1]].status not in NOTED]
    assert not bad, bad


def test_every_keepalived_keyword_acts_or_says_so() -> None:
    """Walk keepalived's own keyword list: each one either names its effect test or has a
    note (its own, or its block's)."""
    sections = _sections()
    effects = _effects()
    noted = {(sec.path, row.name) for sec, row in _noted_rows()}
    silent = []
    for kw, path in read_releases(str(KEYWORDS)):
        sec = sections[path]
        row = sec.row(kw)
        assert row is not None, (path, kw)
        acts = row.status in ACTING and (sec.path, row.name) in effects
        says = (sec.path, row.name) in noted or (sec.quiet and row.status in NOTED)
        if not (acts or says):
            silent.append(f"{path}/{kw}: {row.status.value}")
    assert not silent, silent
