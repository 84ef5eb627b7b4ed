"""Cheap in-process meters the children update on their hot paths (sans-IO: ``now`` is passed).

Nothing here imports ``prometheus_client``: the children only count, the ``observe`` process
turns the counts into metric families. Each meter serialises to plain JSON for the status
document (``to_json``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

#: Seconds; from well under one 10 ms advert interval to well over a 1 s one.
LAG_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                  0.5, 1.0, 2.5, 5.0)
#: Seconds; health checks and data-plane applies (a netlink call to a slow HTTP probe).
DURATION_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Cumulative-bucket histogram as Prometheus defines it (``le`` upper bounds, +Inf implied)."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float] = DURATION_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * len(self.bounds)  # per bucket, not cumulative (cheaper to observe)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        i = bisect.bisect_left(self.bounds, value)
        if i < len(self.counts):
            self.counts[i] += 1
        self.count += 1
        self.sum += value

    def to_json(self) -> dict[str, Any]:
        """``buckets``: [[le, cumulative count], ...] without +Inf (that is ``count``)."""
        out: list[list[float]] = []
        acc = 0
        for le, n in zip(self.bounds, self.counts, strict=True):
            acc += n
            out.append([le, acc])
        return {"buckets": out, "count": self.count, "sum": round(self.sum, 9)}


def stall_message(late: float) -> str:
    """keepalived's scheduler line for a timer run too late (``lib/scheduler.c``), with its
    ``%ld.%6.6ld`` formatting of the delay."""
    usec = round(late * 1_000_000)
    return f"A thread timer expired {usec // 1_000_000}.{usec % 1_000_000:06d} seconds ago"


class StallMeter:
    """How late the loop runs its timers, and the stalls: a timer run more than ``threshold``
    seconds after it was due (the smallest advert interval, at most keepalived's
    ``min_auto_priority_delay``): a peer may already be counting this node's adverts missing,
    so the stall is logged in keepalived's words and counted, not only measured."""

    __slots__ = ("lag", "last_stall", "max_lag", "stalls", "threshold")

    def __init__(self, threshold: float = 1.0) -> None:
        self.threshold = threshold
        self.lag = Histogram(LAG_BUCKETS)
        self.stalls = 0
        self.max_lag = 0.0
        self.last_stall: float | None = None  # the stall's lateness, seconds

    def timer_ran(self, due: float, now: float) -> str | None:
        """Record one timer that was due at ``due`` and ran at ``now``; returns the line to log
        when it was a stall."""
        late = now - due
        if late < 0.0:
            late = 0.0
        self.lag.observe(late)
        if late > self.max_lag:
            self.max_lag = late
        if late > self.threshold:
            self.stalls += 1
            self.last_stall = late
            return stall_message(late)
        return None

    def to_json(self) -> dict[str, Any]:
        return {"lag": self.lag.to_json(), "stalls": self.stalls, "max_lag": self.max_lag,
                "stall_threshold": self.threshold, "last_stall": self.last_stall}


class AdvertTiming:
    """Receive timing of one instance's adverts from its master: the gaps between them against
    the master's advertised interval. ``late`` counts gaps over 1.5 intervals (half an interval
    late: a third of the way to a false failover at three missed adverts); ``jitter`` is the
    mean absolute deviation of the gap from the interval, smoothed as RFC 3550 smooths its
    interarrival jitter (gain 1/16). Called for every advert a BACKUP receives: kept to a few
    float operations."""

    __slots__ = ("jitter", "last", "late", "max_gap", "scale")

    LATE_FACTOR = 1.5

    def __init__(self, version: int = 3) -> None:
        self.last: float | None = None
        self.late = 0
        self.jitter = 0.0
        self.max_gap = 0.0
        self.scale = 1.0  # seconds per unit of the wire's interval field
        self.set_version(version)

    def set_version(self, version: int) -> None:
        """The interval field is whole seconds in VRRPv2, centiseconds in v3."""
        self.scale = 1.0 if version == 2 else 0.01

    def received(self, now: float, adver_int: int) -> None:
        """An advert at ``now`` from a master advertising ``adver_int`` (the wire field)."""
        last = self.last
        self.last = now
        if last is not None:
            gap = now - last
            interval = adver_int * self.scale
            self.jitter += (abs(gap - interval) - self.jitter) * 0.0625
            if gap > self.max_gap:
                self.max_gap = gap
            if gap > interval * self.LATE_FACTOR:
                self.late += 1

    def restart(self) -> None:
        """After a state change the next gap says nothing about the master's timing."""
        self.last = None

    def to_json(self) -> dict[str, Any]:
        return {"late": self.late, "jitter": self.jitter, "max_gap": self.max_gap}


class Events:
    """Counts of a process's reloads, data-plane applies and notify scripts, with timings."""

    __slots__ = ("apply", "apply_failures", "config_loaded_at", "config_ok", "reload_seconds",
                 "reloads")

    def __init__(self) -> None:
        self.reloads = 0
        self.reload_seconds: float | None = None  # the last reload's duration
        self.config_ok = True
        self.config_loaded_at: float | None = None  # wall clock
        self.apply = Histogram(DURATION_BUCKETS)
        self.apply_failures = 0

    def config_loaded(self, ok: bool, wall: float) -> None:
        self.config_ok = ok
        if ok:
            self.config_loaded_at = wall

    def reloaded(self, seconds: float) -> None:
        self.reloads += 1
        self.reload_seconds = seconds

    def to_json(self) -> dict[str, Any]:
        return {"reloads": self.reloads, "last_reload_seconds": self.reload_seconds,
                "last_load_ok": self.config_ok, "loaded_at": self.config_loaded_at,
                "apply": self.apply.to_json(), "apply_failures": self.apply_failures}
