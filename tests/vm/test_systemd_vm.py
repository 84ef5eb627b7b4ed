"""pykeepalived under a real systemd (PID 1 of a qemu guest booting Debian's kernel and the
host's root read-only): the shipped unit, sd_notify, the keepalived alias, process names, the
journal. One boot runs every check of ``systemd_guest.py``; each test below reports one.

The guest's assets are fetched with apt-get when missing; if they cannot be had the test fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pykeepalived.lab.ipvs_vm import ensure_assets, guest_report, in_guest

pytestmark = [pytest.mark.vm, pytest.mark.slow, pytest.mark.timeout(1000)]

GUEST_SCRIPT = Path(__file__).with_name("systemd_guest.py")
CHECKS = [
    "lab_up",
    "install_says_why_no_alias_next_to_keepalived",
    "install_aliases_keepalived_where_none_exists",
    "broken_config_fails_the_start_with_file_line",
    "start_returns_after_ready_with_the_vip",
    "hardened_unit_runs_with_capabilities_only",
    "processes_are_found_as_keepalived",
    "journal_has_keepalived_identifiers_and_priorities",
    "reload_by_diff_without_vip_flap",
    "watchdog_restarts_a_stopped_vrrp_child",
    "seed_check_script_stops_the_service_gracefully",
]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if in_guest():
        pytest.skip("already inside the guest")
    ensure_assets()  # raises (test error, not skip) when the Debian registry cannot be reached
    return guest_report(GUEST_SCRIPT, timeout=900, systemd=True)


@pytest.mark.parametrize("name", CHECKS)
def test_systemd_in_guest(report: dict[str, Any], name: str) -> None:
    assert name in report, f"check {name} did not run:\n{report['_guest']['output'][-4000:]}"
    result = report[name]
    assert result["ok"], result.get("detail")


def test_guest_ran_exactly_the_listed_checks(report: dict[str, Any]) -> None:
    ran = [k for k in report if not k.startswith("_")]
    assert ran == CHECKS
