"""SMTP_CHECK: banner 2xx, ``HELO <helo_name>`` answered 2xx, then QUIT."""

from __future__ import annotations

import asyncio
import ssl

from pykeepalived.check.connect import Target, close_stream, open_stream
from pykeepalived.check.virtual_server import CheckOutcome


async def _reply(reader: asyncio.StreamReader) -> int:
    """Read one (possibly multi-line) SMTP reply and return its code."""
    while True:
        try:
            line = await reader.readline()
        except ValueError as e:  # a line past the reader's 64 KiB limit: a broken server
            raise OSError(f"SMTP reply line too long: {e}") from e
        if len(line) < 4 or not line[:3].isdigit():
            raise OSError(f"bad SMTP reply {line[:40]!r}")
        if line[3:4] != b"-":
            return int(line[:3])


async def smtp_check(t: Target, helo_name: str) -> CheckOutcome:
    try:
        reader, writer = await open_stream(t)
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return CheckOutcome(False, detail=f"SMTP connect to {t.host_port()} failed: {e}")
    try:
        async with asyncio.timeout(t.timeout):
            if (code := await _reply(reader)) // 100 != 2:
                return CheckOutcome(False, detail=f"SMTP banner code {code}")
            writer.write(f"HELO {helo_name}\r\n".encode())
            if (code := await _reply(reader)) // 100 != 2:
                return CheckOutcome(False, detail=f"SMTP HELO code {code}")
            writer.write(b"QUIT\r\n")
            await writer.drain()
    except (OSError, TimeoutError) as e:
        return CheckOutcome(False, detail=f"SMTP dialogue with {t.host_port()} failed: {e}")
    finally:
        await close_stream(writer)
    return CheckOutcome(True)
