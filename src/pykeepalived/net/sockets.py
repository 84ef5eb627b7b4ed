"""Raw VRRP sockets: they move bytes between the wire and the daemon, they do not parse VRRP.

One socket object serves one (interface, family, mode) and any number of instances: every
datagram that passes the destination filter goes to one callback, and the daemon dispatches by
VRID after decoding. Reception uses ``loop.add_reader`` on a non-blocking socket and drains what
is queued, so the loop never blocks on the network.

IPv4 (``VrrpSocket4``): raw protocol 112 (and 51 for AH) with ``IP_HDRINCL``: ``send`` takes a
complete IPv4 datagram (the codec builds the header: TOS 0xC0, TTL 255, ID; the kernel fills in
the header checksum and total length). Received ``data`` is the whole IPv4 datagram, header
included, so the receiver sees TTL and TOS as they arrived.

IPv6 (``VrrpSocket6``): raw protocol 112 with ``IPV6_CHECKSUM`` at offset 6, so the kernel
computes the checksum on send and silently drops packets whose checksum is wrong on receive.
``send`` takes the VRRP message only (no IPv6 header; the checksum field may be zero) and
received ``data`` is the VRRP message only; hop limit and destination come from ancillary data.

A socket is bound to its interface's ifindex when created: if the interface is deleted and
recreated (a VMAC re-made, a hot-plugged NIC), close the socket and open a new one.

Receive buffer: one socket carries the adverts of every VRID on its interface (up to 255), and a
master sends them in bursts. The kernel default (``net.core.rmem_default``, ~208 KiB: a few
hundred small datagrams) overflows while the loop is busy elsewhere, and an advert lost to an
overflow counts towards a backup's Master_Down timeout (three lost in a row: a false takeover).
Without ``rcvbuf`` (``kernel_rx_buf_size``) a socket therefore asks for ``DEFAULT_RCVBUF`` with
``SO_RCVBUFFORCE`` (root: above ``net.core.rmem_max``), falling back to ``SO_RCVBUF`` (capped at
``rmem_max``). It is a limit, not an allocation: memory is only used while datagrams queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from pykeepalived.net import bpf
from pykeepalived.net.links import if_index
from pykeepalived.net.netns import in_netns
from pykeepalived.vrrp.constants import (
    MCAST_GROUP4,
    MCAST_GROUP6,
    PROTO_AH,
    PROTO_VRRP,
    TOS_NETWORK_CONTROL,
)

log = logging.getLogger("pykeepalived.net.sockets")

# Datagrams handled per wake-up before yielding back to the loop. asyncio runs due timers after
# the I/O callbacks of the same iteration, so whatever is still queued after a stall is read
# *after* the Master_Down timers it would have reset have fired: drain a full burst of every VRID
# (255 × a few) before yielding, bounded so that a flood cannot starve the loop.
MAX_DRAIN = 2048
# Sized to queue ~8 adverts of each of 255 VRIDs (a small datagram's kernel truesize is ~1 KiB
# on veth, ~2 KiB on some NICs; the kernel doubles the value it is given for its bookkeeping).
DEFAULT_RCVBUF = 2 << 20

# Linux values; the socket module lacks some of them on older Pythons.
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)
_PKTINFO4_SPACE = socket.CMSG_SPACE(12)  # struct in_pktinfo
_NATIVE_INT = struct.Struct("@i")
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
IPV6_RECVTCLASS = getattr(socket, "IPV6_RECVTCLASS", 66)


@dataclass(frozen=True)
class Received:
    """One datagram as the kernel delivered it.

    ``data``: IPv4 = the full datagram (IP header first); IPv6 = the VRRP message only.
    ``ttl``: IPv4 TTL from the header / IPv6 hop limit from ``IPV6_HOPLIMIT`` (None if absent).
    ``dst``: destination address the packet was sent to (multicast group or our unicast address).
    ``protocol``: 112, or 51 for an AH datagram.
    """

    data: bytes
    src: str
    dst: str
    ifindex: int
    ttl: int | None
    family: int  # 4 or 6
    protocol: int = PROTO_VRRP
    tos: int | None = None  # IPv4 TOS / IPv6 traffic class (0xC0 from keepalived)


ReceiveCallback = Callable[[Received], None]
# IPv4 only: offered each datagram (the whole IPv4 datagram, whose header carries everything a
# Received would) that passed the socket's filter, before a Received is built; True means it
# was taken (see VrrpSocket4.start).
FastCallback = Callable[[bytes], bool]


class _RawVrrpSocket:
    """Shared machinery: reader registration, draining, callback isolation, closing."""

    family = 0
    src: str | None = None  # the IPv6 source address adverts are sent from (IPv6 only)

    def __init__(self, ifname: str, *, unicast: bool, netns: str | None,
                 deliver_all: bool) -> None:
        self.ifname = ifname
        self.unicast = unicast
        self.netns = netns
        self.deliver_all = deliver_all
        self.ifindex = if_index(ifname, netns)
        self.groups: set[str] = set()
        self._socks: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._callback: ReceiveCallback | None = None
        self._after_batch: Callable[[], None] | None = None
        self.rx_packets = 0
        self.rx_filtered = 0
        self.tx_packets = 0
        self.tx_errors = 0

    # -- life cycle -------------------------------------------------------------------------
    def start(self, callback: ReceiveCallback,
              loop: asyncio.AbstractEventLoop | None = None, *,
              after_batch: Callable[[], None] | None = None) -> None:
        """Begin delivering datagrams to ``callback`` from the running (or given) loop.

        The callback runs in the loop; an exception from it is logged and the next datagram
        is still delivered. ``after_batch`` (optional) runs once after each wake-up that
        delivered at least one datagram, so that per-wake-up work (re-arming timers) can be
        done once per burst instead of once per datagram.
        """
        self._loop = loop or asyncio.get_running_loop()
        self._callback = callback
        self._after_batch = after_batch
        for s in self._socks:
            self._loop.add_reader(s.fileno(), self._on_readable, s)

    def close(self) -> None:
        """Stop reading and close the sockets (leaving the groups). Safe to call twice."""
        for s in self._socks:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(s.fileno())
            s.close()
        self._socks.clear()
        self._loop = None

    def fileno(self) -> int:
        return self._socks[0].fileno()

    @property
    def has_ah(self) -> bool:
        """Whether IP protocol 51 (IPsec-AH) is read and sent too (IPv4 with ``ah=True``)."""
        return False

    # -- receive buffer ---------------------------------------------------------------------
    @staticmethod
    def _size_rcvbuf(s: socket.socket, rcvbuf: int | None) -> None:
        """``rcvbuf`` given: plain SO_RCVBUF, as ``kernel_rx_buf_size`` asks. Otherwise raise
        the buffer to ``DEFAULT_RCVBUF`` (never lower it), forcing past rmem_max as root."""
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            return
        set_rcvbuf(s, DEFAULT_RCVBUF)

    @property
    def rcvbuf(self) -> int:
        """The kernel's receive buffer limit of the (first) socket, in bytes (as doubled)."""
        return self._socks[0].getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def set_rcvbuf(self, nbytes: int) -> None:
        """A configured size (``kernel_rx_buf_size``, summed over the instances sharing the
        socket, as keepalived sums them): plain SO_RCVBUF on every socket."""
        for s in self._socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, nbytes)

    def grow_rcvbuf(self, nbytes: int) -> None:
        """Raise every socket's receive buffer to at least ``nbytes`` (e.g. scaled by the
        number of instances sharing the socket); never lowers it."""
        for s in self._socks:
            set_rcvbuf(s, nbytes)

    # -- receive ----------------------------------------------------------------------------
    def _on_readable(self, sock: socket.socket) -> None:
        before = self.rx_packets
        try:
            self._drain(sock)
        finally:
            if self._after_batch is not None and self.rx_packets != before:
                try:
                    self._after_batch()
                except Exception:
                    log.exception("%s: after-batch handler failed", self.ifname)

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(MAX_DRAIN):
            if sock.fileno() < 0:  # the callback closed us mid-drain
                return
            try:
                pkt = self._recv_one(sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.warning("%s: receive error on %s: %s", self.ifname, self.family, e)
                return
            if pkt is None:
                continue
            if not self._wanted(pkt):
                self.rx_filtered += 1
                continue
            self.rx_packets += 1
            if self._callback is not None:
                try:
                    self._callback(pkt)
                except Exception:
                    log.exception("%s: packet handler failed", self.ifname)

    def _recv_one(self, sock: socket.socket) -> Received | None:
        raise NotImplementedError

    def _wanted(self, pkt: Received) -> bool:
        return self._wants(self._multicast_dst(pkt), pkt.dst)

    def _wants(self, multicast: bool, dst: str | None) -> bool:
        """Mode filter: a multicast socket takes its groups, a unicast socket non-multicast."""
        if self.deliver_all:
            return True
        if self.unicast:
            return not multicast
        return dst in self.groups

    @staticmethod
    def _multicast_dst(pkt: Received) -> bool:
        # cheap per-packet test: 224.0.0.0/4 for IPv4, ff00::/8 for IPv6
        if pkt.family == 4:
            return 224 <= pkt.data[16] <= 239 if len(pkt.data) >= 20 else False
        return pkt.dst.startswith("ff")

    @property
    def closed(self) -> bool:
        return not self._socks

    def _closed_error(self) -> OSError:
        self.tx_errors += 1
        return OSError(errno.EBADF, f"{self.ifname}: socket closed")

    def _send(self, sock: socket.socket, data: bytes, addr: tuple[object, ...]) -> OSError | None:
        try:
            sock.sendto(data, addr)
        except OSError as e:
            self.tx_errors += 1
            log.warning("%s: send to %s failed: %s", self.ifname, addr[0], e)
            return e
        self.tx_packets += 1
        return None

    def send(self, data: bytes, dst: str) -> OSError | None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VrrpSocket4(_RawVrrpSocket):
    """IPv4 VRRP on one interface: multicast (group joined there) or unicast (no join).

    ``ah=True`` opens a second raw socket for protocol 51; ``send`` picks the socket from the
    protocol byte of the prebuilt header, and receive delivers from both.
    ``rcvbuf`` sets SO_RCVBUF (``kernel_rx_buf_size``).
    """

    family = 4

    def __init__(self, ifname: str, *, group: str = MCAST_GROUP4, unicast: bool = False,
                 ah: bool = False, netns: str | None = None, rcvbuf: int | None = None,
                 deliver_all: bool = False) -> None:
        super().__init__(ifname, unicast=unicast, netns=netns, deliver_all=deliver_all)
        protos = [PROTO_VRRP, PROTO_AH] if ah else [PROTO_VRRP]
        self._by_proto: dict[int, socket.socket] = {}
        try:
            with in_netns(netns):
                for proto in protos:
                    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
                    self._socks.append(s)
                    self._by_proto[proto] = s
                    self._setup(s, rcvbuf)
            if not unicast:
                self.join(group)
        except OSError:
            self.close()
            raise

    def _setup(self, s: socket.socket, rcvbuf: int | None) -> None:
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.ifname.encode())
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, self._mreqn("0.0.0.0"))
        if not self.deliver_all:
            # the mode filter's first half in the kernel: a raw socket receives every VRRP
            # datagram on its interface, so with a multicast and a unicast socket there
            # (heartbeat paths) each would otherwise read, and drop, all of the other's
            bpf.attach(s, bpf.ipv4_multicast_only(not self.unicast))
        self._size_rcvbuf(s, rcvbuf)

    def _mreqn(self, group: str) -> bytes:
        # struct ip_mreqn: multiaddr, local address (any), ifindex
        return socket.inet_aton(group) + socket.inet_aton("0.0.0.0") + struct.pack(
            "@i", self.ifindex)

    def join(self, group: str) -> None:
        """Join ``group`` on this interface (idempotent); packets to it are then delivered."""
        if group in self.groups:
            return
        for s in self._socks:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, self._mreqn(group))
        self.groups.add(group)

    def leave(self, group: str) -> None:
        if group not in self.groups:
            return
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, self._mreqn(group))
        self.groups.discard(group)

    @property
    def has_ah(self) -> bool:
        return PROTO_AH in self._by_proto

    def send(self, datagram: bytes, dst: str) -> OSError | None:
        """Send a complete IPv4 datagram (header built by the caller) towards ``dst``.

        Returns None on success, or the OSError (already logged) so the caller can count it.
        """
        if self.closed:
            return self._closed_error()
        proto = datagram[9] if len(datagram) > 9 else PROTO_VRRP
        sock = self._by_proto.get(proto) or self._socks[0]
        return self._send(sock, datagram, (dst, 0))

    def start(self, callback: ReceiveCallback,
              loop: asyncio.AbstractEventLoop | None = None, *,
              after_batch: Callable[[], None] | None = None,
              fast: FastCallback | None = None) -> None:
        """As for the base class; ``fast`` (optional) is offered every datagram that passes the
        mode filter, as raw bytes, before a ``Received`` is built. When it returns True the
        datagram counts as delivered and ``callback`` is not called; otherwise ``callback`` gets
        it as usual. An IPv4 datagram carries its whole header, so a consumer that reads the
        header itself (the VRRP child) takes every datagram this way and no object is built
        per datagram: the ancillary data is parsed only to filter by destination."""
        self._fast = fast
        super().start(callback, loop, after_batch=after_batch)

    _fast: FastCallback | None = None

    def _drain(self, sock: socket.socket) -> None:
        fast = self._fast
        if fast is None:
            super()._drain(sock)
            return
        for _ in range(MAX_DRAIN):
            if sock.fileno() < 0:  # a callback closed us mid-drain
                return
            try:
                data, anc, _flags, addr = sock.recvmsg(65535, _PKTINFO4_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.warning("%s: receive error on %s: %s", self.ifname, self.family, e)
                return
            if len(data) < 20:
                continue
            # The mode filter (_wants) on the raw datagram, no Received built:
            # a packet without exactly one well-formed IP_PKTINFO takes the general path.
            wanted = False
            pkt: Received | None = None
            if len(anc) == 1:
                level, ctype, cdata = anc[0]
                if level == socket.IPPROTO_IP and ctype == IP_PKTINFO and len(cdata) >= 12:
                    if not self._wants(224 <= data[16] <= 239, socket.inet_ntoa(cdata[8:12])):
                        self.rx_filtered += 1
                        continue
                    wanted = True
            if not wanted:
                pkt = self._parse(data, anc, addr)
                if not self._wanted(pkt):
                    self.rx_filtered += 1
                    continue
            self.rx_packets += 1
            try:
                if fast(data):
                    continue
                if pkt is None:
                    pkt = self._parse(data, anc, addr)
                if self._callback is not None:
                    self._callback(pkt)
            except Exception:
                log.exception("%s: packet handler failed", self.ifname)

    def _recv_one(self, sock: socket.socket) -> Received | None:
        # recvmsg(65535) measured no slower than recvmsg_into() a reused buffer plus the copy
        # to bytes that Received needs (CPython shrinks the result in place).
        data, anc, _flags, addr = sock.recvmsg(65535, _PKTINFO4_SPACE)
        if len(data) < 20:
            return None
        return self._parse(data, anc, addr)

    def _parse(self, data: bytes, anc: list[tuple[int, int, bytes]],
               addr: tuple[str, int]) -> Received:
        ifindex, dst = self.ifindex, None
        for level, ctype, cdata in anc:
            if level == socket.IPPROTO_IP and ctype == IP_PKTINFO and len(cdata) >= 12:
                ifindex = _NATIVE_INT.unpack_from(cdata)[0]
                dst = socket.inet_ntoa(cdata[8:12])
        if dst is None:
            dst = socket.inet_ntoa(data[16:20])
        return Received(data=data, src=addr[0], dst=dst, ifindex=ifindex, ttl=data[8],
                        family=4, protocol=data[9], tos=data[1])


def set_rcvbuf(s: socket.socket, nbytes: int) -> None:
    """Raise ``s``'s receive buffer to ``nbytes`` (as SO_RCVBUF counts it, before the kernel
    doubles it): SO_RCVBUFFORCE when allowed (CAP_NET_ADMIN), else SO_RCVBUF up to rmem_max.
    A buffer already that large (2 × ``nbytes`` as reported) is left alone."""
    if s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 2 * nbytes:
        return
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, nbytes)
    except PermissionError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, nbytes)


