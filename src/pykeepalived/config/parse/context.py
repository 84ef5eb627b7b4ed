"""The parse state and the context every keyword handler gets: reporting against the current
line, the common value readers, and what the blocks parsed so far have defined."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pykeepalived.config.environment import Environment
from pykeepalived.config.messages import MessageLog
from pykeepalived.config.model import (
    AddressSpec,
    BfdInstance,
    ConfigMessage,
    GarpGroup,
    InterfaceUpDownDelay,
    LinkbeatInterface,
    NotifyScript,
    PackedV4,
    RouteSpec,
    RuleSpec,
    Severity,
    SslConfig,
    SyncGroup,
    TrackFile,
    TrackGroup,
    TrackProcess,
    VirtualServer,
    VirtualServerGroup,
    VrrpScript,
)
from pykeepalived.config.parse.builders import GlobalBuilder, InstanceBuilder, TopBuilder
from pykeepalived.config.parse.tree import Node, flatten
from pykeepalived.config.values import (
    Reporter,
    parse_bool,
    parse_float,
    parse_int,
    parse_script,
    parse_timer,
)


class Forward(BaseException):
    """A name defined anywhere in the file was asked for before the file was read to the
    end (``Names``): the top level reads that block again once it has been. A
    BaseException, so that no handler's ``except Exception`` takes it for a bug."""


class Names(set[str]):
    """Names defined anywhere in the file (references may come before the definition). While
    the file is still being read (``complete`` False) a name not seen yet may still come:
    asking for it raises ``Forward``. Ask with ``in`` only."""

    complete = False

    def __contains__(self, name: object) -> bool:
        if set.__contains__(self, name):
            return True
        if not self.complete:
            raise Forward
        return False

_RR = TypeVar("_RR", RouteSpec, RuleSpec)


@dataclass
class ParseState:
    """Everything the blocks produce, in file order; ``finish`` turns it into the model."""

    messages: list[ConfigMessage]
    env: Environment
    config_id: str
    top: TopBuilder = field(default_factory=TopBuilder)
    glob: GlobalBuilder = field(default_factory=GlobalBuilder)
    instances: list[InstanceBuilder] = field(default_factory=list)
    sync_groups: list[SyncGroup] = field(default_factory=list)
    # sync groups that set smtp_alert themselves (the others take the global default)
    sync_group_smtp_set: set[str] = field(default_factory=set)
    # sync groups that set notify_priority_changes (the default of their members)
    sync_group_npc_set: set[str] = field(default_factory=set)
    scripts: list[VrrpScript] = field(default_factory=list)
    track_files: list[TrackFile] = field(default_factory=list)
    track_processes: list[TrackProcess] = field(default_factory=list)
    track_groups: list[TrackGroup] = field(default_factory=list)
    static_addresses: list[AddressSpec | PackedV4] = field(default_factory=list)
    static_routes: list[RouteSpec] = field(default_factory=list)
    static_rules: list[RuleSpec] = field(default_factory=list)
    garp_groups: list[GarpGroup] = field(default_factory=list)
    linkbeat: list[LinkbeatInterface] = field(default_factory=list)
    updown: list[InterfaceUpDownDelay] = field(default_factory=list)
    bfds: list[BfdInstance] = field(default_factory=list)
    vsgs: list[VirtualServerGroup] = field(default_factory=list)
    vss: list[VirtualServer] = field(default_factory=list)
    ssl: SslConfig | None = None
    # names defined anywhere in the file (references may come before the definition)
    vsg_names: set[str] = field(default_factory=set)
    track_file_names: set[str] = field(default_factory=set)
    bfd_names: set[str] = field(default_factory=set)
    script_names: set[str] = field(default_factory=set)
    # VMAC interface name -> the instance that took it
    vmac_names: dict[str, str] = field(default_factory=dict)

    def snapshot(self) -> list[tuple[Any, str, Any]]:
        """What ``restore`` needs to undo a block read since: the length of every list, a
        copy of every set and dict, the value of everything else, one level into the
        builders (``Names`` only grow, from the top level, and are left alone)."""
        out: list[tuple[Any, str, Any]] = []
        builders = (self.top, self.glob)
        for obj in (self, *builders):
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                if isinstance(v, MessageLog):
                    out.append((obj, f.name, v.mark()))
                elif isinstance(v, list):
                    out.append((obj, f.name, len(v)))
                elif isinstance(v, Names) or any(v is b for b in builders):
                    continue
                elif isinstance(v, (set, dict)):
                    out.append((obj, f.name, v.copy()))
                else:
                    out.append((obj, f.name, v))
        return out

    def restore(self, snap: list[tuple[Any, str, Any]]) -> None:
        for obj, name, was in snap:
            v = getattr(obj, name)
            if isinstance(v, MessageLog):
                v.rollback(was)
            elif isinstance(v, list):
                del v[was:]
            elif isinstance(v, (set, dict)):
                v.clear()
                v.update(was)
            else:
                setattr(obj, name, was)


