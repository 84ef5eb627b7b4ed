"""How a child process runs, as ``global_defs`` asks: nice value, real-time priority and its
CPU-time limit, CPU affinity, memory locking, and the automatic move to real-time scheduling
when the event loop falls behind (``max_auto_priority``, ``min_auto_priority_delay``).

keepalived's rules (``lib/process.c`` there), per process kind ``vrrp`` / ``checker``:

* ``PROCESS_rt_priority N``: SCHED_RR at N, with SCHED_RESET_ON_FORK so that scripts run at
  normal priority; otherwise ``PROCESS_priority`` is the nice value.
* ``PROCESS_rlimit_rttime US``: RLIMIT_RTTIME, soft half of it (SIGXCPU, logged), hard all of it.
  keepalived applies 10000 µs whenever the process is real-time; here the limit is applied
  only when the keyword is given, since a Python process may use more than 10 ms of CPU without
  blocking (reading a large configuration on reload) and the hard limit is a SIGKILL.
* ``PROCESS_cpu_affinity CPU...``: sched_setaffinity.
* ``PROCESS_no_swap``: mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT).
* ``max_auto_priority N`` (N > 0): when a timer fires more than ``min_auto_priority_delay`` µs
  late, the process becomes SCHED_RR at the lowest priority, then one higher at each further
  late timer, up to N ("A thread timer expired ... seconds ago", "Set realtime priority N").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
from dataclasses import dataclass
from typing import Any

from pykeepalived.daemon.process import libc

log = logging.getLogger("pykeepalived.scheduling")

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
RLIMIT_RTTIME = getattr(resource, "RLIMIT_RTTIME", 15)
TITLES = {"vrrp": "VRRP", "checker": "Checker"}


@dataclass(frozen=True)
class ProcessSettings:
    """What ``global_defs`` asks of one child process."""

    kind: str  # "vrrp" or "checker"
    nice: int | None = None
    rt_priority: int | None = None
    rlimit_rttime: int | None = None  # µs; None: not given
    cpus: tuple[int, ...] = ()
    no_swap: bool = False
    max_auto_priority: int = 0  # 0 off, -1 never
    min_auto_priority_delay: int = 1000000  # µs

    @classmethod
    def of(cls, gd: Any, kind: str) -> ProcessSettings:
        """The settings of process ``kind`` in ``global_defs``."""
        auto = {"max_auto_priority": gd.max_auto_priority,
                "min_auto_priority_delay": gd.min_auto_priority_delay}
        if kind == "vrrp":
            return cls("vrrp", gd.vrrp_priority, gd.vrrp_rt_priority, gd.vrrp_rlimit_rttime,
                       tuple(gd.vrrp_cpu_affinity), gd.vrrp_no_swap, **auto)
        return cls("checker", gd.checker_priority, gd.checker_rt_priority,
                   gd.checker_rlimit_rttime, tuple(gd.checker_cpu_affinity),
                   gd.checker_no_swap, **auto)


class Scheduler:
    """Applies ``ProcessSettings`` to this process and, with ``max_auto_priority``, watches
    the event loop for late timers (``watch``)."""

    def __init__(self, settings: ProcessSettings) -> None:
        self.s = settings
        self.rt_priority = 0  # the SCHED_RR priority in force (0: normal scheduling)
        self._task: asyncio.Task[None] | None = None

    def apply(self) -> None:
        s = self.s
        if s.rt_priority:
            self._set_rt(s.rt_priority)
        elif s.nice is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, s.nice)
            except OSError as e:
                log.info("Unable to set process priority to %d - %s", s.nice, e.strerror)
        if s.cpus:
            try:
                os.sched_setaffinity(0, s.cpus)
            except OSError as e:
                log.warning("unable to set cpu affinity to %s process (%s)", s.kind, e.strerror)
        if s.no_swap and libc().mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
            import ctypes

            log.info("Unable to lock process in memory - %s", os.strerror(ctypes.get_errno()))

    def _set_rt(self, prio: int) -> None:
        flags = os.SCHED_RR | getattr(os, "SCHED_RESET_ON_FORK", 0x40000000)
        try:
            os.sched_setscheduler(0, flags, os.sched_param(prio))
        except OSError:
            log.warning("child process: cannot raise priority")
            return
        self.rt_priority = prio
        limit = self.s.rlimit_rttime
        if limit:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGXCPU, self._on_sigxcpu)
            try:
                resource.setrlimit(RLIMIT_RTTIME, (limit // 2, limit))
            except (OSError, ValueError):
                log.warning("child process cannot set realtime rlimit")

    def _on_sigxcpu(self, _sig: int, _frame: object) -> None:
        log.info("%s process has used too much CPU time, %s_rlimit_rttime may need to be "
                 "increased", TITLES.get(self.s.kind, self.s.kind), self.s.kind)

    # ------------------------------------------------------------ automatic priority
    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """With ``max_auto_priority`` > 0, check how late the loop runs its timers."""
        if self.s.max_auto_priority > 0 and self._task is None:
            self._task = loop.create_task(self._watch(loop))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        delay = self.s.min_auto_priority_delay / 1e6
        period = min(max(delay, 0.05), 1.0)
        while True:
            due = loop.time() + period
            await asyncio.sleep(period)
            late = loop.time() - due
            if late > delay:
                us = int(late * 1e6)
                log.info("A thread timer expired %d.%06d seconds ago", us // 1000000,
                         us % 1000000)
                self.raise_priority()

    def raise_priority(self) -> None:
        """One step up: SCHED_RR at the lowest priority first, then +1 up to the maximum."""
        top = self.s.max_auto_priority
        if top <= 0 or self.rt_priority >= top:
            return
        prio = self.rt_priority + 1 if self.rt_priority else os.sched_get_priority_min(
            os.SCHED_RR)
        self._set_rt(min(prio, top))
        if self.rt_priority:
            log.info("Set realtime priority %d", self.rt_priority)
