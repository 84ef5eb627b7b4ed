"""Run a few syscalls inside another network namespace, from the calling thread only.

The daemon itself runs inside its namespace and never needs this; the namespace tests and the lab
demo do: a socket (raw, packet, netlink) belongs to the namespace it was *created* in, so we enter
the namespace just long enough to create it and come straight back. ``setns(2)`` changes only the
calling thread, so other threads and the event loop's bookkeeping are unaffected.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name: str | None) -> Iterator[None]:
    """Execute the body with the calling thread in network namespace ``name``.

    ``None`` means "stay where we are" so callers can pass their optional ``netns`` through.
    Sockets created in the body stay in ``name`` after the block ends.
    """
    if name is None:
        yield
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def netns_cmd(name: str | None, argv: list[str]) -> list[str]:
    """``argv`` prefixed to run inside ``name`` (unchanged for ``None``)."""
    return argv if name is None else ["ip", "netns", "exec", name, *argv]
