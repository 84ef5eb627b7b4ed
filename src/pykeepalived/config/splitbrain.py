"""The split-brain keywords (pykeepalived extensions; docs/split-brain.md), as tables.

Instance keywords (inside ``vrrp_instance``)::

    reference_address { 10.0.0.1 fd00::1 }   # or on one line; ARP / ND probes on the VIPs' link
    reference_interval 0.5                   # default: the instance's advert_int
    reference_fall 3                         # unanswered rounds before FAULT
    reference_rise 1
    conflict_watch                           # watch for other holders of our VIPs
    conflict_interval 0.5                    # while MASTER; default advert_int, at least 1 s
    heartbeat_path eth1                      # adverts also on eth1 (repeatable)
    heartbeat_path eth0 unicast 10.0.0.12    # ... and unicast to a peer
    lease_key /pykeepalived/web              # claim only with this etcd key
    fence_script "/usr/local/sbin/fence"     # run on losing arbitration
    notify_split_brain "/usr/local/sbin/sb"  # INSTANCE NAME EVENT DETAIL

Top level::

    lease_arbiter {
        endpoints http://10.0.0.21:2379 http://10.0.0.22:2379 http://10.0.0.23:2379
        ttl 3                  # a crashed master's key is free within this
        on_etcd_down hold      # hold | vrrp | fence
        request_timeout 0.5
    }

keepalived does not know these keywords; pykeepalived without them behaves as keepalived.
Rows of the ``vrrp_instance`` and top-level tables (``config.parse``); cross checks
(``finish``): reference addresses outside the subnet of the instance's VIPs are
errors with the keyword's file:line; a lease TTL shorter than three advert intervals is a
warning; two instances with one lease key, or a lease_key without a lease_arbiter block, are
errors.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any

from pykeepalived.config.model import (
    ConfigMessage,
    HeartbeatPath,
    LeaseArbiterConfig,
    Severity,
    SplitBrainGuards,
    VrrpInstance,
)
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import Kind, Kw, Section, run_block
from pykeepalived.config.parse.tree import Node

OURS = "not a keepalived keyword: a split-brain guard (docs/split-brain.md)"


def _sb(b: Any, n: Node) -> dict[str, Any]:
    """The instance builder's split-brain values; the first guard keyword's line is where
    the cross checks point unless a lease_key says otherwise."""
    sb: dict[str, Any] = b.split_brain
    sb.setdefault("line", n.line)
    return sb


def _addresses(p: Parser, n: Node) -> list[str]:
    toks = list(n.args)
    for c in n.children or ():
        toks += [c.kw, *c.args]
    out = []
    for t in toks:
        try:
            out.append(str(ipaddress.ip_address(t)))
        except ValueError:
            p.at(n, f"{n.kw}: '{t}' is not an IP address")
    return out


def _reference(p: Parser, n: Node, b: Any) -> None:
    sb = _sb(b, n)
    sb["reference_addresses"] = tuple(_addresses(p, n))
    sb["_reference_node"] = n


def _interval(key: str) -> Any:
    def fn(p: Parser, n: Node, b: Any) -> None:
        v = p.timer_arg(n, lo=0.01, hi=3600)
        if v is not None:
            _sb(b, n)[key] = v
    return fn


def _count(key: str) -> Any:
    def fn(p: Parser, n: Node, b: Any) -> None:
        v = p.int_arg(n, 1, 100)
        if v is not None:
            _sb(b, n)[key] = v
    return fn


def _conflict(p: Parser, n: Node, b: Any) -> None:
    _sb(b, n)["conflict_watch"] = True


def _path(p: Parser, n: Node, b: Any) -> None:
    a = list(n.args)
    if not a:
        p.at(n, "heartbeat_path requires an interface")
        return
    peers: list[str] = []
    if len(a) > 1:
        if a[1] != "unicast" or len(a) < 3:
            p.at(n, "heartbeat_path: expected 'IFACE [unicast PEER...]'")
            return
        for t in a[2:]:
            try:
                peers.append(str(ipaddress.ip_address(t)))
            except ValueError:
                p.at(n, f"heartbeat_path: '{t}' is not an IP address")
    _sb(b, n).setdefault("heartbeat_paths", []).append(HeartbeatPath(a[0], tuple(peers)))


def _lease_key(p: Parser, n: Node, b: Any) -> None:
    v = p.str_arg(n)
    if v:
        sb = _sb(b, n)
        sb["lease_key"] = v
        sb["_lease_node"] = n


def _script(key: str) -> Any:
    def fn(p: Parser, n: Node, b: Any) -> None:
        s = p.script_arg(n)
        if s is not None:
            _sb(b, n)[key] = s
    return fn


#: rows of the vrrp_instance table (``parse.vrrp``)
INSTANCE_ROWS: tuple[Kw, ...] = (
    Kw("reference_address", Kind.WORDS, fn=_reference, syntax="ADDRESS... | { ADDRESS ... }",
       brace_check=False,
       ours=OURS + ": ARP/ND probes of these addresses on the VIPs' link"),
    Kw("reference_interval", Kind.TIMER, fn=_interval("reference_interval"), lo=0.01, hi=3600,
       default="advert_int", ours=OURS),
    Kw("reference_fall", Kind.INT, fn=_count("reference_fall"), lo=1, hi=100, default="3",
       ours=OURS),
    Kw("reference_rise", Kind.INT, fn=_count("reference_rise"), lo=1, hi=100, default="1",
       ours=OURS),
    Kw("conflict_watch", Kind.FLAG, fn=_conflict, ours=OURS + ": notice other holders of our VIPs"),
    Kw("conflict_interval", Kind.TIMER, fn=_interval("conflict_interval"), lo=0.01, hi=3600,
       default="advert_int, at least 1 s", ours=OURS),
    Kw("heartbeat_path", Kind.WORDS, fn=_path, syntax="IFACE [unicast PEER...]",
       ours=OURS + ": adverts also sent and accepted on this path (repeatable)"),
    Kw("lease_key", Kind.STR, fn=_lease_key, ours=OURS + ": claim only with this etcd key"),
    Kw("fence_script", Kind.SCRIPT, fn=_script("fence_script"),
       ours=OURS + ": run on losing arbitration"),
    Kw("notify_split_brain", Kind.SCRIPT, fn=_script("notify_split_brain"),
       ours=OURS + ": INSTANCE NAME EVENT DETAIL"),
)


# ---------------------------------------------------------------- lease_arbiter block
@dataclass(slots=True)
class LeaseBuilder:
    """``lease_arbiter``: ``LeaseArbiterConfig`` fields."""

    values: dict[str, Any] = field(default_factory=dict)


def _endpoints(p: Parser, n: Node, b: LeaseBuilder) -> None:
    eps = list(n.args)
    for c in n.children or ():
        eps += [c.kw, *c.args]
    for e in eps:
        if not e.startswith("http://"):
            p.at(n, f"lease_arbiter endpoint '{e}' must be http://HOST:PORT (etcd's "
                    "HTTP/JSON gateway)")
            return
    b.values["endpoints"] = tuple(eps)


def _on_down(p: Parser, n: Node, b: LeaseBuilder) -> None:
    v = p.str_arg(n)
    if v not in ("hold", "vrrp", "fence"):
        p.at(n, f"on_etcd_down must be hold, vrrp or fence, not '{v}'")
        return
    b.values["on_etcd_down"] = v


LEASE_ARBITER = Section("lease_arbiter", [
    Kw("endpoints", Kind.WORDS, fn=_endpoints, to="endpoints", brace_check=False,
       syntax="http://HOST:PORT ... (etcd's HTTP/JSON gateway)", ours=OURS),
    Kw("ttl", Kind.TIMER, to="ttl", lo=1.0, hi=3600, default="3", ours=OURS),
    Kw("on_etcd_down", Kind.ENUM, fn=_on_down, to="on_etcd_down",
       choices=("hold", "vrrp", "fence"), default="hold", ours=OURS),
    Kw("request_timeout", Kind.TIMER, to="request_timeout", lo=0.01, hi=60, default="0.5",
       ours=OURS),
], model=LeaseArbiterConfig, builder=LeaseBuilder, title="lease_arbiter (pykeepalived)")


def lease_block(p: Parser, n: Node, top: Any) -> None:
    """The top-level ``lease_arbiter { ... }`` block into ``top.values``."""
    b = LeaseBuilder({"file": n.file, "line": n.line})
    if not run_block(p, n, LEASE_ARBITER, b):
        return
    if not b.values.get("endpoints"):
        p.at(n, "lease_arbiter needs endpoints")
        return
    top.values["lease_arbiter"] = LeaseArbiterConfig(**b.values)


#: the row of the top-level table (``parse.top``)
TOP_ROW = Kw("lease_arbiter", Kind.BLOCK, fn=lease_block, to="lease_arbiter",
             ours=OURS + ": etcd as the arbiter of lease_key instances")
SECTIONS = (LEASE_ARBITER,)


# ---------------------------------------------------------------- cross checks
def finish_instance(p: Parser, inst: VrrpInstance, values: dict[str, Any]) -> VrrpInstance:
    """Build the instance's SplitBrainGuards; check reference addresses against the VIPs."""
    sb = dict(values)
    if not sb:
        return inst
    ref_node = sb.pop("_reference_node", None)
    lease_node = sb.pop("_lease_node", None)
    if lease_node is not None:
        sb["line"] = lease_node.line  # where the cross checks point
    if "heartbeat_paths" in sb:
        sb["heartbeat_paths"] = tuple(sb["heartbeat_paths"])
    guards = SplitBrainGuards(**sb)
    if ref_node is not None:
        nets = [ipaddress.ip_interface(f"{v.ip}/{v.prefixlen}").network
                for v in inst.virtual_ipaddresses
                if v.prefixlen < (32 if v.family == 4 else 128)]
        for ref in guards.reference_addresses:
            ip = ipaddress.ip_address(ref)
            if nets and not any(ip in net for net in nets if net.version == ip.version):
                p.at(ref_node, f"({inst.name}) reference_address {ref} is not on the subnet "
                               f"of the VIPs ({', '.join(map(str, nets))}): ARP/ND only reach "
                               "the link")
    return replace(inst, split_brain=guards)


