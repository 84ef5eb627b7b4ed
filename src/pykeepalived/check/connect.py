"""Opening checker connections with keepalived's per-checker socket options.

``bindto``/``bind_port`` (source address/port), ``bind_if`` (SO_BINDTODEVICE) and ``fwmark``
(SO_MARK) must be set before connect(), so the socket is built by hand and handed to asyncio.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass

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
        return socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET

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
