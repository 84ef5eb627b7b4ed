"""rtnetlink notifications (multicast groups) read into one buffer that is reused.

A socket bound to rtnetlink groups gets one datagram per kernel change: each VIP a VRRP
instance adds or removes is one RTM_NEWADDR/RTM_DELADDR. asyncio's datagram transport (what
pyroute2's ``AsyncIPRoute`` reads through) calls ``recvfrom(256 KiB)`` for every datagram: a
256 KiB block of the C heap (glibc serves it from the heap, not mmap, once its dynamic mmap
threshold has risen past that size), shrunk in place to the datagram's few hundred bytes.
Small blocks that live on settle in the space freed between two such reads, the next 256 KiB
no longer fits anywhere and the heap grows at its top: the VRRP child's RSS grew by ~60 bytes
per VRRP transition over a 30,000-transition soak (``docs/reliability.md``), with no Python
object and no C block more in use. :class:`RtnlListener` reads each datagram with
``recv_into`` a buffer allocated once and copies out only the datagram's bytes, which pyroute2's
rtnetlink decoder (``MarshalRtnl``, as before) turns into messages.
"""

from __future__ import annotations

import asyncio
import errno as errno_mod
import logging
import socket
from collections.abc import Callable
from typing import Any

from pykeepalived.net.netns import in_netns
from pykeepalived.net.rcvbuf import RcvBuf, apply_rcvbuf

log = logging.getLogger("pykeepalived.net")

#: Larger than any single notification (the kernel sizes each to its one message; a link with
#: many VFs is the largest, well under this); a longer one is reported, not half-read.
RECV_BUFFER = 65536
#: Datagrams read per wake-up before the loop gets a turn (a burst is read over several).
MAX_DRAIN = 64
#: The receive buffer pyroute2's sockets ask for (capped by net.core.rmem_max) unless the
#: configuration sets one (``*_netlink_monitor_rcv_bufs``).
DEFAULT_RCVBUF = 1 << 20

MessageCallback = Callable[[Any], None]
OverrunCallback = Callable[[OSError], None]


class RtnlListener:
    """A NETLINK_ROUTE socket bound to ``groups`` in ``netns``, read by the running loop.

    ``start(on_message, on_overrun)``: every decoded message (pyroute2 ``nlmsg``, with its
    ``event`` name) goes to ``on_message``; ``on_overrun`` gets the error when notifications
    were lost (ENOBUFS: the receive buffer overflowed) or one did not fit :data:`RECV_BUFFER`,
    so that the owner can re-read the state it watches. An exception in ``on_message`` is
    logged and the next message is read.
    """

    def __init__(self, groups: int, *, netns: str | None = None, rcvbuf: RcvBuf | None = None,
                 what: str = "netlink monitor") -> None:
        from pykeepalived.net.pyroute2_lite import rtnl_marshal

        with in_netns(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC
                                      | socket.SOCK_NONBLOCK, socket.NETLINK_ROUTE)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, DEFAULT_RCVBUF)
            apply_rcvbuf(self.sock, rcvbuf, what)
            self.sock.bind((0, groups))
        except OSError:
            self.sock.close()
            raise
        self.what = what
        self._buf = bytearray(RECV_BUFFER)
        self._view = memoryview(self._buf)
        self._marshal = rtnl_marshal()()
        self._on_message: MessageCallback | None = None
        self._on_overrun: OverrunCallback | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, on_message: MessageCallback, on_overrun: OverrunCallback) -> None:
        self._on_message, self._on_overrun = on_message, on_overrun
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self.drain)

    def close(self) -> None:
        if self._loop is not None and self.sock.fileno() >= 0:
            try:
                self._loop.remove_reader(self.sock.fileno())
            except (RuntimeError, ValueError):  # the loop is closed already
                pass
        self._loop = None
        self.sock.close()

    def drain(self) -> None:
        """Read and hand on what is waiting (up to :data:`MAX_DRAIN` datagrams)."""
        for _ in range(MAX_DRAIN):
            if self.sock.fileno() < 0:  # a callback closed us
                return
            try:
                n = self.sock.recv_into(self._buf, 0, socket.MSG_TRUNC)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # ENOBUFS; the socket goes on with what comes next
                self._overrun(e)
                continue
            if n > len(self._buf):
                self._overrun(OSError(errno_mod.EMSGSIZE, f"a notification of {n} bytes did "
                                      f"not fit the {len(self._buf)}-byte buffer"))
                continue
            self._dispatch(bytes(self._view[:n]))

    def _dispatch(self, data: bytes) -> None:
        for msg in self._marshal.parse(data):
            if msg["header"].get("error") is not None:
                log.warning("%s: undecodable notification: %s", self.what,
                            msg["header"]["error"])
                continue
            try:
                if self._on_message is not None:
                    self._on_message(msg)
            except Exception:
                log.exception("%s: handling %s failed", self.what, msg.get("event"))

    def _overrun(self, e: OSError) -> None:
        if self._on_overrun is not None:
            self._on_overrun(e)
