"""A backup's raw socket must absorb a master's burst while the event loop is busy.

Host ``a`` sends 2000 VRRPv3 adverts back-to-back to the multicast group while the receiving
loop (host ``b``'s socket, same process) cannot read: the sending loop is that loop. Everything
must then be delivered, and the kernel must count no drop on ``b``'s raw socket
(``/proc/net/raw``). The same burst against a socket with the old buffer size (the kernel
default, ~208 KiB) shows that the burst is large enough to overflow it, i.e. that the first
test can fail.

A timer that falls due during the stall (as a backup's Master_Down timer does when the loop is
held up) must run only after everything queued meanwhile was delivered: asyncio runs I/O
callbacks before due timers in one iteration, so the socket must drain a whole burst per
wake-up rather than a few hundred datagrams.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from pykeepalived.lab.netns import Host, Lab
from pykeepalived.net.sockets import DEFAULT_RCVBUF, Received, VrrpSocket4
from pykeepalived.vrrp.packet import AdvertEncoder

pytestmark = pytest.mark.netns

A, B = "10.93.0.1", "10.93.0.2"
BURST = 2000
OLD_DEFAULT = 212992 // 2  # net.core.rmem_default as set by SO_RCVBUF (the kernel doubles it)


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab("pkp1") as lab:
        lab.add_host("a", [f"{A}/24"])
        lab.add_host("b", [f"{B}/24"])
        yield lab


def raw_drops(host: Host, sock: VrrpSocket4) -> int:
    """The kernel's drop counter of ``sock`` (last column of /proc/net/raw, found by inode)."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for line in host.run(["cat", "/proc/net/raw"]).stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) > 9 and cols[9] == inode:
            return int(cols[-1])
    raise AssertionError(f"socket inode {inode} not in /proc/net/raw of {host.ns}")


def burst(lab: Lab, rcvbuf: int | None) -> tuple[int, int, int, int, list[int]]:
    """(adverts received, kernel drops, receive buffer, adverts delivered when a timer that
    fell due during the burst ran, datagrams delivered at each ``after_batch`` call) after a
    burst of BURST adverts."""
    a, b = lab.hosts["a"], lab.hosts["b"]
    enc = AdvertEncoder(version=3, vrid=1, adver_int=10, addresses=["10.93.1.1"], src=A)

    async def main() -> tuple[int, int, int, int, list[int]]:
        tx = VrrpSocket4("eth0", netns=a.ns)
        rx = VrrpSocket4("eth0", netns=b.ns, rcvbuf=rcvbuf)
        got: list[Received] = []
        batches: list[int] = []
        rx.start(got.append, after_batch=lambda: batches.append(len(got)))
        try:
            # A fresh lab's links may take a moment to pass traffic: wait for one probe first.
            for _ in range(100):
                tx.send(enc.ipv4(priority=150, ip_id=0xFFFF), "224.0.0.18")
                await asyncio.sleep(0.05)
                if got:
                    break
            assert got, "the probe advert never arrived"
            await asyncio.sleep(0.1)
            got.clear()
            batches.clear()
            at_timer: list[int] = []
            asyncio.get_running_loop().call_later(0.001, lambda: at_timer.append(len(got)))
            # The loop is blocked in this loop: nothing is read until the burst is over.
            for i in range(BURST):
                assert tx.send(enc.ipv4(priority=150, ip_id=i + 1), "224.0.0.18") is None
            time.sleep(0.05)  # the timer above is now due for sure
            last = -1
            while len(got) != last:  # until a quiet 0.3 s: everything queued has been read
                last = len(got)
                await asyncio.sleep(0.3)
            ids = {(p.data[4] << 8) | p.data[5] for p in got if p.src == A} - {0xFFFF}
            return len(ids), raw_drops(b, rx), rx.rcvbuf, at_timer[0], batches
        finally:
            tx.close()
            rx.close()

    return asyncio.run(main())


def test_default_buffer_absorbs_a_burst_while_the_loop_is_busy(lab: Lab) -> None:
    received, drops, size, at_timer, batches = burst(lab, None)
    assert size >= 2 * DEFAULT_RCVBUF
    assert drops == 0
    assert received == BURST
    assert at_timer == BURST, "a due timer ran before the queued adverts were delivered"
    # after_batch runs once per wake-up, after that wake-up's datagrams, not per datagram
    assert batches and batches[-1] == BURST and len(batches) <= 10, batches
    assert batches == sorted(set(batches))


def test_old_default_buffer_overflows_under_the_same_burst(lab: Lab) -> None:
    received, drops, size, _, _ = burst(lab, OLD_DEFAULT)
    assert size == 2 * OLD_DEFAULT
    assert drops > 0, "the burst must be able to overflow the kernel's default buffer"
    assert received + drops == BURST
