"""The /metrics exposition: keepalived-exporter's and gen2brain's families (names, labels,
value codes) and ours, parsed back with prometheus_client's own parser."""

from __future__ import annotations

from typing import Any

import pytest
from observe_docs import lvs_doc, vrrp_doc
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.observe.metrics import exposition

#: mehdy/keepalived-exporter's families (its README and collector) and their labels.
EXPORTER_VRRP = {
    "keepalived_up": set(),
    "keepalived_vrrp_state": {"iname", "intf", "vrid", "ip_address"},
    "keepalived_vrrp_excluded_state": {"iname", "intf", "vrid", "ip_address"},
    "keepalived_gratuitous_arp_delay_total": {"iname", "intf", "vrid"},
    "keepalived_advertisements_received_total": {"iname", "intf", "vrid"},
    "keepalived_advertisements_sent_total": {"iname", "intf", "vrid"},
    "keepalived_become_master_total": {"iname", "intf", "vrid"},
    "keepalived_release_master_total": {"iname", "intf", "vrid"},
    "keepalived_packet_length_errors_total": {"iname", "intf", "vrid"},
    "keepalived_advertisements_interval_errors_total": {"iname", "intf", "vrid"},
    "keepalived_ip_ttl_errors_total": {"iname", "intf", "vrid"},
    "keepalived_invalid_type_received_total": {"iname", "intf", "vrid"},
    "keepalived_address_list_errors_total": {"iname", "intf", "vrid"},
    "keepalived_authentication_invalid_total": {"iname", "intf", "vrid"},
    "keepalived_authentication_mismatch_total": {"iname", "intf", "vrid"},
    "keepalived_authentication_failure_total": {"iname", "intf", "vrid"},
    "keepalived_priority_zero_received_total": {"iname", "intf", "vrid"},
    "keepalived_priority_zero_sent_total": {"iname", "intf", "vrid"},
    "keepalived_script_status": {"name"},
    "keepalived_script_state": {"name"},
}


