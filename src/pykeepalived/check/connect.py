"""Opening checker connections with keepalived's per-checker socket options.

``bindto``/``bind_port`` (source address/port), ``bind_if`` (SO_BINDTODEVICE) and ``fwmark``
(SO_MARK) must be set before connect(), so the socket is built by hand and handed to asyncio.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("pykeepalived.check")

SO_MARK = getattr(socket, "SO_MARK", 36)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


@dataclass(frozen=True)
class Target:
    """Where and how a probe connects (the common checker options, resolved)."""

    host: str
    port: int
    timeout: float = 5.0
    bindto: str | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    fwmark: int | None = None

    @property
    def family(self) -> int:
        # the host is an address literal (the parser checked it); an IPv6 one has a colon.
        # Not ipaddress.ip_address: this runs for every check, thousands of times a second.
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def host_port(self) -> str:
        """``ip:port`` (``[ip]:port`` for IPv6), as in keepalived's Host header."""
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"{h}:{self.port}"


def make_socket(t: Target, kind: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket:
    """A non-blocking socket with the checker's bind/mark/device options applied."""
    sock = socket.socket(t.family, kind, proto)
    try:
        sock.setblocking(False)
        if t.fwmark:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, t.fwmark)
        if t.bind_if:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, t.bind_if.encode())
        if t.bindto or t.bind_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((t.bindto or ("::" if t.family == socket.AF_INET6 else "0.0.0.0"),
                       t.bind_port or 0))
    except OSError:
        sock.close()
        raise
    return sock


async def open_stream(t: Target, ssl_ctx: ssl.SSLContext | None = None,
                      server_hostname: str | None = None
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect (and handshake) within ``t.timeout``; raises OSError/TimeoutError on failure."""
    sock = make_socket(t)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(t.timeout):
            await loop.sock_connect(sock, (t.host, t.port))
            kw: dict[str, object] = {}
            if ssl_ctx is not None:
                kw = {"ssl": ssl_ctx, "server_hostname": server_hostname or "",
                      "ssl_handshake_timeout": t.timeout}
            return await asyncio.open_connection(sock=sock, **kw)  # type: ignore[arg-type]
    except BaseException:
        sock.close()
        raise


async def close_stream(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (OSError, TimeoutError, ssl.SSLError):
        pass


_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY)


class RawConnect:
    """A connect() on a bare non-blocking socket, driven by the loop's writer callback and one
    deadline timer: no transport, no future and no task step per I/O event, because a checker
    runs thousands of these a second.

    The deadline counts from the connect() call itself, not from when the check was due, and
    when it fires the socket is asked what really happened (``getpeername``) before anything is
    declared timed out: a checker that ran its timer late, because it was starved of CPU,
    still sees a connection the kernel completed in time. Subclasses get ``connected()`` or
    ``failed(stage, why)``; ``close()`` releases everything (idempotent).
    """

    def __init__(self, t: Target, loop: asyncio.AbstractEventLoop) -> None:
        self.finished = False
        self.t = t
        self.loop = loop
        self.sock: socket.socket | None = None
        self.fd = -1
        self.timer: asyncio.TimerHandle | None = None
        self.began = 0.0
        self._writing = False
        self._reading = False

    def _safe(self, cb: Callable[[], None]) -> None:
        """Run a loop callback; a bug in it is a failed check, never a check left running."""
        try:
            cb()
        except Exception as e:
            log.exception("probe on %s crashed", self.t.host_port())
            if not self.finished:
                self.failed("Error connecting to", f"probe error: {e!r}")

    def at(self, when: float, cb: Callable[[], None]) -> None:
        """The stage's deadline timer (one at a time)."""
        self.cancel_timer()
        self.timer = self.loop.call_at(when, self._safe, cb)

    def start(self) -> None:
        """Open the socket and begin the connect (``failed`` at once when it cannot)."""
        self._safe(self._start)

    def _start(self) -> None:
        try:
            self.sock = make_socket(self.t)
        except OSError as e:
            self.failed("Error connecting to", f"socket: {e}")
            return
        self.fd = self.sock.fileno()
        self.began = self.loop.time()
        err = self.sock.connect_ex((self.t.host, self.t.port))
        if err == 0:
            self.connected()
        elif err in _IN_PROGRESS:
            try:  # loopback and other local peers finish the handshake inside connect()
                self.sock.getpeername()
            except OSError:
                pass
            else:
                self.connected()
                return
            self.watch_write(self._on_connect)
            self.at(self.began + self.t.timeout, self._connect_deadline)
        else:
            self.failed("Error connecting to", str(OSError(err, os.strerror(err))))

    def _on_connect(self) -> None:
        assert self.sock is not None
        self.unwatch_write()
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.cancel_timer()
        if err:
            self.failed("Error connecting to", str(OSError(err, os.strerror(err))))
        else:
            self.connected()

    def _connect_deadline(self) -> None:
        self.timer = None
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.unwatch_write()
            self.failed("Error connecting to", str(OSError(err, os.strerror(err))))
            return
        try:
            self.sock.getpeername()
        except OSError:  # still not connected, measured from the connect() call
            self.unwatch_write()
            self.failed("Connection timeout to", "timeout")
            return
        self._on_connect()  # done in time; only this process was late to notice

    def watch_write(self, cb: Callable[[], None]) -> None:
        self.loop.add_writer(self.fd, self._safe, cb)
        self._writing = True

    def unwatch_write(self) -> None:
        if self._writing:
            self.loop.remove_writer(self.fd)
            self._writing = False

    def watch_read(self, cb: Callable[[], None]) -> None:
        self.loop.add_reader(self.fd, self._safe, cb)
        self._reading = True

    def unwatch_read(self) -> None:
        if self._reading:
            self.loop.remove_reader(self.fd)
            self._reading = False

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def close(self) -> None:
        self.cancel_timer()
        self.unwatch_write()
        self.unwatch_read()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def connected(self) -> None:
        raise NotImplementedError

    def failed(self, stage: str, why: str) -> None:
        raise NotImplementedError
