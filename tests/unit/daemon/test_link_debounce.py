"""``interface_up_down_delays`` limits (pure): a delay must stay below
``(down_timer_adverts - 1) * advert_int`` of every instance on its interface, as keepalived
cuts it, and ``down_timer_adverts 1`` allows none."""

from __future__ import annotations

import logging

import pytest

from pykeepalived.config import load_text
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import KeepalivedConfig
from pykeepalived.daemon.link_debounce import debounce_delays


def _cfg(delays: str, inst: str = "") -> KeepalivedConfig:
    text = ("interface_up_down_delays {\n" + delays + "\n}\n"
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  advert_int 1\n"
            + inst + "}\n")
    return load_text(text, env=FakeEnvironment()).config


def test_delays_below_the_limit_stay(caplog: pytest.LogCaptureFixture) -> None:
    assert debounce_delays(_cfg("  eth0 1.5 0.5")) == {"eth0": (1.5, 0.5)}
    assert not caplog.records


def test_a_delay_at_the_limit_is_cut(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        got = debounce_delays(_cfg("  eth0 2 0.5"))
    assert got == {"eth0": (2 - 1 / 256, 0.5)}
    assert "VI_1: interface eth0 debounce timer(s) not less that 2 * advert_int - resetting" \
        in caplog.text


def test_one_down_timer_advert_allows_no_delay(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        got = debounce_delays(_cfg("  eth0 0.5 0.5", "  down_timer_adverts 1\n"))
    assert got == {"eth0": (0.0, 0.0)}
    assert "cannot use debounce timers with down_timer_adverts = 1" in caplog.text
