"""The checker child (keepalived's ``keepalived_ipvs``): probes → pool logic → LVS data plane.

Theory of operation: one asyncio loop. ``check.virtual_server.Pool`` decides when each check is
due (``next_timer``/``due_checks``); one loop timer, armed at the earliest due time, launches
the due checks, each as its own task (``check.probes``), and each task feeds its result back
with ``report`` as soon as it has it. When the pool's version moved, the apply loop compares
the desired table with the last one applied and, when it differs, hands it to the LVS backend
chosen by ``lvs.dataplane.select_backend`` (which applies only the diff); checks keep being
launched and reported while a table is being applied. Pool actions become log lines
(keepalived's phrases) and notifier calls (notify_up/down, quorum_up/down, lvs_notify_fifo
lines, SMTP).

Signals: HUP reloads by diff (a config with errors keeps the running one), TERM/INT stop
(omega notifies, then the backend releases the table as ``lvs_flush_on_stop``/``-I`` say),
USR1 writes ``/tmp/keepalived_check.data``. A probe that crashes is a failed check, never a
dead loop; a data-plane error is logged and retried every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from pykeepalived.check.probes import Prober
from pykeepalived.check.virtual_server import (
    Action,
    CheckId,
    CheckOutcome,
    Log,
    Pool,
    RsStateChange,
    RunScript,
    VsStateChange,
)
from pykeepalived.config.model import KeepalivedConfig, Severity
from pykeepalived.daemon import sdnotify
from pykeepalived.daemon.exits import EXIT_FATAL, EXIT_OK
from pykeepalived.daemon.offloop import off_loop
from pykeepalived.lvs.table import LvsTable
from pykeepalived.observe.control import StatusServer, socket_path
from pykeepalived.observe.lvs_view import CheckMeters, lvs_document
from pykeepalived.observe.meters import Events, StallMeter
from pykeepalived.observe.vrrp_view import encode, notify_counts, process_status
from pykeepalived.options import Options

log = logging.getLogger("pykeepalived.check")

#: checks launched per loop iteration at most (each costs a connect and a send)
LAUNCH_BATCH = 64
DATA_FILE = "/tmp/keepalived_check.data"


def run_checker(opts: Options, cfg: KeepalivedConfig, **kw: Any) -> int:
    """Entry point of the checker child (called by ``daemon.main``); returns the exit code."""
    from pykeepalived.daemon import process

    with contextlib.suppress(OSError):
        process.write_pid(opts.checkers_pid_file)
    try:
        return asyncio.run(CheckerProcess(opts, cfg, **kw).run())
    except Exception:
        log.exception("Healthcheck child failed")
        return EXIT_FATAL
    finally:
        with contextlib.suppress(OSError):
            process.remove_pid(opts.checkers_pid_file)


def _pool_for(cfg: KeepalivedConfig, rng: Callable[[], float]) -> Pool:
    gd = cfg.global_defs
    smtp = gd.smtp_alert_checker if gd.smtp_alert_checker is not None else bool(gd.smtp_alert)
    return Pool(cfg.virtual_servers, cfg.virtual_server_groups, rng=rng,
                smtp_alert_checker=smtp, rs_init_notifies=gd.rs_init_notifies,
                log_all_failures=gd.checker_log_all_failures)


class CheckerProcess:
    """One checker child. ``backend``/``notifier`` may be injected (tests); by default they
    come from ``lvs.dataplane.select_backend`` and ``notify.Notifier``. ``on_table`` sees every
    table that was applied successfully."""

    def __init__(self, opts: Options, cfg: KeepalivedConfig, *, backend: Any = None,
                 notifier: Any = None, rng: Callable[[], float] = random.random,
                 on_table: Callable[[LvsTable], None] | None = None) -> None:
        self.opts = opts
        self.cfg = cfg
        self.backend = backend
        self.notifier = notifier
        self.rng = rng
        self.on_table = on_table
        self.pool = _pool_for(cfg, rng)
        self.prober = Prober(cfg)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._timer: asyncio.TimerHandle | None = None
        self._raw: dict[CheckId, Callable[[], None]] = {}  # callback-driven probes running
        self._timer_at = 0.0
        self._stall_logged = float("-inf")
        self._tasks: set[asyncio.Task[None]] = set()
        self._applied: LvsTable | None = None
        self._applied_version = -1
        self._apply_failed = False
        self._addr_monitor: Any = None
        self.scheduler: Any = None  # daemon.scheduling.Scheduler once running
        self._reloading = False
        self._reload_again = False
        # observability (observe.lvs_view): loop lateness, reloads, applies, check timings
        self.started = time.time()
        self.stall = StallMeter(cfg.global_defs.min_auto_priority_delay)
        self.events = Events()
        self.events.config_loaded(True, self.started)
        self.check_meters = CheckMeters()
        self._status: StatusServer | None = None

    # ------------------------------------------------------------ lifecycle

    def _now(self) -> float:
        assert self.loop is not None
        return self.loop.time()

    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._install_signals()
        self._scheduling()
        if self.notifier is None:
            from pykeepalived.notify import Notifier

            self.notifier = Notifier(self.cfg.global_defs, vrrp=False, lvs=True)
        with contextlib.suppress(Exception):
            await self.notifier.start()
        if self.backend is None:
            try:
                self.backend = self._select_backend()
            except Exception as e:
                log.error("IPVS: Can't initialize ipvs: %s", e)
                await self._close_notifier()
                return EXIT_FATAL
        try:
            await self.backend.start()
        except Exception as e:
            log.error("LVS data plane %s failed to start: %s",
                      getattr(self.backend, "name", "?"), e)
            await self._close_notifier()
            return EXIT_FATAL
        self._handle(self.pool.start(self._now()))
        await self._watch_addresses()
        if threading.current_thread() is threading.main_thread():  # not when embedded (tests)
            self._status = StatusServer(socket_path(self.opts.checkers_pid_file),
                                        self.status_document)
            await self._status.start()
        sdnotify.checker_started(self.loop, self.pool)
        try:
            await self._main()
        finally:
            if self._status is not None:
                await self._status.close()
            await self._shutdown()
        return EXIT_OK

    async def status_document(self) -> bytes:
        """The checker's status (observe.lvs_view): pool, applied table, data-plane counters."""
        stats = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                stats = await self.backend.stats()
        n = self.notifier
        runner = getattr(getattr(n, "scripts", None), "runner", None)
        base = process_status("checker", self.started, stall=self.stall, events=self.events,
                              notify=notify_counts(runner))
        return encode(lvs_document(base, self.pool.snapshot(), self._applied, stats,
                                   self.check_meters, getattr(self.backend, "name", "?"),
                                   not self._apply_failed))

    def _select_backend(self) -> Any:
        from pykeepalived.lvs.backend import LvsSettings
        from pykeepalived.lvs.dataplane import select_backend

        gd = self.cfg.global_defs
        settings = LvsSettings.from_global_defs(gd, dont_release_ipvs=self.opts.dont_release_ipvs)
        return select_backend(gd, settings=settings)

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # embedded (tests): the owner calls stop()/reload() instead
        assert self.loop is not None
        for s in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(s, self.stop)
        self.loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        self.loop.add_signal_handler(signal.SIGUSR1, self.write_data)
        # STATS / JSON / STATS_CLEAR / TDUMP concern the VRRP child; their default action
        # would kill this one, so they are caught and ignored here.
        for sig in (signal.SIGUSR2, signal.SIGRTMIN + 2, signal.SIGRTMAX - 1, signal.SIGRTMAX):
            self.loop.add_signal_handler(sig, lambda: None)

    def _scheduling(self) -> None:
        from pykeepalived.daemon.scheduling import ProcessSettings, Scheduler

        self.scheduler = Scheduler(ProcessSettings.of(self.cfg.global_defs, "checker"))
        self.scheduler.apply()
        if self.loop is not None:
            self.scheduler.watch(self.loop)

    def stop(self) -> None:
        """Ask the loop to stop (signal handler; thread-safe through ``request_stop``)."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake.set()

    def request_stop(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.stop)

    async def _shutdown(self) -> None:
        for close in list(self._raw.values()):
            close()
        self._raw.clear()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._handle(self.pool.shutdown())
        if self._addr_monitor is not None:
            with contextlib.suppress(Exception):
                await self._addr_monitor.stop()
        if self.backend is not None:
            try:
                await self.backend.close()
            except Exception:
                log.exception("LVS data plane: release on stop failed")
        await self._close_notifier()
        log.info("Stopped")

    async def _close_notifier(self) -> None:
        if self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.close()

    # ------------------------------------------------------------ the loop

    async def _main(self) -> None:
        """Applies the table whenever the pool's version moved (and retries a failed apply
        every second). Checks are launched by the due timer and their results reported by
        the probe tasks themselves, so a result costs no wake-up of this loop unless the
        table changed."""
        self._arm()
        while not self._stopping:
            self._wake.clear()
            await self._apply()
            if self._stopping:
                break
            if self.pool.version != self._applied_version and not self._apply_failed:
                continue  # changed while the table was being applied
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0 if self._apply_failed else None):
                    await self._wake.wait()

    def _arm(self) -> None:
        """(Re-)arm the one due-check timer at the pool's earliest due time."""
        assert self.loop is not None
        nt = self.pool.next_timer()
        if self._timer is not None:
            if nt is not None and self._timer_at <= nt:
                return  # an earlier (or the same) wake-up is armed already
            self._timer.cancel()
            self._timer = None
        if nt is not None and not self._stopping:
            self._timer_at = nt
            self._timer = self.loop.call_at(nt, self._on_timer)

    def _on_timer(self) -> None:
        """Launch the due checks, ``LAUNCH_BATCH`` at a time: the rest go on at the next loop
        iteration (``_arm`` finds them due), after the reads, results and table applies that
        are waiting, so a burst of due checks never holds the loop. The timer's lateness is the
        checker's own (keepalived's "A thread timer expired" line past the stall threshold,
        logged at most once a second, every one counted); the probes' timeouts count from
        their connect() calls, so it can delay a check but never fail one."""
        self._timer = None
        now = self._now()
        stall = self.stall.timer_ran(self._timer_at, now)
        if stall is not None and now - self._stall_logged >= 1.0:
            self._stall_logged = now
            log.info("%s", stall)
        late_after = now - self.stall.threshold
        for cid in self.pool.due_checks(now, LAUNCH_BATCH):
            due = self.pool.scheduled_at(cid)
            if due is not None and due < late_after:
                self.check_meters.late += 1
            self._launch(cid)
        self._arm()

    def _launch(self, cid: CheckId) -> None:
        """Start check ``cid``: plain HTTP_GET and TCP_CHECK on loop callbacks (no task),
        every other kind as a task."""
        assert self.loop is not None
        vs, rs, chk = self.pool.checker(cid)
        began = self._now()

        def done(outcome: CheckOutcome) -> None:
            self._raw.pop(cid, None)
            self._ran(cid, chk.kind, began, outcome)

        close = self.prober.start(vs, rs, chk, done)
        if close is not None:
            if self.pool.is_running(cid):  # not already done (a failure at once)
                self._raw[cid] = close
            return
        task = self.loop.create_task(self._probe(cid, vs, rs, chk))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(self, cid: CheckId, vs: Any, rs: Any, chk: Any) -> None:
        began = self._now()
        outcome = await self.prober.run(vs, rs, chk)
        self._ran(cid, chk.kind, began, outcome)

    def _ran(self, cid: CheckId, kind: str, began: float, outcome: CheckOutcome) -> None:
        took = self._now() - began
        for c in (cid, *self.pool.shared_with(cid)):
            self.check_meters.ran(c.vs, c.rs, c.index, kind, took, outcome.ok)
        self._result(cid, outcome)

    def _result(self, cid: CheckId, outcome: CheckOutcome) -> None:
        """Feed one result to the pool at once; wake the apply loop only if the table moved."""
        if self._stopping:
            return
        self._handle(self.pool.report(cid, outcome, self._now()))
        if self.pool.version != self._applied_version:
            self._wake.set()
        self._arm()

    async def _apply(self) -> None:
        version = self.pool.version
        if version == self._applied_version and not self._apply_failed:
            return  # nothing changed since the last successful apply: no table built
        table = self.pool.table()
        if self._applied is not None and table == self._applied and not self._apply_failed:
            self._applied_version = version
            return
        began = time.monotonic()
        try:
            ops = await self.backend.apply(table)
        except Exception as e:
            self.events.apply_failures += 1
            if not self._apply_failed:
                log.error("LVS data plane %s: applying the table failed: %s",
                          getattr(self.backend, "name", "?"), e)
            self._apply_failed = True
            return
        self.events.apply.observe(time.monotonic() - began)
        if self._apply_failed:
            log.info("LVS data plane %s: table applied after earlier failures",
                     getattr(self.backend, "name", "?"))
        self._apply_failed = False
        self._applied = table
        self._applied_version = version
        sdnotify.report_checker_status(self.pool)
        if ops:
            log.debug("LVS data plane: %d operation(s) applied", len(ops))
        if self.on_table is not None:
            self.on_table(table)

    def _handle(self, actions: list[Action]) -> None:
        n = self.notifier
        for a in actions:
            try:
                if isinstance(a, Log):
                    log.log(a.level, "%s", a.text)
                elif isinstance(a, RunScript):
                    if n is not None:
                        n.run_script(a.script)
                elif isinstance(a, RsStateChange):
                    if n is not None:
                        n.rs_state(a.rs, a.vs, a.up, smtp_alert=a.smtp_alert, body=a.body)
                elif isinstance(a, VsStateChange) and n is not None:
                    n.vs_state(a.vs, a.up, smtp_alert=a.smtp_alert)
            except Exception:
                log.exception("notify for %s failed", a)

    # ------------------------------------------------------------ ha_suspend

    async def _watch_addresses(self) -> None:
        if not any(v.ha_suspend for v in self.cfg.virtual_servers) or self._addr_monitor:
            return
        try:
            from pykeepalived.net.links import AddrEvent, LinkMonitor
            from pykeepalived.net.pyroute2_lite import async_iproute
            from pykeepalived.net.rcvbuf import RcvBuf

            AsyncIPRoute = async_iproute()  # the class, named as pyroute2 names it

            async with AsyncIPRoute() as ipr:
                async for m in await ipr.addr("dump"):
                    a = m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS")
                    if a:
                        self._handle(self.pool.address_event(str(a), True, self._now()))

            def on_event(ev: Any) -> None:
                if isinstance(ev, AddrEvent):
                    self._handle(self.pool.address_event(ev.address, ev.added, self._now()))
                    self._arm()
                    self._wake.set()

            gd = self.cfg.global_defs
            self._addr_monitor = LinkMonitor(
                on_event, links=False, addresses=True,
                rcvbuf=RcvBuf(gd.lvs_netlink_monitor_rcv_bufs,
                              gd.lvs_netlink_monitor_rcv_bufs_force))
            await self._addr_monitor.start()
        except Exception:
            log.exception("ha_suspend: cannot watch local addresses; checks stay suspended")

    # ------------------------------------------------------------ reload and dumps

    def _on_hup(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        assert self.loop is not None
        self.loop.create_task(self._reload_from_file())

    async def _reload_from_file(self) -> None:
        from pykeepalived.config import load

        self._reloading = True
        try:
            while True:
                self._reload_again = False
                log.info("Reloading")
                # Off the loop: checks go on (and beat for the watchdog) while a large file
                # is read.
                parsed = await off_loop(functools.partial(
                    load, self.opts.config_file, config_id=self.opts.config_id,
                    all_config=self.opts.all_config))
                errors = [m for m in parsed.messages if m.severity in (Severity.ERROR,
                                                                        Severity.FATAL)]
                began = time.monotonic()
                self.events.config_loaded(not errors, time.time())
                if errors:
                    for m in errors:
                        log.error("%s", m.format())
                    log.error("Reload of configuration failed; keeping the running one")
                else:
                    await self.reload(parsed.config)
                    self.events.reloaded(time.monotonic() - began)
                if not self._reload_again:
                    break
        except Exception:
            log.exception("Reload failed")
        finally:
            self._reloading = False
            sdnotify.report_reloaded()

    async def reload(self, cfg: KeepalivedConfig) -> None:
        """Switch to ``cfg`` keeping the state of persisting servers (SIGHUP, or tests)."""
        old = self.cfg
        self.cfg = cfg
        self.prober = Prober(cfg)
        self._handle(self.pool.reload(cfg.virtual_servers, cfg.virtual_server_groups,
                                      self._now()))
        if cfg.global_defs != old.global_defs and self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.reload(cfg.global_defs)
        if cfg.global_defs.lvs_dataplane != old.global_defs.lvs_dataplane:
            log.warning("lvs_dataplane changed: takes effect at the next restart")
        await self._watch_addresses()
        self._arm()
        self._wake.set()

    def write_data(self, path: str = DATA_FILE) -> None:
        """SIGUSR1: keepalived_check.data (the format is not stable, as in keepalived)."""
        lines = ["------< Health checkers >------"]
        for v in self.pool.snapshot():
            lines.append(f" VS {v.name}, quorum {'UP' if v.quorum_up else 'DOWN'}"
                         + (", suspended" if v.suspended else ""))
            for r in v.real_servers:
                checks = ", ".join(f"{k} {'UP' if up else 'DOWN'}" for k, up in r.checkers)
                lines.append(f"   RS {r.name}, {'alive' if r.alive else 'down'}, weight "
                             f"{r.weight}" + (f", {checks}" if checks else ""))
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        except OSError as e:
            log.error("cannot write %s: %s", path, e)
