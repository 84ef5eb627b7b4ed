"""DNS_CHECK: one query (``type``, ``name``; default SOA for ".") over UDP from a socket that
carries the checker's bind/mark options; up when a response (QR set, same id) comes back with
rcode NOERROR, as keepalived judges it (the answer section is not inspected)."""

from __future__ import annotations

import asyncio
import socket

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from pykeepalived.check.connect import Target, make_socket
from pykeepalived.check.virtual_server import CheckOutcome


async def dns_check(t: Target, qtype: str = "SOA", name: str = ".") -> CheckOutcome:
    query = dns.message.make_query(name, dns.rdatatype.from_text(qtype))
    loop = asyncio.get_running_loop()
    try:
        sock = make_socket(t, socket.SOCK_DGRAM)
    except OSError as e:
        return CheckOutcome(False, detail=f"DNS socket: {e}")
    try:
        async with asyncio.timeout(t.timeout):
            await loop.sock_connect(sock, (t.host, t.port))
            await loop.sock_sendall(sock, query.to_wire())
            while True:
                wire = await loop.sock_recv(sock, 65535)
                try:
                    resp = dns.message.from_wire(wire)
                except Exception:  # a malformed datagram is not our answer; keep waiting
                    continue
                if resp.id == query.id and resp.flags & dns.flags.QR:
                    break
    except (OSError, TimeoutError) as e:
        return CheckOutcome(False, detail=f"DNS query to {t.host_port()} failed: "
                            f"{str(e) or type(e).__name__}")
    finally:
        sock.close()
    if resp.rcode() != dns.rcode.NOERROR:
        return CheckOutcome(False, detail=f"DNS rcode {dns.rcode.to_text(resp.rcode())}")
    return CheckOutcome(True)
