"""Notifications read into one reused buffer (net.rtnl_listen) against the real kernel.

A burst of address notifications is read with no large block allocated per datagram:
asyncio's datagram transport, which read them before, allocated 256 KiB per notification from
the C heap, and that fragmented the VRRP child's heap until its RSS grew with every transition
(docs/reliability.md, the soak). An overflowed receive buffer makes the monitor re-read the
links."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import tracemalloc
from pathlib import Path

import pytest

from pykeepalived.lab.netns import Lab
from pykeepalived.net.links import AddrEvent, LinkEvent, LinkMonitor, NetEvent, if_index
from pykeepalived.net.rcvbuf import RcvBuf

pytestmark = pytest.mark.netns

COUNT = 60  # addresses added then deleted: 120 notifications, well inside the receive buffer
#: How far above what it holds at the end reading the burst may have been at its peak: the
#: transient objects of decoding one datagram (~1.4 KiB measured). The 256 KiB block
#: asyncio's transport allocated per datagram put it at ~260 KiB.
PEAK_SLACK = 32 * 1024


def _batch_file(tmp: Path) -> str:
    """An ``ip -batch`` file adding then deleting COUNT addresses on eth0."""
    lines = [f"address {verb} 10.93.1.{i}/32 dev eth0\n" for verb in ("add", "del")
             for i in range(1, COUNT + 1)]
    path = tmp / "burst.batch"
    path.write_text("".join(lines))
    return str(path)


async def _until(pred: object, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not pred():  # type: ignore[operator]
        await asyncio.sleep(0.01)


def test_burst_of_notifications_allocates_no_large_buffer(tmp_path: Path) -> None:
    batch = _batch_file(tmp_path)
    with Lab("pkrl") as lab:
        a = lab.add_host("a", ["10.93.0.1/24"])

        async def main() -> tuple[list[NetEvent], int]:
            events: list[NetEvent] = []
            async with LinkMonitor(events.append, netns=a.ns, links=False):
                # Queue the whole burst in the socket first (the loop is blocked meanwhile),
                # then measure only what reading and decoding it allocates.
                a.run(["ip", "-batch", batch])
                # No collection meanwhile: freeing decoded messages' cycles would lower the
                # end figure and count as transient.
                gc.disable()
                tracemalloc.start()
                try:
                    await _until(lambda: len(events) >= 2 * COUNT)
                    now, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                    gc.enable()
            return events, peak - now

        events, peak = asyncio.run(main())
    addr = [e for e in events if isinstance(e, AddrEvent)]
    assert len(addr) == 2 * COUNT, events
    assert [e.added for e in addr] == [True] * COUNT + [False] * COUNT
    assert {e.address for e in addr} == {f"10.93.1.{i}" for i in range(1, COUNT + 1)}
    assert {(e.ifname, e.prefixlen, e.family) for e in addr} == {("eth0", 32, 4)}
    assert peak < PEAK_SLACK, (
        f"reading {2 * COUNT} notifications peaked {peak} bytes above what it kept")


def test_overflowed_receive_buffer_resyncs_links(caplog: pytest.LogCaptureFixture,
                                                 tmp_path: Path) -> None:
    """A receive buffer too small for the burst: ENOBUFS, a warning, and a link re-read that
    reports the link cut meanwhile, whose own notification may have been among those lost."""
    caplog.set_level(logging.WARNING, logger="pykeepalived.net.links")
    batch = _batch_file(tmp_path)
    with Lab("pkro") as lab:
        a = lab.add_host("a", ["10.93.2.1/24"])
        idx = if_index("eth0", a.ns)

        async def main() -> list[NetEvent]:
            events: list[NetEvent] = []
            async with LinkMonitor(events.append, netns=a.ns,
                                   rcvbuf=RcvBuf(4096, force=True)):
                a.run(["ip", "-batch", batch])
                a.cut()
                await _until(lambda: any(isinstance(e, LinkEvent) and e.ifindex == idx
                                         and not e.up for e in events))
            return events

        events = asyncio.run(main())
    assert "resynchronising links" in caplog.text
    assert any(isinstance(e, LinkEvent) and e.ifindex == idx and not e.up for e in events)
