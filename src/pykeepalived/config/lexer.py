"""keepalived.conf at the line level: includes, @conditionals, $parameters, ~SEQ/~LST,
comments, quoting and braces, producing a flat list of statements for the block parser.

Order of work per physical line (as keepalived's lib/parser does): multi-line parameter
collection, comment removal, include detection (before @ and $, so an include line can use
neither), ``@ID`` conditionals, ``$NAME=`` definitions, ``~SEQ``/``~LST`` repetition, parameter
substitution (recursive, lazy), then tokenising with braces split off as statements of their own.
File access goes through the ``Files`` protocol so the lexer itself stays testable without disk.
"""

from __future__ import annotations

import enum
import functools
import os
import random
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from pykeepalived.config.files import Files, FileStream, MemoryFiles, Unreadable
from pykeepalived.config.messages import MessageLog
from pykeepalived.config.model import ConfigMessage, Severity

MAXBUF = 1024
MAX_INCLUDE_DEPTH = 32
MAX_EXPANSION_DEPTH = 64
MAX_STATEMENTS = 2_000_000
MAX_SEQ_ITERATIONS = 250_000
MAX_EXPANDED_LINES = 1_000_000
# what one load may read in all, each include counted every time it is read: an include
# fan-out (a file including the next one twice, 32 levels deep) is 2**32 reads otherwise
MAX_LOAD_BYTES = 256 << 20
MAX_FILE_READS = 10_000

# the lexer hands a streaming consumer its statements in batches of about this many
FLUSH_STATEMENTS = 4096
# at least this many consecutive one-word lines are one Run statement (when asked for)
MIN_RUN = 64

__all__ = ["Files", "Item", "Lexer", "MemoryFiles", "Run", "Shared", "Stmt", "lex_file",
           "lex_text"]


class Stmt(NamedTuple):
    """One logical statement: a keyword with its arguments, or a lone ``{`` / ``}``.

    A NamedTuple rather than a dataclass: generated configs produce hundreds of thousands.
    """

    file: str
    line: int
    tokens: tuple[str, ...]

    @property
    def keyword(self) -> str:
        return self.tokens[0] if self.tokens else ""


class Shared(Stmt):
    """A statement the lexer may hand out again (a line that a ~SEQ or a multi-line
    parameter repeats): the block tree makes one leaf node for all its repeats. Every other
    statement is handed out once."""

    __slots__ = ()


class Run(NamedTuple):
    """``lines`` consecutive lines of one word each, from ``line`` on: ``text`` is the lines
    as they were read (the words are ``text.split()``). Made only for a consumer that asks
    for runs (a 300 000-address ``virtual_ipaddress`` block is a few runs, not 300 000
    statements); ``tokens`` is empty so that it is never taken for a one-token statement."""

    file: str
    line: int
    tokens: tuple[str, ...]
    text: str
    lines: int


Item = Stmt | Run

# a Stmt built without NamedTuple's Python-level __new__ (hundreds of thousands of them)
_new_stmt = tuple.__new__
_OPEN = ("{",)
_CLOSE = ("}",)


class _Discard(list[str]):
    """The expanded text when nobody wants it (``-t``): lines go nowhere."""

    def append(self, line: str) -> None:
        pass

    def extend(self, lines: object) -> None:
        pass


# ----------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=4096)
def strip_comment(line: str) -> str:
    """Cut at the first ``#`` or ``!`` outside quotes (an escaped one stays literal)."""
    if "#" not in line and "!" not in line:
        return line
    if '"' not in line and "'" not in line and "\\" not in line:
        cut = min(i for i in (line.find("#"), line.find("!")) if i >= 0)
        return line[:cut]
    quote = ""
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "#!":
            return line[:i]
        i += 1
    return line


_ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
            "v": "\v"}


def _unescape_at(s: str, i: int) -> tuple[str, int]:
    """Decode the escape starting at s[i] == '\\' inside quotes; return (text, next index)."""
    if i + 1 >= len(s):
        return "\\", i + 1
    c = s[i + 1]
    if c in _ESCAPES:
        return _ESCAPES[c], i + 2
    if c in "01234567":
        m = re.match(r"[0-7]{1,3}", s[i + 1:])
        assert m is not None
        return chr(int(m.group(0), 8) & 0xFF), i + 1 + len(m.group(0))
    if c == "x":
        m = re.match(r"[0-9a-fA-F]{1,2}", s[i + 2:])
        if m:
            return chr(int(m.group(0), 16)), i + 2 + len(m.group(0))
        return "x", i + 2
    if c == "c" and i + 2 < len(s):
        return chr(ord(s[i + 2].upper()) ^ 0x40), i + 3
    return c, i + 2


@functools.lru_cache(maxsize=4096)
def tokenize(line: str) -> tuple[tuple[tuple[str, ...], ...], bool]:
    """Split a comment-free line into statements of tokens; braces become their own statements.

    Returns (statements, unmatched_quote). Cached: big generated configs repeat lines a lot.
    """
    if '"' not in line and "'" not in line and "\\" not in line:
        if "{" not in line and "}" not in line:
            words = tuple(line.split())
            return ((words,) if words else ()), False
        out: list[tuple[str, ...]] = []
        for part in _BRACE_SPLIT.split(line):
            if part in ("{", "}"):
                out.append((part,))
            else:
                w = tuple(part.split())
                if w:
                    out.append(w)
        return tuple(out), False
    stmts, unmatched = _tokenize_slow(line)
    return tuple(tuple(x) for x in stmts), unmatched


def _brace_line(add: Callable[[Stmt], None], s: str, name: str, lineno: int) -> None:
    """The statements of plain line ``s`` (stripped; no quote, escape or comment) that holds a
    brace, as ``tokenize`` makes them: a lone ``}`` and a block head ``keyword args {`` (the
    usual ones) without it."""
    if s == "}":
        add(_new_stmt(Stmt, (name, lineno, _CLOSE)))
    elif s[-1] == "{" and s.count("{") == 1 and "}" not in s:
        toks = s[:-1].split()
        if toks:
            add(_new_stmt(Stmt, (name, lineno, tuple(toks))))
        add(_new_stmt(Stmt, (name, lineno, _OPEN)))
    else:
        for words in tokenize(s)[0]:
            add(_new_stmt(Stmt, (name, lineno, words)))


