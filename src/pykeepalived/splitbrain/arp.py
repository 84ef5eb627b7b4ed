"""ARP and ND probes and sniffing on one interface (the gate's and the watch's shell).

IPv4: one ``AF_PACKET`` socket bound to the interface for ``ETH_P_ARP`` sends who-has
requests (a reference probe from our own address; a VIP probe as RFC 5227's, sender
0.0.0.0, which a holder answers to our MAC) and reads every ARP frame on the link: an answer
from a reference address, and any frame whose *sender* is one of our VIPs from a MAC not ours
(replies, gratuitous ARPs, requests a holder sends from the VIP).

IPv6: neighbour solicitations to the target's solicited-node group, from our link-local
address; neighbour advertisements are read on an ``AF_PACKET`` socket for ``ETH_P_IPV6``
filtered in the kernel to ICMPv6 NAs, so the loop only wakes for them.

Frames are parsed here only as far as needed; what they mean is the cores' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable

from pykeepalived.net import bpf
from pykeepalived.net.arp import BROADCAST_MAC, ETH_P_ARP, ETH_P_IPV6, inet_checksum, mac_bytes

log = logging.getLogger("pykeepalived.splitbrain")

# (interface, sender ip, sender mac, is_reply)
Heard = Callable[[str, str, str, bool], None]

ICMPV6_NS, ICMPV6_NA = 135, 136
# cBPF: ARP whose sender address is set (not an RFC 5227 probe: those are ours or another
# watcher's, and a busy master sends one per VIP per interval) and that we did not send
_ARP_FILTER = [
    (0x28, 0, 0, 12), (0x15, 0, 5, 0x0806),
    (0x20, 0, 0, 28), (0x15, 3, 0, 0),
    (0x30, 0, 0, 0xFFFFF004), (0x15, 1, 0, 4),  # SKF_AD_PKTTYPE == PACKET_OUTGOING
    (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0),
]
# cBPF: ether type IPv6, next header ICMPv6 (58), ICMPv6 type NA (136)
_NA_FILTER = [
    (0x28, 0, 0, 12), (0x15, 0, 5, 0x86DD),
    (0x30, 0, 0, 20), (0x15, 0, 3, 58),
    (0x30, 0, 0, 54), (0x15, 0, 1, ICMPV6_NA),
    (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0),
]


def build_arp_request(mac: str, sender_ip: str, target_ip: str) -> bytes:
    src = mac_bytes(mac)
    sip = socket.inet_aton(sender_ip)
    tip = socket.inet_aton(target_ip)
    eth = BROADCAST_MAC + src + struct.pack("!H", ETH_P_ARP)
    return eth + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src + sip + b"\0" * 6 + tip


def parse_arp(frame: bytes) -> tuple[int, str, str, str] | None:
    """(op, sender mac, sender ip, target ip) of an Ethernet ARP frame, or None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    op = struct.unpack_from("!H", frame, 20)[0]
    sha = frame[22:28].hex(":")
    spa = socket.inet_ntoa(frame[28:32])
    tpa = socket.inet_ntoa(frame[38:42])
    return op, sha, spa, tpa


def build_ns(mac: str, src: str, target: str) -> bytes:
    """A neighbour solicitation for ``target`` from ``src`` (our link-local), as a frame."""
    t = ipaddress.IPv6Address(target)
    group = ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0"))
                                  | (int(t) & 0xFFFFFF))
    dst_mac = bytes.fromhex("3333") + group.packed[-4:]
    s = ipaddress.IPv6Address(src)
    body = struct.pack("!BBHI", ICMPV6_NS, 0, 0, 0) + t.packed + b"\x01\x01" + mac_bytes(mac)
    pseudo = s.packed + group.packed + struct.pack("!I3xB", len(body), 58)
    csum = inet_checksum(pseudo + body)
    body = body[:2] + struct.pack("!H", csum) + body[4:]
    ip6 = struct.pack("!IHBB", 0x60000000, len(body), 58, 255) + s.packed + group.packed
    return dst_mac + mac_bytes(mac) + struct.pack("!H", ETH_P_IPV6) + ip6 + body


def parse_na(frame: bytes) -> tuple[str, str] | None:
    """(target address, advertised MAC or the frame's source MAC) of an NA frame."""
    if len(frame) < 78 or frame[12:14] != b"\x86\xdd" or frame[20] != 58 or frame[54] != 136:
        return None
    target = str(ipaddress.IPv6Address(frame[62:78]))
    mac = frame[6:12].hex(":")
    opt = frame[78:]
    while len(opt) >= 8 and opt[1]:
        if opt[0] == 2:
            mac = opt[2:8].hex(":")
        opt = opt[opt[1] * 8:]
    return target, mac


class LinkProbe:
    """Probes and sniffing on one interface; ``heard`` gets every sender worth a look."""

    def __init__(self, ifname: str, mac: str, heard: Heard) -> None:
        self.ifname = ifname
        self.mac = mac.lower()
        self.heard = heard
        self._arp: socket.socket | None = None
        self._nd: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self, v4: bool, v6: bool) -> None:
        self._loop = asyncio.get_running_loop()
        if v4:
            self._arp = self._socket(ETH_P_ARP, _ARP_FILTER, self._read_arp)
        if v6:
            self._nd = self._socket(ETH_P_IPV6, _NA_FILTER, self._read_nd)

    def _socket(self, proto: int, program: list[tuple[int, int, int, int]],
                reader: Callable[[], None]) -> socket.socket:
        """A packet socket on the interface for ``proto``, filtered in the kernel."""
        assert self._loop is not None
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
        bpf.attach(s, program)
        s.bind((self.ifname, proto))
        s.setblocking(False)
        self._loop.add_reader(s.fileno(), reader)
        return s

    def probe(self, target: str, sender: str | None) -> None:
        """Ask who has ``target``: from ``sender`` (ours), or an RFC 5227 probe (None)."""
        try:
            if ":" in target:
                if self._nd is not None and sender:
                    self._nd.send(build_ns(self.mac, sender, target))
            elif self._arp is not None:
                self._arp.send(build_arp_request(self.mac, sender or "0.0.0.0", target))
        except OSError as e:
            log.debug("probe %s on %s: %s", target, self.ifname, e)

    def _read_arp(self) -> None:
        assert self._arp is not None
        for _ in range(64):
            try:
                frame = self._arp.recv(128)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            p = parse_arp(frame)
            if p is None or p[1] == self.mac or p[2] == "0.0.0.0":
                continue
            self.heard(self.ifname, p[2], p[1], p[0] == 2)

    def _read_nd(self) -> None:
        assert self._nd is not None
        for _ in range(64):
            try:
                frame = self._nd.recv(256)
            except (BlockingIOError, InterruptedError, OSError):
                return
            p = parse_na(frame)
            if p is not None and p[1] != self.mac:
                self.heard(self.ifname, p[0], p[1], True)

    def close(self) -> None:
        for s in (self._arp, self._nd):
            if s is not None:
                if self._loop is not None:
                    with contextlib.suppress(Exception):
                        self._loop.remove_reader(s.fileno())
                s.close()
        self._arp = self._nd = None
