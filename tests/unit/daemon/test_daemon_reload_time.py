"""``reload_time_file``'s line: keepalived's three forms, local time or UTC, today or tomorrow."""

from __future__ import annotations

import calendar
import time
from pathlib import Path

from pykeepalived.daemon.reload_time import ReloadTimer, reload_at

NOON_UTC = float(calendar.timegm((2026, 3, 10, 12, 0, 0, 0, 0, 0)))


def test_time_alone_is_the_next_such_time() -> None:
    assert reload_at("12:30:00Z", NOON_UTC) == (NOON_UTC + 1800, "")
    assert reload_at("11:00:00Z\n", NOON_UTC) == (NOON_UTC + 23 * 3600, "")


def test_dates_in_both_year_forms_and_the_past() -> None:
    assert reload_at("26-03-10 12:00:05Z", NOON_UTC) == (NOON_UTC + 5, "")
    assert reload_at("2026-03-11 12:00:00Z", NOON_UTC) == (NOON_UTC + 86400, "")
    assert reload_at("2026-03-10 11:59:59Z", NOON_UTC) == (
        None, "Reload date/time is in the past - ignoring")
    local = time.mktime((2026, 3, 10, 13, 0, 0, 0, 0, -1))
    assert reload_at("2026-03-10 13:00:00", local - 60) == (local, "")


def test_anything_else_is_refused() -> None:
    for bad in (" 12:00:00", "12:00", "2026-3-10 12:00:00", "12:00:00 Z", "25:00:00"):
        at, why = reload_at(bad, NOON_UTC)
        assert at is None and "ignoring" in why, bad


def test_the_file_removed_after_the_reload_unless_repeat(tmp_path: Path) -> None:
    f = tmp_path / "t"
    f.write_text("12:00:10Z\n")
    t = ReloadTimer(str(f))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(NOON_UTC + 10))
    assert t.check(NOON_UTC) == [f"Scheduling reload for {when}"]
    assert not t.due(NOON_UTC + 9) and t.due(NOON_UTC + 10) and not f.exists()
    f.write_text("12:00:10Z\n")
    t = ReloadTimer(str(f), repeat=True)
    t.check(NOON_UTC)
    assert t.due(NOON_UTC + 10) and f.exists()
    assert t.check(NOON_UTC + 10) and t.wait(NOON_UTC + 10) == 86400.0
    f.unlink()
    assert t.check(NOON_UTC + 11)[0].startswith("Cancelling reload scheduled for")
