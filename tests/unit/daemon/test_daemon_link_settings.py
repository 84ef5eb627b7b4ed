"""Link keywords mapped from the configuration (pure): ``interface_up_down_delays`` limits
(a delay must stay below ``(down_timer_adverts - 1) * advert_int`` of every instance on its
interface, as keepalived cuts it; ``down_timer_adverts 1`` allows none) and which
interfaces linkbeat polls."""

from __future__ import annotations

import logging

import pytest

from pykeepalived.config import load_text
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import KeepalivedConfig
from pykeepalived.daemon.link_debounce import debounce_delays
from pykeepalived.daemon.settings import polled_interfaces


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


def test_linkbeat_use_polling_covers_the_instances_interfaces() -> None:
    """Global ``linkbeat_use_polling`` polls each instance's interface (any method); the
    instance keyword its own; a ``linkbeat_interfaces`` line keeps its method; an interface
    no instance uses is not polled (keepalived: "Turning off linkbeat ... not used")."""
    env = FakeEnvironment(interfaces={"eth0", "eth1", "eth2"})
    text = ("linkbeat_interfaces {\n  eth1 IOCTL\n  eth2\n}\n"
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n"
            "  track_interface {\n    eth1\n  }\n}\n")
    cfg = load_text(text, env=env).config
    assert polled_interfaces(cfg) == ({"eth1": "IOCTL"}, ["eth2"])
    cfg = load_text("linkbeat_use_polling\n" + text, env=env).config
    assert polled_interfaces(cfg) == ({"eth1": "IOCTL", "eth0": ""}, ["eth2"])
    inst = text.replace("  virtual_router_id 1\n",
                        "  virtual_router_id 1\n  linkbeat_use_polling\n")
    assert polled_interfaces(load_text(inst, env=env).config)[0] == {"eth1": "IOCTL", "eth0": ""}
