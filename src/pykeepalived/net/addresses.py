"""Addresses, routes and rules over netlink (``pyroute2.AsyncIPRoute``).

The daemon maps its configuration onto the small frozen specs below (``IpAddress``, ``Route``,
``Rule``; their fields follow the keepalived address/route/rule line grammar, and
``from_config_*`` copy the config model over). Every operation returns a ``NetResult``: netlink
failures are logged and handed back as values, never raised into the event loop. Adds are
idempotent (EEXIST is success with ``changed=False``), and so are deletes (ENOENT,
EADDRNOTAVAIL, ESRCH).

Known pyroute2 trap: unknown keyword arguments are silently dropped, so every kwarg used here was
checked against pyroute2 0.9.7's request filters, and the namespace tests read the result back
with ``ip -j``.
"""

from __future__ import annotations

import errno as errno_mod
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pykeepalived.net.rcvbuf import RcvBuf, apply_rcvbuf

log = logging.getLogger("pykeepalived.net.addresses")

IFA_F_NODAD = 0x02
IFA_F_HOMEADDRESS = 0x10
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400
IFA_F_SECONDARY = 0x01
INFINITY_LFT = 0xFFFFFFFF
RTNH_F_ONLINK = 0x4
FIB_RULE_INVERT = 0x2

SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
TABLES = {"default": 253, "main": 254, "local": 255}
RULE_ACTIONS = {"lookup": 1, "table": 1, "goto": 2, "nop": 3, "blackhole": 6,
                "unreachable": 7, "prohibit": 8}
ROUTE_METRICS = {"mtu": "RTAX_MTU", "advmss": "RTAX_ADVMSS", "window": "RTAX_WINDOW",
                 "rtt": "RTAX_RTT", "rttvar": "RTAX_RTTVAR", "ssthresh": "RTAX_SSTHRESH",
                 "cwnd": "RTAX_CWND", "initcwnd": "RTAX_INITCWND",
                 "initrwnd": "RTAX_INITRWND", "hoplimit": "RTAX_HOPLIMIT",
                 "reordering": "RTAX_REORDERING", "rto_min": "RTAX_RTO_MIN",
                 "quickack": "RTAX_QUICKACK", "features": "RTAX_FEATURES"}
IDEMPOTENT_ADD = {errno_mod.EEXIST}
IDEMPOTENT_DEL = {errno_mod.ENOENT, errno_mod.EADDRNOTAVAIL, errno_mod.ESRCH}


@dataclass(frozen=True)
class IpAddress:
    """One VIP / eVIP / static address (a keepalived.conf(5) ``virtual_ipaddress`` line).

    ``brd``: an address, ``"+"`` (host bits set) or ``"-"`` (host bits clear); None = no
    broadcast attribute. ``peer``: the remote end of a point-to-point address (then ``ip`` is
    the local end and ``peer_prefixlen`` the peer's mask). ``preferred_lft``: seconds, 0 =
    deprecated, None = forever. ``dev`` None = the caller's default interface.
    """

    ip: str
    prefixlen: int
    dev: str | None = None
    brd: str | None = None
    scope: str | None = None
    label: str | None = None
    peer: str | None = None
    peer_prefixlen: int | None = None
    home: bool = False
    nodad: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    preferred_lft: int | None = None

    @property
    def family(self) -> int:
        return 6 if ":" in self.ip else 4

    def __str__(self) -> str:
        return f"{self.ip}/{self.prefixlen}" + (f" dev {self.dev}" if self.dev else "")


@dataclass(frozen=True)
class Route:
    """One ``ip route`` line as parsed fields. ``dest`` is a prefix or ``"default"``.

    ``nexthops``: multipath, each a tuple of (keyword, value) pairs among ``via``, ``dev``,
    ``weight``. ``options``: other keyword/value pairs (``mtu``, ``advmss``, ``initcwnd``, ...
    and ``pref``); unknown ones are reported in the result's ``error`` and skipped.
    """

    dest: str
    family: int = 4
    type: str | None = None
    src: str | None = None
    via: str | None = None
    dev: str | None = None
    table: str | None = None
    metric: int | None = None
    scope: str | None = None
    proto: str | None = None
    tos: int | None = None
    onlink: bool = False
    nexthops: tuple[tuple[tuple[str, str], ...], ...] = ()
    options: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        parts = [self.dest]
        for k in ("via", "dev", "src", "table", "metric"):
            v = getattr(self, k)
            if v is not None:
                parts += [k, str(v)]
        return " ".join(parts)


