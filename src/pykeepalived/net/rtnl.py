"""Addresses over rtnetlink on the standard library, with no event loop between the decision
and the kernel.

The kernel applies an rtnetlink request while ``send(2)`` runs (``rtnetlink_rcv`` is called in
the sender's context), so an address is added or gone when :meth:`RtnlSocket.send` returns; the
acknowledgement only tells how it went, and can be read later (:meth:`RtnlSocket.acks`, from a
loop reader or at leisure). That is how keepalived takes a VIP away in the same call that
handles the higher-priority advert. pyroute2's asyncio client (``net.addresses``) needs a
task, an encoder pass of ~0.3 ms and a loop wake-up per request before anything reaches the
kernel; on a loaded machine each of those is a chance to be scheduled out, so ten instances
releasing at once took tens of milliseconds there and ~1 ms here.

Messages are built from ``net.addresses.address_kwargs`` (one definition of what an address
line means), and :func:`parse_addresses` reads an RTM_GETADDR dump (also used by the lab's
address sampler); :meth:`RtnlSocket.dump_neighbours` gives the lab a client's ARP/ND view.
"""

from __future__ import annotations

import errno as errno_mod
import itertools
import os
import socket
import struct
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22
RTM_NEWNEIGH = 28
RTM_GETNEIGH = 30
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_DUMP = 0x300
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_BROADCAST = 4
IFA_CACHEINFO = 6
IFA_FLAGS = 8
IFA_PROTO = 11
#: ``ip addr`` shows it as ``proto keepalived`` (rt_addrprotos; what keepalived 2.4 sets)
NDA_DST = 1
NDA_LLADDR = 2
NUD_VALID = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80  # REACHABLE STALE DELAY PROBE NOARP PERMANENT
RTPROT_KEEPALIVED = 18

