"""HTTP_GET / SSL_GET: one GET per ``url`` block, byte-compatible with keepalived and genhash.

The request is keepalived's template: ``GET <path> HTTP/1.<n>``, ``User-Agent: KeepAliveClient``,
``Connection: close`` for ``1.0C`` and ``1.1``, then ``Host: <virtualhost>`` or ``Host: ip:port``.
The body (everything after the blank line, read to EOF, not de-chunked) is hashed with MD5,
so a ``digest`` computed by ``genhash`` (ours or keepalived's) matches. All url blocks must pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass

from pykeepalived.check.connect import Target, close_stream, open_stream
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


async def fetch(t: Target, path: str, host_header: str, protocol: str = "1.0",
                ssl_ctx: ssl.SSLContext | None = None,
                server_hostname: str | None = None, max_body: int | None = None) -> HttpResult:
    """GET ``path`` and hash the body; network errors come back in ``error``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        reader, writer = await open_stream(t, ssl_ctx, server_hostname)
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return HttpResult(None, "", 0, b"", error=f"connection failed: {e or type(e).__name__}")
    md5 = hashlib.md5()
    buf = b""
    status: int | None = None
    head = b""
    in_body = False
    total = 0
    try:
        writer.write(build_request(path, host_header, protocol))
        async with asyncio.timeout(t.timeout):
            await writer.drain()
            while True:
                try:
                    chunk = await reader.read(65536)
                except ssl.SSLError:
                    chunk = b""  # unclean TLS close after the body: what servers often do
                if not chunk:
                    break
                if in_body:
                    md5.update(chunk)
                    total += len(chunk)
                else:
                    buf += chunk
                    status, head, body = split_response(buf)
                    if body or buf.endswith((b"\r\n\r\n", b"\n\n")):
                        in_body = True
                        md5.update(body)
                        total += len(body)
                        buf = b""
                    elif len(buf) > MAX_HEADER:
                        return HttpResult(None, "", 0, buf[:200], error="header too long")
                if max_body is not None and total > max_body:
                    break
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return HttpResult(status, "", total, head,
                          error=f"read failed: {e or type(e).__name__}")
    finally:
        await close_stream(writer)
    if not in_body:
        status, head, _ = split_response(buf)
        if status is None:
            return HttpResult(None, "", 0, buf[:200], error="no HTTP response")
    return HttpResult(status, md5.hexdigest(), total, head, elapsed=loop.time() - start)


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
    for n, url in enumerate(urls, 1):
        vhost = url.virtualhost or chk.virtualhost or rs_virtualhost
        host_header = vhost or t.host_port()
        sni = None
        if use_ssl and chk.enable_sni:
            sni = chk.sni_name or vhost
        need_body = url.regex is not None
        res = await _fetch_keep_body(t, url.path, host_header, chk.http_protocol,
                                     ssl_ctx if use_ssl else None, sni, need_body)
        r, body = res
        if r.error:
            return CheckOutcome(False, detail=f"url({n}) {url.path}: {r.error}")
        if not status_ok(r.status, url.status_codes):
            return CheckOutcome(False, detail=f"HTTP status code error to {t.host_port()} "
                                f"url({url.path}), status_code [{r.status}].")
        if url.digest and r.digest != url.digest.lower():
            return CheckOutcome(False, detail=f"MD5 digest error to {t.host_port()} "
                                f"url[{url.path}], MD5SUM [{r.digest}].")
        if not regex_ok(url, body):
            return CheckOutcome(False, detail=f"Regex match failed on url({url.path}).")
    return CheckOutcome(True)


async def _fetch_keep_body(t: Target, path: str, host_header: str, protocol: str,
                           ctx: ssl.SSLContext | None, sni: str | None,
                           need_body: bool) -> tuple[HttpResult, bytes]:
    if not need_body:
        return await fetch(t, path, host_header, protocol, ctx, sni), b""
    # regex needs the text: a small second path that keeps the body (bounded).
    try:
        reader, writer = await open_stream(t, ctx, sni)
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return HttpResult(None, "", 0, b"", error=f"connection failed: {e}"), b""
    raw = b""
    try:
        writer.write(build_request(path, host_header, protocol))
        async with asyncio.timeout(t.timeout):
            await writer.drain()
            while len(raw) < 4 * 1024 * 1024:
                try:
                    chunk = await reader.read(65536)
                except ssl.SSLError:
                    chunk = b""
                if not chunk:
                    break
                raw += chunk
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return HttpResult(None, "", 0, b"", error=f"read failed: {e}"), b""
    finally:
        await close_stream(writer)
    status, head, body = split_response(raw)
    if status is None:
        return HttpResult(None, "", 0, raw[:200], error="no HTTP response"), b""
    return HttpResult(status, hashlib.md5(body).hexdigest(), len(body), head), body
