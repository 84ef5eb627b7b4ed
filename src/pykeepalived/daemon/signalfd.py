"""signalfd(2) through ctypes: blocked signals read from a file descriptor.

The parent blocks every signal it handles (none can be lost or interrupt it between two
checks) and must also watch its children's status pipes; ``sigtimedwait`` cannot wait on a
descriptor, so the blocked signals are read from a signalfd polled together with the pipes.
A signal stays pending until read, exactly as with ``sigtimedwait``.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable

from pykeepalived.daemon.process import libc

SFD_NONBLOCK = os.O_NONBLOCK
SFD_CLOEXEC = 0o2000000
_SIGINFO_SIZE = 128  # struct signalfd_siginfo


class _SigSet(ctypes.Structure):
    _fields_ = [("val", ctypes.c_ulong * (1024 // (8 * ctypes.sizeof(ctypes.c_ulong))))]


class SignalFd:
    """A non-blocking signalfd for ``signals`` (which the caller keeps blocked)."""

    def __init__(self, signals: Iterable[int]) -> None:
        c = libc()
        mask = _SigSet()
        c.sigemptyset(ctypes.byref(mask))
        for s in signals:
            c.sigaddset(ctypes.byref(mask), int(s))
        fd = c.signalfd(-1, ctypes.byref(mask), SFD_NONBLOCK | SFD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"signalfd: {os.strerror(err)}")
        self.fd = int(fd)

    def fileno(self) -> int:
        return self.fd

    def read(self) -> list[int]:
        """Every signal pending now, in arrival order (empty when none)."""
        out: list[int] = []
        while True:
            try:
                data = os.read(self.fd, _SIGINFO_SIZE * 16)
            except BlockingIOError:
                return out
            if not data:
                return out
            for off in range(0, len(data) - _SIGINFO_SIZE + 1, _SIGINFO_SIZE):
                out.append(struct.unpack_from("I", data, off)[0])

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
