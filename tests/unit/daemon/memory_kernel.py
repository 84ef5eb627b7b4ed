"""An in-memory ``daemon.kernel.Kernel`` for unit tests of the VRRP child's shell.

It keeps what the real kernel would hold (addresses per interface, routes, rules, the nftables
drops) and records every call in order, and its sockets record what is sent and let a test
deliver datagrams as the real socket would (IPv4 as bytes, IPv6 as a ``Received``). Only the
process logic is under test here: ``tests/netns`` runs the real ``LinuxKernel``.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pykeepalived.daemon.kernel import SocketSpec
from pykeepalived.net.addresses import InterfaceAddress, IpAddress, NetResult, Route, Rule
from pykeepalived.net.links import LinkEvent, NetEvent
from pykeepalived.net.rcvbuf import RcvBuf
from pykeepalived.net.sockets import Received
from pykeepalived.net.vmac import Vmac


@dataclass
class MemorySocket:
    spec: SocketSpec
    on_received: Callable[[Received], None]
    on_datagram4: Callable[[bytes], bool] | None
    after_batch: Callable[[], None]
    sent: list[tuple[bytes, str]] = field(default_factory=list)
    joined: set[str] = field(default_factory=set)
    closed: bool = False
    src: str | None = None
    rcvbuf: int | None = None  # the last SO_RCVBUF asked for after the open
    ifindex: int = 0  # the interface's index when the socket was opened

    @property
    def has_ah(self) -> bool:
        return self.spec.ah

    def send(self, data: bytes, dst: str) -> OSError | None:
        self.sent.append((data, dst))
        return None

    def join(self, group: str) -> None:
        self.joined.add(group)

    def set_rcvbuf(self, nbytes: int) -> None:
        self.rcvbuf = nbytes

    def close(self) -> None:
        self.closed = True

    def deliver(self, *datagrams: bytes) -> None:
        """IPv4 datagrams read in one wake-up of the loop."""
        assert self.on_datagram4 is not None
        for d in datagrams:
            self.on_datagram4(d)
        self.after_batch()


@dataclass
class Announcements:
    dev: str
    sent: list[str] = field(default_factory=list)

    def garp(self, ip: str) -> None:
        self.sent.append(ip)

    def unsolicited_na(self, ip: str) -> None:
        self.sent.append(ip)


class MemoryKernel:
    """Interfaces ``links`` (name -> up) with their ``primary`` IPv4 address."""

    def __init__(self, links: dict[str, bool] | None = None,
                 primary: dict[str, str] | None = None) -> None:
        self.links = dict(links or {"eth0": True})
        self.primary = dict(primary or {"eth0": "10.0.0.1"})
        self.addresses: set[tuple[str, str]] = set()  # (ip, dev)
        self.routes: list[Route] = []
        self.rules: list[Rule] = []
        self.blocked: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, str]] = []
        self.sockets: list[MemorySocket] = []
        self.announcers: dict[tuple[str, str | None], Announcements] = {}
        self.on_net_event: Callable[[NetEvent], None] | None = None
        self.firewall: str | None = None
        self.netlink_rcvbufs: tuple[RcvBuf, RcvBuf] | None = None
        self.refuse: set[str] = set()  # addresses whose add the kernel refuses (EACCES)
        self.tagged: set[tuple[str, str]] = set()  # added as VIPs (``proto keepalived``)
        # interface -> index (``recreate`` gives a new one, as deleting and adding it does)
        self.ifindex = {name: i for i, name in enumerate(self.links, 2)}

    def _ok(self, op: str, target: str, changed: bool = True) -> NetResult:
        self.calls.append((op, target))
        return NetResult(True, op, target, changed=changed)

    def set_netlink_rcvbufs(self, command: RcvBuf, monitor: RcvBuf) -> None:
        self.netlink_rcvbufs = (command, monitor)

    def disable_local_igmp(self) -> bool:
        self.calls.append(("disable_local_igmp", ""))
        return True

    def restore_local_igmp(self) -> None:
        self.calls.append(("restore_local_igmp", ""))

    async def open(self) -> None:
        self.calls.append(("open", ""))

    def close(self) -> None:
        self.calls.append(("close", ""))

    async def add_address(self, addr: IpAddress, default_dev: str | None = None, *,
                          quiet: bool = False, tag: bool = False) -> NetResult:
        key = (addr.ip, addr.dev or default_dev or "")
        if tag:
            self.tagged.add(key)
        if addr.ip in self.refuse:
            self.calls.append(("refused address", f"{key[0]} dev {key[1]}"))
            return NetResult(False, "add address", f"{key[0]} dev {key[1]}",
                             errno=errno.EACCES, error=os.strerror(errno.EACCES))
        fresh = key not in self.addresses
        self.addresses.add(key)
        return self._ok("add address", f"{key[0]} dev {key[1]}", fresh)

    async def delete_address(self, addr: IpAddress,
                             default_dev: str | None = None) -> NetResult:
        key = (addr.ip, addr.dev or default_dev or "")
        there = key in self.addresses
        self.addresses.discard(key)
        return self._ok("delete address", f"{key[0]} dev {key[1]}", there)

    def addresses_now(self, addrs: Sequence[IpAddress], default_dev: str, *, add: bool,
                      on_result: Callable[[IpAddress, int], None] | None = None,
                      tag: bool = False) -> bool:
        """As the real one: applied at once, results told afterwards (on the next loop turn);
        an address in ``refuse`` is refused with EACCES."""
        results: list[tuple[IpAddress, int]] = []
        for a in addrs:
            key = (a.ip, a.dev or default_dev or "")
            if add and a.ip in self.refuse:
                self.calls.append(("refused address", f"{key[0]} dev {key[1]}"))
                results.append((a, errno.EACCES))
                continue
            if add:
                self.addresses.add(key)
                if tag:
                    self.tagged.add(key)
            else:
                self.addresses.discard(key)
            self.calls.append(("add address" if add else "delete address",
                               f"{key[0]} dev {key[1]}"))
            results.append((a, 0))
        if on_result is not None:
            loop = asyncio.get_running_loop()
            for a, err in results:
                loop.call_soon(on_result, a, err)
        return True

    async def list_addresses(self, ifname: str) -> list[InterfaceAddress]:
        return [InterfaceAddress(ip, 32, 4, 1) for ip, dev in self.addresses if dev == ifname]

    async def primary_address(self, ifname: str, family: int) -> str | None:
        return self.primary.get(ifname)

    async def add_route(self, route: Route) -> NetResult:
        if route not in self.routes:
            self.routes.append(route)
        return self._ok("add route", str(route))

    async def delete_route(self, route: Route) -> NetResult:
        if route in self.routes:
            self.routes.remove(route)
        return self._ok("delete route", str(route))

    async def add_rule(self, rule: Rule) -> NetResult:
        if rule not in self.rules:
            self.rules.append(rule)
        return self._ok("add rule", str(rule))

    async def delete_rule(self, rule: Rule) -> NetResult:
        if rule in self.rules:
            self.rules.remove(rule)
        return self._ok("delete rule", str(rule))

    async def link_up(self, ifname: str) -> bool:
        return self.links.get(ifname, False)

    async def link_mtu(self, ifname: str) -> int:
        return 1500

    def link_exists(self, ifname: str) -> bool:
        return ifname in self.links

    async def watch_links(self, on_event: Callable[[NetEvent], None]) -> None:
        self.on_net_event = on_event

    async def watch_routes(self, on_delete: Callable[[], None]) -> None:
        self.calls.append(("watch routes", ""))

    async def stop_route_watch(self) -> None:
        pass

    async def stop_link_watch(self) -> None:
        self.on_net_event = None

    async def setup_vmac(self, vmac: Vmac) -> Vmac:
        self.links[vmac.ifname] = True
        return vmac

    async def delete_vmac(self, vmac: Vmac) -> NetResult:
        self.links.pop(vmac.ifname, None)
        return self._ok("delete vmac", vmac.ifname)

    @property
    def has_firewall(self) -> bool:
        return self.firewall is not None

    async def setup_firewall(self, table: str, priority: int = -1, counters: bool = False,
                             ifindex: bool = False) -> None:
        self.firewall = table

    async def block(self, ips: Iterable[str], dev: str, by_name: bool = False) -> NetResult:
        self.blocked |= {(ip, dev) for ip in ips}
        return self._ok("block", dev)

    async def unblock(self, ips: Iterable[str], dev: str,
                      by_name: bool = False) -> NetResult:
        self.blocked -= {(ip, dev) for ip in ips}
        return self._ok("unblock", dev)

    async def firewall_add_vmac(self, vmac: str, parent: str, family: int) -> NetResult:
        return self._ok("firewall vmac", vmac)

    async def firewall_remove_vmac(self, vmac: str) -> NetResult:
        return self._ok("firewall unvmac", vmac)

    async def teardown_firewall(self) -> None:
        self.firewall = None

    def announcer(self, dev: str, mac: str | None) -> Announcements:
        return self.announcers.setdefault((dev, mac), Announcements(dev))

    def forget_announcers(self, dev: str) -> None:
        for key in [k for k in self.announcers if k[0] == dev]:
            del self.announcers[key]

    def recreate(self, ifname: str) -> LinkEvent:
        """``ifname`` deleted and added again: the link event the monitor reports for it."""
        self.ifindex[ifname] = max(self.ifindex.values(), default=1) + 1
        self.links[ifname] = True
        return LinkEvent(self.ifindex[ifname], ifname, True, "up", True, True)

    def open_socket(self, spec: SocketSpec, on_received: Callable[[Received], None],
                    on_datagram4: Callable[[bytes], bool] | None,
                    after_batch: Callable[[], None]) -> MemorySocket:
        sock = MemorySocket(spec, on_received, on_datagram4, after_batch,
                            ifindex=self.ifindex.setdefault(
                                spec.ifname, max(self.ifindex.values(), default=1) + 1))
        self.sockets.append(sock)
        return sock
