"""Notify scripts with keepalived's exact arguments, run-as user and security checks.

* ``notify_master|backup|fault|stop|deleted`` (and the checker's ``notify_up/down``,
  ``quorum_up/down``, ``notify_master_rx_lower_pri``): executed with **only** their configured
  argv.
* Generic ``notify``: configured argv + ``INSTANCE|GROUP``, the name, the state
  (``MASTER|BACKUP|FAULT|STOP|DELETED``) and the priority (0 for groups).
* Fire-and-forget (asynchronous, unordered, reaped); STOP scripts get about one second (then
  their process group is killed) and ``wait_stop()`` lets shutdown wait for them.
* Each script is checked once (existence, executability, ``enable_script_security``) before its
  first run; a disabled script is logged once and never run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pykeepalived.config.model import GlobalDefs, NotifyScript
from pykeepalived.script.runner import (
    KILL_GRACE,
    Outcome,
    ProcessRunner,
    RunAs,
    RunResult,
    run_sync,
)
from pykeepalived.script.security import check_script, resolve_run_as

log = logging.getLogger("pykeepalived.notify")

#: How long keepalived lets a STOP notify run before killing it.
STOP_TIMEOUT = 1.0


def generic_argv(script: NotifyScript, kind: str, name: str, state: str,
                 priority: int) -> list[str]:
    """argv of the generic ``notify``: configured args + TYPE NAME STATE PRIORITY."""
    return [*script.argv, kind, name, state, str(priority)]


class ScriptLauncher:
    def __init__(self, gd: GlobalDefs, runner: ProcessRunner | None = None) -> None:
        self.gd = gd
        self.runner = runner or ProcessRunner()
        self._checked: dict[tuple[tuple[str, ...], str | None, str | None],
                            RunAs | None] = {}
        self._stop_tasks: set[asyncio.Task[RunResult]] = set()
        self._warned: set[str] = set()
        self.launched = 0
        self.refused = 0

    def _run_as(self, script: NotifyScript) -> RunAs | None:
        """Credentials for ``script``, or None when security refuses it (checked once)."""
        key = (script.argv, script.user, script.group)
        if key not in self._checked:
            run_as, warn = resolve_run_as(script.user, script.group, self.gd)
            if warn and warn not in self._warned:
                self._warned.add(warn)
                log.warning("%s", warn)
            chk = check_script(script.argv, run_as,
                               enable_script_security=self.gd.enable_script_security,
                               use_symlink_paths=self.gd.use_symlink_paths)
            if chk.message:
                log.warning("%s", chk.message)
            self._checked[key] = run_as if chk.runnable else None
        return self._checked[key]

    def forget_checks(self) -> None:
        self._checked.clear()
        self._warned.clear()

    def launch(self, script: NotifyScript, argv: Sequence[str] | None = None, *,
               stop: bool = False) -> asyncio.Task[RunResult] | None:
        """Start ``script`` (with ``argv`` instead of its own when given); never blocks."""
        run_as = self._run_as(script)
        if run_as is None:
            self.refused += 1
            return None
        args = list(argv) if argv is not None else list(script.argv)
        self.launched += 1
        # STOP scripts: SIGKILL to the group at 1 s, as keepalived's child_killed_thread
        task = self.runner.fire(args, run_as, STOP_TIMEOUT if stop else None,
                                name=script.path, kill_grace=0.0 if stop else KILL_GRACE)
        if stop:
            self._stop_tasks.add(task)
            task.add_done_callback(self._stop_tasks.discard)
        return task

    async def wait_stop(self, timeout: float = STOP_TIMEOUT + 0.5) -> None:
        """Wait for the STOP scripts (each is killed at STOP_TIMEOUT anyway)."""
        if self._stop_tasks:
            await asyncio.wait(set(self._stop_tasks), timeout=timeout)

    async def close(self, grace: float = 1.0) -> None:
        await self.runner.close(grace)


def run_startup_script(gd: GlobalDefs) -> RunResult | None:
    """global_defs ``startup_script``, run (blocking) by the parent before the children start;
    killed at ``startup_script_timeout``. None when not configured or refused by security."""
    return _run_global(gd.startup_script, gd.startup_script_timeout, gd, "startup")


def run_shutdown_script(gd: GlobalDefs) -> RunResult | None:
    """global_defs ``shutdown_script``, run (blocking) by the parent after the children stopped."""
    return _run_global(gd.shutdown_script, gd.shutdown_script_timeout, gd, "shutdown")


def _run_global(script: NotifyScript | None, timeout: float, gd: GlobalDefs,
                what: str) -> RunResult | None:
    if script is None or not script.argv:
        return None
    run_as, warn = resolve_run_as(script.user, script.group, gd)
    if warn:
        log.warning("%s", warn)
    chk = check_script(script.argv, run_as, enable_script_security=gd.enable_script_security,
                       use_symlink_paths=gd.use_symlink_paths)
    if chk.message:
        log.warning("%s", chk.message)
    if not chk.runnable:
        return None
    res = run_sync(script.argv, run_as, timeout, name=f"{what}_script {script.path}")
    if res.outcome is Outcome.TIMED_OUT:
        log.warning("%s script %s timed out", what.capitalize(), script.path)
    elif not res.ok:
        log.info("%s script %s failed, status %d", what.capitalize(), script.path, res.status)
    return res
