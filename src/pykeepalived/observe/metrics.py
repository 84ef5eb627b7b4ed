"""Prometheus metric families built from the children's status documents.

Names, labels and value codes of mehdy/keepalived-exporter for VRRP (its Grafana dashboard
works unchanged), of gen2brain/keepalived_exporter for the LVS traffic counters, and
``keepalived_*`` families of our own for what no exporter can see from outside (loop lag,
stalls, transitions and their reasons, advert timing, check results and timings, notify
scripts, data-plane apply latency, reloads). ``docs/observability.md`` lists every family.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample

VRRP_LABELS = ["iname", "intf", "vrid"]
VIP_LABELS = [*VRRP_LABELS, "ip_address"]
PROC = ["process"]
LVS_VIP = ["addr", "proto"]
LVS_RS = ["vip", "addr", "proto"]

#: keepalived-exporter's counter families: (name without _total, help, keepalived counter).
VRRP_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("keepalived_advertisements_received", "Advertisements received", "advert_rcvd"),
    ("keepalived_advertisements_sent", "Advertisements sent", "advert_sent"),
    ("keepalived_become_master", "Became master", "become_master"),
    ("keepalived_release_master", "Released master", "release_master"),
    ("keepalived_packet_length_errors", "Packet length errors", "packet_len_err"),
    ("keepalived_advertisements_interval_errors", "Advertisement interval errors",
     "advert_interval_err"),
    ("keepalived_ip_ttl_errors", "TTL errors", "ip_ttl_err"),
    ("keepalived_invalid_type_received", "Invalid type errors", "invalid_type_rcvd"),
    ("keepalived_address_list_errors", "Address list errors", "addr_list_err"),
    ("keepalived_authentication_invalid", "Authentication invalid", "invalid_authtype"),
    ("keepalived_authentication_mismatch", "Authentication mismatch", "authtype_mismatch"),
    ("keepalived_authentication_failure", "Authentication failure", "auth_failure"),
    ("keepalived_priority_zero_received", "Priority zero received", "pri_zero_rcvd"),
    ("keepalived_priority_zero_sent", "Priority zero sent", "pri_zero_sent"),
    ("keepalived_vrrp_checksum_errors", "Adverts with a bad VRRP checksum", "chk_err"),
    ("keepalived_vrrp_version_errors", "Adverts of another VRRP version", "vers_err"),
    ("keepalived_vrrp_vrid_errors", "Adverts of another VRID on the instance's socket",
     "vrid_err"),
)
#: keepalived-exporter's script words and their codes.
SCRIPT_STATUS = {"BAD": 0, "GOOD": 1}
SCRIPT_STATE = {"idle": 0, "running": 1, "requested termination": 2, "forcing termination": 3}
#: gen2brain's LVS counter families: (suffix, help, our counter field).
LVS_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("in_packets", "in packets", "inpkts"), ("out_packets", "out packets", "outpkts"),
    ("in_bytes", "in bytes", "inbytes"), ("out_bytes", "out bytes", "outbytes"),
    ("conn", "connections", "conns"),
)
#: What each data plane really counts (nftables' NAT chain sees a connection's first packet
#: only: connections are exact, packets and bytes are not known and not exported).
PLANE_COUNTERS: Mapping[str, frozenset[str]] = {
    "ipvs": frozenset({"inpkts", "outpkts", "inbytes", "outbytes", "conns"}),
    "nftables": frozenset({"conns"}),
}


def _vrid_labels(i: Mapping[str, Any]) -> list[str]:
    return [i["iname"], i["interface"], str(i["vrid"])]


def _add(fam: Metric, labels: dict[str, str], value: float) -> None:
    """``add_metric`` for a family whose samples share one labels dict per instance (about
    30 families per VRRP instance: one dict instead of thirty, and ``observe.exposition``
    renders it once). A counter's sample is ``NAME_total``, as ``add_metric`` names it."""
    name = fam.name + "_total" if fam.type == "counter" else fam.name
    fam.samples.append(Sample(name, labels, value, None))


