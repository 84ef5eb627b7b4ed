"""A hostile crowd for the metrics listener, bounded in count and time; prints a JSON summary.

    python flood_client.py HOST PORT SECONDS

At once: 1000 connections opened and held silent, garbage requests in a loop, scrapers that
ask for /metrics and never read the answer (a tiny receive buffer), and fast scrapers in a
loop. Every part stops by itself within SECONDS (+ a few for the held connections).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import sys
import time

HOST, PORT, SECONDS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
HELD = 1000
counts: dict[str, int] = {}


def count(key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


async def status_of(raw: bytes) -> str:
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), 3)
    except (OSError, TimeoutError):
        return "connect-failed"
    try:
        w.write(raw)
        data = await asyncio.wait_for(r.read(), 10)
        return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"
    except (OSError, TimeoutError):
        return "reset"
    finally:
        w.close()


async def held() -> None:
    conns = []
    for _ in range(HELD):
        try:
            conns.append(await asyncio.wait_for(asyncio.open_connection(HOST, PORT), 3))
        except (OSError, TimeoutError):
            count("held-connect-failed")
    await asyncio.sleep(SECONDS)
    for r, w in conns:
        try:
            data = await asyncio.wait_for(r.read(), 0.01)
            count("held-closed" if data == b"" else "held-answered")
        except TimeoutError:
            count("held-open")
        except OSError:
            count("held-closed")
        w.close()


async def garbage(deadline: float) -> None:
    junk = [os.urandom(200) + b"\r\n\r\n", b"GET\r\n\r\n", b"POST /metrics HTTP/1.1\r\n\r\n",
            b"GET /" + b"x" * 20000 + b" HTTP/1.1\r\n\r\n", b"\x00" * 64 + b"\r\n\r\n"]
    i = 0
    while time.monotonic() < deadline:
        count("garbage-" + await status_of(junk[i % len(junk)]))
        i += 1


def slow_readers(n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        try:
            s.connect((HOST, PORT))
            s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
            out.append(s)
            count("slow-sent")
        except OSError:
            count("slow-failed")
    return out


async def scraper(deadline: float) -> None:
    while time.monotonic() < deadline:
        count("scrape-" + await status_of(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))


async def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    deadline = time.monotonic() + SECONDS
    slow = slow_readers(20)
    await asyncio.gather(held(), garbage(deadline), *(scraper(deadline) for _ in range(4)))
    for s in slow:
        s.close()


asyncio.run(main())
print(json.dumps(counts, sort_keys=True))