def link_local_of(ifname: str, netns: str | None = None) -> str | None:
    """The first link-local IPv6 address on ``ifname`` (None when it has none yet)."""
    with in_netns(netns), open("/proc/thread-self/net/if_inet6") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == ifname and parts[0].startswith("fe80"):
                return str(ipaddress.IPv6Address(bytes.fromhex(parts[0])))
    return None


class VrrpSocket6(_RawVrrpSocket):
    """IPv6 VRRP on one interface: kernel checksum, hop limit 255, traffic class 0xC0.

    Source address: ``src`` if given (``unicast_src_ip``/``mcast_src_ip``), else the interface's
    link-local address, picked at construction and passed with every send (IPV6_PKTINFO) so
    the kernel never chooses another. ``hop_limit`` is used for both multicast and unicast
    (``unicast_ttl``).
    """

    family = 6

    def __init__(self, ifname: str, *, group: str = MCAST_GROUP6, unicast: bool = False,
                 src: str | None = None, hop_limit: int = 255, netns: str | None = None,
                 rcvbuf: int | None = None, deliver_all: bool = False) -> None:
        super().__init__(ifname, unicast=unicast, netns=netns, deliver_all=deliver_all)
        self.src = src or link_local_of(ifname, netns)
        try:
            with in_netns(netns):
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, PROTO_VRRP)
                self._socks.append(s)
                s.setblocking(False)
                s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 6)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hop_limit)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hop_limit)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, TOS_NETWORK_CONTROL)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
                self._size_rcvbuf(s, rcvbuf)
            if not unicast:
                self.join(group)
        except OSError:
            self.close()
            raise
        self._set_pktinfo()

    def _set_pktinfo(self) -> None:
        # The source goes in IPV6_PKTINFO on every send rather than through bind(): a raw
        # socket bound to an address only receives packets addressed to it.
        src_packed = ipaddress.IPv6Address(self.src).packed if self.src else bytes(16)
        self._pktinfo = [(socket.IPPROTO_IPV6, IPV6_PKTINFO,
                          src_packed + struct.pack("@I", self.ifindex))]

    def _mreq(self, group: str) -> bytes:
        return socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", self.ifindex)

    def join(self, group: str) -> None:
        """Join ``group`` on this interface (idempotent)."""
        group = str(ipaddress.IPv6Address(group))
        if group in self.groups:
            return
        self._socks[0].setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, self._mreq(group))
        self.groups.add(group)

    def leave(self, group: str) -> None:
        group = str(ipaddress.IPv6Address(group))
        if group not in self.groups:
            return
        with contextlib.suppress(OSError):
            self._socks[0].setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP,
                                      self._mreq(group))
        self.groups.discard(group)

    def send(self, message: bytes, dst: str) -> OSError | None:
        """Send a VRRP message (no IPv6 header) to ``dst``; the kernel fills the checksum."""
        if self.closed:
            return self._closed_error()
        if self.src is None:
            # no link-local yet at construction (interface down, DAD): pick it up now
            self.src = link_local_of(self.ifname, self.netns)
            if self.src is not None:
                self._set_pktinfo()
        ip = ipaddress.IPv6Address(dst)
        scope = self.ifindex if (ip.is_link_local or ip.is_multicast) else 0
        sock = self._socks[0]
        try:
            sock.sendmsg([message], self._pktinfo, 0, (str(ip), 0, 0, scope))
        except OSError as e:
            self.tx_errors += 1
            log.warning("%s: send to %s failed: %s", self.ifname, dst, e)
            return e
        self.tx_packets += 1
        return None

    def _recv_one(self, sock: socket.socket) -> Received | None:
        space = socket.CMSG_SPACE(20) + 2 * socket.CMSG_SPACE(4)
        data, anc, _flags, addr = sock.recvmsg(65535, space)
        ifindex, dst, hops, tclass = self.ifindex, "", None, None
        for level, ctype, cdata in anc:
            if level != socket.IPPROTO_IPV6:
                continue
            if ctype == IPV6_PKTINFO and len(cdata) >= 20:
                dst = str(ipaddress.IPv6Address(cdata[:16]))
                ifindex = struct.unpack("@I", cdata[16:20])[0]
            elif ctype == IPV6_HOPLIMIT and len(cdata) >= 4:
                hops = struct.unpack("@i", cdata[:4])[0]
            elif ctype == IPV6_TCLASS and len(cdata) >= 4:
                tclass = struct.unpack("@i", cdata[:4])[0]
        src = str(addr[0]).split("%")[0]
        return Received(data=data, src=src, dst=dst, ifindex=ifindex, ttl=hops, family=6,
                        tos=tclass)
