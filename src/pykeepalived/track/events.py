"""The one event every tracker shell emits; the VRRP side turns it into priority or FAULT.

Trackers only say *what they observe*: a script is up or down, a track_file holds value V, a
tracked process is up or down. Weights, ``reverse``, clamping to 1..254 and FAULT live in
``pykeepalived.vrrp.tracking`` (the router), never here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TrackerKind(enum.Enum):
    SCRIPT = "script"  # vrrp_script
    FILE = "file"  # track_file
    PROCESS = "process"  # vrrp_track_process


@dataclass(frozen=True)
class TrackerChanged:
    """Tracker ``name`` (of ``kind``) changed.

    ``up``: scripts and processes: the tracker's state. Files: ``value == 0`` (which is what a
    weight-0 track_file means: non-zero is a failure).
    ``value``: files: the integer read from the file (0 when missing or unparsable);
    processes: the number of matching processes; scripts: 0.
    """

    kind: TrackerKind
    name: str
    up: bool
    value: int = 0
