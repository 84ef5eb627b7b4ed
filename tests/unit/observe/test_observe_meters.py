"""observe.meters: histogram buckets, keepalived's stall line, advert receive timing."""

from __future__ import annotations

import pytest

from pykeepalived.observe.meters import AdvertTiming, Histogram, StallMeter, stall_message


def test_histogram_is_cumulative_with_le_bounds() -> None:
    h = Histogram((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 2.0):
        h.observe(v)
    j = h.to_json()
    # 0.1 belongs to le=0.1 (upper bounds are inclusive), 2.0 only to +Inf (= count)
    assert j["buckets"] == [[0.1, 2], [1.0, 3]]
    assert j["count"] == 4
    assert j["sum"] == pytest.approx(2.65)


@pytest.mark.parametrize(("late", "text"), [
    (1.5, "A thread timer expired 1.500000 seconds ago"),
    (0.000042, "A thread timer expired 0.000042 seconds ago"),
    (12.0000004, "A thread timer expired 12.000000 seconds ago"),
])
def test_stall_line_is_keepalived_scheduler_phrase(late: float, text: str) -> None:
    # lib/scheduler.c: "A thread timer expired %ld.%6.6ld seconds ago"
    assert stall_message(late) == text


def test_stall_meter_counts_only_over_threshold() -> None:
    m = StallMeter(threshold=0.1)
    assert m.timer_ran(10.0, 10.05) is None
    assert m.timer_ran(10.0, 9.99) is None  # early: lateness 0
    line = m.timer_ran(20.0, 20.25)
    assert line == "A thread timer expired 0.250000 seconds ago"
    j = m.to_json()
    assert j["stalls"] == 1 and j["max_lag"] == pytest.approx(0.25)
    assert j["lag"]["count"] == 3
    assert j["last_stall"] == pytest.approx(0.25)


def test_advert_timing_late_and_jitter() -> None:
    t = AdvertTiming(version=2)  # v2: the interval field is whole seconds
    now = 0.0
    for _ in range(50):  # a steady master at 1 s: no jitter, nothing late
        t.received(now, 1)
        now += 1.0
    assert t.late == 0 and t.jitter == pytest.approx(0.0)
    t.received(now + 0.6, 1)  # 1.6 s gap: late
    assert t.late == 1
    assert t.jitter == pytest.approx(0.6 / 16)
    assert t.max_gap == pytest.approx(1.6)
    t.restart()  # a state change: the next gap is not measured
    t.received(now + 100.0, 1)
    assert t.late == 1


def test_advert_timing_v3_centiseconds() -> None:
    t = AdvertTiming(version=3)
    t.received(0.0, 10)  # 10 cs = 0.1 s
    t.received(0.14, 10)  # 1.4 intervals: on time enough
    t.received(0.30, 10)  # 1.6 intervals: late
    assert t.late == 1
