"""Telling the operator: notify scripts, notify FIFOs and SMTP alerts. Fire-and-forget, reaped,
never blocking the caller's event loop.

Public API: ``Notifier`` (the façade both daemon children call), ``notify.scripts`` (the global
startup/shutdown scripts) and the pure line formatters in ``notify.fifo``. Scripts are spawned
and vetted by ``script`` (``ProcessRunner``, ``RunAs``, ``check_script``).

Imports ``config`` and ``script``; imported by ``daemon`` only. Never imports ``track``,
``check``, ``lvs`` or ``vrrp``.
"""

from pykeepalived.notify.notifier import Notifier, state_name

__all__ = ["Notifier", "state_name"]
