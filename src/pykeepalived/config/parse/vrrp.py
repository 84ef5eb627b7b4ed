"""``vrrp_instance`` (with ``authentication``, ``auth_hmac``, unicast, VMAC / ipvlan) and
``vrrp_sync_group``: their keyword tables and irregular keywords. The instance's cross-field
rules are applied once the whole file is read (``finish``)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pykeepalived.config.splitbrain as sbconf
from pykeepalived.config.environment import IFF_LOOPBACK
from pykeepalived.config.model import (
    AddressSpec,
    AuthHmac,
    HmacKey,
    IpvlanSpec,
    LvsSyncDaemon,
    PackedV4,
    RouteSpec,
    RuleSpec,
    Severity,
    SyncGroup,
    TrackRef,
    UnicastPeer,
    VmacSpec,
    VrrpInstance,
    VrrpState,
)
from pykeepalived.config.parse.builders import HmacBuilder, InstanceBuilder, Values
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import Apply, Kind, Kw, Section, Status, run, run_block
from pykeepalived.config.parse.tree import Node, value_items, value_lines
from pykeepalived.config.values import (
    address_run,
    ip_family,
    parse_address_line,
    parse_int,
    parse_route_line,
    parse_rule_line,
    parse_unsigned,
)

ACTS, PARTIAL, NO_EFFECT = Status.ACTS, Status.PARTIAL, Status.NO_EFFECT
I32 = 2147483647
U32 = 4294967295
T_MAX = 4294.967295
VRRP_PRIO_OWNER = 255  # the address owner's priority (RFC 5798 5.2.4)
VRRP_PRIO_DFL = 100
IFNAMSIZ = 16  # Linux interface names are at most 15 bytes
BFD_UP = ("BFD is not supported: track_bfd never changes (the BFD instance counts as up, its "
          "weight applied)")


# ---------------------------------------------------------------- vrrp_instance


def vrrp_instance(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    if not name:
        p.at(n, "vrrp_instance requires a name")
    body = p.need_block(n)
    if body is None:
        return
    b = InstanceBuilder(name, n.file, n.line)
    for c in body:
        b.nodes[c.kw] = c
    run(p, VRRP_INSTANCE, body, b)
    if any(i.name == name for i in p.st.instances):
        p.at(n, f"vrrp_instance {name} already defined - ignoring")
        return
    p.st.instances.append(b)


def _check_unicast_src(p: Parser, n: Node, b: InstanceBuilder) -> None:
    v = p.bool_arg(n)
    if v is not None:
        b.values["check_unicast_src"] = v
    b.unicast_keyword = True


def _deprecated_flag(p: Parser, n: Node, b: InstanceBuilder) -> None:
    p.rep(f"({b.name}) {n.kw} is deprecated", Severity.WARNING)


def _linkbeat_use_polling(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """Deprecated, yet keepalived still polls the instance's interface."""
    _deprecated_flag(p, n, b)
    b.values["linkbeat_use_polling"] = True


def _state(p: Parser, n: Node, b: InstanceBuilder) -> None:
    a = n.args
    s = (a[0] if a else "").upper()
    if s == "MASTER":
        b.values["state"] = VrrpState.MASTER
    elif s == "BACKUP":
        b.values["state"] = VrrpState.BACKUP
    else:
        p.rep(f"({b.name}) unknown state '{a[0] if a else ''}', defaulting to BACKUP",
              Severity.WARNING)
        b.values["state"] = VrrpState.BACKUP


def _interface(p: Parser, n: Node, b: InstanceBuilder) -> None:
    a = n.args
    if not a:
        p.missing_parameter(n)
        return
    if len(a[0].encode()) >= IFNAMSIZ:
        p.rep(f"Interface name '{a[0]}' too long - ignoring")
        return
    if p.st.env.interface_flags(a[0]) & IFF_LOOPBACK:
        p.rep(f"({b.name}) cannot use a loopback interface ({a[0]}) for vrrp - ignoring")
        b.values.pop("interface", None)
        return
    b.values["interface"] = a[0]
    if not p.st.env.interface_exists(a[0]) and not p.dynamic():
        p.rep(f"WARNING - interface {a[0]} for vrrp_instance {b.name} doesn't exist",
              Severity.WARNING)


