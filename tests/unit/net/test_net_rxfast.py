"""VrrpSocket4's drain loop with a ``fast`` hook filters exactly as the general one: the same
datagrams reach the callback (as the same Received), the same are counted as delivered or
filtered, in every mode (multicast group, unicast, deliver_all) and whatever the ancillary
data (none, IP_PKTINFO for our group or another, an extra control message, a short one)."""

from __future__ import annotations

import random
import socket
import struct
from typing import Any

import pytest

from pykeepalived.net.sockets import IP_PKTINFO, Received, VrrpSocket4
from pykeepalived.vrrp.packet import encode_ipv4


class _FakeSock:
    """What the drain loop uses of a socket: fileno() and recvmsg() until EAGAIN."""

    def __init__(self, items: list[tuple[bytes, list[tuple[int, int, bytes]], tuple[str, int]]]
                 ) -> None:
        self.items = list(items)

    def fileno(self) -> int:
        return 3

    def recvmsg(self, bufsize: int, ancbufsize: int) -> tuple[Any, ...]:
        if not self.items:
            raise BlockingIOError
        data, anc, addr = self.items.pop(0)
        return data, anc, 0, addr


def _sock(unicast: bool, deliver_all: bool, fast: Any) -> tuple[VrrpSocket4, list[Received]]:
    s = object.__new__(VrrpSocket4)
    s.ifname, s.unicast, s.deliver_all, s.ifindex = "eth0", unicast, deliver_all, 2
    s.groups = {"224.0.0.18"}
    s.rx_packets = s.rx_filtered = s.tx_packets = s.tx_errors = 0
    got: list[Received] = []
    s._callback = got.append
    s._fast = fast
    return s, got


def _pktinfo(dst: str, ifindex: int = 2) -> tuple[int, int, bytes]:
    return (socket.IPPROTO_IP, IP_PKTINFO,
            struct.pack("@i", ifindex) + socket.inet_aton("10.0.0.1") + socket.inet_aton(dst))


def _items(rnd: random.Random) -> list[tuple[bytes, list[tuple[int, int, bytes]],
                                              tuple[str, int]]]:
    out = []
    for i in range(400):
        dst = rnd.choice(["224.0.0.18", "224.0.0.19", "10.0.0.1", "239.1.1.1"])
        data = encode_ipv4(version=3, vrid=7, priority=100, adver_int=100,
                           addresses=("10.0.0.100",), src="10.0.0.2", dst=dst, ip_id=i)
        if rnd.random() < 0.05:
            data = data[:rnd.randrange(25)]
        cm_dst = dst if rnd.random() < 0.8 else rnd.choice(["224.0.0.18", "10.0.0.1"])
        anc = rnd.choice([
            [_pktinfo(cm_dst)], [_pktinfo(cm_dst)], [_pktinfo(cm_dst, 5)], [],
            [_pktinfo(cm_dst), (socket.IPPROTO_IP, 99, b"x")],
            [(socket.IPPROTO_IP, IP_PKTINFO, b"short")],
        ])
        out.append((data, anc, ("10.0.0.2", 0)))
    return out


@pytest.mark.parametrize(("unicast", "deliver_all"), [(False, False), (True, False),
                                                       (False, True)])
@pytest.mark.parametrize("seed", range(5))
def test_fast_drain_filters_and_delivers_like_the_general_one(
        unicast: bool, deliver_all: bool, seed: int) -> None:
    items = _items(random.Random(seed))
    offered: list[bytes] = []

    def decline(data: bytes) -> bool:
        offered.append(data)
        return False

    plain, plain_got = _sock(unicast, deliver_all, None)
    fast, fast_got = _sock(unicast, deliver_all, decline)
    plain._drain(_FakeSock(items))  # type: ignore[arg-type]
    fast._drain(_FakeSock(items))  # type: ignore[arg-type]
    assert fast_got == plain_got
    assert offered == [p.data for p in plain_got]
    assert (fast.rx_packets, fast.rx_filtered) == (plain.rx_packets, plain.rx_filtered)
    assert 0 < plain.rx_packets < len(items)


def test_a_datagram_the_hook_takes_counts_as_delivered_without_the_callback() -> None:
    items = _items(random.Random(9))
    plain, _ = _sock(False, False, None)
    fast, fast_got = _sock(False, False, lambda data: True)
    plain._drain(_FakeSock(items))  # type: ignore[arg-type]
    fast._drain(_FakeSock(items))  # type: ignore[arg-type]
    assert fast_got == []
    assert (fast.rx_packets, fast.rx_filtered) == (plain.rx_packets, plain.rx_filtered)
