"""VMAC interfaces for ``use_vmac``: a macvlan on the instance's interface carrying the virtual
router MAC (RFC 5798 §7.3), so failover moves the MAC with the VIPs.

What keepalived 2.2.7 does, as observed in a namespace (and what we do):

* MAC 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6), macvlan mode ``private``.
* Name ``<vmac_prefix>.<VRID>`` (``vrrp.51``); when an IPv4 and an IPv6 instance share a VRID
  the second one gets ``vrrp6.51`` (``resolve_vmac`` picks the name in keepalived's order,
  ``vmac_names``: an IPv4 one would be ``vrrp1.51``). The VMACs ``use_vmac_addr`` makes for
  single addresses are named the same way with ``vmac_addr_prefix``.
* ``addrgenmode none`` on every VMAC: an EUI-64 link-local derived from the shared virtual MAC
  would be identical on every router (DAD clashes, MLD reports from the virtual MAC on the
  backup, and for IPv6 a shared advert source that breaks the election tie-break). An IPv6 VMAC
  instead gets a copy of the parent's link-local, ``nodad`` and deprecated (preferred_lft 0),
  so adverts leave with the router's own link-local source.
* Sysctls: parent ``arp_ignore=1``, ``arp_filter=1``; VMAC ``arp_ignore=1``,
  ``accept_local=1``, ``rp_filter=0``, ``promote_secondaries=1``. We also set the parent's
  ``arp_announce=2`` (not keepalived): otherwise the parent's own ARP requests, sourced from a
  VIP, teach clients the parent's MAC for it. The parent's values are restored when its last
  VMAC is deleted.

keepalived also routes IGMP/MLD reports sent on a VMAC through the parent with nftables:
``Firewall.add_vmac`` (the daemon calls it for each VMAC).

``vmac_xmit_base``: the daemon simply opens its advert socket on ``parent`` instead of the VMAC
(``xmit_interface``); GARPs still carry the VMAC MAC.
"""

from __future__ import annotations

import errno as errno_mod
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pykeepalived.net.addresses import AddressManager, NetResult
from pykeepalived.net.netns import in_netns

log = logging.getLogger("pykeepalived.net.vmac")

ADDR_GEN_MODE_NONE = 1
ADDR_GEN_MODE_RANDOM = 3


def parent_sysctls(parent: str) -> list[tuple[str, str, str]]:
    """The parent must neither answer ARP for VIPs on the VMAC (arp_ignore/arp_filter) nor
    announce a VIP as the sender of its own ARP requests (arp_announce=2): either would teach
    clients the parent's MAC for the VIP."""
    return [(parent, "arp_ignore", "1"), (parent, "arp_filter", "1"),
            (parent, "arp_announce", "2")]


def vmac_sysctls(name: str) -> list[tuple[str, str, str]]:
    """Adverts sent by the parent come back on the VMAC: accept local sources, no rp_filter.
    Every VMAC on a parent sees every broadcast ARP request: answer only for own addresses."""
    return [(name, "accept_local", "1"), (name, "rp_filter", "0"),
            (name, "arp_ignore", "1"), (name, "arp_announce", "2"),
            (name, "promote_secondaries", "1")]


def vmac_mac(vrid: int, family: int = 4) -> str:
    """The virtual router MAC for ``vrid`` in ``family`` (4 or 6)."""
    if not 1 <= vrid <= 255:
        raise ValueError("VRID must be 1..255")
    return f"00:00:5e:00:{1 if family == 4 else 2:02x}:{vrid:02x}"


_NAME_TRIES = 8  # candidate names tried (keepalived tries on; eight VMACs of one VRID suffice)


def vmac_names(vrid: int, prefix: str = "vrrp", family: int = 4) -> Iterator[str]:
    """keepalived's candidate names, in its order: ``PREFIX.VRID``, then for IPv6
    ``PREFIX6.VRID``, ``PREFIX1.VRID`` .. ``PREFIX5.VRID``, ``PREFIX7.VRID`` ..; for IPv4
    ``PREFIX1.VRID``, ``PREFIX2.VRID`` .. (the prefix shortened to fit 15 characters)."""
    def fit(num: str) -> str:
        tail = f"{num}.{vrid}"
        return prefix[:15 - len(tail)] + tail

    yield fit("")
    order = (6, 1, 2, 3, 4, 5) if family == 6 else (1, 2, 3, 4, 5, 6)
    for n in (*order, *range(7, _NAME_TRIES)):
        yield fit(str(n))


def vmac_name(vrid: int, prefix: str = "vrrp", family: int = 4, alternate: bool = False) -> str:
    """Default interface name ``vrrp.51``; ``alternate`` gives the name used when that one is
    taken (by the other family's VMAC, say): ``vrrp6.51`` (IPv6) / ``vrrp1.51`` (IPv4)."""
    names = vmac_names(vrid, prefix, family)
    first = next(names)
    return next(names) if alternate else first


