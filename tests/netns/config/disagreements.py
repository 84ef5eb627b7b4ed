"""The disagreements with keepalived 2.2.7 that are listed on purpose, read from
``docs/corpus-disagreements.md`` ("Listed disagreements": file, keepalived's exit code, ours,
reason), so that the corpus tests accept exactly those and the page stays true."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "corpus-disagreements.md"
_ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<ka>\d+) \| (?P<ours>\d+) \| (?P<why>.+) \|$")


def listed(doc: Path = DOC) -> dict[str, tuple[int, int]]:
    """``dir/file`` -> (keepalived's exit code, ours), for every row with a reason."""
    text = doc.read_text(encoding="utf-8")
    section = text.split("## Listed disagreements", 1)[1].split("\n## ", 1)[0]
    out: dict[str, tuple[int, int]] = {}
    for line in section.splitlines():
        m = _ROW.match(line.strip())
        if m and m["why"].strip():
            out[m["file"]] = (int(m["ka"]), int(m["ours"]))
    return out


def check(name: str, differing: dict[str, tuple[int, int]]) -> list[str]:
    """Problems with ``differing`` (file -> (keepalived's exit, ours)) of corpus ``name``: a
    difference the page does not list with these exit codes, or a listed file that no longer
    differs."""
    rows = {f.split("/", 1)[1]: v for f, v in listed().items() if f.startswith(name + "/")}
    bad = [f"{name}/{f}: keepalived {ka}, pykeepalived {ours}, not listed in "
           "docs/corpus-disagreements.md" for f, (ka, ours) in sorted(differing.items())
           if rows.get(f) != (ka, ours)]
    bad += [f"{name}/{f}: listed in docs/corpus-disagreements.md but agrees now (or is gone)"
            for f in sorted(rows) if f not in differing]
    return bad
