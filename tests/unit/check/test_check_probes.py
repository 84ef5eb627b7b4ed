"""The probes against real servers on loopback (HTTP, TLS, TCP, MISC, SMTP, DNS, UDP, PING,
FILE) and genhash against the same servers (and Debian's genhash when installed)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import dns.message
import dns.rrset
import pytest

from pykeepalived.check.connect import Target
from pykeepalived.check.dns import dns_check
from pykeepalived.check.file import file_outcome, read_value
from pykeepalived.check.genhash import main as genhash_main
from pykeepalived.check.http import build_request, http_check
from pykeepalived.check.misc import misc_check
from pykeepalived.check.ping import ping_check
from pykeepalived.check.smtp import smtp_check
from pykeepalived.check.tcp import tcp_check
from pykeepalived.check.udp import reply_matches, udp_check
from pykeepalived.config.model import HttpGet, MiscCheck, NotifyScript, SslGet, UrlSpec

BODY = b"<html>pykeepalived health page</html>\n"
DIGEST = hashlib.md5(BODY).hexdigest()


class HttpServer:
    """A tiny HTTP/1.0 server: path -> (status, body); records raw requests and SNI names."""

    def __init__(self, routes: dict[str, tuple[int, bytes]], tls: ssl.SSLContext | None = None,
                 hang: bool = False) -> None:
        self.routes = routes
        self.extra_headers: dict[str, bytes] = {}
        self.requests: list[bytes] = []
        self.tls = tls
        self.hang = hang
        self.port = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        raw = await r.readuntil(b"\r\n\r\n")
        self.requests.append(raw)
        if self.hang:
            await asyncio.sleep(30)
        path = raw.split(b" ")[1].decode()
        status, body = self.routes.get(path, (404, b"nope"))
        extra = self.extra_headers.get(path, b"")
        w.write(f"HTTP/1.0 {status} X\r\nContent-Type: text/html\r\n".encode() + extra
                + b"\r\n" + body)
        await w.drain()
        w.close()

    async def __aenter__(self) -> HttpServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro_fn())  # type: ignore[arg-type]


def http(**kw: object) -> HttpGet:
    return HttpGet(connect_timeout=2.0, **kw)  # type: ignore[arg-type]


def test_request_bytes_are_keepalived_template() -> None:
    assert build_request("/a", "h:80") == (
        b"GET /a HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: h:80\r\n\r\n")
    assert build_request("/a", "vh", "1.1") == (
        b"GET /a HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: vh\r\n\r\n")
    assert b"HTTP/1.0\r\n" in build_request("/", "h", "1.0C")
    assert b"Connection: close" in build_request("/", "h", "1.0C")


def test_http_get_digest_status_vhost_regex_and_several_urls() -> None:
    async def go() -> None:
        routes = {"/": (200, BODY), "/other": (200, b"other"), "/err": (503, b"down")}
        async with HttpServer(routes) as srv:
            t = Target("127.0.0.1", srv.port, 2.0)
            ok = await http_check(http(urls=(UrlSpec("/", digest=DIGEST),
                                             UrlSpec("/other"))), t, use_ssl=False)
            assert ok.ok, ok.detail
            assert srv.requests[0] == (f"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n"
                                       f"Host: 127.0.0.1:{srv.port}\r\n\r\n").encode()
            bad = await http_check(http(urls=(UrlSpec("/", digest="0" * 32),)), t,
                                   use_ssl=False)
            assert not bad.ok and bad.detail == "MD5 digest error to"
            err = await http_check(http(urls=(UrlSpec("/err"),)), t, use_ssl=False)
            assert not err.ok and err.detail == "HTTP status code error to"
            ranged = await http_check(http(urls=(UrlSpec("/err", status_codes=((200, 200),
                                                                               (500, 599))),)),
                                      t, use_ssl=False)
            assert ranged.ok
            # one bad url among several fails the check
            two = await http_check(http(urls=(UrlSpec("/"), UrlSpec("/missing"))), t,
                                   use_ssl=False)
            assert not two.ok
            vh = await http_check(http(urls=(UrlSpec("/", virtualhost="www.example"),),
                                       http_protocol="1.1"), t, use_ssl=False)
            assert vh.ok and srv.requests[-1].endswith(
                b"Connection: close\r\nHost: www.example\r\n\r\n")
            rx = await http_check(http(urls=(UrlSpec("/", regex="HEALTH",
                                                     regex_options=("caseless",)),)), t,
                                  use_ssl=False)
            assert rx.ok
            nrx = await http_check(http(urls=(UrlSpec("/", regex="health",
                                                      regex_no_match=True),)), t,
                                   use_ssl=False)
            assert not nrx.ok
    run(go)


def test_http_get_refused_and_timeout() -> None:
    async def go() -> None:
        async with HttpServer({}) as srv:
            port = srv.port
        refused = await http_check(http(), Target("127.0.0.1", port, 1.0), use_ssl=False)
        assert not refused.ok and refused.detail == "Error connecting to"
        async with HttpServer({}, hang=True) as srv:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            hung = await http_check(http(), Target("127.0.0.1", srv.port, 0.3), use_ssl=False)
            assert not hung.ok and loop.time() - t0 < 2.0
            assert hung.detail == "Timeout HTTP read"
    run(go)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI missing")
    d = tmp_path_factory.mktemp("pkhtls")
    key, crt = str(d / "k.pem"), str(d / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=pkh.test"], check=True,
                   capture_output=True)
    return crt, key


def test_ssl_get_with_sni_and_digest(cert: tuple[str, str]) -> None:
    names: list[str | None] = []
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    ctx.sni_callback = lambda sock, name, c: names.append(name)  # type: ignore[assignment,misc,func-returns-value]

    async def go() -> None:
        async with HttpServer({"/": (200, BODY)}, tls=ctx) as srv:
            t = Target("127.0.0.1", srv.port, 2.0)
            chk = SslGet(urls=(UrlSpec("/", digest=DIGEST),), enable_sni=True,
                         virtualhost="sni.example", connect_timeout=2.0)
            res = await http_check(chk, t, use_ssl=True)
            assert res.ok, res.detail
            plain = await http_check(SslGet(urls=(UrlSpec("/", digest=DIGEST),)), t,
                                     use_ssl=True)
            assert plain.ok
            named = SslGet(urls=(UrlSpec("/"),), enable_sni=True, virtualhost="v.example",
                           sni_name="named.example", connect_timeout=2.0)
            assert (await http_check(named, t, use_ssl=True)).ok
    run(go)
    assert names == ["sni.example", None, "named.example"]  # sni_name before virtualhost


def test_genhash_prints_the_digest(capsys: pytest.CaptureFixture[str],
                                   cert: tuple[str, str]) -> None:
    async def serve_and_hash(tls: ssl.SSLContext | None, extra: list[str],
                             path: str = "/p") -> tuple[str, str]:
        async with HttpServer({"/p": (200, BODY), "/cl": (200, BODY)}, tls=tls) as srv:
            # a Content-Length shorter than the body caps what genhash hashes
            srv.extra_headers["/cl"] = b"Content-Length: 6\r\n"
            args = ["-s", "127.0.0.1", "-p", str(srv.port), "-u", path, *extra]
            ours = await asyncio.to_thread(genhash_main, args)
            assert ours == 0
            theirs = ""
            if shutil.which("genhash"):
                proc = await asyncio.create_subprocess_exec(
                    "genhash", *args, stdout=asyncio.subprocess.PIPE)
                theirs = (await proc.communicate())[0].decode().strip()
            return capsys.readouterr().out.strip(), theirs

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    for tls, extra in ((None, []), (None, ["-V", "vh", "-P", "1.1"]), (ctx, ["-S"]),
                       (ctx, ["-S", "-I", "-V", "sni.example", "-P", "1.0c"])):
        ours, theirs = asyncio.run(serve_and_hash(tls, extra))
        assert ours == DIGEST
        if theirs:
            assert theirs == ours
    ours, theirs = asyncio.run(serve_and_hash(None, [], "/cl"))
    assert ours == hashlib.md5(BODY[:6]).hexdigest()
    if theirs:
        assert theirs == ours
    assert genhash_main(["-s", "127.0.0.1", "-u", "/"]) == 1


def test_tcp_check() -> None:
    async def go() -> None:
        async with HttpServer({}) as srv:
            assert (await tcp_check(Target("127.0.0.1", srv.port, 1.0))).ok
            port = srv.port
        down = await tcp_check(Target("127.0.0.1", port, 1.0))
        assert not down.ok
        bound = await tcp_check(Target("127.0.0.1", port, 1.0, bindto="127.0.0.2"))
        assert not bound.ok
    run(go)


def test_misc_check_exit_codes_dynamic_and_timeout() -> None:
    def misc(cmd: str, **kw: object) -> MiscCheck:
        return MiscCheck(script=NotifyScript(("/bin/sh", "-c", cmd)), **kw)  # type: ignore[arg-type]

    async def go() -> None:
        assert (await misc_check(misc("exit 0"))).ok
        assert not (await misc_check(misc("exit 1"))).ok
        assert not (await misc_check(misc("exit 7"))).ok
        dyn = await misc_check(misc("exit 7", misc_dynamic=True))
        assert dyn.ok and dyn.weight == 5
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        slow = await misc_check(misc("sleep 20", misc_timeout=0.3))
        assert not slow.ok and "timed out" in slow.detail and loop.time() - t0 < 3
        missing = await misc_check(MiscCheck(script=NotifyScript(("/nonexistent/x",))))
        assert not missing.ok
    run(go)


def test_smtp_check() -> None:
    seen: list[bytes] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"220-hello\r\n220 ready\r\n")
        seen.append(await r.readline())
        w.write(b"250 ok\r\n")
        seen.append(await r.readline())
        w.write(b"221 bye\r\n")
        await w.drain()
        w.close()

    async def bad(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"554 go away\r\n")
        await w.drain()
        w.close()

    async def go() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        assert (await smtp_check(Target("127.0.0.1", port, 1.0), "me.example")).ok
        await asyncio.sleep(0.05)
        srv.close()
        srv2 = await asyncio.start_server(bad, "127.0.0.1", 0)
        res = await smtp_check(Target("127.0.0.1", srv2.sockets[0].getsockname()[1], 1.0), "x")
        srv2.close()
        assert not res.ok
    run(go)
    assert seen == [b"HELO me.example\r\n", b"QUIT\r\n"]


class _Dns(asyncio.DatagramProtocol):
    def __init__(self, rcode: int) -> None:
        self.rcode = rcode
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        q = dns.message.from_wire(data)
        resp = dns.message.make_response(q)
        resp.set_rcode(self.rcode)
        if self.rcode == 0:
            resp.answer.append(dns.rrset.from_text(
                ".", 60, "IN", "SOA", "a. b. 1 2 3 4 5"))
        assert self.transport is not None
        self.transport.sendto(resp.to_wire(), addr)


def test_dns_check() -> None:
    async def go() -> None:
        loop = asyncio.get_running_loop()
        for rcode, ok in ((0, True), (5, False), (2, False)):  # NOERROR, REFUSED, SERVFAIL
            tr, _ = await loop.create_datagram_endpoint(lambda r=rcode: _Dns(r),  # type: ignore[misc]
                                                        local_addr=("127.0.0.1", 0))
            port = tr.get_extra_info("sockname")[1]
            res = await dns_check(Target("127.0.0.1", port, 1.0))
            tr.close()
            assert res.ok == ok, (rcode, res)
        await asyncio.sleep(0.05)  # the transport closes its socket on the next loop turn
        # nobody listening: ICMP port unreachable
        assert not (await dns_check(Target("127.0.0.1", port, 1.0))).ok
    run(go)


def test_udp_check() -> None:
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.t.sendto(b"\x01\x02" + data, addr)  # type: ignore[attr-defined]

    async def go() -> None:
        loop = asyncio.get_running_loop()
        tr, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = tr.get_extra_info("sockname")[1]
        t = Target("127.0.0.1", port, 0.5)
        assert (await udp_check(t, b"\xab", "0102ab", 0, 255)).ok
        assert (await udp_check(t, b"\xab", "01XXab", 0, 255)).ok
        assert not (await udp_check(t, b"\xab", "0103", 0, 255)).ok
        assert not (await udp_check(t, b"\xab", "0102", 5, 255)).ok
        tr.close()
        await asyncio.sleep(0.05)  # the transport closes its socket on the next loop turn
        assert not (await udp_check(t, b"x", None, 0, 255)).ok  # ICMP unreachable
    run(go)
    assert reply_matches(b"\xde\xad", "dXad") and not reply_matches(b"\xdf", "dead")
    assert reply_matches(b"\xde", "dead")  # only the shorter length is compared


def test_ping_check() -> None:
    async def go() -> None:
        assert (await ping_check(Target("127.0.0.1", 0, 1.0))).ok
    run(go)


def test_file_check(tmp_path: Path) -> None:
    f = tmp_path / "v"
    assert read_value(str(f)) == 0
    f.write_text("3\n")
    assert read_value(str(f)) == 3
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_value(str(fifo)) == 0  # never blocks on a FIFO
    assert not file_outcome(3, 0, False, 1).ok
    assert file_outcome(0, 0, False, 1).ok
    assert file_outcome(3, 2, False, 1).weight == 7
    assert not file_outcome(3, 2, True, 1).ok


def test_prober_dispatch_and_unsupported_bfd(tmp_path: Path) -> None:
    from pykeepalived.check.probes import Prober
    from pykeepalived.config.model import (
        BfdCheck,
        FileCheck,
        KeepalivedConfig,
        RealServer,
        TrackFile,
        VirtualServer,
    )

    f = tmp_path / "w"
    f.write_text("2\n")
    cfg = KeepalivedConfig(track_files=(TrackFile("tf", str(f), weight=3),))
    prober = Prober(cfg)
    vs, rs = VirtualServer(ip="127.0.0.1", port=80), RealServer(ip="127.0.0.1", port=1, weight=1)

    async def go() -> None:
        assert (await prober.run(vs, rs, BfdCheck(name="b"))).ok
        res = await prober.run(vs, rs, FileCheck(track_file="tf"))
        assert res.ok and res.weight == 7
        assert not (await prober.run(vs, rs, FileCheck(track_file="nope"))).ok
    run(go)


def test_http_get_over_ipv6_loopback() -> None:
    import socket as _s

    if not _s.has_ipv6:
        pytest.skip("no IPv6")

    async def go() -> None:
        async def h(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            req = await r.readuntil(b"\r\n\r\n")
            seen.append(req)
            w.write(b"HTTP/1.0 200 OK\r\n\r\n" + BODY)
            await w.drain()
            w.close()

        try:
            srv = await asyncio.start_server(h, "::1", 0)
        except OSError:
            pytest.skip("::1 unavailable")
        port = srv.sockets[0].getsockname()[1]
        res = await http_check(http(urls=(UrlSpec("/", digest=DIGEST),)),
                               Target("::1", port, 1.0), use_ssl=False)
        srv.close()
        assert res.ok, res.detail
        assert seen[0].endswith(f"Host: [::1]:{port}\r\n\r\n".encode())

    seen: list[bytes] = []
    run(go)


def test_misc_check_through_the_prober_honours_script_security(tmp_path: Path) -> None:
    from pykeepalived.check.probes import Prober
    from pykeepalived.config.model import GlobalDefs, KeepalivedConfig, RealServer, VirtualServer

    d = tmp_path / "scripts"
    d.mkdir()
    d.chmod(0o777)  # writable by anyone: unsafe for a root script
    bad = d / "chk.sh"
    bad.write_text("#!/bin/sh\nexit 1\n")
    bad.chmod(0o755)
    vs, rs = VirtualServer(ip="127.0.0.1", port=80), RealServer(ip="127.0.0.1", port=80)
    secure = Prober(KeepalivedConfig(global_defs=GlobalDefs(enable_script_security=True)))
    lax = Prober(KeepalivedConfig())
    chk = MiscCheck(script=NotifyScript((str(bad),)))

    async def go() -> None:
        # disabled (insecure path with enable_script_security): counted as up, never run
        assert (await secure.run(vs, rs, chk)).ok
        # without script security it runs (and fails with exit 1)
        res = await lax.run(vs, rs, chk)
        assert not res.ok and res.detail == "failed (exited with status 1)"
        missing = MiscCheck(script=NotifyScript(("/nonexistent/pkh-check",)))
        assert (await lax.run(vs, rs, missing)).ok  # not found: disabled like keepalived
    run(go)


def test_socket_options_bind_port_device_and_mark() -> None:
    import socket as _s

    from pykeepalived.check.connect import SO_MARK, make_socket

    sock = make_socket(Target("127.0.0.1", 1, fwmark=7, bind_if="lo"))
    try:
        assert sock.getsockopt(_s.SOL_SOCKET, SO_MARK) == 7
        dev = sock.getsockopt(_s.SOL_SOCKET, _s.SO_BINDTODEVICE, 16)
        assert dev.rstrip(b"\0") == b"lo"
    finally:
        sock.close()

    peers: list[tuple[str, int]] = []
    wanted: list[int] = []

    async def go() -> None:
        async def h(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            peers.append(w.get_extra_info("peername"))
            w.close()

        srv = await asyncio.start_server(h, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        probe = _s.socket()
        probe.bind(("127.0.0.3", 0))
        src_port = probe.getsockname()[1]
        wanted.append(src_port)
        probe.close()
        res = await tcp_check(Target("127.0.0.1", port, 1.0, bindto="127.0.0.3",
                                     bind_port=src_port))
        await asyncio.sleep(0.05)
        srv.close()
        assert res.ok
    run(go)
    assert peers and peers[0] == ("127.0.0.3", wanted[0])


def test_ssl_get_tls_compliant_sends_close_notify(cert: tuple[str, str]) -> None:
    """keepalived closes an SSL_GET connection quietly (no close_notify alert back); with
    tls_compliant (of the checker or of the url) it answers the server's close_notify."""
    import socket
    import threading

    from pykeepalived.config import load_text

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)

    def serve(lsock: socket.socket, got: list[bool]) -> None:
        conn, _ = lsock.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + BODY)
            tls.settimeout(2.0)
            try:
                tls.unwrap()  # our close_notify, then wait for the client's
                got.append(True)
            except (OSError, ssl.SSLError):
                got.append(False)

    def close_notify(block: str) -> bool:
        with socket.socket() as lsock:
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(1)
            port = lsock.getsockname()[1]
            got: list[bool] = []
            th = threading.Thread(target=serve, args=(lsock, got))
            th.start()
            text = ("virtual_server 127.0.0.1 443 {\n protocol TCP\n real_server 127.0.0.1 "
                    f"{port} {{\n  SSL_GET {{\n{block}\n  }}\n }}\n}}\n")
            chk = load_text(text).config.virtual_servers[0].real_servers[0].checkers[0]
            assert isinstance(chk, SslGet)
            res = asyncio.run(http_check(chk, Target("127.0.0.1", port, 2.0), use_ssl=True))
            th.join(5)
            assert res.ok, res.detail
            return got[0]

    assert close_notify("   url {\n    path /\n   }") is False
    assert close_notify("   tls_compliant\n   url {\n    path /\n   }") is True
    assert close_notify("   url {\n    path /\n    tls_compliant\n   }") is True