@dataclass(frozen=True)
class Vmac:
    """A VMAC to create: ``name`` on ``parent`` with ``mac``, ``mode`` private|bridge|vepa."""

    parent: str
    vrid: int
    family: int = 4
    name: str | None = None
    mac: str | None = None
    mode: str = "private"
    prefix: str = "vrrp"

    @property
    def ifname(self) -> str:
        return self.name or vmac_name(self.vrid, self.prefix, self.family)

    @property
    def address(self) -> str:
        return (self.mac or vmac_mac(self.vrid, self.family)).lower()


def xmit_interface(vmac: Vmac, xmit_base: bool) -> str:
    """Interface the adverts leave from: the parent with ``vmac_xmit_base``, else the VMAC."""
    return vmac.parent if xmit_base else vmac.ifname


def _conf_write(netns: str | None, ifname: str, key: str, value: str) -> str | None:
    """Write ``net.ipv4.conf.IF.KEY``; returns the previous value (None when unavailable).

    Built as a path, not a dotted name: VMAC names contain dots.
    """
    path = f"/proc/sys/net/ipv4/conf/{ifname}/{key}"
    try:
        with in_netns(netns):
            with open(path) as f:
                old = f.read().strip()
            with open(path, "w") as f:
                f.write(value)
        return old
    except OSError as e:
        log.debug("sysctl %s: %s", key, e)
        return None


# Parent sysctl values before our first VMAC on it: (netns, parent, key) -> value.
_saved_parent: dict[tuple[str | None, str, str], str] = {}


async def _macvlans_on(am: AddressManager, parent: str) -> int:
    idx = await am.ifindex(parent)
    if idx is None:
        return 0
    count = 0
    async for m in await am.ipr.link("dump"):
        info = m.get_attr("IFLA_LINKINFO")
        if (info is not None and info.get_attr("IFLA_INFO_KIND") == "macvlan"
                and m.get_attr("IFLA_LINK") == idx):
            count += 1
    return count


async def _macvlan_info(am: AddressManager, name: str) -> tuple[int, int | None, str] | None:
    """(ifindex, parent ifindex, MAC) of macvlan ``name``; None if absent or not a macvlan."""
    idx = await am.ifindex(name)
    if idx is None:
        return None
    msg = (await am.ipr.link("get", index=idx))[0]
    info = msg.get_attr("IFLA_LINKINFO")
    if info is None or info.get_attr("IFLA_INFO_KIND") != "macvlan":
        return (idx, -1, "")
    return (idx, msg.get_attr("IFLA_LINK"), str(msg.get_attr("IFLA_ADDRESS")).lower())


async def resolve_vmac(am: AddressManager, vmac: Vmac) -> Vmac:
    """``vmac`` with its interface name fixed, keepalived's way.

    An explicit name is kept. Otherwise ``vrrp.VRID`` unless the other family's VMAC for the
    same VRID already holds it, then ``vrrp6.VRID`` (or ``vrrp4.VRID``). Call it before
    ``create_vmac`` and use the returned object's ``ifname`` from then on.
    """
    if vmac.name:
        return vmac
    await am.open()
    parent = await am.ifindex(vmac.parent)
    names = list(itertools.islice(vmac_names(vmac.vrid, vmac.prefix, vmac.family),
                                  _NAME_TRIES))
    for name in names:
        try:
            held = await _macvlan_info(am, name)
        except Exception as e:
            log.debug("VMAC lookup %s: %s", name, e)
            held = None
        if held is None or (held[1] == parent and held[2] == vmac.address):
            return replace(vmac, name=name)
    return replace(vmac, name=names[-1])  # taken too: create_vmac says so


async def create_vmac(am: AddressManager, vmac: Vmac, up: bool = True) -> NetResult:
    """Create (or adopt an existing, matching) VMAC and bring it up.

    The name comes from ``resolve_vmac`` (``NetResult.target`` is the name used). An interface
    of that name that is a macvlan on the same parent is reused (a previous run left it);
    anything else under that name is an error.
    """
    await am.open()
    ipr: Any = am.ipr
    vmac = await resolve_vmac(am, vmac)
    name = vmac.ifname
    parent = await am.ifindex(vmac.parent)
    if parent is None:
        return NetResult(False, "create vmac", name, errno=errno_mod.ENODEV,
                         error=f"parent {vmac.parent} not found")
    existing = await am.ifindex(name)
    changed = existing is None
    try:
        if existing is None:
            await ipr.link("add", ifname=name, kind="macvlan", link=parent,
                           macvlan_mode=vmac.mode, address=vmac.address)
            existing = await am.ifindex(name)
            if existing is None:
                raise OSError(errno_mod.ENODEV, f"{name} vanished after creation")
        else:
            msg = (await ipr.link("get", index=existing))[0]
            info = msg.get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
            if kind != "macvlan" or msg.get_attr("IFLA_LINK") != parent:
                return NetResult(False, "create vmac", name, errno=errno_mod.EEXIST,
                                 error=f"{name} exists and is not a VMAC on {vmac.parent}")
            if str(msg.get_attr("IFLA_ADDRESS")).lower() != vmac.address:
                await ipr.link("set", index=existing, address=vmac.address)
        await ipr.link("set", index=existing, IFLA_AF_SPEC={"attrs": [[
            "AF_INET6", {"attrs": [["IFLA_INET6_ADDR_GEN_MODE", ADDR_GEN_MODE_NONE]]}]]})
        for ifname, key, value in parent_sysctls(vmac.parent):
            old = _conf_write(am.netns, ifname, key, value)
            if old is not None:
                _saved_parent.setdefault((am.netns, ifname, key), old)
        for ifname, key, value in vmac_sysctls(name):
            _conf_write(am.netns, ifname, key, value)
        if up:
            await ipr.link("set", index=existing, state="up")
        if vmac.family == 6:
            await _copy_link_local(am, vmac.parent, name)
    except Exception as e:
        code = getattr(e, "code", None) or getattr(e, "errno", 0) or 0
        log.warning("creating VMAC %s on %s failed: %s", name, vmac.parent, e)
        return NetResult(False, "create vmac", name, errno=int(code), error=str(e))
    return NetResult(True, "create vmac", name, changed=changed)


