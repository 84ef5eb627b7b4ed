"""Sync groups: members change state together (virtual clock, simulated LAN)."""

from __future__ import annotations

import pytest
from vrrp_sim import Lan, inst, script

from pykeepalived.vrrp.actions import (
    GarpReason,
    LogEvent,
    Notify,
    NotifyEvent,
    Reason,
    SendGratuitous,
    State,
    StateChanged,
)
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.router import VrrpRouter, skew_time
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import TrackKind

DELAY = 0.0005
PAIR = {"G1": ("VI_1", "VI_2")}


def grouped_pair(lan: Lan, hi: int = 150, lo: int = 100, **kw: object) -> None:
    lan.add_node("a", "10.0.0.1", inst("VI_1", 1, hi, **kw), inst("VI_2", 2, hi, **kw), groups=PAIR)
    lan.add_node("b", "10.0.0.2", inst("VI_1", 1, lo), inst("VI_2", 2, lo), groups=PAIR)


def test_group_elects_together() -> None:
    lan = Lan(delay=DELAY)
    grouped_pair(lan)
    lan.start()
    lan.run_for(10)
    assert lan.masters(1) == ["a"] and lan.masters(2) == ["a"]
    assert lan.nodes["a"].groups["G1"].state is State.MASTER
    assert lan.nodes["b"].groups["G1"].state is State.BACKUP


def test_member_fault_faults_the_group_and_peer_takes_over_within_skew() -> None:
    lan = Lan(delay=DELAY)
    grouped_pair(lan)
    lan.start()
    lan.run_for(10.3)
    fail = lan.now
    lan.set_interface("a", "VI_2", False)
    a1, a2 = lan.router("a", "VI_1"), lan.router("a", "VI_2")
    assert a1.state is State.FAULT and a2.state is State.FAULT
    assert lan.nodes["a"].groups["G1"].state is State.FAULT
    reasons = {
        e.instance: e.action.reason
        for e in lan.log
        if e.node == "a" and isinstance(e.action, StateChanged) and e.action.new is State.FAULT
    }
    assert reasons == {"VI_1": Reason.SYNC_GROUP, "VI_2": Reason.FAULT}
    assert a1.stats.pri_zero_sent == 1 and a2.stats.pri_zero_sent == 1
    lan.run_for(5)
    for vrid in (1, 2):
        assert lan.masters(vrid) == ["b"]
        took = lan.became("b", State.MASTER, after=fail)
        assert took is not None and took - fail <= skew_time(2, 100, 1) + DELAY + 1e-9
    # the fault clears: the whole group goes BACKUP, then preempts back together
    lan.set_interface("a", "VI_2", True)
    assert a1.state is State.BACKUP and a2.state is State.BACKUP
    lan.run_for(10)
    assert lan.masters(1) == ["a"] and lan.masters(2) == ["a"]
    assert lan.nodes["b"].groups["G1"].state is State.BACKUP


def test_group_stays_faulty_while_any_member_is_faulty() -> None:
    lan = Lan(delay=DELAY)
    lan.add_node(
        "a",
        "10.0.0.1",
        inst("VI_1", 1, 150, tracks=(script("s1"),)),
        inst("VI_2", 2, 150, tracks=(script("s2"),)),
        groups=PAIR,
    )
    lan.start()
    lan.run_for(5)
    lan.set_track("a", TrackKind.SCRIPT, "s1", False)
    lan.set_track("a", TrackKind.SCRIPT, "s2", False)
    lan.set_track("a", TrackKind.SCRIPT, "s1", True)
    assert {r.state for r in lan.nodes["a"].routers.values()} == {State.FAULT}
    lan.set_track("a", TrackKind.SCRIPT, "s2", True)
    assert {r.state for r in lan.nodes["a"].routers.values()} == {State.BACKUP}


