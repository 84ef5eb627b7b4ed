"""The VRRP child's timer schedule: deadlines that move later keep their earlier heap entry (no
push per received advert), yet the earliest deadline and the loop timer are always right."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.daemon.schedule import TimerSchedule
from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.options import parse


@dataclass
class _Endpoint:
    at: float | None = None
    group: None = None

    def get_timer(self) -> float | None:
        return self.at

    def has_output(self) -> bool:
        return False


@dataclass
class _Inst:
    name: str
    endpoint: _Endpoint = field(default_factory=_Endpoint)


def _proc() -> VrrpProcess:
    return VrrpProcess(parse(["-f", "/nonexistent.conf"])[0])


def test_earliest_is_always_the_minimum_deadline_and_the_heap_stays_small() -> None:
    rnd = random.Random(7)
    s = TimerSchedule()
    at: dict[str, float | None] = {f"VI_{k}": None for k in range(20)}
    live = set(at)
    pushes = 0
    for step in range(20000):
        name = f"VI_{rnd.randrange(20)}"
        r = rnd.random()
        if r < 0.7:  # an advert received: the backup's deadline moves later
            at[name] = (at[name] or 0.0) + rnd.uniform(0.0, 1.0)
        elif r < 0.85:  # moves earlier (preemption, priority change, state change)
            at[name] = rnd.uniform(0.0, step / 10)
        elif r < 0.95:
            at[name] = None
        elif name in live:  # removed (reload), then maybe back
            live.discard(name)
            s.remove(name)
            continue
        else:
            live.add(name)
        if name not in live:
            continue
        before = len(s)
        s.update(name, at[name])
        pushes += len(s) > before
        ats = [t for n, t in at.items() if n in live and t is not None]
        assert s.earliest() == (min(ats) if ats else None), step
        assert len(s) <= 2 * len(at) + 17  # rebuilt beyond 2n + 16
    assert pushes < 20000 * 0.4  # "moves later" (70 % of the steps) never pushes


def test_due_names_come_out_in_deadline_order_once() -> None:
    s = TimerSchedule()
    for name, t in (("a", 3.0), ("b", 1.0), ("c", 2.0), ("d", 9.0)):
        s.update(name, t)
    s.update("c", 5.0)  # moved later: its entry at 2.0 stays in the heap, and moves up
    assert [s.pop_due(4.0), s.pop_due(4.0), s.pop_due(4.0)] == ["b", "a", None]
    assert s.deadline("a") is None and s.earliest() == 5.0
    s.update("a", 4.5)
    assert s.alarm(None) == 4.5
    assert s.alarm(4.0) == 4.0  # an armed timer that fires early enough stays
    assert s.alarm(6.0) == 4.5  # one that would fire late is moved


def test_loop_timer_is_rearmed_only_when_a_deadline_moves_earlier() -> None:
    async def main() -> list[Any]:
        p = _proc()
        loop = asyncio.get_running_loop()
        p.loop = loop
        a, b = _Inst("A"), _Inst("B")
        p.instances = {"A": a, "B": b}  # type: ignore[dict-item]
        now = loop.time()
        seen: list[Any] = []
        a.endpoint.at, b.endpoint.at = now + 10, now + 20
        for i in (a, b):
            p._touch(i)  # type: ignore[arg-type]
        p._rearm()
        first = p._timer
        seen.append(p._timer_at == now + 10)
        a.endpoint.at = now + 30  # A received an advert: both deadlines are later now
        p._touch(a)  # type: ignore[arg-type]
        p._rearm()
        seen.append(p._timer is first)  # kept: it fires early, then re-arms at B's deadline
        b.endpoint.at = now + 5  # earlier: must re-arm
        p._touch(b)  # type: ignore[arg-type]
        p._rearm()
        seen.append(p._timer is not first and p._timer_at == now + 5)
        assert first is not None and first.cancelled()
        assert p._timer is not None
        p._timer.cancel()
        return seen

    assert asyncio.run(main()) == [True, True, True]
