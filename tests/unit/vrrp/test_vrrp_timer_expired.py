"""``timer_expired_backup`` on the sans-IO router, with a virtual clock: when the process ran
its timers late, a MASTER whose last advert is older than a peer of the configured priority
needs to take over (3 intervals + that peer's skew) goes BACKUP instead of advertising again;
a shorter delay, or no keyword, changes nothing."""

from __future__ import annotations

import pytest
from test_vrrp_router import make_master, settings  # tests/unit/vrrp/test_vrrp_router.py

from pykeepalived.config import load_text
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.vrrp.actions import (
    Notify,
    NotifyEvent,
    Reason,
    ReleaseAddresses,
    SendAdvert,
    State,
    StateChanged,
)
from pykeepalived.vrrp.router import VrrpRouter, late_takeover


def master(**kw: object) -> tuple[VrrpRouter, float]:
    """A ``nopreempt`` router that became MASTER (its last advert sent at the returned time)."""
    return make_master(settings(preempt=False, **kw))


def test_the_check_starts_at_the_quickest_takeover() -> None:
    """2 intervals + the skew of a peer at the configured priority (keepalived's µs sums)."""
    r, _ = master(timer_expired_backup=200)
    assert late_takeover(r.settings) == pytest.approx(2 + 56 / 256)
    r3, _ = master(version=3, advert_int=0.5, timer_expired_backup=254)
    assert late_takeover(r3.settings) == pytest.approx(1 + 0.5 * 2 / 256, abs=1e-6)
    r0, _ = master()
    assert late_takeover(r0.settings) is None


def test_a_master_whose_peer_has_probably_taken_over_goes_backup() -> None:
    r, t = master(timer_expired_backup=200)  # peer at 200: it claims 3 + 56/256 s after
    assert not r.timers_late(t + 3.2)  # not yet: our last advert is younger than that
    assert r.state.value == "MASTER" and r.actions() == []
    assert r.timers_late(t + 3 + 56 / 256)
    acts = r.actions()
    assert r.state.value == "BACKUP"
    assert StateChanged(State.MASTER, State.BACKUP, Reason.TIMER_EXPIRED) in acts
    assert any(isinstance(a, ReleaseAddresses) for a in acts)
    assert Notify(NotifyEvent.BACKUP, "VI_1", 100) in acts
    assert not any(isinstance(a, SendAdvert) for a in acts)  # no priority-0 advert either


def test_a_fresh_advert_restarts_the_count() -> None:
    r, t = master(timer_expired_backup=254)
    r.handle_timer(t + 1.0)  # the periodic advert goes out on time
    assert any(isinstance(a, SendAdvert) for a in r.actions())
    assert not r.timers_late(t + 3.5)  # 2.5 s after that advert: a peer cannot have claimed
    assert r.state is State.MASTER


def test_without_the_keyword_a_late_master_stays() -> None:
    r, t = master()
    assert not r.timers_late(t + 100.0)
    assert r.state is State.MASTER


def _parsed(inst: str) -> tuple[int | None, list[str]]:
    res = load_text("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n"
                    f"{inst}  virtual_ipaddress {{\n    10.0.0.1\n  }}\n}}\n",
                    env=FakeEnvironment())
    return res.config.vrrp_instances[0].timer_expired_backup, [m.text for m in res.messages]


def test_keyword_defaults_and_needs_nopreempt() -> None:
    assert _parsed("  nopreempt\n  timer_expired_backup\n")[0] == 254
    assert _parsed("  nopreempt\n  timer_expired_backup 120\n")[0] == 120
    value, msgs = _parsed("  timer_expired_backup 120\n")
    assert value is None
    assert "(VI_1) expired_timer_backup requires nopreempt - resetting" in msgs