def test_url_regex_offsets_bound_the_search() -> None:
    """regex_min_offset / regex_max_offset: the regex is searched in that slice of the body."""
    from pykeepalived.check.http import regex_ok
    from pykeepalived.config import load_text

    def url(opts: str) -> UrlSpec:
        text = ("virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n"
                f"  HTTP_GET {{\n   url {{\n    path /\n    regex health\n{opts}\n   }}\n  }}\n"
                " }\n}\n")
        chk = load_text(text).config.virtual_servers[0].real_servers[0].checkers[0]
        assert isinstance(chk, HttpGet)
        return chk.urls[0]

    assert regex_ok(url(""), BODY)
    start = BODY.index(b"health")
    assert regex_ok(url(f"    regex_min_offset {start}"), BODY)
    assert not regex_ok(url(f"    regex_min_offset {start + 1}"), BODY)
    assert not regex_ok(url(f"    regex_max_offset {start + 5}"), BODY)
    assert regex_ok(url(f"    regex_max_offset {start + 6}"), BODY)


def test_ssl_ca_verifies_the_server(cert: tuple[str, str], tmp_path: Path) -> None:
    """The SSL block's ``ca``: SSL_GET then verifies the server's certificate against it (a
    server signed by another CA fails); without it keepalived does not verify. Its
    ``certificate`` and ``key`` (unlocked by ``password``) are the client's."""
    from pykeepalived.check.http import make_ssl_context
    from pykeepalived.config import load_text

    other_key, other = str(tmp_path / "ok.pem"), str(tmp_path / "oc.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    other_key, "-out", other, "-days", "2", "-subj", "/CN=other.test"],
                   check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*cert)

    async def check(ssl_block: str) -> bool:
        cfg = load_text(ssl_block).config
        async with HttpServer({"/": (200, BODY)}, tls=server) as srv:
            res = await http_check(SslGet(urls=(UrlSpec("/"),), connect_timeout=2.0),
                                   Target("127.0.0.1", srv.port, 2.0), use_ssl=True,
                                   ssl_ctx=make_ssl_context(cfg.ssl))
        return res.ok

    assert asyncio.run(check(""))
    assert asyncio.run(check(f"SSL {{\n ca {cert[0]}\n}}\n"))
    assert not asyncio.run(check(f"SSL {{\n ca {other}\n}}\n"))
    # certificate / key / password: the client certificate, its key encrypted with password
    locked = str(tmp_path / "locked.pem")
    subprocess.run(["openssl", "pkey", "-in", other_key, "-out", locked, "-aes256", "-passout",
                    "pass:s3cret"], check=True, capture_output=True)
    assert asyncio.run(check(f"SSL {{\n certificate {other}\n key {locked}\n"
                             " password s3cret\n}\n"))
    with pytest.raises(ssl.SSLError):
        make_ssl_context(load_text(f"SSL {{\n certificate {other}\n key {locked}\n"
                                   " password wrong\n}\n").config.ssl)


