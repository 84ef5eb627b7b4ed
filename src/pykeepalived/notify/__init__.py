"""Telling the operator: notify scripts, notify FIFOs and SMTP alerts. Fire-and-forget, reaped,
never blocking the caller's event loop.

Public API: ``Notifier`` (the façade both daemon children call), ``ProcessRunner`` / ``RunAs``
(spawning any operator script: own session, run-as, timeout kills the process group, orphans
reaped), and the pure line formatters in ``notify.fifo``.
"""

from pykeepalived.notify.notifier import Notifier, state_name
from pykeepalived.notify.runner import Outcome, ProcessRunner, RunAs, RunResult

__all__ = ["Notifier", "Outcome", "ProcessRunner", "RunAs", "RunResult", "state_name"]
