"""The checker child's status document: the LVS table as applied (``ipvsadm -Ln``'s content)
joined with every real server's health, check results, check timings and, where the data plane
counts them, traffic counters.

Labels follow gen2brain's keepalived_exporter: a virtual service is ``addr:port`` (``fwm:N`` for
a firewall mark, which that exporter cannot tell apart) with its protocol number; a real server
is ``addr:port``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from pykeepalived.observe.meters import DURATION_BUCKETS, Histogram


def _norm(addr: str) -> str:
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


def endpoint(addr: str, port: int) -> str:
    return f"{addr}:{port}"


def service_label(key: Any) -> str:
    return f"fwm:{key.fwmark}" if key.fwmark else endpoint(key.addr, key.port)


class CheckMeters:
    """Check durations (one histogram per checker kind, so the series stay few) and, per
    checker, its runs, failures and last duration."""

    def __init__(self) -> None:
        self.durations: dict[str, Histogram] = {}
        self.per_check: dict[tuple[str, str, int], list[float]] = {}  # runs, failures, last
        self.late = 0  # checks started more than the stall threshold after they were due

    def ran(self, vs: str, rs: str, index: int, kind: str, seconds: float, ok: bool) -> None:
        h = self.durations.get(kind)
        if h is None:
            h = self.durations[kind] = Histogram(DURATION_BUCKETS)
        h.observe(seconds)
        c = self.per_check.setdefault((vs, rs, index), [0, 0, 0.0])
        c[0] += 1
        if not ok:
            c[1] += 1
        c[2] = seconds

    def to_json(self) -> dict[str, Any]:
        return {k: h.to_json() for k, h in sorted(self.durations.items())}


def _counters(c: Any) -> dict[str, int] | None:
    return None if c is None else {k: int(v) for k, v in asdict(c).items()}


def real_server_status(rs: Any, vs_name: str, dests: Mapping[tuple[str, int], Any],
                       stats: Mapping[tuple[Any, Any], Any], keys: Iterable[Any],
                       meters: CheckMeters) -> dict[str, Any]:
    dest = dests.get((_norm(rs.addr), rs.port))
    checks = []
    for i, (kind, up) in enumerate(rs.checkers):
        runs, failures, last = meters.per_check.get((vs_name, rs.name, i), (0, 0, None))
        checks.append({"kind": kind, "up": up, "runs": int(runs), "failures": int(failures),
                       "last_duration": last})
    counters = None
    for k in keys:
        ds = stats.get((k, (dest.addr, dest.port))) if dest is not None else None
        if ds is not None:
            counters = dict(_counters(ds.counters) or {}, active_conns=ds.active_conns,
                            inactive_conns=ds.inactive_conns)
            break
    return {"name": rs.name, "address": endpoint(rs.addr, rs.port), "alive": rs.alive,
            "weight": rs.weight, "in_table": dest is not None,
            "table_weight": None if dest is None else dest.weight,
            "forward": None if dest is None else dest.fwd.value,
            "checks": checks, "stats": counters}


def lvs_document(base: dict[str, Any], pool: Iterable[Any], table: Any, stats: Any,
                 meters: CheckMeters, dataplane: str, apply_ok: bool) -> dict[str, Any]:
    """``pool``: the pool's snapshots; ``table``: the last table applied (or None);
    ``stats``: the data plane's counters (or None when it could not be read)."""
    services = {} if table is None else table.services
    svc_stats = {} if stats is None else stats.services
    dst_stats = {} if stats is None else stats.dests
    out = []
    for v in pool:
        entries = [services[k] for k in v.keys if k in services]
        dests: dict[tuple[str, int], Any] = {}
        for e in entries:
            for d in e.dests.values():
                dests.setdefault((_norm(d.addr), d.port), d)
        svcs = [{"address": service_label(k), "protocol": k.protocol.name,
                 "proto": int(k.protocol), "fwmark": k.fwmark or None,
                 "in_table": k in services,
                 "scheduler": services[k].service.scheduler if k in services else None,
                 "stats": _counters(svc_stats.get(k))} for k in v.keys]
        out.append({
            "name": v.name, "quorum_up": v.quorum_up, "suspended": v.suspended,
            "services": svcs,
            "real_servers": [real_server_status(r, v.name, dests, dst_stats, v.keys, meters)
                             for r in v.real_servers],
        })
    doc = dict(base)
    doc["dataplane"] = {"name": dataplane, "last_apply_ok": apply_ok,
                        "counters": stats is not None}
    doc["virtual_servers"] = out
    doc["check_durations"] = meters.to_json()
    doc["checks_late"] = meters.late
    return doc