def test_member_may_become_master_only_when_all_can() -> None:
    lan = Lan(delay=DELAY)
    lan.add_node("a", "10.0.0.1", inst("VI_1", 1, 100), inst("VI_2", 2, 100), groups=PAIR)
    lan.add_node("c", "10.0.0.3", inst("VI_2", 2, 200))  # a higher master on VRID 2 only
    lan.start()
    lan.run_for(20)
    a1 = lan.router("a", "VI_1")
    assert lan.masters(2) == ["c"]
    assert lan.masters(1) == []  # nobody: a's VI_1 waits for its group (keepalived does too)
    assert a1.state is State.BACKUP and a1.wants_master
    down = lan.now
    lan.crash("c")
    lan.run_for(10)
    assert lan.masters(1) == ["a"] and lan.masters(2) == ["a"]
    t1 = lan.became("a", State.MASTER, after=down)
    assert t1 is not None
    starts = [t for t, n, _, s in lan.timeline if n == "a" and s is State.MASTER and t >= down]
    assert starts == [t1, t1]  # both members at the same instant


def test_member_stepping_down_takes_the_group_to_backup() -> None:
    lan = Lan(delay=DELAY)
    lan.add_node("a", "10.0.0.1", inst("VI_1", 1, 150), inst("VI_2", 2, 150), groups=PAIR)
    lan.add_node("c", "10.0.0.3", inst("VI_2", 2, 200))
    lan.start("a")
    lan.run_for(10)
    assert lan.masters(1) == ["a"] and lan.masters(2) == ["a"]
    lan.start("c")
    lan.run_for(10)
    assert lan.masters(2) == ["c"]
    assert lan.router("a", "VI_1").state is State.BACKUP
    assert lan.nodes["a"].groups["G1"].state is State.BACKUP


def test_group_notifications_carry_priority_zero() -> None:
    r1 = VrrpRouter(inst("VI_1", 1, 100, src_ip="10.0.0.1"), 0)
    r2 = VrrpRouter(inst("VI_2", 2, 100, src_ip="10.0.0.1"), 0)
    g = SyncGroup("G1", [r1, r2])
    r1.start(0)
    r2.start(0)
    r1.set_interface_up(False, 1)
    acts = g.actions()
    assert Notify(NotifyEvent.BACKUP, "G1", 0, group=True) in acts
    assert Notify(NotifyEvent.FAULT, "G1", 0, group=True) in acts
    assert LogEvent("VRRP_Group(G1) Syncing instances to FAULT state") in acts
    assert r2.state is State.FAULT


def test_init_fault_of_one_member_starts_the_group_in_fault() -> None:
    r1 = VrrpRouter(inst("VI_1", 1, 100, tracks=(script("s", initial_ok=False),)), 0)
    r2 = VrrpRouter(inst("VI_2", 2, 100), 0)
    g = SyncGroup("G1", [r2, r1])
    r2.start(0)
    r1.start(0)
    assert g.state is State.FAULT
    assert r1.state is State.FAULT and r2.state is State.FAULT
    assert r2.next_timer() is None


def test_router_cannot_join_two_groups() -> None:
    r = VrrpRouter(inst("VI_1", 1, 100), 0)
    SyncGroup("G1", [r])
    with pytest.raises(ValueError):
        SyncGroup("G2", [r])


def test_lower_priority_advert_makes_every_member_regarp() -> None:
    lan = Lan(delay=DELAY)
    lan.add_node(
        "a",
        "10.0.0.1",
        inst("VI_1", 1, 150, garp_lower_prio_repeat=2),
        inst("VI_2", 2, 150, garp_lower_prio_repeat=2),
        groups=PAIR,
    )
    lan.start()
    lan.run_for(5)
    adv = Advert(2, 1, 50, 1, ("10.9.1.1",), "10.0.0.7", "224.0.0.18")
    lan.router("a", "VI_1").receive(adv, lan.now)
    acts = lan.router("a", "VI_2").actions()
    assert SendGratuitous(("10.9.2.1",), 2, GarpReason.LOWER_PRIORITY) in acts


def test_waiting_member_logs_once() -> None:
    lan = Lan(delay=DELAY)
    lan.add_node("a", "10.0.0.1", inst("VI_1", 1, 100), inst("VI_2", 2, 100), groups=PAIR)
    lan.add_node("c", "10.0.0.3", inst("VI_2", 2, 200))
    lan.start()
    lan.run_for(30)
    waits = [
        e
        for e in lan.log
        if e.node == "a" and isinstance(e.action, LogEvent) and "waiting" in e.action.message
    ]
    assert len(waits) == 1
