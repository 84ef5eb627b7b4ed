"""I/O shells for trackers: vrrp_script runners, track_file watchers, process monitoring.

They produce ``TrackerChanged`` events; the arithmetic on priorities lives in
``vrrp.tracking``. Public API: ``Trackers`` (everything a config tracks), ``TrackerChanged``,
``TrackerKind`` and ``ScriptTracker`` (the sans-IO rise/fall counter).

Imports ``config`` and ``script`` (running and vetting vrrp_scripts); imported by ``daemon``
only. Never imports ``notify``, ``check``, ``lvs`` or ``vrrp``.
"""

from pykeepalived.track.events import TrackerChanged, TrackerKind
from pykeepalived.track.manager import Trackers
from pykeepalived.track.script import ScriptState, ScriptTracker

__all__ = ["ScriptState", "ScriptTracker", "TrackerChanged", "TrackerKind", "Trackers"]
