"""Reload: the pure planner (keep / carry / drop / add, static diff), and the VRRP child carrying
a plan out against an in-memory kernel (no namespaces): a changed MASTER stays MASTER without a
priority-0 advert or a gap in the addresses it keeps, an unchanged instance keeps its endpoint."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from memory_kernel import MemoryKernel

from pykeepalived.config import load_text
from pykeepalived.daemon.reload import ReloadPlan, plan_reload
from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.options import parse
from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.packet import encode_ipv4

A, B, C = "10.0.0.100", "10.0.0.101", "10.0.0.102"


def conf(*blocks: str, static: str = "") -> str:
    return (f"static_ipaddress {{\n{static}\n}}\n" if static else "") + "\n".join(blocks)


def inst(name: str = "VI_1", vrid: int = 7, prio: int = 100, vips: tuple[str, ...] = (A,),
         extra: str = "") -> str:
    lines = "\n".join(f"        {v}/24" for v in vips)
    return (f"vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n"
            f"    virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n{extra}"
            f"    virtual_ipaddress {{\n{lines}\n    }}\n}}\n")


def plan(old: str, new: str, states: dict[str, State] | None = None) -> ReloadPlan:
    return plan_reload(load_text(old).config, load_text(new).config, states or {})


def test_unchanged_instances_are_kept_even_when_their_block_moved() -> None:
    old = conf(inst("VI_1"), inst("VI_2", vrid=8))
    moved = conf("\n\n", inst("VI_2", vrid=8), inst("VI_1"))
    p = plan(old, moved, {"VI_1": State.MASTER, "VI_2": State.BACKUP})
    assert (p.keep, p.carry, p.drop, p.add, p.started) == (("VI_1", "VI_2"), (), (), (), 0)


def test_a_long_packed_vip_run_that_moved_is_kept_and_a_changed_one_is_not() -> None:
    """Long runs of plain IPv4 VIPs are stored packed (``model.AddressList``): their lines
    are left out of the comparison too."""
    vips = tuple(f"10.1.{i // 200}.{i % 200 + 1}" for i in range(100))
    old = conf(inst("VI_1", vips=vips))
    moved = conf("\n\n# moved\n", inst("VI_1", vips=vips))
    assert type(load_text(old).config.vrrp_instances[0].virtual_ipaddresses).__name__ == \
        "AddressList"
    assert plan(old, moved, {"VI_1": State.BACKUP}).keep == ("VI_1",)
    changed = conf(inst("VI_1", vips=(*vips[:-1], "10.9.9.9")))
    assert plan(old, changed, {"VI_1": State.BACKUP}).drop == ("VI_1",)


def test_a_changed_master_is_carried_a_changed_backup_restarted() -> None:
    old = conf(inst("VI_1", vips=(A, B)), inst("VI_2", vrid=8))
    new = conf(inst("VI_1", prio=200, vips=(A, C)), inst("VI_2", vrid=8, prio=120))
    p = plan(old, new, {"VI_1": State.MASTER, "VI_2": State.BACKUP})
    assert (p.keep, p.carry, p.drop) == ((), ("VI_1",), ("VI_2",))
    assert [c.name for c in p.add] == ["VI_2"] and p.started == 0 and not p.removed


def test_a_master_whose_wire_identity_changed_is_restarted() -> None:
    p = plan(conf(inst("VI_1")), conf(inst("VI_1", vrid=9)), {"VI_1": State.MASTER})
    assert (p.carry, p.drop, [c.name for c in p.add]) == ((), ("VI_1",), ["VI_1"])
    # not running (it failed to build): nothing to carry, whatever its config says
    p = plan(conf(inst("VI_1")), conf(inst("VI_1", prio=5)), {})
    assert (p.carry, p.drop) == ((), ("VI_1",))


def test_removed_and_new_instances_and_the_static_diff() -> None:
    static = f"    {B}/24 dev eth0\n    {C}/24 dev eth0"
    old = conf(inst("VI_1"), inst("VI_2", vrid=8), static=static)
    new = conf(inst("VI_1"), inst("VI_3", vrid=9), static=f"\n    {C}/24 dev eth0")
    p = plan(old, new, {"VI_1": State.BACKUP, "VI_2": State.BACKUP})
    assert (p.keep, p.drop, p.removed) == (("VI_1",), ("VI_2",), frozenset({"VI_2"}))
    assert [c.name for c in p.add] == ["VI_3"] and p.started == 1
    assert [a.ip for a in p.static_gone.addresses] == [B]  # C only moved a line
    assert [a.ip for a in p.static_wanted.addresses] == [C]


def test_a_changed_tracked_script_changes_the_instance() -> None:
    script = 'vrrp_script chk {{\n    script "/bin/true"\n    weight {}\n}}\n'
    track = "    track_script {\n        chk\n    }\n"
    old = conf(script.format(10), inst(extra=track))
    new = conf(script.format(20), inst(extra=track))
    assert plan(old, new, {"VI_1": State.BACKUP}).drop == ("VI_1",)


# ---------------------------------------------------------------- the process, in memory
Steps = Callable[[VrrpProcess, MemoryKernel, list[float], Path], Awaitable[None]]


def _run(tmp_path: Path, first: str, steps: Steps) -> None:
    """Start a VRRP child on ``first`` against a MemoryKernel, with a clock of its own
    (ahead of the loop's: the loop timer never fires before the test makes it due)."""
    path = tmp_path / "keepalived.conf"
    path.write_text(first)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        now = [loop.time()]
        k = MemoryKernel()
        p = VrrpProcess(parse(["-f", str(path)])[0], kernel=k, clock=lambda: now[0])
        assert await p.start()
        try:
            await steps(p, k, now, path)
        finally:
            await p.shutdown()
            p.close()

    asyncio.run(main())


async def _become_master(p: VrrpProcess, now: list[float]) -> None:
    now[0] = p.schedule.earliest() or now[0]  # nobody else on the link: the down timer runs out
    p.run_due_timers()
    for i in p.instances.values():
        await i.drain_ops()


def test_reload_keeps_a_changed_master_master_without_an_address_gap(tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        assert p.instances["VI_1"].endpoint.state is State.MASTER
        assert k.addresses == {(A, "eth0"), (B, "eth0")}
        sock, = k.sockets
        before, calls = len(sock.sent), len(k.calls)
        path.write_text(conf(inst(prio=200, vips=(A, C))))
        await p.reload()
        new = p.instances["VI_1"]
        await new.drain_ops()
        assert new.endpoint.state is State.MASTER and new.cfg.priority == 200
        assert [d[22] for d, _ in sock.sent[before:]] == [200]  # no priority 0, then 200
        assert k.addresses == {(A, "eth0"), (C, "eth0")}
        assert ("delete address", f"{A} dev eth0") not in k.calls[calls:]  # A never left
        assert ("delete address", f"{B} dev eth0") in k.calls[calls:]

    _run(tmp_path, conf(inst(prio=150, vips=(A, B))), steps)


def test_reload_of_an_unchanged_file_keeps_the_endpoint_and_its_timer(tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        ep = p.instances["VI_1"].endpoint
        due = p.schedule.deadline("VI_1")
        path.write_text("\n# a comment moves every line\n" + conf(inst()))
        await p.reload()
        assert p.instances["VI_1"].endpoint is ep and p.schedule.deadline("VI_1") == due
        assert ep.state is State.BACKUP and k.sockets[0].sent == []

    _run(tmp_path, conf(inst()), steps)


def test_repeat_adverts_through_the_process_count_and_move_the_down_timer(
        tmp_path: Path) -> None:
    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        sock, = k.sockets
        for i in range(10):
            now[0] += 0.5
            sock.deliver(encode_ipv4(version=2, vrid=7, priority=150, adver_int=1,
                                     addresses=(A,), src="10.0.0.2", ip_id=i + 1))
        ep = p.instances["VI_1"].endpoint
        assert ep.stats.advert_rcvd == 10 and ep.repeats == 9
        assert p.schedule.deadline("VI_1") == ep.get_timer() == now[0] + ep.router.master_down
        sock.deliver(encode_ipv4(version=2, vrid=9, priority=150, adver_int=1, addresses=(A,),
                                 src="10.0.0.2", ip_id=99))  # another VRID: nobody's
        assert ep.stats.advert_rcvd == 10 and ep.state is State.BACKUP

    _run(tmp_path, conf(inst()), steps)


def test_the_loop_runs_while_the_new_config_is_read(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is read (and the reload planned) off the loop: a loop callback scheduled when
    reading starts runs before reading ends (read on the loop, it could not: the wait below
    would run out and the assertion fail)."""
    from pykeepalived.daemon import vrrp_process

    ran = threading.Event()
    real = vrrp_process.load_config

    def slow_load(opts: Any) -> Any:
        loop.call_soon_threadsafe(ran.set)
        ran.wait(2.0)  # only the loop sets it
        return real(opts)

    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        nonlocal loop
        loop = asyncio.get_running_loop()
        ep = p.instances["VI_1"].endpoint
        monkeypatch.setattr(vrrp_process, "load_config", slow_load)
        await p.reload()
        assert ran.is_set() and p.instances["VI_1"].endpoint is ep

    loop: asyncio.AbstractEventLoop
    _run(tmp_path, conf(inst()), steps)


def test_a_stop_abandons_a_reload_still_reading_the_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """TERM while the reload reads its file (seconds for a large one): the reload ends at once
    without applying anything, and its reading thread does not hold the stop."""
    from pykeepalived.daemon import vrrp_process

    reading, release = threading.Event(), threading.Event()
    real = vrrp_process.load_config

    def stuck_load(opts: Any) -> Any:
        reading.set()
        release.wait(5.0)
        return real(opts)

    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        path.write_text(conf(inst(), inst("VI_2", vrid=8, vips=(B,))))
        monkeypatch.setattr(vrrp_process, "load_config", stuck_load)
        p._on_hup()
        while not reading.is_set():
            await asyncio.sleep(0.01)
        p.request_stop()
        t0 = time.monotonic()
        await asyncio.wait_for(p._reload_settled(), 1.0)
        assert time.monotonic() - t0 < 0.5
        assert set(p.instances) == {"VI_1"}  # nothing of the new file applied
        release.set()

    try:
        _run(tmp_path, conf(inst()), steps)
    finally:
        release.set()


def test_a_stop_during_the_bring_up_builds_no_more_and_starts_none(tmp_path: Path) -> None:
    """TERM while the instances are built: the one under way is finished, no other is built,
    none is started (no advert, no STOP notify) and shutdown undoes what was built."""
    path = tmp_path / "keepalived.conf"
    path.write_text(conf(*(inst(f"VI_{i}", vrid=i + 1, vips=(f"10.0.0.{100 + i}/24",))
                           for i in range(5))))

    async def main() -> None:
        k = MemoryKernel()
        p = VrrpProcess(parse(["-f", str(path)])[0], kernel=k)
        real = p._build_one

        async def build_one(cfg: Any, c: Any) -> None:
            await real(cfg, c)
            if len(p.instances) == 2:
                p.request_stop()

        p._build_one = build_one  # type: ignore[method-assign]
        assert await p.start()
        assert set(p.instances) == {"VI_0", "VI_1"}
        assert all(i.endpoint.state is State.INIT for i in p.instances.values())
        await p.shutdown()
        p.close()
        assert all(s.sent == [] for s in k.sockets) and k.addresses == set()

    asyncio.run(main())
