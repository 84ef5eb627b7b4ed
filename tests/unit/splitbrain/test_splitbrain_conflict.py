"""Conflict watch: every cause it addresses ends with one holder, on a virtual clock.

Each scenario is the lab's (tests/netns/splitbrain) in miniature: two nodes, the master's
adverts stop reaching the backup while ARP still works (a firewall dropping protocol 112, a
cut heartbeat link), mismatched VRIDs, one-way loss; with and without the watch.
"""

from __future__ import annotations

from sbsim import World

from pykeepalived.splitbrain import conflict as cw
from pykeepalived.vrrp.actions import State


def pair(conflict: bool, vrid_b: int = 51) -> World:
    w = World()
    w.add("a", 150, conflict=conflict)
    w.add("b", 100, vrid=vrid_b, conflict=conflict)
    w.start()
    w.run(2.0)
    assert w.holders() == ["a"]
    return w


def test_adverts_blocked_without_the_watch_is_split_brain() -> None:
    w = pair(conflict=False)
    w.vrrp_cut |= {("a", "b"), ("b", "a")}
    w.run(5.0)
    assert w.holders() == ["a", "b"] and w.dual(2.0) > 2.5


def test_adverts_blocked_with_the_watch_backup_never_claims() -> None:
    w = pair(conflict=True)
    w.vrrp_cut |= {("a", "b"), ("b", "a")}
    w.run(10.0)
    assert w.holders() == ["a"] and w.dual() == 0.0
    assert w.nodes["b"].router.claim_waiting
    # the master dies: probes go unanswered, the backup claims
    w.crash("a")
    w.run(11.0)
    assert w.holders() == ["b"]


def test_mismatched_vrids_end_with_one_holder_and_no_overlap() -> None:
    w = World()
    w.add("a", 150, conflict=True)
    w.add("b", 100, vrid=52, conflict=True)
    w.start()
    w.run(5.0)
    assert w.holders() == ["a"] and w.dual() == 0.0


def test_mismatched_vrids_against_a_node_without_the_watch_yields_within_the_bound() -> None:
    w = World()
    a = w.add("a", 150, conflict=True)
    w.add("b", 100, vrid=52, conflict=False)  # keepalived: never yields
    w.start()
    w.run(5.0)
    assert w.holders() == ["b"]  # the watching node gave way: one holder
    assert w.dual() <= 4 * 0.1 + 0.02
    watch = a.guards.conflicts["VI_1"]
    assert watch.conflicts >= 1 and watch.yields == 1


def test_one_way_loss_master_to_backup_the_master_yields_and_does_not_flap() -> None:
    w = pair(conflict=True)
    w.vrrp_cut.add(("a", "b"))
    w.arp_cut.add(("a", "b"))  # everything from a to b is lost
    w.run(12.0)
    assert w.holders() == ["b"]
    changes = [t for t, h in w.samples if t > 3.0 and h != ("b",)]
    assert changes == []  # stays with b: no preempt-yield cycle
    assert w.dual(2.0) <= 0.1 + 4 * 0.1 + 0.02


def test_preemption_still_works_with_the_watch() -> None:
    w = World()
    w.add("b", 100, conflict=True)
    w.start()
    w.run(2.0)
    a = w.add("a", 150, conflict=True)
    a.router.start(w.now)
    a.guards.start(w.now)
    w._after(a, a.router.actions())
    w.run(4.0)
    assert w.holders() == ["a"]


def test_master_sees_a_conflict_within_one_interval() -> None:
    watch = cw.ConflictWatch(cw.ConflictSettings("VI_1", ("10.0.0.100",), 0.1,
                                                 own_mac="02:00:00:00:00:09"))
    watch.set_state(State.MASTER, 0.0)
    assert cw.SetBlock(None) not in watch.actions()
    watch.handle_timer(0.0)
    assert cw.ProbeVips(("10.0.0.100",)) in watch.actions()
    assert watch.next_timer() == 0.1
    watch.evidence_arp("10.0.0.100", "02:00:00:00:00:01", 0.102)  # lower MAC: we rank higher
    acts = watch.actions()
    assert any(isinstance(a, cw.ConflictSeen) for a in acts)
    assert not any(isinstance(a, cw.YieldRole) for a in acts)
    watch.evidence_arp("10.0.0.100", "02:00:00:00:00:01", 0.41)
    assert any(isinstance(a, cw.YieldRole) for a in watch.actions())


def test_a_slow_master_probe_does_not_delay_the_backups_check() -> None:
    """Field replay: conflict_interval 1 s (the MASTER's pace) put the pre-claim probe on a
    1 s grid, after the claim; the BACKUP probes at the advert's pace."""
    w = cw.ConflictWatch(cw.ConflictSettings("VI_1", ("10.0.0.100",), 1.0, lead=0.15,
                                             backup_interval=0.1))
    w.set_state(State.BACKUP, 5.0)
    w.set_down_deadline(5.36, 5.0)
    t = w.next_timer()
    assert t is not None and 5.2 <= t < 5.31  # two adverts missing, before the 5.36 claim
    w.handle_timer(t)
    w.handle_timer(t)
    assert cw.ProbeVips(("10.0.0.100",)) in w.actions()


def test_start_up_race_mac_yield_is_undone_by_vrrp_order_once_adverts_are_heard() -> None:
    """Field replay: both nodes claim at once (neither heard the other), the first evidence
    is ARP (no advert yet: ranked by MAC, so the higher-priority a yields to b's higher MAC);
    once b's adverts (priority 100) reach a, VRRP preemption puts a back and b goes BACKUP."""
    w = World()
    w.add("a", 150, conflict=True)
    w.add("b", 100, conflict=True)
    w.vrrp_cut |= {("a", "b"), ("b", "a")}
    w.arp_cut |= {("a", "b"), ("b", "a")}
    w.start()
    w.run(1.0)
    assert w.holders() == ["a", "b"]  # both claimed blind
    w.arp_cut.clear()
    w.run(1.5)
    assert w.holders() == ["b"]  # ARP before any advert: a yielded on the MAC ranking
    w.vrrp_cut.clear()
    w.run(3.0)
    assert w.holders() == ["a"] and w.nodes["b"].router.state is State.BACKUP


def test_master_ranks_an_arp_holder_by_vrrp_when_its_adverts_are_known() -> None:
    watch = cw.ConflictWatch(cw.ConflictSettings("VI_1", ("10.0.0.100",), 0.1,
                                                 own_mac="02:00:00:00:00:01"))
    watch.set_rank(150, "10.0.0.1")
    watch.set_state(State.MASTER, 0.0)
    watch.vrrp_heard(0.05, (100, "10.0.0.2"))  # the other holder advertises priority 100
    watch.evidence_arp("10.0.0.100", "02:00:00:00:00:02", 0.1)  # a higher MAC than ours
    assert not any(isinstance(a, cw.YieldRole) for a in watch.actions())
