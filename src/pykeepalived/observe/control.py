"""The children's status sockets: a root-only unix socket per child, one request per connection.

A client sends one line (``status``) and reads one JSON document until the server closes.
The server guards the loop it runs in (the VRRP child's): at most ``MAX_CLIENTS`` connections
at a time (more are closed at once), a request line of at most ``MAX_REQUEST`` bytes read
within ``REQUEST_TIMEOUT`` seconds, anything else answered with an error and closed, and a
reader too slow to take the answer within ``WRITE_TIMEOUT`` seconds is cut off. The answer is
built in one loop iteration, so every field of it is from the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("pykeepalived")

MAX_CLIENTS = 4
MAX_REQUEST = 256
REQUEST_TIMEOUT = 1.0
WRITE_TIMEOUT = 2.0

#: Builds the document, JSON-encoded (``vrrp_view.encode``): a provider may encode it piecewise.
Provider = Callable[[], Awaitable[bytes]]


def socket_path(pid_file: str) -> str:
    """A child's status socket sits beside its pid file (``/run/keepalived_vrrp.pid`` →
    ``/run/keepalived_vrrp.sock``), so daemons with their own pid files never share one."""
    base = pid_file[:-4] if pid_file.endswith(".pid") else pid_file
    return base + ".sock"


class ClientLimit:
    """At most ``limit`` connections at a time: the others are cut at once (no answer, no
    read), which costs the loop one accept each however many arrive."""

    def __init__(self, limit: int, write_timeout: float) -> None:
        self.limit = limit
        self.write_timeout = write_timeout
        self.clients = 0
        self.refused = 0

    def admit(self, writer: asyncio.StreamWriter) -> bool:
        if self.clients >= self.limit:
            self.refused += 1
            writer.transport.abort()
            return False
        self.clients += 1
        return True

    async def release(self, writer: asyncio.StreamWriter, answered: bool) -> None:
        """Done with a client: an answer is flushed (``drain`` returns at the low-water mark,
        not when everything left) and the connection closed, within ``write_timeout``; a
        client that failed, or does not take its answer in time, is cut. Its slot is free
        only then."""
        try:
            if answered:
                writer.close()
                async with asyncio.timeout(self.write_timeout):
                    await writer.wait_closed()
        except (OSError, TimeoutError):
            answered = False
        finally:
            if not answered:
                writer.transport.abort()
            self.clients -= 1


class StatusServer(ClientLimit):
    """Serves ``provider()``'s document on a unix socket (mode 0600: root, or the owner)."""

    def __init__(self, path: str, provider: Provider) -> None:
        super().__init__(MAX_CLIENTS, WRITE_TIMEOUT)
        self.path = path
        self.provider = provider
        self.served = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> bool:
        """Bind; a failure is logged and leaves the daemon running without the socket."""
        with contextlib.suppress(FileNotFoundError):
            if not os.path.isdir(self.path):
                os.unlink(self.path)  # a stale socket from a daemon that did not stop
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._client, path=self.path,
                                                           limit=MAX_REQUEST)
        except OSError as e:
            log.warning("Status socket %s unavailable: %s", self.path, e)
            return False
        finally:
            os.umask(old)
        return True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.admit(writer):
            return
        answered = False
        try:
            await self._answer(reader, writer)
            answered = True
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass
        finally:
            await self.release(writer, answered)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            line = await reader.readuntil(b"\n")
        if line.strip() != b"status":
            writer.write(b'{"error": "unknown request"}\n')
        else:
            writer.write(await self.provider())
            self.served += 1


async def fetch(path: str, timeout: float = 2.0) -> dict[str, Any]:
    """One status document from a child's socket (raises ``OSError``/``TimeoutError``/
    ``ValueError`` when the child is absent, slow or answers nonsense)."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_unix_connection(path, limit=64 * 1024 * 1024)
        try:
            writer.write(b"status\n")
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
    doc = json.loads(data)
    if not isinstance(doc, dict) or "error" in doc:
        raise ValueError(f"{path}: unexpected answer")
    return doc


def fetch_sync(path: str, timeout: float = 2.0) -> dict[str, Any]:
    """``fetch`` without an event loop (the CLI)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"status\n")
        chunks: list[bytes] = []
        while chunk := s.recv(1 << 16):
            chunks.append(chunk)
    doc = json.loads(b"".join(chunks))
    if not isinstance(doc, dict) or "error" in doc:
        raise ValueError(f"{path}: unexpected answer")
    return doc
