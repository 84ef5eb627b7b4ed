"""Classic BPF socket filters: the kernel drops what a socket would only discard.

A program is a list of ``(code, jt, jf, k)`` instructions (``struct sock_filter``); the
kernel copies it at attach time, so nothing needs to be kept alive afterwards.
"""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_FILTER = 26

Program = list[tuple[int, int, int, int]]

ACCEPT = 0x40000  # return value: keep the packet whole (any length a datagram can have)

# raw IPv4 sockets see the packet from its IP header: byte 16 is the destination's first
_IPV4_DST_MULTICAST = [(0x30, 0, 0, 16), (0x54, 0, 0, 0xF0)]  # ldb [16]; and #0xf0


def ipv4_multicast_only(multicast: bool) -> Program:
    """Keep datagrams to a multicast destination (224.0.0.0/4), or all others (``False``)."""
    keep, drop = (0x06, 0, 0, ACCEPT), (0x06, 0, 0, 0)
    return [*_IPV4_DST_MULTICAST, (0x15, 0, 1, 0xE0),  # jeq #0xe0: next, else skip one
            *((keep, drop) if multicast else (drop, keep))]


def attach(sock: socket.socket, program: Program) -> None:
    """Attach ``program`` to ``sock`` (SO_ATTACH_FILTER)."""
    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    struct.pack("HL", len(program), ctypes.addressof(buf)))