class Parser:
    """The context of every keyword handler: the state, the line being read (``node``, which
    ``rep`` reports against) and the readers for keepalived's value grammars. Readers report
    in keepalived's words and return None on bad input; none raises."""

    def __init__(self, st: ParseState) -> None:
        self.st = st
        self.messages = st.messages
        self.node: Node | None = None
        # kind of checker -> (the virtual server, its checkers' inherited values)
        self.checker_memo: dict[str, tuple[VirtualServer, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ reporting
    def rep(self, text: str, sev: Severity = Severity.ERROR) -> None:
        n = self.node
        if n is None:
            self.messages.append(ConfigMessage("", 0, sev, text))
        else:
            self.messages.append(ConfigMessage(n.file, n.line, sev, text))

    def at(self, n: Node, text: str, sev: Severity = Severity.ERROR) -> None:
        self.messages.append(ConfigMessage(n.file, n.line, sev, text))

    def rep_at(self, file: str) -> Callable[[int], Reporter]:
        """For readers of a run of lines (``Node.run``) in ``file``: the reporter against
        one of its lines."""
        def at_line(line: int) -> Reporter:
            self.node = Node(file, line, ())
            return self.rep
        return at_line

    def late(self, text: str, sev: Severity = Severity.WARNING) -> None:
        """A whole-config message (printed after the per-line ones)."""
        self.messages.append(ConfigMessage("", 0, sev, text))

    def missing_parameter(self, n: Node, position: int = 2) -> None:
        """keepalived's message for a keyword whose handler reads word ``position`` (1-based,
        the keyword is word 1) unchecked. keepalived stops reading the file there and exits 2;
        we report it as an error and read on (docs/corpus-disagreements.md)."""
        words = (n.kw, *n.args)
        if 1 < position <= len(words) + 1:
            self.at(n, f"*** Configuration line starting `{n.kw}` is missing a parameter "
                       f"after keyword `{words[position - 2]}` at word position {position}")
        else:
            self.at(n, f"*** Configuration line starting `{n.kw}` is missing a parameter "
                       f"at word position {position}")

    def unknown(self, n: Node) -> None:
        self.at(n, f"Unknown keyword '{n.kw}'")
        # keepalived skips the block of an unknown keyword

    # ------------------------------------------------------------------ blocks
    def no_block(self, n: Node) -> None:
        """A keyword that takes no block got one: report it (its contents are skipped)."""
        if n.children is not None:
            self.at(n, "Unexpected '{' - ignoring")

    def need_block(self, n: Node) -> list[Node] | None:
        if n.children is None:
            self.at(n, f"Missing '{{' at beginning of configuration block for {n.kw}")
            return None
        return flatten(n.children, self)

    def dynamic(self) -> bool:
        """With dynamic_interfaces a missing interface is expected to appear later."""
        return bool(self.st.glob.values.get("dynamic_interfaces"))

    # ------------------------------------------------------------------ values
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

    def user_arg(self, n: Node) -> tuple[str, str | None, bool] | None:
        """``user [[:]group]`` or ``user:group`` of a script: (user, group, both exist)."""
        a = n.args
        if not a:
            self.rep("user requires a name")
            return None
        user = a[0]
        group = a[1].lstrip(":") if len(a) > 1 else None
        if ":" in user:
            user, _, group = user.partition(":")
        if self.st.env.user_uid(user) is None or (group and not self.st.env.group_exists(group)):
            self.rep(f"Unable to set uid/gid for script user {user}")
            return user, group, False
        return user, group, True

    def routing_table(self, spec: _RR, what: str) -> _RR | None:
        """A route's or rule's ``table NAME`` as its number (``iproute_etc_dir`` /
        ``iproute_usr_dir`` as given so far); an unknown name drops the line, as in
        keepalived."""
        t = spec.table
        if t is None or t.isdigit():
            if what == "rule" and t is not None and int(t) == 0:
                self.rep("Table 0 is not valid")
                return None
            return spec
        g = self.st.glob.values
        n = self.st.env.routing_table(t, g.get("iproute_etc_dir"), g.get("iproute_usr_dir"))
        if n is None:
            self.rep(f"Routing table {t} not found for {what}")
            return None
        return replace(spec, table=str(n))

    def garp_extra_if(self, a: Sequence[str], values: dict[str, Any], key: str) -> None:
        """``[all] <SECONDS>`` of (vrrp_)garp_extra_if, global or per instance."""
        args = list(a)
        if args and args[0] == "all":
            values[key + "_all"] = True
            args.pop(0)
        if args:
            v = parse_int(args[0], 0, 86400, self.rep)
            if v is not None:
                values[key] = float(v)


Handler = Callable[[Parser, Node], None]