def finish(p: Parser, instances: list[VrrpInstance], lease: LeaseArbiterConfig | None
           ) -> None:
    """Checks across instances: lease keys unique, a lease_arbiter for them, TTL vs adverts."""
    seen: dict[str, str] = {}
    for i in instances:
        key = i.split_brain.lease_key
        if key is None:
            continue
        def at(text: str, sev: Severity, i: VrrpInstance = i) -> None:
            p.messages.append(ConfigMessage(i.file, i.split_brain.line, sev, text))

        if key in seen:
            at(f"({i.name}) lease_key {key} is already used by {seen[key]}: two clusters "
               "must not share one lock key", Severity.ERROR)
        seen[key] = i.name
        if lease is None:
            at(f"({i.name}) lease_key {key} needs a lease_arbiter block", Severity.ERROR)
        elif lease.ttl < 3 * i.advert_int:
            at(f"({i.name}) lease_arbiter ttl {lease.ttl:g}s is shorter than three advert "
               f"intervals ({3 * i.advert_int:g}s): masters would fence on a short etcd "
               "hiccup", Severity.WARNING)
    if lease is not None and lease.ttl < 2:
        p.late(f"lease_arbiter ttl {lease.ttl:g}s: etcd grants whole seconds and frees expired "
               "leases up to 0.5 s late, so less than 2 s cannot be kept", Severity.WARNING)
