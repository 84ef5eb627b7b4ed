"""Redundant heartbeat paths (sans-IO): one instance's adverts on several links.

The seeds' first cure: a second heartbeat line, so one broken link does not make two masters.
An instance with ``heartbeat_paths`` sends every advert on its own interface *and* on each
extra path (another interface's multicast group, or unicast peers), and accepts an advert
from any of them. The router must see each advert once: a copy of the advert just delivered
(same VRID, priority and address list) arriving on another path within half an advert
interval is dropped. A path that falls silent while another still brings adverts is logged
once (the redundancy is gone though nothing fails yet), and again when it is heard again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PathEvent:
    """A path went silent (``up=False``) or was heard again: log it."""

    path: str
    up: bool
    message: str


class HeartbeatPaths:
    """Path bookkeeping of one instance: ``heard`` says whether to deliver an advert."""

    def __init__(self, name: str, paths: tuple[str, ...], interval: float) -> None:
        if len(paths) < 2:
            raise ValueError("redundant heartbeat paths need at least two paths")
        self.name = name
        self.paths = paths
        self.interval = interval
        self._last: dict[str, float | None] = dict.fromkeys(paths)
        self._silent: set[str] = set()
        self._delivered: tuple[tuple[int, int, tuple[str, ...]], float] | None = None
        self._events: list[PathEvent] = []
        self.duplicates = 0

    def events(self) -> list[PathEvent]:
        out, self._events = self._events, []
        return out

    def heard(self, path: str, vrid: int, priority: int, addresses: tuple[str, ...],
              now: float) -> bool:
        """An advert arrived on ``path``: True to hand it to the router, False for a copy."""
        self._last[path] = now
        if path in self._silent:
            self._silent.discard(path)
            self._events.append(PathEvent(path, True, f"({self.name}) heartbeat path {path} "
                                                      "heard again"))
        key = (vrid, priority, addresses)
        last = self._delivered
        if last is not None and last[0] == key and now - last[1] < self.interval / 2:
            self.duplicates += 1
            return False
        self._delivered = (key, now)
        return True

    def set_interval(self, interval: float) -> None:
        """The master's advert interval (v3 backups adopt it)."""
        self.interval = interval

    def check(self, now: float, down_after: float) -> None:
        """Report paths silent for ``down_after`` while another path is not."""
        live = [p for p, t in self._last.items() if t is not None and now - t < down_after]
        if not live:
            return  # nothing heard at all: the master is gone, not a path
        for p, t in self._last.items():
            if p in self._silent or p in live or t is None:
                continue
            self._silent.add(p)
            self._events.append(PathEvent(
                p, False, f"({self.name}) heartbeat path {p} silent for {now - t:.3f} s; "
                          f"adverts still arrive on {', '.join(live)}"))
