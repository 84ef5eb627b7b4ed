"""``vrrp_strict`` / ``no_accept``: drop traffic to and from VIPs we must not accept.

The tables are the ones keepalived 2.2.7 builds (observed with ``nft list ruleset``; the
``nftables [TABLE]`` keyword changes the name, ``keepalived`` by default):

* ``table ip keepalived``: set ``vips`` (ipv4_addr); chain ``in`` (hook input, priority
  filter - 1) ``ip daddr @vips drop``; chain ``out`` (hook output, same priority)
  ``ip saddr @vips drop``.
* ``table ip6 keepalived``: set ``vips`` (ipv6_addr), constant set ``neighbor-discovery``
  (NS, NA: always accepted, the address must stay resolvable), set ``vips_link_local``
  (ipv6_addr . iface_index: a link-local VIP is only meaningful with its interface; made with
  its first element), chains ``in``/``out`` plus ``in_link_local``/``out_link_local`` for
  fe80::/10. An instance with ``dont_track_primary`` keys the link-local VIPs of its own
  interface by name instead (set ``vips_link_local_name``, ipv6_addr . ifname), unless
  ``nftables_ifindex`` is set.

``nftables_priority`` sets the chains' priority (-1 by default: ``filter - 1``) and
``nftables_counters`` puts a ``counter`` before the verdict of every rule, as keepalived does.

The daemon adds a VIP when the core says it must not accept traffic for it (keepalived: a
non-owner MASTER without accept mode) and removes it when that ends; ``teardown`` deletes the
tables at exit.

Changes are nft scripts, each applied as one atomic transaction: through libnftables
(``libnftables.so.1``, shipped with Debian's nftables, called with ctypes; about 0.1 ms, which
matters on the way to MASTER) when it loads, else through the ``nft`` CLI (``nft -f -``;
several milliseconds per process). Reads use ``nft -j``. Failures are logged and returned as
``NetResult`` values.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import json
import logging
from collections.abc import Iterable
from typing import Any

from pykeepalived.net.addresses import NetResult
from pykeepalived.net.links import if_name
from pykeepalived.net.netns import in_netns, netns_cmd

log = logging.getLogger("pykeepalived.net.firewall")

DEFAULT_TABLE = "keepalived"
ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert"
# the sets holding blocked addresses, in the order keepalived fills them
LISTED_SETS = (("ip", "vips"), ("ip6", "vips"), ("ip6", "vips_link_local"),
               ("ip6", "vips_link_local_name"))


def _valid_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        raise ValueError(f"bad nftables/interface name {name!r}")
    return name


def _chain(family: str, t: str, name: str, hook: str, priority: int) -> str:
    return (f"add chain {family} {t} {name} {{ type filter hook {hook} priority {priority} ; "
            "policy accept ; }")


def _verdict(verdict: str, counters: bool) -> str:
    """A rule's verdict, after a ``counter`` when ``nftables_counters`` asks for one (keepalived
    puts one in every rule it makes, just before the verdict)."""
    return f"counter {verdict}" if counters else verdict


def vips_part(table: str, family: str, priority: int = -1,
              have_out: bool = False, counters: bool = False) -> list[str]:
    """Sets, chains and rules that drop traffic to/from listed VIPs (``family`` ip | ip6).

    ``have_out``: the ``out`` chain already exists (the VMAC part made it). Chains are created
    before rules, in keepalived's order: ``nft list`` shows objects in creation order. The
    link-local sets come with their first element (``ll_part``), as in keepalived.
    """
    t = _valid_name(table)
    out = [] if have_out else [_chain(family, t, "out", "output", priority)]
    drop = _verdict("drop", counters)
    if family == "ip":
        return [f"add table ip {t}", f"add set ip {t} vips {{ type ipv4_addr ; }}", *out,
                f"add rule ip {t} out ip saddr @vips {drop}",
                _chain("ip", t, "in", "input", priority),
                f"add rule ip {t} in ip daddr @vips {drop}"]
    accept = _verdict("accept", counters)
    return [
        f"add table ip6 {t}",
        f"add set ip6 {t} vips {{ type ipv6_addr ; }}",
        f"add set ip6 {t} neighbor-discovery {{ type icmpv6_type ; flags constant ; "
        f"elements = {{ {ND_TYPES} }} ; }}",
        *out,
        _chain("ip6", t, "in", "input", priority),
        f"add chain ip6 {t} in_link_local",
        f"add chain ip6 {t} out_link_local",
        f"add rule ip6 {t} out icmpv6 type @neighbor-discovery {accept}",
        f"add rule ip6 {t} out ip6 saddr fe80::/10 {_verdict('goto out_link_local', counters)}",
        f"add rule ip6 {t} out ip6 saddr @vips {drop}",
        f"add rule ip6 {t} in icmpv6 type @neighbor-discovery {accept}",
        f"add rule ip6 {t} in ip6 daddr fe80::/10 {_verdict('goto in_link_local', counters)}",
        f"add rule ip6 {t} in ip6 daddr @vips {drop}",
    ]


def ll_part(table: str, by_name: bool = False, counters: bool = False) -> list[str]:
    """The set of link-local VIPs with their interface, and the rules dropping them: keyed by
    interface index (``vips_link_local``), or by name (``vips_link_local_name``: keepalived's
    choice for the addresses an instance with ``dont_track_primary`` holds on its own
    interface, unless ``nftables_ifindex``)."""
    t = _valid_name(table)
    name, typ, i, o = (("vips_link_local_name", "ifname", "iifname", "oifname") if by_name
                       else ("vips_link_local", "iface_index", "iif", "oif"))
    drop = _verdict("drop", counters)
    return [f"add set ip6 {t} {name} {{ type ipv6_addr . {typ} ; }}",
            f"add rule ip6 {t} in_link_local ip6 daddr . {i} @{name} {drop}",
            f"add rule ip6 {t} out_link_local ip6 saddr . {o} @{name} {drop}"]


def vmac_part(table: str, family: str, priority: int = -1,
              have_out: bool = False, counters: bool = False) -> list[str]:
    """keepalived's VMAC rules: multicast listener reports sent on a VMAC leave through the
    parent instead (``dup`` to the mapped device, original dropped), and IPv6 router
    solicitations from a VMAC are dropped, so no frame carries the shared virtual MAC except
    from the master's adverts, ARPs and NAs.

    ``have_out``: the ``out`` chain already exists with VIP rules; ours go in front of them.
    """
    t = _valid_name(table)
    drop = _verdict("drop", counters)
    if family == "ip":
        objs = [f"add table ip {t}",
                f"add map ip {t} vmac_map {{ type iface_index : iface_index ; }}"]
        rules = ['ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map '
                 f"@vmac_map {drop}"]
    else:
        objs = [f"add table ip6 {t}",
                f"add map ip6 {t} vmac_map {{ type iface_index : iface_index ; }}",
                f"add set ip6 {t} vmac_set {{ type iface_index ; }}"]
        rules = ['icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr '
                 f"device oif map @vmac_map {drop}",
                 f'icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set {drop}']
    if have_out:
        return objs + [f"insert rule {family} {t} out {r}" for r in reversed(rules)]
    return objs + [_chain(family, t, "out", "output", priority)] + [
        f"add rule {family} {t} out {r}" for r in rules]


def setup_script(table: str, priority: int = -1, counters: bool = False) -> str:
    """Both VIP parts at once, with the link-local set by index (what a Firewall holding
    IPv4, IPv6 and link-local VIPs ends up with)."""
    return "\n".join(vips_part(table, "ip", priority, counters=counters)
                     + vips_part(table, "ip6", priority, counters=counters)
                     + ll_part(table, counters=counters) + [""])


def teardown_script(table: str) -> str:
    t = _valid_name(table)
    return "\n".join([f"add table ip {t}", f"delete table ip {t}",
                      f"add table ip6 {t}", f"delete table ip6 {t}", ""])


def element_key(ip: str, ifname: str | None = None, by_name: bool = False) -> str:
    """How a blocked address is tracked: ``fe80::1%eth0`` for link-local (``fe80::1@eth0``
    when the set matches the interface by name), else the address."""
    a = ipaddress.ip_address(ip)
    if a.version == 6 and a.is_link_local:
        if not ifname:
            raise ValueError(f"link-local {a} needs its interface")
        return f"{a}{'@' if by_name else '%'}{_valid_name(ifname)}"
    return str(a)


def _split_key(key: str) -> tuple[str, str, str]:
    """``(address, interface, set)`` of an element key."""
    for sep, name in (("%", "vips_link_local"), ("@", "vips_link_local_name")):
        ip, found, ifname = key.partition(sep)
        if found:
            return ip, ifname, name
    return key, "", "vips"


def elements_script(table: str, keys: Iterable[str], add: bool) -> str:
    """nft script adding (or deleting) element keys (see ``element_key``) to/from the sets."""
    t = _valid_name(table)
    sets: dict[tuple[str, str], list[str]] = {
        (fam, name): [] for fam, name in LISTED_SETS}
    for key in keys:
        ip, ifname, name = _split_key(key)
        a = ipaddress.ip_address(ip)
        if ifname:
            sets["ip6", name].append(f'{a} . "{_valid_name(ifname)}"')
        else:
            sets["ip6" if a.version == 6 else "ip", "vips"].append(str(a))
    verb = "add" if add else "delete"
    lines = []
    for (fam, name), items in sets.items():
        if items:
            lines.append(f"{verb} element {fam} {t} {name} {{ {', '.join(items)} }}")
    return "\n".join(lines) + "\n"


class LibNft:
    """A libnftables context (its netlink socket lives in the namespace it was created in)."""

    _lib: Any = None

    @classmethod
    def _load(cls) -> Any:
        if cls._lib is None:
            lib = ctypes.CDLL("libnftables.so.1")
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
                getattr(lib, name).argtypes = [ctypes.c_void_p]
                getattr(lib, name).restype = ctypes.c_int
            for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
                getattr(lib, name).argtypes = [ctypes.c_void_p]
                getattr(lib, name).restype = ctypes.c_char_p
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
            lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_free.restype = None
            cls._lib = lib
        return cls._lib

    def __init__(self, netns: str | None = None) -> None:
        lib = self._load()
        with in_netns(netns):
            ctx = lib.nft_ctx_new(0)
        if not ctx:
            raise OSError("nft_ctx_new failed")
        self.ctx: int | None = ctx
        self.netns = netns
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)

    def run(self, script: str) -> tuple[int, str, str]:
        """Apply ``script`` (blocking, but a local netlink round trip)."""
        lib = self._lib
        # in the namespace too: libnftables resolves interface names in the calling thread
        with in_netns(self.netns):
            rc = int(lib.nft_run_cmd_from_buffer(self.ctx, script.encode()))
        out = (lib.nft_ctx_get_output_buffer(self.ctx) or b"").decode()
        err = (lib.nft_ctx_get_error_buffer(self.ctx) or b"").decode()
        return rc, out, err

    def close(self) -> None:
        if self.ctx:
            self._lib.nft_ctx_free(self.ctx)
            self.ctx = None


class Firewall:
    """keepalived's nftables tables in one namespace: ``await setup()`` once (clears what a
    previous run left), then ``block``/``unblock`` VIPs and ``add_vmac``/``remove_vmac``.

    ``backend``: ``"auto"`` (libnftables when it loads, else the CLI), ``"lib"`` or ``"cli"``.
    ``priority``, ``counters``, ``ifindex``: the ``nftables_priority``, ``nftables_counters``
    and ``nftables_ifindex`` keywords (chain priority; a counter in every rule; link-local
    VIPs always keyed by interface index, never by name).
    """

    def __init__(self, table: str = DEFAULT_TABLE, netns: str | None = None,
                 priority: int = -1, backend: str = "auto", counters: bool = False,
                 ifindex: bool = False) -> None:
        self.table = _valid_name(table)
        self.netns = netns
        self.priority = priority
        self.counters = counters
        self.ifindex = ifindex
        self.blocked: set[str] = set()
        self.vmacs: dict[str, tuple[str, str]] = {}  # VMAC -> (parent, nft family)
        self.parts: set[tuple[str, str]] = set()  # (ip|ip6, vips|vmac|ll set) present
        self._cleared = False
        self.lib: LibNft | None = None
        if backend in ("auto", "lib"):
            try:
                self.lib = LibNft(netns)
            except OSError as e:
                if backend == "lib":
                    raise
                log.debug("libnftables unavailable (%s); using the nft CLI", e)
        self.backend = "lib" if self.lib is not None else "cli"

    async def _nft(self, args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *netns_cmd(self.netns, ["nft", *args]),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        return proc.returncode or 0, out.decode(), err.decode()

    async def _apply(self, op: str, target: str, script: str,
                     quiet: bool = False) -> NetResult:
        try:
            if self.lib is not None:
                rc, _out, err = self.lib.run(script)
            else:
                rc, _out, err = await self._nft(["-f", "-"], script)
        except OSError as e:
            log.warning("nft %s: %s", op, e)
            return NetResult(False, op, target, errno=e.errno or 0, error=str(e))
        if rc != 0:
            if not quiet:
                log.warning("nft %s %s failed: %s", op, target, err.strip())
            return NetResult(False, op, target, errno=rc, error=err.strip())
        return NetResult(True, op, target)

    async def setup(self) -> NetResult:
        """Drop what an earlier run left; the tables are then built as they are needed."""
        res = await self._apply("setup", self.table, teardown_script(self.table))
        if res.ok:
            self._cleared = True
            self.blocked.clear()
            self.vmacs.clear()
            self.parts.clear()
        return res

    def _part_script(self, family: str, part: str) -> list[str]:
        if (family, part) in self.parts:
            return []
        if part.startswith("vips_link_local"):
            return ll_part(self.table, part.endswith("_name"), self.counters)
        other = "vmac" if part == "vips" else "vips"
        build = vips_part if part == "vips" else vmac_part
        return build(self.table, family, self.priority,
                     have_out=(family, other) in self.parts, counters=self.counters)

    async def _ensure(self, op: str, target: str, lines: list[str],
                      parts: list[tuple[str, str]]) -> NetResult:
        """Apply the parts still missing plus ``lines`` as one transaction."""
        if not self._cleared:
            res = await self.setup()
            if not res.ok:
                return res
        script: list[str] = []
        for fam, part in parts:
            script += self._part_script(fam, part)
        res = await self._apply(op, target, "\n".join(script + lines) + "\n")
        if res.ok:
            self.parts.update(parts)
        return res

    def _keys(self, ips: Iterable[str], ifname: str | None, op: str,
              by_name: bool = False) -> list[str]:
        keys = []
        for ip in ips:
            try:
                keys.append(element_key(ip, ifname, by_name and not self.ifindex))
            except ValueError as e:
                log.warning("firewall %s %s: %s", op, ip, e)
        return list(dict.fromkeys(keys))

    async def block(self, ips: Iterable[str], ifname: str | None = None,
                    by_name: bool = False) -> NetResult:
        """Drop traffic to and from ``ips`` (already blocked ones are skipped).

        ``ifname``: the interface of link-local IPv6 addresses (skipped, logged, without it);
        ``by_name``: match it by name (keepalived does for an instance with
        ``dont_track_primary``, on its own interface), unless ``ifindex``.
        """
        new = [k for k in self._keys(ips, ifname, "block", by_name) if k not in self.blocked]
        if not new:
            return NetResult(True, "block", "", changed=False)
        fams = sorted({"ip6" if ":" in k else "ip" for k in new})
        lls = sorted({_split_key(k)[2] for k in new} - {"vips"})
        res = await self._ensure("block", " ".join(new),
                                 elements_script(self.table, new, True).splitlines(),
                                 [(f, "vips") for f in fams] + [("ip6", s) for s in lls])
        if res.ok:
            self.blocked.update(new)
        return res

    async def add_vmac(self, vmac: str, parent: str, family: int = 4) -> NetResult:
        """Route listener reports of ``vmac`` through ``parent`` (keepalived does this for
        every VMAC); ``family`` is the VMAC's (4: IGMP, 6: MLD + router solicitations)."""
        fam = "ip6" if family == 6 else "ip"
        if self.vmacs.get(vmac) == (parent, fam):
            return NetResult(True, "add vmac", vmac, changed=False)
        v, p, t = _valid_name(vmac), _valid_name(parent), self.table
        lines = [f'add element {fam} {t} vmac_map {{ "{v}" : "{p}" }}']
        if fam == "ip6":
            lines.append(f'add element ip6 {t} vmac_set {{ "{v}" }}')
        res = await self._ensure("add vmac", vmac, lines, [(fam, "vmac")])
        if res.ok:
            self.vmacs[vmac] = (parent, fam)
        return res

    async def remove_vmac(self, vmac: str) -> NetResult:
        """Forget ``vmac`` (before deleting the interface: the map holds its index)."""
        if vmac not in self.vmacs:
            return NetResult(True, "remove vmac", vmac, changed=False)
        parent, fam = self.vmacs[vmac]
        v, p, t = _valid_name(vmac), _valid_name(parent), self.table
        lines = [f'delete element {fam} {t} vmac_map {{ "{v}" : "{p}" }}']
        if fam == "ip6":
            lines.append(f'delete element ip6 {t} vmac_set {{ "{v}" }}')
        res = await self._apply("remove vmac", vmac, "\n".join(lines) + "\n")
        if res.ok:
            del self.vmacs[vmac]
        return res

    async def unblock(self, ips: Iterable[str], ifname: str | None = None,
                      by_name: bool = False) -> NetResult:
        """Accept traffic to ``ips`` again (unknown ones are skipped)."""
        gone = [k for k in self._keys(ips, ifname, "unblock", by_name) if k in self.blocked]
        if not gone:
            return NetResult(True, "unblock", "", changed=False)
        script = elements_script(self.table, gone, False)
        res = await self._apply("unblock", " ".join(gone), script, quiet=True)
        if not res.ok and "No such file" in res.error:
            # Someone removed an element (or the table) behind our back; one missing element
            # fails the whole transaction, so delete the rest one by one.
            res = NetResult(True, "unblock", " ".join(gone))
            for key in gone:
                one = await self._apply("unblock", key,
                                        elements_script(self.table, [key], False), quiet=True)
                if not one.ok and "No such file" not in one.error:
                    log.warning("nft unblock %s failed: %s", key, one.error)
                    res = one
        elif not res.ok:
            log.warning("nft unblock %s failed: %s", " ".join(gone), res.error)
        if res.ok:
            self.blocked.difference_update(gone)
        return res

    async def listed(self) -> set[str]:
        """Element keys currently in the kernel's sets (read back with ``nft -j``)."""
        out: set[str] = set()
        for fam, name in LISTED_SETS:
            rc, text, _err = await self._nft(["-j", "list", "set", fam, self.table, name])
            if rc != 0:
                continue
            for item in json.loads(text).get("nftables", []):
                for elem in item.get("set", {}).get("elem", []):
                    if isinstance(elem, str):
                        out.add(elem)
                    elif isinstance(elem, dict) and "concat" in elem:
                        ip, dev = elem["concat"]
                        if isinstance(dev, int):  # nft -j prints the index
                            try:
                                dev = if_name(dev, self.netns)
                            except OSError:
                                pass
                        sep = "@" if name.endswith("_name") else "%"
                        out.add(f"{ip}{sep}{dev}")
        return out

    async def teardown(self) -> NetResult:
        """Delete both tables (at exit). Absent tables count as success."""
        self.blocked.clear()
        self.vmacs.clear()
        self.parts.clear()
        return await self._apply("teardown", self.table, teardown_script(self.table))

    def close(self) -> None:
        """Release the libnftables context (the table itself stays; see ``teardown``)."""
        if self.lib is not None:
            self.lib.close()
            self.lib = None
            self.backend = "cli"
