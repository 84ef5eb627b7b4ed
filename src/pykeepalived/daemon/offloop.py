"""A blocking call (reading a configuration file) run beside the event loop and awaited.

A reload reads and parses its file off the loop, so adverts, checks and the watchdog beat go
on meanwhile. Not ``asyncio.to_thread``: the loop's executor joins its threads when the
daemon exits, so a stop would wait for a large file to be read; a daemon thread is simply
abandoned by a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any


def off_loop(fn: Callable[..., Any], *args: Any, name: str = "reload-read"
             ) -> asyncio.Future[Any]:
    """``fn(*args)`` in a daemon thread: a future of its result (or of what it raised)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def settle(res: Any, exc: BaseException | None) -> None:
        if fut.done():
            return
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(res)

    def work() -> None:
        res: Any = None
        exc: BaseException | None = None
        try:
            res = fn(*args)
        except BaseException as e:  # handed to the awaiting coroutine
            exc = e
        with contextlib.suppress(RuntimeError):  # the loop closed: the daemon stopped
            loop.call_soon_threadsafe(settle, res, exc)

    threading.Thread(target=work, name=name, daemon=True).start()
    return fut
