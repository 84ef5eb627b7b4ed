"""Route and rule deletions as events, for static ``track_group`` entries.

``net.links.LinkMonitor`` reports links and addresses only; a static route or rule deleted by
hand raises neither. This watcher binds the route and rule notification groups and calls
``on_delete()`` for every RTM_DELROUTE/RTM_DELRULE (the caller coalesces and re-checks). It is
started only when some static route or rule names a ``track_group``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("pykeepalived")

# rtnetlink multicast groups as bind() bitmask bits: 1 << (RTNLGRP_x - 1)
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400
RTMGRP_IPV4_RULE = 0x80  # RTNLGRP_IPV4_RULE = 8
RTMGRP_IPV6_RULE = 1 << 18  # RTNLGRP_IPV6_RULE = 19


class RouteRuleWatcher:
    def __init__(self, on_delete: Callable[[], None]) -> None:
        self.on_delete = on_delete
        self._ipr: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from pykeepalived.net.pyroute2_lite import async_iproute

        self._ipr = async_iproute()()
        await self._ipr.bind(groups=RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE
                             | RTMGRP_IPV6_RULE)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                async for msg in self._ipr.get():
                    if msg.get("event") in ("RTM_DELROUTE", "RTM_DELRULE"):
                        self.on_delete()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # ENOBUFS: notifications lost, so check anyway
                log.warning("netlink route monitor: %s", e)
                self.on_delete()
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._ipr is not None:
            with contextlib.suppress(Exception):
                self._ipr.close()
            self._ipr = None
