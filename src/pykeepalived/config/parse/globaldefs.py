"""``global_defs``: its keyword table and the irregular keywords' handlers."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from pykeepalived.config.listen import format_listen, parse_listen
from pykeepalived.config.model import (
    GlobalDefs,
    LvsDataplane,
    LvsSyncDaemon,
    NotifyFifo,
    Severity,
)
from pykeepalived.config.parse.builders import GlobalBuilder
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.scheduling import (
    AUTO_PRIORITY_ROWS,
    NO_BFD,
    RX_BUFS_ROWS,
    UMASK_ROW,
    process_rows,
    rcv_bufs_rows,
)
from pykeepalived.config.parse.table import Kind, Kw, Section, Status, run
from pykeepalived.config.parse.tree import Node, value_lines
from pykeepalived.config.values import parse_int

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT
I32 = 2147483647
U32 = 4294967295
T_MAX = 4294.967295
NO_SNMP = "SNMP is not supported: there is no SNMP agent"
NO_DBUS = "DBus is not supported: there is no DBus interface"


def global_defs(p: Parser, n: Node) -> None:
    body = p.need_block(n)
    if body is None:
        return
    g = p.st.glob
    seen = g.seen
    for c in body:
        seen.add(c.kw)
    run(p, GLOBAL_DEFS, body, g)


def _notification_email(p: Parser, n: Node, g: GlobalBuilder) -> None:
    if n.children is None:
        p.rep("notification_email requires a block")
        return
    emails = [t for c in value_lines(n, p) for t in c.tokens]
    if not emails:
        p.rep("Warning - empty notification_email block", Severity.WARNING)
    g.values["notification_email"] = tuple(emails)


def _smtp_server(p: Parser, n: Node, g: GlobalBuilder) -> None:
    a = n.args
    if not a:
        p.rep("smtp_server requires a value")
        return
    port = 25
    if len(a) > 1:
        pv = parse_int(a[1], 1, 65535, p.rep)
        if pv is None:
            return
        port = pv
    if not p.st.env.resolvable(a[0]):
        p.rep(f"Invalid smtp server {a[0]} {port}")
        return
    g.values["smtp_server"] = a[0]
    g.values["smtp_port"] = port


def _script_user(p: Parser, n: Node, g: GlobalBuilder) -> None:
    a = n.args
    if not a:
        p.rep("script_user requires a user")
        return
    user = a[0]
    group = a[1].lstrip(":") if len(a) > 1 else None
    if ":" in user:
        user, _, group = user.partition(":")
    ok = p.st.env.user_uid(user) is not None and (
        group is None or p.st.env.group_exists(group))
    if not ok:
        p.rep("Error setting global script uid/gid")
    g.values["script_user"] = user
    g.values["script_group"] = group


def _iptables(p: Parser, n: Node, g: GlobalBuilder) -> None:
    p.rep("iptables not supported, using nftables instead. Please replace "
          "'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option", Severity.WARNING)
    g.values[n.kw] = tuple(n.args)
    g.values.setdefault("nftables", "keepalived")


def _nftables(p: Parser, n: Node, g: GlobalBuilder) -> None:
    g.values["nftables"] = n.args[0] if n.args else "keepalived"


# What keepalived does with nftables_ipvs (check/check_nftables.c) and pykeepalived does not.
NO_IPVS_MARKS = (
    "keepalived marks a virtual_server_group's address ranges in an nftables table (TABLE, "
    "default keepalived_ipvs; chain priority nftables_ipvs_priority) and makes one IPVS fwmark "
    "service per group and protocol (fwmarks from nftables_ipvs_start_fwmark); pykeepalived "
    "keeps one service per address of the range")


def _nftables_ipvs(p: Parser, n: Node, g: GlobalBuilder) -> None:
    g.values["nftables_ipvs"] = n.args[0] if n.args else "keepalived_ipvs"


def _lvs_flush_on_stop(p: Parser, n: Node, g: GlobalBuilder) -> None:
    a = n.args
    g.values["lvs_flush_on_stop"] = "vs" if a and a[0].upper() == "VS" else "all"


def _lvs_timeouts(p: Parser, n: Node, g: GlobalBuilder) -> None:
    a = n.args
    i = 0
    while i + 1 < len(a):
        tv = parse_int(a[i + 1], 1, 86400 * 31, p.rep)
        if a[i] in ("tcp", "tcpfin", "udp") and tv is not None:
            g.values[f"lvs_timeout_{a[i]}"] = tv
        elif a[i] not in ("tcp", "tcpfin", "udp"):
            p.rep(f"Unknown option {a[i]} specified for lvs_timeouts")
        i += 2


_SYNCD_OPTIONS = {"id": ("sync_id", 0, 255), "maxlen": ("maxlen", 1, 65535 - 20 - 8),
                  "port": ("port", 1, 65535), "ttl": ("ttl", 1, 255)}


def _lvs_sync_daemon(p: Parser, n: Node, g: GlobalBuilder) -> None:
    a = n.args
    if not a:
        p.rep(f"{n.kw} requires an interface")
        return
    if n.kw == "lvs_sync_daemon_interface":
        p.rep("lvs_sync_daemon_interface is deprecated - please use 'lvs_sync_daemon'",
              Severity.WARNING)
    old = g.values.get("lvs_sync_daemon")
    if old is not None:
        p.rep(f"lvs_sync_daemon has already been specified as {old.interface} "
              f"{old.instance} - ignoring", Severity.WARNING)
        return
    vals: dict[str, Any] = {"interface": a[0]}
    i = 1
    if i < len(a) and a[i] not in ("id", "maxlen", "port", "ttl", "group"):
        vals["instance"] = a[i]
        i += 1
    while i < len(a):
        k = a[i]
        v = a[i + 1] if i + 1 < len(a) else None
        if v is None:
            p.rep(f"lvs_sync_daemon {k} requires a value")
            break
        if k in _SYNCD_OPTIONS:
            field, lo, hi = _SYNCD_OPTIONS[k]
            vals[field] = parse_int(v, lo, hi, p.rep)
        elif k == "group":
            vals["group"] = v
        else:
            p.rep(f"Unknown option {k} for lvs_sync_daemon")
        i += 2
    g.values["lvs_sync_daemon"] = LvsSyncDaemon(**vals)


def _notify_fifo(p: Parser, n: Node, g: GlobalBuilder) -> None:
    a = n.args
    if not a:
        p.rep(f"{n.kw} requires a path")
        return
    fifo = NotifyFifo(path=a[0], user=a[1] if len(a) > 1 else None,
                      group=a[2] if len(a) > 2 else None)
    old = g.values.get(n.kw)
    g.values[n.kw] = replace(fifo, script=old.script) if isinstance(old, NotifyFifo) else fifo


def _notify_fifo_script(p: Parser, n: Node, g: GlobalBuilder) -> None:
    s = p.script_arg(n)
    base = n.kw[:-len("_script")]
    old = g.values.get(base)
    if s is not None:
        g.values[base] = replace(old, script=s) if isinstance(old, NotifyFifo) else NotifyFifo(
            path="", script=s)


def _dynamic_interfaces(p: Parser, n: Node, g: GlobalBuilder) -> None:
    g.values["dynamic_interfaces"] = True
    if n.args:
        if n.args[0] == "allow_if_changes":
            g.values["dynamic_interfaces_allow_if_changes"] = True
        else:
            p.rep(f"Unknown dynamic_interfaces option '{n.args[0]}'")


def _whole_seconds(message: str, hi: int) -> Any:
    """A delay keepalived reads as whole seconds (``1.5`` is an error there): stored as a
    float; ``message`` is keepalived's second line, with ``{v}`` the value."""
    def apply(p: Parser, n: Node, g: GlobalBuilder) -> None:
        if not n.args:
            p.rep(f"{n.kw} requires a value")
            return
        v = parse_int(n.args[0], 0, hi, p.rep)
        if v is None:
            p.rep(message.format(v=n.args[0]))
            return
        g.values[n.kw] = float(v)
    return apply


