"""Value grammars shared by the blocks: numbers, timers, booleans, scripts, address / route /
rule lines. Each parser returns a value or None and reports through a ``Reporter`` with
keepalived's phrasing; none of them raises.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from typing import Protocol

from pykeepalived.config.model import AddressSpec, NotifyScript, RouteSpec, RuleSpec, Severity


class Reporter(Protocol):
    def __call__(self, text: str, sev: Severity = Severity.ERROR) -> None: ...


TRUE_WORDS = {"on", "true", "yes"}
FALSE_WORDS = {"off", "false", "no"}


def parse_int(tok: str, lo: int, hi: int, rep: Reporter, *, base: int = 10) -> int | None:
    if base == 10 and tok.isdigit() and tok.isascii():
        v = int(tok)  # the usual token (generated configs hold hundreds of thousands)
        if lo <= v <= hi:
            return v
    t = tok.strip()
    try:
        v = int(t, 0) if base == 0 else int(t, base)
    except ValueError:
        rep(f"invalid number '{tok}'")
        return None
    if v < lo or v > hi:
        rep(f"number '{tok}' outside range [{lo}, {hi}]")
        return None
    return v


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def parse_float(tok: str, lo: float, hi: float, rep: Reporter, *, places: int = 6
                ) -> float | None:
    if tok.isdigit() and tok.isascii():
        v = float(tok)  # a whole number: no decimal places to count
        if lo <= v <= hi:
            return v
    t = tok.strip()
    if not _DECIMAL.fullmatch(t):
        rep(f"invalid number '{tok}'")
        return None
    if "." in t and len(t.split(".", 1)[1]) > places:
        rep(f"number '{tok}' has too many decimal places")
        return None
    v = float(t)
    if v < lo or v > hi:
        rep(f"number '{tok}' outside range [{_fmt(lo)}, {_fmt(hi)}]")
        return None
    return v


def parse_timer(tok: str, rep: Reporter, *, lo: float = 0.000001, hi: float = 4294.967295
                ) -> float | None:
    """keepalived <TIMER>: seconds with up to microsecond resolution."""
    return parse_float(tok, lo, hi, rep)


def parse_bool(args: Sequence[str], rep: Reporter, *, default: bool = True) -> bool | None:
    """``<BOOL>`` with the argument optional (meaning ``default``)."""
    if not args:
        return default
    w = args[0].lower()
    if w in TRUE_WORDS or w == "1":
        return True
    if w == "0":
        return False
    if w in TRUE_WORDS:
        return True
    if w in FALSE_WORDS:
        return False
    rep(f"invalid boolean '{args[0]}'")
    return None


def split_argv(text: str) -> tuple[str, ...]:
    """Split a script string into argv on unquoted blanks (quotes removed)."""
    out: list[str] = []
    cur: list[str] = []
    have = False
    quote = ""
    for c in text:
        if quote:
            if c == quote:
                quote = ""
            else:
                cur.append(c)
        elif c in "\"'":
            quote = c
            have = True
        elif c in " \t":
            if have:
                out.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
            have = True
    if have:
        out.append("".join(cur))
    return tuple(out)


def parse_script(args: Sequence[str], rep: Reporter, line: int = 0) -> NotifyScript | None:
    """``"cmd args" [user [[:]group]]``: the first token (already unquoted) is the command."""
    if not args:
        rep("missing script")
        return None
    argv = split_argv(args[0])
    if not argv:
        rep("empty script")
        return None
    user = group = None
    if len(args) > 1:
        user = args[1]
        if ":" in user:
            user, _, group = user.partition(":")
        if len(args) > 2:
            group = args[2].lstrip(":")
    return NotifyScript(argv=argv, user=user or None, group=group or None, line=line)


@functools.lru_cache(maxsize=8192)
def ip_family(text: str) -> int | None:
    """4, 6 or None (cached: generated configs repeat their addresses)."""
    try:
        return ipaddress.ip_address(text).version
    except ValueError:
        return None


def _ipv4_only(k: str, v: str, fam: int, first: str, vals: dict[str, object],
               rep: Reporter) -> None:
    """``scope`` and ``label`` apply to IPv4 addresses only; keepalived warns and drops them
    from an IPv6 one."""
    if fam == 6:
        rep(f"Cannot specify {k} for IPv6 addresses ({first}) - ignoring {k}",
            Severity.WARNING)
    else:
        vals[k] = v


_SCOPES = {"site", "link", "host", "nowhere", "global"}


def parse_address_line(toks: Sequence[str], rep: Reporter, line: int, *,
                       static: bool = False) -> AddressSpec | None:
    """VIP / eVIP / static address grammar (keepalived.conf(5), ``virtual_ipaddress``)."""
    if not toks:
        return None
    first = toks[0]
    ip_s, _, mask_s = first.partition("/")
    fam = ip_family(ip_s)
    if fam is None:
        rep(f"VRRP parsed invalid IP {first}. skipping IP...")
        return None
    maxlen = 32 if fam == 4 else 128
    if mask_s:
        if not mask_s.isdigit():
            rep(f"VRRP parsed invalid IP {first}. skipping IP...")
            return None
        if int(mask_s) > maxlen:
            rep(f"number '{mask_s}' outside range [0, {maxlen}]")
            return None
        plen = int(mask_s)
    else:
        plen = maxlen
    vals: dict[str, object] = {}
    i = 1
    n = len(toks)
    while i < n:
        k = toks[i]
        v = toks[i + 1] if i + 1 < n else None
        if k in ("brd", "broadcast"):
            if v is None:
                rep("brd requires an address")
                break
            if v not in "+-" and ip_family(v) != 4:
                rep(f"invalid broadcast address {v}")
            vals["brd"] = v
            i += 2
        elif k == "dev":
            if v is None:
                rep("dev requires an interface")
                break
            vals["dev"] = v
            i += 2
        elif k == "scope":
            if v is None or (v not in _SCOPES and not v.isdigit()):
                rep(f"Invalid scope '{v}' specified for {first} - setting to global")
                i += 2
                continue
            _ipv4_only(k, v, fam, first, vals, rep)
            i += 2
        elif k == "label":
            if v is None:
                break
            _ipv4_only(k, v, fam, first, vals, rep)
            i += 2
        elif k == "peer":
            if v is None:
                break
            if ip_family(v) != fam:
                # keepalived takes a bare address here (no /prefix) and drops the whole line
                rep(f"VRRP parsed invalid IP {v}. skipping IP...")
                rep(f"Invalid peer address {v}")
                return None
            vals["peer"] = v
            i += 2
        elif k in ("home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin",
                   "no_track", "use_vmac"):
            key = "nodad" if k in ("-nodad", "nodad") else k
            vals[key] = True
            i += 1
        elif k == "preferred_lft":
            if v is None:
                break
            if v == "forever":
                vals["preferred_lft"] = None
            elif v.isdigit():
                vals["preferred_lft"] = int(v)
            else:
                rep(f"Invalid preferred_lft {v}")
            i += 2
        elif k == "track_group" and static:
            vals["track_group"] = v
            i += 2
        else:
            rep(f"Unknown configuration entry '{k}' for ip address - ignoring")
            i += 1
    if fam == 6 and plen == 128 and "preferred_lft" not in vals:
        vals["preferred_lft"] = 0
    try:
        return AddressSpec(ip=str(ipaddress.ip_address(ip_s)), prefixlen=plen, family=fam,
                           line=line, **vals)  # type: ignore[arg-type]
    except TypeError:
        return None


_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "throw", "unreachable",
                "prohibit", "blackhole", "nat", "anycast"}
_ROUTE_VALUE_KW = {"src", "via", "gw", "dev", "oif", "table", "metric", "priority",
                   "preference", "scope", "proto", "protocol", "tos", "dsfield", "mtu",
                   "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "initcwnd",
                   "initrwnd", "ssthresh", "realms", "rto_min", "hoplimit", "features",
                   "quickack", "congctl", "pref", "expires", "fastopen_no_cookie",
                   "ttl-propagate", "encap", "as", "nhid", "weight", "fastopen"}
_ROUTE_FLAGS = {"onlink", "pervasive", "no_track"}


def parse_route_line(toks: Sequence[str], rep: Reporter, line: int,
                     default_family: int = 4) -> RouteSpec | None:
    if not toks:
        return None
    rtype: str | None = None
    dest: str | None = None
    rest: list[str] = []
    j = 0
    while j < len(toks):
        t = toks[j]
        if dest is None and t == "nexthop":
            rest.extend(toks[j:])
            break
        if t in _ROUTE_VALUE_KW or t == "track_group":
            rest.extend(toks[j:j + 2])
            j += 2
        elif t in _ROUTE_FLAGS or t == "lock":
            rest.append(t)
            j += 1
        elif dest is None and rtype is None and t in _ROUTE_TYPES:
            rtype = t
            j += 1
        elif dest is None and t == "to":
            j += 1
        elif dest is None:
            dest = t
            j += 1
        else:
            rest.append(t)
            j += 1
    if dest is None:
        rep("route has no destination")
        return None
    toks = rest
    i = 0
    if dest in ("default", "default4", "default6", "all", "any"):
        fam = 6 if dest == "default6" else default_family
        dest = "default"
    else:
        d_ip = dest.partition("/")[0]
        f = ip_family(d_ip)
        if f is None:
            rep(f"Invalid route destination {dest}")
            return None
        fam = f
        try:
            dest = str(ipaddress.ip_network(dest, strict=False))
        except ValueError:
            rep(f"Invalid route destination {dest}")
            return None
    vals: dict[str, object] = {}
    opts: list[tuple[str, str]] = []
    nexthops: list[tuple[tuple[str, str], ...]] = []
    while i < len(toks):
        k = toks[i]
        if k in _ROUTE_FLAGS:
            if k == "onlink":
                vals["onlink"] = True
            elif k == "no_track":
                vals["no_track"] = True
            else:
                opts.append((k, ""))
            i += 1
            continue
        if k == "nexthop":
            nh: list[tuple[str, str]] = []
            i += 1
            while i < len(toks) and toks[i] != "nexthop":
                if toks[i] in ("onlink", "pervasive"):
                    nh.append((toks[i], ""))
                    i += 1
                elif i + 1 < len(toks):
                    nh.append((toks[i], toks[i + 1]))
                    i += 2
                else:
                    rep(f"Missing value for nexthop {toks[i]}")
                    i += 1
            nexthops.append(tuple(nh))
            continue
        if k == "track_group":
            if i + 1 < len(toks):
                vals["track_group"] = toks[i + 1]
            i += 2
            continue
        if k in _ROUTE_VALUE_KW or k == "lock":
            if k == "lock":
                i += 1
                continue
            if i + 1 >= len(toks):
                rep(f"Missing value for route option {k}")
                break
            v = toks[i + 1]
            if k in ("via", "gw"):
                if k == "gw":
                    rep('"gw" for routes is deprecated. Please use "via"', Severity.WARNING)
                if v in ("inet", "inet6") and i + 2 < len(toks):
                    v = toks[i + 2]
                    i += 1
                vf = ip_family(v)
                if vf is None:
                    rep(f"Invalid via address {v}")
                else:
                    vals["via"] = v
                    vals["via_family"] = vf
            elif k in ("dev", "oif"):
                vals["dev"] = v
            elif k == "src":
                if ip_family(v) is None:
                    rep(f"Invalid route source address {v}")
                else:
                    vals["src"] = v
            elif k == "table":
                vals["table"] = v
            elif k in ("metric", "priority", "preference"):
                if v.isdigit():
                    vals["metric"] = int(v)
                else:
                    rep(f"Invalid metric {v}")
            elif k == "scope":
                vals["scope"] = v
            elif k in ("proto", "protocol"):
                vals["proto"] = v
            elif k in ("tos", "dsfield"):
                try:
                    vals["tos"] = int(v, 16)
                except ValueError:
                    rep(f"Invalid tos {v}")
            else:
                opts.append((k, v))
            i += 2
            continue
        rep(f"Unknown route option {k}")
        i += 1
    return RouteSpec(dest=dest, family=fam, type=rtype, options=tuple(opts),
                     nexthops=tuple(nexthops), line=line, **vals)  # type: ignore[arg-type]


_RULE_VALUE_KW = {"from", "to", "priority", "preference", "order", "table", "lookup", "iif",
                  "dev", "oif", "fwmark", "tos", "dsfield", "goto", "realms",
                  "suppress_prefixlength",
                  "suppress_ifgroup", "uidrange", "ipproto", "sport", "dport", "l3mdev",
                  "protocol", "tun_id", "map-to", "nat"}
_RULE_ACTIONS = {"nop", "blackhole", "unreachable", "prohibit"}


def parse_rule_line(toks: Sequence[str], rep: Reporter, line: int) -> RuleSpec | None:
    vals: dict[str, object] = {}
    opts: list[tuple[str, str]] = []
    fam: int | None = None
    i = 0
    n = len(toks)
    while i < n:
        k = toks[i]
        if k == "not":
            vals["not_"] = True
            i += 1
            continue
        if k in _RULE_ACTIONS:
            vals["action"] = k
            i += 1
            continue
        if k in ("no_track", "l3mdev"):
            if k == "no_track":
                vals["no_track"] = True
            else:
                opts.append((k, ""))
            i += 1
            continue
        if k in ("inet", "inet6"):
            fam = 4 if k == "inet" else 6
            i += 1
            continue
        if k == "track_group":
            vals["track_group"] = toks[i + 1] if i + 1 < n else None
            i += 2
            continue
        if k not in _RULE_VALUE_KW:
            rep(f"Unknown rule option {k}")
            i += 1
            continue
        if i + 1 >= n:
            rep(f"Missing value for rule option {k}")
            break
        v = toks[i + 1]
        if k in ("from", "to"):
            if v != "all":
                f = ip_family(v.partition("/")[0])
                if f is None:
                    rep(f"Invalid rule {k} address {v}")
                else:
                    if fam is not None and fam != f:
                        rep(f"Rule address family mismatch for {v}")
                    fam = f
            vals["from_" if k == "from" else "to"] = v
        elif k in ("priority", "preference", "order"):
            if v.isdigit():
                vals["priority"] = int(v)
            else:
                rep(f"Invalid rule preference {v}")
        elif k in ("table", "lookup"):
            vals["table"] = v
        elif k in ("iif", "dev"):
            vals["iif"] = v
        elif k == "oif":
            vals["oif"] = v
        elif k == "fwmark":
            vals["fwmark"] = v
        elif k in ("tos", "dsfield"):
            vals["tos"] = v
        elif k == "goto":
            vals["action"] = f"goto {v}"
        else:
            opts.append((k, v))
        i += 2
    if "priority" not in vals:
        rep("Rule has no preference specified - setting to 16384. This is probably not what "
            "you want.", Severity.WARNING)
        vals["priority"] = 16384
    return RuleSpec(family=fam or 4, options=tuple(opts), line=line,
                    **vals)  # type: ignore[arg-type]