@dataclass(frozen=True)
class Rule:
    """One ``ip rule`` line as parsed fields. ``from_``/``to`` are prefixes or ``"all"``.

    ``action``: None (= lookup ``table``), ``"goto N"``, ``"nop"``, ``"blackhole"``,
    ``"unreachable"``, ``"prohibit"``. ``fwmark``: ``"0x10"`` or ``"0x10/0xff"``.
    """

    family: int = 4
    from_: str | None = None
    to: str | None = None
    not_: bool = False
    priority: int | None = None
    table: str | None = None
    action: str | None = None
    iif: str | None = None
    oif: str | None = None
    fwmark: str | None = None
    tos: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        parts = []
        for k, name in (("priority", "pref"), ("from_", "from"), ("to", "to"),
                        ("fwmark", "fwmark"), ("iif", "iif"), ("oif", "oif"),
                        ("table", "table"), ("action", "")):
            v = getattr(self, k)
            if v is not None:
                parts += [name, str(v)] if name else [str(v)]
        return ("not " if self.not_ else "") + " ".join(parts)


@dataclass(frozen=True)
class NetResult:
    """Outcome of one netlink operation. ``changed`` is False for an idempotent no-op."""

    ok: bool
    op: str
    target: str
    changed: bool = True
    errno: int = 0
    error: str = ""


@dataclass(frozen=True)
class InterfaceAddress:
    """An address as the kernel reports it."""

    ip: str
    prefixlen: int
    family: int
    ifindex: int
    label: str | None = None
    scope: int = 0
    secondary: bool = False
    peer: str | None = None
    broadcast: str | None = None
    flags: int = 0
    preferred_lft: int | None = None


def from_config_address(spec: Any) -> IpAddress:
    """Copy a ``config.model.AddressSpec`` (or anything with the same fields)."""
    return IpAddress(ip=spec.ip, prefixlen=spec.prefixlen, dev=spec.dev, brd=spec.brd,
                     scope=spec.scope, label=spec.label, peer=spec.peer,
                     peer_prefixlen=spec.peer_prefixlen, home=spec.home, nodad=spec.nodad,
                     mngtmpaddr=spec.mngtmpaddr, noprefixroute=spec.noprefixroute,
                     autojoin=spec.autojoin, preferred_lft=spec.preferred_lft)


def from_config_route(spec: Any) -> Route:
    """Copy a ``config.model.RouteSpec``."""
    return Route(dest=spec.dest, family=spec.family, type=spec.type, src=spec.src,
                 via=spec.via, dev=spec.dev, table=spec.table, metric=spec.metric,
                 scope=spec.scope, proto=spec.proto, tos=spec.tos, onlink=spec.onlink,
                 nexthops=tuple(spec.nexthops), options=tuple(spec.options))


def from_config_rule(spec: Any) -> Rule:
    """Copy a ``config.model.RuleSpec``."""
    return Rule(family=spec.family, from_=spec.from_, to=spec.to, not_=spec.not_,
                priority=spec.priority, table=spec.table, action=spec.action, iif=spec.iif,
                oif=spec.oif, fwmark=spec.fwmark, tos=spec.tos, options=tuple(spec.options))


# -- pure translation to pyroute2 keyword arguments (unit-tested) -------------------------------

def _read_table_file(path: str, names: dict[str, int]) -> None:
    try:
        with open(path) as f:
            for line in f:
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2 and parts[0].isdigit():
                    names.setdefault(parts[1], int(parts[0]))
    except OSError:
        pass


def table_id(table: str | int | None) -> int | None:
    """Routing table number from a number or a name (main/local/default, rt_tables)."""
    if table is None:
        return None
    if isinstance(table, int):
        return table
    if table.isdigit():
        return int(table)
    names = dict(TABLES)
    _read_table_file("/etc/iproute2/rt_tables", names)
    if table in names:
        return names[table]
    raise ValueError(f"unknown routing table {table!r}")


def scope_id(scope: str | int | None) -> int | None:
    if scope is None:
        return None
    if isinstance(scope, int) or scope.isdigit():
        return int(scope)
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return SCOPES[scope]