_T = TypeVar("_T")
_HDR = struct.Struct("=IHHII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTA = struct.Struct("=HH")
_CACHEINFO = struct.Struct("=IIII")
_NDMSG = struct.Struct("=BxxxiHBB")


def _attr(kind: int, payload: bytes) -> bytes:
    raw = _RTA.pack(4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def _ip(family: int, text: str) -> bytes:
    return socket.inet_pton(family, text)


def address_payload(kw: Mapping[str, Any], *, delete: bool = False) -> bytes:
    """``ifaddrmsg`` + attributes for ``net.addresses.address_kwargs`` output. A delete
    carries only what identifies the address (as ``AddressManager.delete_address``)."""
    fam = int(kw["family"])
    flags = int(kw.get("flags", 0)) if not delete else 0
    scope = int(kw.get("scope", 0)) if not delete else 0
    body = _IFADDRMSG.pack(fam, int(kw["prefixlen"]), flags & 0xFF, scope, int(kw["index"]))
    local = kw.get("local") or kw["address"]
    body += _attr(IFA_LOCAL, _ip(fam, local)) + _attr(IFA_ADDRESS, _ip(fam, kw["address"]))
    if delete:
        return body
    if kw.get("broadcast"):
        body += _attr(IFA_BROADCAST, _ip(fam, kw["broadcast"]))
    if kw.get("label"):
        body += _attr(IFA_LABEL, kw["label"].encode() + b"\0")
    if flags:
        body += _attr(IFA_FLAGS, struct.pack("=I", flags))
    if "preferred_lft" in kw:
        body += _attr(IFA_CACHEINFO, _CACHEINFO.pack(int(kw["preferred_lft"]),
                                                     int(kw.get("valid_lft", 0xFFFFFFFF)), 0, 0))
    if kw.get("proto"):
        body += _attr(IFA_PROTO, struct.pack("=B", int(kw["proto"])))
    return body


@dataclass(frozen=True)
class KernelAddress:
    """One address of a dump: ``ip`` is the local address (IFA_LOCAL, else IFA_ADDRESS)."""

    family: int  # 4 or 6
    ip: str
    prefixlen: int
    ifindex: int
    proto: int = 0


def parse_addresses(buf: bytes, seq: int | None = None) -> tuple[list[KernelAddress], bool]:
    """The addresses in one ``recv`` of an RTM_GETADDR dump, and whether it was the last
    (NLMSG_DONE). With ``seq``, messages of other requests are skipped. An error answer to the
    dump raises ``OSError``."""
    out: list[KernelAddress] = []
    for body in _dump_bodies(buf, seq, RTM_NEWADDR, _IFADDRMSG.size, "address dump"):
        if body is None:
            return out, True
        fam, plen, _f, _scope, index = _IFADDRMSG.unpack_from(body)
        af = socket.AF_INET6 if fam == socket.AF_INET6 else socket.AF_INET
        attrs = dict(_attrs(body[_IFADDRMSG.size:]))
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if raw is None:
            continue
        proto = attrs[IFA_PROTO][0] if IFA_PROTO in attrs else 0
        out.append(KernelAddress(6 if af == socket.AF_INET6 else 4, socket.inet_ntop(af, raw),
                                 plen, index, proto))
    return out, False


@dataclass(frozen=True)
class KernelNeighbour:
    """One neighbour table entry with a link-layer address in a usable state (NUD_VALID)."""

    ip: str
    lladdr: str  # aa:bb:cc:dd:ee:ff
    ifindex: int


def parse_neighbours(buf: bytes, seq: int | None = None
                     ) -> tuple[list[KernelNeighbour], bool]:
    """The valid entries in one ``recv`` of an RTM_GETNEIGH dump (as :func:`parse_addresses`);
    incomplete and failed entries, which name no usable MAC, are left out."""
    out: list[KernelNeighbour] = []
    for body in _dump_bodies(buf, seq, RTM_NEWNEIGH, _NDMSG.size, "neighbour dump"):
        if body is None:
            return out, True
        fam, index, state, _flags, _type = _NDMSG.unpack_from(body)
        attrs = dict(_attrs(body[_NDMSG.size:]))
        dst, mac = attrs.get(NDA_DST), attrs.get(NDA_LLADDR)
        if dst is None or mac is None or not state & NUD_VALID:
            continue
        af = socket.AF_INET6 if fam == socket.AF_INET6 else socket.AF_INET
        out.append(KernelNeighbour(socket.inet_ntop(af, dst), mac.hex(":"), index))
    return out, False


def _dump_bodies(buf: bytes, seq: int | None, mtype_want: int, min_len: int, what: str
                 ) -> Iterator[bytes | None]:
    """The ``mtype_want`` message bodies of one dump datagram, then None at NLMSG_DONE."""
    for mtype, _flags, mseq, body in _messages(buf):
        if seq is not None and mseq != seq:
            continue
        if mtype == NLMSG_DONE:
            yield None
            return
        if mtype == NLMSG_ERROR:
            (err,) = struct.unpack_from("=i", body)
            if err:
                raise OSError(-err, f"{what}: {os.strerror(-err)}")
            continue
        if mtype == mtype_want and len(body) >= min_len:
            yield body


def _messages(buf: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    off = 0
    while off + _HDR.size <= len(buf):
        length, mtype, flags, seq, _pid = _HDR.unpack_from(buf, off)
        if length < _HDR.size:
            return
        yield mtype, flags, seq, buf[off + _HDR.size : off + length]
        off += (length + 3) & ~3


def _attrs(buf: bytes) -> Iterator[tuple[int, bytes]]:
    off = 0
    while off + 4 <= len(buf):
        alen, kind = _RTA.unpack_from(buf, off)
        if alen < 4:
            return
        yield kind & 0x3FFF, buf[off + 4 : off + alen]
        off += (alen + 3) & ~3


class RtnlSocket:
    """A NETLINK_ROUTE socket for address requests whose effect is immediate.

    ``send`` returns the request's sequence number once the kernel has applied it; ``acks``
    reads the answers that have arrived (non-blocking: register ``fileno()`` with a loop to be
    told), ``wait`` blocks for one (the synchronous supervisor). ``netns``: open the socket in
    that named namespace (tests, labs).
    """

    def __init__(self, netns: str | None = None) -> None:
        from pykeepalived.net.netns import in_netns

        with in_netns(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                      0)
        self.sock.bind((0, 0))
        self.sock.setblocking(False)
        self._seq = itertools.count(1)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def send(self, mtype: int, flags: int, payload: bytes) -> int:
        """Send one request (with NLM_F_ACK); applied by the kernel when this returns."""
        seq = next(self._seq) & 0xFFFFFFFF
        msg = _HDR.pack(_HDR.size + len(payload), mtype, flags | NLM_F_REQUEST | NLM_F_ACK,
                        seq, 0) + payload
        self.sock.send(msg)
        return seq

    def add_address(self, kw: Mapping[str, Any]) -> int:
        """Add (create, exclusive: EEXIST when it is there) ``address_kwargs`` ``kw``."""
        return self.send(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, address_payload(kw))

    def delete_address(self, kw: Mapping[str, Any]) -> int:
        return self.send(RTM_DELADDR, 0, address_payload(kw, delete=True))

    def acks(self) -> list[tuple[int, int]]:
        """(sequence, errno) of every answer waiting (errno 0: done); never blocks."""
        out: list[tuple[int, int]] = []
        while True:
            try:
                buf = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return out
            for mtype, _flags, seq, body in _messages(buf):
                if mtype == NLMSG_ERROR and len(body) >= 4:
                    (err,) = struct.unpack_from("=i", body)
                    out.append((seq, -err))

    def wait(self, seq: int, timeout: float = 2.0) -> int:
        """Block until the answer to ``seq`` (its errno, 0 = done); ETIMEDOUT if none came."""
        import select

        end = _now() + timeout
        while (left := end - _now()) > 0:
            if not select.select([self.sock], [], [], left)[0]:
                break
            for s, err in self.acks():
                if s == seq:
                    return err
        return errno_mod.ETIMEDOUT

    def dump_addresses(self, timeout: float = 2.0) -> list[KernelAddress]:
        """Every address of the namespace (blocking; a small table answers in microseconds)."""
        return self._dump(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0),
                          parse_addresses, timeout)

    def dump_neighbours(self, family: int = socket.AF_UNSPEC, timeout: float = 2.0
                        ) -> list[KernelNeighbour]:
        """The neighbour table's valid entries (a client's view of who owns an address)."""
        return self._dump(RTM_GETNEIGH, _NDMSG.pack(family, 0, 0, 0, 0), parse_neighbours,
                          timeout)

    def _dump(self, mtype: int, payload: bytes,
              parse: Callable[[bytes, int], tuple[list[_T], bool]], timeout: float) -> list[_T]:
        import select

        seq = next(self._seq) & 0xFFFFFFFF
        self.sock.send(_HDR.pack(_HDR.size + len(payload), mtype, NLM_F_REQUEST | NLM_F_DUMP,
                                 seq, 0) + payload)
        out: list[_T] = []
        end = _now() + timeout
        while (left := end - _now()) > 0:
            if not select.select([self.sock], [], [], left)[0]:
                break
            try:
                got, done = parse(self.sock.recv(65536), seq)
            except BlockingIOError:
                continue
            out += got
            if done:
                return out
        raise TimeoutError("rtnetlink dump: no end of dump")


def _now() -> float:
    import time

    return time.monotonic()


def delete_tagged(proto: int = RTPROT_KEEPALIVED, netns: str | None = None,
                  only: Collection[str] | None = None) -> list[tuple[KernelAddress, int]]:
    """Delete every address of the namespace tagged ``proto`` (the VIPs a VRRP child put
    there), or of those only the ones in ``only``; (address, errno) for each, errno 0 when
    it went. Blocking, ~1 ms."""
    rt = RtnlSocket(netns)
    try:
        gone = [a for a in rt.dump_addresses()
                if a.proto == proto and (only is None or a.ip in only)]
        out = []
        for a in gone:
            fam = socket.AF_INET6 if a.family == 6 else socket.AF_INET
            seq = rt.delete_address({"family": fam, "prefixlen": a.prefixlen,
                                     "index": a.ifindex, "address": a.ip})
            out.append((a, rt.wait(seq)))
        return out
    finally:
        rt.close()
