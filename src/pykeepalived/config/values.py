"""Value grammars shared by the blocks: numbers, timers, booleans, scripts, address / route /
rule lines. Each parser returns a value or None and reports through a ``Reporter`` with
keepalived's phrasing; none of them raises.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from socket import AF_INET, inet_pton
from typing import Protocol

from pykeepalived.config.model import (
    AddressSpec,
    NotifyScript,
    PackedV4,
    RouteSpec,
    RuleSpec,
    Severity,
)


class Reporter(Protocol):
    def __call__(self, text: str, sev: Severity = Severity.ERROR) -> None: ...


def silent(text: str, sev: Severity = Severity.ERROR) -> None:
    """A reporter for values whose messages keepalived words itself (keepalived reads them
    without its number reader's own complaint)."""


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


_UNSIGNED = re.compile(r"[ \t\n\v\f\r]*\+?[0-9]+")


def parse_unsigned(tok: str, lo: int, hi: int, rep: Reporter) -> int | None:
    """An unsigned decimal read as keepalived's ``read_unsigned_strvec`` reads it (leading
    white space and a ``+`` allowed, a leading ``-`` is a negative number, no ``_`` digit
    separators), with its messages: the handlers that fall back to a default on a bad value
    (``priority``) print those messages before their own."""
    if tok.isdigit() and tok.isascii():
        v = int(tok)
        if lo <= v <= hi:
            return v
    if tok.lstrip(" \t\n\v\f\r").startswith("-"):
        rep(f"negative number '{tok}'")
        return None
    if not _UNSIGNED.fullmatch(tok):
        rep(f"invalid number '{tok}'")
        return None
    v = int(tok)
    if v > 0xFFFFFFFF:
        rep(f"number '{tok}' outside unsigned integer range")
    elif v < lo or v > hi:
        rep(f"number '{tok}' outside range [{lo}, {hi}]")
    else:
        return v
    return None


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


def ip_family(text: str) -> int | None:
    """4, 6 or None. A dotted quad that the C library's inet_pton takes is one that
    ``ipaddress`` takes (four decimal octets, no leading zeros): 40 000 real servers are
    checked there at C speed; anything else goes the ``ipaddress`` way."""
    try:
        inet_pton(AF_INET, text)
        return 4
    except (OSError, ValueError):
        return _ip_family(text)


@functools.lru_cache(maxsize=8192)
def _ip_family(text: str) -> int | None:
    """(cached: generated configs repeat their addresses)"""
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
    """VIP / eVIP / static address grammar (keepalived.conf(5), ``virtual_ipaddress``):
    ``ADDRESS[/LEN] [OPTION ...]``."""
    if not toks:
        return None
    first = toks[0]
    head = _address_head(first, rep)
    if head is None:
        return None
    ip_s, fam, plen = head
    vals = _address_options(toks, fam, rep, static)
    if vals is None:
        return None
    if fam == 6 and plen == 128 and "preferred_lft" not in vals:
        vals["preferred_lft"] = 0
    try:
        return AddressSpec(ip=str(ipaddress.ip_address(ip_s)), prefixlen=plen, family=fam,
                           line=line, **vals)  # type: ignore[arg-type]
    except TypeError:
        return None


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# a plain IPv4 address line: what parse_address_line reads as a bare address (no option)
PLAIN_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:3[0-2]|[12]?[0-9]))?")
_PREFIXLENS = {"": 32, **{str(i): i for i in range(33)}}
_pton4 = functools.partial(inet_pton, AF_INET)
_first = operator.itemgetter(0)
_third = operator.itemgetter(2)
_SLASH = itertools.repeat("/")
_BATCH = 8192


def _pack(words: list[str], first_line: int) -> PackedV4:
    """``words``, plain IPv4 addresses with or without a prefix length, packed; OSError or
    KeyError when one is not. Checked and converted by C code, nothing per word in Python:
    ``inet_pton`` takes the dotted quads ``ipaddress`` takes (four decimal octets up to 255,
    no leading zero), and a prefix length must be one of ``_PREFIXLENS`` ("" = 32; others,
    such as "032", go the general way)."""
    addrs: list[bytes] = []
    plens: list[bytes] = []
    for i in range(0, len(words), _BATCH):
        parts = list(map(str.partition, words[i:i + _BATCH], _SLASH))
        addrs.append(b"".join(map(_pton4, map(_first, parts))))
        plens.append(bytes(map(_PREFIXLENS.__getitem__, map(_third, parts))))
    return PackedV4(b"".join(addrs), b"".join(plens), first_line)


