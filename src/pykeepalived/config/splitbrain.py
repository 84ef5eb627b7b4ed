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
Cross checks (``finish``): reference addresses outside the subnet of the instance's VIPs are
errors with the keyword's file:line; a lease TTL shorter than three advert intervals is a
warning; two instances with one lease key, or a lease_key without a lease_arbiter block, are
errors.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from pykeepalived.config.model import (
    ConfigMessage,
    HeartbeatPath,
    LeaseArbiterConfig,
    NotifyScript,
    Severity,
    SplitBrainGuards,
    VrrpInstance,
)


class Node(Protocol):
    """A statement of the parse tree (config.parser.Node)."""

    file: str
    line: int
    kw: str
    args: tuple[str, ...]
    children: Any


class Parser(Protocol):
    """What these handlers use of config.parser.Parser (which imports this module)."""

    node: Any
    messages: list[ConfigMessage]

    def at(self, n: Any, text: str, sev: Severity = ...) -> None: ...
    def timer_arg(self, n: Any, lo: float = ..., hi: float = ..., idx: int = ...
                  ) -> float | None: ...
    def int_arg(self, n: Any, lo: int, hi: int, idx: int = ...) -> int | None: ...
    def str_arg(self, n: Any) -> str | None: ...
    def script_arg(self, n: Any) -> NotifyScript | None: ...
    def need_block(self, n: Any) -> list[Any] | None: ...
    def unknown(self, n: Any) -> None: ...
    def late(self, text: str, sev: Severity = ...) -> None: ...

ACC = "_split_brain"  # the instance accumulator's key for these keywords
Handler = Callable[[Parser, Node, dict[str, Any]], None]


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


def _reference(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    acc["reference_addresses"] = tuple(_addresses(p, n))
    acc["_reference_node"] = n


def _interval(key: str) -> Handler:
    def fn(p: Parser, n: Node, acc: dict[str, Any]) -> None:
        v = p.timer_arg(n, lo=0.01, hi=3600)
        if v is not None:
            acc[key] = v
    return fn


def _count(key: str) -> Handler:
    def fn(p: Parser, n: Node, acc: dict[str, Any]) -> None:
        v = p.int_arg(n, 1, 100)
        if v is not None:
            acc[key] = v
    return fn


def _conflict(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    acc["conflict_watch"] = True


def _path(p: Parser, n: Node, acc: dict[str, Any]) -> None:
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
    acc.setdefault("heartbeat_paths", []).append(HeartbeatPath(a[0], tuple(peers)))


def _lease_key(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    v = p.str_arg(n)
    if v:
        acc["lease_key"] = v
        acc["_lease_node"] = n


def _script(key: str) -> Handler:
    def fn(p: Parser, n: Node, acc: dict[str, Any]) -> None:
        s = p.script_arg(n)
        if s is not None:
            acc[key] = s
    return fn


INSTANCE_KEYWORDS: dict[str, Handler] = {
    "reference_address": _reference,
    "reference_interval": _interval("reference_interval"),
    "reference_fall": _count("reference_fall"),
    "reference_rise": _count("reference_rise"),
    "conflict_watch": _conflict,
    "conflict_interval": _interval("conflict_interval"),
    "heartbeat_path": _path,
    "lease_key": _lease_key,
    "fence_script": _script("fence_script"),
    "notify_split_brain": _script("notify_split_brain"),
}


def instance_keyword(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    """One of ``INSTANCE_KEYWORDS`` inside a vrrp_instance."""
    sb = acc.setdefault(ACC, {"line": n.line})
    INSTANCE_KEYWORDS[n.kw](p, n, sb)


# ---------------------------------------------------------------- lease_arbiter block
def _endpoints(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    eps = [t for t in n.args]
    for c in n.children or ():
        eps += [c.kw, *c.args]
    for e in eps:
        if not e.startswith("http://"):
            p.at(n, f"lease_arbiter endpoint '{e}' must be http://HOST:PORT (etcd's "
                    "HTTP/JSON gateway)")
            return
    acc["endpoints"] = tuple(eps)


def _on_down(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    v = p.str_arg(n)
    if v not in ("hold", "vrrp", "fence"):
        p.at(n, f"on_etcd_down must be hold, vrrp or fence, not '{v}'")
        return
    acc["on_etcd_down"] = v


def _ttl(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    v = p.timer_arg(n, lo=1.0, hi=3600)
    if v is not None:
        acc["ttl"] = v


def _timeout(p: Parser, n: Node, acc: dict[str, Any]) -> None:
    v = p.timer_arg(n, lo=0.01, hi=60)
    if v is not None:
        acc["request_timeout"] = v


LEASE_KEYWORDS: dict[str, Handler] = {
    "endpoints": _endpoints,
    "ttl": _ttl,
    "on_etcd_down": _on_down,
    "request_timeout": _timeout,
}


def lease_block(p: Parser, n: Node, top: dict[str, Any]) -> None:
    body = p.need_block(n)
    if body is None:
        return
    acc: dict[str, Any] = {"file": n.file, "line": n.line}
    for c in body:
        fn = LEASE_KEYWORDS.get(c.kw)
        if fn is None:
            p.unknown(c)
            continue
        p.node = c
        fn(p, c, acc)
    if not acc.get("endpoints"):
        p.at(n, "lease_arbiter needs endpoints")
        return
    top["lease_arbiter"] = LeaseArbiterConfig(**acc)


# ---------------------------------------------------------------- cross checks
def finish_instance(p: Parser, inst: VrrpInstance, acc: dict[str, Any]) -> VrrpInstance:
    """Build the instance's SplitBrainGuards; check reference addresses against the VIPs."""
    sb = dict(acc.get(ACC) or {})
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
