"""HTTP_GET / SSL_GET: one GET per ``url`` block, byte-compatible with keepalived and genhash.

The request is keepalived's template: ``GET <path> HTTP/1.<n>``, ``User-Agent: KeepAliveClient``,
``Connection: close`` for ``1.0C`` and ``1.1``, then ``Host: <virtualhost>`` or ``Host: ip:port``.
The body (everything after the blank line, read to EOF, not de-chunked, but no more than
``Content-Length`` bytes when the header is present) is hashed with MD5, so a ``digest``
computed by ``genhash`` (ours or keepalived's) matches. All url blocks it is given must pass
(the pool hands it one url per check, keepalived's cadence; all of them with fast_recovery).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from pykeepalived.check.connect import RawConnect, Target, make_socket
from pykeepalived.check.virtual_server import CheckOutcome
from pykeepalived.config.model import HttpGet, SslConfig, UrlSpec

MAX_HEADER = 64 * 1024

_REGEX_FLAGS = {
    "caseless": re.IGNORECASE, "multiline": re.MULTILINE, "dotall": re.DOTALL,
    "extended": re.VERBOSE,
}


def build_request(path: str, host_header: str, protocol: str = "1.0") -> bytes:
    """keepalived's GET request for ``http_protocol`` 1.0, 1.0C or 1.1."""
    minor = 1 if protocol == "1.1" else 0
    close = "Connection: close\r\n" if protocol.upper() in ("1.0C", "1.1") else ""
    return (f"GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}"
            f"Host: {host_header}\r\n\r\n").encode()


@dataclass(frozen=True)
class HttpResult:
    status: int | None
    digest: str
    body_len: int
    headers: bytes
    elapsed: float = 0.0
    error: str = ""
    body: bytes = b""  # only with keep_body (regex checks), at most MAX_KEPT_BODY bytes
    # where it failed, in keepalived's words: "Error connecting to", "Connection timeout to",
    # "Read error with", "Timeout HTTP read", "Read, no data received from"
    stage: str = ""


MAX_KEPT_BODY = 4 * 1024 * 1024
# at most 18 digits: int() of a hostile 5000-digit value raises (3.11's digit limit) inside
# data_received; a longer value is no usable cap, so the body is hashed to EOF instead
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,18})(?!\d)",
                             re.IGNORECASE | re.MULTILINE)


