"""``docs/configuration-reference.md``, generated from the keyword tables.

    python -m pykeepalived.config.parse.reference KEYWORDS.tsv > docs/configuration-reference.md

KEYWORDS.tsv is keepalived's own keyword list (``tests/fixtures/keepalived-keywords.tsv``:
keyword, section, first release among 2.2.7 / 2.4.3); it gives the "keepalived" column. Every
keyword of every ``Section`` is one line: what it takes, its default, the model field it fills,
and whether pykeepalived acts on it (with the reason when it does not, or only in part).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable

from pykeepalived.config.parse.table import Kind, Kw, Section, Status
from pykeepalived.config.parse.top import ALL_SECTIONS

Releases = dict[tuple[str, str], str]  # (keyword, section path) -> first keepalived release

_INTRO = """\
# Configuration reference

Every keyword pykeepalived reads, block by block, with what it takes, its default, the
configuration field it fills and its status here:

- **acts**: the daemon does what keepalived does with it;
- **acts in part**: some of it has an effect, the rest not (the reason says which);
- **accepted without effect**: it is checked and reported like keepalived does, then ignored
  (the reason says why);
- **not supported**: reported as an unknown keyword.

No keyword that does not act, or acts only in part, is silent: each line of it gets a note
with its file and line, the keyword and the reason, e.g. `(keepalived.conf: Line 7)
enable_snmp_vrrp is accepted but has no effect: SNMP is not supported: there is no SNMP agent`.
`pykeepalived -t` prints it (the exit code stays keepalived's, which acts on these keywords) and
the daemon logs it once at start and once at each reload. The keywords inside a block that has
no effect as a whole (`bfd_instance`, `BFD_CHECK`) are covered by the note of the block's line.

The "keepalived" column is the first of keepalived 2.2.7 / 2.4.3 that has the keyword in that
block ("—": not a keepalived keyword there; the status says what pykeepalived does with it).
Every keyword of keepalived 2.4.3 is listed. Deprecated spellings are reported and read as the
current keyword.

This page is generated from the keyword tables (`src/pykeepalived/config/parse/`) by
`python -m pykeepalived.config.parse.reference tests/fixtures/keepalived-keywords.tsv`;
`tests/unit/config/test_config_reference.py` fails when it is out of date.
"""


def read_releases(path: str) -> Releases:
    out: Releases = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            kw, section, release = line.rstrip("\n").split("\t")
            out[(kw, section)] = release
    return out


def render(releases: Releases, sections: Iterable[Section] = ALL_SECTIONS) -> str:
    sections = tuple(sections)
    counts = {s: 0 for s in Status}
    silent = 0
    for sec in sections:
        for row in sec.rows:
            counts[row.status] += 1
            if row.status in (Status.NO_EFFECT, Status.PARTIAL) and not sec.quiet \
                    and not row.says and row.note(row.name) is None:
                silent += 1
    out = [_INTRO, "| status | keywords |", "|---|---|"]
    out += [f"| {s.value} | {counts[s]} |" for s in Status]
    out += [f"| of these, accepted with no effect and no word | {silent} |"]
    for sec in sections:
        out += ["", f"## {sec.title}", ""]
        if sec.aliases:
            out += ["Also reached as " + ", ".join(f"`{a}`" for a in sec.aliases) + ".", ""]
        out += ["| keyword | takes | default | fills | keepalived | status |",
                "|---|---|---|---|---|---|"]
        out += [_line(sec, row, releases) for row in sec.rows]
    return "\n".join(out) + "\n"


def _line(sec: Section, row: Kw, releases: Releases) -> str:
    name = f"`{row.name}`"
    if row.synonyms:
        name += " (also " + ", ".join(f"`{s}`" for s in row.synonyms) + ")"
    if row.old:
        name += " (deprecated: " + ", ".join(f"`{s}`" for s in row.old) + ")"
    paths = (sec.path, *sec.aliases)
    release = next((releases[(row.name, p)] for p in paths if (row.name, p) in releases), "—")
    status = row.status.value + (f": {row.why}" if row.why else "")
    if row.ours:
        status += f" (pykeepalived: {row.ours})"
    cells = [name, _takes(row), _default(sec, row), _fills(sec, row), release, status]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _num(x: float) -> str:
    if x == int(x):
        return str(int(x))
    return f"{x:.6f}".rstrip("0")


def _takes(row: Kw) -> str:
    if row.syntax and row.kind not in (Kind.INT, Kind.TIMER):
        return row.syntax
    if row.kind is Kind.INT:
        rng = f"integer {_num(row.lo)}..{_num(row.hi)}"
        return f"{rng}; {row.syntax}" if row.syntax else rng
    if row.kind is Kind.TIMER:
        rng = f"seconds {_num(row.lo)}..{_num(row.hi)}"
        return f"{rng}; {row.syntax}" if row.syntax else rng
    if row.kind is Kind.ENUM:
        return " | ".join(row.choices)
    return str(row.kind.value)


def _model_field(sec: Section, row: Kw) -> dataclasses.Field[object] | None:
    model = sec.model
    if not row.to or model is None or not dataclasses.is_dataclass(model):
        return None
    return next((f for f in dataclasses.fields(model) if f.name == row.to), None)


def _default(sec: Section, row: Kw) -> str:
    if row.default:
        return row.default
    f = _model_field(sec, row)
    if f is None or f.default is dataclasses.MISSING:
        return "—"
    v = f.default
    if isinstance(v, bool):
        return "on" if v else "off"
    if v is None or v == () or v == "":
        return "—"
    if isinstance(v, int | float):
        return _num(v)
    return str(getattr(v, "value", v))


def _fills(sec: Section, row: Kw) -> str:
    """The model field it fills, else the builder attribute the block's finisher reads."""
    if _model_field(sec, row) is not None and sec.model is not None:
        return f"`{sec.model.__name__}.{row.to}`"
    if row.to and sec.builder is not None:
        return f"`{sec.builder.__name__}.{row.to}`"
    return "—"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(render(read_releases(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