def _priority(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """keepalived 2.2.7 reads 1..255; any other value is reported twice (the number reader's
    message, then the instance's) and the priority becomes 100, even with state MASTER (which
    only makes an instance without a priority the address owner)."""
    if not n.args:
        p.missing_parameter(n)
        return
    v = parse_unsigned(n.args[0], 1, VRRP_PRIO_OWNER, p.rep)
    if v is None:
        p.rep(f"({b.name}) Priority not valid! must be between 1 & {VRRP_PRIO_OWNER}. "
              f"Using default {VRRP_PRIO_DFL}")
        v = VRRP_PRIO_DFL
    b.values["priority"] = v


def _native_ipv6(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """The instance is IPv6 (and VRRPv3) before any address says so; after an IPv4 one it
    is an error."""
    if b.family == 4:
        p.rep(f"({b.name}) Cannot specify native_ipv6 with IPv4 addresses")
        return
    b.family = 6
    b.values["native_ipv6"] = True


def _vips(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """An address per line; a run of one-address lines is read at once (``address_run``)."""
    if n.children is None:
        p.rep(f"{n.kw} requires a block")
        return
    main = n.kw == "virtual_ipaddress"
    key = "virtual_ipaddresses" if main else "virtual_ipaddresses_excluded"
    lst: list[AddressSpec | PackedV4] = b.values.setdefault(key, [])
    for x in value_items(n, p):
        if x.run is not None:
            for part in address_run(x.run, x.line, p.rep_at(x.file)):
                if main and b.family is None:
                    b.family = 4 if isinstance(part, PackedV4) else part.family
                lst.append(part)
            continue
        p.node = x
        ad = parse_address_line(x.tokens, p.rep, x.line)
        if ad is None:
            continue
        if main and b.family is None:
            b.family = ad.family
        if ad.dev and not p.st.env.interface_exists(ad.dev) and not p.dynamic():
            p.rep(f"WARNING - interface {ad.dev} for ip address {ad.ip}/{ad.prefixlen} "
                  "doesn't exist", Severity.WARNING)
        lst.append(ad)


def _routes_or_rules(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """virtual_routes / virtual_rules: a route or rule per line."""
    if n.children is None:
        p.rep(f"{n.kw} requires a block")
        return
    route = n.kw == "virtual_routes"
    lst = b.values.setdefault(n.kw, [])
    for x in value_lines(n, p):
        p.node = x
        r: RouteSpec | RuleSpec | None
        if route:
            r = parse_route_line(x.tokens, p.rep, x.line)
            r = p.routing_table(r, "route") if r is not None else None
        else:
            r = parse_rule_line(x.tokens, p.rep, x.line)
            r = p.routing_table(r, "rule") if r is not None else None
        if r is not None:
            lst.append(r)


def track_list(p: Parser, n: Node, kind: str, lo: int, hi: int) -> tuple[TrackRef, ...]:
    """The lines of a track_* block: ``NAME [weight N] [reverse|noreverse]``."""
    out: list[TrackRef] = []
    if n.children is None:
        p.at(n, f"{n.kw} requires a block")
        return ()
    for c in value_lines(n, p):
        p.node = c
        t = c.tokens
        weight: int | None = None
        reverse = False
        i = 1
        while i < len(t):
            if t[i] == "weight" and i + 1 < len(t):
                w = parse_int(t[i + 1], lo, hi, p.rep)
                if w is None:
                    p.rep(f"{kind} {t[0]} weight out of range - ignoring")
                    weight = None
                    break
                weight = w
                i += 2
            elif t[i] in ("reverse", "noreverse"):
                reverse = t[i] == "reverse"
                i += 1
            else:
                p.rep(f"Unknown {kind} option '{t[i]}'")
                i += 1
        out.append(TrackRef(t[0], weight, reverse))
    return tuple(out)


def _track(field: str, lo: int, hi: int) -> Apply:
    """An instance's track_* block: its entries add to ``field``."""
    def apply(p: Parser, n: Node, b: InstanceBuilder) -> None:
        b.values[field] = b.values.get(field, ()) + track_list(p, n, n.kw, lo, hi)
    return apply


def _src_ip(p: Parser, n: Node, b: InstanceBuilder) -> None:
    a = n.args
    fam = ip_family(a[0]) if a else None
    if fam is not None and b.family is None:
        b.family = fam
    if fam is not None and b.family != fam:
        p.rep(f"Configuration error: VRRP instance[{b.name}] and src address[{a[0]}] MUST be "
              "of the same family !!! Skipping...")
    elif fam is not None:
        b.values[n.kw] = a[0]
    else:
        p.rep(f"Configuration error: VRRP instance[{b.name}] malformed src "
              f"address[{a[0] if a else ''}]. Skipping...")
    if n.kw == "unicast_src_ip":
        b.unicast_keyword = True


def _unicast_peer(p: Parser, n: Node, b: InstanceBuilder) -> None:
    b.unicast_keyword = True
    if n.children is None:
        p.rep("unicast_peer requires a block")
        return
    peers = b.values.setdefault("unicast_peers", [])
    for x in value_lines(n, p):
        p.node = x
        peer = _peer(p, x, b)
        if peer is not None:
            peers.append(peer)


def _peer(p: Parser, x: Node, b: InstanceBuilder) -> UnicastPeer | None:
    """``ADDRESS [min_ttl N] [max_ttl N]``; a TTL bound turns check_unicast_src on."""
    t = x.tokens
    ip = t[0]
    fam = ip_family(ip)
    if fam is None:
        p.rep(f"({b.name}) VRRP parsed invalid IP {ip}. skipping IP...")
        return None
    if b.family is None:
        b.family = fam
    if b.family != fam:
        p.rep(f"Configuration error: VRRP instance[{b.name}] and unicast peer "
              f"address[{ip}] MUST be of the same family !!! Skipping...")
        return None
    ttl: dict[str, int | None] = {"min_ttl": None, "max_ttl": None}
    i = 1
    while i < len(t):
        if t[i] in ttl and i + 1 < len(t):
            ttl[t[i]] = parse_int(t[i + 1], 0, 255, p.rep)
            b.values["check_unicast_src"] = True
            i += 2
        else:
            p.rep(f"Unknown unicast_peer option '{t[i]}'")
            i += 1
    return UnicastPeer(ip, ttl["min_ttl"], ttl["max_ttl"])


def _old_unicast_checksum(p: Parser, n: Node, b: InstanceBuilder) -> None:
    b.unicast_keyword = True
    if not n.args:
        b.values["old_unicast_checksum"] = True
    elif n.args[0] == "never":
        b.values["old_unicast_checksum"] = False
    else:
        p.rep(f"({b.name}) Unknown old_unicast_chksum mode {n.args[0]} - ignoring")


def _mcast_dst_ip(p: Parser, n: Node, b: InstanceBuilder) -> None:
    a = n.args
    if a and ip_family(a[0]) is not None and ipaddress.ip_address(a[0]).is_multicast:
        b.values["mcast_dst_ip"] = a[0]
    else:
        p.rep(f"({b.name}) mcast_dst_ip {a[0] if a else ''} is not multicast")


def _is_mac(s: str) -> bool:
    parts = s.split(":")
    return len(parts) == 6 and all(len(x) in (1, 2) and all(
        ch in "0123456789abcdefABCDEF" for ch in x) for x in parts)


def _use_vmac(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """``[NAME] [MAC] [netlink_notify_msg] [group N]``, in any order."""
    a = n.args
    vals: dict[str, Any] = {}
    i = 0
    while i < len(a):
        t = a[i]
        if t == "netlink_notify_msg":
            vals["netlink_notify_msg"] = True
            p.rep("use_vmac netlink_notify_msg has no effect: no netlink message is sent for "
                  "the VMAC's state", Severity.INFO)
        elif t == "group" and i + 1 < len(a):
            vals["group"] = parse_int(a[i + 1], 0, I32, p.rep)
            p.rep("use_vmac group has no effect: the VMAC is not put in an interface group",
                  Severity.INFO)
            i += 1
        elif _is_mac(t):
            if t.lower().startswith(("00:00:5e:00:01:", "00:00:5e:00:02:")):
                p.rep(f"VMAC MAC address not allowed to be RFC5798 address ({t}) - ignoring")
            else:
                vals["mac"] = t
        elif "name" not in vals:
            vals["name"] = t
        i += 1
    b.values["use_vmac"] = VmacSpec(**vals)


def _use_ipvlan(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """``[NAME] [ADDRESS[/LEN]] [bridge|private|vepa] [group N]``, in any order."""
    a = n.args
    vals: dict[str, Any] = {}
    i = 0
    while i < len(a):
        t = a[i]
        if t in ("bridge", "private", "vepa"):
            vals["mode"] = t
        elif t == "group" and i + 1 < len(a):
            vals["group"] = parse_int(a[i + 1], 0, I32, p.rep)
            i += 1
        elif ip_family(t.partition("/")[0]) is not None:
            vals["address"] = t
        elif "name" not in vals:
            vals["name"] = t
        i += 1
    b.values["use_ipvlan"] = IpvlanSpec(**vals)


def _vrf(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """The VRF a unicast instance without an interface binds its sockets to; keepalived
    refuses it after an ``interface`` line (and clears it, once the file is read, when the
    instance has an interface or no unicast peers)."""
    a = n.args
    if not a:
        return
    if "interface" in b.values:
        p.rep(f"({b.name}) Cannot specify VRF interface and interface - ignoring")
        return
    if "vrf" in b.values:
        p.rep(f"({b.name}) VRF interface already specified as '{b.values['vrf']}' - ignoring")
        return
    if p.st.env.interface_flags(a[0]) & IFF_LOOPBACK:
        p.rep(f"({b.name}) cannot use a loopback interface ({a[0]}) for VRF - ignoring")
        return
    b.values["vrf"] = a[0]
    if not p.st.env.interface_exists(a[0]):
        p.rep(f"({b.name}) WARNING - VRF interface {a[0]} doesn't exist", Severity.WARNING)


def _accept(p: Parser, n: Node, b: InstanceBuilder) -> None:
    b.values["accept"] = n.kw == "accept"
    b.accept_given = True


def _garp_master_repeat(p: Parser, n: Node, b: InstanceBuilder) -> None:
    v = p.int_arg(n, 0, I32)
    if v is not None:
        if v == 0:
            p.rep(f"({b.name}) garp_master_repeat must be greater than 0, setting to 1",
                  Severity.WARNING)
            v = 1
        b.values["garp_master_repeat"] = v


def _garp_extra_if(p: Parser, n: Node, b: InstanceBuilder) -> None:
    if n.kw == "vmac_garp_intvl":
        p.rep('Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"',
              Severity.WARNING)
    p.garp_extra_if(n.args, b.values, "garp_extra_if")
    if "garp_extra_if" in b.values:  # an instance's own interval: the global "all" is not its
        b.values.setdefault("garp_extra_if_all", False)


def _timer_expired_backup(p: Parser, n: Node, b: InstanceBuilder) -> None:
    if n.kw == "thread_timer_expired":
        # an error in keepalived 2.4.3 too; 2.2.7 does not know either spelling
        p.rep(f"({b.name}) thread_timer_expired - please replace with keyword "
              "'timer_expired_backup'")
    a = n.args
    # with no value: 254, the quickest a peer can take over (keepalived 2.4.3)
    b.values["timer_expired_backup"] = parse_int(a[0], 1, 254, p.rep) if a else 254


def _whole_seconds(message: str, hi: int) -> Apply:
    """A GARP delay keepalived reads as whole seconds (``1.5`` is an error there), stored as
    a float; ``message`` is keepalived's second line (``{i}`` the instance, ``{v}`` the value)."""
    def apply(p: Parser, n: Node, b: InstanceBuilder) -> None:
        if not n.args:
            p.rep(f"{n.kw} requires a value")
            return
        v = parse_int(n.args[0], 0, hi, p.rep)
        if v is None:
            p.rep(message.format(i=b.name, v=n.args[0]))
            return
        b.values[n.kw] = float(v)
    return apply


def _notify_deleted(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """A bare ``notify_deleted`` sends DELETED to the generic notify script; with a script
    it is also the script for it."""
    if not n.args:
        b.values["notify_deleted_enabled"] = True
        return
    s = p.script_arg(n)
    if s is not None:
        b.values["notify_deleted"] = s
        b.values["notify_deleted_enabled"] = True


def _debug(p: Parser, n: Node, b: InstanceBuilder) -> None:
    if n.args:
        parse_int(n.args[0], 0, 4, p.rep)


def _lvs_sync_daemon_interface(p: Parser, n: Node, b: InstanceBuilder) -> None:
    """keepalived 2.2.7 and 2.4 still honour it: the LVS sync daemon on that interface,
    following this instance (reported as deprecated)."""
    p.rep(f"({b.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.")
    p.rep(" " * (len(b.name) + 6) + "Please use global lvs_sync_daemon")
    g = p.st.glob.values
    old = g.get("lvs_sync_daemon")
    if old is not None:
        p.rep(f"({b.name}) lvs_sync_daemon_interface has already been specified as "
              f"{old.interface} - ignoring")
        return
    if n.args:
        g["lvs_sync_daemon"] = LvsSyncDaemon(interface=n.args[0], instance=b.name)


# ---------------------------------------------------------------- authentication, auth_hmac


def _authentication(p: Parser, n: Node, b: InstanceBuilder) -> None:
    run_block(p, n, AUTHENTICATION, b)


def _auth_type(p: Parser, n: Node, b: InstanceBuilder) -> None:
    t = (n.args[0] if n.args else "").upper()
    if t in ("PASS", "AH"):
        b.values["auth_type"] = t
    else:
        p.rep(f"({b.name}) unknown authentication type '{n.args[0] if n.args else ''}'")


def _auth_pass(p: Parser, n: Node, b: InstanceBuilder) -> None:
    raw = " ".join(n.args).encode("utf-8", errors="replace")
    if len(raw) > 8:
        p.rep("Truncating auth_pass to 8 characters", Severity.WARNING)
        raw = raw[:8]
    b.values["auth_pass"] = raw


def _auth_hmac(p: Parser, n: Node, b: InstanceBuilder) -> None:
    h = HmacBuilder()
    if not run_block(p, n, AUTH_HMAC, h):
        return
    b.values["auth_hmac"] = AuthHmac(keys=tuple(h.keys), **h.values)


def _hmac_key(p: Parser, n: Node, h: HmacBuilder) -> None:
    """``ID hex:HEX | file:PATH | SECRET``; with fewer than two arguments an unknown keyword."""
    a = n.args
    if len(a) < 2:
        p.unknown(n)
        return
    kid = parse_int(a[0], 0, 255, p.rep)
    spec = a[1]
    secret: bytes | None
    if spec.startswith("hex:"):
        try:
            secret = bytes.fromhex(spec[4:])
        except ValueError:
            p.rep(f"Invalid hex key '{spec}'")
            secret = None
    elif spec.startswith("file:"):
        secret = None
        p.rep(f"auth_hmac key file '{spec[5:]}' is read at start-up", Severity.INFO)
    else:
        secret = spec.encode()
    if kid is not None and secret is not None:
        h.keys.append(HmacKey(kid, secret))


def _active_key(p: Parser, n: Node, h: HmacBuilder) -> None:
    h.values["active_key"] = parse_int(n.args[0], 0, 255, p.rep) if n.args else None


def _hmac_choice(*choices: str) -> Apply:
    """A word from ``choices``; anything else is an unknown keyword."""
    def apply(p: Parser, n: Node, h: HmacBuilder) -> None:
        if n.args and n.args[0] in choices:
            h.values[n.kw] = n.args[0]
        else:
            p.unknown(n)
    return apply


def _time_window(p: Parser, n: Node, h: HmacBuilder) -> None:
    v = parse_int(n.args[0], 1, 300, p.rep) if n.args else None
    if v is not None:
        h.values["time_window"] = v


NOT_WIRED = "read into the configuration; adverts are neither signed nor checked with it"

AUTHENTICATION = Section("vrrp_instance/authentication", [
    Kw("auth_type", Kind.ENUM, fn=_auth_type, choices=("PASS", "AH"), to="auth_type"),
    Kw("auth_pass", Kind.WORDS, fn=_auth_pass, to="auth_pass", syntax="up to 8 characters"),
], model=VrrpInstance, builder=InstanceBuilder, braces="none")

AUTH_HMAC = Section("vrrp_instance/auth_hmac", [
    Kw("key", Kind.WORDS, fn=_hmac_key, to="keys", syntax="ID hex:HEX|file:PATH|SECRET",
       status=NO_EFFECT, why=NOT_WIRED),
    Kw("active_key", Kind.INT, fn=_active_key, to="active_key", lo=0, hi=255,
       status=NO_EFFECT, why=NOT_WIRED),
    Kw("time_window", Kind.INT, fn=_time_window, to="time_window", lo=1, hi=300,
       default="30", status=NO_EFFECT, why=NOT_WIRED),
    Kw("anti_replay", Kind.ENUM, fn=_hmac_choice("time", "monotonic"), to="anti_replay",
       choices=("time", "monotonic"), default="time", status=NO_EFFECT, why=NOT_WIRED),
    Kw("mode", Kind.ENUM, fn=_hmac_choice("enforce", "permissive", "receive-only"), to="mode",
       choices=("enforce", "permissive", "receive-only"), default="enforce",
       status=NO_EFFECT, why=NOT_WIRED),
], model=AuthHmac, builder=HmacBuilder, braces="none")


def _b(name: str, to: str = "", status: Status = ACTS, why: str = "", **kw: Any) -> Kw:
    return Kw(name, Kind.BOOL, to=to or name, status=status, why=why, **kw)


VRRP_INSTANCE = Section("vrrp_instance", [
    Kw("state", Kind.ENUM, fn=_state, to="state", choices=("MASTER", "BACKUP"),
       default="BACKUP (every instance starts in BACKUP; MASTER sets priority 255 unless "
       "given)"),
    Kw("interface", Kind.STR, fn=_interface, to="interface", default="default_interface"),
    Kw("virtual_router_id", Kind.INT, to="vrid", lo=1, hi=255, default="none (required)"),
    Kw("priority", Kind.INT, fn=_priority, to="priority", lo=1, hi=VRRP_PRIO_OWNER,
       default="100 (255 with state MASTER)"),
    Kw("advert_int", Kind.TIMER, to="advert_int", lo=0.01, hi=255.0,
       default="1 (whole seconds for VRRPv2, centiseconds up to 40.95 for v3)"),
    Kw("version", Kind.INT, to="version", lo=2, hi=3, default="vrrp_version (3 for IPv6)"),
    Kw("authentication", Kind.BLOCK, fn=_authentication),
    Kw("auth_hmac", Kind.BLOCK, fn=_auth_hmac, to="auth_hmac", status=NO_EFFECT,
       why=NOT_WIRED,
       ours="keepalived 2.2.7 does not know it"),
    Kw("virtual_ipaddress", Kind.LINES, fn=_vips, to="virtual_ipaddresses",
       syntax="address lines"),
    Kw("virtual_ipaddress_excluded", Kind.LINES, fn=_vips, to="virtual_ipaddresses_excluded",
       syntax="address lines"),
    _b("no_virtual_ipaddress", syntax="silences the 'No VIP specified' warning"),
    Kw("virtual_routes", Kind.LINES, fn=_routes_or_rules, to="virtual_routes",
       syntax="route lines"),
    Kw("virtual_rules", Kind.LINES, fn=_routes_or_rules, to="virtual_rules",
       syntax="rule lines"),
    Kw("track_interface", Kind.LINES, fn=_track("track_interfaces", -253, 253),
       to="track_interfaces", syntax="IF [weight -253..253] [reverse|noreverse]"),
    Kw("track_script", Kind.LINES, fn=_track("track_scripts", -253, 253), to="track_scripts",
       syntax="NAME [weight -253..253] [reverse|noreverse]"),
    Kw("track_file", Kind.LINES, fn=_track("track_files", -254, 254), to="track_files",
       syntax="NAME [weight -254..254] [reverse|noreverse]"),
    Kw("track_process", Kind.LINES, fn=_track("track_processes", -254, 254),
       to="track_processes", syntax="NAME [weight -254..254] [reverse|noreverse]"),
    Kw("track_bfd", Kind.LINES, fn=_track("track_bfds", -253, 253), to="track_bfds",
       syntax="NAME [weight -253..253] [reverse|noreverse]", status=PARTIAL, why=BFD_UP),
    _b("dont_track_primary"),
    Kw("nopreempt", Kind.FLAG, to="nopreempt"),
    Kw("preempt", Kind.FLAG, to="nopreempt", const=False),
    Kw("preempt_delay", Kind.TIMER, to="preempt_delay", lo=0.0, hi=1000.0, default="0"),
    Kw("mcast_src_ip", Kind.ADDRESS, fn=_src_ip, to="mcast_src_ip"),
    Kw("unicast_src_ip", Kind.ADDRESS, fn=_src_ip, to="unicast_src_ip"),
    Kw("unicast_peer", Kind.LINES, fn=_unicast_peer, to="unicast_peers",
       syntax="ADDRESS [min_ttl 0..255] [max_ttl 0..255]"),
    Kw("unicast_ttl", Kind.INT, to="unicast_ttl", lo=0, hi=255, default="255"),
    _b("check_unicast_src", fn=_check_unicast_src, default="vrrp_check_unicast_src"),
    _b("unicast_fault_no_peer", status=PARTIAL,
       why="only silences the 'unicast keyword without peers' warning; an instance without "
       "peers is not put in FAULT"),
    Kw("old_unicast_checksum", Kind.WORDS, fn=_old_unicast_checksum, to="old_unicast_checksum",
       syntax="[never]", default="off: switch to it when a unicast advert verifies only "
       "that way"),
    Kw("mcast_dst_ip", Kind.ADDRESS, fn=_mcast_dst_ip, to="mcast_dst_ip",
       default="vrrp_mcast_group4 / vrrp_mcast_group6"),
    _b("track_src_ip", default="off: FAULT while unicast_src_ip / mcast_src_ip is missing "
       "from the interface (needs one of them)"),
    Kw("use_vmac", Kind.WORDS, fn=_use_vmac, to="use_vmac",
       syntax="[NAME] [MAC] [netlink_notify_msg] [group N]", status=PARTIAL,
       why="netlink_notify_msg and group have no effect (a note says so when they are used)",
       says=True),
    _b("use_vmac_addr", syntax="on: each VIP/eVIP on another interface (or of the other "
       "family) gets a VMAC of the VRID there, named vmac_addr_prefix.VRID"),
    _b("vmac_xmit_base"),
    Kw("use_ipvlan", Kind.WORDS, fn=_use_ipvlan, to="use_ipvlan",
       syntax="[NAME] [ADDRESS[/LEN]] [bridge|private|vepa] [group N]", status=NO_EFFECT,
       why="no ipvlan interface is created: adverts and VIPs stay on the base interface"),
    Kw("vrf", Kind.STR, fn=_vrf, to="vrf", status=NO_EFFECT,
       why="VRRP sockets are not bound to the VRF device (SO_BINDTODEVICE): adverts are sent "
       "and received in the default VRF"),
    Kw("accept", Kind.FLAG, fn=_accept, to="accept", default="accept (no_accept in strict mode)"),
    Kw("no_accept", Kind.FLAG, fn=_accept, to="accept"),
    _b("strict_mode", to="strict", default="vrrp_strict"),
    _b("skip_check_adv_addr", default="vrrp_skip_check_adv_addr"),
    _b("v3_checksum_as_v2", default="global v3_checksum_as_v2",
       ours="keepalived 2.2.7 does not know it"),
    _b("lower_prio_no_advert", default="vrrp_lower_prio_no_advert"),
    _b("higher_prio_send_advert", default="vrrp_higher_prio_send_advert"),
    _b("owner_ignore_adverts", default="vrrp_owner_ignore_adverts",
       ours="keepalived 2.2.7 does not know it"),
    Kw("garp_master_delay", Kind.INT, to="garp_master_delay", lo=0, hi=4294,
       fn=_whole_seconds("({i}): garp_master_delay '{v}' invalid - ignoring", 4294),
       syntax="whole seconds", default="vrrp_garp_master_delay"),
    Kw("garp_master_repeat", Kind.INT, fn=_garp_master_repeat, to="garp_master_repeat", lo=0,
       hi=I32, syntax="0 is taken as 1", default="vrrp_garp_master_repeat"),
    Kw("garp_master_refresh", Kind.INT, to="garp_master_refresh", lo=0, hi=U32,
       fn=_whole_seconds("({i}): Invalid garp_master_refresh '{v}' - ignoring", U32),
       syntax="whole seconds", default="vrrp_garp_master_refresh"),
    Kw("garp_master_refresh_repeat", Kind.INT, to="garp_master_refresh_repeat", lo=0, hi=I32,
       default="vrrp_garp_master_refresh_repeat"),
    Kw("garp_lower_prio_delay", Kind.INT, to="garp_lower_prio_delay", lo=0, hi=4294,
       fn=_whole_seconds("({i}): garp_lower_prio_delay '{v}' invalid - ignoring", 4294),
       syntax="whole seconds", default="vrrp_garp_lower_prio_delay"),
    Kw("garp_lower_prio_repeat", Kind.INT, to="garp_lower_prio_repeat", lo=0, hi=I32,
       default="vrrp_garp_lower_prio_repeat"),
    Kw("garp_extra_if", Kind.WORDS, fn=_garp_extra_if, to="garp_extra_if",
       old=("vmac_garp_intvl",), old_sev=None,
       syntax="[all] SECONDS (0..86400): while MASTER, one gratuitous ARP/NA on each VMAC "
       "(with all: each interface) a VIP lives on other than the advert's",
       default="vrrp_garp_extra_if"),
    Kw("down_timer_adverts", Kind.INT, to="down_timer_adverts", lo=1, hi=100,
       default="vrrp_down_timer_adverts"),
    Kw("timer_expired_backup", Kind.INT, fn=_timer_expired_backup, to="timer_expired_backup",
       lo=1, hi=254, synonyms=("thread_timer_expired",),
       syntax="[HIGHEST_OTHER_PRIORITY] (default 254; needs nopreempt)",
       ours="keepalived 2.2.7 does not know it"),
    Kw("notify_master", Kind.SCRIPT, to="notify_master"),
    Kw("notify_backup", Kind.SCRIPT, to="notify_backup"),
    Kw("notify_fault", Kind.SCRIPT, to="notify_fault"),
    Kw("notify_stop", Kind.SCRIPT, to="notify_stop"),
    Kw("notify_deleted", Kind.SCRIPT, fn=_notify_deleted, to="notify_deleted",
       syntax="[script]"),
    Kw("notify", Kind.SCRIPT, to="notify"),
    Kw("notify_master_rx_lower_pri", Kind.SCRIPT, to="notify_master_rx_lower_pri"),
    _b("notify_priority_changes", default="vrrp_notify_priority_changes"),
    _b("smtp_alert", default="smtp_alert_vrrp, else smtp_alert"),
    _b("promote_secondaries"),
    Kw("kernel_rx_buf_size", Kind.INT, to="kernel_rx_buf_size", lo=0, hi=I32),
    Kw("debug", Kind.INT, fn=_debug, lo=0, hi=4, status=NO_EFFECT,
       why="keepalived ignores it too"),
    Kw("native_ipv6", Kind.FLAG, fn=_native_ipv6, to="native_ipv6",
       syntax="the instance is IPv6 (VRRPv3)"),
    Kw("linkbeat_use_polling", Kind.FLAG, fn=_linkbeat_use_polling, to="linkbeat_use_polling",
       syntax="deprecated: polls the instance's interface (linkbeat_interfaces)"),
    Kw("lvs_sync_daemon_interface", Kind.STR, fn=_lvs_sync_daemon_interface,
       syntax="IF (deprecated: lvs_sync_daemon IF INSTANCE in global_defs)"),
    *sbconf.INSTANCE_ROWS,
], model=VrrpInstance, builder=InstanceBuilder)


# ---------------------------------------------------------------- vrrp_sync_group


def sync_group(p: Parser, n: Node) -> None:
    name = n.args[0] if n.args else ""
    b = Values({"name": name})
    if not run_block(p, n, VRRP_SYNC_GROUP, b):
        return
    if name in {s.name for s in p.st.sync_groups}:
        p.at(n, f"vrrp_sync_group {name} already defined - ignoring")
        return
    if "smtp_alert" in b.values:
        p.st.sync_group_smtp_set.add(name)
    if "notify_priority_changes" in b.values:
        p.st.sync_group_npc_set.add(name)
    p.st.sync_groups.append(SyncGroup(file=n.file, line=n.line, **b.values))


def _group(p: Parser, n: Node, b: Values) -> None:
    b.values["members"] = tuple(t for x in value_lines(n, p) for t in x.tokens)


def _group_track(field: str, lo: int, hi: int) -> Apply:
    """A sync group's track_* block: interfaces that do not exist are reported, scripts that
    are not defined anywhere are reported and dropped."""
    def apply(p: Parser, n: Node, b: Values) -> None:
        name = b.values["name"]
        refs = track_list(p, n, n.kw, lo, hi)
        if n.kw == "track_interface" and not p.dynamic():
            for t in refs:
                if not p.st.env.interface_exists(t.name):
                    p.at(n, f"({name}) tracked interface {t.name} doesn't exist",
                         Severity.WARNING)
        if n.kw == "track_script":
            known = p.st.script_names
            for t in refs:
                if t.name not in known:
                    p.at(n, f"({name}) track script {t.name} not found, ignoring...")
            refs = tuple(t for t in refs if t.name in known)
        b.values[field] = b.values.get(field, ()) + refs
    return apply


def _global_tracking(p: Parser, n: Node, b: Values) -> None:
    p.rep("global_tracking is deprecated. Use track_interface/script/file/bfd on each instance "
          "with sync_group_tracking_weight", Severity.WARNING)
    b.values["sync_group_tracking_weight"] = True


VRRP_SYNC_GROUP = Section("vrrp_sync_group", [
    Kw("group", Kind.LINES, fn=_group, to="members", syntax="instance names"),
    Kw("track_interface", Kind.LINES, fn=_group_track("track_interfaces", -253, 253),
       to="track_interfaces", syntax="IF [weight -253..253] [reverse|noreverse]"),
    Kw("track_script", Kind.LINES, fn=_group_track("track_scripts", -253, 253),
       to="track_scripts", syntax="NAME [weight -253..253] [reverse|noreverse]"),
    Kw("track_file", Kind.LINES, fn=_group_track("track_files", -254, 254), to="track_files",
       syntax="NAME [weight -254..254] [reverse|noreverse]"),
    Kw("track_process", Kind.LINES, fn=_group_track("track_processes", -254, 254),
       to="track_processes", syntax="NAME [weight -254..254] [reverse|noreverse]"),
    Kw("track_bfd", Kind.LINES, fn=_group_track("track_bfds", -253, 253), to="track_bfds",
       syntax="NAME [weight -253..253] [reverse|noreverse]", status=PARTIAL, why=BFD_UP),
    Kw("notify_master", Kind.SCRIPT, to="notify_master"),
    Kw("notify_backup", Kind.SCRIPT, to="notify_backup"),
    Kw("notify_fault", Kind.SCRIPT, to="notify_fault"),
    Kw("notify_stop", Kind.SCRIPT, to="notify_stop"),
    Kw("notify", Kind.SCRIPT, to="notify"),
    _b("smtp_alert", default="smtp_alert_vrrp, else smtp_alert"),
    _b("notify_priority_changes"),
    _b("sync_group_tracking_weight"),
    Kw("global_tracking", Kind.FLAG, fn=_global_tracking, to="sync_group_tracking_weight",
       brace_check=False, syntax="deprecated: sync_group_tracking_weight"),
], model=SyncGroup, builder=Values)

SECTIONS = (VRRP_INSTANCE, AUTHENTICATION, AUTH_HMAC, VRRP_SYNC_GROUP)
