"""Link state by polling (``linkbeat_interfaces``, ``linkbeat_use_polling``), for NIC drivers
whose carrier changes never reach netlink.

keepalived's probes (``vrrp_if.c`` there), once a second per polled interface:

* ``MII``: SIOCGMIIPHY, then the PHY's Basic Mode Status Register (SIOCGMIIREG), read twice
  since its link bit latches low: up if either read has it.
* ``ETHTOOL``: ETHTOOL_GLINK (the driver's ``get_link``; veth answers it with its carrier).
* ``IOCTL``: SIOCGIFFLAGS alone.

A method that does not work on the interface falls back (MII, then ETHTOOL, then IOCTL; no
method given: the first that works), with "(IF): Configured linkbeat type X not supported,
using Y". A link that MII or ETHTOOL finds up is also checked for IFF_UP and IFF_RUNNING.
While an interface is polled its netlink up/down reports are ignored, as keepalived does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import logging
import socket
import struct
from collections.abc import Callable, Mapping

__all__ = ["POLLING_DELAY", "LinkProbe", "LinkbeatPoller"]

log = logging.getLogger("pykeepalived.vrrp")

POLLING_DELAY = 1.0  # seconds, keepalived's POLLING_DELAY (TIMER_HZ)
SIOCGIFFLAGS = 0x8913
SIOCETHTOOL = 0x8946
SIOCGMIIPHY = 0x8947
SIOCGMIIREG = 0x8948
ETHTOOL_GLINK = 0x0000000A
MII_BMCR, MII_BMSR = 0x00, 0x01
BMSR_LSTATUS = 0x0004
IFF_UP, IFF_RUNNING = 0x1, 0x40
METHODS = ("MII", "ETHTOOL", "IOCTL")


def _ifreq(ifname: str, data: bytes = b"") -> bytearray:
    """A struct ifreq: the name (16 bytes) and 24 bytes of union, ``data`` at its start."""
    return bytearray(ifname.encode()[:15].ljust(16, b"\0") + data.ljust(24, b"\0"))


class LinkProbe:
    """The three probes on one datagram socket (the namespace's interfaces)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def close(self) -> None:
        self._sock.close()

    def _mii_read(self, req: bytearray, phy: int, reg: int) -> int:
        struct.pack_into("HH", req, 16, phy, reg)
        try:
            fcntl.ioctl(self._sock.fileno(), SIOCGMIIREG, req)
        except OSError as e:
            log.error("SIOCGMIIREG on %s failed: %s", req[:16].rstrip(b"\0").decode(),
                      e.strerror)
            return 0xFFFF
        return int(struct.unpack_from("H", req, 20)[0])

    def mii(self, ifname: str) -> int:
        """1 up, 0 down, -1 no MII (the BMSR link bit, read twice: it latches low)."""
        req = _ifreq(ifname)
        try:
            fcntl.ioctl(self._sock.fileno(), SIOCGMIIPHY, req)
            phy = struct.unpack_from("H", req, 16)[0]
            struct.pack_into("HH", req, 16, phy, MII_BMSR)
            fcntl.ioctl(self._sock.fileno(), SIOCGMIIREG, req)
        except OSError:
            return -1
        if self._mii_read(req, phy, MII_BMCR) == 0xFFFF or \
                (bmsr := self._mii_read(req, phy, MII_BMSR)) == 0:
            log.error("No MII transceiver present for %s !!!", ifname)
            return -1
        again = self._mii_read(req, phy, MII_BMSR)
        return 1 if (bmsr | again) & BMSR_LSTATUS else 0

    def ethtool(self, ifname: str) -> int:
        """1 up, 0 down, -1 no ETHTOOL_GLINK."""
        # struct ethtool_value, passed by address in ifr_data
        cbuf = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_GLINK, 0), 8)
        req = _ifreq(ifname, struct.pack("P", ctypes.addressof(cbuf)))
        try:
            fcntl.ioctl(self._sock.fileno(), SIOCETHTOOL, req)
        except OSError:
            return -1
        return 1 if struct.unpack_from("II", cbuf.raw)[1] else 0

    def flags_up(self, ifname: str) -> bool:
        """IFF_UP and IFF_RUNNING (an error other than "no such device" counts as up)."""
        req = _ifreq(ifname)
        try:
            fcntl.ioctl(self._sock.fileno(), SIOCGIFFLAGS, req)
        except OSError as e:
            return e.errno != errno.ENODEV
        flags = struct.unpack_from("H", req, 16)[0]
        return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)

    def detect(self, ifname: str, configured: str) -> tuple[str, bool]:
        """The method that works on ``ifname`` (``configured`` first, "" for any) and whether
        the link is up, as keepalived's ``init_linkbeat_status`` decides."""
        method, up = configured, False
        if method in ("", "MII"):
            st = self.mii(ifname)
            method, up = ("MII", st > 0) if st >= 0 else ("", False)
        if method in ("", "ETHTOOL"):
            if (st := self.ethtool(ifname)) >= 0:
                method, up = "ETHTOOL", st > 0
            elif method and (st := self.mii(ifname)) >= 0:  # ETHTOOL asked for, MII works
                method, up = "MII", st > 0
            else:
                method = ""
        if method in ("", "IOCTL"):
            method, up = "IOCTL", True
        up = up and self.flags_up(ifname)
        if configured and configured != method:
            log.info("(%s): Configured linkbeat type %s not supported, using %s", ifname,
                     configured, method)
        return method, up

    def poll(self, ifname: str, method: str) -> bool:
        if method == "MII":
            up = self.mii(ifname) > 0
        elif method == "ETHTOOL":
            up = self.ethtool(ifname) > 0
        else:
            up = True
        return up and self.flags_up(ifname)


class LinkbeatPoller:
    """Polls ``interfaces`` (name -> configured method, "" for any) every POLLING_DELAY and
    calls ``changed(name, up)`` when one's state differs from the last one seen."""

    def __init__(self, interfaces: Mapping[str, str], initial: Mapping[str, bool],
                 changed: Callable[[str, bool], None]) -> None:
        self.interfaces = dict(interfaces)
        self._probe = LinkProbe()
        self._methods: dict[str, str] = {}
        self.state: dict[str, bool] = {}
        for name, configured in self.interfaces.items():
            self._methods[name], self.state[name] = self._probe.detect(name, configured)
        self._initial = dict(initial)
        self._changed = changed
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        log.info("Using MII-BMSR/ETHTOOL NIC polling thread(s)...")
        for name, up in self.state.items():
            if self._initial.get(name, up) != up:
                self._report(name, up)
        self._task = loop.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._probe.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(POLLING_DELAY)
            for name, method in self._methods.items():
                up = self._probe.poll(name, method)
                if up != self.state[name]:
                    self.state[name] = up
                    self._report(name, up)

    def _report(self, name: str, up: bool) -> None:
        log.info("Linkbeat reports %s %s", name, "up" if up else "down")
        try:
            self._changed(name, up)
        except Exception:
            log.exception("linkbeat: handling %s failed", name)