def _tokenize_slow(line: str) -> tuple[list[list[str]], bool]:
    stmts: list[list[str]] = []
    cur: list[str] = []
    tok: list[str] = []
    in_tok = False
    quote = ""
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == quote:
                quote = ""
                i += 1
            elif c == "\\":
                text, i = _unescape_at(line, i)
                tok.append(text)
            else:
                tok.append(c)
                i += 1
            continue
        if c in " \t\r\n\v\f":
            if in_tok:
                cur.append("".join(tok))
                tok, in_tok = [], False
            i += 1
        elif c in "\"'":
            quote = c
            in_tok = True
            i += 1
        elif c in "{}":
            if in_tok:
                cur.append("".join(tok))
                tok, in_tok = [], False
            if cur:
                stmts.append(cur)
            stmts.append([c])
            cur = []
            i += 1
        elif c == "\\" and i + 1 < n and line[i + 1] in "#!":
            tok.append(line[i + 1])
            in_tok = True
            i += 2
        else:
            tok.append(c)
            in_tok = True
            i += 1
    if in_tok:
        cur.append("".join(tok))
    if cur:
        stmts.append(cur)
    return stmts, bool(quote)


def expand_braces(pattern: str) -> list[str]:
    """csh-style ``{a,b}`` expansion (nested allowed); no braces -> [pattern]."""
    depth = 0
    start = -1
    for i, c in enumerate(pattern):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                parts = _split_top_commas(pattern[start + 1:i])
                if len(parts) == 1:
                    continue
                out: list[str] = []
                for p in parts:
                    out.extend(expand_braces(pattern[:start] + p + pattern[i + 1:]))
                return out
    return [pattern]


_BRACE_SPLIT = re.compile(r"([{}])")
# the start of every line the lexer must look at: one that may be too long (a UTF-8 character
# is at most 4 bytes: _LINE_WIDE for text that is not ASCII), or whose first character is
# neither blank, a comment nor a NUL, or a comment holding a '\' (it may end the line)
_LINE_ALTS = r"[ \t\r\f\v]*(?:[^ \t\r\f\v\n#!\0]|[#!][^\n]*\\)"
_LINE = re.compile(rf"^(?:[^\n]{{{MAXBUF}}}|{_LINE_ALTS})[^\n]*", re.M)
_LINE_WIDE = re.compile(rf"^(?:[^\n]{{{MAXBUF // 4}}}|{_LINE_ALTS})[^\n]*", re.M)
_NOT_PLAIN = re.compile(r"[$#!\"'\\]")
# a character that needs the line level, wherever it is in a line (see _region)
_SPECIAL = re.compile(r"[$#!\"'\\\0]")
REGION_CHARS = 1 << 16  # the text a region is made of at most
# consecutive lines of one word each that the line level leaves alone: no comment, quote,
# escape, parameter, conditional, sequence, brace or NUL, ASCII, far below MAXBUF
_WORD = r"[%&()*+,\-./0-9:;<=>?A-Z\[\]^_`a-z|]"
# (possessive: the engine keeps no state per line, so a run costs neither time nor memory)
_RUN = re.compile(rf"(?:[ \t]{{0,512}}+{_WORD}{{1,255}}+[ \t\r\f\v]{{0,255}}+\n)++")
_PARAM_DEF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_PARAM_BRACED = re.compile(r"\$\{([^{}]*)\}")
_PARAM_BARE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_])")
_INCLUDES = ("include", "includer", "includem", "includew", "includeb", "includea")
_REPROCESS = frozenset("@$~")
# first characters that may make _settle do more than strip ("" too: an empty result)
_SETTLE_HEADS = frozenset(("@", "$", "~", "i", ""))
_CHECK_BITS = {"read": "r", "match": "m", "wildcard_match": "w", "brace_match": "b"}


# a line as its literal pieces (a reference's slot holds "") and its references, each as
# (slot, name, (lo, n, bits) for ${_RANDOM lo hi}: lo + a draw in [0, n) of ``bits`` bits)
_Ref = tuple[int, str, tuple[int, int, int] | None]
_Template = tuple[tuple[str, ...], tuple[_Ref, ...]]


@functools.lru_cache(maxsize=4096)
def _template(line: str) -> _Template | None:
    """``line`` as literals and references when one substitution pass over it is all there
    is to do, else None (then the regex passes run). Needs every ``$`` of the literal text to
    start a bare reference that ends inside that text (a reference right before a ``${..}``
    could run on into its value); values are checked when the template is filled."""
    parts: list[str] = []
    refs: list[_Ref] = []
    pos = 0
    matches = list(_PARAM_BRACED.finditer(line))
    for i in range(len(matches) + 1):
        end = matches[i].start() if i < len(matches) else len(line)
        lit = line[pos:end]
        last = i == len(matches)
        at = 0
        for bm in _PARAM_BARE.finditer(lit):
            if "$" in lit[at:bm.start()] or (bm.end() == len(lit) and not last):
                return None
            if bm.start() > at:
                parts.append(lit[at:bm.start()])
            refs.append((len(parts), bm.group(1), None))
            parts.append("")
            at = bm.end()
        if "$" in lit[at:]:
            return None
        if at < len(lit):
            parts.append(lit[at:])
        if not last:
            body = matches[i].group(1)
            name, args = _builtin_call(body)
            draw = None
            if name == "_RANDOM" and args is not None:
                n = args[1] - args[0] + 1
                draw = (args[0], n, n.bit_length())
            refs.append((len(parts), body, draw))
            parts.append("")
            pos = matches[i].end()
    return tuple(parts), tuple(refs)


class _Kind(enum.Enum):
    PLAIN = 0  # tokenise only
    SUBSTITUTE = 1  # parameters to substitute, nothing else
    OTHER = 2  # definition, conditional, sequence or include: the whole line treatment


@functools.lru_cache(maxsize=256)
def _value_lines(text: str) -> tuple[tuple[str, _Kind, _Template | None], ...]:
    """A multi-line parameter value's lines, comment-free and stripped, blank ones dropped,
    each with what it needs and, to substitute, its template (a ~SEQ expands the same value
    thousands of times)."""
    out: list[tuple[str, _Kind, _Template | None]] = []
    for raw in text.split("\n"):
        line = (strip_comment(raw) if "#" in raw or "!" in raw else raw).strip()
        if not line:
            continue
        if line[0] in "@$~" or line.startswith("include"):
            out.append((line, _Kind.OTHER, None))
        elif "$" in line:
            out.append((line, _Kind.SUBSTITUTE, _template(line)))
        else:
            out.append((line, _Kind.PLAIN, None))
    return tuple(out)


class _Block(NamedTuple):
    """A multi-line value whose lines can all be filled in one pass: one template over the
    whole text, and per line the statements made once when it has nothing to substitute."""

    template: _Template
    plain: tuple[bool, ...]  # per line: nothing to substitute in it


