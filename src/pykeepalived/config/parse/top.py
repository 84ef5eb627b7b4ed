"""The top level of keepalived.conf: its keyword table (the blocks and the few top-level
settings) and the loop that reads the block tree through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pykeepalived.config.splitbrain as sbconf
from pykeepalived.config.model import ConfigMessage, KeepalivedConfig, Severity
from pykeepalived.config.parse import checkers, globaldefs, lvs, static, trackers, vrrp
from pykeepalived.config.parse.builders import TopBuilder
from pykeepalived.config.parse.context import Forward, Handler, Names, Parser, ParseState
from pykeepalived.config.parse.table import Apply, Kind, Kw, Section, Status
from pykeepalived.config.parse.tree import Node, flatten
from pykeepalived.config.values import parse_int, silent

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT


# top-level blocks whose names other blocks may refer to, before or after them
_NAMED = {"virtual_server_group": "vsg_names", "track_file": "track_file_names",
          "vrrp_track_file": "track_file_names", "bfd_instance": "bfd_names",
          "vrrp_script": "script_names"}


class _FlatReporter:
    """Reports the stray anonymous blocks of the top level (``flatten``) into their own log:
    keepalived's order puts them before everything the blocks report."""

    def __init__(self, log: list[ConfigMessage]) -> None:
        self.log = log

    def at(self, n: Node, text: str, sev: Severity = Severity.ERROR) -> None:
        self.log.append(ConfigMessage(n.file, n.line, sev, text))


class TopParser:
    """Reads the top-level items into ``st`` as they come (``item``), each as soon as it is
    complete. A block that asks for a name defined further on in the file (``Names``) is
    undone and read at the end (``end``), with every item after it, so that the blocks are
    still read in file order. ``flat``: the log of the top level's stray blocks."""

    def __init__(self, st: ParseState, flat: list[ConfigMessage]) -> None:
        self.st = st
        self.p = Parser(st)
        self.flat = _FlatReporter(flat)
        self.names = {attr: Names() for attr in set(_NAMED.values())}
        for attr, names in self.names.items():
            setattr(st, attr, names)
        self.later: list[Node] | None = None

    def item(self, n: Node) -> None:
        if n.args:
            attr = _NAMED.get(n.kw)
            if attr is not None:
                self.names[attr].add(n.args[0])
        for x in flatten((n,), self.flat):
            if self.later is None:
                if x.kw not in TOP.dispatch:
                    self.p.unknown(x)  # (what read_item does, without the undo record)
                    continue
                if self._try(x):
                    continue
                self.later = []
            self.later.append(x)

    def _try(self, n: Node) -> bool:
        """Read block ``n`` now; False, with what it did undone, when it asked for a name
        not seen yet."""
        st = self.st
        snap = st.snapshot()
        try:
            read_item(self.p, n)
        except Forward:
            st.restore(snap)
            self.p.checker_memo.clear()
            return False
        return True

    def end(self) -> None:
        """The file is read: every name is known; read what had to wait."""
        for names in self.names.values():
            names.complete = True
        for n in self.later or ():
            read_item(self.p, n)
        self.later = None


def parse_tree(st: ParseState, roots: list[Node]) -> None:
    """Read every top-level block of a whole tree into ``st``. A handler that fails is
    reported against its block (``Internal error ...``); the other blocks are still read."""
    p = Parser(st)
    st.vsg_names = {n.args[0] for n in roots if n.kw == "virtual_server_group" and n.args}
    st.track_file_names = {n.args[0] for n in roots
                           if n.kw in ("track_file", "vrrp_track_file") and n.args}
    st.bfd_names = {n.args[0] for n in roots if n.kw == "bfd_instance" and n.args}
    st.script_names = {n.args[0] for n in roots if n.kw == "vrrp_script" and n.args}
    for n in flatten(roots, p):
        read_item(p, n)


def read_item(p: Parser, n: Node) -> None:
    """One top-level line or block through the top level's table."""
    e = TOP.dispatch.get(n.kw)
    if e is None:
        p.unknown(n)
        return
    p.node = n
    if e.braces and n.children is not None:
        p.no_block(n)
    try:
        e.apply(p, n, p.st.top)
    except Exception as ex:  # a handler bug must become a message, never a traceback
        p.at(n, f"Internal error parsing '{n.kw}' block: {type(ex).__name__}: {ex}",
             Severity.ERROR)