def samples(text: bytes) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for fam in text_string_to_metric_families(text.decode()):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def one(ss: dict[str, list[Any]], family: str, **labels: str) -> float:
    got = [s.value for s in ss[family] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(got) == 1, (family, labels, ss.get(family))
    return float(got[0])


def test_exporter_families_names_and_labels() -> None:
    ss = samples(exposition({"vrrp": vrrp_doc()}, True))
    for name, labels in EXPORTER_VRRP.items():
        assert name in ss, name
        assert all(set(s.labels) == labels for s in ss[name]), (name, ss[name][0].labels)


def test_state_codes_per_vip_as_the_exporter_splits_data_lines() -> None:
    ss = samples(exposition({"vrrp": vrrp_doc("MASTER")}, True))
    assert one(ss, "keepalived_vrrp_state", iname="VI_1", ip_address="10.0.0.200/24",
               intf="eth0") == 2
    assert one(ss, "keepalived_vrrp_state", iname="VI_1", ip_address="10.0.0.201/32",
               intf="eth1") == 2
    # an instance without VIPs still has its state, with an empty address (as the exporter)
    assert one(ss, "keepalived_vrrp_state", iname="VI_2", ip_address="") == 1
    assert one(ss, "keepalived_vrrp_excluded_state", ip_address="192.0.2.1/32") == 2
    ss = samples(exposition({"vrrp": vrrp_doc("FAULT")}, True))
    assert one(ss, "keepalived_vrrp_state", iname="VI_1", ip_address="10.0.0.200/24") == 3


def test_counters_and_scripts() -> None:
    ss = samples(exposition({"vrrp": vrrp_doc()}, True))
    assert one(ss, "keepalived_up") == 1
    assert one(ss, "keepalived_advertisements_sent_total", iname="VI_1", vrid="51") == 7
    assert one(ss, "keepalived_authentication_failure_total", iname="VI_1") == 2
    assert one(ss, "keepalived_priority_zero_sent_total", iname="VI_1") == 1
    assert one(ss, "keepalived_gratuitous_arp_delay_total", iname="VI_1") == 5
    assert one(ss, "keepalived_script_status", name="chk_ok") == 1
    assert one(ss, "keepalived_script_status", name="chk_bad") == 0
    assert one(ss, "keepalived_script_state", name="chk_bad") == 1


def test_our_vrrp_families() -> None:
    ss = samples(exposition({"vrrp": vrrp_doc("BACKUP")}, True))
    assert one(ss, "keepalived_vrrp_priority", iname="VI_1") == 150
    assert one(ss, "keepalived_vrrp_effective_priority", iname="VI_1") == 140
    assert one(ss, "keepalived_vrrp_master_down_timer_seconds", iname="VI_1") == 0.2
    assert one(ss, "keepalived_vrrp_master_down_interval_seconds", iname="VI_1") == 0.341
    assert one(ss, "keepalived_vrrp_adverts_late_total", iname="VI_1") == 1
    assert one(ss, "keepalived_vrrp_transitions_total", iname="VI_1") == 1
    assert one(ss, "keepalived_vrrp_last_transition_info", iname="VI_1", to_state="BACKUP",
               reason="master down timer expired") == 1
    assert one(ss, "keepalived_event_loop_stalls_total", process="vrrp") == 1
    assert one(ss, "keepalived_event_loop_lag_seconds_count", process="vrrp") == 1
    assert one(ss, "keepalived_event_loop_lag_seconds_bucket", process="vrrp", le="0.1") == 0
    assert one(ss, "keepalived_event_loop_lag_seconds_bucket", process="vrrp", le="+Inf") == 1
    assert one(ss, "keepalived_notify_script_timeouts_total", process="vrrp") == 1
    assert one(ss, "keepalived_config_last_load_success", process="vrrp") == 1


def test_up_is_zero_when_a_child_did_not_answer() -> None:
    ss = samples(exposition({}, False))
    assert one(ss, "keepalived_up") == 0


def test_lvs_families_follow_a_dead_real_server() -> None:
    ss = samples(exposition({"checker": lvs_doc("nftables")}, True))
    vip = {"vip": "10.0.0.100:80", "proto": "6"}
    assert one(ss, "keepalived_lvs_rs_up", addr="10.0.1.1:8080", **vip) == 1
    assert one(ss, "keepalived_lvs_rs_up", addr="10.0.1.2:8080", **vip) == 0
    assert one(ss, "keepalived_lvs_rs_weight", addr="10.0.1.1:8080", **vip) == 1
    assert not [s for s in ss["keepalived_lvs_rs_weight"] if s.labels["addr"] == "10.0.1.2:8080"]
    assert one(ss, "keepalived_lvs_rs_check_failures_total", addr="10.0.1.2:8080", **vip) > 0
    assert one(ss, "keepalived_lvs_vip_conn_total", addr="10.0.0.100:80", proto="6") == 12
    # nftables counts connections only: no packet or byte families are made up
    assert "keepalived_lvs_vip_in_packets_total" not in ss
    assert "keepalived_lvs_rs_conn_total" not in ss
    assert one(ss, "keepalived_check_duration_seconds_count", check="TCP_CHECK") > 0
    assert one(ss, "keepalived_checks_late_total") == 3


def test_lvs_ipvs_counters_use_gen2brain_labels() -> None:
    ss = samples(exposition({"checker": lvs_doc("ipvs", kill=False)}, True))
    assert one(ss, "keepalived_lvs_vip_in_bytes_total", addr="10.0.0.100:80", proto="6") == 5000
    rs = [s for s in ss["keepalived_lvs_rs_in_packets_total"]]
    assert len(rs) == 1 and set(rs[0].labels) == {"vip", "addr", "proto"}
    assert rs[0].value == 100


@pytest.mark.parametrize("name", ["keepalived_vrrp_state", "keepalived_lvs_rs_up"])
def test_help_and_type_lines_present(name: str) -> None:
    text = exposition({"vrrp": vrrp_doc(), "checker": lvs_doc()}, True).decode()
    assert f"# TYPE {name} gauge" in text


def test_fast_rendering_is_byte_identical_to_generate_latest() -> None:
    """observe.exposition.render against prometheus_client's own writer, on every family."""
    from prometheus_client import CollectorRegistry, generate_latest

    from pykeepalived.observe.metrics import SnapshotCollector

    docs = {"vrrp": vrrp_doc("BACKUP"), "checker": lvs_doc("ipvs")}
    docs["vrrp"]["instances"][0]["iname"] = 'we"ird\\name\nx'  # label value escaping
    docs["vrrp"]["scripts"][0]["name"] = "chk ü"
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(docs, True))
    assert exposition(docs, True) == generate_latest(reg)
