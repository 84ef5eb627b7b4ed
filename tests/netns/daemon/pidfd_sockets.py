"""The sockets another process holds, duplicated into this one (``pidfd_getfd``), so a test can
read their options (SO_RCVBUF...) from the sockets themselves."""

from __future__ import annotations

import ctypes
import os
import re
import socket
from collections.abc import Iterator

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_PIDFD_GETFD = 438


def dup_sockets(pid: int) -> Iterator[tuple[int, socket.socket]]:
    """``(inode, socket)`` for each socket ``pid`` holds (closed after each step; a descriptor
    that went away meanwhile is skipped)."""
    pidfd = os.pidfd_open(pid)
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                continue
            if not m:
                continue
            mine = _libc.syscall(_SYS_PIDFD_GETFD, pidfd, int(fd), 0)
            if mine < 0:
                continue
            with socket.socket(fileno=mine) as s:
                yield int(m.group(1)), s
    finally:
        os.close(pidfd)
