"""What the VRRP child does once at start: how long it waits (``vrrp_startup_delay``,
``vrrp_delay_after_boot`` against the uptime), IGMP reports of link-local groups
(``disable_local_igmp``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon.process import read_uptime
from pykeepalived.daemon.settings import startup_delay
from pykeepalived.net import igmp


def test_delay_after_boot_is_what_is_left_of_it_or_the_startup_delay() -> None:
    g = GlobalDefs(vrrp_delay_after_boot=30.0)
    assert startup_delay(g, 12.5) == 17.5
    assert startup_delay(g, 30.0) == 0.0  # up long enough
    assert startup_delay(g, 4000.0) == 0.0
    assert startup_delay(g, None) == 0.0  # uptime unreadable: keepalived ignores the keyword
    both = GlobalDefs(vrrp_startup_delay=5.0, vrrp_delay_after_boot=30.0)
    assert startup_delay(both, 20.0) == 10.0  # the longer of the two
    assert startup_delay(both, 28.0) == 5.0
    assert startup_delay(GlobalDefs(vrrp_startup_delay=5.0), 1.0) == 5.0


def test_read_uptime(tmp_path: Path) -> None:
    up = tmp_path / "uptime"
    up.write_text("12.34 56.78\n")
    assert read_uptime(str(up)) == 12.34
    up.write_text("")
    assert read_uptime(str(up)) is None
    assert read_uptime(str(tmp_path / "absent")) is None
    assert (read_uptime() or 0) > 0


def test_link_local_reports_are_turned_off_only_when_on(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The sysctl's file: turned off and restored when it was on; left alone (and nothing to
    restore) when it was off; keepalived's words when it cannot be opened."""
    f = tmp_path / "igmp_link_local_mcast_reports"
    f.write_text("1\n")
    assert igmp.disable_link_local_reports(str(f))
    assert f.read_text().startswith("0")
    igmp.restore_link_local_reports(str(f))
    assert f.read_text().startswith("1")
    f.write_text("0\n")
    assert not igmp.disable_link_local_reports(str(f))
    assert f.read_text() == "0\n"
    with caplog.at_level(logging.INFO):
        assert not igmp.disable_link_local_reports(str(tmp_path / "absent"))
    assert f"Unable to open {tmp_path}/absent - errno 2" in caplog.text
