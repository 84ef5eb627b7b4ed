"""PING_CHECK: one ICMP/ICMPv6 echo, answered within connect_timeout.

Uses an unprivileged ICMP datagram socket when ``net.ipv4.ping_group_range`` allows it (the
kernel then fixes id and checksum), else a raw socket (root).
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

from pykeepalived.check.connect import Target
from pykeepalived.check.virtual_server import CheckOutcome

_seq = 0


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _open(t: Target) -> tuple[socket.socket, bool]:
    v6 = t.family == socket.AF_INET6
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    try:
        return socket.socket(t.family, socket.SOCK_DGRAM, proto), False
    except PermissionError:
        return socket.socket(t.family, socket.SOCK_RAW, proto), True


async def ping_check(t: Target) -> CheckOutcome:
    global _seq
    _seq = (_seq + 1) & 0xFFFF
    v6 = t.family == socket.AF_INET6
    echo_req, echo_rep = (128, 129) if v6 else (8, 0)
    ident = os.getpid() & 0xFFFF
    payload = b"pykeepalived-ping"
    try:
        sock, raw = _open(t)
    except OSError as e:
        return CheckOutcome(False, detail=f"ICMP socket: {e}")
    loop = asyncio.get_running_loop()
    try:
        sock.setblocking(False)
        if t.fwmark:
            sock.setsockopt(socket.SOL_SOCKET, 36, t.fwmark)
        if t.bind_if:
            sock.setsockopt(socket.SOL_SOCKET, 25, t.bind_if.encode())
        if t.bindto:
            sock.bind((t.bindto, 0))
        hdr = struct.pack("!BBHHH", echo_req, 0, 0, ident, _seq)
        csum = 0 if v6 else _checksum(hdr + payload)
        pkt = struct.pack("!BBHHH", echo_req, 0, csum, ident, _seq) + payload
        sock.connect((t.host, 0))  # datagram/raw: no handshake, never blocks
        await loop.sock_sendall(sock, pkt)
        async with asyncio.timeout(t.timeout):
            while True:
                data = await loop.sock_recv(sock, 2048)
                if raw and not v6:
                    data = data[(data[0] & 0x0F) * 4:]
                if len(data) < 8:
                    continue
                typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[:8])
                if typ == echo_rep and rseq == _seq and (rid == ident or not raw):
                    return CheckOutcome(True)
    except (OSError, TimeoutError) as e:
        return CheckOutcome(False, detail=f"PING to {t.host} failed: {str(e) or type(e).__name__}")
    finally:
        sock.close()
