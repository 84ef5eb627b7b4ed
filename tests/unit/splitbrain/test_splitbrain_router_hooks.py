"""The router's split-brain inputs: claim blocks, guard faults with a reason, yielding.

Without blocks or guard faults the router is keepalived's (the rest of tests/unit/vrrp); these
tests pin what changes when a guard speaks, on a virtual clock.
"""

from __future__ import annotations

from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    ClaimWanted,
    LogEvent,
    ReleaseAddresses,
    SendAdvert,
    State,
)
from pykeepalived.vrrp.claim import ClaimBlock
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter

VIP = "10.0.0.100"


def router(prio: int = 100, **kw: object) -> VrrpRouter:
    s = RouterSettings(name="VI_1", vrid=51, priority=prio, version=3, advert_int=0.1,
                       addresses=(VIP,), src_ip="10.0.0.2", **kw)  # type: ignore[arg-type]
    r = VrrpRouter(s, 0.0)
    r.start(0.0)
    r.actions()
    return r


def adv(prio: int, src: str = "10.0.0.1") -> Advert:
    return Advert(version=3, vrid=51, priority=prio, adver_int=10, addresses=(VIP,), src=src,
                  dst="224.0.0.18")


def run(r: VrrpRouter, until: float) -> list[object]:
    out: list[object] = []
    while (t := r.next_timer()) is not None and t <= until:
        r.handle_timer(t)
        out += r.actions()
    return out


def logs(acts: list[object]) -> str:
    return "\n".join(a.message for a in acts if isinstance(a, LogEvent))


def test_silent_claim_waits_for_the_block_and_claims_when_it_lifts() -> None:
    r = router()
    r.set_claim_block("g", ClaimBlock("another holder answers"), 0.0)
    acts = run(r, 5.0)
    assert r.state is State.BACKUP and r.claim_waiting
    assert ClaimWanted(True, True) in acts
    assert not any(isinstance(a, AcquireAddresses) for a in acts)
    assert "not claiming MASTER: another holder answers" in logs(acts)
    r.set_claim_block("g", None, 5.0)
    assert r.state is State.MASTER
    assert any(isinstance(a, AcquireAddresses) for a in r.actions())


def test_a_master_heard_again_ends_the_wait() -> None:
    r = router()
    r.set_claim_block("g", ClaimBlock("x"), 0.0)
    run(r, 1.0)
    r.receive(adv(150), 1.0)
    assert ClaimWanted(False) in r.actions() and not r.claim_waiting
    r.set_claim_block("g", None, 1.01)
    assert r.state is State.BACKUP  # not waiting any more: the down timer restarted


def test_silent_only_block_does_not_stop_preemption() -> None:
    r = router(prio=150)
    r.set_claim_block("conflict", ClaimBlock("holder answers", silent_only=True), 0.0)
    t = 0.0
    while t < 1.0:  # a lower-priority master keeps advertising: we preempt it
        r.receive(adv(100), t)
        r.actions()
        t += 0.1
        run(r, t)
        if r.state is State.MASTER:
            break
    assert r.state is State.MASTER


def test_silent_only_block_stops_a_silent_claim() -> None:
    r = router(prio=150)
    r.set_claim_block("conflict", ClaimBlock("holder answers", silent_only=True), 0.0)
    run(r, 2.0)
    assert r.state is State.BACKUP and r.claim_waiting


def test_announcing_block_sends_adverts_at_our_priority_while_waiting() -> None:
    r = router(prio=150)
    r.set_claim_block("lease", ClaimBlock("lease key held", announce=True), 0.0)
    acts = run(r, 1.0)
    sent = [a for a in acts if isinstance(a, SendAdvert)]
    assert r.state is State.BACKUP
    assert sent and all(a.priority == 150 for a in sent)
    assert 6 <= len(sent) <= 8  # one per advert interval after the down timer (~0.32 s)


def test_guard_fault_releases_and_says_why() -> None:
    r = router()
    run(r, 1.0)
    assert r.state is State.MASTER
    r.set_guard_fault("reference_address", "no reference address answered", 1.0)
    acts = r.actions()
    assert r.state is State.FAULT
    assert any(isinstance(a, ReleaseAddresses) for a in acts)
    text = logs(acts)
    assert "Entering FAULT STATE" in text
    assert "FAULT reason reference_address: no reference address answered" in text
    r.set_guard_fault("reference_address", None, 2.0)
    assert r.state is State.BACKUP


def test_yield_hands_the_role_over() -> None:
    r = router()
    run(r, 1.0)
    r.yield_master("10.0.0.100 is also answered by 02:00:00:00:00:09", 1.0)
    acts = r.actions()
    assert r.state is State.BACKUP
    assert any(isinstance(a, ReleaseAddresses) for a in acts)
    assert not any(isinstance(a, SendAdvert) and a.priority == 0 for a in acts)
    assert "yielding MASTER" in logs(acts)


def test_no_guard_means_no_change() -> None:
    r = router()
    acts = run(r, 1.0)
    assert r.state is State.MASTER
    assert not any(isinstance(a, ClaimWanted) for a in acts)


def test_the_repeat_fast_path_does_not_hide_the_end_of_a_wait() -> None:
    """Field replay: a backup waiting for a lease key heard its master again only through
    receive_repeat (the daemon's fast path); the wait must end there too."""
    r = router()
    a = adv(150)
    r.receive(a, 0.0)
    r.actions()
    assert r.repeat_advert is a
    r.set_claim_block("lease", ClaimBlock("held", announce=True), 0.0)
    run(r, 1.0)  # the master went quiet: waiting, announcing
    assert r.claim_waiting
    assert not r.receive_repeat(a, 1.0)  # refused: the full receive ends the wait
    r.receive(a, 1.0)
    assert ClaimWanted(False) in r.actions() and not r.claim_waiting
