"""TCP_CHECK: a connect() within connect_timeout is success; nothing is sent."""

from __future__ import annotations

import ssl

from pykeepalived.check.connect import Target, close_stream, open_stream
from pykeepalived.check.virtual_server import CheckOutcome


async def tcp_check(t: Target) -> CheckOutcome:
    try:
        _, writer = await open_stream(t)
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return CheckOutcome(False, detail=f"TCP connect to {t.host_port()} failed: "
                            f"{e or type(e).__name__}")
    await close_stream(writer)
    return CheckOutcome(True)