def split_response(raw: bytes) -> tuple[int | None, bytes, bytes]:
    """(status code, header block, body) of a raw HTTP/1.x response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    if not sep:
        return None, raw, b""
    first = head.split(b"\n", 1)[0].strip()
    m = re.match(rb"HTTP/\d\.\d\s+(\d{3})", first)
    return (int(m.group(1)) if m else None), head, body


class _Response:
    """Parses a response as it streams in: status and header block, then the body hashed
    (capped at Content-Length, as genhash) and, for regex checks, kept."""

    def __init__(self, keep_body: bool) -> None:
        self.md5 = hashlib.md5()
        self.buf = b""
        self.head = b""
        self.status: int | None = None
        self.in_body = False
        self.total = 0
        self.hash_left: int | None = None  # Content-Length caps what is hashed (as genhash)
        self.kept: bytearray | None = bytearray() if keep_body else None

    def _body(self, data: bytes) -> None:
        if self.hash_left is None:
            self.md5.update(data)
        elif self.hash_left > 0:
            self.md5.update(data[:self.hash_left])
            self.hash_left -= min(len(data), self.hash_left)
        self.total += len(data)
        if self.kept is not None and len(self.kept) < MAX_KEPT_BODY:
            self.kept += data[:MAX_KEPT_BODY - len(self.kept)]

    def feed(self, data: bytes) -> str:
        """Take the next bytes; returns an error when the response cannot be valid."""
        if self.in_body:
            self._body(data)
            return ""
        self.buf += data
        status, head, body = split_response(self.buf)
        if body or self.buf.endswith((b"\r\n\r\n", b"\n\n")):
            self.status, self.head, self.in_body = status, head, True
            self.buf = b""
            m = _CONTENT_LENGTH.search(head)
            if m:
                self.hash_left = int(m.group(1))
            self._body(body)
        elif len(self.buf) > MAX_HEADER:
            return "header too long"
        return ""

    def result(self, error: str, elapsed: float) -> HttpResult:
        """The outcome once the connection ended (``error``: why it ended early)."""
        if error:
            stage = "Timeout HTTP read" if "timeout" in error else "Read error with"
            return HttpResult(self.status, "", self.total, self.head, error=error, stage=stage)
        if not self.in_body:
            status, head, _ = split_response(self.buf)
            if status is None:
                return HttpResult(None, "", 0, self.buf[:200], error="no HTTP response",
                                  stage="Read, no data received from")
            return HttpResult(status, hashlib.md5(b"").hexdigest(), 0, head, elapsed=elapsed)
        return HttpResult(self.status, self.md5.hexdigest(), self.total, self.head,
                          elapsed=elapsed,
                          body=bytes(self.kept) if self.kept is not None else b"")


class _GetProtocol(asyncio.Protocol):
    """SSL_GET's side: sends the request over the TLS transport, resolves ``done`` at EOF.

    ``quiet``: the connection is dropped without a close_notify alert, keepalived's TLS
    shutdown unless tls_compliant.
    """

    def __init__(self, request: bytes, keep_body: bool, done: asyncio.Future[str],
                 quiet: bool = False) -> None:
        self.request = request
        self.done = done
        self.quiet = quiet
        self.resp = _Response(keep_body)
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        error = self.resp.feed(data)
        if error:
            self._finish(error)

    def eof_received(self) -> bool:
        if self.quiet and isinstance(self.transport, asyncio.Transport):
            self.transport.abort()  # keepalived's quiet TLS shutdown: no close_notify back
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        # An unclean TLS close after the body is what many servers do: not an error.
        self._finish("" if exc is None or self.resp.in_body else f"read failed: {exc}")

    def _finish(self, error: str) -> None:
        if not self.done.done():
            self.done.set_result(error)
        if self.transport is not None and not self.transport.is_closing():
            if self.quiet and isinstance(self.transport, asyncio.Transport):
                self.transport.abort()
            else:
                self.transport.close()


#: bytes read per readable event at most, so an endless body cannot hold the loop
_READ_CHUNK = 65536
_READS_PER_EVENT = 16


class _PlainGet(RawConnect):
    """HTTP_GET over a bare socket: connect (``RawConnect``), send the request, read to EOF.

    Each stage has ``t.timeout``: the connect from the connect() call, the response from the
    request's sending. A deadline that fires drains the socket first, so a response that is
    already in the kernel's buffer counts even when this process was late to look.
    """

    def __init__(self, t: Target, loop: asyncio.AbstractEventLoop, request: bytes,
                 keep_body: bool, on_done: Callable[[HttpResult], None]) -> None:
        super().__init__(t, loop)
        self.request = request
        self.resp = _Response(keep_body)
        self.on_done = on_done

    def connected(self) -> None:
        assert self.sock is not None
        try:
            sent = self.sock.send(self.request)
        except OSError as e:
            self.failed("Error connecting to", str(e))
            return
        if sent < len(self.request):  # a request of a few hundred bytes: not in practice
            self.failed("Error connecting to", "request not sent whole")
            return
        self.watch_read(self._on_read)
        self.at(self.loop.time() + self.t.timeout, self._read_deadline)

    def _on_read(self) -> None:
        assert self.sock is not None
        for _ in range(_READS_PER_EVENT):
            try:
                data = self.sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                # a reset after the body is how some servers close: not an error
                self._finish("" if self.resp.in_body else f"read failed: {e}")
                return
            if not data:
                self._finish("")
                return
            error = self.resp.feed(data)
            if error:
                self._finish(error)
                return

    def _read_deadline(self) -> None:
        self.timer = None
        self._on_read()  # what already arrived counts
        if not self.finished:
            self._finish("read failed: timeout")

    def failed(self, stage: str, why: str) -> None:
        self._done(HttpResult(None, "", 0, b"", error=f"connection failed: {why}", stage=stage))

    def _finish(self, error: str) -> None:
        self._done(self.resp.result(error, self.loop.time() - self.began))

    def _done(self, r: HttpResult) -> None:
        self.close()
        if not self.finished:
            self.finished = True
            self.on_done(r)


async def _plain_fetch(t: Target, request: bytes, keep_body: bool) -> HttpResult:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[HttpResult] = loop.create_future()
    probe = _PlainGet(t, loop, request, keep_body, done.set_result)
    probe.start()
    try:
        return await done
    finally:
        probe.close()


async def fetch(t: Target, path: str, host_header: str, protocol: str = "1.0",
                ssl_ctx: ssl.SSLContext | None = None,
                server_hostname: str | None = None, keep_body: bool = False,
                tls_compliant: bool = False) -> HttpResult:
    """GET ``path`` and hash the body; network errors come back in ``error``.

    ``t.timeout`` bounds the connection (and TLS handshake), then separately the response.
    Over TLS the connection is closed as keepalived closes it: quietly (no close_notify
    alert) unless ``tls_compliant``.
    """
    request = build_request(path, host_header, protocol)
    if ssl_ctx is None:
        return await _plain_fetch(t, request, keep_body)
    loop = asyncio.get_running_loop()
    start = loop.time()
    done: asyncio.Future[str] = loop.create_future()
    proto = _GetProtocol(request, keep_body, done, quiet=not tls_compliant)
    transport: asyncio.BaseTransport | None = None
    try:
        sock = make_socket(t)
    except OSError as e:
        return HttpResult(None, "", 0, b"", error=f"connection failed: {e}",
                          stage="Error connecting to")
    try:
        async with asyncio.timeout(t.timeout):
            await loop.sock_connect(sock, (t.host, t.port))
            transport, _ = await loop.create_connection(
                lambda: proto, sock=sock, ssl=ssl_ctx, server_hostname=server_hostname or "",
                ssl_handshake_timeout=t.timeout)
    except (OSError, TimeoutError, ssl.SSLError) as e:
        sock.close()
        stage = "Connection timeout to" if isinstance(e, TimeoutError) else "Error connecting to"
        why = str(e) or type(e).__name__
        return HttpResult(None, "", 0, b"", error=f"connection failed: {why}", stage=stage)
    except BaseException:
        sock.close()
        raise
    try:
        async with asyncio.timeout(t.timeout):
            error = await done
    except TimeoutError:
        error = "read failed: timeout"
    finally:
        if isinstance(transport, asyncio.Transport) and not transport.is_closing():
            if done.done() and not proto.quiet:
                transport.close()
            else:
                transport.abort()
    return proto.resp.result(error, loop.time() - start)


def status_ok(status: int | None, ranges: tuple[tuple[int, int], ...]) -> bool:
    return status is not None and any(lo <= status <= hi for lo, hi in ranges)


def regex_ok(url: UrlSpec, body: bytes) -> bool:
    if not url.regex:
        return True
    flags = 0
    for o in url.regex_options:
        flags |= _REGEX_FLAGS.get(o.lower(), 0)
    lo = url.regex_min_offset or 0
    hi = url.regex_max_offset
    text = body[lo:hi] if hi is not None else body[lo:]
    found = re.search(url.regex.encode(), text, flags) is not None
    return found != url.regex_no_match


def make_ssl_context(ssl_cfg: SslConfig | None) -> ssl.SSLContext:
    """keepalived's SSL_GET does not verify the server unless a ``ca`` is configured."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if ssl_cfg is not None and ssl_cfg.ca:
        ctx.load_verify_locations(ssl_cfg.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if ssl_cfg is not None and ssl_cfg.certificate:
        ctx.load_cert_chain(ssl_cfg.certificate, ssl_cfg.key, ssl_cfg.password)
    return ctx


async def http_check(chk: HttpGet, t: Target, *, use_ssl: bool,
                     ssl_ctx: ssl.SSLContext | None = None,
                     rs_virtualhost: str | None = None) -> CheckOutcome:
    """Run every url block; the first failure decides (keepalived stops at the first bad url)."""
    if use_ssl and ssl_ctx is None:
        ssl_ctx = make_ssl_context(None)
    urls = chk.urls or (UrlSpec(path="/"),)
    for url in urls:
        vhost = url.virtualhost or chk.virtualhost or rs_virtualhost
        host_header = vhost or t.host_port()
        sni = None
        if use_ssl and chk.enable_sni:
            sni = chk.sni_name or vhost
        r = await fetch(t, url.path, host_header, chk.http_protocol,
                        ssl_ctx if use_ssl else None, sni, keep_body=url.regex is not None,
                        tls_compliant=chk.tls_compliant or url.tls_compliant)
        outcome = url_outcome(url, r)
        if not outcome.ok:
            return outcome
    return CheckOutcome(True)


def url_outcome(url: UrlSpec, r: HttpResult) -> CheckOutcome:
    """One url's verdict; the details are keepalived's reasons (the pool logs "<reason>
    server [ip]:tcp:port.")."""
    if r.error:
        return CheckOutcome(False, detail=r.stage or "Read error with")
    if not status_ok(r.status, url.status_codes):
        return CheckOutcome(False, detail="HTTP status code error to")
    if url.digest and r.digest != url.digest.lower():
        return CheckOutcome(False, detail="MD5 digest error to")
    if not regex_ok(url, r.body):
        return CheckOutcome(False, detail="Regex match failed")
    return CheckOutcome(True)


_OK = CheckOutcome(True)


def start_http_get(chk: HttpGet, t: Target, rs_virtualhost: str | None,
                   on_done: Callable[[CheckOutcome], None]) -> RawConnect | None:
    """Start a plain (not SSL) HTTP_GET of a single url driven by loop callbacks alone, no
    task: the checker's hot path. None when the check needs ``http_check`` (several urls)."""
    urls = chk.urls or (UrlSpec(path="/"),)
    if len(urls) != 1:
        return None
    url = urls[0]
    vhost = url.virtualhost or chk.virtualhost or rs_virtualhost
    request = build_request(url.path, vhost or t.host_port(), chk.http_protocol)

    def done(r: HttpResult) -> None:
        on_done(_OK if not r.error and status_ok(r.status, url.status_codes)
                and not url.digest and not url.regex else url_outcome(url, r))

    probe = _PlainGet(t, asyncio.get_running_loop(), request, url.regex is not None, done)
    probe.start()
    return probe
