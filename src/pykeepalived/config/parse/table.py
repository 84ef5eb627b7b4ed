"""Keyword tables: every keyword of a block is one ``Kw`` row of that block's ``Section``.

A row says what the keyword takes (its ``Kind`` and range), where the value goes (``to``: the
model field it fills, or an attribute of the block's builder), its synonyms and deprecated
spellings, its default, and its *status* here: whether the daemon acts on it (``ACTS``), only
on part of it (``PARTIAL``), accepts it without any effect (``NO_EFFECT``) or does not know it
(``UNSUPPORTED``: reported as an unknown keyword, as before). Every status but ``ACTS`` carries
its reason (``why``). Regular keywords are applied by the kind's reader; an irregular one names
the small function that applies it (``fn``). The same rows generate
``docs/configuration-reference.md`` (``reference.py``).

No keyword is silent: a line whose row does not act (``NO_EFFECT``) or acts only in part
(``PARTIAL``) gets a note against its line, ``KEYWORD is accepted but has no effect: WHY``,
added by the compiled handler itself (``_noted``), so every way a line reaches its row (``run``,
the top level, a block's own loop) reports it. ``-t`` prints the note (it does not change the
exit code: keepalived acts on these keywords, so its verdict is the file's) and the daemon logs it
at start and at each reload. A row whose handler reports what does not act itself, only when it
does not, says so with ``says=True``; the rows of a ``quiet`` section (the keywords inside a
block that has no effect as a whole, such as ``bfd_instance``) are covered by the note of the
line that opens the block.

Declaring keywords (rows of the tables in the block modules)::

    Kw("priority", Kind.INT, to="priority", lo=1, hi=255, default="100 (255 with state MASTER)")
    Kw("lb_kind", Kind.ENUM, fn=_lb_kind, to="lb_kind", synonyms=("lvs_method",), syntax=TUN)
    Kw("retry", Kind.INT, to="retry", lo=0, hi=I32, old=("nb_get_retry",))
    Kw("vrf", Kind.STR, fn=_vrf, to="vrf", status=Status.NO_EFFECT,
       why="sockets are not bound to the VRF")

and a block: ``Section("vrrp_instance", rows, model=VrrpInstance, builder=InstanceBuilder)``,
read with ``run(p, section, lines, builder)`` (or ``run_block`` from the block's keyword line).
Changing what a keyword does is changing its row: its status and reason, its handler.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pykeepalived.config.model import Severity
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.tree import Node
from pykeepalived.config.values import parse_float, parse_int

Apply = Callable[[Parser, Node, Any], None]


class Status(enum.Enum):
    ACTS = "acts"
    PARTIAL = "acts in part"
    NO_EFFECT = "accepted without effect"
    UNSUPPORTED = "not supported"


class Kind(enum.Enum):
    """What a keyword takes. The regular kinds are applied by ``_READERS``; the others name a
    grammar (for the reference) and need ``fn``."""

    INT = "integer"
    TIMER = "seconds"
    BOOL = "boolean (optional; no argument = on)"
    STR = "word"
    FLAG = "no argument"
    SCRIPT = "script"
    RAW = "kept as given"
    IGNORE = "anything (ignored)"
    ENUM = "one of"
    ADDRESS = "address"
    WORDS = "arguments"
    BLOCK = "block"
    LINES = "block of lines"


class StopBlock(Exception):
    """Raised by a handler to abandon the rest of its block (keepalived drops such a block)."""


@dataclass(frozen=True)
class Kw:
    """One keyword of one block (see the module docstring)."""

    name: str
    kind: Kind
    to: str = ""  # model field or builder attribute it fills ("" = stores nothing)
    lo: float = 0  # INT / TIMER range
    hi: float = 0
    choices: tuple[str, ...] = ()
    syntax: str = ""  # the argument grammar, when the kind alone does not say it
    default: str = ""  # the default for the reference ("" = the model field's default)
    synonyms: tuple[str, ...] = ()  # other spellings, silently the same
    old: tuple[str, ...] = ()  # deprecated spellings: reported (old_sev), then the same
    old_sev: Severity | None = Severity.WARNING  # None: fn reports them itself
    const: Any = True  # FLAG: the value stored
    missing: str = "error"  # STR without an argument: error, ignore, unknown or empty ("")
    status: Status = Status.ACTS
    why: str = ""  # what does not act, for every status but ACTS
    ours: str = ""  # where pykeepalived accepts more than keepalived 2.4.3 (and how)
    fn: Apply | None = None  # the handler of an irregular keyword
    brace_check: bool = True  # False: a stray block after it goes unreported (keepalived's way)
    says: bool = False  # the handler itself reports the part that does not act, when used

    @property
    def block(self) -> bool:
        return self.kind in (Kind.BLOCK, Kind.LINES)

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms, *self.old)

    def note(self, kw: str) -> str | None:
        """The note a line of this keyword (spelt ``kw``) gets, when it does not fully act."""
        if self.says or not self.why:
            return None
        if self.status is Status.NO_EFFECT:
            return f"{kw} is accepted but has no effect: {self.why}"
        if self.status is Status.PARTIAL:
            return f"{kw} only partly takes effect: {self.why}"
        return None


class Entry:
    """A row compiled for dispatch: its handler, whether a stray block is reported first and,
    for a plain number stored in ``values``, (reader, lo, hi, field) for ``run`` to apply
    without a call (what the reader would do for a line with a value and no block)."""

    __slots__ = ("apply", "braces", "number", "row")

    def __init__(self, row: Kw, apply: Apply, braces: bool,
                 number: tuple[Callable[..., Any], Any, Any, str] | None = None) -> None:
        self.row = row
        self.apply = apply
        self.braces = braces
        self.number = number


class Section:
    """The keywords of one block.

    ``path`` is keepalived's: block keywords from the top, ``/``-separated
    (``virtual_server/real_server/HTTP_GET``; ``""`` = top level); ``aliases`` are other paths
    the same block is reached by (``vrrp_track_file``). ``braces`` says which lines get a stray
    ``{`` reported before they are applied, as keepalived's handlers do: ``"all"`` (every line
    that is not a block keyword, unknown ones too), ``"rows"`` (known non-block keywords) or
    ``"none"``. ``rename_old``: a deprecated spelling is read as the current keyword from then
    on (its messages name the current keyword). ``model`` and ``builder`` are what ``to``
    names are checked against. ``quiet``: the block as a whole has no effect and the line that
    opens it says so; its own lines get no note of their own.
    """

    def __init__(self, path: str, rows: Iterable[Kw], *, model: type | None = None,
                 builder: type | None = None, braces: str = "rows", rename_old: bool = False,
                 aliases: Sequence[str] = (), title: str = "", quiet: bool = False) -> None:
        self.path = path
        self.rows = tuple(rows)
        self.model = model
        self.builder = builder
        self.aliases = tuple(aliases)
        self.title = title or path or "top level"
        self.check_unknown = braces == "all"
        self.rename_old = rename_old
        self.quiet = quiet
        attrs = _attributes(builder)
        self.dispatch: dict[str, Entry] = {}
        declared: set[str] = set()
        for row in self.rows:
            names = row.names()
            if declared.intersection(names) or len(set(names)) != len(names):
                raise ValueError(f"{path}: keyword {row.name} declared twice")
            declared.update(names)
            if row.status is Status.UNSUPPORTED:
                continue
            braces_first = braces != "none" and not row.block and row.brace_check
            apply = _compile(row, row.to in attrs)
            noted = not quiet and row.note(row.name) is not None
            if noted:
                apply = _noted(row, apply)
            number: tuple[Callable[..., Any], Any, Any, str] | None = None
            if row.fn is None and row.to and row.to not in attrs and braces_first and not noted:
                if row.kind is Kind.INT:
                    number = (parse_int, int(row.lo), int(row.hi), row.to)
                elif row.kind is Kind.TIMER:
                    number = (parse_float, row.lo, row.hi, row.to)
            for name in (row.name, *row.synonyms):
                self.dispatch[name] = Entry(row, apply, braces_first, number)
            for name in row.old:
                self.dispatch[name] = Entry(row, self._old(row, apply), braces_first)

    def _old(self, row: Kw, apply: Apply) -> Apply:
        sev, rename = row.old_sev, self.rename_old

        def old(p: Parser, n: Node, b: Any) -> None:
            if sev is not None:
                p.rep(f"{n.kw} is deprecated - please use '{row.name}'", sev)
                if rename:
                    n = Node(n.file, n.line, (row.name, *n.args), None)
            apply(p, n, b)
        return old

    def row(self, name: str) -> Kw | None:
        return next((r for r in self.rows if name in r.names()), None)


def run(p: Parser, sec: Section, nodes: Sequence[Node], b: Any) -> bool:
    """Apply each line of a block through the section's table. False when a handler
    abandoned the block (``StopBlock``)."""
    get = sec.dispatch.get
    check_unknown = sec.check_unknown
    try:
        for c in nodes:
            p.node = c
            e = get(c.kw)
            if e is None:
                if check_unknown and c.children is not None:
                    p.no_block(c)
                p.unknown(c)
                continue
            num = e.number
            if num is not None and c.children is None and c.args:
                # the usual line of generated configs (retry 3, delay_loop 10, ...), inline
                v = num[0](c.args[0], num[1], num[2], p.rep)
                if v is not None:
                    b.values[num[3]] = v
                continue
            if e.braces and c.children is not None:
                p.no_block(c)
            e.apply(p, c, b)
    except StopBlock:
        return False
    return True


def run_block(p: Parser, n: Node, sec: Section, b: Any) -> bool:
    """The block of keyword line ``n`` through ``sec``; False when it has none (reported as
    keepalived does) or a handler abandoned it."""
    body = p.need_block(n)
    if body is None:
        return False
    return run(p, sec, body, b)


def _attributes(builder: type | None) -> frozenset[str]:
    if builder is None or not dataclasses.is_dataclass(builder):
        return frozenset()
    return frozenset(f.name for f in dataclasses.fields(builder)) - {"values"}


# ---------------------------------------------------------------- the regular kinds' readers


def _compile(row: Kw, attr: bool) -> Apply:
    if row.fn is not None:
        return row.fn
    reader = _READERS.get(row.kind)
    if reader is None:
        raise ValueError(f"keyword {row.name}: kind {row.kind.name} needs a handler (fn)")
    return reader(row, attr)


def _noted(row: Kw, apply: Apply) -> Apply:
    """``apply`` preceded by the row's note against the line (spelt as the line spells it)."""
    def noted(p: Parser, n: Node, b: Any) -> None:
        text = row.note(n.kw)
        if text is not None:
            p.at(n, text, Severity.INFO)
        apply(p, n, b)
    return noted