def _vip(detail: str, default_if: str) -> tuple[str, str]:
    """``10.0.0.1/32 dev eth0 scope global`` → (``10.0.0.1/32``, ``eth0``), as the exporter
    splits keepalived's data file lines."""
    parts = detail.split()
    dev = parts[parts.index("dev") + 1] if "dev" in parts[:-1] else default_if
    return parts[0] if parts else "", dev


def _histogram(fam: HistogramMetricFamily, labels: Sequence[str], h: Mapping[str, Any]) -> None:
    buckets = [(repr(float(le)), float(n)) for le, n in h["buckets"]]
    buckets.append(("+Inf", float(h["count"])))
    fam.add_metric(list(labels), buckets, float(h["sum"]))


def vrrp_families(doc: Mapping[str, Any]) -> Iterator[Metric]:
    insts: list[Mapping[str, Any]] = doc.get("instances", [])
    state = GaugeMetricFamily("keepalived_vrrp_state", "State of vrrp", labels=VIP_LABELS)
    excl = GaugeMetricFamily("keepalived_vrrp_excluded_state",
                             "State of vrrp with excluded VIP", labels=VIP_LABELS)
    for i in insts:
        code = i["stateCode"]
        for d in i["addressesDetail"]:
            ip, dev = _vip(d, i["interface"])
            state.add_metric([i["iname"], dev, str(i["vrid"]), ip], code)
        if not i["addressesDetail"]:
            state.add_metric([*_vrid_labels(i), ""], code)
        for d in i["excludedAddresses"]:
            ip, dev = _vip(d, i["interface"])
            excl.add_metric([i["iname"], dev, str(i["vrid"]), ip], code)
    yield state
    yield excl
    # each instance's labels, built once
    pairs = [(i, dict(zip(VRRP_LABELS, _vrid_labels(i), strict=True))) for i in insts]
    for name, help_, key in VRRP_COUNTERS:
        c = CounterMetricFamily(name, help_, labels=VRRP_LABELS)
        for i, lab in pairs:
            _add(c, lab, i["counters"].get(key, 0))
        yield c
    garp = CounterMetricFamily("keepalived_gratuitous_arp_delay", "Gratuitous ARP delay",
                               labels=VRRP_LABELS)
    for i, lab in pairs:
        _add(garp, lab, i["garpDelay"])
    yield garp
    yield from _vrrp_extras(pairs)
    status = GaugeMetricFamily("keepalived_script_status", "Tracker Script Status",
                               labels=["name"])
    st = GaugeMetricFamily("keepalived_script_state", "Tracker Script State", labels=["name"])
    for s in doc.get("scripts", []):
        status.add_metric([s["name"]], SCRIPT_STATUS.get(s["status"], 0))
        st.add_metric([s["name"]], SCRIPT_STATE.get(s["state"], 0))
    yield status
    yield st


Pairs = Sequence[tuple[Mapping[str, Any], dict[str, str]]]  # (instance, its VRRP labels)


def _gauges(pairs: Pairs, specs: Sequence[tuple[str, str, Any]]) -> Iterator[Metric]:
    for name, help_, get in specs:
        g = GaugeMetricFamily(name, help_, labels=VRRP_LABELS)
        for i, lab in pairs:
            v = get(i)
            if v is not None:
                _add(g, lab, v)
        yield g


def _ms(v: Any) -> float | None:
    return None if v is None else v / 1000.0


