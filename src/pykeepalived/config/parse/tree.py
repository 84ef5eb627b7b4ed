"""The block tree: statements nested by their braces, and the two ways a block's lines are read
(keyword lines with stray anonymous blocks spliced in; value lines such as addresses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pykeepalived.config.lexer import Stmt
from pykeepalived.config.model import ConfigMessage, Severity


class Reporter(Protocol):
    """What reports a problem against a line (the parser context)."""

    def at(self, n: Node, text: str, sev: Severity = Severity.ERROR) -> None: ...


class Node:
    """A statement with, when a ``{`` followed it, its children (a plain slotted class: fast).

    ``kw`` and ``args`` are split off once here: the block parsers read them many times each.
    """

    __slots__ = ("args", "children", "file", "kw", "line", "tokens")

    def __init__(self, file: str, line: int, tokens: tuple[str, ...],
                 children: list[Node] | None = None) -> None:
        self.file = file
        self.line = line
        self.tokens = tokens
        self.kw = tokens[0] if tokens else ""
        self.args = tokens[1:]
        self.children = children


MAX_NESTING = 64
_OPEN = ("{",)
_CLOSE = ("}",)


def build_tree(stmts: Sequence[Stmt], messages: list[ConfigMessage]) -> list[Node]:
    """Nest statements by braces. A ``{`` belongs to the statement right before it.

    The lexer hands out one Stmt object for every repeat of a line (a ~SEQ makes thousands),
    and nodes are never changed once built, so a statement without a block is one shared
    leaf node; a statement that gets a block is made a node of its own then."""
    root: list[Node] = []
    stack: list[list[Node]] = [root]
    prev: Node | None = None
    top = root
    leaves: dict[int, Node] = {}  # id of a Stmt -> its leaf node
    leaf = leaves.get
    alive: list[Stmt] = []  # each Stmt keyed by id is kept alive here, so that no id is reused
    keep = alive.append
    for st in stmts:
        toks = st[2]
        if len(toks) != 1:  # the usual statement: neither brace
            prev = leaf(id(st))
            if prev is None:
                prev = leaves[id(st)] = Node(st[0], st[1], toks)
                keep(st)
            top.append(prev)
            continue
        file, line = st[0], st[1]
        if toks == _OPEN:
            cur = stack[-1]
            if len(stack) > MAX_NESTING:
                # far deeper than any real config: refuse rather than recurse without bound
                messages.append(ConfigMessage(file, line, Severity.ERROR,
                                              "Configuration blocks nested too deeply - "
                                              "ignoring '{'"))
                prev = None
                continue
            if prev is not None and prev.children is None and cur and cur[-1] is prev:
                cur[-1] = Node(prev.file, prev.line, prev.tokens, [])
                top = cur[-1].children  # type: ignore[assignment]
            else:
                anon = Node(file, line, (), [])
                cur.append(anon)
                top = anon.children  # type: ignore[assignment]
            stack.append(top)
            prev = None
            continue
        if toks == _CLOSE:
            if len(stack) == 1:
                messages.append(ConfigMessage(file, line, Severity.ERROR, "Extra '}' found"))
            else:
                stack.pop()
                top = stack[-1]
            prev = None
            continue
        prev = leaf(id(st))
        if prev is None:
            prev = leaves[id(st)] = Node(file, line, toks)
            keep(st)
        top.append(prev)
    if len(stack) > 1:
        messages.append(ConfigMessage("", 0, Severity.ERROR,
                                      f"There are {len(stack) - 1} missing '}}'s or extra '{{'s"))
    return root


def flatten(nodes: Sequence[Node], h: Reporter) -> list[Node]:
    """Children of a block, with stray anonymous ``{...}`` reported and spliced in place."""
    for n in nodes:
        if not n.tokens:
            break
    else:
        return list(nodes)  # the usual case: nothing to splice
    out: list[Node] = []
    for n in nodes:
        if not n.tokens:
            h.at(n, "Unexpected '{' - ignoring")
            out.extend(flatten(n.children or [], h))
            continue
        out.append(n)
    return out


def value_lines(n: Node, h: Reporter) -> list[Node]:
    """Lines of a value block (virtual_ipaddress {...}); a block given inline also works."""
    if n.children is None:
        return []
    res: list[Node] = []
    for c in n.children:
        if not c.tokens:
            h.at(c, "Unexpected '{' - ignoring")
            res.extend(value_lines(c, h))
            continue
        res.append(c)
        if c.children is not None:
            h.at(c, "Unexpected '{' - ignoring")
            res.extend(x for x in c.children if x.tokens)
    return res