def _number(row: Kw, attr: bool) -> Apply:
    """INT and TIMER (``Parser.int_arg`` / ``timer_arg``, inline: generated configs hold
    hundreds of thousands of these lines)."""
    to = row.to
    parse: Callable[..., Any] = parse_int if row.kind is Kind.INT else parse_float
    lo: float = int(row.lo) if row.kind is Kind.INT else row.lo
    hi: float = int(row.hi) if row.kind is Kind.INT else row.hi

    def apply(p: Parser, n: Node, b: Any) -> None:
        a = n.args
        if not a:
            p.rep(f"{n.kw} requires a value")
            return
        v = parse(a[0], lo, hi, p.rep)
        if v is not None and to:
            if attr:
                setattr(b, to, v)
            else:
                b.values[to] = v
    return apply


def _bool(row: Kw, attr: bool) -> Apply:
    to = row.to

    def apply(p: Parser, n: Node, b: Any) -> None:
        v = p.bool_arg(n)
        if v is not None:
            if attr:
                setattr(b, to, v)
            else:
                b.values[to] = v
    return apply


def _str(row: Kw, attr: bool) -> Apply:
    to, missing = row.to, row.missing

    def apply(p: Parser, n: Node, b: Any) -> None:
        if n.args:
            v = n.args[0]
        elif missing == "error":
            p.rep(f"{n.kw} requires a value")
            return
        elif missing == "unknown":
            p.unknown(n)
            return
        elif missing == "empty":
            v = ""
        else:
            return
        if to:
            if attr:
                setattr(b, to, v)
            else:
                b.values[to] = v
    return apply


