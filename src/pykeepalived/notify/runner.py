"""Running operator scripts without ever blocking the event loop, and without leaving zombies.

Every script (vrrp_script, notify_*, *_fifo_script, startup/shutdown scripts, and the checker's
MISC_CHECK if it wants) is started here:

* argv is exec'd directly: keepalived never wraps a script in a shell (the config layer already
  split the quoted string into argv);
* in a new session (``setsid``), so the script and everything it forks share one process group
  that can be signalled as a whole (``kill(-pgid)``), which is how a hung script and its
  children are killed at ``timeout``: SIGTERM to the group, SIGKILL 2 s later, and a final
  SIGKILL to the group once the leader is gone (keepalived's sequence);
* as the configured user/group (``setgid`` + ``setuid`` in the child, supplementary groups only
  with ``set_supplementary_groups``);
* reaped by asyncio's child watcher (no ``waitpid`` on the loop thread), and the grandchildren a
  script leaves behind are reaped too: the runner makes this process a *child subreaper* so that
  orphans of the sessions it started are re-parented here instead of to PID 1 (which, in
  containers and micro-VMs, often never reaps), and sweeps them.

The sweep only reaps zombies whose session is one this runner created and which are not the
session leader (asyncio owns the leader's exit status), so it never steals another module's
child.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("pykeepalived.notify")

#: Seconds between SIGTERM and SIGKILL when a script outlives its timeout (keepalived uses 2).
KILL_GRACE = 2.0

_PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class RunAs:
    """Credentials a script runs with. ``groups`` None = leave supplementary groups alone."""

    uid: int = 0
    gid: int = 0
    user: str = "root"
    groups: tuple[int, ...] | None = None

    @property
    def is_root(self) -> bool:
        return self.uid == 0 or self.gid == 0


class Outcome(enum.Enum):
    EXITED = "exited"  # ``status`` holds the exit code
    SIGNALED = "signaled"  # killed by a signal we did not send; ``status`` = signal number
    TIMED_OUT = "timed_out"  # we killed it at its timeout
    SPAWN_FAILED = "spawn_failed"  # exec failed (missing file, permission, bad user)


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    status: int = 0
    pid: int = 0
    duration: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        """What a tracking script's result means: exit status 0 and nothing else."""
        return self.outcome is Outcome.EXITED and self.status == 0


_subreaper_users = 0  # open runners that asked for it; the attribute is per process


def _set_subreaper(on: bool) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _enable_subreaper() -> bool:
    """Become a child subreaper while at least one runner is open (refcounted)."""
    global _subreaper_users
    if _set_subreaper(True):
        _subreaper_users += 1
        return True
    return False


def _release_subreaper() -> None:
    """Last runner closed: orphans go back to init, so a host process (a test runner, say)
    does not collect zombies of processes it never started."""
    global _subreaper_users
    _subreaper_users = max(0, _subreaper_users - 1)
    if _subreaper_users == 0:
        _set_subreaper(False)


def _proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        return rest[0].decode(), int(rest[1]), int(rest[2]), int(rest[3])
    except (IndexError, ValueError):
        return None


