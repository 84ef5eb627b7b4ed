"""The children's status socket and the HTTP listener, on real sockets (a unix socket in a
temporary directory, TCP on loopback): answers, errors and the limits that keep a flood of
clients from holding the loop they run in."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from observe_docs import lvs_doc, vrrp_doc

from pykeepalived.observe import cli, control, server
from pykeepalived.observe.control import StatusServer, fetch, socket_path
from pykeepalived.observe.server import Aggregator, HttpListener
from pykeepalived.observe.vrrp_view import encode


def test_socket_path_beside_pid_file() -> None:
    assert socket_path("/run/keepalived_vrrp.pid") == "/run/keepalived_vrrp.sock"
    assert socket_path("/tmp/x") == "/tmp/x.sock"


async def _provider_of(doc: dict[str, Any]) -> Any:
    async def provide() -> bytes:
        return encode(doc)
    return provide


def test_status_socket_answers_and_is_private(tmp_path: Path) -> None:
    async def main() -> None:
        path = str(tmp_path / "vrrp.sock")
        srv = StatusServer(path, await _provider_of(vrrp_doc()))
        assert await srv.start()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        doc = await fetch(path)
        assert doc["instances"][0]["iname"] == "VI_1"
        # garbage gets an error answer and a closed connection
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"GET / HTTP/1.0\n")
        assert b"error" in await r.read()
        w.close()
        await srv.close()
        assert not os.path.exists(path)
    asyncio.run(main())


def test_large_documents_arrive_whole(tmp_path: Path) -> None:
    """Answers far over the transport's write buffer (a 250-instance document is ~250 KB) are
    flushed before the connection closes, on the socket and over HTTP."""
    big = vrrp_doc()
    big["instances"] = big["instances"] * 600

    async def main() -> None:
        path = str(tmp_path / "big.sock")
        srv = StatusServer(path, await _provider_of(big))
        await srv.start()
        doc = await fetch(path)
        assert len(doc["instances"]) == 1200
        # another process reads it (as pykeepalived status does): the end must arrive too
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; from pykeepalived.observe.control import "
            "fetch_sync; print(len(fetch_sync(sys.argv[1])['instances']))", path,
            stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert out.strip() == b"1200"
        http = HttpListener("127.0.0.1", 0, Aggregator({"vrrp": path}))
        http.start()
        while http.bound_port is None:
            await asyncio.sleep(0.01)
        got = await _http(http.bound_port, b"GET /metrics HTTP/1.0\r\n\r\n")
        head, body = got.split(b"\r\n\r\n", 1)
        assert len(body) > 500_000 and f"Content-Length: {len(body)}".encode() in head
        assert b"keepalived_up 1.0" in body
        await http.close()
        await srv.close()
    asyncio.run(main())


def test_status_socket_caps_clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Silent clients hold at most MAX_CLIENTS slots, until the request timeout; the rest are
    closed at once (how late the VRRP loop runs under a flood is measured on the wire by
    tests/netns/observe/test_observe_flood.py)."""
    monkeypatch.setattr(control, "REQUEST_TIMEOUT", 0.5)

    async def main() -> None:
        path = str(tmp_path / "c.sock")
        srv = StatusServer(path, await _provider_of(vrrp_doc()))
        await srv.start()
        idle = [await asyncio.open_unix_connection(path) for _ in range(control.MAX_CLIENTS)]
        await asyncio.sleep(0.05)
        extra = [await asyncio.open_unix_connection(path) for _ in range(50)]
        for r, _w in extra:  # refused at once: closed without an answer
            assert await asyncio.wait_for(r.read(), 1.0) == b""
        assert srv.refused == 50
        for r, _w in idle:  # the idle ones are dropped at the request timeout
            assert await asyncio.wait_for(r.read(), 2.0) == b""
        assert (await fetch(path))["process"] == "vrrp"  # and it serves again
        await srv.close()
    asyncio.run(main())