def address_run(text: str, first_line: int, rep_at: Callable[[int], Reporter],
                static: bool = False) -> list[AddressSpec | PackedV4]:
    """A run of one-word address lines (``text``, the first on ``first_line``) as
    ``parse_address_line`` reads each: the plain IPv4 ones packed (``PackedV4``), any other
    read by ``parse_address_line`` (``rep_at(line)`` reports against that line)."""
    words = text.split()
    try:
        return [_pack(words, first_line)]
    except (OSError, KeyError):
        pass  # not all plain IPv4 addresses: word by word
    out: list[AddressSpec | PackedV4] = []
    plain: list[str] = []
    start = first_line
    for i, word in enumerate(words):
        if PLAIN_V4.fullmatch(word):
            if not plain:
                start = first_line + i
            plain.append(word)
            continue
        if plain:
            out.append(_pack(plain, start))
            plain = []
        line = first_line + i
        ad = parse_address_line((word,), rep_at(line), line, static=static)
        if ad is not None:
            out.append(ad)
    if plain:
        out.append(_pack(plain, start))
    return out


def _address_head(first: str, rep: Reporter) -> tuple[str, int, int] | None:
    """``ADDRESS[/LEN]``: (address, family, prefix length; the host length when not given)."""
    ip_s, _, mask_s = first.partition("/")
    fam = ip_family(ip_s)
    if fam is None:
        rep(f"VRRP parsed invalid IP {first}. skipping IP...")
        return None
    maxlen = 32 if fam == 4 else 128
    if not mask_s:
        return ip_s, fam, maxlen
    if not mask_s.isdigit():
        rep(f"VRRP parsed invalid IP {first}. skipping IP...")
        return None
    if int(mask_s) > maxlen:
        rep(f"number '{mask_s}' outside range [0, {maxlen}]")
        return None
    return ip_s, fam, int(mask_s)


_ADDRESS_FLAGS = {"home": "home", "-nodad": "nodad", "nodad": "nodad",
                  "mngtmpaddr": "mngtmpaddr", "noprefixroute": "noprefixroute",
                  "autojoin": "autojoin", "no_track": "no_track", "use_vmac": "use_vmac"}
_VOID = -1  # an option that voids the whole address line
_STOP = 0  # an option missing its value: the rest of the line is not read


def _address_options(toks: Sequence[str], fam: int, rep: Reporter, static: bool
                     ) -> dict[str, object] | None:
    """The options after the address; None when one of them voids the whole line."""
    vals: dict[str, object] = {}
    i = 1
    n = len(toks)
    while i < n:
        k = toks[i]
        if k in _ADDRESS_FLAGS:
            vals[_ADDRESS_FLAGS[k]] = True
            i += 1
            continue
        if i + 1 < n:
            step = _address_option(k, toks[i + 1], toks[0], fam, vals, rep, static)
        else:
            step = _address_option_alone(k, toks[0], vals, rep, static)
        if step == _VOID:
            return None
        if step == _STOP:
            break
        i += step
    return vals


def _address_option(k: str, v: str, first: str, fam: int, vals: dict[str, object],
                    rep: Reporter, static: bool) -> int:
    """Option ``k`` with its value ``v``: how many tokens it took (1: ``k`` is unknown)."""
    if k in ("brd", "broadcast"):
        if v not in "+-" and ip_family(v) != 4:
            rep(f"invalid broadcast address {v}")
        vals["brd"] = v
    elif k == "dev":
        vals["dev"] = v
    elif k == "scope" and v not in _SCOPES and not v.isdigit():
        rep(f"Invalid scope '{v}' specified for {first} - setting to global")
    elif k in ("scope", "label"):
        _ipv4_only(k, v, fam, first, vals, rep)
    elif k == "peer":
        if ip_family(v) != fam:
            # keepalived takes a bare address here (no /prefix) and drops the whole line
            rep(f"VRRP parsed invalid IP {v}. skipping IP...")
            rep(f"Invalid peer address {v}")
            return _VOID
        vals["peer"] = v
    elif k == "preferred_lft":
        _preferred_lft(v, vals, rep)
    elif k == "track_group" and static:
        vals["track_group"] = v
    else:
        rep(f"Unknown configuration entry '{k}' for ip address - ignoring")
        return 1
    return 2


def _address_option_alone(k: str, first: str, vals: dict[str, object], rep: Reporter,
                          static: bool) -> int:
    """Option ``k`` as the last token, without its value."""
    if k in ("brd", "broadcast", "dev"):
        rep("dev requires an interface" if k == "dev" else "brd requires an address")
        return _STOP
    if k in ("label", "peer", "preferred_lft"):
        return _STOP
    if k == "scope":
        rep(f"Invalid scope 'None' specified for {first} - setting to global")
    elif k == "track_group" and static:
        vals["track_group"] = None
    else:
        rep(f"Unknown configuration entry '{k}' for ip address - ignoring")
    return 2


