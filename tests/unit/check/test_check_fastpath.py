"""The checker's hot path: plain HTTP_GET and TCP_CHECK run on loop callbacks alone
(``Prober.start``), against real servers on loopback; a bug inside a callback is one failed
check, never a check left running; a loop that looks late at its sockets still sees what the
kernel completed in time."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pykeepalived.check import http as http_mod
from pykeepalived.check.probes import Prober
from pykeepalived.check.virtual_server import CheckOutcome
from pykeepalived.config.model import (
    HttpGet,
    KeepalivedConfig,
    RealServer,
    TcpCheck,
    UrlSpec,
    VirtualServer,
)


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/" else 404)
        self.end_headers()
        self.wfile.write(b"up\n")

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    """A real HTTP server in a thread of its own: it answers while the test's loop sleeps."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def _vs(port: int, chk: object) -> tuple[VirtualServer, RealServer]:
    rs = RealServer(ip="127.0.0.1", port=port, checkers=(chk,))  # type: ignore[arg-type]
    return VirtualServer(ip="10.255.0.1", port=80, real_servers=(rs,)), rs


async def _check(port: int, chk: object, block: float = 0.0) -> list[CheckOutcome]:
    """Start one check through ``Prober.start`` and wait for its outcome(s); ``block``: stall
    the loop that long right after the start, as a starved checker would."""
    vs, rs = _vs(port, chk)
    got: list[CheckOutcome] = []
    close = Prober(KeepalivedConfig()).start(vs, rs, chk, got.append)  # type: ignore[arg-type]
    assert close is not None
    if block:
        time.sleep(block)
    for _ in range(300):
        if got:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # a second outcome would show here
    close()
    return got


def test_http_get_and_tcp_check_on_callbacks(server: int) -> None:
    ok = HttpGet(connect_timeout=1.0, urls=(UrlSpec("/"),))
    missing = HttpGet(connect_timeout=1.0, urls=(UrlSpec("/gone"),))
    tcp = TcpCheck(connect_timeout=1.0)
    assert asyncio.run(_check(server, ok)) == [CheckOutcome(True)]
    assert asyncio.run(_check(server, missing)) == [
        CheckOutcome(False, detail="HTTP status code error to")]
    assert asyncio.run(_check(server, tcp)) == [CheckOutcome(True)]
    refused = asyncio.run(_check(_free_port(), ok))
    assert len(refused) == 1 and refused[0].detail == "Error connecting to"
    refused = asyncio.run(_check(_free_port(), tcp))
    assert len(refused) == 1 and "Connection refused" in refused[0].detail


def test_several_urls_take_the_task_path(server: int) -> None:
    chk = HttpGet(urls=(UrlSpec("/"), UrlSpec("/b")))
    vs, rs = _vs(server, chk)

    async def go() -> object:
        return Prober(KeepalivedConfig()).start(vs, rs, chk, lambda o: None)
    assert asyncio.run(go()) is None


def test_a_crash_in_a_callback_is_one_failed_check(server: int,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    def boom(self: object, data: bytes) -> str:
        raise RuntimeError("parser bug")
    monkeypatch.setattr(http_mod._Response, "feed", boom)
    got = asyncio.run(_check(server, HttpGet(connect_timeout=1.0, urls=(UrlSpec("/"),))))
    assert got == [CheckOutcome(False, detail="Error connecting to")]
    assert "parser bug" in caplog.text and "crashed" in caplog.text