def _vrrp_extras(pairs: Pairs) -> Iterator[Metric]:
    yield from _gauges(pairs, (
        ("keepalived_vrrp_priority", "Configured (base) priority", lambda i: i["priority"]),
        ("keepalived_vrrp_effective_priority", "Priority after tracking weights",
         lambda i: i["effectivePriority"]),
        ("keepalived_vrrp_advert_interval_seconds", "Configured advert interval",
         lambda i: _ms(i["advertisementInterval"])),
        ("keepalived_vrrp_master_advert_interval_seconds",
         "Advert interval of the current master (v3: learnt from its adverts)",
         lambda i: _ms(i["masterAdverInterval"])),
        ("keepalived_vrrp_master_down_interval_seconds",
         "Master_Down_Interval: silence after which a backup takes over",
         lambda i: _ms(i["masterDownInterval"])),
        ("keepalived_vrrp_master_down_timer_seconds",
         "Seconds left on a backup's master down timer (absent unless BACKUP)",
         lambda i: _ms(i["masterDownTimer"])),
        ("keepalived_vrrp_last_transition_timestamp_seconds",
         "Wall-clock time of the last state change",
         lambda i: (i["lastTransition"] or {}).get("time")),
        ("keepalived_vrrp_receive_jitter_seconds",
         "Smoothed deviation of the gap between received adverts from the master's interval",
         lambda i: i["advertTiming"]["jitter"]),
        ("keepalived_vrrp_receive_max_gap_seconds", "Largest gap between two received adverts",
         lambda i: i["advertTiming"]["max_gap"]),
    ))
    info = GaugeMetricFamily("keepalived_vrrp_last_transition_info",
                             "The last state change and its reason (value 1)",
                             labels=[*VRRP_LABELS, "from_state", "to_state", "reason"])
    trans = CounterMetricFamily("keepalived_vrrp_transitions", "State changes",
                                labels=VRRP_LABELS)
    late = CounterMetricFamily("keepalived_vrrp_adverts_late",
                               "Adverts received more than 1.5 intervals after the previous one",
                               labels=VRRP_LABELS)
    for i, lab in pairs:
        t = i["lastTransition"]
        if t is not None:
            info.add_metric([*lab.values(), t["from"], t["to"], t["reason"]], 1)
        _add(trans, lab, i["stats"]["transitions"])
        _add(late, lab, i["advertTiming"]["late"])
    yield info
    yield trans
    yield late


def process_families(docs: Sequence[Mapping[str, Any]]) -> Iterator[Metric]:
    """Loop lag and stalls, reloads, config loads, notify scripts, data-plane applies."""
    lag = HistogramMetricFamily("keepalived_event_loop_lag_seconds",
                                "How late the process's loop ran its timers", labels=PROC)
    apply = HistogramMetricFamily("keepalived_dataplane_apply_seconds",
                                  "Time to apply address/route work (vrrp) or the LVS table "
                                  "(checker) to the kernel", labels=PROC)
    counters = {n: CounterMetricFamily(n, h, labels=PROC) for n, h in (
        ("keepalived_event_loop_stalls", "Timers run later than the stall threshold"),
        ("keepalived_dataplane_apply_failures", "Data-plane applies that failed"),
        ("keepalived_reloads", "Configuration reloads done"),
        ("keepalived_notify_script_runs", "Notify scripts run"),
        ("keepalived_notify_script_failures",
         "Notify scripts that failed (non-zero exit, signal, exec error or timeout)"),
        ("keepalived_notify_script_timeouts", "Notify scripts killed at their timeout"),
    )}
    gauges = {n: GaugeMetricFamily(n, h, labels=PROC) for n, h in (
        ("keepalived_event_loop_max_lag_seconds", "Largest timer lateness since start"),
        ("keepalived_reload_duration_seconds", "Duration of the last reload"),
        ("keepalived_config_last_load_success", "1 if the last configuration load succeeded"),
        ("keepalived_config_last_load_timestamp_seconds",
         "Wall-clock time of the last successful configuration load"),
        ("keepalived_process_start_time_seconds", "Wall-clock start time of the process"),
    )}
    for d in docs:
        p = [d["process"]]
        loop, cfg, notify = d["loop"], d["config"], d["notify"]
        _histogram(lag, p, loop["lag"])
        _histogram(apply, p, cfg["apply"])
        counters["keepalived_event_loop_stalls"].add_metric(p, loop["stalls"])
        counters["keepalived_dataplane_apply_failures"].add_metric(p, cfg["apply_failures"])
        counters["keepalived_reloads"].add_metric(p, cfg["reloads"])
        counters["keepalived_notify_script_runs"].add_metric(p, notify["runs"])
        counters["keepalived_notify_script_failures"].add_metric(p, notify["failures"])
        counters["keepalived_notify_script_timeouts"].add_metric(p, notify["timeouts"])
        gauges["keepalived_event_loop_max_lag_seconds"].add_metric(p, loop["max_lag"])
        if cfg["last_reload_seconds"] is not None:
            gauges["keepalived_reload_duration_seconds"].add_metric(p, cfg["last_reload_seconds"])
        gauges["keepalived_config_last_load_success"].add_metric(p, int(cfg["last_load_ok"]))
        if cfg["loaded_at"] is not None:
            gauges["keepalived_config_last_load_timestamp_seconds"].add_metric(
                p, cfg["loaded_at"])
        gauges["keepalived_process_start_time_seconds"].add_metric(p, d["started"])
    yield lag
    yield apply
    yield from counters.values()
    yield from gauges.values()


