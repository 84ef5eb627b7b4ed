"""I/O shells for trackers: vrrp_script runners, track_file watchers, process monitoring.

They produce ``TrackerChanged`` events; the arithmetic on priorities lives in
``vrrp.tracking``. Public API: ``Trackers`` (everything a config tracks), ``TrackerChanged``,
``TrackerKind``, ``ScriptTracker`` (the sans-IO rise/fall counter) and
``security.script_security_messages`` (for ``keepalived -t``).
"""

from pykeepalived.track.events import TrackerChanged, TrackerKind
from pykeepalived.track.manager import Trackers
from pykeepalived.track.script import ScriptState, ScriptTracker

__all__ = ["ScriptState", "ScriptTracker", "TrackerChanged", "TrackerKind", "Trackers"]
