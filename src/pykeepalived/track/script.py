"""vrrp_script: the rise/fall counter (sans-IO) and the asyncio shell that runs the script.

Theory of operation (keepalived's counter, reproduced from its documented behaviour):

* ``result`` runs from 0 to ``rise + fall - 1``. The script is *up* when ``result >= rise``.
* Start: without ``init_fail`` the script is in an INIT state with ``result = rise - 1`` ("one
  success is enough") and reports nothing until its first result; with ``init_fail`` it starts
  *down* (``result = 0``), which the router applies from the start.
* Success: below ``rise - 1`` count up; otherwise jump to the top, reporting *up* when coming
  from below ``rise``.
* Failure (non-zero exit, killed at ``timeout``, killed by a signal, not executable): above
  ``rise`` count down; otherwise drop to 0, reporting *down* when coming from exactly ``rise``
  or from the INIT state.

So ``fall`` consecutive failures take an up script down, ``rise`` consecutive successes take a
down script up, and the first result after start is always reported.

The shell runs the script every ``interval`` (first run at once), skips a run while the previous
one is still running (keepalived: "Track script X is already running, expect idle - skipping
run"), kills it at ``timeout`` (whole process group) and counts that as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable

from pykeepalived.config.model import GlobalDefs, VrrpScript
from pykeepalived.script.runner import Outcome, ProcessRunner, RunAs, RunResult
from pykeepalived.script.security import check_script, resolve_run_as
from pykeepalived.track.events import TrackerChanged, TrackerKind

log = logging.getLogger("pykeepalived.track")


class ScriptState(enum.Enum):
    INIT = "init"  # no result yet; the router applies no weight (weight 0: instance waits)
    UP = "up"
    DOWN = "down"


class ScriptTracker:
    """The sans-IO rise/fall counter of one vrrp_script. No clock, no I/O."""

    def __init__(self, name: str, rise: int = 1, fall: int = 1, init_fail: bool = False) -> None:
        self.name = name
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.init = not init_fail
        self.result = 0 if init_fail else self.rise - 1

    @classmethod
    def from_config(cls, script: VrrpScript) -> ScriptTracker:
        return cls(script.name, script.rise, script.fall, script.init_fail)

    @property
    def state(self) -> ScriptState:
        if self.init:
            return ScriptState.INIT
        return ScriptState.UP if self.result >= self.rise else ScriptState.DOWN

    @property
    def up(self) -> bool:
        return not self.init and self.result >= self.rise

    def initial_event(self) -> TrackerChanged | None:
        """What the router must apply before any script has run: DOWN for ``init_fail``."""
        if self.init:
            return None
        return TrackerChanged(TrackerKind.SCRIPT, self.name, self.up)

    def record(self, success: bool) -> TrackerChanged | None:
        """Feed one result; returns the event to emit when the up/down state changes."""
        top = self.rise + self.fall - 1
        event: TrackerChanged | None = None
        if success:
            if self.result < self.rise - 1:
                self.result += 1
            elif self.result != top:
                if self.result < self.rise:  # i.e. == rise - 1, which INIT always is
                    event = TrackerChanged(TrackerKind.SCRIPT, self.name, True)
                self.result = top
        else:
            if self.result > self.rise:
                self.result -= 1
            else:
                if self.result == self.rise or self.init:
                    event = TrackerChanged(TrackerKind.SCRIPT, self.name, False)
                self.result = 0
        self.init = False
        return event


def describe(result: RunResult) -> str:
    """keepalived's phrasing of why a run failed: 'exited with status 3', 'timed_out', ..."""
    if result.outcome is Outcome.EXITED:
        return "succeeded" if result.status == 0 else f"failed (exited with status {result.status})"
    if result.outcome is Outcome.TIMED_OUT:
        return "timed_out"
    if result.outcome is Outcome.SIGNALED:
        return f"failed (due to signal {result.status})"
    return f"failed ({result.error})"


class VrrpScriptRunner:
    """Runs one vrrp_script forever and reports up/down changes through ``on_change``.

    ``on_change`` is called from the event loop (never from another thread) and must not block.
    A script that is disabled by script security or not found never runs and stays in its
    initial state, as in keepalived (the instance ignores a disabled script).
    """

    def __init__(
        self,
        script: VrrpScript,
        on_change: Callable[[TrackerChanged], None],
        *,
        global_defs: GlobalDefs | None = None,
        runner: ProcessRunner | None = None,
    ) -> None:
        self.script = script
        self.tracker = ScriptTracker.from_config(script)
        self._on_change = on_change
        self._gd = global_defs or GlobalDefs()
        self._runner = runner or ProcessRunner()
        self._own_runner = runner is None
        self._task: asyncio.Task[None] | None = None
        self._last_status: int | None = None
        self.run_as: RunAs
        self.run_as, warn = resolve_run_as(script.user, script.group, self._gd)
        if warn:
            log.warning("VRRP_Script(%s) %s", script.name, warn)
        self.disabled = False
        self.running = False
        self.runs = 0
        self.skipped = 0
        self.last_result: RunResult | None = None

    @property
    def state(self) -> ScriptState:
        return self.tracker.state

    def start(self) -> None:
        """Check the script's security, then start the interval loop (idempotent)."""
        if self._task is not None:
            return
        chk = check_script(self.script.argv, self.run_as,
                           enable_script_security=self._gd.enable_script_security,
                           use_symlink_paths=self._gd.use_symlink_paths)
        if chk.message:
            log.warning("%s", chk.message)
        if not chk.runnable:
            self.disabled = True
            log.warning("VRRP_Script(%s) disabled (%s)", self.script.name, chk.verdict.value)
            return
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_runner:
            await self._runner.close(grace=1.0)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = max(self.script.interval, 0.001)
        timeout = self.script.timeout if self.script.timeout > 0 else interval
        next_run = loop.time()
        current: asyncio.Task[RunResult] | None = None
        try:
            while True:
                if current is not None and not current.done():
                    self.skipped += 1
                    log.info("Track script %s is already running, expect idle - skipping run",
                             self.script.name)
                else:
                    current = loop.create_task(self._run_once(timeout))
                next_run += interval
                now = loop.time()
                if next_run < now:  # we were late (stalled loop): do not burst
                    next_run = now + interval
                await asyncio.sleep(next_run - now)
        finally:
            if current is not None and not current.done():
                current.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await current

    async def _run_once(self, timeout: float) -> RunResult:
        self.running = True  # keepalived's script state "running" (its data file, exporters)
        try:
            result = await self._runner.run(self.script.argv, self.run_as, timeout,
                                            name=self.script.name)
        finally:
            self.running = False
        self.runs += 1
        self.last_result = result
        if result.outcome is Outcome.EXITED and result.status != self._last_status:
            log.info("Script `%s` now returning %d", self.script.name, result.status)
            self._last_status = result.status
        event = self.tracker.record(result.ok)
        if event is not None:
            log.info("VRRP_Script(%s) %s", self.script.name, describe(result))
            try:
                self._on_change(event)
            except Exception:  # the loop must survive a faulty consumer
                log.exception("tracker callback failed for %s", self.script.name)
        return result
