"""The ``observe`` child: one HTTP listener for ``/metrics`` and ``/status``.

It runs only when metrics are configured, in a process of its own: however many connections
arrive, however slowly they read, the VRRP child sees one status request per cache period
(``CACHE_SECONDS``) from here. Requests are bounded (``MAX_CLIENTS`` connections at a time,
more are closed at once; a head of at most ``MAX_HEAD`` bytes within ``HEAD_TIMEOUT``; an answer
taken within ``WRITE_TIMEOUT``); anything that is not a well-formed GET gets a 4xx and a closed
connection. A port in use is logged and retried, never fatal: the children do not depend on
this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

from pykeepalived.config.listen import format_listen
from pykeepalived.observe import control

log = logging.getLogger("pykeepalived")

MAX_CLIENTS = 64
MAX_HEAD = 8192
HEAD_TIMEOUT = 5.0
WRITE_TIMEOUT = 10.0
CACHE_SECONDS = 0.5
FETCH_TIMEOUT = 2.0
RETRY_BIND = 5.0

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 431: "Request Header Fields Too Large",
            503: "Service Unavailable"}


class Aggregator:
    """One view of every child, fetched concurrently, cached ``CACHE_SECONDS`` and fetched by
    one request at a time whoever asks (single flight)."""

    def __init__(self, sources: Mapping[str, str], ttl: float = CACHE_SECONDS) -> None:
        self.sources = dict(sources)  # child kind -> status socket
        self.ttl = ttl
        self.fetches = 0
        self._at = -1e9
        self._view: tuple[dict[str, dict[str, Any]], bool] = ({}, False)
        self._flight: asyncio.Task[tuple[dict[str, dict[str, Any]], bool]] | None = None

    async def view(self) -> tuple[dict[str, dict[str, Any]], bool]:
        """(documents by child kind, True when every child answered)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._at < self.ttl:
            return self._view
        if self._flight is None:
            self._flight = loop.create_task(self._fetch())
        flight = self._flight
        try:
            return await asyncio.shield(flight)
        finally:
            if flight.done() and self._flight is flight:
                self._flight = None

    async def _fetch(self) -> tuple[dict[str, dict[str, Any]], bool]:
        kinds = list(self.sources)
        got = await asyncio.gather(*(control.fetch(self.sources[k], FETCH_TIMEOUT)
                                     for k in kinds), return_exceptions=True)
        docs = {k: d for k, d in zip(kinds, got, strict=True) if isinstance(d, dict)}
        self.fetches += 1
        self._view = (docs, len(docs) == len(kinds))
        self._at = asyncio.get_running_loop().time()
        return self._view


def _find(items: list[dict[str, Any]], key: str, name: str) -> dict[str, Any] | None:
    return next((i for i in items if str(i.get(key)) == name), None)


def status_body(docs: Mapping[str, Mapping[str, Any]], up: bool, path: str
                ) -> tuple[int, dict[str, Any] | list[Any]]:
    """``/status`` and below: (HTTP status, JSON value)."""
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")[1:] if p]
    vrrp, lvs = docs.get("vrrp"), docs.get("checker")
    if not parts:
        return 200, {"up": up, "vrrp": vrrp, "lvs": lvs}
    what, rest = parts[0], parts[1:]
    if what == "vrrp":
        insts = [] if vrrp is None else list(vrrp.get("instances", []))
        if not rest:
            return (200, insts) if vrrp is not None else (503, {"error": "no VRRP child"})
        found = _find(insts, "iname", rest[0])
        return (200, found) if found is not None else (404, {"error": "no such instance"})
    if what == "lvs":
        vss = [] if lvs is None else list(lvs.get("virtual_servers", []))
        if not rest:
            return (200, vss) if lvs is not None else (503, {"error": "no checker child"})
        found = _find(vss, "name", "/".join(rest))
        return (200, found) if found is not None else (404, {"error": "no such virtual server"})
    return 404, {"error": "unknown path"}


class HttpListener(control.ClientLimit):
    """The asyncio HTTP/1.x server (one request per connection, ``Connection: close``)."""

    def __init__(self, host: str, port: int, aggregator: Aggregator) -> None:
        super().__init__(MAX_CLIENTS, WRITE_TIMEOUT)
        self.host, self.port = host, port
        self.agg = aggregator
        self._server: asyncio.Server | None = None
        self._binder: asyncio.Task[None] | None = None
        self._rendered: tuple[object, bytes] | None = None

    @property
    def bound_port(self) -> int | None:
        """The port actually bound (``port`` 0 asks the kernel for one), None until bound."""
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    def start(self) -> None:
        self._binder = asyncio.get_running_loop().create_task(self._bind_loop())

    async def _bind_loop(self) -> None:
        logged = False
        while self._server is None:
            try:
                self._server = await asyncio.start_server(
                    self._client, self.host, self.port, limit=MAX_HEAD, reuse_address=True,
                    backlog=128)
                log.info("Metrics and status on http://%s/", format_listen(self.host, self.port))
            except OSError as e:
                if not logged:
                    log.error("Cannot listen on %s for metrics: %s (retrying every %g s)",
                              format_listen(self.host, self.port),
                              os.strerror(e.errno) if e.errno else e, RETRY_BIND)
                    logged = True
                await asyncio.sleep(RETRY_BIND)

    async def close(self) -> None:
        if self._binder is not None:
            self._binder.cancel()
            with contextlib.suppress(BaseException):
                await self._binder
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.admit(writer):
            return
        answered = False
        try:
            status, ctype, body = await self._handle(reader)
            head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            writer.write(head + body)
            answered = True
        except (OSError, TimeoutError):
            pass
        finally:
            await self.release(writer, answered)

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return _error(408, "request head not received in time")
        except asyncio.LimitOverrunError:
            return _error(431, "request head too large")
        except asyncio.IncompleteReadError:
            return _error(400, "incomplete request")
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return _error(400, "not an HTTP/1.x request line")
        method, target = parts[0], parts[1]
        if method != "GET":
            return _error(405, "only GET")
        path = urllib.parse.urlsplit(target).path
        return await self.route(path)

    async def route(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            from pykeepalived.observe.metrics import exposition

            view = await self.agg.view()
            if self._rendered is None or self._rendered[0] is not view:
                self._rendered = (view, exposition(*view))  # once per fetched view
            return 200, "text/plain; version=0.0.4; charset=utf-8", self._rendered[1]
        if path == "/status" or path.startswith("/status/"):
            docs, up = await self.agg.view()
            code, value = status_body(docs, up, path)
            return code, "application/json", json.dumps(value, indent=1).encode() + b"\n"
        if path == "/":
            return 200, "text/plain; charset=utf-8", (
                b"pykeepalived: /metrics (Prometheus), /status, /status/vrrp[/INSTANCE], "
                b"/status/lvs[/VIRTUAL_SERVER]\n")
        return _error(404, "unknown path")


def _error(code: int, text: str) -> tuple[int, str, bytes]:
    return code, "application/json", json.dumps({"error": text}).encode() + b"\n"

