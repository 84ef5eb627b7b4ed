"""Seeded fuzzer for the VRRP packet decoder (``vrrp.packet.decode_ipv4`` / ``decode_ipv6``).

    .venv/bin/python bench/fuzz/packet_fuzz.py [--cases N] [--seed S] [--golden DIR]

Each case starts from a golden packet (keepalived 2.2.7's captures,
``tests/fixtures/golden/*.pcap``) or from random bytes, and is mutated: byte flips,
field rewrites (version/type, VRID, priority, address count, auth type, interval, IHL, total
length, TTL, protocol) with the IPv4 header checksum and the VRRP checksum fixed up afterwards
(so that a mutation reaches the checks behind them), truncations and extensions. Each packet
is decoded under several instance settings (none, the capture's own ``Expect`` and auth, a
mismatching one, AH with a replay state). Decoding may return an ``Advert`` or raise
``PacketError``; anything else raised is a failure, and so is a decode taking more than
``--slow`` seconds of CPU (a hang).

Prints cases run, decodes, the outcome distribution (accepted / each ``DropReason``), the peak
RSS and the slowest decode; exits 1 on any failure. ``tests/unit/vrrp/test_vrrp_packet_fuzz.py``
runs a short fixed-seed run in CI.
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import random
import resource
import struct
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pykeepalived.lab.pcap import ETH_IPV4, ip_packets
from pykeepalived.vrrp.auth import AhState, AuthConfig
from pykeepalived.vrrp.packet import Expect, PacketError, decode_ipv4, decode_ipv6

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
PASSWORD = "kl-pass8"  # the golden captures' auth_pass
VIP4 = ("10.77.0.200",)
VIP6 = ("fd77::200",)


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def fix_ipv4(pkt: bytearray, rng: random.Random) -> None:
    """Recompute the IPv4 header checksum and (mostly) the VRRP checksum, v2 or v3 form."""
    if len(pkt) < 20:
        return
    ihl = (pkt[0] & 0x0F) * 4
    if 20 <= ihl <= len(pkt):
        pkt[10:12] = b"\0\0"
        pkt[10:12] = struct.pack("!H", _csum(bytes(pkt[:ihl])))
    off = ihl + (24 if pkt[9] == 51 else 0)
    if ihl < 20 or len(pkt) < off + 8 or rng.random() < 0.1:
        return
    msg = bytearray(pkt[off:])
    msg[6:8] = b"\0\0"
    if msg[0] >> 4 == 3:  # v3: pseudo-header sum over source, destination, protocol, length
        phdr = bytes(pkt[12:20]) + struct.pack("!BBH", 0, 112, len(msg))
        c = _csum(phdr + bytes(msg))
    else:
        c = _csum(bytes(msg))
    pkt[off + 6:off + 8] = struct.pack("!H", c)


def fix_ipv6(msg: bytearray, src: str, dst: str) -> None:
    if len(msg) < 8:
        return
    msg[6:8] = b"\0\0"
    phdr = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
            + struct.pack("!I3xB", len(msg), 112))
    msg[6:8] = struct.pack("!H", _csum(phdr + bytes(msg)))


_FIELDS4 = [(0, [0x45, 0x46, 0x4F, 0x40, 0x65, 0x44]), (2, None), (3, None), (8, [0, 1, 254, 255]),
            (9, [112, 51, 6, 0])]
_FIELDS_VRRP = [(0, [0x21, 0x31, 0x11, 0x22, 0x20, 0x41, 0x3F, 0xF1]), (1, [0, 1, 51, 255]),
                (2, [0, 1, 100, 254, 255]), (3, [0, 1, 2, 20, 255]), (4, [0, 1, 2, 3, 255]),
                (5, [0, 1, 255])]


def mutate(rng: random.Random, pkt: bytes, v4: bool) -> bytes:
    b = bytearray(pkt)
    off = ((b[0] & 0x0F) * 4 + (24 if len(b) > 9 and b[9] == 51 else 0)) if v4 and b else 0
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        if op == 0 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 2 and v4 and len(b) >= 20:
            i, vals = rng.choice(_FIELDS4)
            b[i] = rng.choice(vals) if vals else rng.randrange(256)
        elif op == 3 and len(b) >= off + 8:
            i, vals = rng.choice(_FIELDS_VRRP)
            b[off + i] = rng.choice(vals)
        elif op == 4:
            b = b[:rng.randrange(len(b) + 1)]
        else:
            b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if v4 and rng.random() < 0.8:
        fix_ipv4(b, rng)
    return bytes(b)


@dataclass
class Report:
    cases: int = 0
    decodes: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    seconds: float = 0.0

    def lines(self) -> list[str]:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = [f"cases run: {self.cases}, decodes: {self.decodes} in {self.seconds:.1f} s",
               "outcomes: " + ", ".join(f"{k} {v}" for k, v in self.outcomes.most_common()),
               f"peak RSS: {rss:.1f} MiB",
               f"slowest decode: {self.slowest[0] * 1e6:.0f} us ({self.slowest[1]})",
               f"failures: {len(self.failures)} (exceptions other than PacketError, hangs)"]
        out.extend("  " + f for f in self.failures[:20])
        return out


def _settings4(pcap: str) -> list[tuple[AuthConfig | None, Expect | None, AhState | None]]:
    v3 = "v3" in pcap
    auth = None if v3 else (AuthConfig.ah(PASSWORD) if "ah" in pcap else AuthConfig.pass_(
        PASSWORD))
    unicast = "unicast" in pcap
    own = Expect(version=3 if v3 else 2, adver_int=100 if v3 else 1, addresses=VIP4,
                 unicast=unicast, auth=auth,
                 unicast_peers={"10.77.0.11": (0, 255)} if unicast else None)
    other = Expect(version=2 if v3 else 3, adver_int=1, addresses=("10.0.0.1", "10.0.0.2"))
    return [(None, None, None), (None, own, None), (auth, None, AhState()), (None, other, None),
            (AuthConfig.ah("x"), None, AhState())]


def fuzz(cases: int, seed: int, slow: float = 1.0, golden: Path = GOLDEN) -> Report:
    """Decode ``cases`` mutated packets under several settings each; same seed, same cases."""
    packets = ip_packets(sorted(golden.glob("*.pcap")))
    rng = random.Random(seed)
    rep = Report()
    t0 = time.monotonic()
    for i in range(cases):
        g = rng.choice(packets)
        raw = g.packet
        v4 = g.ethertype == ETH_IPV4
        if rng.random() < 0.05:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
        if v4:
            pkt = mutate(rng, raw, True)
            calls: list[tuple[str, Callable[[], object]]] = [
                (f"#{i} v4 {pkt.hex()} setting {k}",
                 lambda p=pkt, a=a, e=e, s=s: decode_ipv4(p, auth=a, expect=e, ah_state=s))
                for k, (a, e, s) in enumerate(_settings4(g.pcap))]
        else:
            src = str(ipaddress.IPv6Address(raw[8:24])) if len(raw) >= 40 else "fe80::1"
            dst = rng.choice(["ff02::12", "fe80::2", "fd77::1"])
            msg = bytearray(mutate(rng, raw[40:], False))
            if rng.random() < 0.8:
                fix_ipv6(msg, src, dst)
            m6 = bytes(msg)
            hl = rng.choice([255, 254, 1, None])
            exp6 = Expect(version=3, addresses=VIP6, unicast=False)
            calls = [(f"#{i} v6 {m6.hex()} {src}>{dst} hop {hl} setting {k}",
                      lambda m=m6, e=e, a=a, s=src, d=dst, h=hl: decode_ipv6(
                          m, src=s, dst=d, hop_limit=h, auth=a, expect=e))
                     for k, (a, e) in enumerate([(None, None), (None, exp6),
                                                 (AuthConfig.pass_(PASSWORD), None)])]
        rep.cases += 1
        for label, call in calls:
            rep.decodes += 1
            t = time.thread_time()  # CPU: a loaded machine may deschedule us for a while
            try:
                call()
                rep.outcomes["accepted"] += 1
            except PacketError as e:
                rep.outcomes[e.reason.name] += 1
            except Exception:
                rep.failures.append(f"{label}: {traceback.format_exc(limit=3)[-600:]}")
            dt = time.thread_time() - t
            if dt > rep.slowest[0]:
                rep.slowest = (dt, label)
            if dt > slow:
                rep.failures.append(f"{label}: took {dt:.2f} s")
    rep.seconds = time.monotonic() - t0
    return rep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow", type=float, default=1.0, help="seconds for one decode: a hang")
    ap.add_argument("--golden", type=Path, default=GOLDEN)
    args = ap.parse_args()
    rep = fuzz(args.cases, args.seed, args.slow, args.golden)
    print("\n".join(rep.lines()))
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
