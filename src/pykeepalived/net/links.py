"""Interface facts and a netlink event monitor.

Sync helpers (``if_index``, ``if_mac``, ``if_mtu``) use ioctls on a throw-away socket created in
the right namespace: the socket constructors need them before any loop runs. ``link_info`` and
``LinkMonitor``'s link dumps use ``pyroute2.AsyncIPRoute`` (never the sync class inside a running
loop); its notifications are read by ``net.rtnl_listen`` into one reused buffer.

``LinkMonitor`` turns RTM_NEWLINK/DELLINK and RTM_NEWADDR/DELADDR notifications into small frozen
events for one callback: the daemon maps link events to FAULT (instance interface,
``track_interface``) and address deletions to "a VIP was removed by hand, put it back".
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pykeepalived.net.netns import in_netns
from pykeepalived.net.rcvbuf import RcvBuf
from pykeepalived.net.rtnl_listen import RtnlListener

log = logging.getLogger("pykeepalived.net.links")

SIOCGIFINDEX = 0x8933
SIOCGIFNAME = 0x8910
SIOCGIFHWADDR = 0x8927
SIOCGIFMTU = 0x8921
IFF_UP = 0x1
IFF_RUNNING = 0x40
IFF_LOWER_UP = 0x10000

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100


def _ifreq(ifname: str, request: int, netns: str | None) -> bytes:
    with in_netns(netns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return fcntl.ioctl(s.fileno(), request, struct.pack("16s24x", ifname.encode()[:15]))
    finally:
        s.close()


def if_index(ifname: str, netns: str | None = None) -> int:
    """ifindex of ``ifname`` (OSError ENODEV when it does not exist)."""
    return int(struct.unpack_from("@i", _ifreq(ifname, SIOCGIFINDEX, netns), 16)[0])


def if_name(ifindex: int, netns: str | None = None) -> str:
    """Name of interface ``ifindex`` (OSError ENODEV when it does not exist)."""
    with in_netns(netns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("16si20x", b"", ifindex)
        res = fcntl.ioctl(s.fileno(), SIOCGIFNAME, req)
    finally:
        s.close()
    return res[:16].split(b"\0", 1)[0].decode()


def if_mac(ifname: str, netns: str | None = None) -> str:
    """Hardware address of ``ifname`` as ``aa:bb:cc:dd:ee:ff``."""
    raw = _ifreq(ifname, SIOCGIFHWADDR, netns)[18:24]
    return ":".join(f"{b:02x}" for b in raw)


def if_mtu(ifname: str, netns: str | None = None) -> int:
    return int(struct.unpack_from("@i", _ifreq(ifname, SIOCGIFMTU, netns), 16)[0])


@dataclass(frozen=True)
class LinkInfo:
    """What the daemon needs to know about an interface right now."""

    ifindex: int
    ifname: str
    mac: str
    mtu: int
    admin_up: bool  # IFF_UP
    oper_up: bool  # IFF_RUNNING and operstate UP/UNKNOWN: carrier present and usable
    operstate: str  # "UP", "DOWN", "LOWERLAYERDOWN", "UNKNOWN", ...
    carrier: bool
    kind: str | None = None  # "veth", "macvlan", ...
    parent: int | None = None  # IFLA_LINK (the base of a macvlan)


@dataclass(frozen=True)
class LinkEvent:
    """A link appeared, changed or vanished (``deleted``). ``up`` = usable for VRRP; ``mtu``
    (0: unknown) lets receive buffers sized by MTU follow a change."""

    ifindex: int
    ifname: str
    up: bool
    operstate: str
    carrier: bool
    admin_up: bool
    deleted: bool = False
    mtu: int = 0


@dataclass(frozen=True)
class AddrEvent:
    """An address was added (``added``) or removed on interface ``ifindex``."""

    ifindex: int
    ifname: str
    address: str
    prefixlen: int
    family: int  # 4 or 6
    added: bool
    label: str | None = None


NetEvent = LinkEvent | AddrEvent
EventCallback = Callable[[NetEvent], None]


def _link_from_msg(msg: Any) -> LinkInfo:
    flags = int(msg.get("flags", 0))
    operstate = str(msg.get_attr("IFLA_OPERSTATE") or "UNKNOWN")
    carrier_attr = msg.get_attr("IFLA_CARRIER")
    carrier = bool(carrier_attr) if carrier_attr is not None else bool(flags & IFF_LOWER_UP)
    kind = None
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    if linkinfo is not None:
        kind = linkinfo.get_attr("IFLA_INFO_KIND")
    oper_up = bool(flags & IFF_UP) and bool(flags & IFF_RUNNING) and operstate in (
        "UP", "UNKNOWN")
    return LinkInfo(
        ifindex=int(msg["index"]),
        ifname=str(msg.get_attr("IFLA_IFNAME")),
        mac=str(msg.get_attr("IFLA_ADDRESS") or ""),
        mtu=int(msg.get_attr("IFLA_MTU") or 0),
        admin_up=bool(flags & IFF_UP),
        oper_up=oper_up,
        operstate=operstate,
        carrier=carrier,
        kind=kind,
        parent=msg.get_attr("IFLA_LINK"),
    )


async def link_info(ifname: str, netns: str | None = None, ipr: Any = None) -> LinkInfo | None:
    """Current state of ``ifname`` over netlink, or None when it does not exist.

    Pass an open ``AsyncIPRoute`` as ``ipr`` to reuse it; otherwise one is opened and closed.
    """
    from pykeepalived.net.pyroute2_lite import async_iproute

    AsyncIPRoute = async_iproute()

    own = ipr is None
    if own:
        ipr = AsyncIPRoute(netns=netns) if netns else AsyncIPRoute()
    try:
        try:
            msgs = await ipr.link("get", ifname=ifname)
        except Exception as e:  # NetlinkError ENODEV and friends: an answer, not a crash
            log.debug("link %s: %s", ifname, e)
            return None
        for m in msgs:
            return _link_from_msg(m)
        return None
    finally:
        if own:
            ipr.close()


class LinkMonitor:
    """Watch link and address changes in one namespace and report them to ``callback``.

    ``start()`` binds the netlink groups and primes its interface-name table; events arrive in
    the loop. ``stop()`` cancels the reader and closes the socket. The callback is isolated:
    an exception there is logged, the monitor keeps running.
    """

    def __init__(self, callback: EventCallback, *, netns: str | None = None,
                 links: bool = True, addresses: bool = True, rcvbuf: RcvBuf | None = None
                 ) -> None:
        self.callback = callback
        self.netns = netns
        self.rcvbuf = rcvbuf  # *_netlink_monitor_rcv_bufs
        self.groups = (RTMGRP_LINK if links else 0) | (
            (RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR) if addresses else 0)
        self.names: dict[int, str] = {}
        self._listener: RtnlListener | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self._last: dict[int, tuple[bool, str, bool, bool, int]] = {}

    async def start(self) -> None:
        from pykeepalived.net.pyroute2_lite import async_iproute

        AsyncIPRoute = async_iproute()

        # A separate socket for the dump: the bound socket only carries notifications.
        async with (AsyncIPRoute(netns=self.netns) if self.netns else AsyncIPRoute()) as ipr:
            async for m in await ipr.link("dump"):
                info = _link_from_msg(m)
                self.names[info.ifindex] = info.ifname
                self._last[info.ifindex] = (info.oper_up, info.operstate, info.carrier,
                                            info.admin_up, info.mtu)
        # Not pyroute2's socket: see net.rtnl_listen (a 256 KiB heap block per notification).
        self._listener = RtnlListener(self.groups, netns=self.netns, rcvbuf=self.rcvbuf)
        self._listener.start(self._handle, self._overrun)

    async def stop(self) -> None:
        if self._resync_task is not None:
            self._resync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._resync_task
            self._resync_task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None

    async def __aenter__(self) -> LinkMonitor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _overrun(self, e: OSError) -> None:
        """Notifications were lost (typically ENOBUFS): re-read the link table so that no
        up/down change is lost (address changes cannot be replayed)."""
        log.warning("netlink monitor: %s; resynchronising links", e)
        if self._resync_task is None or self._resync_task.done():
            self._resync_task = asyncio.get_running_loop().create_task(self._resync_soon())

    async def _resync_soon(self) -> None:
        await asyncio.sleep(0.05)  # let the burst that overflowed the buffer end
        with contextlib.suppress(Exception):
            await self.resync()

    async def resync(self) -> None:
        """Dump the links and report every state that differs from the last one reported."""
        from pykeepalived.net.pyroute2_lite import async_iproute

        AsyncIPRoute = async_iproute()

        async with (AsyncIPRoute(netns=self.netns) if self.netns else AsyncIPRoute()) as ipr:
            seen = set()
            async for m in await ipr.link("dump"):
                m["event"] = "RTM_NEWLINK"
                self._handle(m)
                seen.add(int(m["index"]))
        for idx in [i for i in self._last if i not in seen]:
            self._last.pop(idx, None)
            self._emit(LinkEvent(ifindex=idx, ifname=self.names.get(idx, ""), up=False,
                                 operstate="DOWN", carrier=False, admin_up=False,
                                 deleted=True))

    def _emit(self, ev: NetEvent) -> None:
        try:
            self.callback(ev)
        except Exception:
            log.exception("netlink event handler failed for %s", ev)

    def _handle(self, msg: Any) -> None:
        event = msg.get("event")
        if event in ("RTM_NEWLINK", "RTM_DELLINK"):
            info = _link_from_msg(msg)
            self.names[info.ifindex] = info.ifname
            deleted = event == "RTM_DELLINK"
            state = (info.oper_up, info.operstate, info.carrier, info.admin_up, info.mtu)
            if not deleted and self._last.get(info.ifindex) == state:
                return  # RTM_NEWLINK for an unrelated attribute change: nothing to report
            self._last[info.ifindex] = state
            if deleted:
                self._last.pop(info.ifindex, None)
            self._emit(LinkEvent(ifindex=info.ifindex, ifname=info.ifname,
                                 up=info.oper_up and not deleted, operstate=info.operstate,
                                 carrier=info.carrier, admin_up=info.admin_up,
                                 deleted=deleted, mtu=info.mtu))
        elif event in ("RTM_NEWADDR", "RTM_DELADDR"):
            ifindex = int(msg["index"])
            fam = 6 if msg["family"] == socket.AF_INET6 else 4
            addr = msg.get_attr("IFA_LOCAL") if fam == 4 else None
            addr = addr or msg.get_attr("IFA_ADDRESS")
            if addr is None:
                return
            self._emit(AddrEvent(ifindex=ifindex, ifname=self.names.get(ifindex, ""),
                                 address=str(addr), prefixlen=int(msg["prefixlen"]),
                                 family=fam, added=event == "RTM_NEWADDR",
                                 label=msg.get_attr("IFA_LABEL")))
