"""The VRRP child: one asyncio loop driving every VRRP instance of the config.

(Skeleton: signals, pid file and dumps; the instance engine lands in ``daemon.engine``.)
"""

from __future__ import annotations

import asyncio
import signal

from pykeepalived.daemon import process
from pykeepalived.daemon.log import setup_logging
from pykeepalived.options import Options


def run_vrrp_child(opts: Options) -> int:
    log = setup_logging(opts, "vrrp")
    process.set_parent_death_signal()
    process.write_pid(opts.vrrp_pid_file)
    try:
        return asyncio.run(_main(opts))
    except Exception:
        log.exception("VRRP child failed")
        return 3
    finally:
        process.remove_pid(opts.vrrp_pid_file)


async def _main(opts: Options) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    return 0