def test_checker_keywords_from_the_configuration_text(tmp_path: Path) -> None:
    """Each checker kind parsed from keepalived.conf and run by the prober against a loopback
    server: SMTP_CHECK's helo_name, UDP_CHECK's payload / require_reply / min_reply_length /
    max_reply_length, DNS_CHECK's type and name, PING_CHECK, FILE_CHECK's track_file and
    weight, BFD_CHECK (always up: BFD is not supported)."""
    from pykeepalived.check.probes import Prober
    from pykeepalived.config import load_text

    helo: list[bytes] = []
    questions: list[tuple[str, int]] = []

    async def smtp(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"220 ready\r\n")
        helo.append(await r.readline())
        w.write(b"250 ok\r\n")
        await r.readline()
        w.write(b"221 bye\r\n")
        await w.drain()
        w.close()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.t.sendto(b"\x01\x02" + data, addr)  # type: ignore[attr-defined]

    class Dns(_Dns):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            q = dns.message.from_wire(data).question[0]
            questions.append((q.name.to_text(), q.rdtype))
            super().datagram_received(data, addr)

    tf = tmp_path / "tf"
    tf.write_text("4\n")

    async def go() -> None:
        loop = asyncio.get_running_loop()
        srv = await asyncio.start_server(smtp, "127.0.0.1", 0)
        sport = srv.sockets[0].getsockname()[1]
        echo, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        uport = echo.get_extra_info("sockname")[1]
        dtr, _ = await loop.create_datagram_endpoint(lambda: Dns(0), local_addr=("127.0.0.1", 0))
        dport = dtr.get_extra_info("sockname")[1]
        text = (f"track_file tf {{\n file {tf}\n}}\nbfd_instance b {{\n neighbor_ip 127.0.0.2\n}}\n"
                "virtual_server 127.0.0.1 80 {\n protocol TCP\n connect_timeout 1\n"
                f" real_server 127.0.0.1 {sport} {{\n"
                "  SMTP_CHECK {\n   helo_name probe.example\n  }\n  PING_CHECK {\n  }\n"
                "  FILE_CHECK {\n   track_file tf\n   weight 2\n  }\n"
                "  BFD_CHECK {\n   name b\n  }\n }\n"
                f" real_server 127.0.0.1 {uport} {{\n"
                "  UDP_CHECK {\n   payload ab\n   require_reply 01XXab\n   min_reply_length 3\n"
                "   max_reply_length 3\n  }\n"
                "  UDP_CHECK {\n   payload ab\n   require_reply 01\n   max_reply_length 2\n  }\n"
                f"  DNS_CHECK {{\n   connect_port {dport}\n   type MX\n   name example.org\n"
                "  }\n }\n}\n")
        cfg = load_text(text).config
        vs = cfg.virtual_servers[0]
        prober = Prober(cfg)
        (rs1, rs2) = vs.real_servers
        smtp_chk, ping, filec, bfd = rs1.checkers
        udp_ok, udp_short, dnsc = rs2.checkers
        assert (await prober.run(vs, rs1, smtp_chk)).ok
        assert (await prober.run(vs, rs1, ping)).ok
        fres = await prober.run(vs, rs1, filec)
        assert fres.ok and fres.weight == 1 + 4 * 2  # the real server's 1 + value × weight
        assert (await prober.run(vs, rs1, bfd)).ok
        assert (await prober.run(vs, rs2, udp_ok)).ok
        assert not (await prober.run(vs, rs2, udp_short)).ok  # the 3-byte reply is too long
        await prober.run(vs, rs2, dnsc)
        srv.close()
        echo.close()
        dtr.close()
    run(go)
    assert helo == [b"HELO probe.example\r\n"]
    assert questions == [("example.org.", 15)]  # MX
