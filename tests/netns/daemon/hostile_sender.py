"""Send hand-built, defective VRRP adverts from a lab host (run inside its namespace).

``python hostile_sender.py SRC VRID KIND COUNT [VERSION]``: COUNT packets of one KIND to
224.0.0.18 out of eth0 through an IP_HDRINCL raw socket, so that the TTL and every byte of the
VRRP message are ours (the kernel fills in the IP checksum and total length). Built here with
``struct``, independently of pykeepalived's encoder: the packets test the daemons, not our codec.
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import time

GROUP = "224.0.0.18"
PASSWORD = b"pkd-pass"
VIP = "10.99.7.200"


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def advert(vrid: int, *, prio: int = 200, vers_type: int = 0x21, addrs: tuple[str, ...] = (VIP,),
           auth_type: int = 1, adv: int = 1, password: bytes = PASSWORD,
           bad_csum: bool = False) -> bytes:
    body = b"".join(socket.inet_aton(a) for a in addrs) + password.ljust(8, b"\x00")[:8]
    head = bytes((vers_type, vrid, prio, len(addrs), auth_type, adv))
    csum = checksum(head + b"\x00\x00" + body)
    if bad_csum:
        csum ^= 0x5A5A
    return head + struct.pack("!H", csum) + body


def advert3(vrid: int, src: str, *, prio: int = 200, vers_type: int = 0x31,
            addrs: tuple[str, ...] = (VIP,), adv_cs: int = 100, bad_csum: bool = False) -> bytes:
    """A VRRPv3 advert, checksummed over the IPv4 pseudo-header (keepalived's default form)."""
    body = b"".join(socket.inet_aton(a) for a in addrs)
    head = bytes((vers_type, vrid, prio, len(addrs))) + struct.pack("!H", adv_cs & 0x0FFF)
    length = len(head) + 2 + len(body)
    phdr = socket.inet_aton(src) + socket.inet_aton(GROUP) + struct.pack("!BBH", 0, 112, length)
    csum = checksum(phdr + head + b"\x00\x00" + body)
    if bad_csum:
        csum ^= 0x5A5A
    return head + struct.pack("!H", csum) + body


def message3(kind: str, vrid: int, src: str, rng: random.Random) -> tuple[bytes, int]:
    """(VRRPv3 message, TTL) of one packet of ``kind``."""
    if kind == "valid":
        return advert3(vrid, src), 255
    if kind == "ttl":
        return advert3(vrid, src), 64
    if kind == "type":
        return advert3(vrid, src, vers_type=0x32), 255
    if kind == "version":
        return advert3(vrid, src, vers_type=0x41), 255
    if kind == "count":
        return advert3(vrid, src, addrs=(VIP, "10.99.7.201")), 255
    if kind == "address":
        return advert3(vrid, src, prio=100, addrs=("10.99.7.222",)), 255
    if kind == "short":
        return advert3(vrid, src)[:6], 255
    if kind == "csum":
        return advert3(vrid, src, bad_csum=True), 255
    if kind == "garbage":
        n = rng.randrange(0, 40)
        return bytes((0x31, vrid)) + bytes(rng.randrange(256) for _ in range(n)), 255
    if kind == "prio0":
        return advert3(vrid, src, prio=0), 255
    raise SystemExit(f"unknown kind {kind!r}")


def message(kind: str, vrid: int, rng: random.Random) -> tuple[bytes, int]:
    """(VRRPv2 message, TTL) of one packet of ``kind``."""
    if kind == "valid":  # the control: a well-formed advert of a higher priority
        return advert(vrid), 255
    if kind == "ttl":
        return advert(vrid), 64
    if kind == "type":
        return advert(vrid, vers_type=0x22), 255
    if kind == "version":
        return advert(vrid, vers_type=0x41), 255
    if kind == "interval":
        return advert(vrid, adv=3), 255
    if kind == "count":
        return advert(vrid, addrs=(VIP, "10.99.7.201")), 255
    if kind == "address":
        return advert(vrid, prio=100, addrs=("10.99.7.222",)), 255
    if kind == "authtype":
        return advert(vrid, auth_type=0, password=b""), 255
    if kind == "authinvalid":
        return advert(vrid, auth_type=5), 255
    if kind == "password":
        return advert(vrid, password=b"intruder"), 255
    if kind == "short":
        return advert(vrid)[:6], 255
    if kind == "csum":
        return advert(vrid, bad_csum=True), 255
    if kind == "garbage":
        n = rng.randrange(0, 40)
        return bytes((0x21, vrid)) + bytes(rng.randrange(256) for _ in range(n)), 255
    if kind == "prio0":
        return advert(vrid, prio=0), 255
    raise SystemExit(f"unknown kind {kind!r}")


def main() -> int:
    src, vrid, kind, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    version = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    rng = random.Random(f"{kind}-{vrid}")  # the same bytes for both implementations
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    for i in range(count):
        msg, ttl = message(kind, vrid, rng) if version == 2 else message3(kind, vrid, src, rng)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 0, 0x4000 + i, 0, ttl, 112, 0,
                         socket.inet_aton(src), socket.inet_aton(GROUP))
        s.sendto(ip + msg, (GROUP, 0))
        time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
