"""A 5 ms poller of one namespace's view of a VIP: does this host hold it, and which MAC
does its neighbour table give for it (the client's ARP view).

Run inside the namespace (``ip netns exec NS python -m pykeepalived.lab.sampler VIP``); it
prints ``<wall time> hold 0|1`` and ``<wall time> neigh <mac>|-`` each time a value changes,
then, at SIGTERM, ``<wall time> samples N`` (how many polls were made, so a reader can check
the rate held). Each poll is one rtnetlink dump, parsed just enough to find the address: a
poller that forked ``ip`` 200 times a second per host would measure its own load.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import struct
import sys
import time

RTM_GETADDR, RTM_GETNEIGH = 22, 30
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
IFA_ADDRESS, IFA_LOCAL = 1, 2
NDA_DST, NDA_LLADDR = 1, 2
NUD_VALID = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80  # REACHABLE STALE DELAY PROBE NOARP PERMANENT


def _attrs(data: bytes, off: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, off)
        if alen < 4:
            break
        out[atype & 0x7FFF] = data[off + 4: off + alen]
        off += (alen + 3) & ~3
    return out


class Poller:
    def __init__(self, vip: str) -> None:
        self.ip = ipaddress.ip_address(vip)
        self.family = socket.AF_INET if self.ip.version == 4 else socket.AF_INET6
        self.raw = self.ip.packed
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def _dump(self, kind: int, body: bytes) -> list[tuple[bytes, int, int]]:
        self.seq += 1
        hdr = struct.pack("=LHHLL", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
        self.sock.send(hdr + body)
        msgs: list[tuple[bytes, int, int]] = []
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                mlen, mtype = struct.unpack_from("=LH", data, off)
                if mtype in (NLMSG_DONE, NLMSG_ERROR) or mlen < 16:
                    return msgs
                msgs.append((data, off + 16, off + mlen))
                off += (mlen + 3) & ~3

    def holds(self) -> bool:
        for data, off, end in self._dump(RTM_GETADDR, struct.pack("=BBBBI", self.family, 0, 0,
                                                                    0, 0)):
            a = _attrs(data, off + 8, end)
            if a.get(IFA_LOCAL) == self.raw or a.get(IFA_ADDRESS) == self.raw:
                return True
        return False

    def neigh(self) -> str:
        for data, off, end in self._dump(RTM_GETNEIGH, struct.pack("=BxxxiHBB", self.family,
                                                                     0, 0, 0, 0)):
            state = struct.unpack_from("=H", data, off + 8)[0]
            a = _attrs(data, off + 12, end)
            if a.get(NDA_DST) == self.raw and state & NUD_VALID and NDA_LLADDR in a:
                return ":".join(f"{b:02x}" for b in a[NDA_LLADDR])
        return "-"


def main(argv: list[str]) -> int:
    vip = argv[0]
    period = float(argv[1]) if len(argv) > 1 else 0.005
    p = Poller(vip)
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    last_hold: bool | None = None
    last_mac: str | None = None
    n = 0
    nxt = time.monotonic()
    while not stop:
        now = time.time()
        h = p.holds()
        m = p.neigh()
        n += 1
        if h != last_hold:
            print(f"{now:.6f} hold {int(h)}", flush=True)
            last_hold = h
        if m != last_mac:
            print(f"{now:.6f} neigh {m}", flush=True)
            last_mac = m
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    print(f"{time.time():.6f} samples {n}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
