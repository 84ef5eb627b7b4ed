"""Where a checker connects: ``connect_ip``/``connect_port`` override the real server's address
and port, else the RS port, the VS port, then the checker's default (80 HTTP, 443 SSL, 25 SMTP,
53 DNS); the socket options travel with the target. Proven through ``Prober.run`` on loopback."""

from __future__ import annotations

import asyncio
import os

import pytest

from pykeepalived.check.probes import Prober, target_for
from pykeepalived.config.model import (
    HttpGet,
    KeepalivedConfig,
    MiscCheck,
    NotifyScript,
    RealServer,
    SmtpCheck,
    SslGet,
    TcpCheck,
    VirtualServer,
)


def test_target_precedence_and_defaults() -> None:
    rs = RealServer(ip="10.0.0.5", port=0)
    assert (target_for(rs, HttpGet(), 80, 0).host, target_for(rs, HttpGet(), 80, 0).port) == \
        ("10.0.0.5", 80)
    assert target_for(rs, SslGet(), 443, 0).port == 443
    assert target_for(rs, SmtpCheck(), 25, 0).port == 25
    assert target_for(rs, HttpGet(), 80, 8081).port == 8081  # VS port before the default
    rs2 = RealServer(ip="10.0.0.5", port=8080)
    assert target_for(rs2, HttpGet(), 80, 8081).port == 8080  # RS port before the VS port
    chk = TcpCheck(connect_ip="10.0.9.9", connect_port=9000, connect_timeout=2.5,
                   bindto="10.0.0.1", bind_port=4000, bind_if="eth1", fwmark=3)
    t = target_for(rs2, chk, 0, 8081)
    assert (t.host, t.port, t.timeout, t.bindto, t.bind_port, t.bind_if, t.fwmark) == \
        ("10.0.9.9", 9000, 2.5, "10.0.0.1", 4000, "eth1", 3)


def test_prober_connects_to_connect_ip_and_port() -> None:
    async def go() -> None:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.close()

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        prober = Prober(KeepalivedConfig())
        vs = VirtualServer(ip="10.0.0.100", port=80)
        # the only listener is 127.0.0.1:port; the real server's own address (127.0.0.2, same
        # port) refuses
        rs = RealServer(ip="127.0.0.2", port=port)
        assert not (await prober.run(vs, rs, TcpCheck(connect_timeout=1.0))).ok
        ok = await prober.run(vs, rs, TcpCheck(connect_ip="127.0.0.1", connect_timeout=1.0))
        assert ok.ok
        rs_other_port = RealServer(ip="127.0.0.1", port=9)
        assert (await prober.run(vs, rs_other_port, TcpCheck(connect_port=port,
                                                            connect_timeout=1.0))).ok
        srv.close()
        await srv.wait_closed()

    asyncio.run(go())


def test_misc_check_runs_as_its_user() -> None:
    """MISC_CHECK ``user nobody``: the script's exit code shows which user ran it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    prober = Prober(KeepalivedConfig())
    vs, rs = VirtualServer(ip="127.0.0.1", port=80), RealServer(ip="127.0.0.1", port=80)
    is_nobody = ("/bin/sh", "-c", '[ "$(id -un)" = nobody ]')

    async def go() -> None:
        as_nobody = MiscCheck(script=NotifyScript(is_nobody, user="nobody"), misc_timeout=5.0)
        assert (await prober.run(vs, rs, as_nobody)).ok
        as_root = MiscCheck(script=NotifyScript(is_nobody, user="root"), misc_timeout=5.0)
        assert not (await prober.run(vs, rs, as_root)).ok

    asyncio.run(go())


def test_misc_check_user_line_before_or_after_misc_path() -> None:
    """MISC_CHECK's ``user`` is the script's user wherever it stands in the block (keepalived
    sets the uid of the checker's script, in any order)."""
    from pykeepalived.config import load_text

    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    path = "  misc_path \"/bin/sh -c '[ $(id -un) = nobody ]'\"\n  misc_timeout 5\n"
    for body in ("  user nobody\n" + path, path + "  user nobody\n"):
        cfg = load_text("global_defs {\n enable_script_security\n}\nvirtual_server 127.0.0.1 80 {\n"
                        f" protocol TCP\n real_server 127.0.0.1 80 {{\n  MISC_CHECK {{\n{body}"
                        "  }\n }\n}\n").config
        vs = cfg.virtual_servers[0]
        rs = vs.real_servers[0]
        chk = rs.checkers[0]
        assert isinstance(chk, MiscCheck) and chk.script is not None
        assert chk.script.user == "nobody", body
        assert asyncio.run(Prober(cfg).run(vs, rs, chk)).ok, body
