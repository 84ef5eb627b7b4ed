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
from pykeepalived.config.parse.tree import Node, value_items, value_lines
from pykeepalived.config.values import (
    address_run,
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
    """An address per line; a run of one-address lines is read at once (``address_run``)."""
    if n.children is None:
        p.at(n, f"{n.kw} requires a block")
        return
    for c in value_items(n, p):
        if c.run is not None:
            p.st.static_addresses.extend(address_run(c.run, c.line, p.rep_at(c.file), True))
            continue
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
        r = p.routing_table(r, "route") if r is not None else None
        if r is not None:
            p.st.static_routes.append(_check_track_group(p, r))


def static_rules(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        p.node = c
        r = parse_rule_line(c.tokens, p.rep, c.line)
        r = p.routing_table(r, "rule") if r is not None else None
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


def _known_interface(p: Parser, c: Node, what: str) -> bool:
    """An interface that does not exist (and is not allowed to appear later with
    dynamic_interfaces) is fatal here, as in keepalived (exit 4)."""
    if p.st.env.interface_exists(c.tokens[0]) or p.dynamic():
        return True
    p.at(c, f"unknown interface {c.tokens[0]} specified for {what}", Severity.FATAL)
    return False


def linkbeat_interfaces(p: Parser, n: Node) -> None:
    for c in _lines(p, n):
        if not _known_interface(p, c, "linkbeat interface"):
            continue
        method = c.tokens[1] if len(c.tokens) > 1 else ""  # "": the first probe that works
        if len(c.tokens) > 1 and (method not in ("MII", "ETHTOOL", "IOCTL")
                                  or len(c.tokens) > 2):
            p.at(c, f"extra characters {method} in linkbeat interface")
            method = method if method in ("MII", "ETHTOOL", "IOCTL") else ""
        p.st.linkbeat.append(LinkbeatInterface(c.tokens[0], method))


def interface_up_down_delays(p: Parser, n: Node) -> None:
    """``IF DOWN [UP]`` (seconds, 0..255): a link change is acted on only once it has lasted
    that long; with one value the up delay is 0 (keepalived's reading)."""
    for c in _lines(p, n):
        p.node = c
        if not _known_interface(p, c, "up/down delay"):
            continue
        if len(c.tokens) < 2:
            p.rep(f"No timeouts specified for {c.tokens[0]} up/down delays", Severity.INFO)
            continue
        if len(c.tokens) > 3:
            p.rep(f"Too many parameters for {c.tokens[0]} up/down delays", Severity.INFO)
        d = parse_timer(c.tokens[1], p.rep, lo=0.0, hi=255.0)
        u = parse_timer(c.tokens[2], p.rep, lo=0.0, hi=255.0) if len(c.tokens) > 2 else 0.0
        if d is not None and u is not None:
            p.st.updown.append(InterfaceUpDownDelay(c.tokens[0], d, u))


# ---------------------------------------------------------------- garp_group


def garp_group(p: Parser, n: Node) -> None:
    b = GarpGroupBuilder()
    if not run_block(p, n, GARP_GROUP, b):
        return
    used = {i for g in p.st.garp_groups for i in g.interfaces}
    final: list[str] = []
    for i, where in b.interfaces:
        if i in used or i in final:
            p.at(where, f"garp_group already specified for {i} - ignoring", Severity.WARNING)
        else:
            final.append(i)
    if not b.interfaces:
        p.at(n, "garp_group has no interfaces - ignoring", Severity.INFO)
        return
    p.st.garp_groups.append(GarpGroup(tuple(final), file=n.file, line=n.line, **b.values))


def _interface(p: Parser, n: Node, b: GarpGroupBuilder) -> None:
    if n.args:
        b.interfaces.append((n.args[0], n))


def _interfaces(p: Parser, n: Node, b: GarpGroupBuilder) -> None:
    b.interfaces.extend((t, n) for x in value_lines(n, p) for t in x.tokens)


GARP_GROUP = Section("garp_group", [
    Kw("garp_interval", Kind.TIMER, to="garp_interval", lo=0.0, hi=4294.967295, default="0"),
    Kw("gna_interval", Kind.TIMER, to="gna_interval", lo=0.0, hi=4294.967295, default="0"),
    Kw("interface", Kind.STR, fn=_interface, to="interfaces"),
    Kw("interfaces", Kind.LINES, fn=_interfaces, to="interfaces", syntax="interface names"),
], model=GarpGroup, builder=GarpGroupBuilder, braces="none")

SECTIONS = (GARP_GROUP,)
