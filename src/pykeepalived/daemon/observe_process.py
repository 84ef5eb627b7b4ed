"""The ``observe`` child: the HTTP listener for ``/metrics`` and ``/status`` (``observe.server``).

Started by the parent only when ``--metrics-listen`` or ``pykeepalived_metrics_listen`` is set.
It reads the config for the listen address and for which children should answer (their status
sockets sit beside their pid files), and holds no VRRP or LVS state of its own: a crash here
is respawned by the parent like any child's and never touches an advert or a VIP.

Signals: TERM/INT stop; HUP re-reads the config and moves the listener when its address changed
(turning metrics on or off takes a restart, since the parent decides which children run);
USR1 is ignored (the parent forwards it to every child).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from pykeepalived.config import load
from pykeepalived.config.listen import parse_listen
from pykeepalived.daemon import process, sdnotify
from pykeepalived.daemon.log import setup_logging
from pykeepalived.daemon.roles import child_kinds, metrics_listen
from pykeepalived.observe.control import socket_path
from pykeepalived.observe.server import Aggregator, HttpListener
from pykeepalived.options import Options

log = logging.getLogger("pykeepalived")

EXIT_FATAL = 1


#: The listener is best effort: at nice 10 the scheduler gives the VRRP child (nice 0) about
#: ten times its share of a contended core, so a flood of scrapes cannot delay an advert.
NICE = 10


def run_observe_child(opts: Options) -> int:
    setup_logging(opts, "observe")
    process.set_parent_death_signal()
    with contextlib.suppress(OSError):
        os.nice(NICE)
    try:
        return asyncio.run(ObserveProcess(opts).run())
    except Exception:
        log.exception("Metrics child failed")
        return 3


class ObserveProcess:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.listener: HttpListener | None = None
        self.aggregator = Aggregator({})
        self._stop = asyncio.Event()

    def _configure(self) -> tuple[str, int] | None:
        """Read the config: the sources to ask and the listen address (None: nothing to do)."""
        parsed = load(self.opts.config_file, config_id=self.opts.config_id,
                      all_config=self.opts.all_config)
        cfg = parsed.config
        pids = {"vrrp": self.opts.vrrp_pid_file, "checker": self.opts.checkers_pid_file}
        self.aggregator.sources = {k: socket_path(pids[k]) for k in child_kinds(self.opts, cfg)}
        listen = metrics_listen(self.opts, cfg.global_defs)
        if listen is None:
            return None
        try:
            return parse_listen(listen)
        except ValueError as e:
            log.error("Metrics listen address %s: %s", listen, e)
            return None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        loop.add_signal_handler(signal.SIGUSR1, lambda: None)
        where = self._configure()
        if where is None:
            log.error("Metrics child: no usable listen address: exiting")
            return EXIT_FATAL
        self.listener = HttpListener(*where, self.aggregator)
        self.listener.start()
        sdnotify.observe_started(loop)
        await self._stop.wait()
        await self.listener.close()
        return 0

    def _reload(self) -> None:
        where = self._configure()
        sdnotify.report_reloaded()
        old = self.listener
        if where is None or old is None or (old.host, old.port) == where:
            return
        self.listener = HttpListener(*where, self.aggregator)
        self.listener.start()
        asyncio.get_running_loop().create_task(old.close())
