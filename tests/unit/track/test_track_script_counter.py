"""The vrrp_script rise/fall counter against a plain 'N consecutive results' model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.model import VrrpScript
from pykeepalived.track import ScriptState, ScriptTracker, TrackerKind


def test_first_result_is_always_reported() -> None:
    t = ScriptTracker("chk", rise=3, fall=3)
    assert t.state is ScriptState.INIT and t.initial_event() is None
    ev = t.record(True)  # one success is enough out of INIT, whatever rise is
    assert ev is not None and ev.up and ev.kind is TrackerKind.SCRIPT and ev.name == "chk"
    t2 = ScriptTracker("chk", rise=3, fall=3)
    ev2 = t2.record(False)  # and one failure, whatever fall is
    assert ev2 is not None and not ev2.up
    assert t2.state is ScriptState.DOWN


def test_init_fail_starts_down_and_needs_rise_successes() -> None:
    t = ScriptTracker.from_config(VrrpScript("c", ("/bin/true",), rise=2, fall=2, init_fail=True))
    ev = t.initial_event()
    assert ev is not None and ev.up is False
    assert t.record(False) is None  # already down: nothing new
    assert t.record(True) is None
    ev = t.record(True)
    assert ev is not None and ev.up


def test_seed_recipe_fall3_rise1() -> None:
    """Seed 001: interval 5, fall 3, rise 1: three failures to go down, one success back up."""
    t = ScriptTracker("check_haproxy", rise=1, fall=3)
    assert t.record(True) is not None  # INIT -> up
    assert t.record(False) is None
    assert t.record(False) is None
    ev = t.record(False)
    assert ev is not None and not ev.up
    ev = t.record(True)
    assert ev is not None and ev.up


@settings(max_examples=300, deadline=None)
@given(rise=st.integers(1, 5), fall=st.integers(1, 5), init_fail=st.booleans(),
       results=st.lists(st.booleans(), max_size=60))
def test_counter_matches_consecutive_model(rise: int, fall: int, init_fail: bool,
                                           results: list[bool]) -> None:
    t = ScriptTracker("s", rise=rise, fall=fall, init_fail=init_fail)
    model: bool | None = False if init_fail else None  # None = INIT
    run_ok = 0
    run_ko = 0
    for i, ok in enumerate(results):
        ev = t.record(ok)
        run_ok = run_ok + 1 if ok else 0
        run_ko = 0 if ok else run_ko + 1
        if model is None:  # first result decides at once
            new: bool | None = ok
        elif model and run_ko >= fall:
            new = False
        elif not model and run_ok >= rise:
            new = True
        else:
            new = model
        changed = new != model
        model = new
        assert (ev is not None) == changed, (i, results[: i + 1])
        if ev is not None:
            assert ev.up == model
        assert t.up == bool(model)
