"""Config messages at scale: a log that stores a run of equal messages once, and the result's
message sequence in keepalived's order without holding every message.

A file of 16 MiB of ``}`` lines is 8.4 million "Extra '}' found" errors; keepalived prints each
and forgets it. Here the front end keeps its messages until the whole file is read (they are
printed in file order), so a run of messages that differ only in their line, the line growing
by the same step each time, is one entry of the log (``MessageLog``), and the result hands them
out one by one when iterated (``MessageList``). Without such runs the result is the plain tuple
it always was.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, SupportsIndex, overload

from pykeepalived.config.model import ConfigMessage, Severity


class MessageLog(list[ConfigMessage]):
    """Messages in the order they were made. A message equal to the last entry but for its
    line, on the line the entry's run predicts, extends that run (``runs``: entry index ->
    (count, step)) instead of being stored. As a list it is every message (iterating, length,
    indexing, equality); ``entries`` gives the stored entries with their runs."""

    def __init__(self, items: Iterable[ConfigMessage] = ()) -> None:
        super().__init__(items)
        self.runs: dict[int, tuple[int, int]] = {}
        self._extra = 0  # messages held by runs beyond their first

    def append(self, m: ConfigMessage) -> None:
        i = list.__len__(self) - 1
        if i >= 0:
            last = list.__getitem__(self, i)
            if last.text == m.text and last.file == m.file and last.severity == m.severity:
                run = self.runs.get(i)
                if run is None:
                    if m.line >= last.line:
                        self.runs[i] = (2, m.line - last.line)
                        self._extra += 1
                        return
                elif m.line == last.line + run[0] * run[1]:
                    self.runs[i] = (run[0] + 1, run[1])
                    self._extra += 1
                    return
        super().append(m)

    def entries(self) -> Iterator[tuple[ConfigMessage, int, int]]:
        """(message, count, step) per stored entry, in order."""
        runs = self.runs
        for i, m in enumerate(list.__iter__(self)):
            count, step = runs.get(i, (1, 0))
            yield m, count, step

    def expanded(self) -> Iterator[ConfigMessage]:
        """Every message, in the order they were made."""
        for m, count, step in self.entries():
            yield m
            for k in range(1, count):
                yield ConfigMessage(m.file, m.line + k * step, m.severity, m.text)

    def __iter__(self) -> Iterator[ConfigMessage]:
        return self.expanded() if self.runs else list.__iter__(self)

    def __len__(self) -> int:
        return list.__len__(self) + self._extra

    @overload
    def __getitem__(self, i: SupportsIndex) -> ConfigMessage: ...

    @overload
    def __getitem__(self, i: slice) -> list[ConfigMessage]: ...

    def __getitem__(self, i: SupportsIndex | slice) -> ConfigMessage | list[ConfigMessage]:
        if not self.runs:
            return list.__getitem__(self, i)
        return list(self.expanded())[i]

    def __eq__(self, other: object) -> bool:
        if not self.runs and not getattr(other, "runs", None):
            return list.__eq__(self, other)
        return isinstance(other, list) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def mark(self) -> tuple[int, int, dict[int, tuple[int, int]]]:
        """Where the log is now, for ``rollback``."""
        n = list.__len__(self)
        last = {n - 1: self.runs[n - 1]} if n - 1 in self.runs else {}
        return n, self._extra, last

    def rollback(self, mark: tuple[int, int, dict[int, tuple[int, int]]]) -> None:
        """Forget every message made since ``mark``."""
        n, extra, last = mark
        list.__delitem__(self, slice(n, None))
        for i in [i for i in self.runs if i >= n - 1]:
            del self.runs[i]
        self.runs.update(last)
        self._extra = extra


_Key = tuple[int, int, int]


def in_file_order(logs: Sequence[Sequence[ConfigMessage]], rank: dict[str, int]
                  ) -> Sequence[ConfigMessage]:
    """The messages of ``logs`` (taken in turn, each in the order it was made) with the
    line-tied ones in file order (files in the order they were read, ``rank``; a file only
    messages name comes after them) and the whole-config ones after all of them, each group
    in the order the messages were made, as keepalived's single pass prints them. A plain
    tuple unless a log holds runs (then a ``MessageList``)."""
    entries: list[tuple[ConfigMessage, int, int]] = []
    for log in logs:
        if isinstance(log, MessageLog):
            entries.extend(log.entries())
        else:
            entries.extend((m, 1, 0) for m in log)
    for m, _, _ in entries:
        rank.setdefault(m.file, len(rank))
    big = len(rank) + 1
    if all(count == 1 for _, count, _ in entries):
        return tuple(sorted((m for m, _, _ in entries),
                            key=lambda m: (rank[m.file], m.line) if m.line > 0 else (big, 0)))
    singles: list[tuple[_Key, ConfigMessage]] = []
    runs: list[tuple[_Key, ConfigMessage, int, int]] = []
    seq = 0
    for m, count, step in entries:
        key = (rank[m.file], m.line, seq) if m.line > 0 else (big, 0, seq)
        if count == 1:
            singles.append((key, m))
        else:
            runs.append((key, m, count, step))
        seq += count
    singles.sort(key=_first)
    return MessageList(singles, runs, big)


def _first(item: tuple[_Key, Any]) -> _Key:
    return item[0]


class MessageList(Sequence[ConfigMessage]):
    """A result's messages when some come in runs: single messages sorted by (file rank,
    line, order made) and runs, merged into that order when iterated. Behaves as the tuple
    of all of them (equality, hash, repr, indexing), without making that tuple unless it is
    indexed."""

    def __init__(self, singles: list[tuple[_Key, ConfigMessage]],
                 runs: list[tuple[_Key, ConfigMessage, int, int]], big: int) -> None:
        self._singles = singles
        self._runs = runs
        self._big = big
        self._len = len(singles) + sum(r[2] for r in runs)
        self._tuple: tuple[ConfigMessage, ...] | None = None

    def _run(self, key: _Key, m: ConfigMessage, count: int, step: int
             ) -> Iterator[tuple[_Key, ConfigMessage]]:
        rank, line, seq = key
        yield key, m
        for k in range(1, count):
            ln = line + k * step
            yield ((rank, ln, seq + k) if ln > 0 else (self._big, 0, seq + k),
                   ConfigMessage(m.file, ln, m.severity, m.text))

    def _merged(self) -> Iterator[tuple[_Key, ConfigMessage]]:
        return heapq.merge(self._singles, *(self._run(*r) for r in self._runs), key=_first)

    def __iter__(self) -> Iterator[ConfigMessage]:
        for _, m in self._merged():
            yield m

    def formatted(self) -> Iterator[str]:
        """Each message as ``ConfigMessage.format`` gives it."""
        for _, m in self._merged():
            yield m.format()

    def severities(self) -> set[Severity]:
        return {m.severity for _, m in self._singles} | {r[1].severity for r in self._runs}

    def __len__(self) -> int:
        return self._len

    def _all(self) -> tuple[ConfigMessage, ...]:
        if self._tuple is None:
            self._tuple = tuple(self)
        return self._tuple

    @overload
    def __getitem__(self, i: int) -> ConfigMessage: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[ConfigMessage, ...]: ...

    def __getitem__(self, i: int | slice) -> ConfigMessage | tuple[ConfigMessage, ...]:
        return self._all()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessageList):
            other = other._all()
        if isinstance(other, tuple):
            return self._len == len(other) and self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())
