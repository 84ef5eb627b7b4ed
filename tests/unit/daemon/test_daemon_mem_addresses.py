"""The VRRP child's VIPs against an in-memory kernel: set and removed in the call that decided
it (the receive path, as keepalived), the queue still used when routes must be ordered around
them; tagged ``proto keepalived`` unless the instance owns them; a refused VIP logged once and
retried every ``RETRY_REFUSED`` seconds while MASTER, no more after a step-down (keepalived
never tries again: the address stays missing until the next transition)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from memory_kernel import MemoryKernel
from test_daemon_reload import A, B, _become_master, _run, conf, inst

from pykeepalived.daemon import instance as instance_mod
from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.packet import encode_ipv4


def _higher() -> bytes:
    return encode_ipv4(version=2, vrid=7, priority=200, adver_int=1, addresses=(A, B),
                       src="10.0.0.2", ip_id=1)


def test_a_higher_priority_advert_removes_the_vips_in_the_receive_call(tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        assert k.addresses == {(A, "eth0"), (B, "eth0")} == k.tagged
        sock, = k.sockets
        sock.deliver(_higher())  # no await between the datagram and the check
        assert p.instances["VI_1"].endpoint.state is State.BACKUP
        assert k.addresses == set()
        assert p.instances["VI_1"].ops == []  # nothing left for the queue

    _run(tmp_path, conf(inst(prio=150, vips=(A, B))), steps)


def test_the_address_owner_s_vips_are_not_tagged(tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        assert k.addresses == {(A, "eth0")} and k.tagged == set()

    _run(tmp_path, conf(inst(prio=255, vips=(A,))), steps)


def test_with_a_virtual_route_the_vips_keep_their_place_in_the_queue(tmp_path: Path) -> None:
    route = "    virtual_routes {\n        10.9.0.0/24 dev eth0\n    }\n"

    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        assert k.routes and k.addresses == {(A, "eth0"), (B, "eth0")}
        sock, = k.sockets
        sock.deliver(_higher())
        assert k.addresses  # removed by the queue, after the route: not yet
        await p.instances["VI_1"].drain_ops()
        assert k.addresses == set() and not k.routes
        order = [c for c in k.calls if c[0] in ("delete route", "delete address")]
        assert order[0][0] == "delete route"

    _run(tmp_path, conf(inst(prio=150, vips=(A, B), extra=route)), steps)


def test_a_refused_vip_is_retried_until_the_kernel_takes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(instance_mod, "RETRY_REFUSED", 0.05)
    caplog.set_level(logging.INFO, logger="pykeepalived")
    refused = ("refused address", f"{B} dev eth0")

    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        k.refuse = {B}
        await _become_master(p, now)
        await asyncio.sleep(0.25)  # refused at once and at every retry
        assert k.addresses == {(A, "eth0")}
        tries = k.calls.count(refused)
        assert tries >= 3
        k.refuse = set()
        await asyncio.sleep(0.2)
        assert k.addresses == {(A, "eth0"), (B, "eth0")}
        assert p.instances["VI_1"].refused == {}
        assert k.calls.count(("add address", f"{B} dev eth0")) == 1  # none once taken
        text = caplog.text
        assert text.count("the kernel refused virtual address 10.0.0.101/24") == 1
        assert f"added after {tries} refused attempt(s)" in text

    _run(tmp_path, conf(inst(prio=150, vips=(A, B))), steps)


def test_a_step_down_stops_the_retries(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instance_mod, "RETRY_REFUSED", 0.05)
    refused = ("refused address", f"{B} dev eth0")

    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        k.refuse = {B}
        await _become_master(p, now)
        await asyncio.sleep(0.1)
        k.sockets[0].deliver(_higher())
        await p.instances["VI_1"].drain_ops()
        tries = k.calls.count(refused)
        await asyncio.sleep(0.2)
        assert k.calls.count(refused) == tries
        assert p.instances["VI_1"].refused == {} and k.addresses == set()

    _run(tmp_path, conf(inst(prio=150, vips=(A, B))), steps)
