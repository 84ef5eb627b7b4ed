"""What the VRRP child does once at start: how long it waits (``vrrp_startup_delay``,
``vrrp_delay_after_boot`` against the uptime)."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon.process import read_uptime
from pykeepalived.daemon.settings import startup_delay


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
