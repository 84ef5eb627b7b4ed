"""``virtual_server_group``, ``virtual_server`` and ``real_server``: keyword tables, handlers,
and the virtual server's finishing (defaults, real-server inheritance, quorum)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from pykeepalived.config.model import (
    RealServer,
    Severity,
    SorryServer,
    VirtualServer,
    VirtualServerGroup,
    VsgEntry,
)
from pykeepalived.config.parse.builders import RealServerBuilder, VirtualServerBuilder, build
from pykeepalived.config.parse.checkers import CHECKER_ROWS, checker
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import Kind, Kw, Section, Status, run
from pykeepalived.config.parse.tree import Node, value_lines
from pykeepalived.config.values import ip_family, parse_int

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT
I32 = 2147483647
T_MAX = 4294.967295
NO_SNMP = "SNMP is not supported: there is no SNMP agent"


# ---------------------------------------------------------------- virtual_server_group


def virtual_server_group(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    if n.children is None:
        p.at(n, "virtual_server_group requires a block")
        return
    entries: list[VsgEntry] = []
    for c in value_lines(n, p):
        p.node = c
        e = _vsg_entry(p, c.tokens)
        if e is not None:
            entries.append(e)
    p.st.vsgs.append(VirtualServerGroup(name, tuple(entries), n.file, n.line))


def _vsg_entry(p: Parser, t: tuple[str, ...]) -> VsgEntry | None:
    """``fwmark N [inet6]`` or ``RANGE [PORT]``."""
    if t[0] == "fwmark":
        fm = parse_int(t[1], 1, 4294967295, p.rep) if len(t) > 1 else None
        if fm is None:
            return None
        return VsgEntry(fwmark=fm, family=6 if len(t) > 2 and t[2] == "inet6" else 4)
    e = _vsg_range(p, t[0])
    if e is None:
        return None
    port = 0
    if len(t) > 1:
        pv = parse_int(t[1], 0, 65535, p.rep)
        if pv is None:
            return None
        port = pv
    return replace(e, port=port)


def _vsg_range(p: Parser, spec: str) -> VsgEntry | None:
    """``ADDRESS``, ``PREFIX/LEN`` or ``FIRST-LAST`` (LAST: the trailing part of an address)."""
    if "/" in spec:
        try:
            net = ipaddress.ip_network(spec, strict=False)
        except ValueError:
            p.rep(f"Invalid virtual server group IP address range '{spec}'")
            return None
        return VsgEntry(first_ip=str(net.network_address),
                        last_ip=str(net.broadcast_address), family=net.version)
    first, sep, last = spec.partition("-")
    fam = ip_family(first)
    if fam is None:
        p.rep(f"Invalid virtual server group IP address '{spec}'")
        return None
    if not sep:
        return VsgEntry(first_ip=first, last_ip=first, family=fam)
    end_s = _range_end(p, spec, first, last, fam)
    if end_s is None:
        return None
    try:
        end = ipaddress.ip_address(end_s)
    except ValueError:
        p.rep(f"Invalid virtual server group range '{spec}'")
        return None
    if int(end) < int(ipaddress.ip_address(first)):
        p.rep(f"Virtual server group range '{spec}' end is before start")
        return None
    return VsgEntry(first_ip=first, last_ip=str(end), family=fam)


def _range_end(p: Parser, spec: str, first: str, last: str, fam: int) -> str | None:
    """The full last address of ``FIRST-LAST``: LAST replaces the tail of FIRST."""
    if fam == 4:
        lparts = last.split(".")
        if not all(x.isdigit() for x in lparts) or len(lparts) > 4:
            bad = last
            for j, ch in enumerate(last):
                if not (ch.isdigit() or ch == "."):
                    bad = last[j:]
                    break
            p.rep(f"Virtual server group range '{spec}' has extra characters at end '{bad}'")
            return None
        return ".".join(first.split(".")[:4 - len(lparts)] + lparts)
    hexpart = last.split(".", 1)
    if len(hexpart) > 1 or not all(ch in "0123456789abcdefABCDEF" for ch in hexpart[0]):
        extra = "." + hexpart[1] if len(hexpart) > 1 else last
        p.rep(f"Virtual server group range '{spec}' has extra characters at end '{extra}'")
        return None
    return ":".join([*first.split(":")[:-1], hexpart[0]])


# ---------------------------------------------------------------- virtual_server


def virtual_server(p: Parser, n: Node) -> None:
    values = _vs_header(p, n)
    if values is None:
        return
    body = p.need_block(n)
    if body is None:
        return
    b = VirtualServerBuilder(values)
    run(p, VIRTUAL_SERVER, body, b)
    _finish_vs(p, b)


def _vs_header(p: Parser, n: Node) -> dict[str, Any] | None:
    """``ADDRESS [PORT]``, ``fwmark N [inet6]`` or ``group NAME``."""
    a = n.args
    values: dict[str, Any] = {"file": n.file, "line": n.line}
    if not a:
        p.at(n, "virtual_server requires an address, fwmark or group")
        return None
    if a[0] == "fwmark":
        fm = parse_int(a[1], 1, 4294967295, p.rep) if len(a) > 1 else None
        if fm is None:
            p.at(n, "virtual_server fwmark requires a mark")
            return None
        values["fwmark"] = fm
        values["family"] = 6 if len(a) > 2 and a[2] == "inet6" else 4
    elif a[0] == "group":
        if len(a) < 2:
            p.at(n, "virtual_server group requires a name")
            return None
        if not _group_usable(p, n, a[1]):
            return None
        values["group"] = a[1]
    else:
        fam = ip_family(a[0])
        if fam is None:
            p.at(n, f"Invalid virtual server address '{a[0]}'")
            return None
        values["ip"] = a[0]
        values["family"] = fam
        if len(a) > 1:
            p.node = n
            values["port"] = parse_int(a[1], 0, 65535, p.rep) or 0
    return values


def _group_usable(p: Parser, n: Node, name: str) -> bool:
    vsg = next((g for g in p.st.vsgs if g.name == name), None)
    if vsg is not None:
        fams = {e.family for e in vsg.entries if e.fwmark is None}
        if len(fams) > 1 and any(e.fwmark is not None for e in vsg.entries):
            p.at(n, f"virtual server group {name} cannot have IPv4, IPv6 and fwmark "
                 "without family - removing")
            return False
    if name not in p.st.vsg_names:
        # keepalived 2.2.7 drops such a virtual server without a word
        p.at(n, f"virtual_server_group {name} not defined - ignoring virtual server",
             Severity.INFO)
        return False
    return True


def _lb_algo(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    a = n.args
    if a and a[0] in SCHEDULERS:
        b.values["lb_algo"] = a[0]
    else:
        p.rep(f"Invalid lvs_scheduler '{a[0] if a else ''}'")


def lvs_method(p: Parser, n: Node, values: dict[str, Any] | None) -> str | None:
    """``NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]``; the TUN options go
    into ``values`` when given (a virtual server's; a real server's are not kept)."""
    a = n.args
    m = (a[0] if a else "").upper()
    if m not in ("NAT", "DR", "TUN"):
        p.rep(f"Invalid lvs_method '{a[0] if a else ''}'")
        return None
    tun: dict[str, Any] = values if values is not None else {}
    i = 1
    while m == "TUN" and i < len(a):
        if a[i] == "type" and i + 1 < len(a):
            tun["tun_type"] = a[i + 1]
            i += 2
        elif a[i] == "port" and i + 1 < len(a):
            tun["tun_port"] = parse_int(a[i + 1], 1, 65535, p.rep)
            i += 2
        elif a[i] in ("nocsum", "csum", "remcsum"):
            tun["tun_flags"] = a[i]
            i += 1
        else:
            p.rep(f"Unknown TUN option '{a[i]}'")
            i += 1
    return m


def _lb_kind(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    m = lvs_method(p, n, b.values)
    if m:
        b.values["lb_kind"] = m


def _protocol(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    a = n.args
    v = (a[0] if a else "").upper()
    if v in ("TCP", "UDP", "SCTP"):
        b.values["protocol"] = v
    else:
        p.rep(f"Unknown protocol '{a[0] if a else ''}'")


def _persistence_timeout(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    if n.args:
        v = parse_int(n.args[0], 1, 2678400, p.rep)
        if v is not None:
            b.values["persistence_timeout"] = v
    else:
        b.values["persistence_timeout"] = 360


def _sched_flag(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    """``ops`` and ``flag-N`` always; ``sh-*`` / ``mh-*`` against the scheduler set so far (as
    keepalived reads them: a flag of the other hashing scheduler is dropped without a word,
    any flag of theirs under another scheduler, or before lb_algo, is reported)."""
    kw = n.kw
    if kw[:3] in ("sh-", "mh-"):
        sched = b.values.get("lb_algo", "")
        if sched not in ("sh", "mh"):
            p.rep(f"{kw} only applies to sh scheduler - ignoring")
            return
        if sched != kw[:2]:
            return
    b.values["sched_flags"] = (*b.values.get("sched_flags", ()), kw)


def _sorry_server(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    a = n.args
    if a and ip_family(a[0]) is not None:
        port = parse_int(a[1], 0, 65535, p.rep) if len(a) > 1 else 0
        b.sorry = (a[0], port or 0, n)
    else:
        p.rep("Invalid sorry_server address")


def _sorry_method(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    if n.args:
        b.sorry_method = n.args[0].upper()


def _ip_family(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    a = n.args
    if a and a[0] in ("inet", "inet6"):
        b.ip_family = 4 if a[0] == "inet" else 6
    else:
        p.rep(f"Unknown ip_family '{a[0] if a else ''}'")


def _real_server(p: Parser, n: Node, b: VirtualServerBuilder) -> None:
    r = real_server(p, n)
    if r is not None:
        b.real_servers.append((n, r))


SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed",
              "nq", "twos")
SCHED_FLAGS = ("flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port",
               "mh-fallback")
TUN = "NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]"


def _vs_bool(name: str, to: str = "", **kw: Any) -> Kw:
    return Kw(name, Kind.BOOL, to=to or name, **kw)


VIRTUAL_SERVER = Section("virtual_server", [
    Kw("ip_family", Kind.ENUM, fn=_ip_family, to="ip_family", choices=("inet", "inet6"),
       default="the real servers' family"),
    Kw("lb_algo", Kind.ENUM, fn=_lb_algo, to="lb_algo", choices=SCHEDULERS,
       synonyms=("lvs_sched",), default="wlc"),
    Kw("lb_kind", Kind.ENUM, fn=_lb_kind, to="lb_kind", synonyms=("lvs_method",), syntax=TUN,
       default="NAT"),
    Kw("protocol", Kind.ENUM, fn=_protocol, to="protocol", choices=("TCP", "UDP", "SCTP"),
       default="UDP (keepalived's, with a warning) for an address"),
    Kw("persistence_timeout", Kind.INT, fn=_persistence_timeout, to="persistence_timeout",
       lo=1, hi=2678400, syntax="optional (none = 360)"),
    Kw("persistence_granularity", Kind.STR, to="persistence_granularity", missing="ignore"),
    Kw("persistence_engine", Kind.STR, to="persistence_engine", missing="ignore"),
    _vs_bool("hashed"),
    _vs_bool("ops"),
    *(Kw(f, Kind.FLAG, fn=_sched_flag, to="sched_flags") for f in SCHED_FLAGS),
    Kw("delay_loop", Kind.TIMER, to="delay_loop", lo=0.000001, hi=T_MAX, default="60"),
    Kw("connect_timeout", Kind.TIMER, to="connect_timeout", lo=0.000001, hi=T_MAX,
       default="5"),
    Kw("delay_before_retry", Kind.TIMER, to="delay_before_retry", lo=0.000001, hi=T_MAX,
       default="the checker's"),
    Kw("warmup", Kind.TIMER, to="warmup", lo=0.0, hi=T_MAX, default="random up to delay_loop"),
    Kw("retry", Kind.INT, to="retry", lo=0, hi=I32, default="the checker's"),
    _vs_bool("inhibit_on_failure"),
    _vs_bool("alpha"),
    _vs_bool("omega"),
    Kw("quorum", Kind.INT, to="quorum", lo=1, hi=I32, default="1"),
    Kw("hysteresis", Kind.INT, to="hysteresis", lo=0, hi=I32, default="0"),
    Kw("quorum_up", Kind.SCRIPT, to="quorum_up"),
    Kw("quorum_down", Kind.SCRIPT, to="quorum_down"),
    _vs_bool("ha_suspend"),
    _vs_bool("smtp_alert", default="smtp_alert_checker, else smtp_alert"),
    Kw("virtualhost", Kind.STR, to="virtualhost", missing="ignore"),
    Kw("weight", Kind.INT, to="weight", lo=1, hi=65535, default="1",
       syntax="the weight of its real servers that set none"),
    Kw("snmp_name", Kind.IGNORE, status=NO_EFFECT, why=NO_SNMP),
    Kw("sorry_server", Kind.ADDRESS, fn=_sorry_server, to="sorry", syntax="ADDRESS [PORT]"),
    Kw("sorry_server_inhibit", Kind.BOOL, to="sorry_inhibit"),
    Kw("sorry_server_lvs_method", Kind.ENUM, fn=_sorry_method, to="sorry_method",
       choices=("NAT", "DR", "TUN")),
    Kw("real_server", Kind.BLOCK, fn=_real_server, to="real_servers",
       syntax="ADDRESS [PORT] { ... }"),
], model=VirtualServer, builder=VirtualServerBuilder, braces="all")


# ---------------------------------------------------------------- real_server


def real_server(p: Parser, n: Node) -> RealServerBuilder | None:
    a = n.args
    fam = ip_family(a[0]) if a else None
    if fam is None:
        p.at(n, f"Invalid real server address '{a[0] if a else ''}'")
        return None
    r = RealServerBuilder({"ip": a[0], "family": fam, "file": n.file, "line": n.line})
    if len(a) > 1:
        p.node = n
        r.values["port"] = parse_int(a[1], 0, 65535, p.rep) or 0
        r.port_set = True
    if n.children is not None:
        body = p.need_block(n)
        if body:
            run(p, REAL_SERVER, body, r)
    return r


def _rs_lvs_method(p: Parser, n: Node, r: RealServerBuilder) -> None:
    m = lvs_method(p, n, None)
    if m:
        r.values["lvs_method"] = m


def _collect_checker(p: Parser, n: Node, r: RealServerBuilder) -> None:
    r.checkers.append(n)


def _rs_timer(name: str, lo: float, default: str) -> Kw:
    return Kw(name, Kind.TIMER, to=name, lo=lo, hi=T_MAX, default=default)


REAL_SERVER = Section("virtual_server/real_server", [
    Kw("weight", Kind.INT, to="weight", lo=0, hi=I32, default="the virtual server's (1)"),
    Kw("lvs_method", Kind.ENUM, fn=_rs_lvs_method, to="lvs_method", synonyms=("lb_kind",),
       syntax="NAT|DR|TUN (TUN options are read but not kept)", default="the virtual server's",
       ours="also spelt lb_kind (keepalived: virtual_server only)"),
    Kw("uthreshold", Kind.INT, to="uthreshold", lo=0, hi=65535, default="0"),
    Kw("lthreshold", Kind.INT, to="lthreshold", lo=0, hi=65535, default="0"),
    _vs_bool("inhibit_on_failure", default="the virtual server's"),
    Kw("notify_up", Kind.SCRIPT, to="notify_up"),
    Kw("notify_down", Kind.SCRIPT, to="notify_down"),
    _vs_bool("alpha", default="the virtual server's (for its checkers)"),
    Kw("retry", Kind.INT, to="retry", lo=0, hi=I32, default="the virtual server's"),
    _rs_timer("delay_before_retry", 0.000001, "the virtual server's"),
    _rs_timer("warmup", 0.0, "the virtual server's"),
    _rs_timer("connect_timeout", 0.000001, "the virtual server's"),
    _rs_timer("delay_loop", 0.000001, "the virtual server's"),
    _vs_bool("smtp_alert"),
    Kw("virtualhost", Kind.STR, to="virtualhost", missing="ignore"),
    Kw("snmp_name", Kind.IGNORE, status=NO_EFFECT, why=NO_SNMP),
    *(replace(row, fn=_collect_checker) for row in CHECKER_ROWS),
], model=RealServer, builder=RealServerBuilder, braces="all")


# ---------------------------------------------------------------- finishing


def _finish_vs(p: Parser, b: VirtualServerBuilder) -> None:
    acc = b.values
    if b.ip_family is not None and "ip" not in acc:
        acc["family"] = b.ip_family
    proto_set = "protocol" in acc
    if acc.get("fwmark") is not None and proto_set:
        p.late(f"Warning: Virtual server FWM {acc['fwmark']}: protocol specified for "
               "fwmark - protocol will be ignored")
    vs = VirtualServer(**acc)
    if not proto_set and vs.fwmark is None and vs.group is None:
        p.late(f"Virtual server [{vs.ip}]:none:{vs.port}: no protocol set - defaulting to UDP")
        acc["protocol"] = "UDP"
        vs = replace(vs, protocol="UDP")
    if "lb_kind" not in acc:
        p.late(f"Virtual server {vs.key}: no forwarding method set, setting default NAT")
    if "lb_algo" not in acc:
        p.late(f"Virtual server {vs.key}: no scheduler set, setting default 'wlc'")
    real, vs = _real_servers(p, b, vs)
    sorry_inhibit = b.sorry_inhibit
    if b.sorry is not None:
        sip, sport, _ = b.sorry
        if vs.fwmark is None and vs.port and not sport:
            sport = vs.port
        for rs in real:
            if rs.ip == sip and rs.port == sport and rs.inhibit_on_failure != sorry_inhibit:
                p.late(f"Virtual server {vs.key}: real server [{rs.ip}]:{vs.protocol.lower()}:"
                       f"{rs.port} matches sorry server, but inhibit setting differs, "
                       "setting on sorry server")
                sorry_inhibit = rs.inhibit_on_failure
        acc["sorry_server"] = SorryServer(sip, sport, sorry_inhibit, b.sorry_method)
    if not real and b.sorry is None:
        p.late(f"Virtual server {vs.key} has no real servers - ignoring")
        return
    total = sum(r.weight for r in real)
    quorum = acc.get("quorum", 1)
    if real and quorum > total:
        p.late(f"Warning - quorum {quorum} for {vs.key} exceeds total weight of real "
               f"servers {total}, reducing quorum to {total}")
        acc["quorum"] = max(total, 1)
    acc["real_servers"] = tuple(real)
    p.st.vss.append(VirtualServer(**acc))


def _real_servers(p: Parser, b: VirtualServerBuilder, vs: VirtualServer
                  ) -> tuple[list[RealServer], VirtualServer]:
    """The real servers, each finished against the virtual server (whose family the first
    one fixes when the address did not); duplicates and the other family's are dropped."""
    rss = b.real_servers
    has_dr = vs.lb_kind == "DR" or any(r.values.get("lvs_method") == "DR" for _, r in rss)
    vs_family = vs.family if (vs.ip is not None or b.ip_family is not None) else None
    mixed_group = False
    if vs.group is not None:
        vsg = next((g for g in p.st.vsgs if g.name == vs.group), None)
        fams = {e.family for e in vsg.entries if e.fwmark is None} if vsg else set()
        vs_family = fams.pop() if len(fams) == 1 else None
        mixed_group = vs_family is None
    real: list[RealServer] = []
    seen: set[tuple[str, int]] = set()
    for rn, r in rss:
        r.vs_has_dr = has_dr
        fam = r.values["family"]
        if mixed_group:
            pass  # a group of both families takes real servers of either
        elif vs_family is None:
            vs_family = fam
            b.values["family"] = fam
            vs = replace(vs, family=fam)
        elif fam != vs_family:
            p.at(rn, f"Address family of virtual server and real server {r.values['ip']} "
                 "don't match - skipping real server.")
            continue
        rs = _finish_rs(p, r, vs)
        if (rs.ip, rs.port) in seen:
            p.late(f"VS {vs.key}: real server [{rs.ip}]:{vs.protocol.lower()}:{rs.port} is "
                   "duplicated - removing second rs")
            continue
        seen.add((rs.ip, rs.port))
        real.append(rs)
    return real, vs


