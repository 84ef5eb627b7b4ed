"""The backup's repeat-advert fast path (``VrrpProcess._on_repeat4``, ``receive_repeat``)
must be invisible: fed the same datagrams (repeats, other masters, other priorities and
intervals, wrong TTLs, flipped bytes, new IP IDs and header checksums) with the same clock,
a process that offers each datagram to the fast path first ends with the same counters, state,
timers and actions as one that decodes every datagram."""

from __future__ import annotations

import dataclasses
import random
import socket
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.daemon.vrrp_process import VrrpProcess
from pykeepalived.net.sockets import Received
from pykeepalived.options import parse
from pykeepalived.vrrp.packet import Expect, encode_ipv4
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter

VIP, OTHER = "10.0.0.100", "10.0.0.101"
KEY = ("eth0", 4, False)


@dataclass(eq=False)
class _Inst:
    name: str
    router: VrrpRouter
    expect: Expect
    vmac: None = None
    ah: None = None


class _Side:
    """One VRRP child with one instance; ``fast`` offers each datagram to _on_repeat4 first,
    as VrrpSocket4 does."""

    def __init__(self, rs: RouterSettings, fast: bool) -> None:
        self.fast = fast
        self.now = 100.0
        self.acts: list[Any] = []
        self.hits = 0
        p = VrrpProcess(parse(["-f", "/nonexistent.conf"])[0])
        p._now = lambda: self.now  # type: ignore[method-assign]
        p._act = lambda inst, a: self.acts.append(a)  # type: ignore[method-assign]
        self.p = p
        self.inst = _Inst("VI_1", VrrpRouter(rs, self.now), Expect(
            version=rs.version, addresses=rs.addresses, unicast=False, mcast_group="224.0.0.18"))
        p.instances = {"VI_1": self.inst}  # type: ignore[dict-item]
        p.by_vrid = {KEY: {rs.vrid: self.inst}}  # type: ignore[dict-item]
        self.inst.router.start(self.now)
        p._drain(self.inst)  # type: ignore[arg-type]

    def datagram(self, data: bytes) -> None:
        if self.fast and self.p._on_repeat4(KEY, data):
            self.hits += 1
            return
        self.p._on_packet(KEY, Received(
            data=data, src=socket.inet_ntoa(data[12:16]), dst="224.0.0.18", ifindex=1,
            ttl=data[8], family=4, protocol=data[9], tos=data[1]))

    def advance(self, dt: float) -> None:
        self.now += dt
        r = self.inst.router
        t = r.next_timer()
        if t is not None and t <= self.now:
            r.handle_timer(self.now)
            self.p._drain(self.inst)  # type: ignore[arg-type]

    def set_priority(self, prio: int) -> None:
        self.inst.router.set_base_priority(prio, self.now)
        self.p._drain(self.inst)  # type: ignore[arg-type]

    def view(self) -> tuple[Any, ...]:
        r = self.inst.router
        return (dataclasses.asdict(r.stats), r.state, r.next_timer(), r.master_ip,
                r.master_adver_int, r.effective_priority, self.acts)


def _packet(rnd: random.Random) -> bytes:
    """Mostly the same master's repeat; sometimes another master, priority, interval, TTL,
    address list; sometimes a corrupted byte or header checksum (the kernel would drop a bad
    header checksum, but the fast path must not rely on that)."""
    common = rnd.random() < 0.7
    data = encode_ipv4(
        version=3, vrid=7,
        priority=150 if common else rnd.choice([0, 50, 100, 150, 200, 255]),
        adver_int=100 if common else rnd.choice([100, 50]),
        addresses=(VIP,) if common else rnd.choice([(VIP,), (OTHER,), (VIP, OTHER), ()]),
        src="10.0.0.2" if common else rnd.choice(["10.0.0.2", "10.0.0.3", "10.0.0.1"]),
        ip_id=rnd.randrange(65536), ttl=255 if common or rnd.random() < 0.7 else 64)
    b = bytearray(data)
    r = rnd.random()
    if r < 0.1:
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    elif r < 0.2:
        b[10:12] = rnd.randrange(65536).to_bytes(2, "big")
    return bytes(b)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), preempt=st.booleans(), skip=st.booleans(),
       delay=st.sampled_from([0.0, 0.5]))
def test_fast_path_and_full_path_agree(seed: int, preempt: bool, skip: bool,
                                       delay: float) -> None:
    rs = RouterSettings(name="VI_1", vrid=7, priority=100, version=3, advert_int=1.0,
                        addresses=(VIP,), src_ip="10.0.0.1", preempt=preempt,
                        preempt_delay=delay, skip_check_adv_addr=skip)
    full, fast = _Side(rs, fast=False), _Side(rs, fast=True)
    rnd = random.Random(seed)
    for _ in range(300):
        r = rnd.random()
        if r < 0.8:
            data = _packet(rnd)
            full.datagram(data)
            fast.datagram(data)
        elif r < 0.95:
            dt = rnd.choice([0.01, 0.1, 0.5, 1.0, 4.0])
            full.advance(dt)
            fast.advance(dt)
        else:
            prio = rnd.choice([50, 100, 150, 200])
            full.set_priority(prio)
            fast.set_priority(prio)
        assert fast.view() == full.view()
    assert full.hits == 0


def test_fast_path_takes_repeats_and_counts_them() -> None:
    rs = RouterSettings(name="VI_1", vrid=7, priority=100, version=3, advert_int=1.0,
                        addresses=(VIP,), src_ip="10.0.0.1")
    full, fast = _Side(rs, fast=False), _Side(rs, fast=True)
    for i in range(50):
        data = encode_ipv4(version=3, vrid=7, priority=150, adver_int=100, addresses=(VIP,),
                           src="10.0.0.2", ip_id=i + 1)
        full.datagram(data)
        fast.datagram(data)
        full.advance(0.5)
        fast.advance(0.5)
    assert fast.hits == 49  # all but the first, which the full path decodes and remembers
    assert fast.view() == full.view()
    assert fast.inst.router.stats.advert_rcvd == 50
    # a TTL other than 255 is never a repeat of an accepted advert: dropped and counted
    bad = bytearray(encode_ipv4(version=3, vrid=7, priority=150, adver_int=100,
                                addresses=(VIP,), src="10.0.0.2", ip_id=99, ttl=64))
    fast.datagram(bytes(bad))
    full.datagram(bytes(bad))
    assert fast.hits == 49
    assert fast.inst.router.stats.ip_ttl_err == 1
    assert fast.view() == full.view()
