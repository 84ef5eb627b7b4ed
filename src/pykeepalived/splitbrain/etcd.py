"""etcd v3 over its HTTP/JSON gateway, on plain asyncio streams (the lease arbiter's shell).

Why the gateway and not a gRPC client: every etcd v3 server (Debian's 3.4 included) serves
``/v3/lease/grant``, ``/v3/lease/keepalive``, ``/v3/lease/revoke``, ``/v3/kv/txn`` and the
streaming ``/v3/watch`` as JSON over HTTP/1.1, which is all the arbiter needs. A gRPC client
(aetcd, etcd3) would bring grpcio and protobuf into the VRRP child: tens of MB of resident
memory in a process that otherwise stays small, threads of its own, and protobuf-version
coupling; a sync client (etcd3gw) would need a thread per call. Here one persistent
connection carries the unary calls (keep-alive), and each watch has its own.

Errors are ``EtcdError`` with a short reason; the caller (the arbiter core) decides what an
unreachable etcd means. Endpoints are tried in turn: a request that fails on one goes to the
next within its timeout, and the one that answered is used first from then on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit


class EtcdError(Exception):
    pass


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(text: str) -> str:
    return base64.b64decode(text).decode(errors="replace")


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _request(host: str, path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _read_body(r: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await r.readuntil(b"\r\n\r\n")
    # empty lines before the status line are ignored (RFC 9112 2.2): the end of a previous
    # chunked reply may leave one on a kept-alive connection
    lines = head.decode(errors="replace").lstrip("\r\n").split("\r\n")
    first = lines[0].split()
    if len(first) < 2 or not first[1].isdigit():
        raise ValueError(f"not an HTTP status line: {lines[0][:60]!r}")
    status = int(first[1])
    hdr = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    if "content-length" in hdr:
        return status, await r.readexactly(int(hdr["content-length"]))
    if hdr.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int((await r.readline()).strip() or b"0", 16)
            if size == 0:
                await r.readline()
                return status, out
            out += await r.readexactly(size)
            await r.readline()
    return status, await r.read()


class EtcdGateway:
    def __init__(self, endpoints: Sequence[str], timeout: float = 0.5) -> None:
        self.endpoints = [urlsplit(e) for e in endpoints]
        self.timeout = timeout
        self._conns = [_Conn(u.hostname or "", u.port or 2379) for u in self.endpoints]
        self._first = 0
        self._lock = asyncio.Lock()

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path`` on the first endpoint that answers within the timeout."""
        data = json.dumps(body).encode()
        errors = []
        async with self._lock:
            n = len(self._conns)
            for k in range(n):
                i = (self._first + k) % n
                c = self._conns[i]
                try:
                    out = await asyncio.wait_for(self._one(c, path, data), self.timeout)
                    self._first = i
                    return out
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                    c.close()
                    errors.append(f"{c.host}:{c.port} {type(e).__name__} {e}".strip())
        raise EtcdError("; ".join(errors))

    async def _one(self, c: _Conn, path: str, data: bytes) -> dict[str, Any]:
        await c.open()
        assert c.reader is not None and c.writer is not None
        c.writer.write(_request(c.host, path, data))
        await c.writer.drain()
        status, body = await _read_body(c.reader)
        doc = json.loads(body or b"{}")
        if "result" in doc and isinstance(doc["result"], dict):
            doc = doc["result"]  # streaming endpoints (keepalive) wrap their one message
        if status != 200:
            raise EtcdError(f"HTTP {status}: {doc.get('message') or doc.get('error')}")
        return dict(doc)

    def close(self) -> None:
        for c in self._conns:
            c.close()

    # ------------------------------------------------------------------ etcd calls
    async def grant(self, ttl: int) -> tuple[int, int]:
        r = await self.call("/v3/lease/grant", {"TTL": ttl})
        if r.get("error"):
            raise EtcdError(str(r["error"]))
        return int(r["ID"]), int(r.get("TTL", ttl))

    async def keepalive(self, lease: int) -> int:
        """Remaining TTL after the renewal; 0 when etcd no longer knows the lease."""
        r = await self.call("/v3/lease/keepalive", {"ID": str(lease)})
        return int(r.get("TTL", 0))

    async def revoke(self, lease: int) -> None:
        await self.call("/v3/lease/revoke", {"ID": str(lease)})

    async def acquire(self, key: str, value: str, lease: int) -> tuple[bool, str]:
        """Create ``key`` with ``value`` on ``lease`` unless it exists: (ours, holder value)."""
        k = b64(key)
        r = await self.call("/v3/kv/txn", {
            "compare": [{"key": k, "target": "CREATE", "create_revision": "0"}],
            "success": [{"request_put": {"key": k, "value": b64(value), "lease": str(lease)}}],
            "failure": [{"request_range": {"key": k}}]})
        if r.get("succeeded"):
            return True, value
        kvs = (r.get("responses") or [{}])[0].get("response_range", {}).get("kvs") or []
        if not kvs:
            return False, ""  # deleted between compare and range: try again
        kv = kvs[0]
        held = unb64(kv.get("value", ""))
        if int(kv.get("lease", 0)) == lease:
            return True, held
        if held == value:
            # our own key on a lease we have given up (etcd was away): move it to this one,
            # only if nobody changed it meanwhile
            r = await self.call("/v3/kv/txn", {
                "compare": [{"key": k, "target": "VALUE", "value": b64(value)}],
                "success": [{"request_put": {"key": k, "value": b64(value),
                                             "lease": str(lease)}}]})
            return bool(r.get("succeeded")), held
        return False, held

    async def release(self, key: str, lease: int) -> None:
        k = b64(key)
        await self.call("/v3/kv/txn", {
            "compare": [{"key": k, "target": "LEASE", "lease": str(lease)}],
            "success": [{"request_delete_range": {"key": k}}]})

    async def watch_delete(self, key: str, on_delete: Callable[[], Awaitable[None] | None]
                           ) -> None:
        """Call ``on_delete`` at each deletion of ``key`` until cancelled (own connection)."""
        errors = 0
        while True:
            u = self.endpoints[self._first]
            c = _Conn(u.hostname or "", u.port or 2379)
            try:
                await asyncio.wait_for(c.open(), self.timeout)
                assert c.reader is not None and c.writer is not None
                body = json.dumps({"create_request": {"key": b64(key)}}).encode()
                c.writer.write(_request(c.host, "/v3/watch", body))
                await c.writer.drain()
                await c.reader.readuntil(b"\r\n\r\n")
                while True:
                    line = await c.reader.readline()
                    if not line:
                        break
                    if b'"DELETE"' in line:
                        res = on_delete()
                        if asyncio.iscoroutine(res):
                            await res
                errors = 0
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                errors += 1
                self._first = (self._first + 1) % len(self.endpoints)
            finally:
                c.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.sleep(min(0.1 * errors, 1.0))