@functools.lru_cache(maxsize=256)
def _block(text: str) -> _Block | None:
    """``text``'s lines as one template when filling them line by line could only ever give
    lines that need no second look: none is a definition, conditional, sequence or include,
    none begins with a reference (its first word could become one) and an ``i`` line's
    first word is literal, none holds a (quoted) comment character. Values are checked when
    the template is filled (``_fill``)."""
    lines = _value_lines(text)
    if not lines:
        return None
    parts: list[str] = []
    refs: list[_Ref] = []
    plain: list[bool] = []
    for i, (line, kind, tpl) in enumerate(lines):
        sep = "\n" if i else ""
        if kind is _Kind.PLAIN:
            parts.append(sep + line)
            plain.append(True)
            continue
        if kind is not _Kind.SUBSTITUTE or tpl is None or "#" in line or "!" in line:
            return None  # (a quoted or escaped '#' is looked at again once filled)
        lparts, lrefs = tpl
        if not lrefs or lrefs[0][0] == 0:
            return None
        if line[0] == "i" and not any(c.isspace() for c in lparts[0]):
            return None
        base = len(parts)
        parts.append(sep + lparts[0])
        parts.extend(lparts[1:])
        refs.extend((base + slot, name, draw) for slot, name, draw in lrefs)
        plain.append(False)
    return _Block((tuple(parts), tuple(refs)), tuple(plain))


@functools.lru_cache(maxsize=1024)
def _builtin_call(body: str) -> tuple[str, tuple[int, int] | None]:
    """``${_NAME args}`` split once per distinct text (generated configs repeat them): the
    name and, for _RANDOM, its (lo, hi) or None when they are not numbers."""
    parts = body.split()
    if not parts:
        return "", None
    name = parts[0]
    if name == "_RANDOM":
        try:
            lo = int(parts[1]) if len(parts) > 1 else 0
            hi = int(parts[2]) if len(parts) > 2 else 32767
        except ValueError:
            return name, None
        return name, (min(lo, hi), max(lo, hi))
    return name, None


@dataclass
class _Ctx:
    file: str
    line: int


