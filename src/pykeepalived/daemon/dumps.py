"""The SIGUSR1 data file, SIGUSR2 stats file and SIGRTMIN+2 JSON file, in keepalived's shapes.

The VRRP process fills one :class:`InstanceSnapshot` per instance; these functions only format.
Counter names are keepalived's (``advert_rcvd``, ``pri_zero_sent``, ...) because exporters parse
them; the stats file keeps keepalived's indentation and headings for the same reason.
"""

from __future__ import annotations

import contextlib
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
    # keepalived's data/JSON detail (``daemon.dump_snapshot`` fills them from the instance)
    master_router: str = ""
    read_timeout: float | None = None  # wall clock of the next timer, None = DISABLED
    total_priority: int | None = None
    fds: tuple[int, int] | None = None
    check_unicast_src: bool = False
    track_interfaces: Sequence[tuple[str, int, bool]] = ()
    track_scripts: Sequence[tuple[str, int, bool]] = ()
    track_processes: Sequence[str] = ()
    notify_scripts: Sequence[tuple[str, str, str, int, int]] = ()  # (json key, type, cmd, uid, gid)
    track_script_cmds: Sequence[str] = ()
    notify_priority_changes: bool = False


@dataclass
class ScriptSnapshot:
    """One vrrp_script for the data file's ``VRRP Scripts`` section."""

    name: str
    command: str
    interval: float
    timeout: float
    weight: int
    weight_reverse: bool
    rise: int
    fall: int
    good: bool
    uid: int
    gid: int
    tracking: Sequence[tuple[str, int, bool]] = ()  # (instance, weight, reverse)


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
    """keepalived's ``%ld.%6.6ld (ctime with microseconds)``: ``Mon Dec  7 13:31:29.987710 2026``
    (the day of the month space-padded, as ctime pads it)."""
    sec = int(t)
    usec = round((t - sec) * 1e6)
    if usec >= 1_000_000:
        sec, usec = sec + 1, usec - 1_000_000
    lt = time.localtime(sec)
    day = f"{lt.tm_mday:2d}"
    stamp = time.strftime(f"%a %b {day} %H:%M:%S", lt) + f".{usec:06d}" + time.strftime(" %Y", lt)
    return f"{sec}.{usec:06d} ({stamp})"


def _g(x: float) -> str:
    """C's ``%g``."""
    return f"{x:g}"


def _instance_lines(i: InstanceSnapshot) -> list[str]:
    """One ``VRRP Instance`` block of the data file, line for line as keepalived 2.2.7's
    dump_vrrp() (the branches for the features pykeepalived has)."""
    out = [f" VRRP Instance = {i.name}", f"   VRRP Version = {i.version}"]
    if i.sync_group:
        out.append(f"   Sync group = {i.sync_group}")
    if i.family == 6:
        out.append("   Using Native IPv6")
    out.append(f"   State = {i.state}")
    if i.state == "BACKUP":
        out += [f"   Master router = {i.master_router}",
                f"   Master priority = {i.master_priority}"]
        if i.version == 3:
            out.append(f"   Master advert int = {i.master_adver_int:.2f} sec")
    if i.unicast_peers:
        out += ["   Flags:", "     Using unicast"]
    else:
        out.append("   Flags: none")
    out += [f"   Wantstate = {i.wantstate}",
            "   Number of config faults = 0",
            f"   Number of interface and track script faults = {1 if i.state == 'FAULT' else 0}",
            "   Number of track scripts init = 0",
            f"   Last transition = {_ts(i.last_transition)}",
            "   Read timeout = DISABLED" if i.read_timeout is None
            else f"   Read timeout = {_ts(i.read_timeout)}",
            f"   Master down timer = {round(i.master_down_interval * 1e6)} usecs"]
    if i.vmac_ifname:
        out.append(f"   Use VMAC, i/f name {i.vmac_ifname}, is_up = true, xmit_base = false")
    out.append(f"   Interface = {i.vmac_ifname or i.interface or 'not configured'}")
    return out + _instance_settings(i) + _instance_addresses(i)