def lvs_families(doc: Mapping[str, Any]) -> Iterator[Metric]:
    plane = doc.get("dataplane", {})
    real = PLANE_COUNTERS.get(plane.get("name", ""), frozenset())
    vip_c = {f: CounterMetricFamily(f"keepalived_lvs_vip_{s}", f"VIP {h}", labels=LVS_VIP)
             for s, h, f in LVS_COUNTERS if f in real}
    rs_c = {f: CounterMetricFamily(f"keepalived_lvs_rs_{s}", f"RS {h}", labels=LVS_RS)
            for s, h, f in LVS_COUNTERS if f in real}
    quorum = GaugeMetricFamily("keepalived_lvs_vip_quorum_up",
                               "1 while the virtual server has its quorum of live servers",
                               labels=LVS_VIP)
    up = GaugeMetricFamily("keepalived_lvs_rs_up",
                           "1 while every check of the real server passes", labels=LVS_RS)
    weight = GaugeMetricFamily("keepalived_lvs_rs_weight",
                               "Weight in the applied table (absent: not in the table)",
                               labels=LVS_RS)
    check = GaugeMetricFamily("keepalived_lvs_rs_check_up", "1 while this check passes",
                              labels=[*LVS_RS, "check", "index"])
    fails = CounterMetricFamily("keepalived_lvs_rs_check_failures",
                                "Failed runs of this check", labels=[*LVS_RS, "check", "index"])
    for v in doc.get("virtual_servers", []):
        for s in v["services"]:
            vl = [s["address"], str(s["proto"])]
            quorum.add_metric(vl, int(v["quorum_up"]))
            for f, fam in vip_c.items():
                if s["stats"] is not None:
                    fam.add_metric(vl, s["stats"][f])
            for r in v["real_servers"]:
                rl = [s["address"], r["address"], str(s["proto"])]
                up.add_metric(rl, int(r["alive"]))
                if r["table_weight"] is not None:
                    weight.add_metric(rl, r["table_weight"])
                for f, fam in rs_c.items():
                    if r["stats"] is not None:
                        fam.add_metric(rl, r["stats"][f])
                for n, c in enumerate(r["checks"]):
                    check.add_metric([*rl, c["kind"], str(n)], int(c["up"]))
                    fails.add_metric([*rl, c["kind"], str(n)], c["failures"])
    yield from vip_c.values()
    yield from rs_c.values()
    yield from (quorum, up, weight, check, fails)
    dur = HistogramMetricFamily("keepalived_check_duration_seconds",
                                "Health check durations by checker kind", labels=["check"])
    for kind, h in doc.get("check_durations", {}).items():
        _histogram(dur, [kind], h)
    yield dur
    if "checks_late" in doc:
        yield CounterMetricFamily(
            "keepalived_checks_late", "Checks started later than the stall threshold after "
            "they were due (the checker was late; their timeouts count from their own start)",
            value=doc["checks_late"])


class SnapshotCollector:
    """A ``prometheus_client`` collector over one aggregated view (``docs`` by child kind,
    ``up`` when every child that should answer did)."""

    def __init__(self, docs: Mapping[str, Mapping[str, Any]], up: bool) -> None:
        self.docs = docs
        self.up = up

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("keepalived_up", "Status", value=int(self.up))
        vrrp = self.docs.get("vrrp")
        if vrrp is not None:
            yield from vrrp_families(vrrp)
        lvs = self.docs.get("checker")
        if lvs is not None:
            yield from lvs_families(lvs)
        yield from process_families([d for d in self.docs.values() if d])


def exposition(docs: Mapping[str, Mapping[str, Any]], up: bool) -> bytes:
    """The Prometheus text format of one view (``observe.exposition``: the bytes
    ``prometheus_client.generate_latest`` would write, faster)."""
    from pykeepalived.observe.exposition import render

    return render(SnapshotCollector(docs, up).collect())