def _garp_extra_if(p: Parser, n: Node, g: GlobalBuilder) -> None:
    p.garp_extra_if(n.args, g.values, "vrrp_garp_extra_if")


def _garp_master_repeat(p: Parser, n: Node, g: GlobalBuilder) -> None:
    rv = p.int_arg(n, 0, I32)
    if rv is not None:
        if rv == 0:
            p.rep("vrrp_garp_master_repeat must be greater than 0, setting to 1",
                  Severity.WARNING)
            rv = 1
        g.values["vrrp_garp_master_repeat"] = rv


def _min_garp(p: Parser, n: Node, g: GlobalBuilder) -> None:
    if p.bool_arg(n):
        g.values.update(vrrp_min_garp=True, vrrp_garp_master_repeat=1,
                        vrrp_garp_master_refresh=0.0, vrrp_garp_master_delay=0.0)


def _mcast_group(p: Parser, n: Node, g: GlobalBuilder) -> None:
    sv = p.str_arg(n)
    fam = 4 if n.kw.endswith("4") else 6
    if sv is None:
        return
    try:
        ok = ipaddress.ip_address(sv).version == fam and ipaddress.ip_address(sv).is_multicast
    except ValueError:
        ok = False
    if not ok:
        p.rep(f"{n.kw} '{sv}' is not a valid IPv{fam} multicast address")
    else:
        g.values[n.kw] = sv