def _instance_settings(i: InstanceSnapshot) -> list[str]:
    """From ``VRRP interface tracking disabled`` to the authentication lines."""
    out: list[str] = []
    if i.dont_track_primary:
        out.append("   VRRP interface tracking disabled")
    if i.skip_check_adv_addr:
        out.append("   Skip checking advert IP addresses")
    if i.strict_mode:
        out.append("   Enforcing strict VRRP compliance")
    out.append(f"   Using src_ip = {i.src_ip or '(none)'}")
    if not i.unicast_peers:
        out.append(f"   Multicast address {i.mcast_group}")
    out += [
        f"   Gratuitous ARP delay = {int(i.garp_delay)}",
        f"   Gratuitous ARP repeat = {i.garp_rep}",
        f"   Gratuitous ARP refresh = {int(i.garp_refresh)}",
        f"   Gratuitous ARP refresh repeat = {i.garp_refresh_rep}",
        f"   Gratuitous ARP lower priority delay = {int(i.garp_lower_prio_delay)}",
        f"   Gratuitous ARP lower priority repeat = {i.garp_lower_prio_rep}",
        f"   Down timer adverts = {i.down_timer_adverts}",
        "   Send advert after receive lower priority advert = "
        + ("false" if i.lower_prio_no_advert else "true"),
        "   Send advert after receive higher priority advert = "
        + ("true" if i.higher_prio_send_advert else "false"),
        f"   Virtual Router ID = {i.vrid}",
        f"   Priority = {i.base_priority}",
        f"   Effective priority = {i.effective_priority}",
        "   Total priority = "
        f"{i.effective_priority if i.total_priority is None else i.total_priority}",
    ]
    if i.version == 2:
        out.append(f"   Advert interval = {int(i.adver_int)} sec")
    else:
        out.append(f"   Advert interval = {round(i.adver_int * 1000)} milli-sec")
    if i.state == "BACKUP" and i.version == 3:
        out.append(f"   Master advert interval = {round(i.master_adver_int * 1000)} milli-sec")
    out.append(f"   Accept = {'enabled' if i.accept else 'disabled'}")
    out.append(f"   Preempt = {'disabled' if i.nopreempt else 'enabled'}")
    if i.preempt_delay:
        out.append(f"   Preempt delay = {_g(i.preempt_delay)} secs")
    out.append(f"   Promote_secondaries = {'enabled' if i.promote_secondaries else 'disabled'}")
    if i.auth_type:
        out.append("   Authentication type = "
                   + ("IPSEC_AH" if i.auth_type == 2 else "SIMPLE_PASSWORD"))
        if i.auth_type == 1:
            out.append(f"   Password = {i.auth_data}")
    elif i.version == 2:
        out.append("   Authentication type = none")
    return out


def _instance_addresses(i: InstanceSnapshot) -> list[str]:
    """Addresses, sockets, tracking and notify scripts."""
    out: list[str] = []
    if i.vips:
        out.append(f"   Virtual IP ({len(i.vips)}):")
        out += [f"     {v}" for v in i.vips]
    if i.evips:
        out.append("   Virtual IP Excluded :")
        out += [f"     {v}" for v in i.evips]
    if i.unicast_peers:
        out.append(f"   Check unicast src : {'yes' if i.check_unicast_src else 'no'}")
        out.append("   Unicast Peer :")
        out += [f"     {p}" for p in i.unicast_peers]
    out.append("   No sockets allocated" if i.fds is None
               else f"   fd_in {i.fds[0]}, fd_out {i.fds[1]}")
    if i.track_interfaces:
        out.append("   Tracked interfaces :")
        out += [f"     {n} weight {w}{' reverse' if r else ''}" for n, w, r in i.track_interfaces]
    if i.track_scripts:
        out.append("   Tracked scripts :")
        out += [f"     {n} weight {w}{' reverse' if r else ''}" for n, w, r in i.track_scripts]
    out.append(f"   Using smtp notification = {'yes' if i.smtp_alert else 'no'}")
    out.append(f"   Notify deleted = {'Deleted' if i.notify_deleted else 'Fault'}")
    for _key, kind, cmd, uid, gid in i.notify_scripts:
        out.append(f"   {kind} state transition script = {cmd}, uid:gid {uid}:{gid}")
    out.append("   Notify priority changes = "
               + ("true" if i.notify_priority_changes else "false"))
    return out


def _sockpool_lines(instances: Sequence[InstanceSnapshot]) -> list[str]:
    """``VRRP Sockpool``: one entry per socket, the instances that share it."""
    pool: dict[tuple[int, int], list[InstanceSnapshot]] = {}
    for i in instances:
        if i.fds is not None:
            pool.setdefault(i.fds, []).append(i)
    out = ["------< VRRP Sockpool >------"]
    for (fd_in, fd_out), insts in pool.items():
        first = insts[0]
        out += [f" fd_in {fd_in} fd_out = {fd_out}",
                f"   Interface = {first.vmac_ifname or first.interface}",
                f"   Family = IPv{first.family}",
                f"   Protocol = {'AH' if first.auth_type == 2 else 'VRRP'}",
                f"   Type = {'Unicast' if first.unicast_peers else 'Multicast'}",
                "   Rx buf size = 0", "   VRRP instances"]
        out += [f"     {i.name} vrid {i.vrid}" for i in insts]
    return out


def _script_lines(sc: ScriptSnapshot) -> list[str]:
    """One ``VRRP Script`` block (keepalived 2.2.7's dump_vscript())."""
    out = [f" VRRP Script = {sc.name}", f"   Command = {sc.command}",
           f"   Interval = {int(sc.interval)} sec", f"   Timeout = {int(sc.timeout)} sec",
           f"   Weight = {sc.weight}{' reverse' if sc.weight_reverse else ''}",
           f"   Rise = {sc.rise}", f"   Fall = {sc.fall}",
           f"   Result = {sc.rise + sc.fall - 1 if sc.good else 0}",
           "   Insecure = no", "   Init state = unknown",
           f"   Status = {'GOOD' if sc.good else 'BAD'}",
           f"   Script uid:gid = {sc.uid}:{sc.gid}",
           "   VRRP instances :", "   Tracking instances :"]
    out += [f"     {n}, weight {w}{' reverse' if r else ''}" for n, w, r in sc.tracking]
    out.append("   State = idle")
    return out