async def _copy_link_local(am: AddressManager, parent: str, name: str) -> None:
    """Give an IPv6 VMAC the parent's link-local (nodad, deprecated), as keepalived does."""
    import ipaddress

    from pykeepalived.net.addresses import IpAddress

    lls = [a for a in await am.list_addresses(parent, 6)
           if ipaddress.IPv6Address(a.ip).is_link_local]
    if not lls:
        log.warning("VMAC %s: parent %s has no IPv6 link-local address yet", name, parent)
        return
    res = await am.add_address(IpAddress(lls[0].ip, 64, scope="link", nodad=True,
                                         preferred_lft=0), name)
    if not res.ok:
        log.warning("VMAC %s: link-local %s: %s", name, lls[0].ip, res.error)


async def set_vmac_state(am: AddressManager, vmac: Vmac, up: bool) -> NetResult:
    """Bring the VMAC up or down (it keeps its addresses while down)."""
    await am.open()
    op = f"vmac {'up' if up else 'down'}"
    try:
        name, idx = await _find_vmac(am, vmac)
    except Exception as e:
        return NetResult(False, op, vmac.ifname, error=str(e))
    vmac = replace(vmac, name=name)
    if idx is None:
        return NetResult(False, op, vmac.ifname, errno=errno_mod.ENODEV, error="not found")
    try:
        await am.ipr.link("set", index=idx, state="up" if up else "down")
    except Exception as e:
        log.warning("%s %s failed: %s", op, vmac.ifname, e)
        return NetResult(False, op, vmac.ifname, errno=int(getattr(e, "code", 0) or 0),
                         error=str(e))
    return NetResult(True, op, vmac.ifname)


async def _find_vmac(am: AddressManager, vmac: Vmac) -> tuple[str, int | None]:
    """The name and index of ``vmac`` as it exists now (a default name is matched by MAC, so
    the other family's VMAC for the same VRID is never mistaken for it)."""
    if vmac.name:
        return vmac.name, await am.ifindex(vmac.name)
    parent = await am.ifindex(vmac.parent)
    for name in itertools.islice(vmac_names(vmac.vrid, vmac.prefix, vmac.family), _NAME_TRIES):
        held = await _macvlan_info(am, name)
        if held is not None and held[1] == parent and held[2] == vmac.address:
            return name, held[0]
    return vmac.ifname, None


async def delete_vmac(am: AddressManager, vmac: Vmac) -> NetResult:
    """Delete the VMAC; absent counts as success (unchanged)."""
    await am.open()
    try:
        name, idx = await _find_vmac(am, vmac)
    except Exception as e:
        log.warning("looking up VMAC %s failed: %s", vmac.ifname, e)
        return NetResult(False, "delete vmac", vmac.ifname, errno=0, error=str(e))
    vmac = replace(vmac, name=name)
    if idx is None:
        return NetResult(True, "delete vmac", vmac.ifname, changed=False,
                         errno=errno_mod.ENODEV)
    try:
        await am.ipr.link("del", index=idx)
    except Exception as e:
        code = int(getattr(e, "code", 0) or 0)
        if code == errno_mod.ENODEV:
            return NetResult(True, "delete vmac", vmac.ifname, changed=False, errno=code)
        log.warning("deleting VMAC %s failed: %s", vmac.ifname, e)
        return NetResult(False, "delete vmac", vmac.ifname, errno=code, error=str(e))
    await _restore_parent(am, vmac.parent)
    return NetResult(True, "delete vmac", vmac.ifname)


async def _restore_parent(am: AddressManager, parent: str) -> None:
    """Put the parent's ARP sysctls back once its last VMAC is gone."""
    keys = [k for k in _saved_parent if k[0] == am.netns and k[1] == parent]
    if not keys:
        return
    try:
        if await _macvlans_on(am, parent):
            return
    except Exception as e:
        log.debug("macvlan dump on %s: %s", parent, e)
        return
    for k in keys:
        _conf_write(am.netns, parent, k[2], _saved_parent.pop(k))