def broadcast_for(ip: str, prefixlen: int, brd: str | None) -> str | None:
    """Resolve ``brd`` as ``ip`` does: ``+`` sets the host bits, ``-`` clears them."""
    if brd is None or ":" in ip:
        return None
    if brd in ("+", "-"):
        net = ipaddress.IPv4Network(f"{ip}/{prefixlen}", strict=False)
        return str(net.broadcast_address if brd == "+" else net.network_address)
    return str(ipaddress.IPv4Address(brd))


def address_kwargs(addr: IpAddress, ifindex: int) -> dict[str, Any]:
    """pyroute2 ``addr()`` arguments for ``addr`` on ``ifindex`` (pure)."""
    fam = socket.AF_INET6 if addr.family == 6 else socket.AF_INET
    kw: dict[str, Any] = {"index": ifindex, "family": fam}
    if addr.peer:
        # Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer, prefixlen the peer's.
        kw["local"] = addr.ip
        kw["address"] = addr.peer
        kw["prefixlen"] = (addr.peer_prefixlen if addr.peer_prefixlen is not None
                           else (128 if addr.family == 6 else 32))
    else:
        kw["address"] = addr.ip
        kw["prefixlen"] = addr.prefixlen
    brd = broadcast_for(addr.ip, addr.prefixlen, addr.brd)
    if brd:
        kw["broadcast"] = brd
    if addr.label:
        kw["label"] = addr.label
    sc = scope_id(addr.scope)
    if sc is not None:
        kw["scope"] = sc
    # keepalived 2.2.7 adds every IPv6 address with nodad (observed): a VIP that moves between
    # routers must be usable at once, not tentative for a DAD round.
    nodad = addr.nodad or addr.family == 6
    flags = ((IFA_F_NODAD if nodad else 0) | (IFA_F_HOMEADDRESS if addr.home else 0)
             | (IFA_F_MANAGETEMPADDR if addr.mngtmpaddr else 0)
             | (IFA_F_NOPREFIXROUTE if addr.noprefixroute else 0)
             | (IFA_F_MCAUTOJOIN if addr.autojoin else 0))
    if flags:
        kw["flags"] = flags
    if addr.preferred_lft is not None:
        kw["preferred_lft"] = addr.preferred_lft
        kw["valid_lft"] = INFINITY_LFT
    return kw


def _split_prefix(prefix: str, family: int) -> tuple[str, int]:
    net = ipaddress.ip_network(prefix, strict=False)
    return str(net.network_address), net.prefixlen