def _lvs_dataplane(p: Parser, n: Node, g: GlobalBuilder) -> None:
    sv = p.str_arg(n)
    if sv is not None:
        try:
            g.values["lvs_dataplane"] = LvsDataplane(sv.lower())
        except ValueError:
            p.rep(f"lvs_dataplane '{sv}' must be ipvs, nftables or auto")


def _metrics_listen(p: Parser, n: Node, g: GlobalBuilder) -> None:
    sv = p.str_arg(n)
    if sv is not None:
        try:
            g.values["metrics_listen"] = format_listen(*parse_listen(sv))
        except ValueError as e:
            p.rep(f"pykeepalived_metrics_listen: {e}")


def _reload_check_config(p: Parser, n: Node, g: GlobalBuilder) -> None:
    g.values["reload_check_config"] = n.args[0] if n.args else "/dev/null"


def _reload_time_file(p: Parser, n: Node, g: GlobalBuilder) -> None:
    if len(n.args) != 1:
        p.rep("reload_time_file invalid")
        return
    g.values["reload_time_file"] = n.args[0]


def _include_check(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """Acted on by the lexer, which reads it where it stands (it changes the checks of the
    includes that follow it) and reports its mistakes; the line never reaches the parser."""


def _bool(name: str, status: Status = ACTS, why: str = "", **kw: Any) -> Kw:
    return Kw(name, Kind.BOOL, to=name, status=status, why=why, **kw)


def _int(name: str, lo: int, hi: int, status: Status = ACTS, why: str = "", to: str = "",
         **kw: Any) -> Kw:
    """An integer; without ``to`` it is only checked (nothing stores it)."""
    return Kw(name, Kind.INT, to=to, lo=lo, hi=hi, status=status, why=why, **kw)


def _timer(name: str, lo: float, hi: float = T_MAX, **kw: Any) -> Kw:
    return Kw(name, Kind.TIMER, to=name, lo=lo, hi=hi, **kw)


def _str(name: str, to: str, status: Status = ACTS, why: str = "", **kw: Any) -> Kw:
    return Kw(name, Kind.STR, to=to, status=status, why=why, **kw)


GLOBAL_DEFS = Section("global_defs", [
    # identity, mail
    _str("router_id", "router_id", default="the host name"),
    Kw("notification_email", Kind.LINES, fn=_notification_email, to="notification_email",
       syntax="addresses"),
    _str("notification_email_from", "notification_email_from"),
    Kw("smtp_server", Kind.WORDS, fn=_smtp_server, to="smtp_server", syntax="HOST [PORT]",
       default="none, port 25"),
    _str("smtp_helo_name", "smtp_helo_name"),
    _timer("smtp_connect_timeout", 0.000001, default="30"),
    _bool("smtp_alert"),
    _bool("smtp_alert_vrrp"),
    _bool("smtp_alert_checker"),
    _bool("no_email_faults"),
    _bool("no_checker_emails"),
    _bool("checker_log_all_failures"),
    # scripts
    Kw("script_user", Kind.WORDS, fn=_script_user, to="script_user", syntax="USER [[:]GROUP]",
       default="keepalived_script, else root"),
    _bool("enable_script_security"),
    _bool("set_supplementary_groups", ours="not a keepalived keyword"),
    _bool("use_symlink_paths"),
    Kw("startup_script", Kind.SCRIPT, to="startup_script"),
    _timer("startup_script_timeout", 1.0, 1000.0, default="10"),
    Kw("shutdown_script", Kind.SCRIPT, to="shutdown_script"),
    _timer("shutdown_script_timeout", 1.0, 1000.0, default="10"),
    # VRRP defaults
    _int("vrrp_version", 2, 3, to="vrrp_version"),
    Kw("vrrp_mcast_group4", Kind.ADDRESS, fn=_mcast_group, to="vrrp_mcast_group4",
       syntax="IPv4 multicast address"),
    Kw("vrrp_mcast_group6", Kind.ADDRESS, fn=_mcast_group, to="vrrp_mcast_group6",
       syntax="IPv6 multicast address"),
    _bool("vrrp_strict"),
    _bool("vrrp_skip_check_adv_addr"),
    _bool("vrrp_check_unicast_src"),
    _bool("v3_checksum_as_v2"),
    _bool("vrrp_lower_prio_no_advert"),
    _bool("vrrp_higher_prio_send_advert"),
    _int("vrrp_down_timer_adverts", 1, 100, to="vrrp_down_timer_adverts"),
    _bool("vrrp_owner_ignore_adverts"),
    _timer("vrrp_startup_delay", 0.0),
    _timer("vrrp_delay_after_boot", 0.0,
           syntax="seconds since boot: the start waits until then (or vrrp_startup_delay, "
           "the longer)"),
    _bool("log_unknown_vrids"),
    _str("vmac_prefix", "vmac_prefix"),
    _str("vmac_addr_prefix", "vmac_addr_prefix", default="vmac_prefix",
         syntax="PREFIX: the VMACs use_vmac_addr makes are PREFIX.VRID"),
    _str("default_interface", "default_interface"),
    Kw("dynamic_interfaces", Kind.WORDS, fn=_dynamic_interfaces, to="dynamic_interfaces",
       syntax="[allow_if_changes]",
       status=PARTIAL, why="allow_if_changes has no effect: instances on macvlans not made "
       "by keepalived that share a base interface and a VRID are not detected (keepalived: an "
       "error; with allow_if_changes a warning and FAULT, checked again when they change)"),
    _bool("disable_local_igmp", syntax="on: net.ipv4.igmp_link_local_mcast_reports is 0 while "
          "the VRRP process runs"),
    *RX_BUFS_ROWS,
    *AUTO_PRIORITY_ROWS,
    # GARP / unsolicited NA
    Kw("vrrp_garp_master_delay", Kind.INT, to="vrrp_garp_master_delay", lo=0, hi=4294,
       fn=_whole_seconds("vrrp_garp_master_delay '{v}' invalid - ignoring", 4294),
       syntax="whole seconds", default="5"),
    Kw("vrrp_garp_master_repeat", Kind.INT, fn=_garp_master_repeat, to="vrrp_garp_master_repeat",
       lo=0, hi=I32,
       syntax="0 is taken as 1", default="5"),
    Kw("vrrp_garp_master_refresh", Kind.INT, to="vrrp_garp_master_refresh", lo=0, hi=U32,
       fn=_whole_seconds("Invalid vrrp_garp_master_refresh '{v}' - ignoring", U32),
       syntax="whole seconds", default="0 (none)"),
    _int("vrrp_garp_master_refresh_repeat", 1, I32, to="vrrp_garp_master_refresh_repeat"),
    Kw("vrrp_garp_lower_prio_delay", Kind.INT, to="vrrp_garp_lower_prio_delay", lo=0,
       hi=4294, fn=_whole_seconds("vrrp_garp_lower_prio_delay '{v}' invalid - ignoring", 4294),
       syntax="whole seconds", default="vrrp_garp_master_delay"),
    _int("vrrp_garp_lower_prio_repeat", 0, I32, to="vrrp_garp_lower_prio_repeat",
         default="vrrp_garp_master_repeat"),
    _timer("vrrp_garp_interval", 0.0),
    _timer("vrrp_gna_interval", 0.0),
    Kw("vrrp_min_garp", Kind.BOOL, fn=_min_garp, to="vrrp_min_garp",
       syntax="on: GARP repeat 1, refresh 0, delay 0"),
    Kw("vrrp_garp_extra_if", Kind.WORDS, fn=_garp_extra_if, to="vrrp_garp_extra_if",
       old=("vrrp_vmac_garp_intvl",),
       syntax="[all] SECONDS (0..86400): the default of the instances' garp_extra_if"),
    # firewall
    Kw("vrrp_iptables", Kind.WORDS, fn=_iptables, to="vrrp_iptables", status=PARTIAL,
       why="iptables is not used: nftables (table keepalived) is, as keepalived says",
       says=True),
    Kw("vrrp_ipsets", Kind.WORDS, fn=_iptables, to="vrrp_ipsets", status=PARTIAL,
       why="ipsets are not used: nftables (table keepalived) is, as keepalived says",
       says=True),
    Kw("nftables", Kind.STR, fn=_nftables, to="nftables", syntax="[TABLE]",
       default="none (TABLE: keepalived)"),
    _int("nftables_priority", -I32, I32, to="nftables_priority", default="-1 (filter - 1)"),
    _bool("nftables_ifindex", default="off: link-local VIPs of a dont_track_primary "
          "instance's own interface are matched by name"),
    _bool("nftables_counters", default="off"),
    Kw("nftables_ipvs", Kind.STR, fn=_nftables_ipvs, to="nftables_ipvs", syntax="[TABLE]",
       status=NO_EFFECT, why=NO_IPVS_MARKS),
    _int("nftables_ipvs_priority", -I32, I32, NO_EFFECT, NO_IPVS_MARKS,
         to="nftables_ipvs_priority"),
    _int("nftables_ipvs_start_fwmark", 1, I32, NO_EFFECT, NO_IPVS_MARKS,
         to="nftables_ipvs_start_fwmark"),
    # LVS
    _bool("lvs_flush"),
    Kw("lvs_flush_on_stop", Kind.WORDS, fn=_lvs_flush_on_stop, to="lvs_flush_on_stop",
       old=("lvs_flush_onstop",),
       old_sev=Severity.INFO, syntax="[VS]", default="off"),
    Kw("lvs_timeouts", Kind.WORDS, fn=_lvs_timeouts, to="lvs_timeout_tcp",
       syntax="[tcp S] [tcpfin S] [udp S] (1..2678400)"),
    Kw("lvs_sync_daemon", Kind.WORDS, fn=_lvs_sync_daemon, to="lvs_sync_daemon",
       old=("lvs_sync_daemon_interface",), old_sev=None,
       ours="lvs_sync_daemon_interface (keepalived: vrrp_instance only) is also read here",
       syntax="IF [INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]"),
    Kw("lvs_dataplane", Kind.ENUM, fn=_lvs_dataplane, to="lvs_dataplane",
       choices=("ipvs", "nftables", "auto"),
       default="auto", ours="not a keepalived keyword: the kernel dataplane of virtual servers"),
    Kw("pykeepalived_metrics_listen", Kind.STR, fn=_metrics_listen, to="metrics_listen",
       syntax="[ADDR:]PORT", ours="not a keepalived keyword: serve /metrics and /status over "
       "HTTP (docs/observability.md); the address defaults to 127.0.0.1"),
    *rcv_bufs_rows("lvs_netlink_cmd"),
    *rcv_bufs_rows("lvs_netlink_monitor"),
    # notify
    Kw("notify_fifo", Kind.WORDS, fn=_notify_fifo, to="notify_fifo",
       syntax="PATH [USER [GROUP]]"),
    Kw("notify_fifo_script", Kind.SCRIPT, fn=_notify_fifo_script, to="notify_fifo"),
    Kw("vrrp_notify_fifo", Kind.WORDS, fn=_notify_fifo, to="vrrp_notify_fifo",
       syntax="PATH [USER [GROUP]]"),
    Kw("vrrp_notify_fifo_script", Kind.SCRIPT, fn=_notify_fifo_script, to="vrrp_notify_fifo"),
    Kw("lvs_notify_fifo", Kind.WORDS, fn=_notify_fifo, to="lvs_notify_fifo",
       syntax="PATH [USER [GROUP]]"),
    Kw("lvs_notify_fifo_script", Kind.SCRIPT, fn=_notify_fifo_script, to="lvs_notify_fifo"),
    _bool("vrrp_notify_priority_changes"),
    _bool("fifo_write_vrrp_states_on_reload",
          syntax="on: a reload writes the sync groups' and the kept non-MASTER instances' "
          "states to the VRRP FIFOs"),
    _bool("rs_init_notifies"),
    # scheduling
    _int("vrrp_priority", -20, 19, to="vrrp_priority"),
    _int("checker_priority", -20, 19, to="checker_priority"),
    _int("bfd_priority", -20, 19, NO_EFFECT, NO_BFD, to="bfd_priority"),
    _bool("vrrp_no_swap"),
    _bool("checker_no_swap"),
    _bool("bfd_no_swap", NO_EFFECT, NO_BFD),
    _int("vrrp_rt_priority", 1, 99, to="vrrp_rt_priority"),
    _int("checker_rt_priority", 1, 99, to="checker_rt_priority"),
    _int("bfd_rt_priority", 1, 99, NO_EFFECT, NO_BFD, to="bfd_rt_priority"),
    *process_rows("vrrp"),
    *process_rows("checker"),
    *process_rows("bfd", NO_BFD),
    # netlink buffers
    *rcv_bufs_rows("vrrp_netlink_cmd"),
    *rcv_bufs_rows("vrrp_netlink_monitor"),
    *rcv_bufs_rows("process_monitor"),
    # SNMP / DBus
    _str("snmp_socket", "snmp_socket", NO_EFFECT, NO_SNMP),
    _bool("enable_snmp_vrrp", NO_EFFECT, NO_SNMP, synonyms=("enable_snmp_keepalived",)),
    _bool("enable_snmp_checker", NO_EFFECT, NO_SNMP),
    _bool("enable_snmp_rfc", NO_EFFECT, NO_SNMP),
    _bool("enable_snmp_rfcv2", NO_EFFECT, NO_SNMP),
    _bool("enable_snmp_rfcv3", NO_EFFECT, NO_SNMP),
    _bool("enable_traps", NO_EFFECT, NO_SNMP),
    _int("snmp_vs_stats_update_interval", 0, I32, NO_EFFECT, NO_SNMP,
         to="snmp_vs_stats_update_interval"),
    _int("snmp_rs_stats_update_interval", 0, I32, NO_EFFECT, NO_SNMP,
         to="snmp_rs_stats_update_interval"),
    _bool("enable_dbus", NO_EFFECT, NO_DBUS),
    _str("dbus_service_name", "dbus_service_name", NO_EFFECT, NO_DBUS),
    _str("dbus_no_interface_name", "dbus_no_interface_name", NO_EFFECT, NO_DBUS),
    # process names, files
    _bool("process_names"),
    _str("process_name", "process_name"),
    _str("vrrp_process_name", "vrrp_process_name"),
    _str("checker_process_name", "checker_process_name", old=("lvs_process_name",),
         old_sev=Severity.INFO),
    _str("bfd_process_name", "bfd_process_name", NO_EFFECT, NO_BFD),
    UMASK_ROW,
    _int("random_seed", 0, 4294967295, to="random_seed",
         default="random (the lexer reseeds ${_RANDOM} where it is set)"),
    _str("tmp_config_directory", "tmp_config_directory", NO_EFFECT,
         "no copy of the configuration is written: each process reads the files itself"),
    _str("config_save_dir", "config_save_dir", NO_EFFECT,
         "configurations are not saved around reloads (a keepalived debugging aid)"),
    _bool("data_use_instance"),
    _str("state_dump_file", "state_dump_file", old=("state_file_location",),
         ours="state_file_location is not a keepalived keyword",
         default="/tmp/keepalived.data"),
    _str("stats_dump_file", "stats_dump_file", old=("stats_file_location",),
         ours="stats_file_location is not a keepalived keyword",
         default="/tmp/keepalived.stats"),
    _str("json_dump_file", "json_dump_file", old=("json_file_location",),
         ours="json_file_location is not a keepalived keyword",
         default="/tmp/keepalived.json"),
    _int("json_version", 1, 2, to="json_version"),
    _str("iproute_usr_dir", "iproute_usr_dir", default="/usr/share/iproute2 or /usr/lib/iproute2"),
    _str("iproute_etc_dir", "iproute_etc_dir", default="/etc/iproute2"),
    Kw("include_check", Kind.WORDS, fn=_include_check, syntax="[[+|-]read|match|"
       "wildcard_match|brace_match ...]", default="none"),
    # reload
    Kw("reload_check_config", Kind.STR, fn=_reload_check_config, to="reload_check_config",
       syntax="[LOG_FILE] (none: /dev/null)",
       default="off: a reload reads the file without checking it first"),
    Kw("reload_time_file", Kind.STR, fn=_reload_time_file, to="reload_time_file",
       syntax="PATH (its first line: [YY[YY]-MM-DD ]HH:MM:SS[Z])"),
    _bool("reload_repeat"),
    Kw("reload_file", Kind.STR, to="reload_file", missing="empty", syntax="[FILE]",
       status=NO_EFFECT, why="each process reads the configuration itself, so no file can "
       "mark the time it is being read"),
], model=GlobalDefs, builder=GlobalBuilder, rename_old=True)

SECTIONS = (GLOBAL_DEFS,)
