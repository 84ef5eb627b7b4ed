"""The split-brain shell's cheap paths: the conflict watch's lead timer (a BACKUP's watch is
woken through its router's own timer, not by a scan at every advert interval) and the
heartbeat paths' advert identity across paths (the router's repeat check holds)."""

from __future__ import annotations

import dataclasses

from pykeepalived.daemon.splitbrain import LeadTimer, _same_to_router
from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter

VIP = "10.0.0.100"


def router(prio: int = 100) -> VrrpRouter:
    s = RouterSettings(name="VI_1", vrid=51, priority=prio, version=3, advert_int=0.1,
                       addresses=(VIP,), src_ip="10.0.0.2")
    r = VrrpRouter(s, 0.0)
    r.start(0.0)
    r.actions()
    return r


def adv(prio: int = 150, src: str = "10.0.0.1") -> Advert:
    return Advert(version=3, vrid=51, priority=prio, adver_int=10, addresses=(VIP,), src=src,
                  dst="224.0.0.18")


def test_lead_timer_wakes_only_when_the_master_goes_quiet() -> None:
    r = router()
    clock = [0.0]
    told: list[float] = []
    lt = LeadTimer(r, 0.25, lambda: clock[0], told.append)
    a = adv()
    down: float | None = None
    for k in range(1, 31):  # a master advertising every 0.1 s: the wake-up moves with it
        clock[0] = k * 0.1
        r.receive(a, clock[0])
        r.actions()
        down = r.next_timer()
        assert down is not None
        assert lt() == down - 0.25 > clock[0]
    assert told == [] and down is not None
    clock[0] = down - 0.25  # the process's schedule wakes there: the watch is told, once
    assert lt() == down and told == [down]
    assert lt() == down and told == [down]
    clock[0] += 0.01
    r.receive(a, clock[0])  # heard again: back to a wake-up before the new deadline
    r.actions()
    new = r.next_timer()
    assert new is not None and new > down and lt() == new - 0.25 and told == [down]


def test_lead_timer_is_the_routers_own_timer_outside_backup() -> None:
    r = router(prio=255)  # the address owner: MASTER at start
    lt = LeadTimer(r, 0.25, lambda: 0.0, lambda t: None)
    assert r.state is State.MASTER and lt() == r.next_timer()


def test_same_to_router_ignores_framing_only() -> None:
    a = adv()
    b = dataclasses.replace(a, dst="10.0.0.2", ttl=64, checksum=7, ip_id=9)
    assert _same_to_router(a, b)
    assert not _same_to_router(a, dataclasses.replace(a, priority=149))
    assert not _same_to_router(a, dataclasses.replace(a, src="10.0.0.3"))
    assert not _same_to_router(a, dataclasses.replace(a, addresses=("10.0.0.101",)))
