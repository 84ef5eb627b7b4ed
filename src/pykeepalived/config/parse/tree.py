"""The block tree: statements nested by their braces, and the two ways a block's lines are read
(keyword lines with stray anonymous blocks spliced in; value lines such as addresses).

The tree is built as the lexer streams its statements (``TreeBuilder.feed``); each top-level
item is handed on as soon as it is complete, so that a large file is never held as a whole
tree. A run of one-word lines (``lexer.Run``: 300 000 addresses of a ``virtual_ipaddress``
block) is one node holding the run's text (``Node.run``); readers that want single lines get
them from ``flatten`` / ``value_lines``, and the address readers take the run whole."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, cast

from pykeepalived.config.lexer import Item, Run, Stmt
from pykeepalived.config.model import ConfigMessage, Severity


class Reporter(Protocol):
    """What reports a problem against a line (the parser context)."""

    def at(self, n: Node, text: str, sev: Severity = Severity.ERROR) -> None: ...


class Node:
    """A statement with, when a ``{`` followed it, its children (a plain slotted class: fast).

    ``kw`` and ``args`` are split off once here: the block parsers read them many times each.
    A run node (``run`` set: the text of consecutive one-word lines, the first at ``line``)
    has no tokens and no children; ``words`` gives its lines' words.
    """

    __slots__ = ("args", "children", "file", "kw", "line", "run", "tokens")

    def __init__(self, file: str, line: int, tokens: tuple[str, ...],
                 children: list[Node] | None = None, run: str | None = None) -> None:
        self.file = file
        self.line = line
        self.tokens = tokens
        self.kw = tokens[0] if tokens else ""
        self.args = tokens[1:]
        self.children = children
        self.run = run

    def words(self) -> list[str]:
        """A run node's words, one per line from ``line`` on."""
        return self.run.split() if self.run else []

    def lines(self) -> list[Node]:
        """A run node as the nodes of its lines."""
        file, first = self.file, self.line
        return [Node(file, first + i, (w,)) for i, w in enumerate(self.words())]


MAX_NESTING = 64
_OPEN = ("{",)
_CLOSE = ("}",)
_EXTRA = "Extra '}' found"


class TreeBuilder:
    """``build_tree`` fed in batches. With ``on_item``, each top-level item is handed to it
    once complete (a block at its ``}``, a line when the next top-level statement comes) and
    not kept; without, ``finish`` returns the whole tree.

    The lexer hands out one statement object for every repeat of a line (a ~SEQ makes
    thousands: ``lexer.Shared``), and shared nodes are never changed once built, so such a
    statement without a block is one shared leaf node (per source line: the lexer shares
    statements within one line only); a shared statement that gets a block is made a node of
    its own then (any other node just gets its children). ``files`` lists the files in the
    order of their first statement."""

    def __init__(self, messages: list[ConfigMessage],
                 on_item: Callable[[Node], None] | None = None) -> None:
        self.messages = messages
        self.on_item = on_item
        self.root: list[Node] = []
        self.stack: list[list[Node]] = [self.root]
        self.top = self.root
        self.prev: Node | None = None
        self.prev_own = False
        self.leaves: dict[int, Node] = {}  # id of a statement -> its leaf node
        self.alive: list[Item] = []  # each statement keyed by id is kept alive here
        self.leaf_at: tuple[str, int] = ("", -1)  # the source line of ``leaves``
        self.files: dict[str, int] = {}
        self._file = ""

    def feed(self, stmts: Iterable[Item]) -> None:
        root, stack, messages = self.root, self.stack, self.messages
        top, prev = self.top, self.prev
        own = self.prev_own  # prev was made for its statement alone (no shared leaf)
        streaming = self.on_item is not None
        file = self._file
        for st in stmts:
            toks = st[2]
            if st[0] is not file:
                file = st[0]
                if file != self._file:
                    self._note(file)
            if len(toks) != 1 or (toks != _OPEN and toks != _CLOSE):
                # a keyword line (the usual statement): a leaf until a ``{`` follows it
                kind = type(st)
                own = True
                if kind is Stmt:
                    prev = Node(file, st[1], toks)
                elif kind is Run:
                    prev = Node(file, st[1], (), None, cast(Run, st).text)
                else:
                    prev = self.leaves.get(id(st)) or self._shared(st)
                    own = False
                top.append(prev)
                if streaming and top is root:
                    self._ready(prev)
                continue
            line = st[1]
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
                    if prev.run is not None:  # the run's last line takes the block
                        head = _split_last(prev)
                        blk = Node(head.file, head.line, head.tokens, [])
                        cur.append(blk)
                    elif own:
                        blk = prev
                        blk.children = []
                    else:
                        blk = cur[-1] = Node(prev.file, prev.line, prev.tokens, [])
                    top = blk.children  # type: ignore[assignment]
                else:
                    anon = Node(file, line, (), [])
                    cur.append(anon)
                    top = anon.children  # type: ignore[assignment]
                stack.append(top)
                prev = None
                continue
            if len(stack) == 1:
                messages.append(ConfigMessage(file, line, Severity.ERROR, _EXTRA))
            else:
                stack.pop()
                top = stack[-1]
                if streaming and top is root:
                    self._ready(None)
            prev = None
        self.top, self.prev, self.prev_own = top, prev, own

    def _shared(self, st: Item) -> Node:
        """The leaf node of a statement the lexer may hand out again (``lexer.Shared``), kept
        for its repeats on its source line."""
        file, line = st[0], st[1]
        if line != self.leaf_at[1] or file != self.leaf_at[0]:
            self.leaves.clear()
            self.alive.clear()
            self.leaf_at = (file, line)
        n = self.leaves[id(st)] = Node(file, line, st[2])
        self.alive.append(st)
        return n

    def _note(self, file: str) -> None:
        self._file = file
        self.files.setdefault(file, len(self.files))

    def _ready(self, pending: Node | None) -> None:
        """Hand on the complete top-level items: all of them but ``pending``, a line that a
        ``{`` may still follow."""
        root, on_item = self.root, self.on_item
        assert on_item is not None
        keep = 1 if pending is not None and root and root[-1] is pending else 0
        if len(root) > keep:
            done = root[:len(root) - keep]
            del root[:len(root) - keep]
            for n in done:
                on_item(n)

    def finish(self) -> list[Node]:
        """The end of the statements: the missing ``}`` reported, what is left handed on (or,
        without ``on_item``, the whole tree)."""
        if len(self.stack) > 1:
            self.messages.append(ConfigMessage(
                "", 0, Severity.ERROR,
                f"There are {len(self.stack) - 1} missing '}}'s or extra '{{'s"))
        if self.on_item is not None:
            done = list(self.root)
            self.root.clear()
            for n in done:
                self.on_item(n)
        self.leaves.clear()
        self.alive.clear()
        return self.root


def _split_last(n: Node) -> Node:
    """The last line of run node ``n`` as a node of its own (a ``{`` follows it); ``n`` keeps
    the lines before it."""
    assert n.run is not None
    body = n.run.rstrip()
    cut = body.rfind("\n") + 1
    words = body[cut:].split()
    n.run = n.run[:cut]
    return Node(n.file, n.line + n.run.count("\n"), tuple(words))


def build_tree(stmts: Sequence[Item], messages: list[ConfigMessage]) -> list[Node]:
    """Nest statements by braces. A ``{`` belongs to the statement right before it."""
    b = TreeBuilder(messages)
    b.feed(stmts)
    return b.finish()


def flatten(nodes: Sequence[Node], h: Reporter) -> list[Node]:
    """Children of a block, with stray anonymous ``{...}`` reported and spliced in place, and
    run nodes as their lines."""
    for n in nodes:
        if not n.tokens:
            break
    else:
        return list(nodes)  # the usual case: nothing to splice
    out: list[Node] = []
    for n in nodes:
        if not n.tokens:
            if n.run is not None:
                out.extend(n.lines())
                continue
            h.at(n, "Unexpected '{' - ignoring")
            out.extend(flatten(n.children or [], h))
            continue
        out.append(n)
    return out


def value_items(n: Node, h: Reporter) -> list[Node]:
    """Lines of a value block (virtual_ipaddress {...}), run nodes kept whole (for readers
    that take a run at once); a block given inline also works."""
    if n.children is None:
        return []
    res: list[Node] = []
    for c in n.children:
        if not c.tokens:
            if c.run is not None:
                res.append(c)
                continue
            h.at(c, "Unexpected '{' - ignoring")
            res.extend(value_items(c, h))
            continue
        res.append(c)
        if c.children is not None:
            h.at(c, "Unexpected '{' - ignoring")
            res.extend(x for x in c.children if x.tokens or x.run is not None)
    return res


def value_lines(n: Node, h: Reporter) -> list[Node]:
    """Lines of a value block (virtual_ipaddress {...}); a block given inline also works."""
    res = value_items(n, h)
    if any(x.run is not None for x in res):
        return [y for x in res for y in (x.lines() if x.run is not None else (x,))]
    return res