def _finish_rs(p: Parser, r: RealServerBuilder, vs: VirtualServer) -> RealServer:
    v = r.values
    if vs.fwmark is not None and v.get("port"):
        p.late(f"WARNING - fwmark virtual server FWM {vs.fwmark}, real server "
               f"[{v['ip']}]:none:{v['port']} has port specified - clearing")
        v["port"] = 0
    elif vs.fwmark is None and vs.group is None and r.port_set and \
            v.get("port") != vs.port and (v.get("lvs_method", vs.lb_kind) == "DR"
                                          or r.vs_has_dr):
        p.late(f"WARNING - virtual server {vs.key} and real server [{v['ip']}]:"
               f"{vs.protocol.lower()}:{v.get('port')} ports don't match - resetting")
        v["port"] = vs.port
    elif not r.port_set and vs.fwmark is None:
        v["port"] = vs.port
    v.setdefault("lvs_method", vs.lb_kind)
    v.setdefault("weight", vs.weight)
    if "inhibit_on_failure" not in v:
        v["inhibit_on_failure"] = vs.inhibit_on_failure
    checkers = []
    for cn in r.checkers:
        ck = checker(p, cn, r, vs)
        if ck is not None:
            checkers.append(ck)
    v["checkers"] = tuple(checkers)
    return build(RealServer, v)


SECTIONS = (VIRTUAL_SERVER, REAL_SERVER)