def format_data(instances: Sequence[InstanceSnapshot], globals_lines: Sequence[str] = (),
                scripts: Sequence[ScriptSnapshot] = ()) -> str:
    out = ["------< Global definitions >------", *globals_lines, "------< VRRP Topology >------"]
    for i in instances:
        out += _instance_lines(i)
    out += _sockpool_lines(instances)
    if scripts:
        out.append("------< VRRP Scripts >------")
        for sc in scripts:
            out += _script_lines(sc)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ JSON
# keepalived's json_writer: compact (no spaces), floats as %g (last_transition as %f), and its
# string escapes, including "/" as "\/" and (a keepalived quirk, kept) "\\" written as "\n".

_JSON_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f", "\b": "\\b",
                 "\\": "\\n", '"': '\\"', "/": "\\/"}


def _jstr(text: str) -> str:
    return '"' + "".join(_JSON_ESCAPES.get(c, c) for c in text) + '"'


def _jval(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, _F):
        return v.text
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _g(v)
    if isinstance(v, str):
        return _jstr(v)
    if isinstance(v, dict):
        return "{" + ",".join(f"{_jstr(k)}:{_jval(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_jval(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as keepalived JSON")


@dataclass(frozen=True)
class _F:
    """A number already formatted (``last_transition`` is ``%f``, not ``%g``)."""

    text: str


def _json_data(i: InstanceSnapshot, with_track_process: bool) -> dict[str, object]:
    d: dict[str, object] = {
        "iname": i.name,
        "dont_track_primary": int(i.dont_track_primary),
        "skip_check_adv_addr": int(i.skip_check_adv_addr),
        "strict_mode": int(i.strict_mode),
        "vmac_ifname": i.vmac_ifname,
        "ifp_ifname": i.vmac_ifname or i.interface,
        "master_priority": i.master_priority,
        "last_transition": _F(f"{i.last_transition:f}"),
        "garp_delay": float(i.garp_delay),
        "garp_refresh": int(i.garp_refresh),
        "garp_rep": i.garp_rep,
        "garp_refresh_rep": i.garp_refresh_rep,
        "garp_lower_prio_delay": int(i.garp_lower_prio_delay),
        "garp_lower_prio_rep": i.garp_lower_prio_rep,
        "lower_prio_no_advert": int(i.lower_prio_no_advert),
        "higher_prio_send_advert": int(i.higher_prio_send_advert),
        "vrid": i.vrid,
        "base_priority": i.base_priority,
        "effective_priority": i.effective_priority,
        "vipset": bool(i.vipset),
        "promote_secondaries": bool(i.promote_secondaries),
        "adver_int": float(i.adver_int),
        "master_adver_int": float(i.master_adver_int),
        "accept": int(i.accept),
        "nopreempt": bool(i.nopreempt),
        "preempt_delay": int(i.preempt_delay),
        "state": STATE_NUMBERS.get(i.state, 0),
        "wantstate": STATE_NUMBERS.get(i.wantstate, 0),
        "version": i.version,
        "smtp_alert": bool(i.smtp_alert),
        "notify_deleted": bool(i.notify_deleted),
    }
    for key, _kind, cmd, _uid, _gid in i.notify_scripts:
        d[key] = cmd
    for key, xs in (("vips", i.vips), ("evips", i.evips),
                    ("track_ifp", [n for n, _w, _r in i.track_interfaces]),
                    ("track_script", i.track_script_cmds)):
        if xs:
            d[key] = list(xs)
    if with_track_process and i.track_processes:
        d["track_process"] = list(i.track_processes)
    d["auth_type"] = i.auth_type
    if i.auth_type:
        d["auth_data"] = i.auth_data
    return d


def json_v1(instances: Sequence[InstanceSnapshot],
            with_track_process: bool = False) -> list[dict[str, object]]:
    """keepalived's per-instance objects: ``{"data": {...}, "stats": {...}}``."""
    return [{"data": _json_data(i, with_track_process), "stats": asdict(i.stats)}
            for i in instances]


def format_json(instances: Sequence[InstanceSnapshot], version: int = 1,
                track_processes: Sequence[dict[str, object]] = ()) -> str:
    """``keepalived.json``: 2.2.7's array (``json_version 1``), or ``json_version 2``'s object
    ``{"vrrp": [...], "track_process": [...]}`` (2.2.8 on; instances then list the processes
    they track, and ``track_process`` is there only when some are configured)."""
    if version == 2:
        top: dict[str, object] = {"vrrp": json_v1(instances, with_track_process=True)}
        if track_processes:
            top["track_process"] = list(track_processes)
        return _jval(top) + "\n"
    return _jval(json_v1(instances)) + "\n"


def write_file(path: str, text: str) -> None:
    """Write atomically with keepalived's 0600 mode, so a reader never sees half a dump.

    A write that fails (a full disk: ENOSPC at the write or at the close) raises and leaves
    nothing behind: the temporary file is removed and the previous dump stays as it was."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
