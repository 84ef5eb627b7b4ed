"""The signals the daemon handles, and blocking them from the interpreter's first moment.

``python -m pykeepalived`` blocks them before it imports anything else (``__main__``): a
TERM sent while the daemon still imports, parses its file or starts a child is then pending,
read by the parent from its signalfd (``daemon.main``) or by a child once it can act on it
(``process.stop_while_starting``), instead of killing the process by the default action with
a pid file, a helper or a child left behind. Every use of the command line that is not the
daemon unblocks them again (``cli.main``). Kept free of imports: it runs that early.
"""

from __future__ import annotations

import signal

SIGJSON = signal.SIGRTMIN + 2
SIGSTATS_CLEAR = signal.SIGRTMAX - 1
SIGTDUMP = signal.SIGRTMAX
FORWARDED = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, SIGJSON, SIGSTATS_CLEAR, SIGTDUMP)
STOP = (signal.SIGTERM, signal.SIGINT)
HANDLED = (*FORWARDED, *STOP, signal.SIGCHLD)


def block_handled() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)


def unblock_all() -> None:
    """Deliver whatever is pending (with each signal's current disposition)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