@pytest.fixture
def children(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A VRRP and a checker status socket served by a loop in a thread."""
    paths = {"vrrp": str(tmp_path / "vrrp.sock"), "checker": str(tmp_path / "chk.sock")}
    docs = {"vrrp": vrrp_doc(), "checker": lvs_doc()}
    loop = asyncio.new_event_loop()
    servers: list[StatusServer] = []

    async def start() -> None:
        for k, p in paths.items():
            s = StatusServer(p, await _provider_of(docs[k]))
            await s.start()
            servers.append(s)
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    yield paths
    for s in servers:
        asyncio.run_coroutine_threadsafe(s.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)
    loop.close()


def test_aggregator_caches_and_fetches_once(children: dict[str, str]) -> None:
    async def main() -> None:
        agg = Aggregator(children, ttl=5.0)
        views = await asyncio.gather(*(agg.view() for _ in range(20)))
        assert agg.fetches == 1
        docs, up = views[0]
        assert up and set(docs) == {"vrrp", "checker"}
        missing = Aggregator({**children, "checker": children["checker"] + ".gone"})
        docs, up = await missing.view()
        assert not up and set(docs) == {"vrrp"}
    asyncio.run(main())


async def _http(port: int, raw: bytes, timeout: float = 5.0) -> bytes:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(raw)
    data = await asyncio.wait_for(r.read(), timeout)
    w.close()
    return data


def test_http_routes_and_errors(children: dict[str, str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "HEAD_TIMEOUT", 0.3)

    async def main() -> None:
        http = HttpListener("127.0.0.1", 0, Aggregator(children))
        http.start()
        while http.bound_port is None:
            await asyncio.sleep(0.01)
        port = http.bound_port
        got = await _http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200 OK\r\n") and b"text/plain; version=0.0.4" in got
        assert b'keepalived_vrrp_state{iname="VI_1"' in got and b"keepalived_up 1.0" in got
        got = await _http(port, b"GET /status/vrrp/VI_1 HTTP/1.0\r\n\r\n")
        body = json.loads(got.split(b"\r\n\r\n", 1)[1])
        assert body["iname"] == "VI_1" and body["status"] == "Master"
        got = await _http(port, b"GET /status/lvs/%5B10.0.0.100%5D:tcp:80 HTTP/1.0\r\n\r\n")
        assert json.loads(got.split(b"\r\n\r\n", 1)[1])["quorum_up"] is True
        assert (await _http(port, b"GET /status/vrrp/NOPE HTTP/1.0\r\n\r\n")).startswith(
            b"HTTP/1.1 404")
        assert (await _http(port, b"\x16\x03\x01garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
        assert (await _http(port, b"POST /metrics HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 405")
        big = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"
        assert (await _http(port, big)).startswith(b"HTTP/1.1 431")
        assert (await _http(port, b"GET /metr")).startswith(b"HTTP/1.1 408")  # slow loris
        await http.close()
    asyncio.run(main())


def test_http_refuses_beyond_max_clients(children: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "MAX_CLIENTS", 8)
    monkeypatch.setattr(server, "HEAD_TIMEOUT", 1.0)

    async def main() -> None:
        http = HttpListener("127.0.0.1", 0, Aggregator(children))
        http.start()
        while http.bound_port is None:
            await asyncio.sleep(0.01)
        conns = [await asyncio.open_connection("127.0.0.1", http.bound_port) for _ in range(40)]
        closed = 0
        for r, _w in conns:
            data = await asyncio.wait_for(r.read(), 3.0)
            closed += data == b""
        assert http.refused == 32 and closed == 32  # the 8 admitted ones got a 408
        got = await _http(http.bound_port, b"GET /metrics HTTP/1.0\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200")
        await http.close()
    asyncio.run(main())


def test_port_in_use_is_logged_and_retried(children: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(server, "RETRY_BIND", 0.1)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]

    async def main() -> None:
        http = HttpListener("127.0.0.1", port, Aggregator(children))
        with caplog.at_level(logging.ERROR, logger="pykeepalived"):
            http.start()
            await asyncio.sleep(0.3)
        assert http.bound_port is None
        assert f"Cannot listen on 127.0.0.1:{port} for metrics: Address already in use" \
            in caplog.text
        squatter.close()
        deadline = time.monotonic() + 3
        while http.bound_port is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert http.bound_port == port
        await http.close()
    asyncio.run(main())


def test_status_cli_tables_and_json(children: dict[str, str], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    vrrp_pid = children["vrrp"][:-5] + ".pid"
    chk_pid = children["checker"][:-5] + ".pid"
    assert cli.main(["-r", vrrp_pid, "-c", chk_pid]) == 0
    out = capsys.readouterr().out
    assert "VI_1" in out and "MASTER" in out and "master down timer expired" in out
    assert "TCP  10.0.0.100:80 rr [quorum up]" in out
    assert "-> 10.0.1.2:8080" in out and "DOWN" in out and "TCP_CHECK DOWN" in out
    assert "vrrp_script chk_bad: BAD (running, 3 runs)" in out
    assert cli.main(["-r", vrrp_pid, "-c", chk_pid, "--json", "--instance", "VI_2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [i["iname"] for i in doc["vrrp"]["instances"]] == ["VI_2"]
    assert doc["lvs"]["dataplane"]["name"] == "nftables"
    assert cli.main(["-r", str(tmp_path / "none.pid"), "-c", str(tmp_path / "no.pid")]) == 3
