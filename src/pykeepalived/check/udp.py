"""UDP_CHECK: send ``payload``; an ICMP unreachable (ECONNREFUSED on a connected socket) is a
failure. Without ``require_reply`` silence until the timeout is success; with it, a reply must
arrive, be within [min_reply_length, max_reply_length] and match the hex pattern (X = any nibble).
"""

from __future__ import annotations

import asyncio
import socket

from pykeepalived.check.connect import Target, make_socket
from pykeepalived.check.virtual_server import CheckOutcome


def reply_matches(reply: bytes, pattern: str) -> bool:
    """Compare ``reply`` with hex ``pattern`` (``X``/``x`` match any nibble) over the shorter of
    the two, as keepalived does; lengths are policed by min/max_reply_length instead."""
    want = pattern.replace(" ", "")
    have = reply.hex()
    return all(w in "xX" or w.lower() == h for w, h in zip(want, have, strict=False))


async def udp_check(t: Target, payload: bytes | None, require_reply: str | None,
                    min_len: int = 0, max_len: int = 255) -> CheckOutcome:
    loop = asyncio.get_running_loop()
    try:
        sock = make_socket(t, socket.SOCK_DGRAM)
    except OSError as e:
        return CheckOutcome(False, detail=f"UDP socket: {e}")
    try:
        await loop.sock_connect(sock, (t.host, t.port))
        await loop.sock_sendall(sock, payload or b"")
        try:
            async with asyncio.timeout(t.timeout):
                reply = await loop.sock_recv(sock, 65535)
        except TimeoutError:
            if require_reply is not None:
                return CheckOutcome(False, detail=f"no UDP reply from {t.host_port()}")
            return CheckOutcome(True)
    except OSError as e:
        return CheckOutcome(False, detail=f"UDP check to {t.host_port()} failed: {e}")
    finally:
        sock.close()
    if require_reply is None:
        return CheckOutcome(True)
    if not min_len <= len(reply) <= max_len:
        return CheckOutcome(False, detail=f"UDP reply length {len(reply)} out of range")
    if not reply_matches(reply, require_reply):
        return CheckOutcome(False, detail="UDP reply does not match require_reply")
    return CheckOutcome(True)
