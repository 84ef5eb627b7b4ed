"""Priority tracking: from tracked objects' states to FAULT and the effective priority.

keepalived's arithmetic (man keepalived.conf, ``vrrp_script``/``track_*``):

* boolean trackers (script, interface, process, BFD): weight 0 means FAULT while the object is
  down (``weight 0 reverse``: while it is up). A positive weight is added while the object is up,
  a negative one is added (i.e. subtracted) while it is down; ``reverse`` flips the sign of the
  adjustment, so the priority goes down when up and up when down.
* ``track_file``: the file holds an integer. Weight 0: a non-zero value means FAULT (``reverse``:
  a zero value). Otherwise the adjustment is value × weight (negated with ``reverse``); an
  adjustment below -253 means FAULT and one above 253 counts as 253.
* the effective priority is base + the sum of adjustments, clamped to 1..254; an address owner
  (base 255) ignores weights (but still faults on weight-0 trackers).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

PRIO_OWNER = 255
PRIO_MAX_TRACKED = 254
PRIO_MIN = 1
_FILE_FAULT_BELOW = -253
_FILE_MAX = 253


class TrackKind(enum.Enum):
    """What a tracker watches: the one enum for the tracker shells (``track``), which report
    ``TrackerChanged(kind, ...)``, and the router, which weighs them (``TrackSpec.kind``)."""

    SCRIPT = "script"
    INTERFACE = "interface"
    FILE = "file"
    PROCESS = "process"
    BFD = "bfd"


@dataclass(frozen=True)
class TrackSpec:
    """One tracked object of an instance, with the weight the instance gives it.

    ``initial_ok`` is the state assumed before the first report (``init_fail`` → False);
    ``initial_value`` is the starting value of a tracked file.
    """

    kind: TrackKind
    name: str
    weight: int = 0
    reverse: bool = False
    initial_ok: bool = True
    initial_value: int = 0


@dataclass(frozen=True)
class TrackResult:
    """The outcome of evaluating all trackers: FAULT or not, and the summed adjustment."""

    fault: bool
    delta: int
    faulty: tuple[str, ...] = ()  # "kind:name" of each tracker causing FAULT


def contribution(spec: TrackSpec, ok: bool, value: int) -> tuple[bool, int]:
    """(fault, priority adjustment) of one tracker in its current state."""
    if spec.kind is TrackKind.FILE:
        if spec.weight == 0:
            return ((value != 0) != spec.reverse, 0)
        adj = value * spec.weight * (-1 if spec.reverse else 1)
        if adj < _FILE_FAULT_BELOW:
            return (True, 0)
        return (False, min(adj, _FILE_MAX))
    if spec.weight == 0:
        return (ok == spec.reverse, 0)
    applies = ok if spec.weight > 0 else not ok
    adj = spec.weight if applies else 0
    return (False, -adj if spec.reverse else adj)


def effective_priority(base: int, delta: int) -> int:
    """Base priority adjusted by ``delta``: clamped to 1..254; 255 (owner) is never adjusted."""
    if base >= PRIO_OWNER:
        return PRIO_OWNER
    return max(PRIO_MIN, min(PRIO_MAX_TRACKED, base + delta))


class Tracking:
    """The current state of every tracker of one instance (mutable, no I/O)."""

    def __init__(self, specs: Iterable[TrackSpec]) -> None:
        self._specs: dict[tuple[TrackKind, str], TrackSpec] = {}
        self._ok: dict[tuple[TrackKind, str], bool] = {}
        self._value: dict[tuple[TrackKind, str], int] = {}
        for spec in specs:
            key = (spec.kind, spec.name)
            self._specs[key] = spec
            self._ok[key] = spec.initial_ok
            self._value[key] = spec.initial_value

    def tracks(self, kind: TrackKind, name: str) -> bool:
        return (kind, name) in self._specs

    def ok(self, kind: TrackKind, name: str) -> bool | None:
        """A boolean tracker's current state; None when the instance does not track it."""
        return self._ok.get((kind, name))

    def set_ok(self, kind: TrackKind, name: str, ok: bool) -> bool:
        """Record a boolean tracker's state; False when the instance does not track it."""
        key = (kind, name)
        if key not in self._specs:
            return False
        self._ok[key] = ok
        return True

    def set_value(self, name: str, value: int) -> bool:
        """Record a tracked file's value; False when the instance does not track it."""
        key = (TrackKind.FILE, name)
        if key not in self._specs:
            return False
        self._value[key] = value
        return True

    def evaluate(self) -> TrackResult:
        fault = False
        delta = 0
        faulty: list[str] = []
        for key, spec in self._specs.items():
            f, adj = contribution(spec, self._ok[key], self._value[key])
            if f:
                fault = True
                faulty.append(f"{spec.kind.value}:{spec.name}")
            delta += adj
        return TrackResult(fault, delta, tuple(faulty))
