"""daemon.check_process on loopback: real probes, the pool, a recording backend and notifier."""

from __future__ import annotations

import asyncio
from typing import Any

from pykeepalived.config import load_text
from pykeepalived.daemon.check_process import CheckerProcess
from pykeepalived.lvs.table import LvsOp, LvsTable, ServiceKey, diff
from pykeepalived.options import Options


class RecordingBackend:
    name = "recording"

    def __init__(self) -> None:
        self.table = LvsTable()
        self.applied: list[LvsTable] = []
        self.closed = False

    async def start(self) -> None:
        pass

    async def apply(self, desired: LvsTable) -> list[LvsOp]:
        ops = diff(self.table, desired)
        self.table = desired
        self.applied.append(desired)
        return ops

    async def close(self) -> None:
        self.closed = True


class RecordingNotifier:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def run_script(self, script: Any) -> None:
        self.calls.append(("script", script.argv))

    def rs_state(self, rs: str, vs: str, up: bool, **kw: Any) -> None:
        self.calls.append(("rs", rs, up))

    def vs_state(self, vs: str, up: bool, **kw: Any) -> None:
        self.calls.append(("vs", vs, up))


def conf(ports: list[int], quorum: int = 1) -> str:
    rss = "".join(f"""
  real_server 127.0.0.1 {p} {{
    notify_down "/bin/true down {p}"
    HTTP_GET {{
      url {{
        path /
      }}
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.1
      warmup 0
    }}
  }}""" for p in ports)
    return f"""
virtual_server 127.0.0.1 80 {{
  delay_loop 0.2
  lb_algo rr
  protocol TCP
  quorum {quorum}
  sorry_server 127.0.0.9 80
{rss}
}}
"""


async def _serve(port: int = 0) -> asyncio.Server:
    return await asyncio.start_server(_handler, "127.0.0.1", port, reuse_address=True)


async def _wait(pred: Any, timeout: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return bool(pred())


def test_checker_process_follows_servers_and_reloads() -> None:
    async def go() -> None:
        servers = [await _serve() for _ in range(2)]
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        cfg = load_text(conf(ports)).config
        backend, notifier = RecordingBackend(), RecordingNotifier()
        proc = CheckerProcess(Options(), cfg, backend=backend, notifier=notifier,
                              rng=lambda: 0.0)
        task = asyncio.create_task(proc.run())
        key = ServiceKey.inet("127.0.0.1", 80)

        def ports_in() -> set[int]:
            return {d.port for d in backend.table.dests(key).values()}

        assert await _wait(lambda: ports_in() == set(ports))
        servers[0].close()
        await servers[0].wait_closed()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await _wait(lambda: ports_in() == {ports[1]})
        # bound: delay_loop × (retry + 1) + connect_timeout, plus scheduling slack
        assert loop.time() - t0 < 0.2 * 2 + 0.5 + 1.0
        assert ("rs", f"[127.0.0.1]:tcp:{ports[0]}", False) in notifier.calls
        assert ("script", ("/bin/true", "down", str(ports[0]))) in notifier.calls
        # reload: a third server appears, the dead one keeps its state
        third = await _serve()
        p3 = third.sockets[0].getsockname()[1]
        await proc.reload(load_text(conf([*ports, p3])).config)
        assert await _wait(lambda: ports_in() == {ports[1], p3})
        proc.stop()
        assert await task == 0
        assert backend.closed
        servers[1].close()
        third.close()

    asyncio.run(go())


def test_quorum_loss_switches_to_sorry_server() -> None:
    async def go() -> None:
        srv = await _serve()
        port = srv.sockets[0].getsockname()[1]
        cfg = load_text(conf([port])).config
        backend, notifier = RecordingBackend(), RecordingNotifier()
        proc = CheckerProcess(Options(), cfg, backend=backend, notifier=notifier,
                              rng=lambda: 0.0)
        task = asyncio.create_task(proc.run())
        key = ServiceKey.inet("127.0.0.1", 80)

        def addrs() -> set[str]:
            return {d.addr for d in backend.table.dests(key).values()}

        assert await _wait(lambda: addrs() == {"127.0.0.1"})
        srv.close()
        await srv.wait_closed()
        assert await _wait(lambda: addrs() == {"127.0.0.9"})
        assert ("vs", "[127.0.0.1]:tcp:80", False) in notifier.calls
        srv2 = await _serve(port)
        assert await _wait(lambda: addrs() == {"127.0.0.1"})
        assert ("vs", "[127.0.0.1]:tcp:80", True) in notifier.calls
        proc.stop()
        await task
        srv2.close()

    asyncio.run(go())


async def _handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await r.readuntil(b"\r\n\r\n")
    w.write(b"HTTP/1.0 200 OK\r\n\r\nok")
    await w.drain()
    w.close()


def test_sighup_reloads_from_file_and_bad_config_keeps_running(tmp_path: Any) -> None:
    async def go() -> None:
        srv = await _serve()
        port = srv.sockets[0].getsockname()[1]
        path = tmp_path / "keepalived.conf"
        path.write_text(conf([port]))
        opts = Options(config_file=str(path))
        backend = RecordingBackend()
        proc = CheckerProcess(opts, load_text(conf([port])).config, backend=backend,
                              notifier=RecordingNotifier(), rng=lambda: 0.0)
        task = asyncio.create_task(proc.run())
        key = ServiceKey.inet("127.0.0.1", 80)
        assert await _wait(lambda: len(backend.table.dests(key)) == 1)
        path.write_text(conf([port]).replace("virtual_server 127.0.0.1 80",
                                             "virtual_server 127.0.0.1 81"))
        proc._on_hup()
        key81 = ServiceKey.inet("127.0.0.1", 81)
        assert await _wait(lambda: list(backend.table.services) == [key81])
        path.write_text("virtual_server {{{ garbage\n")
        proc._on_hup()
        await asyncio.sleep(0.3)
        assert list(backend.table.services) == [key81]
        out = tmp_path / "check.data"
        proc.write_data(str(out))
        assert f"RS [127.0.0.1]:tcp:{port}, alive" in out.read_text()
        proc.stop()
        await task
        srv.close()

    asyncio.run(go())
