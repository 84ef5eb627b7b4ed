"""Statements -> block tree -> typed model, with keepalived's defaults, ranges, synonyms and
cross-field rules. Keyword tables (dicts of small handlers) rather than class hierarchies.

Every problem becomes a ``ConfigMessage``; handlers never raise on bad input (``parse_tree``
wraps each top-level block so that a bug in one handler is reported, not propagated).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, TypeVar

import pykeepalived.config.splitbrain as sbconf
from pykeepalived.config.environment import Environment
from pykeepalived.config.lexer import Stmt
from pykeepalived.config.model import (
    AddressSpec,
    AuthHmac,
    BfdCheck,
    BfdInstance,
    Checker,
    ConfigMessage,
    DnsCheck,
    FileCheck,
    GarpGroup,
    GlobalDefs,
    HmacKey,
    HttpGet,
    InterfaceUpDownDelay,
    IpvlanSpec,
    KeepalivedConfig,
    LinkbeatInterface,
    LvsDataplane,
    LvsSyncDaemon,
    MiscCheck,
    NotifyFifo,
    NotifyScript,
    PingCheck,
    RealServer,
    RouteSpec,
    RuleSpec,
    Severity,
    SmtpCheck,
    SorryServer,
    SslConfig,
    SslGet,
    SyncGroup,
    TcpCheck,
    TrackFile,
    TrackGroup,
    TrackProcess,
    TrackRef,
    UdpCheck,
    UnicastPeer,
    UrlSpec,
    VirtualServer,
    VirtualServerGroup,
    VmacSpec,
    VrrpInstance,
    VrrpScript,
    VrrpState,
    VsgEntry,
)
from pykeepalived.config.values import (
    ip_family,
    parse_address_line,
    parse_bool,
    parse_float,
    parse_int,
    parse_route_line,
    parse_rule_line,
    parse_script,
    parse_timer,
)


class Node:
    """A statement with, when a ``{`` followed it, its children (a plain slotted class: fast).

    ``kw`` and ``args`` are split off once here: the block parsers read them many times each.
    """

    __slots__ = ("args", "children", "file", "kw", "line", "tokens")

    def __init__(self, file: str, line: int, tokens: tuple[str, ...],
                 children: list[Node] | None = None) -> None:
        self.file = file
        self.line = line
        self.tokens = tokens
        self.kw = tokens[0] if tokens else ""
        self.args = tokens[1:]
        self.children = children


MAX_NESTING = 64
_OPEN = ("{",)
_CLOSE = ("}",)


def build_tree(stmts: Sequence[Stmt], messages: list[ConfigMessage]) -> list[Node]:
    """Nest statements by braces. A ``{`` belongs to the statement right before it.

    The lexer hands out one Stmt object for every repeat of a line (a ~SEQ makes thousands),
    and nodes are never changed once built, so a statement without a block is one shared
    leaf node; a statement that gets a block is made a node of its own then."""
    root: list[Node] = []
    stack: list[list[Node]] = [root]
    prev: Node | None = None
    top = root
    leaves: dict[int, Node] = {}  # id of a Stmt -> its leaf node
    leaf = leaves.get
    alive: list[Stmt] = []  # each Stmt keyed by id is kept alive here, so that no id is reused
    keep = alive.append
    for st in stmts:
        toks = st[2]
        if len(toks) != 1:  # the usual statement: neither brace
            prev = leaf(id(st))
            if prev is None:
                prev = leaves[id(st)] = Node(st[0], st[1], toks)
                keep(st)
            top.append(prev)
            continue
        file, line = st[0], st[1]
        if toks == _OPEN:
            cur = stack[-1]
            if len(stack) > MAX_NESTING:
                # far deeper than any real config: refuse rather than recurse without bound
                messages.append(ConfigMessage(file, line, Severity.ERROR,
                                              "Configuration blocks nested too deeply - "
                                              "ignoring '{'"))
                prev = None
                continue
            if prev is not None and prev.children is None and cur and cur[-1] is prev:
                cur[-1] = Node(prev.file, prev.line, prev.tokens, [])
                top = cur[-1].children  # type: ignore[assignment]
            else:
                anon = Node(file, line, (), [])
                cur.append(anon)
                top = anon.children  # type: ignore[assignment]
            stack.append(top)
            prev = None
            continue
        if toks == _CLOSE:
            if len(stack) == 1:
                messages.append(ConfigMessage(file, line, Severity.ERROR, "Extra '}' found"))
            else:
                stack.pop()
                top = stack[-1]
            prev = None
            continue
        prev = leaf(id(st))
        if prev is None:
            prev = leaves[id(st)] = Node(file, line, toks)
            keep(st)
        top.append(prev)
    if len(stack) > 1:
        messages.append(ConfigMessage("", 0, Severity.ERROR,
                                      f"There are {len(stack) - 1} missing '}}'s or extra '{{'s"))
    return root


class Handler:
    """Per-block helpers: reporting against the current node, numbers, flattening."""

    def __init__(self, messages: list[ConfigMessage]) -> None:
        self.messages = messages
        self.node: Node | None = None

    def rep(self, text: str, sev: Severity = Severity.ERROR) -> None:
        n = self.node
        if n is None:
            self.messages.append(ConfigMessage("", 0, sev, text))
        else:
            self.messages.append(ConfigMessage(n.file, n.line, sev, text))

    def at(self, n: Node, text: str, sev: Severity = Severity.ERROR) -> None:
        self.messages.append(ConfigMessage(n.file, n.line, sev, text))

    def late(self, text: str, sev: Severity = Severity.WARNING) -> None:
        self.messages.append(ConfigMessage("", 0, sev, text))


def flatten(nodes: Sequence[Node], h: Handler) -> list[Node]:
    """Children of a block, with stray anonymous ``{...}`` reported and spliced in place."""
    for n in nodes:
        if not n.tokens:
            break
    else:
        return list(nodes)  # the usual case: nothing to splice
    out: list[Node] = []
    for n in nodes:
        if not n.tokens:
            h.at(n, "Unexpected '{' - ignoring")
            out.extend(flatten(n.children or [], h))
            continue
        out.append(n)
    return out


def value_lines(n: Node, h: Handler) -> list[Node]:
    """Lines of a value block (virtual_ipaddress {...}); a block given inline also works."""
    if n.children is None:
        return []
    res: list[Node] = []
    for c in n.children:
        if not c.tokens:
            h.at(c, "Unexpected '{' - ignoring")
            res.extend(value_lines(c, h))
            continue
        res.append(c)
        if c.children is not None:
            h.at(c, "Unexpected '{' - ignoring")
            res.extend(x for x in c.children if x.tokens)
    return res


Kw = Callable[[Node, dict[str, Any]], None]
_TG = TypeVar("_TG", AddressSpec, RouteSpec, RuleSpec)


# ============================================================================ the parser


@dataclass
class ParseState:
    messages: list[ConfigMessage]
    env: Environment
    config_id: str
    global_kw: dict[str, Any] = field(default_factory=dict)
    global_other: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    global_set: set[str] = field(default_factory=set)
    instances: list[dict[str, Any]] = field(default_factory=list)
    sync_groups: list[SyncGroup] = field(default_factory=list)
    # sync groups that set smtp_alert themselves (the others take the global default)
    sync_group_smtp_set: set[str] = field(default_factory=set)
    scripts: list[VrrpScript] = field(default_factory=list)
    track_files: list[TrackFile] = field(default_factory=list)
    track_processes: list[TrackProcess] = field(default_factory=list)
    track_groups: list[TrackGroup] = field(default_factory=list)
    static_addresses: list[Any] = field(default_factory=list)
    static_routes: list[Any] = field(default_factory=list)
    static_rules: list[Any] = field(default_factory=list)
    garp_groups: list[GarpGroup] = field(default_factory=list)
    linkbeat: list[LinkbeatInterface] = field(default_factory=list)
    updown: list[InterfaceUpDownDelay] = field(default_factory=list)
    bfds: list[BfdInstance] = field(default_factory=list)
    vsgs: list[VirtualServerGroup] = field(default_factory=list)
    vss: list[VirtualServer] = field(default_factory=list)
    ssl: SslConfig | None = None
    top: dict[str, Any] = field(default_factory=dict)
    vsg_names: set[str] = field(default_factory=set)
    vmac_names: dict[str, str] = field(default_factory=dict)
    track_file_names: set[str] = field(default_factory=set)
    bfd_names: set[str] = field(default_factory=set)
    script_names: set[str] = field(default_factory=set)


class Parser(Handler):
    def __init__(self, st: ParseState) -> None:
        super().__init__(st.messages)
        self.st = st
        # kind of checker -> (the virtual server, its checkers' inherited values)
        self._defaults_memo: dict[str, tuple[VirtualServer, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ helpers
    def dynamic(self) -> bool:
        """With dynamic_interfaces a missing interface is expected to appear later."""
        return bool(self.st.global_kw.get("dynamic_interfaces"))

    def int_arg(self, n: Node, lo: int, hi: int, idx: int = 0) -> int | None:
        self.node = n
        if len(n.args) <= idx:
            self.rep(f"{n.kw} requires a value")
            return None
        return parse_int(n.args[idx], lo, hi, self.rep)

    def timer_arg(self, n: Node, lo: float = 0.000001, hi: float = 4294.967295,
                  idx: int = 0) -> float | None:
        self.node = n
        if len(n.args) <= idx:
            self.rep(f"{n.kw} requires a value")
            return None
        return parse_timer(n.args[idx], self.rep, lo=lo, hi=hi)

    def float_arg(self, n: Node, lo: float, hi: float, places: int = 6) -> float | None:
        self.node = n
        if not n.args:
            self.rep(f"{n.kw} requires a value")
            return None
        return parse_float(n.args[0], lo, hi, self.rep, places=places)

    def bool_arg(self, n: Node) -> bool | None:
        self.node = n
        return parse_bool(n.args, self.rep)

    def str_arg(self, n: Node) -> str | None:
        self.node = n
        if not n.args:
            self.rep(f"{n.kw} requires a value")
            return None
        return n.args[0]

    def script_arg(self, n: Node) -> NotifyScript | None:
        self.node = n
        return parse_script(n.args, self.rep, n.line)

    def garp_extra_if(self, a: Sequence[str], acc: dict[str, Any], key: str) -> None:
        """``[all] <SECONDS>`` of (vrrp_)garp_extra_if, global or per instance."""
        args = list(a)
        if args and args[0] == "all":
            acc[key + "_all"] = True
            args.pop(0)
        if args:
            v = parse_int(args[0], 0, 86400, self.rep)
            if v is not None:
                acc[key] = float(v)

    def no_block(self, n: Node, body: Callable[[list[Node]], None] | None = None) -> None:
        """A keyword that takes no block got one: report, and parse the contents here."""
        if n.children is not None:
            self.at(n, "Unexpected '{' - ignoring")
            if body is not None:
                body(flatten(n.children, self))

    def need_block(self, n: Node) -> list[Node] | None:
        if n.children is None:
            self.at(n, f"Missing '{{' at beginning of configuration block for {n.kw}")
            return None
        return flatten(n.children, self)

    def unknown(self, n: Node) -> None:
        self.at(n, f"Unknown keyword '{n.kw}'")
        # keepalived skips the block of an unknown keyword

    def run_table(self, nodes: Sequence[Node], table: dict[str, Kw], acc: dict[str, Any]
                  ) -> None:
        for n in nodes:
            fn = table.get(n.kw)
            if fn is None:
                self.unknown(n)
                continue
            self.node = n
            fn(n, acc)

    # ------------------------------------------------------------------ top level
    def parse(self, roots: list[Node]) -> None:
        table: dict[str, Callable[[Node], None]] = {
            "global_defs": self.global_defs,
            "vrrp_instance": self.vrrp_instance,
            "vrrp_sync_group": self.sync_group,
            "vrrp_script": self.vrrp_script,
            "track_file": self.track_file,
            "vrrp_track_file": self.track_file,
            "vrrp_track_process": self.track_process,
            "static_ipaddress": self.static_ipaddress,
            "static_routes": self.static_routes,
            "static_rules": self.static_rules,
            "track_group": self.track_group,
            "garp_group": self.garp_group,
            "linkbeat_interfaces": self.linkbeat,
            "interface_up_down_delays": self.updown,
            "bfd_instance": self.bfd_instance,
            "virtual_server_group": self.vsg,
            "virtual_server": self.virtual_server,
            "SSL": self.ssl_block,
            "net_namespace": self.top_str("net_namespace"),
            "net_namespace_ipvs": self.top_str("net_namespace_ipvs", optional=True),
            "namespace_with_ipsets": self.top_flag("namespace_with_ipsets"),
            "instance": self.top_str("instance_name"),
            "use_pid_dir": self.top_flag("use_pid_dir"),
            "linkbeat_use_polling": self.top_flag("linkbeat_use_polling"),
            "child_wait_time": self.child_wait_time,
            "lease_arbiter": lambda n: sbconf.lease_block(self, n, self.st.top),
        }
        self.st.vsg_names = {n.args[0] for n in roots
                             if n.kw == "virtual_server_group" and n.args}
        self.st.track_file_names = {n.args[0] for n in roots
                                    if n.kw in ("track_file", "vrrp_track_file") and n.args}
        self.st.bfd_names = {n.args[0] for n in roots if n.kw == "bfd_instance" and n.args}
        self.st.script_names = {n.args[0] for n in roots if n.kw == "vrrp_script" and n.args}
        for n in flatten(roots, self):
            fn = table.get(n.kw)
            if fn is None:
                self.unknown(n)
                continue
            self.node = n
            try:
                fn(n)
            except Exception as e:  # a handler bug must become a message, never a traceback
                self.at(n, f"Internal error parsing '{n.kw}' block: {type(e).__name__}: {e}",
                        Severity.ERROR)

    def top_str(self, key: str, optional: bool = False) -> Callable[[Node], None]:
        def fn(n: Node) -> None:
            self.no_block(n)
            if n.args:
                self.st.top[key] = n.args[0]
            elif optional:
                self.st.top[key] = ""
            else:
                self.at(n, f"{n.kw} requires a value")
        return fn

    def top_flag(self, key: str) -> Callable[[Node], None]:
        def fn(n: Node) -> None:
            self.no_block(n)
            self.st.top[key] = True
        return fn

    def child_wait_time(self, n: Node) -> None:
        v = self.timer_arg(n, 0.000001, 4294.967295)
        if v is not None:
            self.st.top["child_wait_time"] = v

    # ------------------------------------------------------------------ global_defs
    def global_defs(self, n: Node) -> None:
        body = self.need_block(n)
        if body is None:
            return
        for c in body:
            self.node = c
            self.global_kw(c)

    def global_kw(self, n: Node) -> None:
        g = self.st.global_kw
        kw = n.kw
        a = n.args
        self.st.global_set.add(kw)
        if kw in _GLOBAL_BOOL:
            self.no_block(n)
            v = self.bool_arg(n)
            if v is not None:
                g[_GLOBAL_BOOL[kw]] = v
            return
        if kw in _GLOBAL_INT:
            self.no_block(n)
            name, lo, hi = _GLOBAL_INT[kw]
            iv = self.int_arg(n, lo, hi)
            if iv is not None and name:
                g[name] = iv
            return
        if kw in _GLOBAL_TIMER:
            self.no_block(n)
            tname, tlo, thi = _GLOBAL_TIMER[kw]
            tv = self.timer_arg(n, tlo, thi)
            if tv is not None and tname:
                g[tname] = tv
            return
        if kw in _GLOBAL_STR:
            self.no_block(n)
            sv = self.str_arg(n)
            if sv is not None and _GLOBAL_STR[kw]:
                g[_GLOBAL_STR[kw]] = sv
            return
        if kw in _GLOBAL_IGNORED:
            self.no_block(n)
            self.st.global_other.append((kw, tuple(a)))
            return
        if kw in _GLOBAL_DEPRECATED:
            self.no_block(n)
            new = _GLOBAL_DEPRECATED[kw]
            self.rep(f"{kw} is deprecated - please use '{new}'", Severity.WARNING)
            self.global_kw(Node(n.file, n.line, (new, *a), None))
            return
        if kw == "notification_email":
            if n.children is None:
                self.rep("notification_email requires a block")
                return
            emails = [t for c in value_lines(n, self) for t in c.tokens]
            if not emails:
                self.rep("Warning - empty notification_email block", Severity.WARNING)
            g["notification_email"] = tuple(emails)
        elif kw == "smtp_server":
            self.no_block(n)
            if not a:
                self.rep("smtp_server requires a value")
                return
            port = 25
            if len(a) > 1:
                pv = parse_int(a[1], 1, 65535, self.rep)
                if pv is None:
                    return
                port = pv
            if not self.st.env.resolvable(a[0]):
                self.rep(f"Invalid smtp server {a[0]} {port}")
                return
            g["smtp_server"] = a[0]
            g["smtp_port"] = port
        elif kw == "script_user":
            self.no_block(n)
            if not a:
                self.rep("script_user requires a user")
                return
            user = a[0]
            group = a[1].lstrip(":") if len(a) > 1 else None
            if ":" in user:
                user, _, group = user.partition(":")
            ok = self.st.env.user_uid(user) is not None and (
                group is None or self.st.env.group_exists(group))
            if not ok:
                self.rep("Error setting global script uid/gid")
                g["script_user_invalid"] = True
            g["script_user"] = user
            g["script_group"] = group
        elif kw in ("startup_script", "shutdown_script"):
            self.no_block(n)
            s = self.script_arg(n)
            if s is not None:
                g[kw] = s
        elif kw in ("vrrp_iptables", "vrrp_ipsets"):
            self.no_block(n)
            self.rep("iptables not supported, using nftables instead. Please replace "
                     "'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option",
                     Severity.WARNING)
            g[kw] = tuple(a)
            g.setdefault("nftables", "keepalived")
        elif kw in ("nftables", "nftables_ipvs"):
            self.no_block(n)
            g[kw] = a[0] if a else "keepalived" if kw == "nftables" else "keepalived_ipvs"
        elif kw in ("lvs_flush_on_stop", "lvs_flush_onstop"):
            self.no_block(n)
            if kw == "lvs_flush_onstop":
                self.rep("lvs_flush_onstop is deprecated - please use 'lvs_flush_on_stop'",
                         Severity.INFO)  # keepalived 2.2.7 accepts it silently
            g["lvs_flush_on_stop"] = "vs" if a and a[0].upper() == "VS" else "all"
        elif kw == "lvs_timeouts":
            self.no_block(n)
            i = 0
            while i + 1 < len(a):
                tv2 = parse_int(a[i + 1], 1, 86400 * 31, self.rep)
                if a[i] in ("tcp", "tcpfin", "udp") and tv2 is not None:
                    g[f"lvs_timeout_{a[i]}"] = tv2
                elif a[i] not in ("tcp", "tcpfin", "udp"):
                    self.rep(f"Unknown option {a[i]} specified for lvs_timeouts")
                i += 2
        elif kw in ("lvs_sync_daemon", "lvs_sync_daemon_interface"):
            self.no_block(n)
            self.lvs_sync_daemon(n, g)
        elif kw in ("notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"):
            self.no_block(n)
            if not a:
                self.rep(f"{kw} requires a path")
                return
            fifo = NotifyFifo(path=a[0], user=a[1] if len(a) > 1 else None,
                              group=a[2] if len(a) > 2 else None)
            old = g.get(kw)
            g[kw] = replace(fifo, script=old.script) if isinstance(old, NotifyFifo) else fifo
        elif kw in ("notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo_script"):
            self.no_block(n)
            s = self.script_arg(n)
            base = kw[:-len("_script")]
            old = g.get(base)
            if s is not None:
                g[base] = replace(old, script=s) if isinstance(old, NotifyFifo) else NotifyFifo(
                    path="", script=s)
                self.st.global_kw.setdefault("_fifo_scripts", []).append(s)
        elif kw == "dynamic_interfaces":
            self.no_block(n)
            g["dynamic_interfaces"] = True
            g["dynamic_interfaces_allow_if_changes"] = bool(a and a[0] == "allow_if_changes")
        elif kw in ("vrrp_garp_extra_if", "vrrp_vmac_garp_intvl"):
            self.no_block(n)
            if kw == "vrrp_vmac_garp_intvl":
                self.rep("vrrp_vmac_garp_intvl is deprecated - please use "
                         "'vrrp_garp_extra_if'", Severity.WARNING)
            self.garp_extra_if(a, g, "vrrp_garp_extra_if")
        elif kw == "vrrp_garp_master_repeat":
            self.no_block(n)
            rv = self.int_arg(n, 0, 2147483647)
            if rv is not None:
                if rv == 0:
                    self.rep("vrrp_garp_master_repeat must be greater than 0, setting to 1",
                             Severity.WARNING)
                    rv = 1
                g["vrrp_garp_master_repeat"] = rv
        elif kw == "vrrp_min_garp":
            self.no_block(n)
            v = self.bool_arg(n)
            if v:
                g["vrrp_min_garp"] = True
                g["vrrp_garp_master_repeat"] = 1
                g["vrrp_garp_master_refresh"] = 0.0
                g["vrrp_garp_master_delay"] = 0.0
        elif kw == "vrrp_version":
            self.no_block(n)
            vv = self.int_arg(n, 2, 3)
            if vv is not None:
                g["vrrp_version"] = vv
        elif kw in ("vrrp_mcast_group4", "vrrp_mcast_group6"):
            self.no_block(n)
            sv = self.str_arg(n)
            fam = 4 if kw.endswith("4") else 6
            if sv is not None:
                try:
                    ok = ipaddress.ip_address(sv).version == fam and ipaddress.ip_address(
                        sv).is_multicast
                except ValueError:
                    ok = False
                if not ok:
                    self.rep(f"{kw} '{sv}' is not a valid IPv{fam} multicast address")
                else:
                    g[kw] = sv
        elif kw == "lvs_dataplane":
            self.no_block(n)
            sv = self.str_arg(n)
            if sv is not None:
                try:
                    g["lvs_dataplane"] = LvsDataplane(sv.lower())
                except ValueError:
                    self.rep(f"lvs_dataplane '{sv}' must be ipvs, nftables or auto")
        elif kw == "umask":
            self.no_block(n)
            sv = self.str_arg(n)
            if sv is not None:
                try:
                    g["umask"] = int(sv, 0) if not sv.startswith("0") else int(sv, 8)
                except ValueError:
                    self.rep(f"Invalid umask value {sv}")
        elif kw in ("vrrp_cpu_affinity", "checker_cpu_affinity", "bfd_cpu_affinity"):
            self.no_block(n)
            self.st.global_other.append((kw, tuple(a)))
        elif kw == "json_version":
            self.no_block(n)
            jv = self.int_arg(n, 1, 2)
            if jv is not None:
                g["json_version"] = jv
        elif kw in ("max_auto_priority",):
            self.no_block(n)
            mv = self.int_arg(n, -1, 99) if a else 99
            if mv is not None:
                g["max_auto_priority"] = mv
        elif kw in ("reload_check_config", "reload_file"):
            self.no_block(n)
            g[kw] = a[0] if a else ""
        else:
            self.unknown(n)

    def lvs_sync_daemon(self, n: Node, g: dict[str, Any]) -> None:
        a = n.args
        if not a:
            self.rep(f"{n.kw} requires an interface")
            return
        if n.kw == "lvs_sync_daemon_interface":
            self.rep("lvs_sync_daemon_interface is deprecated - please use 'lvs_sync_daemon'",
                     Severity.WARNING)
        if "lvs_sync_daemon" in g:
            old = g["lvs_sync_daemon"]
            self.rep(f"lvs_sync_daemon has already been specified as {old.interface} "
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
                self.rep(f"lvs_sync_daemon {k} requires a value")
                break
            if k == "id":
                vals["sync_id"] = parse_int(v, 0, 255, self.rep)
            elif k == "maxlen":
                vals["maxlen"] = parse_int(v, 1, 65535 - 20 - 8, self.rep)
            elif k == "port":
                vals["port"] = parse_int(v, 1, 65535, self.rep)
            elif k == "ttl":
                vals["ttl"] = parse_int(v, 1, 255, self.rep)
            elif k == "group":
                vals["group"] = v
            else:
                self.rep(f"Unknown option {k} for lvs_sync_daemon")
            i += 2
        g["lvs_sync_daemon"] = LvsSyncDaemon(**vals)

    # ------------------------------------------------------------------ trackers
    def vrrp_script(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        if not name:
            self.at(n, "vrrp_script requires a name")
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        for c in body:
            self.node = c
            kw = c.kw
            self.no_block(c)
            if kw == "script":
                s = self.script_arg(c)
                if s is not None:
                    acc["argv"] = s.argv
                    acc["script_line"] = c.line
            elif kw == "interval":
                v = self.timer_arg(c, 0.001, 4294.967295)
                if v is not None:
                    acc["interval"] = v
            elif kw == "timeout":
                v = self.timer_arg(c, 0.001, 4294.967295)
                if v is not None:
                    acc["timeout"] = v
            elif kw == "weight":
                w = self.int_arg(c, -253, 253)
                if w is not None:
                    acc["weight"] = w
                    acc["weight_reverse"] = len(c.args) > 1 and c.args[1] == "reverse"
            elif kw == "rise":
                r = self.int_arg(c, 1, 2147483647)
                if r is not None:
                    acc["rise"] = r
            elif kw == "fall":
                r = self.int_arg(c, 1, 2147483647)
                if r is not None:
                    acc["fall"] = r
            elif kw == "user":
                if not self.set_user(c, acc):
                    acc["bad_user"] = True
            elif kw == "init_fail":
                acc["init_fail"] = True
            else:
                self.unknown(c)
        if "argv" not in acc:
            self.at(n, f"No script set for vrrp_script {name} - removing", Severity.WARNING)
            return
        if name in {s.name for s in self.st.scripts}:
            # keepalived 2.2.7 says nothing; the first definition is the one tracked
            self.at(n, f"vrrp_script {name} already defined - ignoring", Severity.INFO)
            return
        interval = acc.get("interval", 1.0)
        script = VrrpScript(
            name=name, argv=acc["argv"], interval=interval,
            timeout=acc.get("timeout", interval), weight=acc.get("weight", 0),
            weight_reverse=acc.get("weight_reverse", False), rise=acc.get("rise", 1),
            fall=acc.get("fall", 1), init_fail=acc.get("init_fail", False),
            user=acc.get("user"), group=acc.get("group"), file=n.file, line=n.line)
        self.st.scripts.append(script)
        if acc.get("bad_user"):
            self.st.global_kw.setdefault("_bad_user_scripts", set()).add(name)

    def set_user(self, n: Node, acc: dict[str, Any]) -> bool:
        a = n.args
        if not a:
            self.rep("user requires a name")
            return False
        user = a[0]
        group = a[1].lstrip(":") if len(a) > 1 else None
        if ":" in user:
            user, _, group = user.partition(":")
        acc["user"] = user
        acc["group"] = group
        if self.st.env.user_uid(user) is None or (group and not self.st.env.group_exists(group)):
            self.rep(f"Unable to set uid/gid for script user {user}")
            return False
        return True

    def track_file(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        if n.kw == "vrrp_track_file":
            self.at(n, "vrrp_track_file is deprecated - please use 'track_file'",
                    Severity.INFO)  # keepalived 2.2.7 accepts it silently
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        for c in body:
            self.node = c
            self.no_block(c)
            if c.kw == "file":
                if c.args:
                    acc["path"] = c.args[0]
            elif c.kw == "weight":
                w = self.int_arg(c, -2147483647, 2147483647)
                if w is not None:
                    acc["weight"] = w
                    acc["weight_reverse"] = len(c.args) > 1 and c.args[1] == "reverse"
            elif c.kw == "init_file":
                acc["init_file"] = True
                rest = list(c.args)
                if rest and rest[0] != "overwrite":
                    iv = parse_int(rest.pop(0), -2147483647, 2147483647, self.rep)
                    acc["init_value"] = iv or 0
                if rest and rest[0] == "overwrite":
                    acc["init_overwrite"] = True
            else:
                self.unknown(c)
        if "path" not in acc:
            self.at(n, f"No file set for track_file {name} - ignoring", Severity.WARNING)
            return
        self.st.track_files.append(TrackFile(name=name, file=n.file, line=n.line, **acc))

    def track_process(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        for c in body:
            self.node = c
            self.no_block(c)
            kw = c.kw
            if kw == "process":
                if c.args:
                    acc["process"] = c.args[0]
                    acc["params"] = tuple(c.args[1:])
            elif kw == "param_match":
                if c.args and c.args[0] in ("initial", "partial"):
                    acc["param_match"] = c.args[0]
                else:
                    self.rep(f"Invalid param_match '{' '.join(c.args)}'")
            elif kw == "weight":
                w = self.int_arg(c, -254, 254)
                if w is not None:
                    acc["weight"] = w
                    acc["weight_reverse"] = len(c.args) > 1 and c.args[1] == "reverse"
            elif kw in ("quorum", "quorum_max"):
                q = self.int_arg(c, 0, 65535)
                if q is not None:
                    acc[kw] = q
            elif kw in ("fork_delay", "terminate_delay", "delay"):
                d = self.timer_arg(c, 0.0, 4294.967295)
                if d is not None:
                    if kw == "delay":
                        acc["fork_delay"] = acc["terminate_delay"] = d
                    else:
                        acc[kw] = d
            elif kw == "full_command":
                acc["full_command"] = True
            else:
                self.unknown(c)
        if "process" not in acc:
            self.at(n, f"No process specified for track_process {name} - ignoring",
                    Severity.WARNING)
            return
        self.st.track_processes.append(TrackProcess(name=name, file=n.file, line=n.line, **acc))

    def track_group(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        body = self.need_block(n)
        if body is None:
            return
        members: list[str] = []
        for c in body:
            if c.kw == "group":
                members.extend(t for x in value_lines(c, self) for t in x.tokens)
            else:
                self.unknown(c)
        self.st.track_groups.append(TrackGroup(name, tuple(members), n.file, n.line))

    # ------------------------------------------------------------------ static blocks
    def static_ipaddress(self, n: Node) -> None:
        if n.children is None:
            self.at(n, "static_ipaddress requires a block")
            return
        for c in value_lines(n, self):
            self.node = c
            a = parse_address_line(c.tokens, self.rep, c.line, static=True)
            if a is not None:
                if a.dev is not None and not self.st.env.interface_exists(a.dev) and \
                        not self.dynamic():
                    self.rep(f"WARNING - interface {a.dev} for ip address {a.ip}/{a.prefixlen}"
                             " doesn't exist", Severity.WARNING)
                self.st.static_addresses.append(self.check_track_group(a))

    def static_routes(self, n: Node) -> None:
        if n.children is None:
            self.at(n, "static_routes requires a block")
            return
        for c in value_lines(n, self):
            self.node = c
            r = parse_route_line(c.tokens, self.rep, c.line)
            if r is not None:
                self.st.static_routes.append(self.check_track_group(r))

    def static_rules(self, n: Node) -> None:
        if n.children is None:
            self.at(n, "static_rules requires a block")
            return
        for c in value_lines(n, self):
            self.node = c
            r = parse_rule_line(c.tokens, self.rep, c.line)
            if r is not None:
                if r.track_group is not None and r.iif is None:
                    self.rep("Static rule cannot have track_group if dev/iif not specified")
                    r = replace(r, track_group=None)
                self.st.static_rules.append(self.check_track_group(r))

    def check_track_group(self, spec: _TG) -> _TG:
        """A static entry's track_group must name a track_group defined earlier."""
        name = spec.track_group
        if name is None or any(g.name == name for g in self.st.track_groups):
            return spec
        self.rep(f"track_group {name} not found")
        return replace(spec, track_group=None)

    def garp_group(self, n: Node) -> None:
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        ifs: list[str] = []
        for c in body:
            self.node = c
            if c.kw in ("garp_interval", "gna_interval"):
                v = self.timer_arg(c, 0.0, 4294.967295)
                if v is not None:
                    acc[c.kw] = v
            elif c.kw == "interface":
                if c.args:
                    ifs.append(c.args[0])
            elif c.kw == "interfaces":
                ifs.extend(t for x in value_lines(c, self) for t in x.tokens)
            else:
                self.unknown(c)
        used = {i for g in self.st.garp_groups for i in g.interfaces}
        final: list[str] = []
        for i in ifs:
            if i in used or i in final:
                self.at(n, f"garp_group already specified for {i} - ignoring", Severity.WARNING)
            else:
                final.append(i)
        if not ifs:
            self.at(n, "garp_group has no interfaces - ignoring", Severity.INFO)
            return
        self.st.garp_groups.append(GarpGroup(tuple(final), file=n.file, line=n.line, **acc))

    def linkbeat(self, n: Node) -> None:
        if n.children is None:
            self.at(n, "linkbeat_interfaces requires a block")
            return
        for c in value_lines(n, self):
            method = c.tokens[1].upper() if len(c.tokens) > 1 else "ETHTOOL"
            if method not in ("MII", "ETHTOOL", "IOCTL"):
                self.at(c, f"Unknown linkbeat method {method}")
                method = "ETHTOOL"
            self.st.linkbeat.append(LinkbeatInterface(c.tokens[0], method))

    def updown(self, n: Node) -> None:
        if n.children is None:
            self.at(n, "interface_up_down_delays requires a block")
            return
        for c in value_lines(n, self):
            self.node = c
            if len(c.tokens) < 2:
                self.rep("interface_up_down_delays entry requires a delay")
                continue
            d = parse_timer(c.tokens[1], self.rep, lo=0.0, hi=255.0)
            u = parse_timer(c.tokens[2], self.rep, lo=0.0, hi=255.0) if len(c.tokens) > 2 else d
            if d is not None and u is not None:
                self.st.updown.append(InterfaceUpDownDelay(c.tokens[0], d, u))

    def ssl_block(self, n: Node) -> None:
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        for c in body:
            if c.kw in ("password", "ca", "certificate", "key") and c.args:
                acc[c.kw] = c.args[0]
            else:
                self.unknown(c)
        self.st.ssl = SslConfig(**acc)

    # ------------------------------------------------------------------ BFD
    def bfd_instance(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        for c in body:
            self.node = c
            self.no_block(c)
            kw = c.kw
            if kw in ("neighbor_ip", "neighbour_ip", "source_ip"):
                if c.args and ip_family(c.args[0]) is not None:
                    acc["source_ip" if kw == "source_ip" else "neighbor_ip"] = c.args[0]
                else:
                    self.rep(f"Configuration error: BFD instance {name} has invalid {kw} "
                             f"'{' '.join(c.args)}'")
            elif kw in ("min_rx", "min_tx"):
                v = self.int_arg(c, 1, 1000)
                if v is not None:
                    acc[kw] = v
            elif kw == "idle_tx":
                v = self.int_arg(c, 1000, 4294967)
                if v is not None:
                    acc[kw] = v
            elif kw == "multiplier":
                v = self.int_arg(c, 1, 255)
                if v is not None:
                    acc[kw] = v
            elif kw in ("ttl", "hoplimit"):
                v = self.int_arg(c, 1, 255)
                if v is not None:
                    acc["ttl"] = v
            elif kw == "max_hops":
                v = self.int_arg(c, 0, 255)
                if v is not None:
                    acc[kw] = v
            elif kw in ("passive", "multihop"):
                b = self.bool_arg(c)
                if b is not None:
                    acc[kw] = b
            elif kw == "weight":
                w = self.int_arg(c, -253, 253)
                if w is not None:
                    acc["weight"] = w
                    acc["weight_reverse"] = len(c.args) > 1 and c.args[1] == "reverse"
            elif kw in ("vrrp", "checker"):
                acc.setdefault("_only", set()).add(kw)
            else:
                self.unknown(c)
        only = acc.pop("_only", None)
        if only:
            acc["vrrp"] = "vrrp" in only
            acc["checker"] = "checker" in only
        if "neighbor_ip" not in acc:
            self.at(n, f"Configuration error: BFD instance {name} has no neighbor address set,"
                    " disabling instance")
            return
        if name in {b.name for b in self.st.bfds}:
            self.at(n, f"BFD instance {name} already defined - ignoring")
            return
        self.st.bfds.append(BfdInstance(name=name, file=n.file, line=n.line, **acc))

    # ------------------------------------------------------------------ sync group
    def track_list(self, n: Node, kind: str, lo: int, hi: int) -> tuple[TrackRef, ...]:
        out: list[TrackRef] = []
        if n.children is None:
            # keepalived 2.x also accepts the old single-line form only for some; report
            self.at(n, f"{n.kw} requires a block")
            return ()
        for c in value_lines(n, self):
            self.node = c
            t = c.tokens
            name = t[0]
            weight: int | None = None
            reverse = False
            i = 1
            while i < len(t):
                if t[i] == "weight" and i + 1 < len(t):
                    w = parse_int(t[i + 1], lo, hi, self.rep)
                    if w is None:
                        self.rep(f"{kind} {name} weight out of range - ignoring")
                        weight = None
                        break
                    weight = w
                    i += 2
                elif t[i] == "reverse":
                    reverse = True
                    i += 1
                elif t[i] == "noreverse":
                    reverse = False
                    i += 1
                else:
                    self.rep(f"Unknown {kind} option '{t[i]}'")
                    i += 1
            out.append(TrackRef(name, weight, reverse))
        return tuple(out)

    def sync_group(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {}
        for c in body:
            self.node = c
            kw = c.kw
            if kw == "group":
                acc["members"] = tuple(t for x in value_lines(c, self) for t in x.tokens)
            elif kw in _TRACK_KW:
                field_name, kind, lo, hi = _TRACK_KW[kw]
                refs = self.track_list(c, kind, lo, hi)
                if kw == "track_interface" and not self.dynamic():
                    for t in refs:
                        if not self.st.env.interface_exists(t.name):
                            self.at(c, f"({name}) tracked interface {t.name} doesn't exist",
                                    Severity.WARNING)
                if kw == "track_script":
                    for t in refs:
                        if t.name not in self.st.script_names:
                            self.at(c, f"({name}) track script {t.name} not found, "
                                    "ignoring...")
                    refs = tuple(t for t in refs if t.name in self.st.script_names)
                acc[field_name] = acc.get(field_name, ()) + refs
            elif kw in ("notify_master", "notify_backup", "notify_fault", "notify_stop",
                        "notify"):
                self.no_block(c)
                s = self.script_arg(c)
                if s is not None:
                    acc[kw] = s
            elif kw in ("smtp_alert", "notify_priority_changes", "sync_group_tracking_weight"):
                self.no_block(c)
                b = self.bool_arg(c)
                if b is not None:
                    acc[kw] = b
            elif kw == "global_tracking":
                self.rep("global_tracking is deprecated. Use track_interface/script/file/bfd "
                         "on each instance with sync_group_tracking_weight", Severity.WARNING)
                acc["sync_group_tracking_weight"] = True
            else:
                self.unknown(c)
        if name in {s.name for s in self.st.sync_groups}:
            self.at(n, f"vrrp_sync_group {name} already defined - ignoring")
            return
        if "smtp_alert" in acc:
            self.st.sync_group_smtp_set.add(name)
        self.st.sync_groups.append(SyncGroup(name=name, file=n.file, line=n.line, **acc))

    # ------------------------------------------------------------------ vrrp_instance
    def vrrp_instance(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        if not name:
            self.at(n, "vrrp_instance requires a name")
        body = self.need_block(n)
        if body is None:
            return
        acc: dict[str, Any] = {"name": name, "file": n.file, "line": n.line, "_nodes": {}}
        self.instance_body(body, acc)
        if any(i["name"] == name for i in self.st.instances):
            self.at(n, f"vrrp_instance {name} already defined - ignoring")
            return
        self.st.instances.append(acc)

    def instance_body(self, body: list[Node], acc: dict[str, Any]) -> None:
        name = acc["name"]
        for c in body:
            self.node = c
            kw = c.kw
            a = c.args
            acc["_nodes"][kw] = c
            if kw in _INSTANCE_BOOL:
                self.no_block(c)
                b = self.bool_arg(c)
                if b is not None:
                    acc[_INSTANCE_BOOL[kw]] = b
                if kw == "check_unicast_src":
                    acc["_unicast_kw"] = True
            elif kw in _INSTANCE_FLAG_DEPRECATED:
                self.no_block(c)
                self.rep(f"({name}) {kw} is deprecated", Severity.WARNING)
            elif kw == "state":
                self.no_block(c)
                s = (a[0] if a else "").upper()
                if s == "MASTER":
                    acc["state"] = VrrpState.MASTER
                elif s == "BACKUP":
                    acc["state"] = VrrpState.BACKUP
                else:
                    self.rep(f"({name}) unknown state '{a[0] if a else ''}', defaulting to "
                             "BACKUP", Severity.WARNING)
                    acc["state"] = VrrpState.BACKUP
            elif kw == "interface":
                self.no_block(c)
                if a:
                    acc["interface"] = a[0]
                    if not self.st.env.interface_exists(a[0]) and not self.dynamic():
                        self.rep(f"WARNING - interface {a[0]} for vrrp_instance {name} doesn't "
                                 "exist", Severity.WARNING)
                        acc["_bad_if"] = True
            elif kw == "virtual_router_id":
                self.no_block(c)
                v = self.int_arg(c, 1, 255)
                if v is not None:
                    acc["vrid"] = v
            elif kw == "priority":
                self.no_block(c)
                v = self.int_arg(c, 1, 255)
                if v is not None:
                    acc["priority"] = v
            elif kw == "advert_int":
                self.no_block(c)
                f = self.timer_arg(c, 0.01, 255.0)
                if f is not None:
                    acc["advert_int_raw"] = f
            elif kw == "version":
                self.no_block(c)
                v = self.int_arg(c, 2, 3)
                if v is not None:
                    acc["version"] = v
            elif kw == "authentication":
                self.authentication(c, acc)
            elif kw == "auth_hmac":
                self.auth_hmac(c, acc)
            elif kw in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
                if c.children is None:
                    self.rep(f"{kw} requires a block")
                    continue
                key = ("virtual_ipaddresses" if kw == "virtual_ipaddress"
                       else "virtual_ipaddresses_excluded")
                lst = acc.setdefault(key, [])
                for x in value_lines(c, self):
                    self.node = x
                    ad = parse_address_line(x.tokens, self.rep, x.line)
                    if ad is not None and kw == "virtual_ipaddress":
                        acc.setdefault("_family", ad.family)
                    if ad is not None:
                        if ad.dev and not self.st.env.interface_exists(ad.dev) and \
                                not self.dynamic():
                            self.rep(f"WARNING - interface {ad.dev} for ip address "
                                     f"{ad.ip}/{ad.prefixlen} doesn't exist", Severity.WARNING)
                        lst.append(ad)
            elif kw in ("virtual_routes", "virtual_rules"):
                if c.children is None:
                    self.rep(f"{kw} requires a block")
                    continue
                lst = acc.setdefault(kw, [])
                for x in value_lines(c, self):
                    self.node = x
                    if kw == "virtual_routes":
                        r = parse_route_line(x.tokens, self.rep, x.line)
                        if r is not None:
                            lst.append(r)
                    else:
                        ru = parse_rule_line(x.tokens, self.rep, x.line)
                        if ru is not None:
                            lst.append(ru)
            elif kw in _TRACK_KW:
                field_name, kind, lo, hi = _TRACK_KW[kw]
                acc[field_name] = acc.get(field_name, ()) + self.track_list(c, kind, lo, hi)
            elif kw == "nopreempt":
                self.no_block(c)
                acc["nopreempt"] = True
            elif kw == "preempt":
                self.no_block(c)
                acc["nopreempt"] = False
            elif kw == "preempt_delay":
                self.no_block(c)
                f = self.timer_arg(c, 0.0, 1000.0)
                if f is not None:
                    acc["preempt_delay"] = f
            elif kw in ("unicast_src_ip", "mcast_src_ip"):
                self.no_block(c)
                fam = ip_family(a[0]) if a else None
                if fam is not None and acc.setdefault("_family", fam) != fam:
                    self.rep(f"Configuration error: VRRP instance[{name}] and src address"
                             f"[{a[0]}] MUST be of the same family !!! Skipping...")
                elif fam is not None:
                    acc[kw] = a[0]
                else:
                    self.rep(f"Configuration error: VRRP instance[{name}] malformed src "
                             f"address[{a[0] if a else ''}]. Skipping...")
                if kw == "unicast_src_ip":
                    acc["_unicast_kw"] = True
            elif kw == "unicast_peer":
                acc["_unicast_kw"] = True
                if c.children is None:
                    self.rep("unicast_peer requires a block")
                    continue
                peers = acc.setdefault("unicast_peers", [])
                for x in value_lines(c, self):
                    self.node = x
                    self.unicast_peer(x, peers, acc)
            elif kw == "unicast_ttl":
                self.no_block(c)
                v = self.int_arg(c, 0, 255)
                if v is not None:
                    acc["unicast_ttl"] = v
                    acc["_unicast_ttl_node"] = c
            elif kw == "old_unicast_checksum":
                self.no_block(c)
                acc["_unicast_kw"] = True
                acc["old_unicast_checksum"] = not (a and a[0] == "never")
            elif kw == "mcast_dst_ip":
                self.no_block(c)
                if a and ip_family(a[0]) is not None and ipaddress.ip_address(a[0]).is_multicast:
                    acc["mcast_dst_ip"] = a[0]
                else:
                    self.rep(f"({name}) mcast_dst_ip {a[0] if a else ''} is not multicast")
            elif kw == "use_vmac":
                self.no_block(c)
                acc["use_vmac"] = self.vmac_spec(c)
            elif kw == "use_ipvlan":
                self.no_block(c)
                acc["use_ipvlan"] = self.ipvlan_spec(c)
            elif kw == "vrf":
                self.no_block(c)
                if a:
                    acc["vrf"] = a[0]
                    if not self.st.env.interface_exists(a[0]):
                        self.rep(f"({name}) WARNING - VRF interface {a[0]} doesn't exist",
                                 Severity.WARNING)
            elif kw in ("accept", "no_accept"):
                self.no_block(c)
                acc["accept"] = kw == "accept"
                acc["_accept_set"] = True
            elif kw in _INSTANCE_GARP_TIMER:
                self.no_block(c)
                f = self.timer_arg(c, 0.0, 4294.967295)
                if f is not None:
                    acc[kw] = f
            elif kw in _INSTANCE_GARP_INT:
                self.no_block(c)
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    if kw == "garp_master_repeat" and v == 0:
                        self.rep(f"({name}) garp_master_repeat must be greater than 0, setting "
                                 "to 1", Severity.WARNING)
                        v = 1
                    acc[kw] = v
            elif kw in ("garp_extra_if", "vmac_garp_intvl"):
                self.no_block(c)
                if kw == "vmac_garp_intvl":
                    self.rep('Keyword "vmac_garp_intvl" is deprecated - please use '
                             '"garp_extra_if"', Severity.WARNING)
                self.garp_extra_if(a, acc, "garp_extra_if")
            elif kw == "down_timer_adverts":
                self.no_block(c)
                v = self.int_arg(c, 1, 100)
                if v is not None:
                    acc["down_timer_adverts"] = v
            elif kw in ("timer_expired_backup", "thread_timer_expired"):
                self.no_block(c)
                acc["timer_expired_backup"] = (parse_int(a[0], 1, 254, self.rep) if a else 0)
            elif kw == "notify_deleted" and not a:
                self.no_block(c)  # bare flag: send DELETED to the generic notify script
                acc["notify_deleted_enabled"] = True
            elif kw in _NOTIFY_KW:
                self.no_block(c)
                ns = self.script_arg(c)
                if ns is not None:
                    acc[kw] = ns
                    if kw == "notify_deleted":
                        acc["notify_deleted_enabled"] = True
            elif kw == "kernel_rx_buf_size":
                self.no_block(c)
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    acc["kernel_rx_buf_size"] = v
            elif kw == "debug":
                self.no_block(c)
                if a:
                    parse_int(a[0], 0, 4, self.rep)
            elif kw == "lvs_sync_daemon_interface":
                self.no_block(c)
                self.rep(f"({name}) lvs_sync_daemon_interface is deprecated - please use "
                         "lvs_sync_daemon in global_defs", Severity.WARNING)
            elif kw in sbconf.INSTANCE_KEYWORDS:
                sbconf.instance_keyword(self, c, acc)
            else:
                self.unknown(c)

    def authentication(self, n: Node, acc: dict[str, Any]) -> None:
        body = self.need_block(n)
        if body is None:
            return
        for c in body:
            self.node = c
            if c.kw == "auth_type":
                t = (c.args[0] if c.args else "").upper()
                if t in ("PASS", "AH"):
                    acc["auth_type"] = t
                else:
                    self.rep(f"({acc['name']}) unknown authentication type "
                             f"'{c.args[0] if c.args else ''}'")
            elif c.kw == "auth_pass":
                p = " ".join(c.args) if c.args else ""
                raw = p.encode("utf-8", errors="replace")
                if len(raw) > 8:
                    self.rep("Truncating auth_pass to 8 characters", Severity.WARNING)
                    raw = raw[:8]
                acc["auth_pass"] = raw
            else:
                self.unknown(c)

    def auth_hmac(self, n: Node, acc: dict[str, Any]) -> None:
        body = self.need_block(n)
        if body is None:
            return
        vals: dict[str, Any] = {}
        keys: list[HmacKey] = []
        for c in body:
            self.node = c
            a = c.args
            if c.kw == "key" and len(a) >= 2:
                kid = parse_int(a[0], 0, 255, self.rep)
                spec = a[1]
                secret: bytes | None
                if spec.startswith("hex:"):
                    try:
                        secret = bytes.fromhex(spec[4:])
                    except ValueError:
                        self.rep(f"Invalid hex key '{spec}'")
                        secret = None
                elif spec.startswith("file:"):
                    secret = None
                    self.rep(f"auth_hmac key file '{spec[5:]}' is read at start-up",
                             Severity.INFO)
                else:
                    secret = spec.encode()
                if kid is not None and secret is not None:
                    keys.append(HmacKey(kid, secret))
            elif c.kw == "active_key":
                vals["active_key"] = parse_int(a[0], 0, 255, self.rep) if a else None
            elif c.kw == "anti_replay" and a and a[0] in ("time", "monotonic"):
                vals["anti_replay"] = a[0]
            elif c.kw == "time_window":
                v = parse_int(a[0], 1, 300, self.rep) if a else None
                if v is not None:
                    vals["time_window"] = v
            elif c.kw == "mode" and a and a[0] in ("enforce", "permissive", "receive-only"):
                vals["mode"] = a[0]
            else:
                self.unknown(c)
        acc["auth_hmac"] = AuthHmac(keys=tuple(keys), **vals)

    def unicast_peer(self, x: Node, peers: list[UnicastPeer], acc: dict[str, Any]) -> None:
        t = x.tokens
        ip = t[0]
        fam = ip_family(ip)
        if fam is None:
            self.rep(f"({acc['name']}) VRRP parsed invalid IP {ip}. skipping IP...")
            return
        if acc.setdefault("_family", fam) != fam:
            self.rep(f"Configuration error: VRRP instance[{acc['name']}] and unicast peer "
                     f"address[{ip}] MUST be of the same family !!! Skipping...")
            return
        mn: int | None = None
        mx: int | None = None
        i = 1
        while i < len(t):
            if t[i] in ("min_ttl", "max_ttl") and i + 1 < len(t):
                v = parse_int(t[i + 1], 0, 255, self.rep)
                if t[i] == "min_ttl":
                    mn = v
                else:
                    mx = v
                acc["check_unicast_src"] = True
                i += 2
            else:
                self.rep(f"Unknown unicast_peer option '{t[i]}'")
                i += 1
        peers.append(UnicastPeer(ip, mn, mx))

    def vmac_spec(self, n: Node) -> VmacSpec:
        a = list(n.args)
        vals: dict[str, Any] = {}
        i = 0
        while i < len(a):
            t = a[i]
            if t == "netlink_notify_msg":
                vals["netlink_notify_msg"] = True
            elif t == "group" and i + 1 < len(a):
                vals["group"] = parse_int(a[i + 1], 0, 2147483647, self.rep)
                i += 1
            elif _is_mac(t):
                low = t.lower()
                if low.startswith(("00:00:5e:00:01:", "00:00:5e:00:02:")):
                    self.rep(f"VMAC MAC address not allowed to be RFC5798 address ({t}) - "
                             "ignoring")
                else:
                    vals["mac"] = t
            elif "name" not in vals:
                vals["name"] = t
            i += 1
        return VmacSpec(**vals)

    def ipvlan_spec(self, n: Node) -> IpvlanSpec:
        vals: dict[str, Any] = {}
        a = list(n.args)
        i = 0
        while i < len(a):
            t = a[i]
            if t in ("bridge", "private", "vepa"):
                vals["mode"] = t
            elif t == "group" and i + 1 < len(a):
                vals["group"] = parse_int(a[i + 1], 0, 2147483647, self.rep)
                i += 1
            elif ip_family(t.partition("/")[0]) is not None:
                vals["address"] = t
            elif "name" not in vals:
                vals["name"] = t
            i += 1
        return IpvlanSpec(**vals)

    # ------------------------------------------------------------------ LVS
    def vsg(self, n: Node) -> None:
        name = n.args[0] if n.args else ""
        if n.children is None:
            self.at(n, "virtual_server_group requires a block")
            return
        entries: list[VsgEntry] = []
        for c in value_lines(n, self):
            self.node = c
            t = c.tokens
            if t[0] == "fwmark":
                fm = parse_int(t[1], 1, 4294967295, self.rep) if len(t) > 1 else None
                if fm is not None:
                    fam = 6 if len(t) > 2 and t[2] == "inet6" else 4
                    entries.append(VsgEntry(fwmark=fm, family=fam))
                continue
            e = self.vsg_range(t[0])
            if e is None:
                continue
            port = 0
            if len(t) > 1:
                p = parse_int(t[1], 0, 65535, self.rep)
                if p is None:
                    continue
                port = p
            entries.append(replace(e, port=port))
        self.st.vsgs.append(VirtualServerGroup(name, tuple(entries), n.file, n.line))

    def vsg_range(self, spec: str) -> VsgEntry | None:
        if "/" in spec:
            try:
                net = ipaddress.ip_network(spec, strict=False)
            except ValueError:
                self.rep(f"Invalid virtual server group IP address range '{spec}'")
                return None
            return VsgEntry(first_ip=str(net.network_address),
                            last_ip=str(net.broadcast_address), family=net.version)
        first, sep, last = spec.partition("-")
        fam = ip_family(first)
        if fam is None:
            self.rep(f"Invalid virtual server group IP address '{spec}'")
            return None
        if not sep:
            return VsgEntry(first_ip=first, last_ip=first, family=fam)
        base = ipaddress.ip_address(first)
        if fam == 4:
            parts = first.split(".")
            lparts = last.split(".")
            if not all(p.isdigit() for p in lparts) or len(lparts) > 4:
                bad = last
                for j, ch in enumerate(last):
                    if not (ch.isdigit() or ch == "."):
                        bad = last[j:]
                        break
                self.rep(f"Virtual server group range '{spec}' has extra characters at end "
                         f"'{bad}'")
                return None
            end_s = ".".join(parts[:4 - len(lparts)] + lparts)
        else:
            hexpart = last.split(".", 1)
            if len(hexpart) > 1 or not all(ch in "0123456789abcdefABCDEF" for ch in hexpart[0]):
                extra = "." + hexpart[1] if len(hexpart) > 1 else last
                self.rep(f"Virtual server group range '{spec}' has extra characters at end "
                         f"'{extra}'")
                return None
            groups = first.split(":")
            end_s = ":".join([*groups[:-1], hexpart[0]])
        try:
            end = ipaddress.ip_address(end_s)
        except ValueError:
            self.rep(f"Invalid virtual server group range '{spec}'")
            return None
        if int(end) < int(base):
            self.rep(f"Virtual server group range '{spec}' end is before start")
            return None
        return VsgEntry(first_ip=first, last_ip=str(end), family=fam)

    def virtual_server(self, n: Node) -> None:
        a = n.args
        acc: dict[str, Any] = {"file": n.file, "line": n.line}
        if not a:
            self.at(n, "virtual_server requires an address, fwmark or group")
            return
        if a[0] == "fwmark":
            fm = parse_int(a[1], 1, 4294967295, self.rep) if len(a) > 1 else None
            if fm is None:
                self.at(n, "virtual_server fwmark requires a mark")
                return
            acc["fwmark"] = fm
            acc["family"] = 6 if len(a) > 2 and a[2] == "inet6" else 4
        elif a[0] == "group":
            if len(a) < 2:
                self.at(n, "virtual_server group requires a name")
                return
            vsg = next((g for g in self.st.vsgs if g.name == a[1]), None)
            if vsg is not None:
                fams = {e.family for e in vsg.entries if e.fwmark is None}
                if len(fams) > 1 and any(e.fwmark is not None for e in vsg.entries):
                    self.at(n, f"virtual server group {a[1]} cannot have IPv4, IPv6 and fwmark "
                            "without family - removing")
                    return
            if a[1] not in self.st.vsg_names:
                # keepalived 2.2.7 drops such a virtual server without a word
                self.at(n, f"virtual_server_group {a[1]} not defined - ignoring virtual server",
                        Severity.INFO)
                return
            acc["group"] = a[1]
        else:
            fam = ip_family(a[0])
            if fam is None:
                self.at(n, f"Invalid virtual server address '{a[0]}'")
                return
            acc["ip"] = a[0]
            acc["family"] = fam
            if len(a) > 1:
                self.node = n
                p = parse_int(a[1], 0, 65535, self.rep)
                acc["port"] = p or 0
        body = self.need_block(n)
        if body is None:
            return
        rss: list[tuple[Node, dict[str, Any]]] = []
        for c in body:
            self.node = c
            kw = c.kw
            ca = c.args
            if kw == "real_server":
                r = self.real_server(c)
                if r is not None:
                    rss.append((c, r))
                continue
            self.no_block(c) if kw not in ("sorry_server",) else None
            if kw in ("lb_algo", "lvs_sched"):
                if ca and ca[0] in _SCHEDULERS:
                    acc["lb_algo"] = ca[0]
                else:
                    self.rep(f"Invalid lvs_scheduler '{ca[0] if ca else ''}'")
            elif kw in ("lb_kind", "lvs_method"):
                m = self.lvs_method(c, acc)
                if m:
                    acc["lb_kind"] = m
            elif kw == "protocol":
                p2 = (ca[0] if ca else "").upper()
                if p2 in ("TCP", "UDP", "SCTP"):
                    acc["protocol"] = p2
                else:
                    self.rep(f"Unknown protocol '{ca[0] if ca else ''}'")
            elif kw == "persistence_timeout":
                if ca:
                    pt = parse_int(ca[0], 1, 2678400, self.rep)
                    if pt is not None:
                        acc["persistence_timeout"] = pt
                else:
                    acc["persistence_timeout"] = 360
            elif kw == "persistence_granularity":
                if ca:
                    acc["persistence_granularity"] = ca[0]
            elif kw == "persistence_engine":
                if ca:
                    acc["persistence_engine"] = ca[0]
            elif kw in ("hashed", "ops", "alpha", "omega", "ha_suspend", "inhibit_on_failure",
                        "sorry_server_inhibit"):
                b = self.bool_arg(c)
                if b is not None:
                    acc[kw] = b
            elif kw == "smtp_alert":
                b = self.bool_arg(c)
                if b is not None:
                    acc["smtp_alert"] = b
            elif kw in ("flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port",
                        "mh-fallback"):
                acc["sched_flags"] = (*acc.get("sched_flags", ()), kw)
                acc.setdefault("_flag_nodes", []).append(c)
            elif kw in ("delay_loop", "connect_timeout", "delay_before_retry", "warmup"):
                lo = 0.0 if kw == "warmup" else 0.000001
                f = self.timer_arg(c, lo, 4294.967295)
                if f is not None:
                    acc[kw] = f
            elif kw == "retry":
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    acc["retry"] = v
            elif kw in ("quorum", "hysteresis"):
                v = self.int_arg(c, 0 if kw == "hysteresis" else 1, 2147483647)
                if v is not None:
                    acc[kw] = v
            elif kw in ("quorum_up", "quorum_down"):
                s = self.script_arg(c)
                if s is not None:
                    acc[kw] = s
            elif kw == "sorry_server":
                self.no_block(c)
                if ca and ip_family(ca[0]) is not None:
                    port = parse_int(ca[1], 0, 65535, self.rep) if len(ca) > 1 else 0
                    acc["_sorry"] = (ca[0], port or 0, c)
                else:
                    self.rep("Invalid sorry_server address")
            elif kw == "sorry_server_lvs_method":
                if ca:
                    acc["_sorry_method"] = ca[0].upper()
            elif kw == "ip_family":
                if ca and ca[0] in ("inet", "inet6"):
                    acc["_ip_family"] = 4 if ca[0] == "inet" else 6
                else:
                    self.rep(f"Unknown ip_family '{ca[0] if ca else ''}'")
            elif kw == "virtualhost":
                if ca:
                    acc["virtualhost"] = ca[0]
            elif kw == "weight":
                v = self.int_arg(c, 1, 65535)
                if v is not None:
                    acc["weight"] = v
            elif kw in ("snmp_name",):
                pass
            else:
                self.unknown(c)
        self.finish_vs(n, acc, rss)

    def lvs_method(self, c: Node, acc: dict[str, Any]) -> str | None:
        ca = c.args
        m = (ca[0] if ca else "").upper()
        if m not in ("NAT", "DR", "TUN"):
            self.rep(f"Invalid lvs_method '{ca[0] if ca else ''}'")
            return None
        if m == "TUN" and len(ca) > 1:
            i = 1
            while i < len(ca):
                if ca[i] == "type" and i + 1 < len(ca):
                    acc["tun_type"] = ca[i + 1]
                    i += 2
                elif ca[i] == "port" and i + 1 < len(ca):
                    acc["tun_port"] = parse_int(ca[i + 1], 1, 65535, self.rep)
                    i += 2
                elif ca[i] in ("nocsum", "csum", "remcsum"):
                    acc["tun_flags"] = ca[i]
                    i += 1
                else:
                    self.rep(f"Unknown TUN option '{ca[i]}'")
                    i += 1
        return m

    def finish_vs(self, n: Node, acc: dict[str, Any], rss: list[tuple[Node, dict[str, Any]]]
                  ) -> None:
        sorry = acc.pop("_sorry", None)
        sorry_method = acc.pop("_sorry_method", None)
        sorry_inhibit = acc.pop("sorry_server_inhibit", False)
        ip_fam = acc.pop("_ip_family", None)
        if ip_fam is not None and "ip" not in acc:
            acc["family"] = ip_fam
        proto_set = "protocol" in acc
        if acc.get("fwmark") is not None and proto_set:
            self.late(f"Warning: Virtual server FWM {acc['fwmark']}: protocol specified for "
                      "fwmark - protocol will be ignored")
        for fn in acc.pop("_flag_nodes", []):
            sched = fn.kw[:2]
            if sched in ("sh", "mh") and acc.get("lb_algo") != sched:
                self.at(fn, f"{fn.kw} only applies to {sched} scheduler - ignoring")
                acc["sched_flags"] = tuple(f for f in acc["sched_flags"] if f != fn.kw)
        tmp = VirtualServer(**{k: v for k, v in acc.items() if not k.startswith("_")})
        if not proto_set and tmp.fwmark is None and tmp.group is None:
            self.late(f"Virtual server [{tmp.ip}]:none:{tmp.port}: no protocol set - "
                      "defaulting to UDP")
            acc["protocol"] = "UDP"
            tmp = replace(tmp, protocol="UDP")
        if "lb_kind" not in acc:
            self.late(f"Virtual server {tmp.key}: no forwarding method set, setting default NAT")
        if "lb_algo" not in acc:
            self.late(f"Virtual server {tmp.key}: no scheduler set, setting default 'wlc'")
        # real servers with inheritance
        real: list[RealServer] = []
        has_dr = tmp.lb_kind == "DR" or any(r.get("lvs_method") == "DR" for _, r in rss)
        vs_family = tmp.family if (tmp.ip is not None or ip_fam is not None) else None
        if tmp.group is not None:
            vsg = next((g for g in self.st.vsgs if g.name == tmp.group), None)
            fams = {e.family for e in vsg.entries if e.fwmark is None} if vsg else set()
            vs_family = fams.pop() if len(fams) == 1 else None
            mixed_group = vs_family is None
        else:
            mixed_group = False
        seen: set[tuple[str, int]] = set()
        for rn, r in rss:
            r["_vs_has_dr"] = has_dr
            if mixed_group:
                pass  # a group of both families takes real servers of either
            elif vs_family is None:
                vs_family = r["family"]
                acc["family"] = vs_family
                tmp = replace(tmp, family=vs_family)
            elif r["family"] != vs_family:
                self.at(rn, f"Address family of virtual server and real server {r['ip']} "
                        "don't match - skipping real server.")
                continue
            rs = self.finish_rs(rn, r, tmp)
            if rs is not None:
                if (rs.ip, rs.port) in seen:
                    self.late(f"VS {tmp.key}: real server [{rs.ip}]:{tmp.protocol.lower()}:"
                              f"{rs.port} is duplicated - removing second rs")
                    continue
                seen.add((rs.ip, rs.port))
                real.append(rs)
        if sorry is not None:
            sip, sport, _snode = sorry
            if tmp.fwmark is None and tmp.port and not sport:
                sport = tmp.port
            for rs in real:
                if rs.ip == sip and rs.port == sport and rs.inhibit_on_failure != sorry_inhibit:
                    self.late(f"Virtual server {tmp.key}: real server [{rs.ip}]:"
                              f"{tmp.protocol.lower()}:{rs.port} matches sorry server, but "
                              "inhibit setting differs, setting on sorry server")
                    sorry_inhibit = rs.inhibit_on_failure
            acc["sorry_server"] = SorryServer(sip, sport, sorry_inhibit, sorry_method)
        if not real and sorry is None:
            self.late(f"Virtual server {tmp.key} has no real servers - ignoring")
            return
        total = sum(r.weight for r in real)
        quorum = acc.get("quorum", 1)
        if real and quorum > total:
            self.late(f"Warning - quorum {quorum} for {tmp.key} exceeds total weight of real "
                      f"servers {total}, reducing quorum to {total}")
            acc["quorum"] = max(total, 1)
        acc["real_servers"] = tuple(real)
        self.st.vss.append(VirtualServer(**{k: v for k, v in acc.items()
                                            if not k.startswith("_")}))

    def real_server(self, n: Node) -> dict[str, Any] | None:
        a = n.args
        fam = ip_family(a[0]) if a else None
        if fam is None:
            self.at(n, f"Invalid real server address '{a[0] if a else ''}'")
            return None
        r: dict[str, Any] = {"ip": a[0], "family": fam, "file": n.file,
                             "line": n.line, "_checkers": []}
        if len(a) > 1:
            self.node = n
            p = parse_int(a[1], 0, 65535, self.rep)
            r["port"] = p or 0
            r["_port_set"] = True
        body = self.need_block(n) if n.children is not None else []
        for c in body or []:
            self.node = c
            kw = c.kw
            if kw in _CHECKERS:
                r["_checkers"].append(c)
                continue
            if c.children is not None:
                self.no_block(c)
            if kw == "weight":
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    r["weight"] = v
            elif kw in ("lvs_method", "lb_kind"):
                m = self.lvs_method(c, {})
                if m:
                    r["lvs_method"] = m
            elif kw in ("inhibit_on_failure", "alpha", "smtp_alert"):
                b = self.bool_arg(c)
                if b is not None:
                    r[kw] = b
            elif kw in ("notify_up", "notify_down"):
                s = self.script_arg(c)
                if s is not None:
                    r[kw] = s
            elif kw in ("uthreshold", "lthreshold"):
                v = self.int_arg(c, 0, 65535)
                if v is not None:
                    r[kw] = v
            elif kw in ("delay_loop", "connect_timeout", "delay_before_retry", "warmup"):
                lo = 0.0 if kw == "warmup" else 0.000001
                f = self.timer_arg(c, lo, 4294.967295)
                if f is not None:
                    r["_" + kw] = f
            elif kw == "retry":
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    r["_retry"] = v
            elif kw == "virtualhost":
                if c.args:
                    r["virtualhost"] = c.args[0]
            elif kw == "snmp_name":
                pass
            else:
                self.unknown(c)
        return r

    def finish_rs(self, n: Node, r: dict[str, Any], vs: VirtualServer) -> RealServer | None:
        if vs.fwmark is not None and r.get("port"):
            self.late(f"WARNING - fwmark virtual server FWM {vs.fwmark}, real server "
                      f"[{r['ip']}]:none:{r['port']} has port specified - clearing")
            r["port"] = 0
        elif vs.fwmark is None and vs.group is None and r.get("_port_set") and \
                r.get("port") != vs.port and (r.get("lvs_method", vs.lb_kind) == "DR"
                                              or r.get("_vs_has_dr")):
            self.late(f"WARNING - virtual server {vs.key} and real server [{r['ip']}]:"
                      f"{vs.protocol.lower()}:{r.get('port')} ports don't match - resetting")
            r["port"] = vs.port
        elif not r.get("_port_set") and vs.fwmark is None:
            r["port"] = vs.port
        r.setdefault("lvs_method", vs.lb_kind)
        if "inhibit_on_failure" not in r:
            r["inhibit_on_failure"] = vs.inhibit_on_failure
        checkers: list[Checker] = []
        for cn in r["_checkers"]:
            ck = self.checker(cn, r, vs)
            if ck is not None:
                checkers.append(ck)
        vals = {k: v for k, v in r.items() if k in _RS_FIELDS}
        vals["checkers"] = tuple(checkers)
        return _build(RealServer, vals)

    def checker_defaults(self, kind: str, r: dict[str, Any], vs: VirtualServer
                         ) -> dict[str, Any]:
        """A checker's inherited timing values (a fresh dict). Those of a real server that
        sets none of them are the virtual server's, worked out once per kind of checker."""
        own = not _RS_TIMING.isdisjoint(r)
        if not own:
            hit = self._defaults_memo.get(kind)
            if hit is not None and hit[0] is vs:
                return dict(hit[1])
        dflt_retry = _DEFAULT_RETRY.get(kind, 1)
        delay_loop = r.get("_delay_loop", vs.delay_loop)
        dflt_dbr = delay_loop if kind == "DNS_CHECK" else _DEFAULT_DBR.get(kind, 1.0)
        d: dict[str, Any] = {
            "connect_timeout": r.get("_connect_timeout", vs.connect_timeout),
            "retry": r.get("_retry", vs.retry if vs.retry is not None else dflt_retry),
            "delay_before_retry": r.get("_delay_before_retry",
                                        vs.delay_before_retry if vs.delay_before_retry
                                        is not None else dflt_dbr),
            "delay_loop": delay_loop,
            "warmup": r.get("_warmup", vs.warmup),
            "alpha": r.get("alpha", vs.alpha),
            "log_all_failures": bool(self.st.global_kw.get("checker_log_all_failures", False)),
        }
        if not own:
            self._defaults_memo[kind] = (vs, d)
            return dict(d)
        return d

    def checker(self, n: Node, r: dict[str, Any], vs: VirtualServer) -> Checker | None:
        kind = n.kw
        body = self.need_block(n) if n.children is not None else []
        # inheritance: checker value, else real_server, else virtual_server, else default
        common = self.checker_defaults(kind, r, vs)
        common["connect_ip"] = r["ip"]
        common["connect_port"] = r.get("port", 0)
        common["line"] = n.line
        spec: dict[str, Any] = {}
        urls: list[UrlSpec] = []
        conn_ok = kind not in ("MISC_CHECK", "FILE_CHECK", "BFD_CHECK")
        timing_ok = kind not in ("FILE_CHECK", "BFD_CHECK")
        rep = self.rep
        for c in body or []:
            self.node = c
            kw = c.kw
            ca = c.args
            num = _CHECKER_NUMBERS.get(kw)
            if num is not None and c.children is None and (conn_ok if num[0] else timing_ok):
                # the usual lines (connect_port, connect_timeout, retry, ...): what the
                # branches below do for them, looked up once
                if not ca:
                    rep(f"{kw} requires a value")
                    continue
                v: float | None = (parse_float(ca[0], num[2], num[3], rep) if num[1] else
                                   parse_int(ca[0], int(num[2]), int(num[3]), rep))
                if v is not None:
                    common[kw] = v
                continue
            if kw == "url" and kind in ("HTTP_GET", "SSL_GET"):
                u = self.url_block(c)
                if u is not None:
                    urls.append(u)
                continue
            if kw == "host" and kind == "SMTP_CHECK":
                # legacy sub-block: its connect_ip/port apply to this checker
                for h in flatten(c.children or [], self):
                    if h.kw == "connect_ip" and h.args:
                        common["connect_ip"] = h.args[0]
                    elif h.kw == "connect_port" and h.args:
                        common["connect_port"] = parse_int(h.args[0], 0, 65535, self.rep) or 0
                continue
            if c.children is not None:
                self.no_block(c)
            if conn_ok and kw == "connect_ip":
                if ca and ip_family(ca[0]) is not None:
                    common["connect_ip"] = ca[0]
                else:
                    self.rep(f"Invalid connect_ip '{ca[0] if ca else ''}'")
            elif conn_ok and kw == "connect_port":
                v = self.int_arg(c, 0, 65535)
                if v is not None:
                    common["connect_port"] = v
            elif conn_ok and kw == "bindto":
                if ca and ip_family(ca[0]) is not None:
                    common["bindto"] = ca[0]
                else:
                    self.rep(f"Invalid bindto address '{ca[0] if ca else ''}'")
            elif conn_ok and kw == "bind_port":
                v = self.int_arg(c, 0, 65535)
                if v is not None:
                    common["bind_port"] = v
            elif conn_ok and kw == "bind_if":
                if ca:
                    common["bind_if"] = ca[0]
            elif conn_ok and kw == "fwmark":
                v = self.int_arg(c, 0, 4294967295)
                if v is not None:
                    common["fwmark"] = v
            elif conn_ok and kw == "connect_timeout":
                f = self.timer_arg(c)
                if f is not None:
                    common["connect_timeout"] = f
            elif timing_ok and kw in ("retry", "nb_get_retry"):
                if kw == "nb_get_retry":
                    self.rep("nb_get_retry is deprecated - please use 'retry'",
                             Severity.WARNING)
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    common["retry"] = v
            elif timing_ok and kw in ("delay_before_retry", "delay_loop", "warmup"):
                f = self.timer_arg(c, 0.0 if kw == "warmup" else 0.000001)
                if f is not None:
                    common[kw] = f
            elif timing_ok and kw in ("alpha", "log_all_failures"):
                b = self.bool_arg(c)
                if b is not None:
                    common[kw] = b
            elif kind in ("HTTP_GET", "SSL_GET") and kw == "http_protocol":
                if ca and ca[0] in ("1.0", "1.0C", "1.0c", "1.1"):
                    spec[kw] = ca[0].upper()
                else:
                    self.rep(f"Invalid http_protocol version {ca[0] if ca else ''}")
            elif kind in ("HTTP_GET", "SSL_GET") and kw in ("virtualhost", "sni_name"):
                if ca:
                    spec[kw] = ca[0]
            elif kind in ("HTTP_GET", "SSL_GET") and kw in ("fast_recovery", "enable_sni",
                                                              "tls_compliant"):
                spec[kw] = bool(self.bool_arg(c))
            elif kind == "MISC_CHECK" and kw == "misc_path":
                s = self.script_arg(c)
                if s is not None:
                    spec["script"] = replace(s, user=spec.get("_user"), group=spec.get("_group"))
            elif kind == "MISC_CHECK" and kw == "misc_timeout":
                f = self.timer_arg(c)
                if f is not None:
                    spec["misc_timeout"] = f
            elif kind == "MISC_CHECK" and kw == "misc_dynamic":
                spec["misc_dynamic"] = True
            elif kind == "MISC_CHECK" and kw == "user":
                ud: dict[str, Any] = {}
                self.set_user(c, ud)
                spec["_user"], spec["_group"] = ud.get("user"), ud.get("group")
            elif kind == "SMTP_CHECK" and kw == "helo_name":
                if ca:
                    spec["helo_name"] = ca[0]
            elif kind == "DNS_CHECK" and kw == "type":
                t = (ca[0] if ca else "").upper()
                if t in ("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"):
                    spec["type"] = t
                else:
                    self.rep(f"Unknown DNS check type '{ca[0] if ca else ''}'")
            elif kind == "DNS_CHECK" and kw == "name":
                if ca:
                    spec["name"] = ca[0]
            elif kind == "UDP_CHECK" and kw == "payload":
                try:
                    spec["payload"] = bytes.fromhex("".join(ca))
                except ValueError:
                    self.rep("Invalid UDP_CHECK payload")
            elif kind == "UDP_CHECK" and kw == "require_reply":
                spec["require_reply"] = "".join(ca)
            elif kind == "UDP_CHECK" and kw in ("min_reply_length", "max_reply_length"):
                v = self.int_arg(c, 0, 65535)
                if v is not None:
                    spec[kw] = v
            elif kind == "FILE_CHECK" and kw == "track_file":
                if ca and ca[0] in self.st.track_file_names:
                    spec["track_file"] = ca[0]
                elif ca:
                    self.rep(f"track_file {ca[0]} not found")
            elif kind == "FILE_CHECK" and kw == "weight":
                v = self.int_arg(c, -2147483647, 2147483647)
                if v is not None:
                    spec["weight"] = v
                    spec["weight_reverse"] = len(ca) > 1 and ca[1] == "reverse"
            elif kind == "BFD_CHECK" and kw == "name":
                if ca and ca[0] in self.st.bfd_names:
                    spec["name"] = ca[0]
                elif ca:
                    self.rep(f"([{r['ip']}]:{vs.protocol.lower()}:{r.get('port', 0)}) "
                             f"BFD_CHECK - BFD {ca[0]} not configured")
                    return None
            elif kind == "BFD_CHECK" and kw == "alpha":
                common["alpha"] = bool(self.bool_arg(c))
            else:
                self.unknown(c)
        if spec:
            spec.pop("_user", None)
            spec.pop("_group", None)
        cls: Any = _CHECKERS[kind]
        if kind in ("HTTP_GET", "SSL_GET"):
            # virtualhost inherits checker <- real_server <- virtual_server
            if spec.get("virtualhost") is None:
                spec["virtualhost"] = r.get("virtualhost") or vs.virtualhost
            spec["urls"] = tuple(urls)
            if not urls:
                self.at(n, "HTTP/SSL_GET checker has no urls specified - ignoring")
        if kind == "MISC_CHECK" and "script" not in spec:
            self.at(n, "MISC_CHECK has no misc_path specified - ignoring")
            return None
        if kind == "UDP_CHECK":
            lo, hi = spec.get("min_reply_length", 0), spec.get("max_reply_length", 255)
            if lo > hi:
                # keepalived keeps the checker and says why it can never succeed
                self.at(n, f"UDP_CHECK min_reply length {lo} > max_reply_length {hi} - will "
                        "always fail")
        if kind == "FILE_CHECK" and not spec.get("track_file"):
            self.at(n, "FILE_CHECK has no track_file specified - ignoring")
            return None
        try:
            if spec:
                common.update(spec)
            return _build(cls, common)  # type: ignore[no-any-return]
        except TypeError as e:
            self.at(n, f"Invalid {kind} configuration: {e}")
            return None

    def url_block(self, n: Node) -> UrlSpec | None:
        body = self.need_block(n)
        if body is None:
            return None
        vals: dict[str, Any] = {}
        for c in body:
            self.node = c
            self.no_block(c)
            kw = c.kw
            ca = c.args
            if kw == "path" and ca:
                vals["path"] = ca[0]
            elif kw == "digest" and ca:
                d = ca[0].lower()
                if len(d) != 32 or any(ch not in "0123456789abcdef" for ch in d):
                    self.rep(f"digest '{ca[0]}' character length should be 32 rather than "
                             f"{len(d)}")
                else:
                    vals["digest"] = d
            elif kw == "status_code":
                ranges: list[tuple[int, int]] = []
                for tok in ca:
                    lo_s, _, hi_s = tok.partition("-")
                    lo = parse_int(lo_s, 100, 599, self.rep)
                    hi = parse_int(hi_s, 100, 599, self.rep) if hi_s else lo
                    if lo is not None and hi is not None:
                        ranges.append((lo, hi))
                if ranges:
                    vals["status_codes"] = tuple(ranges)
            elif kw == "virtualhost" and ca:
                vals["virtualhost"] = ca[0]
            elif kw == "regex" and ca:
                vals["regex"] = ca[0]
            elif kw == "regex_no_match":
                vals["regex_no_match"] = True
            elif kw == "regex_options":
                vals["regex_options"] = tuple(ca)
            elif kw in ("regex_min_offset", "regex_max_offset"):
                v = self.int_arg(c, 0, 2147483647)
                if v is not None:
                    vals[kw] = v
            elif kw == "regex_stack":
                pass
            elif kw == "tls_compliant":
                vals["tls_compliant"] = True
            else:
                self.unknown(c)
        if "path" not in vals:
            self.at(n, "url has no path - ignoring")
            return None
        return UrlSpec(**vals)


def _is_mac(s: str) -> bool:
    parts = s.split(":")
    return len(parts) == 6 and all(len(p) in (1, 2) and all(
        ch in "0123456789abcdefABCDEF" for ch in p) for p in parts)


_T = TypeVar("_T")


_FieldInfo = tuple[frozenset[str], frozenset[str], dict[str, Any] | None]
_FIELD_INFO: dict[type[Any], _FieldInfo] = {}


def _field_defaults(cls: type[Any]) -> _FieldInfo:
    info = _FIELD_INFO.get(cls)
    if info is None:
        info = _FIELD_INFO[cls] = _field_info(cls)
    return info


def _field_info(cls: type[Any]) -> _FieldInfo:
    """A frozen dataclass's field names, required names and, when no field has a
    default_factory and there is no __post_init__, the defaults (else None: use __init__)."""
    names = frozenset(f.name for f in fields(cls))
    required = frozenset(f.name for f in fields(cls)
                         if f.default is MISSING and f.default_factory is MISSING)
    if hasattr(cls, "__post_init__"):
        return names, required, None
    defaults: dict[str, Any] = {}
    for f in fields(cls):
        if f.default_factory is not MISSING:
            return names, required, None
        if f.default is not MISSING:
            defaults[f.name] = f.default
    return names, required, defaults


def _build(cls: type[_T], vals: dict[str, Any]) -> _T:
    """``cls(**vals)`` for the frozen dataclasses made once per real server / checker: a
    frozen __init__ sets each field through object.__setattr__, a real cost in big configs.
    Anything unusual (an unknown or missing name) goes through the real __init__."""
    names, required, defaults = _field_defaults(cls)
    if defaults is None or not names.issuperset(vals) or not vals.keys() >= required:
        return cls(**vals)
    obj = object.__new__(cls)
    d = obj.__dict__
    d.update(defaults)
    d.update(vals)
    return obj


# checker lines holding one number, stored under their own name: keyword -> (a connection
# keyword (else a timing one), a timer (else an integer), lowest, highest)
_CHECKER_NUMBERS: dict[str, tuple[bool, bool, float, float]] = {
    "connect_port": (True, False, 0, 65535),
    "bind_port": (True, False, 0, 65535),
    "fwmark": (True, False, 0, 4294967295),
    "connect_timeout": (True, True, 0.000001, 4294.967295),
    "retry": (False, False, 0, 2147483647),
    "delay_before_retry": (False, True, 0.000001, 4294.967295),
    "delay_loop": (False, True, 0.000001, 4294.967295),
    "warmup": (False, True, 0.0, 4294.967295),
}
# vrrp_instance keyword -> the global_defs field it defaults to
_INHERITED = {
    "skip_check_adv_addr": "vrrp_skip_check_adv_addr",
    "v3_checksum_as_v2": "v3_checksum_as_v2",
    "check_unicast_src": "vrrp_check_unicast_src",
    "lower_prio_no_advert": "vrrp_lower_prio_no_advert",
    "higher_prio_send_advert": "vrrp_higher_prio_send_advert",
    "owner_ignore_adverts": "vrrp_owner_ignore_adverts",
    "down_timer_adverts": "vrrp_down_timer_adverts",
    "garp_master_delay": "vrrp_garp_master_delay",
    "garp_master_repeat": "vrrp_garp_master_repeat",
    "garp_master_refresh": "vrrp_garp_master_refresh",
    "garp_master_refresh_repeat": "vrrp_garp_master_refresh_repeat",
    "garp_interval": "vrrp_garp_interval",
    "gna_interval": "vrrp_gna_interval",
    "garp_extra_if": "vrrp_garp_extra_if",
    "garp_extra_if_all": "vrrp_garp_extra_if_all",
    "notify_priority_changes": "vrrp_notify_priority_changes",
}
# what a real server may set for its checkers to inherit
_RS_TIMING = frozenset(("_delay_loop", "_connect_timeout", "_retry", "_delay_before_retry",
                        "_warmup", "alpha"))
_DEFAULT_RETRY = {"DNS_CHECK": 3, "MISC_CHECK": 0}
_DEFAULT_DBR = {"HTTP_GET": 3.0, "SSL_GET": 3.0}
_RS_FIELDS = frozenset(f.name for f in fields(RealServer))
_SCHEDULERS = {"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed",
               "nq", "twos"}

_CHECKERS: dict[str, type] = {
    "TCP_CHECK": TcpCheck, "HTTP_GET": HttpGet, "SSL_GET": SslGet, "MISC_CHECK": MiscCheck,
    "SMTP_CHECK": SmtpCheck, "DNS_CHECK": DnsCheck, "UDP_CHECK": UdpCheck,
    "PING_CHECK": PingCheck, "ICMP_CHECK": PingCheck, "FILE_CHECK": FileCheck,
    "BFD_CHECK": BfdCheck,
}

_TRACK_KW: dict[str, tuple[str, str, int, int]] = {
    "track_interface": ("track_interfaces", "track_interface", -253, 253),
    "track_script": ("track_scripts", "track_script", -253, 253),
    "track_file": ("track_files", "track_file", -254, 254),
    "track_process": ("track_processes", "track_process", -254, 254),
    "track_bfd": ("track_bfds", "track_bfd", -253, 253),
}

_NOTIFY_KW = {"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted",
              "notify", "notify_master_rx_lower_pri"}

_INSTANCE_BOOL = {
    "dont_track_primary": "dont_track_primary", "strict_mode": "strict",
    "skip_check_adv_addr": "skip_check_adv_addr", "v3_checksum_as_v2": "v3_checksum_as_v2",
    "lower_prio_no_advert": "lower_prio_no_advert",
    "higher_prio_send_advert": "higher_prio_send_advert",
    "owner_ignore_adverts": "owner_ignore_adverts", "check_unicast_src": "check_unicast_src",
    "unicast_fault_no_peer": "unicast_fault_no_peer", "track_src_ip": "track_src_ip",
    "use_vmac_addr": "use_vmac_addr", "vmac_xmit_base": "vmac_xmit_base",
    "no_virtual_ipaddress": "no_virtual_ipaddress", "notify_priority_changes":
    "notify_priority_changes", "smtp_alert": "smtp_alert",
    "promote_secondaries": "promote_secondaries",
}
_INSTANCE_FLAG_DEPRECATED = {"native_ipv6", "linkbeat_use_polling"}
# (garp_interval / gna_interval are global_defs or garp_group keywords, not instance ones)
_INSTANCE_GARP_TIMER = {"garp_master_delay", "garp_master_refresh", "garp_lower_prio_delay"}
_INSTANCE_GARP_INT = {"garp_master_repeat", "garp_master_refresh_repeat",
                      "garp_lower_prio_repeat"}

_GLOBAL_BOOL = {k: k for k in (
    "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "no_email_faults",
    "no_checker_emails", "checker_log_all_failures", "enable_script_security",
    "set_supplementary_groups", "use_symlink_paths", "vrrp_strict", "vrrp_skip_check_adv_addr",
    "vrrp_check_unicast_src", "v3_checksum_as_v2", "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert", "vrrp_owner_ignore_adverts", "log_unknown_vrids",
    "disable_local_igmp", "nftables_ifindex", "nftables_counters", "lvs_flush",
    "vrrp_notify_priority_changes", "fifo_write_vrrp_states_on_reload", "rs_init_notifies",
    "vrrp_no_swap", "checker_no_swap", "bfd_no_swap", "enable_snmp_vrrp",
    "enable_snmp_checker", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3",
    "enable_traps", "enable_dbus", "process_names", "data_use_instance", "reload_repeat")}
_GLOBAL_BOOL["enable_snmp_keepalived"] = "enable_snmp_vrrp"

# keyword -> (GlobalDefs field or "" to only validate, lo, hi)
_GLOBAL_INT: dict[str, tuple[str, int, int]] = {
    "vrrp_down_timer_adverts": ("vrrp_down_timer_adverts", 1, 100),
    "vrrp_garp_master_refresh_repeat": ("vrrp_garp_master_refresh_repeat", 1, 2147483647),
    "vrrp_garp_lower_prio_repeat": ("vrrp_garp_lower_prio_repeat", 0, 2147483647),
    "nftables_priority": ("nftables_priority", -2147483647, 2147483647),
    "nftables_ipvs_priority": ("nftables_ipvs_priority", -2147483647, 2147483647),
    "nftables_ipvs_start_fwmark": ("nftables_ipvs_start_fwmark", 1, 2147483647),
    "vrrp_priority": ("vrrp_priority", -20, 19),
    "checker_priority": ("checker_priority", -20, 19),
    "bfd_priority": ("bfd_priority", -20, 19),
    "vrrp_rt_priority": ("vrrp_rt_priority", 1, 99),
    "checker_rt_priority": ("checker_rt_priority", 1, 99),
    "bfd_rt_priority": ("bfd_rt_priority", 1, 99),
    "vrrp_rlimit_rttime": ("", 1, 2147483647),
    "checker_rlimit_rttime": ("", 1, 2147483647),
    "bfd_rlimit_rttime": ("", 1, 2147483647),
    "random_seed": ("random_seed", 0, 4294967295),
    "vrrp_rx_bufs_multiplier": ("", 1, 2147483647),
    "snmp_vs_stats_update_interval": ("", 0, 2147483647),
    "snmp_rs_stats_update_interval": ("", 0, 2147483647),
    "vrrp_netlink_cmd_rcv_bufs": ("", 0, 2147483647),
    "vrrp_netlink_monitor_rcv_bufs": ("", 0, 2147483647),
    "lvs_netlink_cmd_rcv_bufs": ("", 0, 2147483647),
    "lvs_netlink_monitor_rcv_bufs": ("", 0, 2147483647),
    "process_monitor_rcv_bufs": ("", 0, 2147483647),
}
_GLOBAL_TIMER: dict[str, tuple[str, float, float]] = {
    "smtp_connect_timeout": ("smtp_connect_timeout", 0.000001, 4294.967295),
    "startup_script_timeout": ("startup_script_timeout", 1.0, 1000.0),
    "shutdown_script_timeout": ("shutdown_script_timeout", 1.0, 1000.0),
    "vrrp_startup_delay": ("vrrp_startup_delay", 0.0, 4294.967295),
    "vrrp_delay_after_boot": ("vrrp_delay_after_boot", 0.0, 4294.967295),
    "vrrp_garp_master_delay": ("vrrp_garp_master_delay", 0.0, 4294.967295),
    "vrrp_garp_master_refresh": ("vrrp_garp_master_refresh", 0.0, 4294.967295),
    "vrrp_garp_lower_prio_delay": ("vrrp_garp_lower_prio_delay", 0.0, 4294.967295),
    "vrrp_garp_interval": ("vrrp_garp_interval", 0.0, 4294.967295),
    "vrrp_gna_interval": ("vrrp_gna_interval", 0.0, 4294.967295),
    "min_auto_priority_delay": ("min_auto_priority_delay", 0.000001, 4294.967295),
}
_GLOBAL_STR: dict[str, str] = {
    "router_id": "router_id", "notification_email_from": "notification_email_from",
    "smtp_helo_name": "smtp_helo_name", "vmac_prefix": "vmac_prefix",
    "vmac_addr_prefix": "vmac_addr_prefix", "default_interface": "default_interface",
    "snmp_socket": "snmp_socket", "dbus_service_name": "dbus_service_name",
    "process_name": "process_name", "vrrp_process_name": "vrrp_process_name",
    "checker_process_name": "checker_process_name", "bfd_process_name": "bfd_process_name",
    "tmp_config_directory": "tmp_config_directory", "config_save_dir": "config_save_dir",
    "state_dump_file": "state_dump_file", "stats_dump_file": "stats_dump_file",
    "json_dump_file": "json_dump_file", "reload_time_file": "reload_time_file",
    "iproute_usr_dir": "", "iproute_etc_dir": "", "vrrp_rx_bufs_policy": "",
    "dbus_no_interface_name": "",
}
_GLOBAL_IGNORED = {"vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs_force",
                   "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs_force",
                   "process_monitor_rcv_bufs_force", "include_check"}
_GLOBAL_DEPRECATED = {"lvs_process_name": "checker_process_name",
                      "vrrp_rlimit_rtime": "vrrp_rlimit_rttime",
                      "checker_rlimit_rtime": "checker_rlimit_rttime",
                      "bfd_rlimit_rtime": "bfd_rlimit_rttime",
                      "state_file_location": "state_dump_file",
                      "stats_file_location": "stats_dump_file",
                      "json_file_location": "json_dump_file"}


# ============================================================================ finishing


_MISSING_IF = re.compile(r"^WARNING - interface \S+ for |\) tracked interface \S+ doesn't exist$")


def _gd_field_names() -> set[str]:
    return {f.name for f in fields(GlobalDefs)}


def finish(st: ParseState, config_id: str, hostname: str) -> KeepalivedConfig:
    """Cross-block rules: global defaults into instances, sync groups, script security."""
    p = Parser(st)
    names = _gd_field_names()
    gk = {k: v for k, v in st.global_kw.items() if k in names}
    gk.setdefault("router_id", hostname)
    gk["other"] = tuple(st.global_other)
    g = GlobalDefs(**gk)
    instances = [sbconf.finish_instance(p, _finish_instance(p, acc, g), acc)
                 for acc in st.instances]
    sbconf.finish(p, instances, st.top.get("lease_arbiter"))
    by_name = {i.name: i for i in instances}
    groups: list[SyncGroup] = []
    for sg in st.sync_groups:
        members = []
        for m in sg.members:
            if m not in by_name:
                p.late(f"Virtual router {m} specified in sync group {sg.name} doesn't exist - "
                       "ignoring")
                continue
            if by_name[m].sync_group is not None:
                p.late(f"Virtual router {m} cannot exist in more than one sync group; "
                       f"ignoring {sg.name}")
                continue
            members.append(m)
            by_name[m] = replace(by_name[m], sync_group=sg.name)
        if len(members) == 1:
            p.late(f"Sync group {sg.name} has only 1 virtual router(s) - this probably isn't "
                   "what you want")
        if not members:
            p.late(f"Sync group {sg.name} has no virtual router(s) - removing")
            continue
        for m in members:
            inst = by_name[m]
            own = {inst.interface} | {t.name for t in inst.track_interfaces}
            for t in sg.track_interfaces:
                if t.name in own:
                    p.late(f"({m}) track_interface {t.name} is configured on VRRP instance and "
                           "sync group. Remove vrrp instance or sync group config")
        smtp = sg.smtp_alert if sg.name in st.sync_group_smtp_set else bool(
            g.smtp_alert_vrrp if g.smtp_alert_vrrp is not None else g.smtp_alert)
        groups.append(replace(sg, members=tuple(members), smtp_alert=smtp))
    instances = [by_name[i.name] for i in instances]
    # a garp_group sets the GARP/NA spacing of the interfaces it names
    per_if = {i: gg for gg in st.garp_groups for i in gg.interfaces}
    instances = [replace(i, garp_interval=per_if[i.interface].garp_interval,
                         gna_interval=per_if[i.interface].gna_interval)
                 if i.interface in per_if else i for i in instances]
    instances = _weights_ignored(p, st, instances, {sg.name: sg for sg in groups})
    instances, kept_scripts = _check_tracking(p, st, instances)
    _check_vrids(p, instances)
    if any(m.text.endswith(" doesn't exist") and _MISSING_IF.search(m.text)
           for m in p.messages):
        # keepalived's summary line after the per-interface warnings
        p.late("Non-existent interface specified in configuration")
    return KeepalivedConfig(
        global_defs=g, vrrp_instances=tuple(instances), sync_groups=tuple(groups),
        vrrp_scripts=tuple(kept_scripts), track_files=tuple(st.track_files),
        track_processes=tuple(st.track_processes), track_groups=tuple(st.track_groups),
        static_addresses=tuple(st.static_addresses), static_routes=tuple(st.static_routes),
        static_rules=tuple(st.static_rules), garp_groups=tuple(st.garp_groups),
        linkbeat_interfaces=tuple(st.linkbeat), interface_up_down_delays=tuple(st.updown),
        bfd_instances=tuple(st.bfds), virtual_server_groups=tuple(st.vsgs),
        virtual_servers=tuple(st.vss), ssl=st.ssl,
        net_namespace=st.top.get("net_namespace"),
        net_namespace_ipvs=st.top.get("net_namespace_ipvs"),
        instance_name=st.top.get("instance_name"),
        use_pid_dir=bool(st.top.get("use_pid_dir")),
        child_wait_time=st.top.get("child_wait_time", 5.0),
        linkbeat_use_polling=bool(st.top.get("linkbeat_use_polling")),
        lease_arbiter=st.top.get("lease_arbiter"))


def _finish_instance(p: Parser, acc: dict[str, Any], g: GlobalDefs) -> VrrpInstance:
    name = acc["name"]
    nodes: dict[str, Node] = acc["_nodes"]
    node0 = Node(acc["file"], acc["line"], ("vrrp_instance", name))

    def warn(text: str, kw: str | None = None, sev: Severity = Severity.WARNING) -> None:
        n = nodes.get(kw) if kw else None
        p.at(n or node0, text, sev) if n is not None else p.late(text, sev)

    vips: list[Any] = list(acc.get("virtual_ipaddresses", []))
    evips: list[Any] = list(acc.get("virtual_ipaddresses_excluded", []))
    fam = vips[0].family if vips else (evips[0].family if evips else 4)
    same = [v for v in vips if v.family == fam]
    if len(same) != len(vips):
        warn(f"({name}) address family mismatch in virtual_ipaddress - moving other family "
             "addresses to excluded", "virtual_ipaddress")
        evips.extend(v for v in vips if v.family != fam)
        vips = same
    strict = acc.get("strict", g.vrrp_strict)
    version = acc.get("version", g.vrrp_version if fam == 4 else 3)
    if fam == 6 and acc.get("version") == 2 and vips:
        warn(f"({name}) vrrp_version 2 conflicts with configured or deduced version 3; "
             "ignoring.", "version", Severity.ERROR)
    if fam == 6:
        version = 3
    raw = acc.get("advert_int_raw", 1.0)
    if version == 2:
        adv = float(round(raw)) if raw >= 1 else 1.0
        if adv != raw:
            warn(f"({name}) Version 2 advertisement interval {raw:g}s must be an integer - "
                 f"rounding to {adv:g}s", "advert_int")
    else:
        cs = round(raw * 100)
        if abs(cs - raw * 100) > 1e-6:
            warn(f"({name}) VRRPv3 advertisement interval {raw:.6f}s must be in units of 10ms "
                 "- rounding")
        if cs > 4095:
            warn(f"({name}) VRRPv3 advertisement interval {raw:.2f}s is out of range. Must be "
                 "less than 40.96s. Setting to 40.95s")
            cs = 4095
        adv = max(cs, 1) / 100.0
    state = acc.get("state", VrrpState.BACKUP)
    # keepalived: with no priority configured, state MASTER means the address owner
    priority = acc.get("priority", 255 if state == VrrpState.MASTER else 100)
    auth_type = acc.get("auth_type")
    auth_pass = acc.get("auth_pass", b"")
    if auth_type and version == 3:
        warn(f"({name}) VRRP version 3 does not support authentication. Ignoring.")
        auth_type, auth_pass = None, b""
    if auth_type and strict:
        warn(f"({name}) Strict mode does not support authentication. Ignoring.")
        auth_type, auth_pass = None, b""
    if auth_type == "AH" and state == VrrpState.MASTER:
        warn(f"({name}) Initial state master is incompatible with AH authentication - clearing")
        state = VrrpState.BACKUP
    if auth_type and not auth_pass:
        warn(f"({name}) authentication with no password - clearing")
        auth_type = None
    if auth_type:
        auth_pass = auth_pass.ljust(8, b"\0")[:8]
    nopreempt = acc.get("nopreempt", False)
    if nopreempt and priority == 255:
        warn(f"({name}) nopreempt is incompatible with priority 255. resetting nopreempt")
        nopreempt = False
    if nopreempt and state == VrrpState.MASTER:
        warn(f"({name}) Warning - nopreempt will not work with initial state MASTER - "
             "clearing", "nopreempt")
        nopreempt = False
    preempt_delay = acc.get("preempt_delay", 0.0)
    if preempt_delay and state == VrrpState.MASTER:
        warn(f"({name}) Warning - preempt delay will not work with initial state MASTER - "
             "clearing")
        preempt_delay = 0.0
    if preempt_delay and (nopreempt or strict):
        warn(f"({name}) preempt_delay is incompatible with nopreempt or strict mode - "
             "resetting", "preempt_delay")
        preempt_delay = 0.0
    accept = acc.get("accept", True)
    if strict:
        if acc.get("_accept_set") and accept and priority != 255:
            warn(f"({name}) Strict mode requires no_accept - resetting", "accept")
        accept = priority == 255
    peers = tuple(acc.get("unicast_peers", []))
    if strict and fam == 6 and vips and not vips[0].ip.lower().startswith("fe80:"):
        warn(f"({name}) the first IPv6 VIP address must be link local in strict mode", None,
             Severity.ERROR)
    interface = acc.get("interface")
    vmac = acc.get("use_vmac")
    if acc.get("_unicast_kw") and not peers and not acc.get("unicast_fault_no_peer"):
        warn(f"({name}) A unicast keyword has been specified without any unicast peers. "
             "Defaulting to multicast. This usage is deprecated - please update your "
             "configuration.")
    if "unicast_ttl" in acc and not peers:
        warn(f"({name}): Cannot use unicast_ttl without unicast peers - resetting",
             "unicast_ttl")
    xmit_base = acc.get("vmac_xmit_base", False)
    if peers and vmac is not None and not xmit_base:
        warn(f"({name}) unicast with use_vmac requires vmac_xmit_base - setting", "use_vmac")
        xmit_base = True
    if vmac is not None and vmac.name:
        owner = p.st.vmac_names.get(vmac.name)
        if owner is not None and owner != name:
            warn(f"({name}) VRRP instance {owner} is already using {vmac.name} - ignoring name",
                 "use_vmac")
            vmac = replace(vmac, name=None)
        else:
            p.st.vmac_names[vmac.name] = name
    if xmit_base and vmac is None:
        warn(f"({name}) vmac_xmit_base is only valid with a vmac")
        xmit_base = False
    ipvlan = acc.get("use_ipvlan")
    if ipvlan is not None and fam == 4 and ipvlan.address is None:
        warn(f"({name}) IPv4 ipvlan requires a source ip address to be configured. setting "
             "instance to fault state")
    if vmac is not None and acc.get("promote_secondaries"):
        warn(f"({name}) promote_secondaries is automatically set for vmacs - ignoring")
    if interface is None:
        if vmac is not None or acc.get("use_ipvlan") is not None:
            p.late(f"({name}) Unknown interface!", Severity.ERROR)
        elif "default_interface" in p.st.global_set:
            interface = g.default_interface
        else:
            p.late(f"({name}) Unknown interface!", Severity.ERROR)
    own_tracked = [t for t in acc.get("track_interfaces", ()) if t.name == interface]
    for t in acc.get("track_interfaces", ()):
        if t.name == interface:
            warn(f"({name}) Ignoring track_interface {t.name} since own interface")
        elif not p.st.env.interface_exists(t.name) and not g.dynamic_interfaces:
            warn(f"({name}) tracked interface {t.name} doesn't exist", "track_interface")
    if not vips and not acc.get("no_virtual_ipaddress"):
        warn(f"({name}) No VIP specified; at least one is sensible")
    if "vrid" not in acc:
        p.late(f"({name}) the virtual router id must be set", Severity.ERROR)
    for r in acc.get("virtual_routes", []):
        if r.dev is None and not r.no_track:
            warn(f"Warning - cannot track route {r.dest} with no interface specified, not "
                 "tracking", "virtual_routes")
    keep = {f.name for f in fields(VrrpInstance)}
    vals = {k: v for k, v in acc.items() if k in keep}
    vals.update(
        state=state, interface=interface, priority=priority, advert_int=adv, version=version,
        family=fam, auth_type=auth_type, auth_pass=auth_pass if auth_type else b"",
        virtual_ipaddresses=tuple(vips), virtual_ipaddresses_excluded=tuple(evips),
        virtual_routes=tuple(acc.get("virtual_routes", ())),
        virtual_rules=tuple(acc.get("virtual_rules", ())),
        nopreempt=nopreempt, preempt_delay=preempt_delay, accept=accept, strict=strict,
        unicast_peers=peers, vmac_xmit_base=xmit_base, use_vmac=vmac,
        track_interfaces=tuple(t for t in acc.get("track_interfaces", ())
                               if t not in own_tracked),
        smtp_alert=acc.get("smtp_alert", bool(g.smtp_alert_vrrp if g.smtp_alert_vrrp
                                               is not None else g.smtp_alert)),
    )
    # what an instance does not set itself it takes from global_defs
    vals.update({k: acc[k] if k in acc else getattr(g, gk) for k, gk in _INHERITED.items()})
    # keepalived 2.2.7: unset, they follow the global vrrp_garp_lower_prio_* which default to
    # the *global* garp delay/repeat, not this instance's garp_master_delay/repeat
    gm_delay = g.vrrp_garp_master_delay
    gm_repeat = g.vrrp_garp_master_repeat
    vals["garp_lower_prio_delay"] = acc.get(
        "garp_lower_prio_delay", g.vrrp_garp_lower_prio_delay if g.vrrp_garp_lower_prio_delay
        is not None else gm_delay)
    vals["garp_lower_prio_repeat"] = acc.get(
        "garp_lower_prio_repeat", g.vrrp_garp_lower_prio_repeat if g.vrrp_garp_lower_prio_repeat
        is not None else gm_repeat)
    vals["name"] = name
    vals["file"] = acc["file"]
    vals["line"] = acc["line"]
    return VrrpInstance(**vals)


def _weights_ignored(p: Parser, st: ParseState, instances: list[VrrpInstance],
                     groups: dict[str, SyncGroup]) -> list[VrrpInstance]:
    """keepalived ignores script weights for an address owner, and inside a sync group unless
    ``sync_group_tracking_weight``: the weight is reported and set to 0 here."""
    scripts = {s.name: s for s in st.scripts}
    out: list[VrrpInstance] = []
    for inst in instances:
        sg = groups.get(inst.sync_group) if inst.sync_group else None
        why = ("address_owner" if inst.priority == 255 else
               "SYNC group" if sg is not None and not sg.sync_group_tracking_weight else None)
        if why is None:
            out.append(inst)
            continue
        refs: list[TrackRef] = []
        for t in inst.track_scripts:
            sc = scripts.get(t.name)
            w = t.weight if t.weight is not None else (sc.weight if sc else 0)
            if w:
                p.late(f"({inst.name}) ignoring tracked script {t.name} with weights due to "
                       f"{why}")
                t = replace(t, weight=0)
            refs.append(t)
        out.append(replace(inst, track_scripts=tuple(refs)))
    return out


def _check_tracking(p: Parser, st: ParseState, instances: list[VrrpInstance]
                    ) -> tuple[list[VrrpInstance], list[VrrpScript]]:
    """Scripts that cannot be found are disabled (removed, with the references to them), and
    references to undefined trackers are dropped, so consumers never meet a dangling name."""
    if not instances:
        return instances, st.scripts  # no VRRP process: keepalived does not look at them
    missing = {s.name for s in st.scripts if p.st.env.find_script(s.argv[0]) is None}
    for s in st.scripts:
        if s.name in missing:
            p.late(f"Disabling track script {s.name} since not found/accessible")
    scripts = {s.name for s in st.scripts}
    files = {f.name for f in st.track_files}
    procs = {f.name for f in st.track_processes}
    bfds = {f.name for f in st.bfds}
    out: list[VrrpInstance] = []
    for inst in instances:
        def keep(refs: tuple[TrackRef, ...], known: set[str], label: str,
                 inst: VrrpInstance = inst) -> tuple[TrackRef, ...]:
            kept = []
            for t in refs:
                if t.name not in known:
                    p.late(f"({inst.name}) {label} {t.name} not found, ignoring...")
                else:
                    kept.append(t)
            return tuple(kept)

        ts = keep(inst.track_scripts, scripts, "track script")
        out.append(replace(
            inst, track_scripts=tuple(t for t in ts if t.name not in missing),
            track_files=keep(inst.track_files, files, "track_file"),
            track_processes=keep(inst.track_processes, procs, "track_process"),
            track_bfds=keep(inst.track_bfds, bfds, "track_bfd")))
    return out, [s for s in st.scripts if s.name not in missing]


def _check_vrids(p: Parser, instances: list[VrrpInstance]) -> None:
    seen: dict[tuple[str | None, int, int], str] = {}
    for i in instances:
        if not i.vrid or i.unicast:
            continue
        key = (i.interface, i.family, i.vrid)
        if key in seen:
            p.late(f"VRID {i.vrid} is duplicated on interface {i.interface} "
                   f"({seen[key]} and {i.name})", Severity.ERROR)
        else:
            seen[key] = i.name
