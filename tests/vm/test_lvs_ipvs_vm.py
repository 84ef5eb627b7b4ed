"""The IPVS data plane, proven in a qemu guest booting Debian's kernel (the CI kernel has no
IPVS). One boot runs every check of ``lvs_guest_ipvs.py``; each test below reports one of them.

The guest's assets (kernel package, busybox) are fetched with apt-get when missing; if they
cannot be had the test fails, it does not skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pykeepalived.lab.ipvs_vm import ensure_assets, guest_report, in_guest

pytestmark = [pytest.mark.vm, pytest.mark.slow, pytest.mark.timeout(900)]

GUEST_SCRIPT = Path(__file__).with_name("lvs_guest_ipvs.py")
CHECKS = [
    "setup_root_namespace",
    "timeouts_applied",
    "apply_full_table_matches_ipvsadm",
    "thresholds_and_tunnel_info_in_kernel",
    "read_back_equals_applied",
    "reapply_same_table_is_a_no_op",
    "diff_applies_only_the_changes",
    "resync_after_changes_behind_our_back",
    "stats_are_read_back",
    "sync_daemon_follows_vrrp_state",
    "sync_daemon_follower_tracks_its_instance",
    "vrrp_child_drives_the_sync_daemon",
    "close_removes_ours_and_keeps_foreign",
    "flush_removes_everything",
    "refused_operation_does_not_block_others",
    "nat_lab_up",
    "nat_traffic_follows_weights",
    "nat_stats_count_the_connections",
    "nat_removed_dest_stops_receiving",
    "nat_weight_zero_gets_no_new_connections",
    "nat6_traffic_follows_weights",
    "dr_real_servers_up",
    "dr_traffic_reaches_the_real_servers",
    "dr_removed_dest_stops_receiving",
    "close_in_namespace_removes_the_service",
    "daemon_builds_the_ipvs_table",
    "daemon_removes_a_dead_real_server_in_time",
    "daemon_adds_it_back_when_it_heals",
    "daemon_inhibit_on_failure_keeps_weight_zero",
    "daemon_dr_real_server_removed",
    "daemon_stops_and_releases_its_services",
]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if in_guest():
        pytest.skip("already inside the guest")
    ensure_assets()  # raises (test error, not skip) when the Debian registry cannot be reached
    return guest_report(GUEST_SCRIPT, timeout=800)


@pytest.mark.parametrize("name", CHECKS)
def test_ipvs_in_guest(report: dict[str, Any], name: str) -> None:
    assert name in report, f"check {name} did not run:\n{report['_guest']['output'][-4000:]}"
    result = report[name]
    assert result["ok"], result.get("detail")


def test_guest_ran_exactly_the_listed_checks(report: dict[str, Any]) -> None:
    ran = [k for k in report if not k.startswith("_")]
    assert ran == CHECKS
