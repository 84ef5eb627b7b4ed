"""``reload_time_file``: a reload scheduled by the time written in a file (keepalived's format).

The file's first line is exactly ``HH:MM:SS``, ``YY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD HH:MM:SS``,
with an optional ``Z`` for UTC (else local time). A time alone is the next such time (today or
tomorrow); a date and time in the past schedules nothing. The parent checks the file's identity
(inode, size, mtime) on each turn of its loop: a new or changed file (re)schedules, a removed
one cancels. Once the reload is done the file is removed, unless ``reload_repeat`` (then a time
alone repeats every day). Pure functions here; ``daemon.main`` does the I/O.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from dataclasses import dataclass

_FORMS = {8: "%H:%M:%S", 17: "%y-%m-%d %H:%M:%S", 19: "%Y-%m-%d %H:%M:%S"}
_SHAPE = re.compile(r"(\d\d(\d\d)?-\d\d-\d\d )?\d\d:\d\d:\d\dZ?")


def reload_at(line: str, now: float) -> tuple[float | None, str]:
    """The reload instant (epoch seconds) ``line`` asks for at ``now``, or None and why not."""
    text = line.rstrip("\n")
    utc = text.endswith("Z")
    body = text[:-1] if utc else text
    if not _SHAPE.fullmatch(text) or len(body) not in _FORMS:
        return None, f"Reload time {text} format is incorrect - ignoring"
    try:
        tm = time.strptime(body, _FORMS[len(body)])
    except ValueError:
        return None, f"Reload date/time {text} invalid - ignoring"
    if len(body) == 8:
        today = time.gmtime(now) if utc else time.localtime(now)
        fields = (today.tm_year, today.tm_mon, today.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
        at = _instant(fields, utc)
        if at <= now:
            at = _instant((*fields[:2], fields[2] + 1, *fields[3:]), utc)
        return at, ""
    at = _instant((tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec), utc)
    if at <= now:
        return None, "Reload date/time is in the past - ignoring"
    return at, ""


def _instant(f: tuple[int, int, int, int, int, int], utc: bool) -> float:
    if utc:
        return float(calendar.timegm((*f, 0, 0, 0)))
    return time.mktime((*f, 0, 0, -1))


def describe(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


@dataclass
class ReloadTimer:
    """The scheduled reload of one ``reload_time_file``."""

    path: str
    repeat: bool = False
    at: float | None = None
    _seen: tuple[int, int, int] | None = None

    def check(self, now: float) -> list[str]:
        """Look at the file (when it changed since the last look); the lines to log."""
        try:
            st = os.stat(self.path)
            ident: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            ident = None
        if ident == self._seen:
            return []
        self._seen = ident
        old = self.at
        if ident is None:
            self.at = None
            return [f"Cancelling reload scheduled for {describe(old)}"] if old else []
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                first = f.readline()
        except OSError:
            return []
        self.at, why = reload_at(first, now)
        if self.at is None:
            return [why] + ([f"Cancelling reload scheduled for {describe(old)}"] if old else [])
        if old is not None and old != self.at:
            return [f"Reload time updated from {describe(old)} to {describe(self.at)}"]
        return [f"Scheduling reload for {describe(self.at)}"] if old != self.at else []

    def due(self, now: float) -> bool:
        """True once, when the reload is due; the file is then removed (or, with
        ``reload_repeat``, left for the next day)."""
        if self.at is None or now < self.at:
            return False
        self.at = None
        if not self.repeat:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        self._seen = None  # a repeated time alone is read again: tomorrow's
        return True

    def wait(self, now: float) -> float | None:
        """Seconds until the reload (None: none scheduled)."""
        return None if self.at is None else max(self.at - now, 0.0)
