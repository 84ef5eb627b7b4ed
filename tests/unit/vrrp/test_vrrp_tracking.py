"""Tracker arithmetic (weights, reverse, files, clamping) and its effect on a router."""

from __future__ import annotations

import pytest
from vrrp_sim import inst

from pykeepalived.vrrp.actions import Notify, NotifyEvent, State
from pykeepalived.vrrp.router import VrrpRouter
from pykeepalived.vrrp.tracking import (
    Tracking,
    TrackKind,
    TrackSpec,
    contribution,
    effective_priority,
)

S = TrackKind.SCRIPT


@pytest.mark.parametrize(
    ("weight", "reverse", "ok", "expected"),
    [
        (10, False, True, (False, 10)),  # positive weight: added while up
        (10, False, False, (False, 0)),
        (-10, False, True, (False, 0)),
        (-10, False, False, (False, -10)),  # negative weight: subtracted while down
        (10, True, True, (False, -10)),  # reverse: decreased when up ...
        (10, True, False, (False, 0)),
        (-10, True, False, (False, 10)),  # ... and increased when down
        (0, False, False, (True, 0)),  # weight 0: FAULT while down
        (0, False, True, (False, 0)),
        (0, True, True, (True, 0)),  # weight 0 reverse: FAULT while up
    ],
)
def test_boolean_tracker_contribution(
    weight: int, reverse: bool, ok: bool, expected: tuple[bool, int]
) -> None:
    assert contribution(TrackSpec(S, "x", weight, reverse), ok, 0) == expected


@pytest.mark.parametrize(
    ("weight", "reverse", "value", "expected"),
    [
        (0, False, 0, (False, 0)),
        (0, False, 3, (True, 0)),  # weight 0: non-zero means FAULT
        (0, True, 0, (True, 0)),
        (5, False, 3, (False, 15)),  # value × weight
        (5, True, 3, (False, -15)),
        (-1, False, 254, (True, 0)),  # below -253: FAULT
        (-1, False, 253, (False, -253)),
        (100, False, 100, (False, 253)),  # capped at 253
    ],
)
def test_file_tracker_contribution(
    weight: int, reverse: bool, value: int, expected: tuple[bool, int]
) -> None:
    spec = TrackSpec(TrackKind.FILE, "f", weight, reverse)
    assert contribution(spec, True, value) == expected


@pytest.mark.parametrize(
    ("base", "delta", "eff"),
    [(100, 0, 100), (100, 200, 254), (100, -200, 1), (254, 10, 254), (255, -100, 255), (1, -5, 1)],
)
def test_effective_priority_clamped_and_owner_untouched(base: int, delta: int, eff: int) -> None:
    assert effective_priority(base, delta) == eff


def test_seed_weight_arithmetic() -> None:
    """The blog post's rules: master 100 / backup 90 with ``weight -20`` fails over when the
    master's check fails (100-20 < 90); with ``weight +20`` the backup overtakes a failing master
    only if 90+20 > 100."""
    neg = Tracking([TrackSpec(S, "chk", -20)])
    neg.set_ok(S, "chk", False)
    assert effective_priority(100, neg.evaluate().delta) == 80 < 90
    pos_master = Tracking([TrackSpec(S, "chk", 20)])
    pos_master.set_ok(S, "chk", False)
    pos_backup = Tracking([TrackSpec(S, "chk", 20)])
    assert effective_priority(100, pos_master.evaluate().delta) == 100
    assert effective_priority(90, pos_backup.evaluate().delta) == 110 > 100


def test_several_trackers_add_up_and_report_faulty_ones() -> None:
    t = Tracking(
        [
            TrackSpec(S, "a", -30),
            TrackSpec(TrackKind.INTERFACE, "eth1", -20),
            TrackSpec(TrackKind.PROCESS, "nginx"),
            TrackSpec(TrackKind.FILE, "f", 2),
        ]
    )
    assert t.evaluate().delta == 0 and not t.evaluate().fault
    t.set_ok(S, "a", False)
    t.set_ok(TrackKind.INTERFACE, "eth1", False)
    t.set_value("f", 4)
    assert t.evaluate().delta == -30 - 20 + 8
    t.set_ok(TrackKind.PROCESS, "nginx", False)
    r = t.evaluate()
    assert r.fault and r.faulty == ("process:nginx",)
    assert not t.set_ok(S, "unknown", True)
    assert not t.set_value("unknown", 1)


def test_router_priority_changes_are_notified_and_owner_ignores_weights() -> None:
    r = VrrpRouter(inst("VI_1", 1, 100, tracks=(TrackSpec(S, "chk", -30),)), 0)
    r.start(0)
    r.actions()
    assert r.set_track_state(S, "chk", False, 1)
    assert r.effective_priority == 70
    assert Notify(NotifyEvent.BACKUP_PRIORITY, "VI_1", 70) in r.actions()
    assert not r.set_track_state(S, "other", False, 1)
    owner = VrrpRouter(inst("VI_1", 1, 255, tracks=(TrackSpec(S, "chk", -30),)), 0)
    owner.start(0)
    owner.set_track_state(S, "chk", False, 1)
    assert owner.effective_priority == 255 and owner.state is State.MASTER


def test_track_file_value_faults_router() -> None:
    r = VrrpRouter(inst("VI_1", 1, 100, tracks=(TrackSpec(TrackKind.FILE, "f", 0),)), 0)
    r.start(0)
    assert r.set_track_file("f", 1, 1)
    assert r.state is State.FAULT
    r.set_track_file("f", 0, 2)
    assert r.state is State.BACKUP


def test_tracking_before_start_decides_the_initial_state() -> None:
    r = VrrpRouter(inst("VI_1", 1, 100, tracks=(TrackSpec(S, "chk"),)), 0)
    r.set_track_state(S, "chk", False, 0)
    assert r.state is State.INIT
    r.start(0)
    assert r.state is State.FAULT
    assert r.next_timer() is None
