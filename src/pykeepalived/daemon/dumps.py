"""The SIGUSR1 data file, SIGUSR2 stats file and SIGRTMIN+2 JSON file, in keepalived's shapes.

The VRRP process fills one :class:`InstanceSnapshot` per instance; these functions only format.
Counter names are keepalived's (``advert_rcvd``, ``pri_zero_sent``, ...) because exporters parse
them; the stats file keeps keepalived's indentation and headings for the same reason.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

STATE_NUMBERS = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3, "STOP": 97, "DELETED": 98}


@dataclass
class Stats:
    """keepalived's per-instance VRRP counters (names as in its JSON output)."""

    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0

    def bump(self, name: str, by: int = 1) -> None:
        if hasattr(self, name):
            setattr(self, name, getattr(self, name) + by)

    def clear(self) -> None:
        for k in asdict(self):
            setattr(self, k, 0)


@dataclass
class InstanceSnapshot:
    name: str
    vrid: int
    version: int
    family: int
    interface: str
    state: str
    wantstate: str
    base_priority: int
    effective_priority: int
    master_priority: int
    adver_int: float
    master_adver_int: float
    last_transition: float  # wall clock
    vips: Sequence[str]
    evips: Sequence[str] = ()
    vipset: bool = False
    accept: bool = True
    nopreempt: bool = False
    preempt_delay: float = 0.0
    auth_type: int = 0
    auth_data: str = ""
    src_ip: str = ""
    mcast_group: str = ""
    unicast_peers: Sequence[str] = ()
    vmac_ifname: str = ""
    garp_delay: float = 5.0
    garp_rep: int = 5
    garp_refresh: float = 0.0
    garp_refresh_rep: int = 1
    garp_lower_prio_delay: float = 5.0
    garp_lower_prio_rep: int = 5
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    dont_track_primary: bool = False
    skip_check_adv_addr: bool = False
    strict_mode: bool = False
    promote_secondaries: bool = False
    smtp_alert: bool = False
    notify_deleted: bool = False
    down_timer_adverts: int = 3
    master_down_interval: float = 0.0
    sync_group: str | None = None
    tracking: Sequence[str] = ()
    stats: Stats = field(default_factory=Stats)


AUTH_NAMES = {0: "NONE", 1: "SIMPLE_PASSWORD", 2: "IPSEC_AH"}


def format_stats(instances: Sequence[InstanceSnapshot]) -> str:
    out: list[str] = []
    for i in instances:
        s = i.stats
        out += [
            f"VRRP Instance: {i.name}",
            "  Advertisements:",
            f"    Received: {s.advert_rcvd}",
            f"    Sent: {s.advert_sent}",
            f"  Became master: {s.become_master}",
            f"  Released master: {s.release_master}",
            "  Packet Errors:",
            f"    Length: {s.packet_len_err}",
            f"    TTL: {s.ip_ttl_err}",
            f"    Invalid Type: {s.invalid_type_rcvd}",
            f"    Advertisement Interval: {s.advert_interval_err}",
            f"    Address List: {s.addr_list_err}",
            "  Authentication Errors:",
            f"    Invalid Type: {s.invalid_authtype}",
            f"    Type Mismatch: {s.authtype_mismatch}",
            f"    Failure: {s.auth_failure}",
            "  Priority Zero:",
            f"    Received: {s.pri_zero_rcvd}",
            f"    Sent: {s.pri_zero_sent}",
        ]
    return "\n".join(out) + ("\n" if out else "")


def _ts(t: float) -> str:
    frac = f"{t % 1:.6f}"[1:]
    return f"{t:.6f} ({time.strftime('%a %b %d %H:%M:%S', time.localtime(t))}{frac} " \
           f"{time.strftime('%Y', time.localtime(t))})"


