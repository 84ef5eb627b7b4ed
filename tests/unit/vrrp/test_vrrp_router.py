"""Single-router behaviour of the VRRP state machine, driven by hand with a virtual clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    Action,
    AhResync,
    GarpReason,
    LogEvent,
    Notify,
    NotifyEvent,
    Reason,
    ReleaseAddresses,
    SendAdvert,
    SendGratuitous,
    State,
    StateChanged,
)
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.router import (
    RouterSettings,
    VrrpRouter,
    adver_int_field,
    master_down_interval,
    skew_time,
)
from pykeepalived.vrrp.tracking import TrackKind, TrackSpec

VIP = "10.0.0.200"
ME = "10.0.0.2"


def settings(**kw: object) -> RouterSettings:
    base: dict[str, object] = {
        "name": "VI_1",
        "vrid": 51,
        "priority": 100,
        "addresses": (VIP,),
        "src_ip": ME,
    }
    base.update(kw)
    return RouterSettings(**base)  # type: ignore[arg-type]


def advert(prio: int, src: str = "10.0.0.3", **kw: object) -> Advert:
    fields: dict[str, object] = {
        "version": 2,
        "vrid": 51,
        "priority": prio,
        "adver_int": 1,
        "addresses": (VIP,),
        "src": src,
        "dst": "224.0.0.18",
    }
    fields.update(kw)
    return Advert(**fields)  # type: ignore[arg-type]


def logs(actions: list[Action]) -> list[str]:
    return [a.message for a in actions if isinstance(a, LogEvent)]


def kinds(actions: list[Action]) -> list[type]:
    return [type(a) for a in actions if not isinstance(a, LogEvent)]


def started(s: RouterSettings, now: float = 0.0) -> VrrpRouter:
    r = VrrpRouter(s, now)
    r.start(now)
    r.actions()
    return r


def make_master(s: RouterSettings) -> tuple[VrrpRouter, float]:
    r = started(s)
    t = r.next_timer()
    assert t is not None
    r.handle_timer(t)
    assert r.state is State.MASTER
    r.actions()
    return r, t


# ---------------------------------------------------------------------------- timing formulas
@pytest.mark.parametrize(
    ("version", "prio", "field", "skew", "mdi"),
    [
        (2, 100, 1, 0.609375, 3.609375),
        (2, 254, 1, 0.007812, 3.007812),  # µs truncation
        (2, 100, 2, 0.609375, 6.609375),  # v2 skew does not scale with the interval
        (3, 100, 100, 0.609375, 3.609375),
        (3, 100, 10, 0.060937, 0.360937),  # keepalived truncates to µs
        (3, 200, 100, 0.21875, 3.21875),
    ],
)
def test_skew_and_master_down(version: int, prio: int, field: int, skew: float, mdi: float) -> None:
    assert skew_time(version, prio, field) == pytest.approx(skew, abs=1e-9)
    assert master_down_interval(version, prio, field) == pytest.approx(mdi, abs=1e-9)


def test_adver_int_field_rounds_per_version() -> None:
    assert adver_int_field(2, 1.0) == 1
    assert adver_int_field(2, 0.5) == 1
    assert adver_int_field(3, 0.1) == 10
    assert adver_int_field(3, 1.0) == 100
    assert adver_int_field(3, 0.001) == 1


def test_down_timer_adverts_replaces_the_factor_three() -> None:
    r = started(settings(down_timer_adverts=5))
    assert r.next_timer() == pytest.approx(5 + 0.609375)


# ---------------------------------------------------------------------------- start-up
def test_starts_in_backup_and_removes_stale_vips() -> None:
    r = VrrpRouter(settings(initial_state=State.MASTER), 10.0)
    r.start(10.0)
    acts = r.actions()
    assert r.state is State.BACKUP
    assert "(VI_1) Entering BACKUP STATE (init)" in logs(acts)
    assert kinds(acts) == [ReleaseAddresses, StateChanged, Notify]
    assert StateChanged(State.INIT, State.BACKUP, Reason.STARTUP) in acts
    # state MASTER below 255 is only a hint: it still waits the whole Master_Down interval
    assert r.next_timer() == pytest.approx(10 + 3.609375)


def test_becomes_master_after_master_down_with_keepalived_order() -> None:
    r = started(settings())
    r.handle_timer(3.6)  # not yet due
    assert r.state is State.BACKUP
    assert r.actions() == []
    r.handle_timer(3.609375)
    acts = r.actions()
    assert r.state is State.MASTER
    assert logs(acts)[:2] == [
        "(VI_1) Receive advertisement timeout",
        "(VI_1) Entering MASTER STATE",
    ]
    assert kinds(acts) == [SendAdvert, AcquireAddresses, SendGratuitous, StateChanged, Notify]
    assert acts[[type(a) for a in acts].index(SendAdvert)] == SendAdvert(100, 2, 51, 1, (VIP,))
    garp = next(a for a in acts if isinstance(a, SendGratuitous))
    assert garp == SendGratuitous((VIP,), 5, GarpReason.BECOME_MASTER)
    assert r.stats.become_master == 1
    assert r.master_ip == ME


def test_owner_takes_over_at_once() -> None:
    r = VrrpRouter(settings(priority=255, initial_state=State.MASTER), 1.0)
    r.start(1.0)
    acts = r.actions()
    assert r.state is State.MASTER
    assert StateChanged(State.BACKUP, State.MASTER, Reason.OWNER_STARTUP) in acts
    assert r.next_timer() == pytest.approx(2.0)


def test_master_adverts_every_interval_and_garp_schedule() -> None:
    s = settings(garp_master_delay=5, garp_master_repeat=3, garp_master_refresh=20)
    r, t0 = make_master(s)
    seen: list[tuple[float, Action]] = []
    now = t0
    while now < t0 + 45:
        nt = r.next_timer()
        assert nt is not None
        now = nt
        r.handle_timer(now)
        seen.extend((now - t0, a) for a in r.actions())
    adverts = [t for t, a in seen if isinstance(a, SendAdvert)]
    assert adverts[:3] == pytest.approx([1, 2, 3])
    garps = [(round(t, 6), a.count, a.reason) for t, a in seen if isinstance(a, SendGratuitous)]
    assert garps == [
        (5.0, 3, GarpReason.MASTER_DELAYED),
        (20.0, 1, GarpReason.REFRESH),
        (40.0, 1, GarpReason.REFRESH),
    ]


def test_min_garp_sends_one_and_no_second_burst() -> None:
    r = started(settings(min_garp=True))
    r.handle_timer(4)
    garps = [a for a in r.actions() if isinstance(a, SendGratuitous)]
    assert [g.count for g in garps] == [1]
    assert r.next_timer() == pytest.approx(4 + 1)  # only the advert timer


# ---------------------------------------------------------------------------- backup receive
def test_backup_accepts_higher_priority_and_resets_timer() -> None:
    r = started(settings())
    r.receive(advert(150), 2.0)
    assert r.next_timer() == pytest.approx(2.0 + 3.609375)
    assert r.master_ip == "10.0.0.3"
    assert r.stats.advert_rcvd == 1


def test_backup_ignores_lower_priority_and_keeps_remaining_timer() -> None:
    r = started(settings())
    r.receive(advert(50), 2.0)
    assert r.next_timer() == pytest.approx(3.609375)
    assert any("received lower priority advert" in m for m in logs(r.actions()))


def test_nopreempt_backup_accepts_lower_priority() -> None:
    r = started(settings(preempt=False))
    r.receive(advert(50), 2.0)
    assert r.next_timer() == pytest.approx(2.0 + 3.609375)


def test_priority_zero_sets_timer_to_skew() -> None:
    r = started(settings())
    r.receive(advert(150), 1.0)
    r.actions()
    r.receive(advert(0), 2.0)
    assert "(VI_1) Backup received priority 0 advertisement" in logs(r.actions())
    assert r.next_timer() == pytest.approx(2.0 + 0.609375)
    assert r.stats.pri_zero_rcvd == 1


def test_v2_interval_mismatch_is_dropped() -> None:
    r = started(settings())
    r.receive(advert(150, adver_int=2), 1.0)
    assert r.next_timer() == pytest.approx(3.609375)
    # logged, not counted: keepalived 2.2.7's stats file does not move either
    assert "advertisement interval mismatch mine=1 sec rcv'd=2 sec" in " ".join(logs(r.actions()))
    assert r.stats.advert_interval_err == 0
    assert r.stats.advert_rcvd == 0


def test_v3_backup_adopts_master_interval() -> None:
    r = started(settings(version=3, advert_int=1.0))
    assert r.next_timer() == pytest.approx(3.609375)
    r.receive(advert(150, version=3, adver_int=50), 1.0)
    assert r.master_adver_int == 50
    # 3 × 0.5 s + (256-100)×0.5/256 s
    assert r.next_timer() == pytest.approx(1.0 + 1.5 + 0.3046875)
    # a v3 master keeps its own interval for its adverts
    r.handle_timer(10)
    sent = [a for a in r.actions() if isinstance(a, SendAdvert)]
    assert sent[0].adver_int == 100


def test_address_list_mismatch_is_dropped_unless_skip_check_for_same_master() -> None:
    r = started(settings())
    r.receive(advert(150, addresses=("10.0.0.99",)), 1.0)
    assert r.stats.addr_list_err == 1
    assert r.next_timer() == pytest.approx(3.609375)
    s2 = settings(skip_check_adv_addr=True)
    r2 = started(s2)
    r2.receive(advert(150), 1.0)
    r2.receive(advert(150, addresses=("10.0.0.99",)), 2.0)  # same master: list not checked
    assert r2.next_timer() == pytest.approx(2.0 + 3.609375)


def test_count_mismatch_is_dropped_before_it_counts_as_received() -> None:
    """As keepalived 2.2.7 does, in BACKUP and in MASTER (seen side by side in
    tests/netns/daemon/test_daemon_hostile.py): the master-down timer is not reset."""
    r = started(settings())
    r.receive(advert(150, addresses=(VIP, "10.0.0.201")), 1.0)
    assert r.stats.addr_list_err == 1
    assert r.stats.advert_rcvd == 0
    assert "(VI_1) received an unexpected ip number count 2, expected 1!" in logs(r.actions())
    assert r.next_timer() == pytest.approx(3.609375)
    m, t = make_master(settings())
    m.receive(advert(200, addresses=(VIP, "10.0.0.201")), t + 0.5)
    assert m.state is State.MASTER


# ---------------------------------------------------------------------------- master receive
def test_master_steps_down_on_higher_priority() -> None:
    r, t = make_master(settings())
    r.receive(advert(150), t + 0.5)
    acts = r.actions()
    assert r.state is State.BACKUP
    assert kinds(acts) == [ReleaseAddresses, StateChanged, Notify]
    assert r.stats.release_master == 1
    assert r.master_ip == "10.0.0.3"
    assert r.next_timer() == pytest.approx(t + 0.5 + 3.609375)


def test_higher_prio_send_advert_sends_one_first() -> None:
    r, t = make_master(settings(higher_prio_send_advert=True))
    r.receive(advert(150), t + 0.5)
    assert kinds(r.actions())[:2] == [SendAdvert, ReleaseAddresses]


def test_master_hearing_lower_priority_forces_election() -> None:
    r, t = make_master(settings(garp_lower_prio_repeat=2, garp_lower_prio_delay=3))
    r.receive(advert(50, ah_seq=41), t + 0.5)
    acts = r.actions()
    assert r.state is State.MASTER
    assert any(m.endswith("forcing new election") for m in logs(acts))
    assert SendAdvert(100, 2, 51, 1, (VIP,)) in acts
    assert AhResync(41) in acts
    assert SendGratuitous((VIP,), 2, GarpReason.LOWER_PRIORITY) in acts
    assert Notify(NotifyEvent.MASTER_RX_LOWER_PRI, "VI_1", 100) in acts
    r.handle_timer(t + 3.5)
    assert SendGratuitous((VIP,), 2, GarpReason.LOWER_PRIORITY) in r.actions()


def test_lower_prio_no_advert_stays_silent() -> None:
    r, t = make_master(settings(lower_prio_no_advert=True, garp_lower_prio_repeat=0))
    r.receive(advert(50), t + 0.5)
    acts = r.actions()
    assert not any(isinstance(a, SendAdvert) for a in acts)
    assert r.state is State.MASTER


@pytest.mark.parametrize(
    ("mine", "theirs", "stays"),
    [
        ("10.0.0.2", "10.0.0.3", False),
        ("10.0.0.3", "10.0.0.2", True),
        ("10.0.0.200", "10.0.0.30", True),  # numeric, not textual, order
        ("192.168.0.1", "10.0.0.1", True),  # unsigned: 192.x is above 10.x
    ],
)
def test_equal_priority_tie_broken_by_higher_source(mine: str, theirs: str, stays: bool) -> None:
    r, t = make_master(settings(src_ip=mine))
    r.receive(advert(100, src=theirs), t + 0.1)
    assert (r.state is State.MASTER) is stays


def test_ipv6_tie_break_compares_whole_address() -> None:
    s = settings(
        src_ip="fe80::1:0",
        family=6,
        version=3,
        addresses=("fd77::200",),
    )
    r, t = make_master(s)
    adv = advert(100, src="fe80::ff", version=3, adver_int=100, addresses=("fd77::200",), family=6)
    r.receive(adv, t + 0.1)
    assert r.state is State.MASTER  # ::1:0 > ::ff
    r.receive(replace(adv, src="fe80::2:0"), t + 0.2)
    assert r.state is State.BACKUP


def test_master_answers_priority_zero_with_an_advert() -> None:
    r, t = make_master(settings())
    r.receive(advert(0), t + 0.3)
    acts = r.actions()
    assert SendAdvert(100, 2, 51, 1, (VIP,)) in acts
    assert r.next_timer() == pytest.approx(t + 1.3)


def test_owner_ignore_adverts() -> None:
    r = VrrpRouter(settings(priority=255, owner_ignore_adverts=True), 0)
    r.start(0)
    r.actions()
    r.receive(advert(255, src="10.0.0.9"), 0.5)
    assert r.state is State.MASTER
    assert r.actions() == []


def test_two_owners_lower_address_steps_down_and_rogue_is_tolerated_by_demotion() -> None:
    r = VrrpRouter(settings(priority=255, src_ip="10.0.0.9"), 0)
    r.start(0)
    low = VrrpRouter(settings(priority=255, src_ip="10.0.0.3"), 0)
    low.start(0)
    low.receive(advert(255, src="10.0.0.9"), 0.1)
    assert low.state is State.BACKUP
    # the higher one hears a rogue owner that never backs off
    now = 0.0
    while r.state is State.MASTER and now < 10:
        now = round(now + 0.25, 6)
        r.handle_timer(now)
        r.receive(advert(255, src="10.0.0.3"), now)
    assert r.state is State.BACKUP
    assert r.effective_priority == 254
    msgs = logs(r.actions())
    assert any("rogue" in m for m in msgs)
    assert 2.0 <= now <= 4.0


# ---------------------------------------------------------------------------- shutdown
def test_shutdown_as_master_sends_priority_zero_then_releases() -> None:
    r, t = make_master(settings())
    r.shutdown(t + 0.2)
    acts = r.actions()
    assert r.state is State.STOP
    assert kinds(acts) == [SendAdvert, ReleaseAddresses, StateChanged, Notify]
    assert acts[0] == SendAdvert(0, 2, 51, 1, (VIP,))
    assert "(VI_1) sent 0 priority" in logs(acts)
    assert r.stats.pri_zero_sent == 1
    assert r.next_timer() is None


def test_shutdown_as_backup_only_notifies() -> None:
    r = started(settings())
    r.shutdown(1)
    assert kinds(r.actions()) == [StateChanged, Notify]


# ---------------------------------------------------------------------------- misc
def test_reload_master_goes_straight_back_to_master() -> None:
    r = VrrpRouter(settings(), 5.0)
    r.start(5.0, reload_master=True)
    acts = r.actions()
    assert r.state is State.MASTER
    assert StateChanged(State.INIT, State.MASTER, Reason.RELOAD_MASTER) in acts
    assert ReleaseAddresses not in kinds(acts)
    assert kinds(acts)[:2] == [SendAdvert, AcquireAddresses]


def test_own_looped_advert_wrong_version_and_type_are_ignored() -> None:
    r = started(settings())
    r.receive(advert(150, src=ME), 1.0)
    assert r.stats.advert_rcvd == 0
    r.receive(advert(150, version=3, adver_int=100), 1.0)
    assert r.stats.vers_err == 1
    r.receive(advert(150, type=2), 1.0)
    assert r.stats.invalid_type_rcvd == 1
    r.receive(advert(150, vrid=52), 1.0)
    assert r.stats.vrid_err == 1
    assert r.next_timer() == pytest.approx(3.609375)  # none of them touched the timer


def test_master_to_fault_sends_priority_zero_then_releases() -> None:
    r, t = make_master(settings())
    r.set_interface_up(False, t + 0.5)
    acts = r.actions()
    assert r.state is State.FAULT
    assert kinds(acts) == [SendAdvert, ReleaseAddresses, StateChanged, Notify]
    assert acts[0] == SendAdvert(0, 2, 51, 1, (VIP,))
    assert "(VI_1) Entering FAULT STATE" in logs(acts)
    assert r.next_timer() is None
    r.receive(advert(150), t + 0.6)  # FAULT ignores adverts
    assert r.state is State.FAULT
    r.set_interface_up(True, t + 1)
    assert r.state is State.BACKUP
    assert r.next_timer() == pytest.approx(t + 1 + 3.609375)


def test_stats_bump_and_dump() -> None:
    r = started(settings())
    r.stats.bump("auth_failure")
    assert r.stats.as_dict()["auth_failure"] == 1
    with pytest.raises(AttributeError):
        r.stats.bump("no_such_counter")


def test_settings_validation() -> None:
    with pytest.raises(ValueError):
        settings(vrid=0)
    with pytest.raises(ValueError):
        settings(priority=256)
    with pytest.raises(ValueError):
        settings(version=4)
    with pytest.raises(ValueError):
        settings(down_timer_adverts=0)


def test_priority_change_in_backup_shifts_the_running_timer_by_the_skew_change() -> None:
    r = VrrpRouter(settings(tracks=(TrackSpec(TrackKind.SCRIPT, "chk", 100),)), 0)
    r.set_track_state(TrackKind.SCRIPT, "chk", False, 0)
    r.start(0)
    assert r.next_timer() == pytest.approx(3.609375)
    r.set_track_state(TrackKind.SCRIPT, "chk", True, 1.0)  # 100 → 200
    assert r.effective_priority == 200
    assert r.next_timer() == pytest.approx(3.609375 - 0.609375 + 0.21875)
