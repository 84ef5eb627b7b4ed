"""Gratuitous ARP and unsolicited neighbour advertisements.

Frame builders are pure functions returning complete Ethernet frames; ``Announcer`` sends them
through an ``AF_PACKET`` socket bound to one interface. The schedule (how many, when) belongs to
the core; this module only makes and sends frames.

GARP shape (as keepalived 2.2.7 sends it, see golden/vrrp_v2_pass_shutdown.pcap): Ethernet
broadcast, ARP *request*, sender MAC = interface (or VMAC) MAC, sender IP = target IP = VIP,
target MAC = ff:ff:ff:ff:ff:ff, 42 bytes (no padding; the NIC pads).

Unsolicited NA: to ff02::1 (33:33:00:00:00:01), hop limit 255, Override set, Router set when the
interface forwards, a target link-layer address option, ICMPv6 checksum computed here.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
from typing import Self

from pykeepalived.net.links import if_mac
from pykeepalived.net.netns import in_netns

log = logging.getLogger("pykeepalived.net.arp")

BROADCAST_MAC = b"\xff" * 6
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ALL_NODES = "ff02::1"
ALL_NODES_MAC = bytes.fromhex("333300000001")
ICMPV6_NA = 136
NA_ROUTER = 0x80
NA_SOLICITED = 0x40
NA_OVERRIDE = 0x20


def mac_bytes(mac: str | bytes) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` (or 6 raw bytes) as 6 bytes."""
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError("a MAC address has 6 bytes")
        return mac
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"bad MAC address {mac!r}")
    return raw


def build_garp(mac: str | bytes, ip: str) -> bytes:
    """Gratuitous ARP request frame announcing ``ip`` at ``mac`` (42 bytes)."""
    src = mac_bytes(mac)
    addr = socket.inet_aton(str(ipaddress.IPv4Address(ip)))
    eth = BROADCAST_MAC + src + struct.pack("!H", ETH_P_ARP)
    # htype Ethernet, ptype IPv4, hlen 6, plen 4, op 1 (request)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src + addr + BROADCAST_MAC + addr
    return eth + arp


def inet_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_unsolicited_na(mac: str | bytes, target: str, src: str | None = None,
                         router: bool = False) -> bytes:
    """Unsolicited NA frame for ``target`` at ``mac`` sent to all nodes.

    ``src``: IPv6 source (default: ``target`` itself). Flags: Override always, Router if
    ``router``, never Solicited.
    """
    hw = mac_bytes(mac)
    tgt = ipaddress.IPv6Address(target).packed
    source = ipaddress.IPv6Address(src or target).packed
    dst = ipaddress.IPv6Address(ALL_NODES).packed
    flags = NA_OVERRIDE | (NA_ROUTER if router else 0)
    option = struct.pack("!BB", 2, 1) + hw  # target link-layer address, 8 bytes
    body = struct.pack("!BBHB3x", ICMPV6_NA, 0, 0, flags) + tgt + option
    pseudo = source + dst + struct.pack("!I3xB", len(body), socket.IPPROTO_ICMPV6)
    csum = inet_checksum(pseudo + body)
    body = body[:2] + struct.pack("!H", csum) + body[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(body), socket.IPPROTO_ICMPV6, 255) + source + dst
    return ALL_NODES_MAC + hw + struct.pack("!H", ETH_P_IPV6) + ip6 + body


def ipv6_forwarding(ifname: str, netns: str | None = None) -> bool:
    """Whether ``ifname`` forwards IPv6 (decides the NA Router flag)."""
    try:
        with in_netns(netns), open(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


class Announcer:
    """Sends GARPs / unsolicited NAs on one interface through an AF_PACKET socket.

    ``mac``: the sender MAC (a VMAC's MAC, or the interface's own when None). Sending never
    raises: errors are logged, counted and returned.
    """

    def __init__(self, ifname: str, mac: str | None = None, netns: str | None = None) -> None:
        self.ifname = ifname
        self.netns = netns
        self.mac = mac or if_mac(ifname, netns)
        self.router = ipv6_forwarding(ifname, netns)
        with in_netns(netns):
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self._sock.setblocking(False)
            self._sock.bind((ifname, 0))
        except OSError:
            self._sock.close()
            raise
        self.sent = 0
        self.errors = 0

    def _send(self, frame: bytes, what: str) -> OSError | None:
        try:
            self._sock.send(frame)
        except OSError as e:
            self.errors += 1
            log.warning("%s: sending %s failed: %s", self.ifname, what, e)
            return e
        self.sent += 1
        return None

    def garp(self, ip: str, mac: str | None = None) -> OSError | None:
        """One gratuitous ARP for ``ip``."""
        return self._send(build_garp(mac or self.mac, ip), f"gratuitous ARP for {ip}")

    def unsolicited_na(self, ip: str, mac: str | None = None, src: str | None = None,
                       router: bool | None = None) -> OSError | None:
        """One unsolicited NA for ``ip``; ``router`` defaults to the interface's forwarding."""
        frame = build_unsolicited_na(mac or self.mac, ip, src=src,
                                     router=self.router if router is None else router)
        return self._send(frame, f"unsolicited NA for {ip}")

    def announce(self, ip: str, mac: str | None = None) -> OSError | None:
        """GARP or NA depending on the address family of ``ip``."""
        if ":" in ip:
            return self.unsolicited_na(ip, mac)
        return self.garp(ip, mac)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