def format_data(instances: Sequence[InstanceSnapshot], globals_lines: Sequence[str] = ()) -> str:
    out = ["------< Global definitions >------", *globals_lines, "------< VRRP Topology >------"]
    for i in instances:
        out += [
            f" VRRP Instance = {i.name}",
            f"   VRRP Version = {i.version}",
            f"   State = {i.state}",
            f"   Wantstate = {i.wantstate}",
            f"   Last transition = {_ts(i.last_transition)}",
            f"   Master down timer = {round(i.master_down_interval * 1e6)} usecs",
            f"   Interface = {i.interface}",
        ]
        if i.vmac_ifname:
            out.append(f"   Use VMAC, i/f {i.vmac_ifname}")
        if i.src_ip:
            out.append(f"   Using src_ip = {i.src_ip}")
        if i.unicast_peers:
            out.append("   Unicast Peer =")
            out += [f"     {p}" for p in i.unicast_peers]
        elif i.mcast_group:
            out.append(f"   Multicast address {i.mcast_group}")
        out += [
            f"   Gratuitous ARP delay = {i.garp_delay:g}",
            f"   Gratuitous ARP repeat = {i.garp_rep}",
            f"   Gratuitous ARP refresh = {i.garp_refresh:g}",
            f"   Gratuitous ARP refresh repeat = {i.garp_refresh_rep}",
            f"   Gratuitous ARP lower priority delay = {i.garp_lower_prio_delay:g}",
            f"   Gratuitous ARP lower priority repeat = {i.garp_lower_prio_rep}",
            f"   Down timer adverts = {i.down_timer_adverts}",
            f"   Virtual Router ID = {i.vrid}",
            f"   Priority = {i.base_priority}",
            f"   Effective priority = {i.effective_priority}",
            f"   Advert interval = {i.adver_int:g} sec",
            f"   Accept = {'enabled' if i.accept else 'disabled'}",
            f"   Preempt = {'disabled' if i.nopreempt else 'enabled'}",
        ]
        if i.preempt_delay:
            out.append(f"   Preempt delay = {i.preempt_delay:g} secs")
        out.append(f"   Authentication type = {AUTH_NAMES.get(i.auth_type, '?')}")
        if i.auth_type == 1:
            out.append(f"   Password = {i.auth_data}")
        if i.sync_group:
            out.append(f"   Sync group = {i.sync_group}")
        if i.tracking:
            out.append("   Tracking:")
            out += [f"     {t}" for t in i.tracking]
        out.append(f"   Virtual IP ({len(i.vips)}):")
        out += [f"     {v}" for v in i.vips]
        if i.evips:
            out.append(f"   Virtual IP Excluded ({len(i.evips)}):")
            out += [f"     {v}" for v in i.evips]
    return "\n".join(out) + "\n"


def json_v1(instances: Sequence[InstanceSnapshot]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in instances:
        data: dict[str, object] = {
            "iname": i.name,
            "dont_track_primary": int(i.dont_track_primary),
            "skip_check_adv_addr": int(i.skip_check_adv_addr),
            "strict_mode": int(i.strict_mode),
            "vmac_ifname": i.vmac_ifname,
            "ifp_ifname": i.interface,
            "master_priority": i.master_priority,
            "last_transition": round(i.last_transition, 6),
            "garp_delay": i.garp_delay,
            "garp_refresh": i.garp_refresh,
            "garp_rep": i.garp_rep,
            "garp_refresh_rep": i.garp_refresh_rep,
            "garp_lower_prio_delay": i.garp_lower_prio_delay,
            "garp_lower_prio_rep": i.garp_lower_prio_rep,
            "lower_prio_no_advert": int(i.lower_prio_no_advert),
            "higher_prio_send_advert": int(i.higher_prio_send_advert),
            "vrid": i.vrid,
            "base_priority": i.base_priority,
            "effective_priority": i.effective_priority,
            "vipset": i.vipset,
            "promote_secondaries": i.promote_secondaries,
            "adver_int": i.adver_int,
            "master_adver_int": i.master_adver_int,
            "accept": int(i.accept),
            "nopreempt": i.nopreempt,
            "preempt_delay": i.preempt_delay,
            "state": STATE_NUMBERS.get(i.state, 0),
            "wantstate": STATE_NUMBERS.get(i.wantstate, 0),
            "version": i.version,
            "smtp_alert": i.smtp_alert,
            "notify_deleted": i.notify_deleted,
            "vips": list(i.vips),
        }
        if i.evips:
            data["evips"] = list(i.evips)
        if i.auth_type:
            data["auth_type"] = i.auth_type
            data["auth_data"] = i.auth_data
        rows.append({"data": data, "stats": asdict(i.stats)})
    return rows


def format_json(instances: Sequence[InstanceSnapshot], version: int = 1) -> str:
    if version == 2:
        return json.dumps({"version": 2, "vrrp": json_v1(instances)}, indent=2) + "\n"
    return json.dumps(json_v1(instances)) + "\n"


def write_file(path: str, text: str) -> None:
    """Write atomically with keepalived's 0600 mode, so a reader never sees half a dump."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