def _flag(row: Kw, attr: bool) -> Apply:
    to, const = row.to, row.const

    def apply(p: Parser, n: Node, b: Any) -> None:
        if to:
            if attr:
                setattr(b, to, const)
            else:
                b.values[to] = const
    return apply


def _script(row: Kw, attr: bool) -> Apply:
    to = row.to

    def apply(p: Parser, n: Node, b: Any) -> None:
        s = p.script_arg(n)
        if s is not None:
            b.values[to] = s
    return apply


def _raw(row: Kw, attr: bool) -> Apply:
    to = row.to

    def apply(p: Parser, n: Node, b: Any) -> None:
        getattr(b, to).append((n.kw, tuple(n.args)))
    return apply


def _ignore(row: Kw, attr: bool) -> Apply:
    def apply(p: Parser, n: Node, b: Any) -> None:
        return None
    return apply


_READERS: dict[Kind, Callable[[Kw, bool], Apply]] = {
    Kind.INT: _number, Kind.TIMER: _number, Kind.BOOL: _bool, Kind.STR: _str, Kind.FLAG: _flag,
    Kind.SCRIPT: _script, Kind.RAW: _raw, Kind.IGNORE: _ignore,
}


# ---------------------------------------------------------------- shared irregular handlers


def weight_reverse(lo: int, hi: int) -> Apply:
    """``weight N [reverse]`` of a tracked object: ``weight`` and ``weight_reverse``."""
    def apply(p: Parser, n: Node, b: Any) -> None:
        w = p.int_arg(n, lo, hi)
        if w is not None:
            b.values["weight"] = w
            b.values["weight_reverse"] = len(n.args) > 1 and n.args[1] == "reverse"
    return apply
