"""The top level of keepalived.conf: its keyword table (the blocks and the few top-level
settings) and the loop that reads the block tree through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pykeepalived.config.splitbrain as sbconf
from pykeepalived.config.model import KeepalivedConfig, Severity
from pykeepalived.config.parse import checkers, globaldefs, lvs, static, trackers, vrrp
from pykeepalived.config.parse.builders import TopBuilder
from pykeepalived.config.parse.context import Handler, Parser, ParseState
from pykeepalived.config.parse.table import Apply, Kind, Kw, Section, Status
from pykeepalived.config.parse.tree import Node, flatten

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT


def parse_tree(st: ParseState, roots: list[Node]) -> None:
    """Read every top-level block into ``st``. A handler that fails is reported against its
    block (``Internal error ...``); the other blocks are still read."""
    p = Parser(st)
    st.vsg_names = {n.args[0] for n in roots if n.kw == "virtual_server_group" and n.args}
    st.track_file_names = {n.args[0] for n in roots
                           if n.kw in ("track_file", "vrrp_track_file") and n.args}
    st.bfd_names = {n.args[0] for n in roots if n.kw == "bfd_instance" and n.args}
    st.script_names = {n.args[0] for n in roots if n.kw == "vrrp_script" and n.args}
    get = TOP.dispatch.get
    for n in flatten(roots, p):
        e = get(n.kw)
        if e is None:
            p.unknown(n)
            continue
        p.node = n
        if e.braces and n.children is not None:
            p.no_block(n)
        try:
            e.apply(p, n, st.top)
        except Exception as ex:  # a handler bug must become a message, never a traceback
            p.at(n, f"Internal error parsing '{n.kw}' block: {type(ex).__name__}: {ex}",
                 Severity.ERROR)


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
         why="there is no BFD process: track_bfd counts the instance as up for ever"),
    _blk("static_ipaddress", static.static_ipaddress, lines=True, syntax="address lines"),
    _blk("static_routes", static.static_routes, lines=True, syntax="route lines"),
    _blk("static_rules", static.static_rules, lines=True, syntax="rule lines"),
    _blk("garp_group", static.garp_group),
    _blk("linkbeat_interfaces", static.linkbeat_interfaces, lines=True,
         syntax="IF [MII|ETHTOOL|IOCTL]", status=NO_EFFECT,
         why="link state always comes from netlink"),
    _blk("interface_up_down_delays", static.interface_up_down_delays, lines=True,
         syntax="IF DOWN_DELAY [UP_DELAY] (0..255 s)", status=NO_EFFECT,
         why="link changes are acted on at once"),
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
    Kw("linkbeat_use_polling", Kind.FLAG, to="linkbeat_use_polling", status=NO_EFFECT,
       why="link state always comes from netlink"),
    Kw("child_wait_time", Kind.TIMER, to="child_wait_time", lo=0.000001, hi=4294.967295,
       default="5", brace_check=False, status=NO_EFFECT,
       why="the parent always waits 5 s for its children to stop"),
    sbconf.TOP_ROW,
], model=KeepalivedConfig, builder=TopBuilder, title="top level")

ALL_SECTIONS: tuple[Section, ...] = (
    TOP, *globaldefs.SECTIONS, *vrrp.SECTIONS, *trackers.SECTIONS, *static.SECTIONS,
    *lvs.SECTIONS, *checkers.SECTIONS, *sbconf.SECTIONS)
