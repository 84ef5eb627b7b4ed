"""TCP_CHECK: a connect() within connect_timeout is success; nothing is sent.

A bare socket and the loop's writer callback (``connect.RawConnect``): the cheapest check
there is, as it should be. The timeout counts from the connect() call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pykeepalived.check.connect import RawConnect, Target
from pykeepalived.check.virtual_server import CheckOutcome


class TcpConnect(RawConnect):
    """One TCP_CHECK; ``on_done`` gets its outcome once."""

    def __init__(self, t: Target, loop: asyncio.AbstractEventLoop,
                 on_done: Callable[[CheckOutcome], None]) -> None:
        super().__init__(t, loop)
        self.on_done = on_done

    def connected(self) -> None:
        self._finish(CheckOutcome(True))

    def failed(self, stage: str, why: str) -> None:
        self._finish(CheckOutcome(False, detail=f"TCP connect to {self.t.host_port()} failed: "
                                  f"{why}"))

    def _finish(self, outcome: CheckOutcome) -> None:
        self.close()
        if not self.finished:
            self.finished = True
            self.on_done(outcome)


async def tcp_check(t: Target) -> CheckOutcome:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[CheckOutcome] = loop.create_future()
    probe = TcpConnect(t, loop, done.set_result)
    probe.start()
    try:
        return await done
    finally:
        probe.close()
