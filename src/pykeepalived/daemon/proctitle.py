"""Process names as keepalived's: ``keepalived`` in ``/proc/PID/comm`` and ``cmdline``.

Operators and their scripts find keepalived with ``killall keepalived``, ``pidof keepalived``
and ``pgrep -x keepalived`` (seed scripts do ``killall -0``), which read two different things:
``comm`` (the kernel's 15-byte task name: killall, pgrep, ``ps -o comm``) and ``argv[0]`` of
``cmdline`` (pidof). A Python process has ``python3`` in both. keepalived's processes all show
the parent's command line (children are forked) and the task name ``keepalived``, except where
``global_defs`` says otherwise:

* ``process_name NAME``: the parent's task name (and, being inherited, the children's);
* ``vrrp_process_name NAME`` / ``checker_process_name NAME``: one child's;
* ``process_names``: ``keepalived_vrrp`` and ``keepalived_lvs`` for the children.

``comm`` is set with ``prctl(PR_SET_NAME)``. ``cmdline`` cannot be changed by any syscall: the
kernel reads the process's original argv memory, which has to be rewritten in place. That is
what the ``setproctitle`` library does (it moves ``environ`` out of the way to make room, and
handles the cases where the area is short), so it is used rather than re-implemented with
ctypes; the children are re-executed Python interpreters, so each sets its own title. Without
``setproctitle`` installed only ``comm`` changes (pidof then finds nothing) and a line is logged.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import shlex
from collections.abc import Sequence
from typing import Protocol

from pykeepalived.daemon.process import PR_SET_NAME, libc

log = logging.getLogger("pykeepalived")

TASK_COMM_LEN = 16
DEFAULT_NAME = "keepalived"
PROCESS_NAMES = {"vrrp": "keepalived_vrrp", "checker": "keepalived_lvs"}


class _NameDefs(Protocol):
    @property
    def process_names(self) -> bool: ...
    @property
    def process_name(self) -> str | None: ...
    @property
    def vrrp_process_name(self) -> str | None: ...
    @property
    def checker_process_name(self) -> str | None: ...


def process_name(gd: _NameDefs | None, child: str | None) -> str:
    """The task name keepalived 2.2.7 gives the parent (``child`` None) or a child."""
    parent = (gd.process_name if gd is not None else None) or DEFAULT_NAME
    if child is None or gd is None:
        return parent[:TASK_COMM_LEN - 1]
    own = {"vrrp": gd.vrrp_process_name, "checker": gd.checker_process_name}.get(child)
    if own is None and gd.process_names:
        own = PROCESS_NAMES.get(child)
    return (own or parent)[:TASK_COMM_LEN - 1]


def title_for(argv: Sequence[str]) -> str:
    """The command line every process shows: the parent's arguments after ``keepalived``
    (so ``pidof keepalived`` finds them, as it finds keepalived's forked children)."""
    return " ".join([DEFAULT_NAME, *(shlex.quote(a) if a else "''" for a in argv)])


def set_comm(name: str) -> bool:
    try:
        ok = int(libc().prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:TASK_COMM_LEN - 1]),
                              0, 0, 0)) == 0
    except (OSError, AttributeError):
        ok = False
    if not ok:
        log.info("Failed to set process name '%s'", name)  # keepalived's phrase
    return ok


_warned = False


def set_title(title: str, name: str) -> None:
    """``cmdline`` := ``title`` (when setproctitle is there) and ``comm`` := ``name``."""
    global _warned
    try:
        import setproctitle
    except ImportError:
        if not _warned:
            _warned = True
            log.info("setproctitle is not installed: the command line keeps its Python form")
    else:
        with contextlib.suppress(Exception):
            setproctitle.setproctitle(title)
    # after setproctitle, which sets comm to the title's first 15 bytes
    set_comm(name)