@dataclass
class Lexer:
    """Turns a keepalived.conf (with its includes) into statements plus messages."""

    config_id: str
    files: Files = field(default_factory=Files)
    all_config: bool = False
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    seed: int | None = None
    messages: list[ConfigMessage] = field(default_factory=MessageLog)
    stmts: list[Item] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    expanded: list[str] = field(default_factory=list)
    include_check: frozenset[str] = frozenset()
    # streaming: ``sink`` takes the statements in batches (``stmts`` is then only the batch
    # being made); ``runs``: make Run statements (the sink must know them); ``keep_text``:
    # False when nobody wants the expanded text
    sink: Callable[[list[Item]], None] | None = None
    runs: bool = False
    keep_text: bool = True
    _flushed: int = 0  # statements already handed to the sink
    _limit: int = 0  # how many more ``stmts`` may hold (MAX_STATEMENTS in all)
    _rng: random.Random = field(default_factory=random.Random)
    _depth: int = 0
    _too_many: bool = False
    _seq_iterations: int = 0
    _expanded_lines: int = 0
    _too_deep: set[tuple[str, int]] = field(default_factory=set)
    _sub_path: str = ""
    _memo_ctx: _Ctx | None = None
    _memo: dict[str, tuple[Stmt, ...]] = field(default_factory=dict)
    _reading: list[Hashable] = field(default_factory=list)  # the files being read (cycles)
    _bytes_read: int = 0
    _file_reads: int = 0

    def __post_init__(self) -> None:
        self._limit = MAX_STATEMENTS
        if not self.keep_text:
            self.expanded = _Discard()

    @property
    def statement_count(self) -> int:
        """Statements made so far (Run statements counted by their lines)."""
        return self._flushed + sum(s.lines if type(s) is Run else 1 for s in self.stmts)

    def flush(self) -> None:
        """Hand the statements made so far to the sink (if there is one)."""
        stmts = self.stmts
        if self.sink is not None and stmts:
            # (each Run took its lines but one off _limit: no need to look at every statement)
            made = len(stmts) + (MAX_STATEMENTS - self._flushed - self._limit)
            self.sink(stmts)
            stmts.clear()
            self._flushed += made
            self._limit = MAX_STATEMENTS - self._flushed

    # -- messages
    def report(self, ctx: _Ctx | None, text: str, sev: Severity = Severity.ERROR) -> None:
        if ctx is None:
            self.messages.append(ConfigMessage("", 0, sev, text))
        else:
            self.messages.append(ConfigMessage(ctx.file, ctx.line, sev, text))

    # -- entry
    def run_file(self, path: str) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)
        got = self.files.stream(path)
        if isinstance(got, Unreadable):
            self.report(None, f"Configuration file '{path}' {got.why}", Severity.FATAL)
            return
        self._run_stream(got, path, path, None)
        self.flush()

    def run_text(self, text: str, filename: str) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)
        self._run_stream(FileStream.of_text(text, self.files.key(filename)), filename,
                         filename, None)
        self.flush()

    def _run_stream(self, got: FileStream, path: str, name: str, ctx: _Ctx | None) -> None:
        """Read one file, unless that would close an include cycle or go over what one load
        may read in all (``ctx``: the include line, None for the top file). A read that
        fails part way is fatal: the configuration would be cut."""
        try:
            if got.key is not None and got.key in self._reading:
                self.report(ctx, f"Configuration file '{path}' is already being read (an "
                            "include cycle) - skipping")
                return
            self._bytes_read += got.size
            if self._bytes_read > MAX_LOAD_BYTES:
                self._stop(ctx, f"more than {MAX_LOAD_BYTES >> 20} MiB read in all")
                return
            self._reading.append(got.key)
            try:
                self._run_pieces(got, path, name)
            finally:
                self._reading.pop()
            if got.error is not None:
                tail = "" if ctx is None else " - stopping"
                self.report(ctx, f"Configuration file '{path}' {got.error.why}{tail}",
                            Severity.FATAL)
                self._too_many = True
        finally:
            got.close()

    def _stop(self, ctx: _Ctx | None, why: str) -> None:
        """A bound on the whole load was reached: stop reading, fatally (never a silent cut)."""
        if not self._too_many:
            self._too_many = True
            self.report(ctx, f"Configuration too large: {why} (includes counted each time "
                        "they are read) - stopping", Severity.FATAL)

    def _run_pieces(self, pieces: Iterable[str], path: str, name: str) -> None:
        """One file's lines, a piece (whole lines) at a time. A multi-line definition that
        runs on past a piece is read again with the rest of the file as one piece."""
        # messages name a file as it was given (-f) or as its include line spelt it, relative
        # to the including file ("(sub/s.conf: Line 1)"), as keepalived does; ``path`` is
        # where it really is (${_PWD}, nested includes)
        saved_check = self.include_check
        lineno = 1
        it = iter(pieces)
        text = next(it, None)
        while text is not None and not self._too_many:
            following = next(it, None)
            lineno, cut = self._run_text(text, path, name, lineno, following is None)
            if cut is not None and following is not None:
                text = "".join([text[cut:], following, *it])
            else:
                text = following
        self.include_check = saved_check

    def _run_text(self, text: str, path: str, name: str, lineno: int = 1, last: bool = True
                  ) -> tuple[int, int | None]:
        """The lines of ``text`` (``lineno``: the number of its first line; ``last``: nothing
        of the file follows). Stretches of lines with nothing for the line level to do are
        made statements at once (``_region``); of the other lines, only those that can
        matter are visited: blank and comment lines are skipped by one regex scan
        (``_LINE``). Returns the number of the line after ``text`` and, when a multi-line
        definition runs on past ``text`` (not ``last``), where its line starts (with that
        line's number), for the caller to read again."""
        wide = not text.isascii()
        search = (_LINE_WIDE if wide else _LINE).search
        nul = "\0" in text  # a NUL ends a line's text, as in keepalived (C strings)
        pos = at = 0  # pos: where the next line starts (after a multi-line definition)
        n = len(text)
        while pos < n:
            if self._too_many:
                return lineno, None
            if not nul:
                lineno += text.count("\n", at, pos)
                pos, lineno = self._region(text, pos, name, lineno, wide)
                at = pos
                if len(self.stmts) >= FLUSH_STATEMENTS:
                    self.flush()
                if pos >= n or self._too_many:
                    break
            m = search(text, pos)
            if m is None:
                break
            start = m.start()
            lineno += text.count("\n", at, start)
            at = start
            raw = m.group()
            pos = m.end() + 1
            if len(self.stmts) >= FLUSH_STATEMENTS:
                self.flush()
            if nul:
                raw = raw.partition("\0")[0]
            raw = raw.rstrip("\r")
            if len(raw) * 4 >= MAXBUF and len(raw.encode("utf-8", errors="replace")) >= MAXBUF:
                self.report(_Ctx(name, lineno), f"Line too long (>= {MAXBUF} characters) - "
                            "ignoring")
                continue
            stripped = raw.strip()
            if not stripped or self._plain(stripped, name, lineno):
                continue
            if stripped[0] == "$" and (d := _PARAM_DEF.match(stripped)) and (
                    d.group(2).strip() == "" or d.group(2).rstrip().endswith("\\")):
                pos, value, done = _continuation(text, pos, d.group(2).rstrip(), nul)
                if not done and not last:
                    return lineno, start
                self._define_or_conditional(stripped, value, d.group(1), _Ctx(name, lineno),
                                            path)
            elif stripped[0] in "#!" and raw.rstrip().endswith("\\"):
                # keepalived 2.2.7 takes the trailing '\' of a comment line as a keyword
                self.report(_Ctx(name, lineno), "Unknown keyword '\\'")
            else:
                self._process_line(raw, _Ctx(name, lineno), path, 0)
        return lineno + text.count("\n", at), None

    def _region(self, text: str, pos: int, name: str, lineno: int, wide: bool
                ) -> tuple[int, int]:
        """The lines from ``pos`` (line ``lineno``) up to the first that needs the line
        level (a comment, quote, escape or parameter character anywhere, a conditional,
        sequence, include or random_seed at its start, a line that may be too long) or
        REGION_CHARS on: each made its statements as ``_plain`` would, one Python step a
        line. With ``runs``, consecutive one-word lines are a Run (``_RUN`` finds long ones
        without a step a line). Returns where it stopped (a line start) and that line's
        number."""
        n = len(text)
        stmts = self.stmts
        end = self._region_end(text, pos)
        if end <= pos:
            return pos, lineno
        maxlen = MAXBUF // 4 if wide else MAXBUF
        add, new = stmts.append, _new_stmt
        keep = self.keep_text
        add_text = self.expanded.append
        runs = self.runs
        streak: list[str] = []  # one-word lines, the first on streak_at
        streak_at = 0
        lines = text[pos:end].split("\n")
        if end < n or text.endswith("\n"):
            lines.pop()  # (the empty string after the last line end)
        off = pos
        i = 0
        while i < len(lines):
            raw = lines[i]
            s = raw.strip()
            if s:
                c0 = s[0]
                if c0 in "@~" or len(raw) >= maxlen or (c0 == "i" and s.startswith(
                        "include")) or (c0 == "r" and s.startswith("random_seed")):
                    break
                if keep:
                    add_text(s)
                if "{" in s or "}" in s:
                    if streak:
                        self._streak(streak, name, streak_at)
                        streak = []
                    _brace_line(add, s, name, lineno)
                else:
                    toks = s.split()
                    if len(toks) != 1:
                        if streak:
                            self._streak(streak, name, streak_at)
                            streak = []
                        add(new(Stmt, (name, lineno, tuple(toks))))
                    elif not runs:
                        add(new(Stmt, (name, lineno, (s,))))
                    else:
                        if not streak:
                            run = _RUN.match(text, off, end)
                            if run is not None and self._run(run.group(), name, lineno):
                                took = run.group().count("\n")
                                if keep:
                                    self.expanded.extend(x.strip()
                                                         for x in lines[i + 1:i + took])
                                i += took
                                off = run.end()
                                lineno += took
                                continue
                            streak_at = lineno
                        streak.append(s)
            elif streak:
                self._streak(streak, name, streak_at)
                streak = []
            off += len(raw) + 1
            lineno += 1
            i += 1
        if streak:
            self._streak(streak, name, streak_at)
        return off, lineno

    def _region_end(self, text: str, pos: int) -> int:
        """Where the region from ``pos`` ends: the start of the first line that needs the line
        level, or the last line end within REGION_CHARS (``pos`` itself: no region)."""
        # (a line makes at most one statement per character: the region stays within the
        # statements left, so that none of its lines can go over MAX_STATEMENTS)
        cap = pos + min(REGION_CHARS, self._limit - len(self.stmts))
        if cap <= pos:
            return pos
        special = _SPECIAL.search(text, pos, cap)
        if special is not None:
            return text.rfind("\n", pos, special.start()) + 1
        if cap >= len(text):
            return len(text)
        return text.rfind("\n", pos, cap) + 1

    def _streak(self, words: list[str], name: str, first: int) -> None:
        """Consecutive one-word lines of a region: a Run when long enough, else a statement
        each."""
        if len(words) >= MIN_RUN:
            self.stmts.append(_new_stmt(Run, (name, first, (), "\n".join(words) + "\n",
                                              len(words))))
            self._limit -= len(words) - 1
        else:
            self.stmts.extend(_new_stmt(Stmt, (name, first + k, (w,)))
                              for k, w in enumerate(words))

    def _run(self, text: str, name: str, lineno: int) -> bool:
        """Emit ``text``, consecutive one-word lines from line ``lineno`` on (``_RUN``), as
        one Run statement when there are enough of them and nothing in them is for the line
        level (an include or random_seed word); False, doing nothing, otherwise."""
        count = text.count("\n")
        if (count < MIN_RUN or count > self._limit - len(self.stmts) or "include" in text
                or "random_seed" in text):
            return False
        self.stmts.append(_new_stmt(Run, (name, lineno, (), text, count)))
        self._limit -= count - 1
        return True

    def _plain(self, line: str, name: str, lineno: int) -> bool:
        """Emit a stripped line that has nothing for the line level to do but split off its
        braces (no comment, quote, escape, parameter, conditional, sequence, include or
        ``random_seed``) as its statements, as _process_line would; False, doing nothing, for
        any other line."""
        c0 = line[0]
        if c0 in "@~$" or _NOT_PLAIN.search(line) is not None or (
                c0 == "i" and line.startswith("include")) or (
                c0 == "r" and line.startswith("random_seed")):
            return False
        self.expanded.append(line)
        stmts = self.stmts
        if "{" in line or "}" in line:
            stmts.extend(_new_stmt(Stmt, (name, lineno, toks)) for toks in tokenize(line)[0])
        else:
            toks = line.split()
            stmts.append(_new_stmt(Stmt, (name, lineno,
                                          (line,) if len(toks) == 1 else tuple(toks))))
        if len(stmts) > self._limit:
            self._too_many = True
            self.report(_Ctx(name, lineno), "Configuration too large - truncated",
                        Severity.FATAL)
        return True

    def _define_or_conditional(self, stripped: str, value: str, name: str, ctx: _Ctx,
                               path: str) -> None:
        del stripped, ctx, path
        self.params[name] = value

    # -- one logical line
    def _process_line(self, raw: str, ctx: _Ctx, path: str, depth: int) -> None:
        if depth > MAX_EXPANSION_DEPTH:
            if (ctx.file, ctx.line) not in self._too_deep:  # once per source line
                self._too_deep.add((ctx.file, ctx.line))
                self.report(ctx, "Parameter/sequence expansion too deep - ignoring line")
            return
        line = (strip_comment(raw) if "#" in raw or "!" in raw else raw).strip()
        if not line:
            return
        c0 = line[0]
        if c0 == "i" and line.startswith("include"):
            first = line.split(None, 1)[0]
            if first in _INCLUDES and depth == 0:
                self._include(line, ctx, path)
                return
            if first == "include_check":
                self._include_check(line.split()[1:], ctx)
                return
        if c0 == "@":
            cond, _, rest = line.partition(" ")
            if "\t" in cond:
                cond, _, rest2 = cond.partition("\t")
                rest = rest2 + " " + rest
            neg = cond.startswith("@^")
            ident = cond[2:] if neg else cond[1:]
            if not rest.strip():
                return
            if (ident == self.config_id) == neg:
                return
            line = rest.strip()
            c0 = line[:1]
        if c0 == "$":
            m = _PARAM_DEF.match(line)
            if m:
                self.params[m.group(1)] = m.group(2).strip()
                return
            if "=" in line.split(None, 1)[0]:
                # ${X} in a definition's name is expanded ($V_${I}=1 under ~SEQ); any other
                # malformed definition ($A$B=1) is neither defined nor expanded by keepalived
                name, _, value = line[1:].partition("=")
                name = _PARAM_BRACED.sub(lambda mm: self.params.get(mm.group(1), mm.group(0)),
                                         name)
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    self.params[name] = value.strip()
                    return
                self._emit(line, ctx)
                return
        if c0 == "~" and (line.startswith("~SEQ") or line.startswith("~LST")):
            self._sequence(line, ctx, path, depth)
            return
        if "$" in line:
            self._expand(line, ctx, path, depth)
            return
        self._emit(line, ctx)

    def _expand(self, line: str, ctx: _Ctx, path: str, depth: int) -> None:
        """A line with ``$`` in it: substitute, then emit it (or each line of a multi-line
        value, or process it again when the result is itself a definition, conditional,
        sequence or include)."""
        tpl = _template(line)
        expanded = self._fill(tpl) if tpl is not None else None
        if expanded is None and tpl is not None and len(tpl[0]) == 1:
            expanded = self._one_reference(tpl)
        if expanded is None:  # what _substitute does, one call less on the hot path
            expanded = self._substitute_re(line, ctx, path)
            if expanded is None:
                return
        if "\n" in expanded:
            self._expand_value(expanded, ctx, path, depth)
            return
        if expanded != line:
            settled = self._settle(expanded, ctx, path, depth)
            if settled is None:
                return
            expanded = settled
        self._emit(expanded, ctx)

    def _expand_value(self, expanded: str, ctx: _Ctx, path: str, depth: int) -> None:
        """A substitution that gave a multi-line value: each of its lines, as _process_line
        would do them, in one pass over the whole value when it can be (``_block``)."""
        self._expanded_lines += expanded.count("\n") + 1
        if self._expanded_lines > MAX_EXPANDED_LINES:
            # a definition that expands into itself more than once grows
            # exponentially with the depth: stop it like an oversized ~SEQ
            if not self._too_many:
                self._too_many = True
                self.report(ctx, "Parameter expansion exceeds "
                            f"{MAX_EXPANDED_LINES} lines - truncated", Severity.FATAL)
            return
        if depth + 1 > MAX_EXPANSION_DEPTH:
            for sub in expanded.split("\n"):
                self._process_line(sub, ctx, path, depth + 1)
            return
        block = _block(expanded)
        filled_block = self._fill(block.template, True) if block is not None else None
        if block is not None and filled_block is not None:
            self._emit_block(filled_block.split("\n"), block.plain, ctx,
                             len(filled_block))
            return
        self._expand_lines(expanded, ctx, path, depth)

    def _emit_block(self, lines: list[str], plain: tuple[bool, ...], ctx: _Ctx,
                    size: int) -> None:
        """A multi-line value filled in one pass (a ~SEQ repeats it thousands of times): what
        _expand_lines gives, as each line's fill is a plain rstrip'd line then. ``size``: the
        filled text's length, a bound on the statements it can make."""
        emit, stmts, add_line = self._emit, self.stmts, self.expanded.append
        if (ctx is self._memo_ctx and not self._too_many
                and len(stmts) + size <= self._limit):
            # a line makes at most one statement per character: no limit is near,
            # and _emit keeps this memo (same ctx)
            get = self._memo.get
            for done, is_plain in zip(lines, plain, strict=True):
                if not is_plain:
                    done = done.rstrip()
                made = get(done)
                if made is None:
                    emit(done, ctx)
                else:
                    add_line(done)
                    stmts.extend(made)
            return
        memo_ok = ctx is self._memo_ctx and not self._too_many
        memo = self._memo
        for done, is_plain in zip(lines, plain, strict=True):
            if not is_plain:
                done = done.rstrip()
            if memo_ok:
                made = memo.get(done)
                if made is not None and len(stmts) + len(made) <= self._limit:
                    add_line(done)
                    stmts.extend(made)
                    continue
            emit(done, ctx)
            memo_ok = ctx is self._memo_ctx and not self._too_many
            memo = self._memo

    def _expand_lines(self, expanded: str, ctx: _Ctx, path: str, depth: int) -> None:
        """A multi-line value line by line: what _process_line would do with each line,
        without its preamble; a line to substitute is filled from its template here when it
        can be (what _expand would do, as _fill draws nothing when it returns None)."""
        emit, fill, settle = self._emit, self._fill, self._settle
        stmts, add_line = self.stmts, self.expanded.append
        for sub, kind, tpl in _value_lines(expanded):
            if kind is _Kind.PLAIN:
                done = sub
            elif kind is _Kind.SUBSTITUTE:
                filled = fill(tpl) if tpl is not None else None
                if filled is None:
                    self._expand(sub, ctx, path, depth + 1)
                    continue
                if filled != sub:
                    head = filled[:1]
                    if (head in _SETTLE_HEADS or head.isspace() or "#" in filled
                            or "!" in filled):
                        filled = settle(filled, ctx, path, depth + 1)
                        if filled is None:
                            continue
                    else:  # what _settle would do: nothing to reprocess or uncomment
                        filled = filled.rstrip()
                done = filled
            else:
                self._process_line(sub, ctx, path, depth + 1)
                continue
            if ctx is self._memo_ctx and not self._too_many:
                # what _emit does with a line whose statements are already made
                made = self._memo.get(done)
                if made is not None and len(stmts) + len(made) <= self._limit:
                    add_line(done)
                    stmts.extend(made)
                    continue
            emit(done, ctx)

    def _settle(self, expanded: str, ctx: _Ctx, path: str, depth: int) -> str | None:
        """A one-line substitution result that differs from its line: the line to emit, or
        None when there is none or it went back through _process_line."""
        lead = expanded.lstrip()
        head = lead[:1]
        if head in _REPROCESS or (head == "i" and lead.split(None, 1)[0] in _INCLUDES):
            # a substituted value may itself be a definition, conditional or sequence
            self._process_line(expanded, ctx, path, depth + 1)
            return None
        # comments are looked for again after substitution (a value of ${_HASH}
        # comments out the rest of the line, as in keepalived)
        if "#" in expanded or "!" in expanded:
            expanded = strip_comment(expanded)
        expanded = expanded.strip()
        return expanded or None

    def _emit(self, line: str, ctx: _Ctx) -> None:
        if self._too_many:
            return
        self.expanded.append(line)
        out = self.stmts
        if ctx is not self._memo_ctx:
            # one source line (a ~SEQ, a multi-line parameter) can give thousands of equal
            # lines: their statements are made once and shared (a Stmt is immutable)
            self._memo_ctx = ctx
            self._memo = {}
        made = self._memo.get(line)
        if made is None:
            made = self._statements(line, ctx)
        out.extend(made)
        if len(out) > self._limit:
            self._too_many = True
            self.report(ctx, "Configuration too large - truncated", Severity.FATAL)
        elif len(out) >= FLUSH_STATEMENTS:
            self.flush()

    def _statements(self, line: str, ctx: _Ctx) -> tuple[Stmt, ...]:
        """Tokenise a line into statements (remembered for ``ctx`` unless it reseeds)."""
        stmts, unmatched = tokenize(line)
        if unmatched:
            # keepalived 2.2.7 reports the line and does not use it
            self.report(ctx, f"Unterminated quote '{line}'")
            return ()
        made = tuple(_new_stmt(Shared, (ctx.file, ctx.line, toks)) for toks in stmts)
        seeds = False
        for toks in stmts:
            if toks[0] == "random_seed" and len(toks) > 1 and toks[1].isdigit():
                # as in keepalived, global_defs' random_seed reseeds ${_RANDOM} from here on,
                # so a config that sets it expands the same way every time
                self._rng.seed(int(toks[1]))
                seeds = True
        if not seeds:
            self._memo[line] = made
        return made

    # -- parameters
    def _draw(self, n: int) -> int:
        """randint's draw in [0, n) without its Python-level wrappers (same sequence)."""
        k = n.bit_length()
        draw = self._rng.getrandbits
        r = draw(k)
        while r >= n:
            r = draw(k)
        return r

    def _builtin(self, body: str, path: str) -> str | None:
        name, args = _builtin_call(body)
        if name == "_RANDOM":
            if args is None:
                return None
            lo, hi = args
            return str(lo + self._draw(hi - lo + 1))
        if name == "_PWD":
            return os.path.dirname(os.path.abspath(path))
        if name == "_INSTANCE":
            return self.config_id
        if name == "_HASH":
            return "#"
        if name == "_BANG":
            return "!"
        if name == "_ENV":
            parts = body.split()
            return self.env.get(parts[1], "") if len(parts) > 1 else ""
        return None

    def _braced(self, m: re.Match[str]) -> str:
        body = m.group(1)
        v = self.params.get(body)
        if v is not None:
            return v
        b = self._builtin(body, self._sub_path)
        return m.group(0) if b is None else b

    def _bare(self, m: re.Match[str]) -> str:
        return self.params.get(m.group(1), m.group(0))

    def _substitute(self, line: str, ctx: _Ctx, path: str) -> str | None:
        tpl = _template(line)
        if tpl is not None:
            out = self._fill(tpl)
            if out is not None:
                return out
        return self._substitute_re(line, ctx, path)

    def _fill(self, tpl: _Template, whole_value: bool = False) -> str | None:
        """The one-pass result of a line's template, when that is provably what the regex
        passes would give (every value free of ``$`` and newlines, every reference known);
        None, before any ${_RANDOM} is drawn, when it is not. Draws happen left to right,
        each as randint would make it (``_draw``), so the RNG ends where the regex passes
        leave it. For a multi-line value's template (``_block``), also None when a value
        holds a comment character (its line would need a second look once filled) or a
        ``random_seed`` may reseed before a later line draws."""
        parts, refs = tpl
        params = self.params
        out = list(parts)
        draws: list[tuple[int, tuple[int, int, int]]] | None = None
        for slot, name, draw in refs:
            v = params.get(name)
            if v is None:
                if draw is None:
                    return None  # an unknown name, or a builtin other than ${_RANDOM}
                if draws is None:
                    draws = []
                draws.append((slot, draw))
            elif "$" in v or "\n" in v or (whole_value and ("#" in v or "!" in v)):
                return None
            else:
                out[slot] = v
        if draws is not None:
            if whole_value and "random_seed" in "".join(out):
                # (a draw is digits, so this sees every such word the filled text will hold)
                return None
            bits = self._rng.getrandbits
            for slot, (lo, n, k) in draws:
                r = bits(k)
                while r >= n:
                    r = bits(k)
                out[slot] = str(lo + r)
        return "".join(out)

    def _one_reference(self, tpl: _Template) -> str | None:
        """A line that is one reference (``$RS`` under a ~SEQ) to a multi-line value: the
        value itself, as the regex passes would return it; else None."""
        v = self.params.get(tpl[1][0][1])
        return v if v is not None and "\n" in v else None

    def _substitute_re(self, line: str, ctx: _Ctx, path: str) -> str | None:
        self._sub_path = path  # for ${_PWD}
        braced, bare = self._braced, self._bare
        for _ in range(MAX_EXPANSION_DEPTH):
            new = _PARAM_BRACED.sub(braced, line) if "${" in line else line
            if "$" in new and "\n" not in new:
                new = _PARAM_BARE.sub(bare, new)
            if "\n" in new:
                # a multi-line value: each of its lines is processed on its own, so that a
                # ~SEQ inside it still sees "the rest of its line"
                return new
            if new == line or "$" not in new:
                return new
            if len(new) > 1_000_000:
                break
            line = new
        self.report(ctx, "Parameter expansion does not terminate - ignoring line")
        return None

    # -- ~SEQ / ~LST
    def _sequence(self, line: str, ctx: _Ctx, path: str, depth: int) -> None:
        """``~SEQ(...) rest`` / ``~LST(...) rest``: ``rest`` once per value, the sequence's
        variables set to it (and restored after)."""
        spec = self._sequence_spec(line, ctx, path)
        if spec is None:
            return
        names, values, rest = spec
        saved = {nm: self.params.get(nm) for nm in names}
        for vals in values:
            self._seq_iterations += 1
            if self._seq_iterations > MAX_SEQ_ITERATIONS:
                if not self._too_many:
                    self._too_many = True
                    self.report(ctx, f"~SEQ/~LST expansion exceeds {MAX_SEQ_ITERATIONS} "
                                "repetitions - truncated", Severity.FATAL)
                break
            for nm, val in zip(names, vals, strict=False):
                self.params[nm] = val
            self._process_line(rest, ctx, path, depth + 1)
            if self._too_many:
                break
            if len(self.stmts) >= FLUSH_STATEMENTS:
                self.flush()
        for nm, old in saved.items():
            if old is None:
                self.params.pop(nm, None)
            else:
                self.params[nm] = old

    def _sequence_spec(self, line: str, ctx: _Ctx, path: str
                       ) -> tuple[list[str], list[list[str]], str] | None:
        """A ~SEQ/~LST line's variable names, their values per repetition and the rest of
        the line; None (reported) when the specification is invalid."""
        kind = line[:4]
        hexfmt = False
        pos = 4
        if kind == "~SEQ" and line[4:5] == "x":
            hexfmt = True
            pos = 5
        if line[pos:pos + 1] != "(":
            self.report(ctx, f"Invalid {kind} specification '{line}'")
            return None
        # find the matching ')'
        d = 0
        end = -1
        for i in range(pos, len(line)):
            if line[i] == "(":
                d += 1
            elif line[i] == ")":
                d -= 1
                if d == 0:
                    end = i
                    break
        if end < 0:
            self.report(ctx, f"Missing ')' in {kind} specification")
            return None
        args_text = line[pos + 1:end]
        rest = line[end + 1:].strip()
        if "$" in args_text:
            sub = self._substitute(args_text, ctx, path)
            if sub is None:
                return None
            args_text = sub
        got = (self._seq_values(args_text, hexfmt, ctx) if kind == "~SEQ"
               else self._lst_values(args_text, ctx))
        return None if got is None else (got[0], got[1], rest)

    def _seq_values(self, args_text: str, hexfmt: bool, ctx: _Ctx
                    ) -> tuple[list[str], list[list[str]]] | None:
        """``~SEQ(var, [start, [step,]] end)``: the variable and its values."""
        args = [a.strip() for a in args_text.split(",")]
        if len(args) < 2 or len(args) > 4 or not re.fullmatch(r"[A-Za-z_]\w*", args[0]):
            self.report(ctx, f"Invalid ~SEQ specification '{args_text}'")
            return None
        try:
            nums = [int(a, 0) for a in args[1:]]
        except ValueError:
            self.report(ctx, f"Invalid ~SEQ number in '{args_text}'")
            return None
        if len(nums) == 1:
            end_v = nums[0]
            start, step = (1, 1) if end_v >= 1 else (-1, -1)
        elif len(nums) == 2:
            start, end_v = nums
            step = 1 if end_v >= start else -1
        else:
            start, step, end_v = nums
        if step == 0 or (step > 0 and start > end_v) or (step < 0 and start < end_v):
            self.report(ctx, f"Invalid ~SEQ range '{args_text}'")
            return None
        if abs((end_v - start) // step) > 100_000:
            self.report(ctx, f"~SEQ range too large '{args_text}'")
            return None
        values: list[list[str]] = []
        v = start
        while (step > 0 and v <= end_v) or (step < 0 and v >= end_v):
            values.append([format(v, "x") if hexfmt else str(v)])
            v += step
        return [args[0]], values

    def _lst_values(self, args_text: str, ctx: _Ctx
                    ) -> tuple[list[str], list[list[str]]] | None:
        """``~LST(var, v1, ...)`` or ``~LST({a,b}, {1,2}, ...)``: the variables and values."""
        items = _split_lst(args_text)
        if len(items) < 2:
            self.report(ctx, f"Invalid ~LST specification '{args_text}'")
            return None
        names = [x.strip() for x in _unbrace(items[0]).split(",")]
        values = [[x.strip() for x in _unbrace(it).split(",")] for it in items[1:]]
        if any(not re.fullmatch(r"[A-Za-z_]\w*", nm) for nm in names):
            self.report(ctx, f"Invalid ~LST variable in '{args_text}'")
            return None
        return names, values

    # -- include
    def _include_check(self, words: list[str], ctx: _Ctx) -> None:
        """keepalived's ``include_check``: no word sets every check; a first plain word sets
        ``read`` plus that check; ``+word`` / ``-word`` add or remove one; unknown words and a
        second plain word are reported and ignored."""
        if not words:
            self.include_check = frozenset(_CHECK_BITS.values())
            return
        bits = set(self.include_check)
        for i, w in enumerate(words):
            sign = w[:1] if w[:1] in "+-" else ""
            name = w[1:] if sign else w
            if not sign and i > 0:
                self.report(ctx, f"Duplicate include_check '{w}' specified - ignoring")
                continue
            b = _CHECK_BITS.get(name)
            if b is None:
                self.report(ctx, f"Unknown include_check type '{name}' - ignoring")
                if not sign:
                    bits = set()
                continue
            if not sign:
                bits = {"r", b}
            elif sign == "+":
                bits.add(b)
            else:
                bits.discard(b)
        self.include_check = frozenset(bits)

    def _include(self, line: str, ctx: _Ctx, path: str) -> None:
        words = line.split(None, 1)
        kw = words[0]
        if len(words) < 2:
            self.report(ctx, f"No file specified for {kw}")
            return
        target = words[1].strip()
        if target[:1] in "\"'" and target[-1:] == target[:1] and len(target) > 1:
            target = target[1:-1]
        if "$" in target:
            sub = self._substitute(target, ctx, path)
            target = sub if sub is not None else target
        checks = set(self.include_check)
        checks |= {"includer": {"r"}, "includem": {"m"}, "includew": {"m", "w"},
                   "includeb": {"m", "b"}, "includea": {"r", "m", "w", "b"}}.get(kw, set())
        if self.all_config:
            checks.add("m")
        base = os.path.dirname(path)
        alternatives = expand_braces(target)
        found: list[str] = []
        missing: list[str] = []
        alt_of: dict[str, str] = {}
        for alt in alternatives:
            full = alt if os.path.isabs(alt) else os.path.join(base, alt)
            wild = any(c in alt for c in "*?[")
            matches = self.files.glob(full) if wild else (
                [full] if self.files.exists(full) else [])
            if not matches:
                missing.append(alt)
            if not matches and wild and "b" in checks and len(alternatives) > 1:
                missing.append(alt)
            found.extend(matches)
            for mt in matches:
                alt_of.setdefault(mt, alt)
        if missing or (not found and "m" in checks):
            # keepalived 2.2.7 reports a missing plain include but does not count it as an
            # error; the checking variants (and -e) do
            # (the read check alone is about files that are there but cannot be read)
            sev = Severity.FATAL if self.all_config else (
                Severity.ERROR if checks - {"r"} else Severity.INFO)
            self.report(ctx, f"Config files missing '{target}'.", sev)
        if self._depth >= MAX_INCLUDE_DEPTH:
            self.report(ctx, f"Include depth exceeded at '{target}' - ignoring")
            return
        for f in found:
            if self._too_many:
                return
            self._file_reads += 1
            if self._file_reads > MAX_FILE_READS:
                self._stop(ctx, f"more than {MAX_FILE_READS} files read")
                return
            got = self.files.stream(f)
            if isinstance(got, Unreadable):
                # as keepalived: an error only for a checking include, unless refusing the
                # file leaves the configuration incomplete
                sev = Severity.FATAL if got.too_large else (
                    Severity.ERROR if "r" in checks else Severity.INFO)
                self.report(ctx, f"Configuration file '{f}' {got.why} - skipping", sev)
                continue
            self._depth += 1
            try:
                self._run_stream(got, f, f if os.path.isabs(alt_of[f]) else
                                    os.path.relpath(f, base or "."), ctx)
            finally:
                self._depth -= 1


def _continuation(text: str, pos: int, first: str, nul: bool) -> tuple[int, str, bool]:
    """A multi-line ``$NAME=`` definition whose first line's value is ``first``: collect the
    continuation lines (each ending in ``\\`` but the last) from ``pos`` on. Returns where
    the next line starts, the value, its lines joined by newlines, blank ones dropped, and
    whether its last line was found before the end of ``text``."""
    parts: list[str] = []
    more = first == "" or first.endswith("\\")
    if first.endswith("\\"):
        first = first[:-1].rstrip()
    if first:
        parts.append(first)
    n = len(text)
    while more and pos < n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        seg = text[pos:end]
        pos = end + 1
        if nul:
            seg = seg.partition("\0")[0]
        seg = seg.rstrip("\r").rstrip()
        if seg.endswith("\\"):
            seg = seg[:-1].rstrip()
        else:
            more = False
        if seg.strip():
            parts.append(seg)
    return pos, "\n".join(parts), not more


def _split_top_commas(text: str) -> list[str]:
    """Split on the commas that are not inside ``{...}`` (brace lists, ~LST arguments)."""
    out: list[str] = []
    d = 0
    last = 0
    for i, c in enumerate(text):
        if c == "{":
            d += 1
        elif c == "}":
            d -= 1
        elif c == "," and d == 0:
            out.append(text[last:i])
            last = i + 1
    out.append(text[last:])
    return out


def _split_lst(text: str) -> list[str]:
    """Split ~LST arguments on commas that are not inside ``{...}``."""
    return [x.strip() for x in _split_top_commas(text)]


def _unbrace(s: str) -> str:
    s = s.strip()
    if s.startswith("{") and s.endswith("}"):
        return s[1:-1]
    return s


def lex_file(path: str, *, config_id: str, files: Files | None = None,
             all_config: bool = False) -> Lexer:
    lx = Lexer(config_id=config_id, files=files or Files(), all_config=all_config)
    lx.run_file(path)
    return lx


def lex_text(text: str, *, config_id: str, filename: str = "keepalived.conf",
             files: Files | None = None) -> Lexer:
    lx = Lexer(config_id=config_id, files=files or Files())
    lx.run_text(text, filename)
    return lx


ReportFn = Callable[[str, int, Severity, str], None]
