"""TCP_CHECK: a connect() within connect_timeout is success; nothing is sent.

Bare ``sock_connect`` (no streams): the cheapest check there is, as it should be.
"""

from __future__ import annotations

import asyncio

from pykeepalived.check.connect import Target, make_socket
from pykeepalived.check.virtual_server import CheckOutcome


async def tcp_check(t: Target) -> CheckOutcome:
    try:
        sock = make_socket(t)
    except OSError as e:
        return CheckOutcome(False, detail=f"TCP socket for {t.host_port()}: {e}")
    try:
        async with asyncio.timeout(t.timeout):
            await asyncio.get_running_loop().sock_connect(sock, (t.host, t.port))
    except (OSError, TimeoutError) as e:
        return CheckOutcome(False, detail=f"TCP connect to {t.host_port()} failed: "
                            f"{str(e) or type(e).__name__}")
    finally:
        sock.close()
    return CheckOutcome(True)
