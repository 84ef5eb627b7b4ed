"""Benchmarks put their tables into the docs between two markers, so a re-run replaces the
figures it wrote and leaves the prose around them alone."""

from __future__ import annotations

from pathlib import Path


def write_section(doc: Path, name: str, text: str, title: str = "") -> None:
    """Replace what lies between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in ``doc``
    with ``text`` (markers appended when missing; the file created with ``title``)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    body = doc.read_text() if doc.exists() else f"# {title or name}\n\n{begin}\n{end}\n"
    if begin not in body:
        body += f"\n{begin}\n{end}\n"
    head, rest = body.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{text}\n{end}{tail}")
