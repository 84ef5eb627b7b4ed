"""What keepalived's dump files show beyond an instance's own snapshot: its notify and track
scripts (with keepalived's ``cmd_str`` quoting and resolved uid:gid), tracked interfaces,
sockets, the next timer, and the ``VRRP Scripts`` section. Read-only views of the running VRRP
process, taken when a dump signal arrives (``daemon.dumps`` only formats them).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pykeepalived.config.model import GlobalDefs, KeepalivedConfig, NotifyScript, VrrpInstance
from pykeepalived.daemon.dumps import InstanceSnapshot, ScriptSnapshot
from pykeepalived.vrrp.tracking import TrackKind

# (model attribute, JSON key, data file's "<kind> state transition script")
NOTIFY_KINDS = (
    ("notify_backup", "script_backup", "Backup"),
    ("notify_master", "script_master", "Master"),
    ("notify_fault", "script_fault", "Fault"),
    ("notify_stop", "script_stop", "Stop"),
    ("notify_deleted", "script_deleted", "Deleted"),
    ("notify", "script", "Generic"),
    ("notify_master_rx_lower_pri", "script_master_rx_lower_pri", "Master rx lower pri"),
)


def cmd_str(argv: Sequence[str]) -> str:
    """keepalived's cmd_str(): every word in single quotes, the program by its real path
    (``/bin/true`` → ``'/usr/bin/true'``: keepalived resolves it when reading the config)."""
    if not argv:
        return ""
    prog = argv[0]
    found = prog if "/" in prog else shutil.which(prog)
    if found and os.path.exists(found):
        prog = os.path.realpath(found)
    return " ".join(f"'{a}'" for a in (prog, *argv[1:]))


def _uid_gid(user: str | None, group: str | None, gd: GlobalDefs) -> tuple[int, int]:
    from pykeepalived.script.security import resolve_run_as

    run_as, _ = resolve_run_as(user, group, gd)
    return run_as.uid, run_as.gid


def _script_weight(ref_weight: int | None, own: int) -> int:
    return own if ref_weight is None else ref_weight


def enrich(snap: InstanceSnapshot, inst: Any, cfg: KeepalivedConfig,
           loop_time: float | None) -> InstanceSnapshot:
    """``snap`` plus what the data and JSON files show of ``inst`` (a running Instance)."""
    c: VrrpInstance = inst.cfg
    gd = cfg.global_defs
    router = inst.router
    notify: list[tuple[str, str, str, int, int]] = []
    for attr, key, kind in NOTIFY_KINDS:
        ns: NotifyScript | None = getattr(c, attr, None)
        if ns is not None and (attr != "notify_deleted" or c.notify_deleted_enabled):
            uid, gid = _uid_gid(ns.user, ns.group, gd)
            notify.append((key, kind, cmd_str(ns.argv), uid, gid))
    scripts = [(t.name, _script_weight(t.weight, getattr(cfg.script(t.name), "weight", 0)),
                t.reverse) for t in c.track_scripts if cfg.script(t.name) is not None]
    cmds = [cmd_str(sc.argv) for t in c.track_scripts if (sc := cfg.script(t.name))]
    ifaces = [(t.name, t.weight or 0, t.reverse) for t in c.track_interfaces]
    fds: tuple[int, int] | None = None
    sock = getattr(inst, "sock", None)
    socks = getattr(sock, "_socks", None)
    if socks:
        fds = (socks[0].fileno(), socks[0].fileno())
    read_timeout = None
    nt = router.next_timer()
    if nt is not None and loop_time is not None:
        read_timeout = time.time() + (nt - loop_time)
    master = router.master_ip or ""
    return dataclasses.replace(
        snap, vips=[_host_prefix(v) for v in snap.vips],
        evips=[_host_prefix(v) for v in snap.evips], notify_scripts=notify,
        track_scripts=scripts, track_script_cmds=cmds,
        track_interfaces=ifaces, track_processes=[t.name for t in c.track_processes],
        fds=fds, read_timeout=read_timeout, master_router=str(master),
        notify_priority_changes=c.notify_priority_changes,
        total_priority=router.effective_priority,
        # keepalived's master_priority is the advertising master's, reset on becoming one
        master_priority=0 if snap.state == "MASTER" else snap.master_priority)


def _host_prefix(text: str) -> str:
    """keepalived's format_ipaddress() leaves out a host prefix (/32, /128)."""
    addr, sep, rest = text.partition(" ")
    for host in ("/32", "/128"):
        if addr.endswith(host) and (host == "/32") == ("." in addr):
            addr = addr[: -len(host)]
    return addr + sep + rest


def scripts(cfg: KeepalivedConfig, instances: Iterable[Any]) -> list[ScriptSnapshot]:
    """The ``VRRP Scripts`` section: every vrrp_script an instance tracks, its status as the
    first tracking instance's router sees it."""
    insts = list(instances)
    out: list[ScriptSnapshot] = []
    gd = cfg.global_defs
    for vs in cfg.vrrp_scripts:
        tracking = [(i.cfg.name, _script_weight(t.weight, vs.weight), t.reverse)
                    for i in insts for t in i.cfg.track_scripts if t.name == vs.name]
        if not tracking:
            continue
        good = True
        for i in insts:
            ok = i.router.track_ok(TrackKind.SCRIPT, vs.name)
            if ok is not None:
                good = ok
                break
        uid, gid = _uid_gid(vs.user, vs.group, gd)
        out.append(ScriptSnapshot(
            name=vs.name, command=cmd_str(vs.argv), interval=vs.interval,
            timeout=0 if vs.timeout == vs.interval else vs.timeout, weight=vs.weight,
            weight_reverse=vs.weight_reverse, rise=vs.rise, fall=vs.fall, good=good,
            uid=uid, gid=gid, tracking=tracking))
    return out


def track_processes(cfg: KeepalivedConfig, trackers: Any) -> list[dict[str, object]]:
    """``json_version 2``'s top-level ``track_process`` objects (keepalived 2.2.8 on)."""
    quorums: dict[str, Any] = {}
    monitor = getattr(trackers, "processes", None)
    for _matcher, q in getattr(monitor, "trackers", ()):
        quorums[q.name] = q
    out: list[dict[str, object]] = []
    for tp in cfg.track_processes:
        q = quorums.get(tp.name)
        d: dict[str, object] = {"process": tp.process}
        if tp.params:
            d["parameters"] = " ".join(tp.params)
        d["param_match"] = tp.param_match if tp.params else "none"
        d["min_processes"] = tp.quorum
        if tp.quorum_max is not None:
            d["max_processes"] = tp.quorum_max
        d["current_processes"] = len(q.pids) if q is not None else 0
        d["have_quorum"] = bool(q is not None and q.reported)
        d["weight"] = -tp.weight if tp.weight_reverse else tp.weight
        d["terminate_delay"] = float(tp.terminate_delay)
        d["fork_delay"] = float(tp.fork_delay)
        d["fork_delay_timer_running"] = False
        d["terminate_delay_timer_running"] = False
        d["full_command"] = tp.full_command
        out.append(d)
    return out
