"""The VRRP child's timer heap: deadlines that move later keep their earlier heap entry (no push
per received advert), yet the earliest deadline and the loop timer are always right."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.options import parse


@dataclass
class _Router:
    at: float | None = None
    group: None = None

    def next_timer(self) -> float | None:
        return self.at


@dataclass
class _Cfg:
    vrid: int = 0


@dataclass
class _Inst:
    name: str
    router: _Router = field(default_factory=_Router)
    cfg: _Cfg = field(default_factory=_Cfg)


def _proc() -> VrrpProcess:
    return VrrpProcess(parse(["-f", "/nonexistent.conf"])[0])


def _true_earliest(p: VrrpProcess, insts: dict[str, _Inst]) -> float | None:
    ats = [i.router.at for n, i in insts.items() if n in p.instances and i.router.at is not None]
    return min(ats) if ats else None


def test_earliest_is_always_the_minimum_deadline_and_the_heap_stays_small() -> None:
    rnd = random.Random(7)
    p = _proc()
    insts = {f"VI_{k}": _Inst(f"VI_{k}") for k in range(20)}
    p.instances = dict(insts)  # type: ignore[arg-type]
    pushes = 0
    for step in range(20000):
        inst = insts[f"VI_{rnd.randrange(20)}"]
        r = rnd.random()
        if r < 0.7:  # an advert received: the backup's deadline moves later
            inst.router.at = (inst.router.at or 0.0) + rnd.uniform(0.0, 1.0)
        elif r < 0.85:  # moves earlier (preemption, priority change, state change)
            inst.router.at = rnd.uniform(0.0, step / 10)
        elif r < 0.95:
            inst.router.at = None
        elif inst.name in p.instances:  # removed (reload), then maybe back
            p._forget(inst)  # type: ignore[arg-type]
            continue
        else:
            p.instances[inst.name] = inst  # type: ignore[assignment]
        before = len(p._heap)
        p._touch(inst)  # type: ignore[arg-type]
        pushes += len(p._heap) > before
        assert p._earliest() == _true_earliest(p, insts), step
        assert len(p._heap) <= 2 * len(insts) + 17  # rebuilt beyond 2n + 16
    assert pushes < 20000 * 0.4  # "moves later" (70 % of the steps) never pushes


def test_loop_timer_is_rearmed_only_when_a_deadline_moves_earlier() -> None:
    async def main() -> list[Any]:
        p = _proc()
        loop = asyncio.get_running_loop()
        p.loop = loop
        a, b = _Inst("A"), _Inst("B")
        p.instances = {"A": a, "B": b}  # type: ignore[dict-item]
        now = loop.time()
        seen: list[Any] = []
        a.router.at, b.router.at = now + 10, now + 20
        for i in (a, b):
            p._touch(i)  # type: ignore[arg-type]
        p._rearm()
        first = p._timer
        seen.append(p._timer_at == now + 10)
        a.router.at = now + 30  # A received an advert: both deadlines are later now
        p._touch(a)  # type: ignore[arg-type]
        p._rearm()
        seen.append(p._timer is first)  # kept: it fires early, then re-arms at B's deadline
        b.router.at = now + 5  # earlier: must re-arm
        p._touch(b)  # type: ignore[arg-type]
        p._rearm()
        seen.append(p._timer is not first and p._timer_at == now + 5)
        assert first is not None and first.cancelled()
        assert p._timer is not None
        p._timer.cancel()
        return seen

    assert asyncio.run(main()) == [True, True, True]
