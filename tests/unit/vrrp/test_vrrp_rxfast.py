"""The backup's repeat-advert fast path (``VrrpEndpoint``'s memo, ``receive_repeat``) must be
invisible: fed the same datagrams (repeats, other masters, other priorities and intervals,
wrong TTLs, flipped bytes, new IP IDs and header checksums) with the same clock, an endpoint
with the memo ends with the same counters, state, timers and output as one that decodes every
datagram (``fast_path=False``), for IPv4, IPv6 and a VMAC (which reads every datagram twice)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp.endpoint import DatagramMeta, VrrpEndpoint, WireSettings
from pykeepalived.vrrp.packet import encode_ipv4, encode_ipv6
from pykeepalived.vrrp.router import RouterSettings

VIP, OTHER = "10.0.0.100", "10.0.0.101"
VIP6, OTHER6 = "2001:db8::100", "2001:db8::101"
META4 = DatagramMeta(4, "eth0")


class _Side:
    """One instance's endpoint, with or without the memo, and everything it put out."""

    def __init__(self, rs: RouterSettings, fast: bool, vmac: bool = False) -> None:
        self.now = 100.0
        family = rs.family
        group = "224.0.0.18" if family == 4 else "ff02::12"
        self.ep = VrrpEndpoint(rs, WireSettings(family=family, src=rs.src_ip or "",
                                                destinations=(group,), mcast_group=group,
                                                vmac=vmac),
                               self.now, fast_path=fast)
        self.out: list[Any] = []
        self.ep.start(self.now)
        self._collect()

    def _collect(self) -> None:
        self.out += self.ep.datagrams_to_send()
        self.out += self.ep.events()

    def datagram(self, data: bytes, meta: DatagramMeta = META4) -> None:
        self.ep.receive_datagram(data, meta, self.now)
        self._collect()

    def advance(self, dt: float) -> None:
        self.now += dt
        t = self.ep.get_timer()
        if t is not None and t <= self.now:
            self.ep.handle_timer(self.now)
        self._collect()

    def set_priority(self, prio: int) -> None:
        self.ep.router.set_base_priority(prio, self.now)
        self._collect()

    def view(self) -> tuple[Any, ...]:
        r = self.ep.router
        return (dataclasses.asdict(r.stats), r.state, r.next_timer(), r.master_ip,
                r.master_adver_int, r.effective_priority, self.out)


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


def _packet6(rnd: random.Random) -> tuple[bytes, DatagramMeta]:
    """The same for IPv6: the message, and the addresses and hop limit beside it."""
    common = rnd.random() < 0.7
    src = "fe80::2" if common else rnd.choice(["fe80::2", "fe80::3", "fe80::1"])
    data = encode_ipv6(
        version=3, vrid=7, priority=150 if common else rnd.choice([0, 50, 150, 200]),
        adver_int=100 if common else rnd.choice([100, 50]),
        addresses=(VIP6,) if common else rnd.choice([(VIP6,), (OTHER6,), (VIP6, OTHER6)]),
        src=src)
    if rnd.random() < 0.1:
        b = bytearray(data)
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        data = bytes(b)
    hops = 255 if common or rnd.random() < 0.7 else 64
    return data, DatagramMeta(6, "eth0", src, "ff02::12", hops)


def _run(rs: RouterSettings, seed: int, family: int, vmac: bool = False) -> tuple[_Side, _Side]:
    full, fast = _Side(rs, fast=False, vmac=vmac), _Side(rs, fast=True, vmac=vmac)
    rnd = random.Random(seed)
    for _ in range(300):
        r = rnd.random()
        if r < 0.8:
            if family == 4:
                data, meta = _packet(rnd), META4
            else:
                data, meta = _packet6(rnd)
            for _copy in range(2 if vmac else 1):  # a VMAC reads each datagram twice
                full.datagram(data, meta)
                fast.datagram(data, meta)
        elif r < 0.95:
            dt = rnd.choice([0.01, 0.1, 0.5, 1.0, 4.0])
            full.advance(dt)
            fast.advance(dt)
        else:
            prio = rnd.choice([50, 100, 150, 200])
            full.set_priority(prio)
            fast.set_priority(prio)
        assert fast.view() == full.view()
    assert full.ep.repeats == 0
    return full, fast


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), preempt=st.booleans(), skip=st.booleans(),
       delay=st.sampled_from([0.0, 0.5]), family=st.sampled_from([4, 6]),
       vmac=st.booleans())
def test_fast_path_and_full_path_agree(seed: int, preempt: bool, skip: bool, delay: float,
                                       family: int, vmac: bool) -> None:
    rs = RouterSettings(name="VI_1", vrid=7, priority=100, version=3, advert_int=1.0,
                        family=family, addresses=(VIP,) if family == 4 else (VIP6,),
                        src_ip="10.0.0.1" if family == 4 else "fe80::1", preempt=preempt,
                        preempt_delay=delay, skip_check_adv_addr=skip)
    _run(rs, seed, family, vmac)


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
    assert fast.ep.repeats == 49  # all but the first, which is decoded and remembered
    assert fast.view() == full.view()
    assert fast.ep.stats.advert_rcvd == 50
    # a TTL other than 255 is never a repeat of an accepted advert: dropped and counted
    bad = bytearray(encode_ipv4(version=3, vrid=7, priority=150, adver_int=100,
                                addresses=(VIP,), src="10.0.0.2", ip_id=99, ttl=64))
    fast.datagram(bytes(bad))
    full.datagram(bytes(bad))
    assert fast.ep.repeats == 49
    assert fast.ep.stats.ip_ttl_err == 1
    assert fast.view() == full.view()
