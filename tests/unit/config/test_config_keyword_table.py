"""The keyword-table machinery (``config.parse.table``) on a block of its own: how a row's kind,
range, target, spellings and status turn into values and keepalived's messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import ConfigMessage, Severity
from pykeepalived.config.parse.context import Parser, ParseState
from pykeepalived.config.parse.table import Kind, Kw, Section, Status, StopBlock, run
from pykeepalived.config.parse.tree import Node


@dataclass(frozen=True)
class Model:
    count: int = 0
    name: str = ""
    on: bool = False


@dataclass(slots=True)
class Builder:
    values: dict[str, Any] = field(default_factory=dict)
    delay: float | None = None
    seen: list[str] = field(default_factory=list)


def _stop(p: Parser, n: Node, b: Builder) -> None:
    raise StopBlock


def _record(p: Parser, n: Node, b: Builder) -> None:
    b.seen.append(n.kw)


def section(braces: str = "rows") -> Section:
    return Section("demo", [
        Kw("count", Kind.INT, to="count", lo=1, hi=5, old=("old_count",)),
        Kw("name", Kind.STR, to="name", synonyms=("label",)),
        Kw("on", Kind.BOOL, to="on"),
        Kw("delay", Kind.TIMER, to="delay", lo=0.0, hi=10.0),
        Kw("gone", Kind.FLAG, status=Status.UNSUPPORTED, why="not here"),
        Kw("quiet", Kind.FLAG, fn=_record, brace_check=False),
        Kw("stop", Kind.FLAG, fn=_stop),
        Kw("sub", Kind.BLOCK, fn=_record),
    ], model=Model, builder=Builder, braces=braces)


def read(lines: list[Node], braces: str = "rows") -> tuple[Builder, list[str], bool]:
    st = ParseState(messages=[], env=FakeEnvironment(), config_id="")
    b = Builder()
    done = run(Parser(st), section(braces), lines, b)
    return b, [_fmt(m) for m in st.messages], done


def _fmt(m: ConfigMessage) -> str:
    return f"{m.line} {m.severity.name} {m.text}"


def line(n: int, *tokens: str, block: bool = False) -> Node:
    return Node("f", n, tokens, [Node("f", n + 1, ("x",))] if block else None)


def test_values_go_to_their_target_model_field_or_builder_attribute() -> None:
    b, msgs, done = read([line(1, "count", "3"), line(2, "label", "web"), line(3, "on"),
                          line(4, "delay", "2.5")])
    assert (b.values, b.delay, msgs, done) == ({"count": 3, "name": "web", "on": True}, 2.5,
                                               [], True)


def test_bad_values_are_reported_against_their_line_and_not_stored() -> None:
    b, msgs, _ = read([line(1, "count", "9"), line(2, "count"), line(3, "on", "maybe"),
                       line(4, "name"), line(5, "delay", "0.0000001")])
    assert b.values == {} and b.delay is None
    assert msgs == ["1 ERROR number '9' outside range [1, 5]",
                    "2 ERROR count requires a value",
                    "3 ERROR invalid boolean 'maybe'",
                    "4 ERROR name requires a value",
                    "5 ERROR number '0.0000001' has too many decimal places"]


def test_a_deprecated_spelling_is_reported_then_read_as_the_keyword() -> None:
    b, msgs, _ = read([line(7, "old_count", "2")])
    assert b.values == {"count": 2}
    assert msgs == ["7 WARNING old_count is deprecated - please use 'count'"]


def test_an_unsupported_row_is_an_unknown_keyword() -> None:
    b, msgs, _ = read([line(1, "gone"), line(2, "nonsense", "1")])
    assert b.values == {}
    assert msgs == ["1 ERROR Unknown keyword 'gone'", "2 ERROR Unknown keyword 'nonsense'"]


@pytest.mark.parametrize(("braces", "expected"), [
    ("rows", ["1 ERROR Unexpected '{' - ignoring", "3 ERROR Unknown keyword 'bogus'"]),
    ("all", ["1 ERROR Unexpected '{' - ignoring", "3 ERROR Unexpected '{' - ignoring",
             "3 ERROR Unknown keyword 'bogus'"]),
    ("none", ["3 ERROR Unknown keyword 'bogus'"]),
])
def test_stray_blocks_are_reported_as_the_block_kind_says(braces: str, expected: list[str]
                                                           ) -> None:
    b, msgs, _ = read([line(1, "count", "2", block=True), line(2, "quiet", block=True),
                       line(3, "bogus", block=True), line(5, "sub", block=True)], braces)
    assert msgs == expected
    assert b.values == {"count": 2} and b.seen == ["quiet", "sub"]


def test_a_number_with_a_stray_block_reads_as_one_without() -> None:
    """``run`` applies a plain number inline; with a block it goes through the reader."""
    _, fast, _ = read([line(1, "count", "8")])
    _, slow, _ = read([line(1, "count", "8", block=True)])
    assert slow == ["1 ERROR Unexpected '{' - ignoring", *fast]


def test_a_handler_can_abandon_its_block() -> None:
    b, _, done = read([line(1, "count", "1"), line(2, "stop"), line(3, "count", "2")])
    assert not done and b.values == {"count": 1}


def test_a_keyword_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Section("x", [Kw("a", Kind.FLAG), Kw("b", Kind.FLAG, synonyms=("a",))])


def test_an_irregular_kind_needs_a_handler() -> None:
    with pytest.raises(ValueError, match="needs a handler"):
        Section("x", [Kw("a", Kind.WORDS)])


def test_severity_of_a_deprecated_spelling_can_be_lowered() -> None:
    sec = Section("x", [Kw("a", Kind.FLAG, to="on", old=("b",), old_sev=Severity.INFO)],
                  model=Model, builder=Builder)
    st = ParseState(messages=[], env=FakeEnvironment(), config_id="")
    b = Builder()
    run(Parser(st), sec, [line(1, "b")], b)
    assert b.values == {"on": True}
    assert [_fmt(m) for m in st.messages] == ["1 INFO b is deprecated - please use 'a'"]