def route_kwargs(route: Route, ifindex_of: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    """pyroute2 ``route()`` arguments (pure). Returns (kwargs, ignored option names).

    ``ifindex_of`` maps every interface name the route mentions to its index.
    """
    fam = socket.AF_INET6 if route.family == 6 else socket.AF_INET
    kw: dict[str, Any] = {"family": fam}
    if route.dest != "default":
        dst, plen = _split_prefix(route.dest, route.family)
        kw["dst"] = dst
        kw["dst_len"] = plen
    else:
        kw["dst_len"] = 0
    if route.type:
        kw["type"] = route.type
    if route.src:
        kw["prefsrc"] = route.src
    if route.via:
        kw["gateway"] = route.via
    if route.dev:
        kw["oif"] = ifindex_of[route.dev]
    tid = table_id(route.table)
    if tid is not None:
        kw["table"] = tid
    if route.metric is not None:
        kw["priority"] = route.metric
    sc = scope_id(route.scope)
    if sc is not None:
        kw["scope"] = sc
    if route.proto:
        kw["proto"] = int(route.proto) if route.proto.isdigit() else route.proto
    if route.tos is not None:
        kw["tos"] = route.tos
    if route.onlink:
        kw["flags"] = RTNH_F_ONLINK
    if route.nexthops:
        hops = []
        for nh in route.nexthops:
            hop: dict[str, Any] = {}
            for k, v in nh:
                if k == "via":
                    hop["gateway"] = v
                elif k == "dev":
                    hop["oif"] = ifindex_of[v]
                elif k == "weight":
                    hop["hops"] = int(v) - 1
                elif k == "onlink":
                    hop["flags"] = RTNH_F_ONLINK
            hops.append(hop)
        kw["multipath"] = hops
    ignored: list[str] = []
    metrics: dict[str, int] = {}
    for k, v in route.options:
        if k in ROUTE_METRICS:
            metrics[ROUTE_METRICS[k]] = int(v)
        elif k == "pref" and route.family == 6:
            kw["pref"] = {"low": 3, "medium": 0, "high": 1}.get(v, 0)
        else:
            ignored.append(k)
    if metrics:
        kw["metrics"] = metrics
    return kw, ignored


def rule_kwargs(rule: Rule) -> dict[str, Any]:
    """pyroute2 ``rule()`` arguments (pure)."""
    fam = socket.AF_INET6 if rule.family == 6 else socket.AF_INET
    kw: dict[str, Any] = {"family": fam}
    if rule.from_ and rule.from_ != "all":
        kw["src"], kw["src_len"] = _split_prefix(rule.from_, rule.family)
    if rule.to and rule.to != "all":
        kw["dst"], kw["dst_len"] = _split_prefix(rule.to, rule.family)
    if rule.priority is not None:
        kw["priority"] = rule.priority
    tid = table_id(rule.table)
    if tid is not None:
        kw["table"] = tid
        kw["action"] = RULE_ACTIONS["lookup"]
    if rule.action:
        words = rule.action.split()
        kw["action"] = RULE_ACTIONS[words[0]]
        if words[0] == "goto":
            kw["goto"] = int(words[1])
    if rule.iif:
        kw["iifname"] = rule.iif
    if rule.oif:
        kw["oifname"] = rule.oif
    if rule.fwmark:
        mark, _, mask = rule.fwmark.partition("/")
        kw["fwmark"] = int(mark, 0)
        if mask:
            kw["fwmask"] = int(mask, 0)
    if rule.tos is not None:
        kw["tos"] = int(rule.tos, 0)
    if rule.not_:
        kw["flags"] = FIB_RULE_INVERT
    for k, v in rule.options:
        if k == "suppress_prefixlength":
            kw["suppress_prefixlen"] = int(v)
        elif k == "suppress_ifgroup":
            kw["suppress_ifgroup"] = int(v)
        elif k == "realms":
            kw["flow"] = int(v)
    return kw


# -- the shell --------------------------------------------------------------------------------

def _errno_of(exc: BaseException) -> int:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    code = getattr(exc, "errno", None)
    return code if isinstance(code, int) else 0


class AddressManager:
    """Owner of one ``AsyncIPRoute`` for the VRRP process (or one namespace in tests).

    Use ``async with AddressManager() as am`` or call ``open()``/``close()``. Methods never raise
    for netlink errors; they log at warning level and return ``NetResult(ok=False, ...)``.
    """

    def __init__(self, netns: str | None = None, rcvbuf: RcvBuf | None = None) -> None:
        self.netns = netns
        self.rcvbuf = rcvbuf  # vrrp_netlink_cmd_rcv_bufs
        self.ipr: Any = None

    async def open(self) -> AddressManager:
        from pykeepalived.net.pyroute2_lite import async_iproute

        AsyncIPRoute = async_iproute()

        if self.ipr is None:
            self.ipr = AsyncIPRoute(netns=self.netns) if self.netns else AsyncIPRoute()
            apply_rcvbuf(self.ipr.socket, self.rcvbuf, "netlink command")
            await self.ipr.setup_endpoint()
        return self

    def close(self) -> None:
        if self.ipr is not None:
            self.ipr.close()
            self.ipr = None

    async def __aenter__(self) -> AddressManager:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def ifindex(self, ifname: str) -> int | None:
        """Index of ``ifname`` in this manager's namespace, None when absent.

        An ioctl (microseconds) rather than a netlink lookup: it sits on the path to MASTER.
        """
        from pykeepalived.net.links import if_index

        try:
            return if_index(ifname, self.netns)
        except OSError as e:
            if e.errno not in (errno_mod.ENODEV, errno_mod.ENXIO):
                log.warning("interface lookup %s failed: %s", ifname, e)
            return None

    async def _do(self, op: str, target: str, adding: bool, call: Any,
                  quiet: bool = False) -> NetResult:
        try:
            await call
        except Exception as e:
            code = _errno_of(e)
            if code in (IDEMPOTENT_ADD if adding else IDEMPOTENT_DEL):
                return NetResult(True, op, target, changed=False, errno=code)
            if not quiet:
                log.warning("%s %s failed: %s", op, target, e)
            return NetResult(False, op, target, errno=code, error=str(e))
        return NetResult(True, op, target)

    async def _dev_index(self, dev: str | None, default_dev: str | None,
                         op: str, target: str) -> int | NetResult:
        name = dev or default_dev
        if name is None:
            return NetResult(False, op, target, errno=errno_mod.ENODEV, error="no interface")
        idx = await self.ifindex(name)
        if idx is None:
            log.warning("%s %s: interface %s not found", op, target, name)
            return NetResult(False, op, target, errno=errno_mod.ENODEV,
                             error=f"interface {name} not found")
        return idx

    # -- addresses -----------------------------------------------------------------------
    async def add_address(self, addr: IpAddress, default_dev: str | None = None, *,
                          quiet: bool = False, proto: int | None = None) -> NetResult:
        """Add ``addr`` on ``addr.dev`` or ``default_dev``; EEXIST counts as success.
        ``quiet``: a refusal is not logged (the caller says it, once, for repeated tries).
        ``proto``: the address's IFA_PROTO (who added it)."""
        await self.open()
        idx = await self._dev_index(addr.dev, default_dev, "add address", str(addr))
        if isinstance(idx, NetResult):
            return idx
        try:
            kw = address_kwargs(addr, idx)
        except ValueError as e:
            return NetResult(False, "add address", str(addr), errno=errno_mod.EINVAL,
                             error=str(e))
        if proto is not None:
            kw["proto"] = proto
        return await self._do("add address", str(addr), True, self.ipr.addr("add", **kw),
                              quiet)

    async def delete_address(self, addr: IpAddress,
                             default_dev: str | None = None) -> NetResult:
        """Remove ``addr``; absent address or interface counts as success (unchanged)."""
        await self.open()
        idx = await self._dev_index(addr.dev, default_dev, "delete address", str(addr))
        if isinstance(idx, NetResult):
            if idx.errno == errno_mod.ENODEV:
                return NetResult(True, "delete address", str(addr), changed=False,
                                 errno=errno_mod.ENODEV)
            return idx
        kw = {k: v for k, v in address_kwargs(addr, idx).items()
              if k in ("index", "family", "address", "local", "prefixlen")}
        return await self._do("delete address", str(addr), False, self.ipr.addr("del", **kw))

    async def list_addresses(self, ifname: str | None = None,
                             family: int | None = None) -> list[InterfaceAddress]:
        """Addresses of ``ifname`` (all interfaces when None), optionally one family (4/6)."""
        await self.open()
        kw: dict[str, Any] = {}
        if ifname is not None:
            idx = await self.ifindex(ifname)
            if idx is None:
                return []
            kw["index"] = idx
        if family is not None:
            kw["family"] = socket.AF_INET6 if family == 6 else socket.AF_INET
        out: list[InterfaceAddress] = []
        try:
            async for m in await self.ipr.addr("dump", **kw):
                out.append(_iface_addr(m))
        except Exception as e:
            log.warning("address dump failed: %s", e)
        return out

    async def has_address(self, ip: str, ifname: str | None = None) -> bool:
        want = ipaddress.ip_address(ip)
        return any(ipaddress.ip_address(a.ip) == want
                   for a in await self.list_addresses(ifname))

    async def primary_address(self, ifname: str, family: int = 4) -> str | None:
        """The address the kernel would pick as source on ``ifname``.

        IPv4: the first global-scope primary (non-secondary) address in kernel order, else the
        first primary of any scope (the kernel lists wider scopes first). IPv6: the first
        link-local.
        """
        addrs = await self.list_addresses(ifname, family)
        if family == 6:
            return next((a.ip for a in addrs if ipaddress.IPv6Address(a.ip).is_link_local),
                        None)
        primaries = [a for a in addrs if not a.secondary]
        best = next((a for a in primaries if a.scope == 0), primaries[0] if primaries else None)
        return best.ip if best else None

    async def remove_leftovers(self, addrs: Iterable[IpAddress],
                               default_dev: str | None = None) -> list[NetResult]:
        """Delete each of ``addrs`` that is present (VIPs a crashed run left behind).

        Only addresses actually found are deleted; the results list them.
        """
        results = []
        present: dict[str, set[ipaddress.IPv4Address | ipaddress.IPv6Address]] = {}
        for addr in addrs:
            dev = addr.dev or default_dev
            if dev is None:
                continue
            if dev not in present:
                present[dev] = {ipaddress.ip_address(a.ip)
                                for a in await self.list_addresses(dev)}
            if ipaddress.ip_address(addr.ip) in present[dev]:
                results.append(await self.delete_address(addr, default_dev))
        return results

    # -- routes --------------------------------------------------------------------------
    async def _route_call(self, command: str, route: Route) -> NetResult:
        await self.open()
        op = f"{'add' if command == 'add' else 'delete'} route"
        names = {n for n in [route.dev, *(v for nh in route.nexthops
                                          for k, v in nh if k == "dev")] if n}
        ifindex_of: dict[str, int] = {}
        for n in names:
            idx = await self._dev_index(n, None, op, str(route))
            if isinstance(idx, NetResult):
                if command == "del" and idx.errno == errno_mod.ENODEV:
                    return NetResult(True, op, str(route), changed=False, errno=idx.errno)
                return idx
            ifindex_of[n] = idx
        try:
            kw, ignored = route_kwargs(route, ifindex_of)
        except (ValueError, KeyError) as e:
            return NetResult(False, op, str(route), errno=errno_mod.EINVAL, error=str(e))
        if ignored:
            log.warning("%s %s: unsupported options ignored: %s", op, route, ", ".join(ignored))
        res = await self._do(op, str(route), command == "add", self.ipr.route(command, **kw))
        if res.ok and ignored:
            return NetResult(True, op, str(route), res.changed,
                             error="ignored: " + ", ".join(ignored))
        return res

    async def add_route(self, route: Route) -> NetResult:
        return await self._route_call("add", route)

    async def delete_route(self, route: Route) -> NetResult:
        return await self._route_call("del", route)

    # -- rules ---------------------------------------------------------------------------
    async def _rule_call(self, command: str, rule: Rule) -> NetResult:
        await self.open()
        op = f"{'add' if command == 'add' else 'delete'} rule"
        try:
            kw = rule_kwargs(rule)
        except (ValueError, KeyError, IndexError) as e:
            return NetResult(False, op, str(rule), errno=errno_mod.EINVAL, error=str(e))
        return await self._do(op, str(rule), command == "add", self.ipr.rule(command, **kw))

    async def add_rule(self, rule: Rule) -> NetResult:
        return await self._rule_call("add", rule)

    async def delete_rule(self, rule: Rule) -> NetResult:
        return await self._rule_call("del", rule)


def _iface_addr(m: Any) -> InterfaceAddress:
    fam = 6 if m["family"] == socket.AF_INET6 else 4
    local = m.get_attr("IFA_LOCAL")
    address = m.get_attr("IFA_ADDRESS")
    ip = local or address
    peer = address if (local and address and local != address) else None
    cache = m.get_attr("IFA_CACHEINFO")
    pref = None
    if cache is not None:
        p = int(cache["ifa_preferred"])
        pref = None if p == INFINITY_LFT else p
    flags = m.get_attr("IFA_FLAGS")
    flags = int(flags) if flags is not None else int(m["flags"])
    return InterfaceAddress(ip=str(ip), prefixlen=int(m["prefixlen"]), family=fam,
                            ifindex=int(m["index"]), label=m.get_attr("IFA_LABEL"),
                            scope=int(m["scope"]), secondary=bool(flags & IFA_F_SECONDARY),
                            peer=peer, broadcast=m.get_attr("IFA_BROADCAST"), flags=flags,
                            preferred_lft=pref)


def set_promote_secondaries(ifname: str, netns: str | None = None, on: bool = True) -> bool:
    """Set ``net.ipv4.conf.IF.promote_secondaries`` (keepalived's ``promote_secondaries``).

    Without it, deleting an interface's primary IPv4 address also deletes every secondary in
    the same subnet, VIPs included. Returns False (logged) when the sysctl cannot be written.
    """
    from pykeepalived.net.netns import in_netns

    path = f"/proc/sys/net/ipv4/conf/{ifname}/promote_secondaries"
    try:
        with in_netns(netns), open(path, "w") as f:
            f.write("1" if on else "0")
    except OSError as e:
        log.warning("promote_secondaries on %s: %s", ifname, e)
        return False
    return True
