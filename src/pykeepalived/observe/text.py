"""Plain-text tables for ``pykeepalived status``: the instances as FRR's ``show vrrp summary``
lays them out (with keepalived's words), the LVS table as ``ipvsadm -Ln`` does, with health."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

_FWD = {"NAT": "Masq", "DR": "Route", "TUN": "Tunnel"}


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns; a dashed rule under the header row."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out.insert(1, "-" * max(len(line) for line in out))
    return out


def _ago(t: float | None, now: float) -> str:
    if t is None:
        return "-"
    s = max(0, int(now - t))
    span = f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h"
    return time.strftime("%H:%M:%S", time.localtime(t)) + f" ({span} ago)"


def render_vrrp(doc: Mapping[str, Any], now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    rows = [["Instance", "Interface", "VRID", "Ver", "Priority", "State", "Addresses",
             "Down timer", "Adverts tx/rx", "Late", "Last transition"]]
    for i in doc.get("instances", []):
        t = i["lastTransition"]
        prio = str(i["priority"])
        if i["effectivePriority"] != i["priority"]:
            prio += f" ({i['effectivePriority']})"
        down = "-" if i["masterDownTimer"] is None else f"{i['masterDownTimer']} ms"
        last = "-" if t is None else (f"{_ago(t['time'], now)} {t['from']}->{t['to']}: "
                                      f"{t['reason']}")
        rows.append([i["iname"], i["vmacInterface"] or i["interface"], str(i["vrid"]),
                     str(i["version"]), prio, i["state"], str(len(i["addresses"])), down,
                     f"{i['stats']['adverTx']}/{i['stats']['adverRx']}",
                     str(i["advertTiming"]["late"]), last])
    lines = table(rows)
    loop = doc.get("loop", {})
    lines.append(f"loop: {loop.get('stalls', 0)} stall(s) over "
                 f"{loop.get('stall_threshold', 0):g} s, largest lateness "
                 f"{loop.get('max_lag', 0.0) * 1000:.1f} ms")
    for s in doc.get("scripts", []):
        lines.append(f"vrrp_script {s['name']}: {s['status']} ({s['state']}, {s['runs']} runs)")
    return lines


def _check_text(c: Mapping[str, Any]) -> str:
    last = "" if c["last_duration"] is None else f", {c['last_duration'] * 1000:.1f} ms"
    return (f"{c['kind']} {'up' if c['up'] else 'DOWN'} "
            f"({c['runs']} runs, {c['failures']} failed{last})")


def render_lvs(doc: Mapping[str, Any]) -> list[str]:
    plane = doc.get("dataplane", {})
    lines = [f"LVS data plane: {plane.get('name', '?')}"
             + ("" if plane.get("last_apply_ok", True) else " (last apply FAILED)"),
             "Prot LocalAddress:Port Scheduler",
             "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Health"]
    for v in doc.get("virtual_servers", []):
        for s in v["services"]:
            state = ("quorum up" if v["quorum_up"] else "quorum DOWN") + (
                ", suspended" if v["suspended"] else "") + (
                "" if s["in_table"] else ", not in table")
            where = f"FWM  {s['fwmark']}" if s["fwmark"] else f"{s['protocol']:<4} {s['address']}"
            lines.append(f"{where} {s['scheduler'] or '-'} [{state}]")
            for r in v["real_servers"]:
                st = r["stats"] or {}
                w = "-" if r["table_weight"] is None else str(r["table_weight"])
                fwd = _FWD.get(r["forward"] or "", "-")
                health = "UP" if r["alive"] else "DOWN"
                checks = "; ".join(_check_text(c) for c in r["checks"])
                lines.append(f"  -> {r['address']:<28} {fwd:<7} {w:<6} "
                             f"{st.get('active_conns', '-')!s:<10} "
                             f"{st.get('inactive_conns', '-')!s:<9} {health}"
                             + (f"  {checks}" if checks else ""))
    return lines