class ProcessRunner:
    """Spawns and supervises scripts for one process (one instance per daemon child is enough).

    ``run()`` awaits the script (with its timeout) and returns a :class:`RunResult`;
    ``fire()`` starts it in the background and only logs the result. Neither ever blocks the
    loop. ``close()`` terminates whatever is still running.
    """

    def __init__(self, *, subreaper: bool = True, sweep_interval: float = 0.5) -> None:
        self._sessions: set[int] = set()  # session ids (= leader pids) we created
        self._tasks: set[asyncio.Task[RunResult]] = set()
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_interval = sweep_interval
        self._mypid = os.getpid()
        self.subreaper = _enable_subreaper() if subreaper else False
        self.spawned = 0
        self.timeouts = 0
        self.orphans_reaped = 0

    # ------------------------------------------------------------------ public

    async def run(
        self,
        argv: Sequence[str],
        run_as: RunAs | None = None,
        timeout: float | None = None,
        *,
        env: Mapping[str, str] | None = None,
        name: str = "",
    ) -> RunResult:
        """Run ``argv`` to completion (or kill it at ``timeout``); never raises for its errors."""
        start = time.monotonic()
        try:
            proc = await self._spawn(argv, run_as, env)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("Failed to exec script %s: %s", name or (argv[0] if argv else "?"), exc)
            return RunResult(Outcome.SPAWN_FAILED, error=str(exc),
                             duration=time.monotonic() - start)
        pid = proc.pid
        timed_out = False
        try:
            if timeout is not None and timeout > 0:
                try:
                    await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
                except TimeoutError:
                    timed_out = True
                    self.timeouts += 1
                    log.info("Script %s (pid %d) timed out after %.3gs - killing its process "
                             "group", name or argv[0], pid, timeout)
                    self._kill_group(pid, signal.SIGTERM)
                    try:
                        await asyncio.wait_for(asyncio.shield(proc.wait()), KILL_GRACE)
                    except TimeoutError:
                        log.warning("Process [%d] didn't respond to SIGTERM", pid)
                        self._kill_group(pid, signal.SIGKILL)
                        await proc.wait()
            else:
                await proc.wait()
        except asyncio.CancelledError:
            self._kill_group(pid, signal.SIGKILL)
            raise
        finally:
            self._procs.pop(pid, None)
            if timed_out:
                # Children that ignored SIGTERM die with the group.
                self._kill_group(pid, signal.SIGKILL)
            self._sweep()
        rc = proc.returncode
        duration = time.monotonic() - start
        if timed_out:
            return RunResult(Outcome.TIMED_OUT, status=rc if rc is not None else -1, pid=pid,
                             duration=duration)
        assert rc is not None
        if rc < 0:
            return RunResult(Outcome.SIGNALED, status=-rc, pid=pid, duration=duration)
        return RunResult(Outcome.EXITED, status=rc, pid=pid, duration=duration)

    def fire(
        self,
        argv: Sequence[str],
        run_as: RunAs | None = None,
        timeout: float | None = None,
        *,
        env: Mapping[str, str] | None = None,
        name: str = "",
    ) -> asyncio.Task[RunResult]:
        """Start ``argv`` in the background (fire-and-forget, but reaped and accounted)."""
        task = asyncio.get_running_loop().create_task(
            self.run(argv, run_as, timeout, env=env, name=name))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    @property
    def running(self) -> int:
        return len(self._procs)

    def running_pids(self) -> list[int]:
        return list(self._procs)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every fired script has finished; False if some are still running."""
        if not self._tasks:
            return True
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        return not pending

    def terminate_all(self, sig: int = signal.SIGTERM) -> None:
        for pid in list(self._procs):
            self._kill_group(pid, sig)

    async def close(self, grace: float = 1.0) -> None:
        """SIGTERM every running script's group, SIGKILL after ``grace``; reap everything."""
        self.terminate_all(signal.SIGTERM)
        if not await self.wait_idle(grace):
            self.terminate_all(signal.SIGKILL)
            await self.wait_idle(grace + 1.0)
        for task in list(self._tasks):
            task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        self._sweep()
        if self.subreaper:
            # Orphans still running become init's; ours were all reaped above.
            _release_subreaper()
            self.subreaper = False

    # ------------------------------------------------------------------ internals

    def _task_done(self, task: asyncio.Task[RunResult]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("Script supervision failed: %r", exc)

    async def _spawn(self, argv: Sequence[str], run_as: RunAs | None,
                     env: Mapping[str, str] | None) -> asyncio.subprocess.Process:
        if not argv:
            raise ValueError("empty command")
        kwargs: dict[str, object] = {}
        if run_as is not None and os.geteuid() == 0 and (run_as.uid != 0 or run_as.gid != 0):
            kwargs["user"] = run_as.uid
            kwargs["group"] = run_as.gid
            if run_as.groups is not None:
                kwargs["extra_groups"] = list(run_as.groups)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env=dict(env) if env is not None else None,
            **kwargs,  # type: ignore[arg-type]
        )
        self.spawned += 1
        self._procs[proc.pid] = proc
        self._sessions.add(proc.pid)
        self._ensure_sweeper()
        return proc

    def _kill_group(self, pgid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def _sweep_loop(self) -> None:
        """While any session we created still has members, reap its orphans periodically."""
        while self._sessions:
            await asyncio.sleep(self._sweep_interval)
            self._sweep()

    def _sweep(self) -> None:
        """Reap zombie orphans of our sessions; forget sessions that have no process left."""
        if not self._sessions:
            return
        if not self.subreaper:  # orphans go to init, nothing of ours to reap
            self._sessions = {s for s in self._sessions if s in self._procs}
            return
        alive: set[int] = set()
        try:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            return
        for pid in pids:
            st = _proc_stat(pid)
            if st is None:
                continue
            state, ppid, _pgrp, sid = st
            if sid not in self._sessions:
                continue
            if state == "Z" and ppid == self._mypid and pid != sid:
                try:
                    os.waitpid(pid, os.WNOHANG)
                    self.orphans_reaped += 1
                except ChildProcessError:
                    pass
                continue
            alive.add(sid)
        # A session stays tracked while its leader is ours to wait for or members remain.
        self._sessions = {s for s in self._sessions if s in alive or s in self._procs}


def run_sync(argv: Sequence[str], run_as: RunAs | None = None, timeout: float | None = None,
             *, name: str = "") -> RunResult:
    """Blocking variant for the synchronous parent (startup_script / shutdown_script).

    Same rules as :meth:`ProcessRunner.run`: own session, run-as, at ``timeout`` SIGTERM to the
    process group, SIGKILL after :data:`KILL_GRACE`, and a final SIGKILL to the group.
    """
    import subprocess

    start = time.monotonic()
    kwargs: dict[str, object] = {}
    if run_as is not None and os.geteuid() == 0 and (run_as.uid != 0 or run_as.gid != 0):
        kwargs.update(user=run_as.uid, group=run_as.gid)
        if run_as.groups is not None:
            kwargs["extra_groups"] = list(run_as.groups)
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL,  # type: ignore[call-overload]
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True, close_fds=True, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("Failed to exec script %s: %s", name or (argv[0] if argv else "?"), exc)
        return RunResult(Outcome.SPAWN_FAILED, error=str(exc))
    pid: int = proc.pid
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.info("Script %s (pid %d) timed out - killing its process group", name or argv[0], pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        proc.wait()
        return RunResult(Outcome.TIMED_OUT, status=proc.returncode, pid=pid,
                         duration=time.monotonic() - start)
    duration = time.monotonic() - start
    if rc < 0:
        return RunResult(Outcome.SIGNALED, status=-rc, pid=pid, duration=duration)
    return RunResult(Outcome.EXITED, status=rc, pid=pid, duration=duration)
