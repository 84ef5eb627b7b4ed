"""FILE_CHECK: read the integer in a ``track_file``'s file.

With weight 0 the real server is up when the value is 0. Otherwise it is up with weight
``rs_weight + value × weight`` (``reverse`` negates the product); a negative result is down.
A missing or unreadable file reads as 0, as keepalived's track_file does.
"""

from __future__ import annotations

import os
import stat

from pykeepalived.check.virtual_server import CheckOutcome


def read_value(path: str) -> int:
    """The integer at the start of ``path``; 0 when missing, unreadable or not a regular file
    (a FIFO would block the event loop; keepalived refuses those too)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return 0
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read(4096).split()
    except OSError:
        return 0
    try:
        return int(text[0]) if text else 0
    except ValueError:
        return 0


def file_outcome(value: int, weight: int, reverse: bool, rs_weight: int) -> CheckOutcome:
    if weight == 0:
        return CheckOutcome(value == 0, detail=f"track file value {value}")
    delta = value * weight * (-1 if reverse else 1)
    new = rs_weight + delta
    if new < 0:
        return CheckOutcome(False, detail=f"track file value {value} gives weight {new}")
    return CheckOutcome(True, weight=new)
