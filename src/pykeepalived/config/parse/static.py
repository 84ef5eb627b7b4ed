"""Blocks of plain lines and small interface settings: ``static_ipaddress``, ``static_routes``,
``static_rules``, ``garp_group``, ``linkbeat_interfaces``, ``interface_up_down_delays``."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from pykeepalived.config.model import (
    AddressSpec,
    GarpGroup,
    InterfaceUpDownDelay,
    LinkbeatInterface,
    RouteSpec,
    RuleSpec,
    Severity,
)
from pykeepalived.config.parse.builders import GarpGroupBuilder
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import Kind, Kw, Section, run_block
from pykeepalived.config.parse.tree import Node, value_lines
from pykeepalived.config.values import (
    parse_address_line,
    parse_route_line,
    parse_rule_line,
    parse_timer,
)

_TG = TypeVar("_TG", AddressSpec, RouteSpec, RuleSpec)


def _lines(p: Parser, n: Node) -> list[Node]:
    """The lines of a value block; a keyword given without one is reported."""
    if n.children is None:
        p.at(n, f"{n.kw} requires a block")
        return []
    return value_lines(n, p)


def static_ipaddress(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        p.node = c
        a = parse_address_line(c.tokens, p.rep, c.line, static=True)
        if a is not None:
            if a.dev is not None and not p.st.env.interface_exists(a.dev) and not p.dynamic():
                p.rep(f"WARNING - interface {a.dev} for ip address {a.ip}/{a.prefixlen} "
                      "doesn't exist", Severity.WARNING)
            p.st.static_addresses.append(_check_track_group(p, a))


def static_routes(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        p.node = c
        r = parse_route_line(c.tokens, p.rep, c.line)
        if r is not None:
            p.st.static_routes.append(_check_track_group(p, r))


def static_rules(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        p.node = c
        r = parse_rule_line(c.tokens, p.rep, c.line)
        if r is not None:
            if r.track_group is not None and r.iif is None:
                p.rep("Static rule cannot have track_group if dev/iif not specified")
                r = replace(r, track_group=None)
            p.st.static_rules.append(_check_track_group(p, r))


def _check_track_group(p: Parser, spec: _TG) -> _TG:
    """A static entry's track_group must name a track_group defined earlier."""
    name = spec.track_group
    if name is None or any(g.name == name for g in p.st.track_groups):
        return spec
    p.rep(f"track_group {name} not found")
    return replace(spec, track_group=None)


def linkbeat_interfaces(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        method = c.tokens[1].upper() if len(c.tokens) > 1 else "ETHTOOL"
        if method not in ("MII", "ETHTOOL", "IOCTL"):
            p.at(c, f"Unknown linkbeat method {method}")
            method = "ETHTOOL"
        p.st.linkbeat.append(LinkbeatInterface(c.tokens[0], method))


def interface_up_down_delays(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        p.node = c
        if len(c.tokens) < 2:
            p.rep("interface_up_down_delays entry requires a delay")
            continue
        d = parse_timer(c.tokens[1], p.rep, lo=0.0, hi=255.0)
        u = parse_timer(c.tokens[2], p.rep, lo=0.0, hi=255.0) if len(c.tokens) > 2 else d
        if d is not None and u is not None:
            p.st.updown.append(InterfaceUpDownDelay(c.tokens[0], d, u))


# ---------------------------------------------------------------- garp_group


def garp_group(p: Parser, n: Node) -> None:
    b = GarpGroupBuilder()
    if not run_block(p, n, GARP_GROUP, b):
        return
    used = {i for g in p.st.garp_groups for i in g.interfaces}
    final: list[str] = []
    for i in b.interfaces:
        if i in used or i in final:
            p.at(n, f"garp_group already specified for {i} - ignoring", Severity.WARNING)
        else:
            final.append(i)
    if not b.interfaces:
        p.at(n, "garp_group has no interfaces - ignoring", Severity.INFO)
        return
    p.st.garp_groups.append(GarpGroup(tuple(final), file=n.file, line=n.line, **b.values))


def _interface(p: Parser, n: Node, b: GarpGroupBuilder) -> None:
    if n.args:
        b.interfaces.append(n.args[0])


def _interfaces(p: Parser, n: Node, b: GarpGroupBuilder) -> None:
    b.interfaces.extend(t for x in value_lines(n, p) for t in x.tokens)


GARP_GROUP = Section("garp_group", [
    Kw("garp_interval", Kind.TIMER, to="garp_interval", lo=0.0, hi=4294.967295, default="0"),
    Kw("gna_interval", Kind.TIMER, to="gna_interval", lo=0.0, hi=4294.967295, default="0"),
    Kw("interface", Kind.STR, fn=_interface, to="interfaces"),
    Kw("interfaces", Kind.LINES, fn=_interfaces, to="interfaces", syntax="interface names"),
], model=GarpGroup, builder=GarpGroupBuilder, braces="none")

SECTIONS = (GARP_GROUP,)
