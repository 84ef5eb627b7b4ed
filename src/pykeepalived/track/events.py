"""The one event every tracker shell emits; the VRRP side turns it into priority or FAULT.

Trackers only say *what they observe*: a script is up or down, a track_file holds value V, a
tracked process is up or down. Weights, ``reverse``, clamping to 1..254 and FAULT live in
``pykeepalived.vrrp.tracking`` (the router), never here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.vrrp.tracking import TrackKind

# The router's own enum, under the name this package has always exported: a tracker reports
# ``TrackKind.SCRIPT``/``FILE``/``PROCESS`` and the router takes it as it is.
TrackerKind = TrackKind


@dataclass(frozen=True)
class TrackerChanged:
    """Tracker ``name`` (of ``kind``) changed.

    ``up``: scripts and processes: the tracker's state. Files: ``value == 0`` (which is what a
    weight-0 track_file means: non-zero is a failure).
    ``value``: files: the integer read from the file (0 when missing or unparsable);
    processes: the number of matching processes; scripts: 0.
    """

    kind: TrackKind
    name: str
    up: bool
    value: int = 0
