"""Everything the VRRP child asks of the kernel, behind one facade it is given.

``Kernel`` is the contract: addresses, routes and rules (netlink), link state and link/address
events, route/rule deletion events, VMACs, the nftables table (``no_accept`` drops and VMAC
rules), gratuitous ARP/unsolicited NA senders and the raw VRRP sockets. ``LinuxKernel`` is the
real one, built on the ``net`` shells; ``VrrpProcess(opts, kernel=...)`` takes another, so a
reload or receive-path bug can be reproduced in a unit test with an in-memory kernel (the real
one is exercised against the kernel in ``tests/netns``).

Every call that changes the kernel returns a ``NetResult`` (errors are values, logged by the
caller), except where the old code raised: ``setup_vmac`` and ``open_socket`` raise ``OSError``
(the instance cannot start), ``watch_routes`` raises when the monitor cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errno_mod
import fcntl
import logging
import os
import socket
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pykeepalived.net import igmp
from pykeepalived.net.addresses import (
    IDEMPOTENT_ADD,
    IDEMPOTENT_DEL,
    AddressManager,
    InterfaceAddress,
    IpAddress,
    NetResult,
    Route,
    Rule,
    address_kwargs,
)
from pykeepalived.net.arp import Announcer
from pykeepalived.net.firewall import Firewall
from pykeepalived.net.links import LinkInfo, LinkMonitor, NetEvent, if_index, link_info
from pykeepalived.net.rcvbuf import RcvBuf
from pykeepalived.net.rtnl import RTPROT_KEEPALIVED, RtnlSocket
from pykeepalived.net.sockets import Received, VrrpSocket4, VrrpSocket6
from pykeepalived.net.vmac import Vmac, create_vmac, delete_vmac, resolve_vmac

log = logging.getLogger("pykeepalived")

__all__ = ["Kernel", "KernelPort", "LinuxKernel", "Sender", "SocketSpec", "VrrpSocket", "ioctl_up"]


@dataclass(frozen=True)
class SocketSpec:
    """One shared raw VRRP socket: (interface, family, unicast) plus how to open it.

    ``group``: the multicast group joined (multicast mode). ``ah``: IPv4 also reads and sends
    IP protocol 51. ``src``/``hop_limit``: IPv6 source (None: the link-local) and hop limit.
    ``rcvbuf``: ``kernel_rx_buf_size`` (None: the sockets' own default).
    """

    ifname: str
    family: int
    unicast: bool
    group: str
    ah: bool = False
    src: str | None = None
    hop_limit: int = 255
    rcvbuf: int | None = None


AddressResult = Callable[[IpAddress, int], None]


class Sender(Protocol):
    """Gratuitous ARP / unsolicited NA on one interface (``net.arp.Announcer``)."""

    def garp(self, ip: str) -> object: ...

    def unsolicited_na(self, ip: str) -> object: ...


class VrrpSocket(Protocol):
    """A raw VRRP socket (``net.sockets.VrrpSocket4``/``VrrpSocket6``)."""

    @property
    def has_ah(self) -> bool: ...

    @property
    def src(self) -> str | None: ...

    def send(self, data: bytes, dst: str) -> OSError | None: ...

    def join(self, group: str) -> None: ...

    @property
    def ifindex(self) -> int:
        """The index of the interface the socket was bound to when opened."""
        ...

    def set_rcvbuf(self, nbytes: int) -> None: ...

    def close(self) -> None: ...


class KernelPort(Protocol):
    """What one instance does to the kernel (``daemon.instance.Instance``): its addresses,
    routes and rules, the ``no_accept`` drops and GARP/NA."""

    async def add_address(self, addr: IpAddress, default_dev: str | None = None, *,
                          quiet: bool = False, tag: bool = False) -> NetResult:
        """``quiet``: a refusal is not logged (the caller logs repeated tries once).
        ``tag``: the address is a VIP, tagged ``proto keepalived`` (what the supervisor
        removes when the VRRP child dies; an address owner's are not tagged)."""
        ...

    async def delete_address(self, addr: IpAddress,
                             default_dev: str | None = None) -> NetResult: ...

    async def add_route(self, route: Route) -> NetResult: ...

    async def delete_route(self, route: Route) -> NetResult: ...

    async def add_rule(self, rule: Rule) -> NetResult: ...

    async def delete_rule(self, rule: Rule) -> NetResult: ...

    @property
    def has_firewall(self) -> bool: ...

    async def block(self, ips: Iterable[str], dev: str, by_name: bool = False) -> NetResult: ...

    async def unblock(self, ips: Iterable[str], dev: str,
                      by_name: bool = False) -> NetResult: ...

    def announcer(self, dev: str, mac: str | None) -> Sender | None: ...

    def addresses_now(self, addrs: Sequence[IpAddress], default_dev: str, *, add: bool,
                      on_result: AddressResult | None = None, tag: bool = False) -> bool:
        """Add or delete ``addrs`` at once, in order: the kernel has applied every request
        when this returns (as keepalived's synchronous netlink calls in its receive and timer
        paths). How each went is known later (``on_result(addr, errno)``, errno 0 for done or
        already so; a failure without ``on_result`` is logged). ``tag``: as ``add_address``.
        False: not available, use the awaited calls."""
        ...


class Kernel(KernelPort, Protocol):
    """What the VRRP child does to the kernel (see the module docstring)."""

    def set_netlink_rcvbufs(self, command: RcvBuf, monitor: RcvBuf) -> None: ...

    def forget_announcers(self, dev: str) -> None:
        """Close the GARP/NA senders of ``dev`` (it was deleted and made again: they are bound
        to its old index); the next ``announcer`` call opens new ones."""
        ...

    def disable_local_igmp(self) -> bool:
        """No IGMP reports for link-local groups (``disable_local_igmp``); True when they
        were on."""
        ...

    def restore_local_igmp(self) -> None:
        """Reports for link-local groups on again (after ``disable_local_igmp`` said True)."""
        ...

    async def open(self) -> None: ...

    def close(self) -> None: ...

    async def list_addresses(self, ifname: str) -> list[InterfaceAddress]: ...

    async def primary_address(self, ifname: str, family: int) -> str | None: ...

    # -- links and events
    async def link_up(self, ifname: str) -> bool: ...

    async def link_mtu(self, ifname: str) -> int: ...

    def link_exists(self, ifname: str) -> bool: ...

    async def watch_links(self, on_event: Callable[[NetEvent], None]) -> None: ...

    async def watch_routes(self, on_delete: Callable[[], None]) -> None: ...

    async def stop_route_watch(self) -> None: ...

    async def stop_link_watch(self) -> None: ...

    # -- VMAC
    async def setup_vmac(self, vmac: Vmac) -> Vmac: ...

    async def delete_vmac(self, vmac: Vmac) -> NetResult: ...

    # -- nftables
    async def setup_firewall(self, table: str, priority: int = -1, counters: bool = False,
                             ifindex: bool = False) -> None: ...

    async def firewall_add_vmac(self, vmac: str, parent: str, family: int) -> NetResult: ...

    async def firewall_remove_vmac(self, vmac: str) -> NetResult: ...

    async def teardown_firewall(self) -> None: ...

    # -- VRRP sockets
    def open_socket(self, spec: SocketSpec, on_received: Callable[[Received], None],
                    on_datagram4: Callable[[bytes], bool] | None,
                    after_batch: Callable[[], None]) -> VrrpSocket: ...


def ioctl_up(ifname: str) -> bool:
    """IFF_UP and IFF_RUNNING from SIOCGIFFLAGS: the fallback when netlink gives no answer
    (False when the interface does not exist)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sH", ifname.encode()[:15], 0)
            flags = struct.unpack_from("H", fcntl.ioctl(s.fileno(), 0x8913, req), 16)[0]
    except OSError:
        return False
    return bool(flags & 0x1) and bool(flags & 0x40)


class LinuxKernel:
    """The real kernel, through ``net``: pyroute2 netlink, nftables, AF_PACKET, raw sockets."""

    def __init__(self) -> None:
        self.am = AddressManager()
        self.firewall: Firewall | None = None
        self._announcers: dict[tuple[str, str | None], Announcer] = {}
        self._monitor: LinkMonitor | None = None
        self._monitor_rcvbuf: RcvBuf | None = None
        self._route_watch: Any = None
        # addresses_now: requests sent, acknowledgements read by a loop reader
        self._rtnl: RtnlSocket | None = None
        self._sent: dict[int, tuple[IpAddress, str, bool, AddressResult | None]] = {}

    def set_netlink_rcvbufs(self, command: RcvBuf, monitor: RcvBuf) -> None:
        """``vrrp_netlink_cmd_rcv_bufs`` and ``vrrp_netlink_monitor_rcv_bufs``: the netlink
        sockets take them as they open (``open``, ``watch_links``)."""
        self.am.rcvbuf = command
        self._monitor_rcvbuf = monitor

    def disable_local_igmp(self) -> bool:
        return igmp.disable_link_local_reports()

    def restore_local_igmp(self) -> None:
        igmp.restore_link_local_reports()

    # -- addresses, routes, rules
    async def open(self) -> None:
        await self.am.open()
        if self._rtnl is None:
            try:
                self._rtnl = RtnlSocket()
            except OSError as e:
                log.warning("immediate address changes unavailable (%s): using netlink "
                            "requests from the loop", e)
                return
            asyncio.get_running_loop().add_reader(self._rtnl.fileno(), self._on_acks)

    def close(self) -> None:
        for a in self._announcers.values():
            with contextlib.suppress(Exception):
                a.close()
        self._announcers.clear()
        if self._rtnl is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._rtnl.fileno())
            self._rtnl.close()
            self._rtnl = None
        with contextlib.suppress(Exception):
            self.am.close()

    def addresses_now(self, addrs: Sequence[IpAddress], default_dev: str, *, add: bool,
                      on_result: AddressResult | None = None, tag: bool = False) -> bool:
        rt = self._rtnl
        if rt is None:
            return False
        for a in addrs:
            dev = a.dev or default_dev
            try:
                kw = address_kwargs(a, if_index(dev))
            except (OSError, ValueError) as e:
                err = getattr(e, "errno", None) or errno_mod.EINVAL
                self._result(a, dev, add, on_result, err)
                continue
            if add and tag:
                kw["proto"] = RTPROT_KEEPALIVED
            try:
                seq = rt.add_address(kw) if add else rt.delete_address(kw)
            except OSError as e:  # the socket itself (ENOBUFS...): as a refusal
                self._result(a, dev, add, on_result, e.errno or errno_mod.EIO)
                continue
            self._sent[seq] = (a, dev, add, on_result)
        return True

    def _on_acks(self) -> None:
        if self._rtnl is None:
            return
        for seq, err in self._rtnl.acks():
            sent = self._sent.pop(seq, None)
            if sent is not None:
                a, dev, add, on_result = sent
                self._result(a, dev, add, on_result, err)

    @staticmethod
    def _result(a: IpAddress, dev: str, add: bool, on_result: AddressResult | None,
                err: int) -> None:
        if err in (IDEMPOTENT_ADD if add else IDEMPOTENT_DEL):
            err = 0
        if on_result is not None:
            on_result(a, err)
        elif err:
            log.warning("%s address %s dev %s failed: (%d, '%s')", "add" if add else "delete",
                        a, dev, err, os.strerror(err))

    async def add_address(self, addr: IpAddress, default_dev: str | None = None, *,
                          quiet: bool = False, tag: bool = False) -> NetResult:
        return await self.am.add_address(addr, default_dev, quiet=quiet,
                                         proto=RTPROT_KEEPALIVED if tag else None)

    async def delete_address(self, addr: IpAddress,
                             default_dev: str | None = None) -> NetResult:
        return await self.am.delete_address(addr, default_dev)

    async def list_addresses(self, ifname: str) -> list[InterfaceAddress]:
        return await self.am.list_addresses(ifname)

    async def primary_address(self, ifname: str, family: int) -> str | None:
        return await self.am.primary_address(ifname, family)

    async def add_route(self, route: Route) -> NetResult:
        return await self.am.add_route(route)

    async def delete_route(self, route: Route) -> NetResult:
        return await self.am.delete_route(route)

    async def add_rule(self, rule: Rule) -> NetResult:
        return await self.am.add_rule(rule)

    async def delete_rule(self, rule: Rule) -> NetResult:
        return await self.am.delete_rule(rule)

    # -- links and events
    def link_exists(self, ifname: str) -> bool:
        try:
            if_index(ifname)
        except OSError:
            return False
        return True

    async def _link_info(self, ifname: str) -> LinkInfo | None:
        """``ifname``'s link facts from netlink (None, logged, when the query fails)."""
        try:
            return await link_info(ifname, ipr=self.am.ipr)
        except Exception as e:
            log.warning("netlink link query for %s failed: %s", ifname, e)
            return None

    async def link_up(self, ifname: str) -> bool:
        """Whether ``ifname`` is usable now (netlink; SIOCGIFFLAGS when netlink fails)."""
        info = await self._link_info(ifname)
        return info.oper_up if info is not None else ioctl_up(ifname)

    async def link_mtu(self, ifname: str) -> int:
        """``ifname``'s MTU (0 when it cannot be read: the MTU policy then asks nothing)."""
        info = await self._link_info(ifname)
        return info.mtu if info is not None else 0

    async def watch_links(self, on_event: Callable[[NetEvent], None]) -> None:
        self._monitor = LinkMonitor(on_event, rcvbuf=self._monitor_rcvbuf)
        await self._monitor.start()

    async def watch_routes(self, on_delete: Callable[[], None]) -> None:
        """Call ``on_delete`` on every route or rule deletion (raises when unavailable)."""
        from pykeepalived.daemon.route_watch import RouteRuleWatcher

        watch = RouteRuleWatcher(on_delete)
        await watch.start()
        self._route_watch = watch

    async def stop_route_watch(self) -> None:
        if self._route_watch is not None:
            with contextlib.suppress(Exception):
                await self._route_watch.stop()
            self._route_watch = None

    async def stop_link_watch(self) -> None:
        if self._monitor is not None:
            with contextlib.suppress(Exception):
                await self._monitor.stop()
            self._monitor = None

    # -- VMAC
    async def setup_vmac(self, vmac: Vmac) -> Vmac:
        # The name first: an IPv6 instance sharing its VRID with an IPv4 one gets vrrp6.VRID
        # instead of putting its VIPs on the IPv4 VMAC.
        vmac = await resolve_vmac(self.am, vmac)
        res = await create_vmac(self.am, vmac)
        if not res.ok:
            raise OSError(res.errno, f"VMAC {vmac.ifname}: {res.error}")
        return vmac

    async def delete_vmac(self, vmac: Vmac) -> NetResult:
        return await delete_vmac(self.am, vmac)

    # -- nftables
    @property
    def has_firewall(self) -> bool:
        return self.firewall is not None

    async def setup_firewall(self, table: str, priority: int = -1, counters: bool = False,
                             ifindex: bool = False) -> None:
        self.firewall = Firewall(table, priority=priority, counters=counters, ifindex=ifindex)
        await self.firewall.setup()

    async def block(self, ips: Iterable[str], dev: str, by_name: bool = False) -> NetResult:
        assert self.firewall is not None
        return await self.firewall.block(ips, dev, by_name)

    async def unblock(self, ips: Iterable[str], dev: str,
                      by_name: bool = False) -> NetResult:
        assert self.firewall is not None
        return await self.firewall.unblock(ips, dev, by_name)

    async def firewall_add_vmac(self, vmac: str, parent: str, family: int) -> NetResult:
        assert self.firewall is not None
        return await self.firewall.add_vmac(vmac, parent, family)

    async def firewall_remove_vmac(self, vmac: str) -> NetResult:
        assert self.firewall is not None
        return await self.firewall.remove_vmac(vmac)

    async def teardown_firewall(self) -> None:
        if self.firewall is not None:
            await self.firewall.teardown()

    # -- GARP/NA and VRRP sockets
    def announcer(self, dev: str, mac: str | None) -> Announcer | None:
        """The GARP/NA sender for ``dev`` with sender MAC ``mac`` (opened once; None, logged,
        when it cannot be opened)."""
        key = (dev, mac)
        ann = self._announcers.get(key)
        if ann is None:
            try:
                ann = self._announcers[key] = Announcer(dev, mac)
            except OSError as e:
                log.warning("cannot send gratuitous ARP/NA on %s: %s", dev, e)
                return None
        return ann

    def forget_announcers(self, dev: str) -> None:
        for key in [k for k in self._announcers if k[0] == dev]:
            with contextlib.suppress(Exception):
                self._announcers.pop(key).close()

    def open_socket(self, spec: SocketSpec, on_received: Callable[[Received], None],
                    on_datagram4: Callable[[bytes], bool] | None,
                    after_batch: Callable[[], None]) -> VrrpSocket4 | VrrpSocket6:
        """Open a raw VRRP socket and start reading it: IPv4 datagrams are offered as bytes to
        ``on_datagram4`` (``Received`` objects only for the odd ones it declines), IPv6 ones
        go to ``on_received``; ``after_batch`` runs once per wake-up that read any."""
        sock: VrrpSocket4 | VrrpSocket6
        if spec.family == 6:
            sock = VrrpSocket6(spec.ifname, group=spec.group, unicast=spec.unicast,
                               src=spec.src, hop_limit=spec.hop_limit, rcvbuf=spec.rcvbuf)
            sock.start(on_received, after_batch=after_batch)
        else:
            sock = VrrpSocket4(spec.ifname, group=spec.group, unicast=spec.unicast,
                               ah=spec.ah, rcvbuf=spec.rcvbuf)
            sock.start(on_received, after_batch=after_batch, fast=on_datagram4)
        return sock
