"""LinkMonitor and interface facts against the real kernel: a port cut at the switch, its heal,
and a VIP deleted by hand are each reported once, with the right interface."""

from __future__ import annotations

import asyncio
import time

import pytest

from pykeepalived.lab.netns import Lab
from pykeepalived.net.links import (
    AddrEvent,
    LinkEvent,
    LinkMonitor,
    NetEvent,
    if_index,
    if_mac,
    if_mtu,
    link_info,
)

pytestmark = pytest.mark.netns


async def wait_for(events: list[NetEvent], pred: object, timeout: float = 3.0) -> NetEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in events:
            if pred(e):  # type: ignore[operator]
                return e
        await asyncio.sleep(0.01)
    raise AssertionError(f"no matching event in {events}")


def test_link_cut_heal_and_manual_address_delete() -> None:
    with Lab("pkn6") as lab:
        a = lab.add_host("a", ["10.98.0.1/24"])
        a.run(["ip", "addr", "add", "10.98.0.200/24", "dev", "eth0"])
        idx = if_index("eth0", a.ns)
        assert if_mac("eth0", a.ns) == a.mac
        assert if_mtu("eth0", a.ns) == 1500

        async def main() -> list[NetEvent]:
            info = await link_info("eth0", netns=a.ns)
            assert info is not None and info.oper_up and info.carrier
            assert info.ifindex == idx and info.mac == a.mac and info.kind == "veth"
            assert await link_info("nosuch0", netns=a.ns) is None
            events: list[NetEvent] = []
            async with LinkMonitor(events.append, netns=a.ns) as mon:
                assert mon.names[idx] == "eth0"
                t0 = time.monotonic()
                a.cut()
                down = await wait_for(events, lambda e: isinstance(e, LinkEvent)
                                      and e.ifindex == idx and not e.up)
                latency = time.monotonic() - t0
                assert isinstance(down, LinkEvent)
                assert down.ifname == "eth0" and not down.carrier and down.admin_up
                assert latency < 1.0
                now_info = await link_info("eth0", netns=a.ns)
                assert now_info is not None and not now_info.oper_up
                a.heal()
                await wait_for(events, lambda e: isinstance(e, LinkEvent)
                               and e.ifindex == idx and e.up)
                a.run(["ip", "addr", "del", "10.98.0.200/24", "dev", "eth0"])
                gone = await wait_for(events, lambda e: isinstance(e, AddrEvent)
                                      and not e.added)
                assert isinstance(gone, AddrEvent)
                assert (gone.address, gone.prefixlen, gone.ifname, gone.family) == (
                    "10.98.0.200", 24, "eth0", 4)
                a.run(["ip", "addr", "add", "10.98.0.201/32", "dev", "eth0"])
                await wait_for(events, lambda e: isinstance(e, AddrEvent) and e.added
                               and e.address == "10.98.0.201")
            return events

        events = asyncio.run(main())
        link_events = [e for e in events if isinstance(e, LinkEvent) and e.ifindex == idx]
        # reports follow state changes (operstate may pass through an intermediate value,
        # so collapse repeats of ``up``), and nothing is reported without a change
        ups = [e.up for e in link_events]
        collapsed = [u for i, u in enumerate(ups) if i == 0 or ups[i - 1] != u]
        assert collapsed == [False, True], link_events
        assert len(link_events) <= 4, link_events


def test_callback_exception_does_not_stop_monitor() -> None:
    with Lab("pkn7") as lab:
        a = lab.add_host("a", ["10.98.1.1/24"])

        async def main() -> list[NetEvent]:
            seen: list[NetEvent] = []

            def cb(e: NetEvent) -> None:
                seen.append(e)
                raise RuntimeError("handler bug")

            async with LinkMonitor(cb, netns=a.ns, links=False):
                a.run(["ip", "addr", "add", "10.98.1.5/32", "dev", "eth0"])
                await wait_for(seen, lambda e: getattr(e, "address", "") == "10.98.1.5")
                a.run(["ip", "addr", "add", "10.98.1.6/32", "dev", "eth0"])
                await wait_for(seen, lambda e: getattr(e, "address", "") == "10.98.1.6")
            return seen

        assert len(asyncio.run(main())) >= 2


def test_resync_reports_changes_missed_by_notifications() -> None:
    """After a netlink overrun the monitor re-reads the links: simulate by watching no link
    group at all, changing the link, then resyncing."""
    with Lab("pknr") as lab:
        a = lab.add_host("a", ["10.98.2.1/24"])
        idx = if_index("eth0", a.ns)

        async def main() -> list[NetEvent]:
            events: list[NetEvent] = []
            async with LinkMonitor(events.append, netns=a.ns, links=False,
                                   addresses=False) as mon:
                await mon.resync()
                assert events == []  # nothing changed since start()
                a.cut()
                deadline = time.monotonic() + 3
                while not events and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    await mon.resync()
            return events

        events = asyncio.run(main())
        assert [(e.ifindex, e.up) for e in events if isinstance(e, LinkEvent)] == [(idx, False)]