def _child_wait_time(p: Parser, n: Node, b: TopBuilder) -> None:
    """How long a stop waits for the children before killing them (whole seconds)."""
    v = parse_int(n.args[0], 0, 4294967295, silent) if n.args else None
    if v is None:
        p.rep(f"Invalid child_wait_time {n.args[0] if n.args else ''}")
        return
    b.values["child_wait_time"] = float(v)


def _block(handler: Handler) -> Apply:
    def apply(p: Parser, n: Node, b: TopBuilder) -> None:
        handler(p, n)
    return apply


def _blk(name: str, handler: Callable[[Parser, Node], None], *, lines: bool = False,
         status: Status = ACTS, why: str = "", **kw: Any) -> Kw:
    return Kw(name, Kind.LINES if lines else Kind.BLOCK, fn=_block(handler), status=status,
              why=why, **kw)


TOP = Section("", [
    _blk("global_defs", globaldefs.global_defs),
    _blk("vrrp_instance", vrrp.vrrp_instance, syntax="NAME { ... }"),
    _blk("vrrp_sync_group", vrrp.sync_group, syntax="NAME { ... }"),
    _blk("vrrp_script", trackers.vrrp_script, syntax="NAME { ... }"),
    _blk("track_file", trackers.track_file, syntax="NAME { ... }", old=("vrrp_track_file",),
         old_sev=Severity.INFO),
    _blk("vrrp_track_process", trackers.track_process, syntax="NAME { ... }"),
    _blk("track_group", trackers.track_group, syntax="NAME { ... }"),
    _blk("bfd_instance", trackers.bfd_instance, syntax="NAME { ... }", status=PARTIAL,
         why="BFD is not supported: no BFD session runs; track_bfd counts the instance as "
         "up for ever, its weight applied"),
    _blk("static_ipaddress", static.static_ipaddress, lines=True, syntax="address lines"),
    _blk("static_routes", static.static_routes, lines=True, syntax="route lines"),
    _blk("static_rules", static.static_rules, lines=True, syntax="rule lines"),
    _blk("garp_group", static.garp_group),
    _blk("linkbeat_interfaces", static.linkbeat_interfaces, lines=True,
         syntax="IF [MII|ETHTOOL|IOCTL]"),
    _blk("interface_up_down_delays", static.interface_up_down_delays, lines=True,
         syntax="IF DOWN_DELAY [UP_DELAY] (0..255 s)"),
    _blk("virtual_server_group", lvs.virtual_server_group, lines=True,
         syntax="NAME { RANGE [PORT] | fwmark N [inet6] ... }"),
    _blk("virtual_server", lvs.virtual_server,
         syntax="ADDRESS [PORT] | fwmark N [inet6] | group NAME { ... }"),
    _blk("SSL", checkers.ssl_block),
    Kw("net_namespace", Kind.STR, to="net_namespace"),
    Kw("net_namespace_ipvs", Kind.STR, to="net_namespace_ipvs", missing="empty",
       syntax="[NAME]", status=NO_EFFECT, why="IPVS is programmed in the current namespace"),
    Kw("namespace_with_ipsets", Kind.FLAG, status=NO_EFFECT, why="ipsets are not used"),
    Kw("instance", Kind.STR, to="instance_name"),
    Kw("use_pid_dir", Kind.FLAG, to="use_pid_dir"),
    Kw("linkbeat_use_polling", Kind.FLAG, to="linkbeat_use_polling",
       syntax="poll every instance's interface"),
    Kw("child_wait_time", Kind.INT, fn=_child_wait_time, to="child_wait_time", lo=0,
       hi=4294967295, syntax="whole seconds", default="5", brace_check=False),
    sbconf.TOP_ROW,
], model=KeepalivedConfig, builder=TopBuilder, title="top level")

ALL_SECTIONS: tuple[Section, ...] = (
    TOP, *globaldefs.SECTIONS, *vrrp.SECTIONS, *trackers.SECTIONS, *static.SECTIONS,
    *lvs.SECTIONS, *checkers.SECTIONS, *sbconf.SECTIONS)
