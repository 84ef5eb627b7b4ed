"""Route and rule deletions as events, for static ``track_group`` entries.

``net.links.LinkMonitor`` reports links and addresses only; a static route or rule deleted by
hand raises neither. This watcher binds the route and rule notification groups
(``net.rtnl_listen``) and calls ``on_delete()`` for every RTM_DELROUTE/RTM_DELRULE, and when
notifications were lost (the caller coalesces and re-checks). It is
started only when some static route or rule names a ``track_group``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pykeepalived.net.rtnl_listen import RtnlListener

log = logging.getLogger("pykeepalived")

# rtnetlink multicast groups as bind() bitmask bits: 1 << (RTNLGRP_x - 1)
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400
RTMGRP_IPV4_RULE = 0x80  # RTNLGRP_IPV4_RULE = 8
RTMGRP_IPV6_RULE = 1 << 18  # RTNLGRP_IPV6_RULE = 19


class RouteRuleWatcher:
    def __init__(self, on_delete: Callable[[], None]) -> None:
        self.on_delete = on_delete
        self._listener: RtnlListener | None = None

    async def start(self) -> None:
        from pykeepalived.net.rtnl_listen import RtnlListener

        self._listener = RtnlListener(RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE
                                      | RTMGRP_IPV6_RULE, what="netlink route monitor")
        self._listener.start(self._on_message, self._on_overrun)

    def _on_message(self, msg: Any) -> None:
        if msg.get("event") in ("RTM_DELROUTE", "RTM_DELRULE"):
            self.on_delete()

    def _on_overrun(self, e: OSError) -> None:
        log.warning("netlink route monitor: %s", e)
        self.on_delete()  # notifications lost: check anyway

    async def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None
