"""The VRRP child against an in-memory kernel when an interface is deleted and made again: its
sockets and GARP/NA senders were bound to the old index (deaf and mute), so they are replaced;
a link event for the same index leaves them be."""

from __future__ import annotations

import asyncio
from pathlib import Path

from memory_kernel import MemoryKernel
from test_daemon_reload import A, _become_master, _run, conf, inst

from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.net.links import LinkEvent
from pykeepalived.vrrp.actions import State


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_recreated_interface_gets_new_sockets_and_senders(tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        vi = p.instances["VI_1"]
        assert vi.endpoint.state is State.MASTER and k.announcers
        old, = k.sockets
        assert k.on_net_event is not None
        k.on_net_event(k.recreate("eth0"))
        await _settle()
        assert old.closed
        new = [s for s in k.sockets if not s.closed]
        assert [s.ifindex for s in new] == [k.ifindex["eth0"]] != [old.ifindex]
        assert vi.sock is new[0] and p.sockets[("eth0", 4, False)] is new[0]
        assert "224.0.0.18" in new[0].joined or new[0].spec.group == "224.0.0.18"
        assert not any(dev == "eth0" for dev, _ in k.announcers)
        before = len(new[0].sent)
        now[0] = p.schedule.earliest() or now[0]
        p.run_due_timers()
        assert len(new[0].sent) > before  # adverts leave on the new socket

    _run(tmp_path, conf(inst(prio=150, vips=(A,))), steps)


def test_a_link_event_for_the_same_index_keeps_the_sockets(tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        sock, = k.sockets
        assert k.on_net_event is not None
        k.on_net_event(LinkEvent(sock.ifindex, "eth0", True, "up", True, True))
        await _settle()
        assert k.sockets == [sock] and not sock.closed and k.announcers

    _run(tmp_path, conf(inst(prio=150, vips=(A,))), steps)
