"""A small generic-netlink client on the standard library (used for IPVS).

Why not pyroute2's socket classes: importing pyroute2 costs ~1 s of CPU (it loads every
subsystem), which the checker process pays at start and the IPVS test guest (emulated CPU) pays
twenty times over; and IPVS needs only request/ack and dump over one family. The message layout
is the kernel's: ``nlmsghdr`` (len, type=family id, flags, seq, pid), ``genlmsghdr`` (cmd,
version, reserved) and 4-byte aligned attributes (len, type, payload).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import socket
import struct
import threading
from collections.abc import Iterator

from pykeepalived.net.rcvbuf import RcvBuf, apply_rcvbuf

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

CLONE_NEWNET = 0x40000000
NETLINK_GENERIC = 16
_RECV_SIZE = 1 << 20


class NetlinkError(OSError):
    """The kernel answered a request with an error; ``code`` is the positive errno."""

    def __init__(self, code: int, what: str = "") -> None:
        super().__init__(code, f"{os.strerror(code)}{': ' + what if what else ''}")
        self.code = code


# ------------------------------------------------------------------------------ attributes


def attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def nested(kind: int, *children: bytes) -> bytes:
    return attr(kind, b"".join(children))


def u8(kind: int, v: int) -> bytes:
    return attr(kind, struct.pack("=B", v))


def u16(kind: int, v: int) -> bytes:
    return attr(kind, struct.pack("=H", v))


def be16(kind: int, v: int) -> bytes:
    return attr(kind, struct.pack("!H", v))


def u32(kind: int, v: int) -> bytes:
    return attr(kind, struct.pack("=I", v))


def strz(kind: int, s: str) -> bytes:
    return attr(kind, s.encode() + b"\0")


def iter_attrs(buf: bytes) -> Iterator[tuple[int, bytes]]:
    off = 0
    while off + 4 <= len(buf):
        length, kind = struct.unpack_from("=HH", buf, off)
        if length < 4:
            break
        yield kind & NLA_TYPE_MASK, buf[off + 4: off + length]
        off += (length + 3) & ~3


def parse_attrs(buf: bytes) -> dict[int, bytes]:
    """Attributes by type (the last one wins, as the kernel's nla_parse does)."""
    return dict(iter_attrs(buf))


def get_u8(a: dict[int, bytes], k: int, default: int = 0) -> int:
    return a[k][0] if k in a else default


def get_u16(a: dict[int, bytes], k: int, default: int = 0) -> int:
    return int(struct.unpack_from("=H", a[k])[0]) if k in a else default


def get_be16(a: dict[int, bytes], k: int, default: int = 0) -> int:
    return int(struct.unpack_from("!H", a[k])[0]) if k in a else default


def get_u32(a: dict[int, bytes], k: int, default: int = 0) -> int:
    return int(struct.unpack_from("=I", a[k])[0]) if k in a else default


def get_u64(a: dict[int, bytes], k: int, default: int = 0) -> int:
    return int(struct.unpack_from("=Q", a[k])[0]) if k in a else default


def get_str(a: dict[int, bytes], k: int, default: str = "") -> str:
    return a[k].split(b"\0", 1)[0].decode() if k in a else default


# ------------------------------------------------------------------------------ messages


def message(family_id: int, cmd: int, payload: bytes, flags: int, seq: int, pid: int = 0,
            version: int = 1) -> bytes:
    body = struct.pack("=BBH", cmd, version, 0) + payload
    return struct.pack("=IHHII", 16 + len(body), family_id, flags, seq, pid) + body


def split_messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, seq, payload after nlmsghdr) for each message of a datagram."""
    off = 0
    while off + 16 <= len(data):
        length, mtype, flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            break
        yield mtype, flags, seq, data[off + 16: off + length]
        off += (length + 3) & ~3


def _socket_in_netns(netns: str | None) -> socket.socket:
    """A NETLINK_GENERIC socket in the named network namespace (``/run/netns/<name>``).

    A socket stays in the namespace it was created in, so a short-lived thread enters the
    namespace (setns affects only the calling thread), creates it and exits.
    """
    if netns is None:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    out: dict[str, object] = {}

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns {netns}: {os.strerror(e)}")
                out["sock"] = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                            NETLINK_GENERIC)
            finally:
                os.close(fd)
        except BaseException as e:  # handed to the caller's thread below
            out["error"] = e

    t = threading.Thread(target=work, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    sock = out["sock"]
    assert isinstance(sock, socket.socket)
    return sock


class GenlSocket:
    """One generic netlink socket; requests are serialised (one outstanding at a time)."""

    def __init__(self, netns: str | None = None, rcvbuf: RcvBuf | None = None) -> None:
        self._netns = netns
        self.rcvbuf = rcvbuf  # lvs_netlink_cmd_rcv_bufs (else _RECV_SIZE)
        self._sock: socket.socket | None = None
        self._seq = 0
        self._lock = asyncio.Lock()
        self._families: dict[str, int] = {}

    def _socket(self) -> socket.socket:
        if self._sock is None:
            s = _socket_in_netns(self._netns)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_SIZE)
            apply_rcvbuf(s, self.rcvbuf, "IPVS netlink command")
            s.bind((0, 0))
            s.setblocking(False)
            self._sock = s
        return self._sock

    async def family_id(self, name: str) -> int:
        """Resolve a family (``IPVS``) to its id; ENOENT when the kernel does not have it."""
        if name not in self._families:
            replies = await self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                                         strz(CTRL_ATTR_FAMILY_NAME, name),
                                         NLM_F_REQUEST | NLM_F_ACK)
            for _cmd, attrs in replies:
                a = parse_attrs(attrs)
                if CTRL_ATTR_FAMILY_ID in a:
                    self._families[name] = get_u16(a, CTRL_ATTR_FAMILY_ID)
            if name not in self._families:
                raise NetlinkError(errno.ENOENT, f"generic netlink family {name}")
        return self._families[name]

    async def request(self, family_id: int, cmd: int, payload: bytes,
                      flags: int) -> list[tuple[int, bytes]]:
        """Send one request; return the (cmd, attributes) of every reply message.

        Waits for the ack (``NLM_F_ACK``) or the end of the dump (``NLM_F_DUMP``); raises
        ``NetlinkError`` when the kernel answers with an error.
        """
        async with self._lock:
            sock = self._socket()
            loop = asyncio.get_running_loop()
            self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
            seq = self._seq
            await loop.sock_sendall(sock, message(family_id, cmd, payload, flags, seq))
            replies: list[tuple[int, bytes]] = []
            dump = flags & NLM_F_DUMP == NLM_F_DUMP
            while True:
                data = await loop.sock_recv(sock, _RECV_SIZE)
                for mtype, mflags, mseq, body in split_messages(data):
                    if mseq != seq:
                        continue
                    if mtype == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", body)[0]
                        if code:
                            raise NetlinkError(code)
                        return replies
                    if mtype == NLMSG_DONE:
                        return replies
                    replies.append((body[0], body[4:]))
                    if not dump and not flags & NLM_F_ACK and not mflags & NLM_F_MULTI:
                        return replies

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