def _preferred_lft(v: str, vals: dict[str, object], rep: Reporter) -> None:
    if v == "forever":
        vals["preferred_lft"] = None
    elif v.isdigit():
        vals["preferred_lft"] = int(v)
    else:
        rep(f"Invalid preferred_lft {v}")


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
    """``[TYPE] [to] DEST [OPTION VALUE | FLAG | nexthop ...]...`` (``ip route`` syntax)."""
    if not toks:
        return None
    rtype, dest, rest = _route_split(toks)
    if dest is None:
        rep("route has no destination")
        return None
    d = _route_dest(dest, default_family, rep)
    if d is None:
        return None
    vals: dict[str, object] = {}
    opts: list[tuple[str, str]] = []
    nexthops: list[tuple[tuple[str, str], ...]] = []
    _route_options(rest, vals, opts, nexthops, rep)
    return RouteSpec(dest=d[0], family=d[1], type=rtype, options=tuple(opts),
                     nexthops=tuple(nexthops), line=line, **vals)  # type: ignore[arg-type]


def _route_split(toks: Sequence[str]) -> tuple[str | None, str | None, list[str]]:
    """(route type, destination, the options in order): the destination is the first word
    that is neither an option (with its value), a type nor ``to``."""
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
            continue
        if t in _ROUTE_FLAGS or t == "lock":
            rest.append(t)
        elif dest is None and rtype is None and t in _ROUTE_TYPES:
            rtype = t
        elif dest is None and t == "to":
            pass
        elif dest is None:
            dest = t
        else:
            rest.append(t)
        j += 1
    return rtype, dest, rest


def _route_dest(dest: str, default_family: int, rep: Reporter) -> tuple[str, int] | None:
    """The destination as a network (or ``default``) and its family."""
    if dest in ("default", "default4", "default6", "all", "any"):
        return "default", 6 if dest == "default6" else default_family
    fam = ip_family(dest.partition("/")[0])
    if fam is None:
        rep(f"Invalid route destination {dest}")
        return None
    try:
        return str(ipaddress.ip_network(dest, strict=False)), fam
    except ValueError:
        rep(f"Invalid route destination {dest}")
        return None


def _route_options(toks: list[str], vals: dict[str, object], opts: list[tuple[str, str]],
                   nexthops: list[tuple[tuple[str, str], ...]], rep: Reporter) -> None:
    i = 0
    while i < len(toks):
        k = toks[i]
        if k in _ROUTE_FLAGS:
            if k in ("onlink", "no_track"):
                vals[k] = True
            else:
                opts.append((k, ""))
            i += 1
        elif k == "nexthop":
            i = _nexthop(toks, i + 1, nexthops, rep)
        elif k == "track_group":
            if i + 1 < len(toks):
                vals["track_group"] = toks[i + 1]
            i += 2
        elif k == "lock":
            i += 1
        elif k in _ROUTE_VALUE_KW:
            if i + 1 >= len(toks):
                rep(f"Missing value for route option {k}")
                break
            i += _route_value(k, toks, i, vals, opts, rep)
        else:
            rep(f"Unknown route option {k}")
            i += 1


def _nexthop(toks: list[str], i: int, nexthops: list[tuple[tuple[str, str], ...]],
             rep: Reporter) -> int:
    """One ``nexthop`` group (up to the next one); returns where it ends."""
    nh: list[tuple[str, str]] = []
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
    return i


_ROUTE_FIELDS = {"dev": "dev", "oif": "dev", "table": "table", "scope": "scope",
                 "proto": "proto", "protocol": "proto"}


def _route_value(k: str, toks: list[str], i: int, vals: dict[str, object],
                 opts: list[tuple[str, str]], rep: Reporter) -> int:
    """Option ``k`` at ``i`` with its value: how many tokens it took."""
    v = toks[i + 1]
    took = 2
    if k in ("via", "gw"):
        if k == "gw":
            rep('"gw" for routes is deprecated. Please use "via"', Severity.WARNING)
        if v in ("inet", "inet6") and i + 2 < len(toks):
            v = toks[i + 2]
            took = 3
        vf = ip_family(v)
        if vf is None:
            rep(f"Invalid via address {v}")
        else:
            vals["via"] = v
            vals["via_family"] = vf
    elif k in _ROUTE_FIELDS:
        vals[_ROUTE_FIELDS[k]] = v
    elif k == "src":
        if ip_family(v) is None:
            rep(f"Invalid route source address {v}")
        else:
            vals["src"] = v
    elif k in ("metric", "priority", "preference"):
        if v.isdigit():
            vals["metric"] = int(v)
        else:
            rep(f"Invalid metric {v}")
    elif k in ("tos", "dsfield"):
        try:
            vals["tos"] = int(v, 16)
        except ValueError:
            rep(f"Invalid tos {v}")
    else:
        opts.append((k, v))
    return took


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
