"""Running operator scripts without ever blocking the event loop, and without leaving zombies.

Every script (vrrp_script, notify_*, *_fifo_script, startup/shutdown scripts, and the checker's
MISC_CHECK if it wants) is started here:

* argv is exec'd directly: keepalived never wraps a script in a shell (the config layer already
  split the quoted string into argv);
* in a new session (``setsid``), so the script and everything it forks share one process group
  that can be signalled as a whole (``kill(-pgid)``), which is how a hung script and its
  children are killed at ``timeout``: SIGTERM to the group, SIGKILL 2 s later, and a final
  SIGKILL to the group once the leader is gone (keepalived's sequence);
* as the configured user/group (switched in the child by util-linux ``setpriv`` so the spawn
  stays a cheap vfork; supplementary groups only with ``set_supplementary_groups``);
* reaped without blocking: its exit is noticed through a pidfd on the event loop and collected
  with a non-blocking ``waitpid`` of that pid alone. The grandchildren a script leaves behind
  are reaped too, in a process that allowed it (:func:`allow_subreaper`, which the daemon's
  children call at start): from a runner's first spawn on, that process is a *child
  subreaper* for the rest of its life, so orphans of the sessions it started are re-parented
  here instead of to PID 1 (which, in containers and micro-VMs, often never reaps), and a
  periodic sweep collects them.

Being a subreaper is a property of the process, not of a runner: an orphan adopted while the
role was on stays this process's child after it is given up, and becomes a zombie nobody
collects once it exits. So the role is never given up, and a process that did not ask for it
(a test runner or any other host of a ``ProcessRunner``) never gets it: its scripts' orphans go
to init as they would without pykeepalived.

The sweep only reaps zombies whose session is one this runner created and which are not the
session leader (the runner collects the leader itself), so it never steals another module's
child.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import errno
import logging
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("pykeepalived.notify")

#: Seconds between SIGTERM and SIGKILL when a script outlives its timeout (keepalived uses 2).
KILL_GRACE = 2.0

_PR_SET_CHILD_SUBREAPER = 36

#: Descriptors left free for the process's own use (GARP/NA senders, netlink, the sockets of
#: a reload): a script is not started when fewer would remain. Each running script holds one
#: (its pidfd) and a spawn briefly two more, so hung scripts could otherwise use up
#: ``ulimit -n`` and leave the daemon unable to open the socket a takeover needs.
FD_RESERVE = 16


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


class _FdReserve(OSError):
    """A spawn refused to keep :data:`FD_RESERVE` descriptors free."""


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


_may_adopt = False  # allow_subreaper() was called in this process
_adopting = False  # this process is a child subreaper (for good)


def allow_subreaper() -> None:
    """Let runners make this process a child subreaper at their first spawn, for the rest of
    its life (the daemon's children call this at start, as keepalived's parent makes itself
    one). Not inherited by children: fork(2) clears the flag."""
    global _may_adopt
    _may_adopt = True


def _adopt_orphans() -> bool:
    """Become a child subreaper if the process allowed it; True once it is one."""
    global _adopting
    if _may_adopt and not _adopting:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _adopting = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _adopting = False
    return _adopting


_SETPRIV = shutil.which("setpriv")


def credential_argv(run_as: RunAs | None) -> tuple[list[str], dict[str, object]]:
    """How to start a child as ``run_as``: an argv prefix and/or Popen keyword arguments.

    Python can only switch credentials with a full ``fork()`` (its vfork fast path is off as
    soon as ``user``/``group`` is given), and forking a large daemon stalls the event loop for
    milliseconds. util-linux ``setpriv`` keeps the spawn a cheap vfork and switches in the
    child instead; without it, fall back to Popen's own ``user``/``group``.
    """
    if run_as is None or os.geteuid() != 0 or (run_as.uid == 0 and run_as.gid == 0):
        return [], {}
    if _SETPRIV is not None:
        pre = [_SETPRIV, f"--reuid={run_as.uid}", f"--regid={run_as.gid}"]
        if run_as.groups is None:
            pre.append("--keep-groups")
        elif run_as.groups:
            pre.append("--groups=" + ",".join(str(g) for g in run_as.groups))
        else:
            pre.append("--clear-groups")
        return [*pre, "--"], {}
    kw: dict[str, object] = {"user": run_as.uid, "group": run_as.gid}
    if run_as.groups is not None:
        kw["extra_groups"] = list(run_as.groups)
    return [], kw


def _pids() -> list[int]:
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def _pending_kill(pid: int) -> bool:
    """SIGKILL or SIGTERM is pending for ``pid`` (it is about to exit)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith((b"ShdPnd:", b"SigPnd:")):
                    mask = int(line.split()[1], 16)
                    if mask & ((1 << (signal.SIGKILL - 1)) | (1 << (signal.SIGTERM - 1))):
                        return True
    except (OSError, ValueError):
        return False
    return False


def _proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) of a process, or None if it is gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 512)
    except OSError:
        return None
    finally:
        os.close(fd)
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        return rest[0].decode(), int(rest[1]), int(rest[2]), int(rest[3])
    except (IndexError, ValueError):
        return None


class _Child:
    """A started script: its exit is noticed through a pidfd on the event loop, so no watcher
    thread is started per script (asyncio's ThreadedChildWatcher waits for each new thread to
    be scheduled, which costs milliseconds of loop time on a loaded machine)."""

    def __init__(self, popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self.popen = popen
        self.pid: int = popen.pid
        self._loop = loop
        self._done: asyncio.Future[int] = loop.create_future()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except OSError:  # no pidfd (very old kernel): poll instead
            self._pidfd = None
        if self._pidfd is not None:
            loop.add_reader(self._pidfd, self._check)
        else:
            self._poll_later()
        self._check()  # it may already be gone

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def _poll_later(self) -> None:
        if not self._done.done():
            self._loop.call_later(0.05, self._poll_tick)

    def _poll_tick(self) -> None:
        self._check()
        self._poll_later()

    def _check(self) -> None:
        if self._done.done():
            return
        try:
            rc = self.popen.poll()
        except ChildProcessError:  # reaped elsewhere: the status is lost
            rc = 255
        if rc is None:
            return
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._done.set_result(rc)

    async def wait(self) -> int:
        return await asyncio.shield(self._done)


class ProcessRunner:
    """Spawns and supervises scripts for one process (one instance per daemon child is enough).

    ``run()`` awaits the script (with its timeout) and returns a :class:`RunResult`;
    ``fire()`` starts it in the background and only logs the result. Neither ever blocks the
    loop. ``close()`` terminates whatever is still running.
    """

    #: Between sweeps when none of our own sessions has members left: only orphans of other
    #: modules' scripts (adopted because we are a subreaper) can need reaping then.
    IDLE_SWEEP = 2.0

    def __init__(self, *, subreaper: bool = True, sweep_interval: float = 0.5) -> None:
        self._sessions: set[int] = set()  # session ids (= leader pids) we created
        self._tasks: set[asyncio.Task[RunResult]] = set()
        self._procs: dict[int, _Child] = {}
        self._killed: dict[int, _Child] = {}  # runs cancelled: SIGKILLed, not yet reaped
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_interval = sweep_interval
        self._mypid = os.getpid()
        self._mysid = os.getsid(0)
        self._want_subreaper = subreaper
        self._closed = False
        self._termed_at: float | None = None  # first terminate_all(SIGTERM) with scripts left
        self._fd_short = False  # refusing spawns for want of descriptors (logged once)
        self.fd_refusals = 0
        self.subreaper = False  # True from its first spawn in a process that allowed it
        self.spawned = 0
        self.timeouts = 0
        self.runs = 0  # run() calls, whether the exec worked or not
        self.failed = 0  # runs that did not exit 0: exec errors, signals, timeouts, exit != 0
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
        kill_grace: float = KILL_GRACE,
    ) -> RunResult:
        """Run ``argv`` to completion (or kill it at ``timeout``); never raises for its errors.

        At the timeout its process group gets SIGTERM and, ``kill_grace`` seconds later,
        SIGKILL; with ``kill_grace`` 0, SIGKILL at once (keepalived's STOP notify scripts)."""
        start = time.monotonic()
        self.runs += 1
        try:
            proc = await self._spawn(argv, run_as, env)
        except (OSError, ValueError, KeyError) as exc:
            if not isinstance(exc, _FdReserve):  # (logged once by _check_descriptors)
                log.warning("Failed to exec script %s: %s", name or (argv[0] if argv else "?"),
                            exc)
            self.failed += 1
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
                    await self._kill_timed_out(proc, kill_grace)
            else:
                await proc.wait()
        except asyncio.CancelledError:
            self._kill_group(pid, signal.SIGKILL)
            if proc.returncode is None:  # reaped when it is gone (its pidfd reader stays)
                self._killed[pid] = proc
            raise
        finally:
            self._procs.pop(pid, None)
            if timed_out:
                # Children that ignored SIGTERM die with the group.
                self._kill_group(pid, signal.SIGKILL)
            self._forget_empty_sessions()  # cheap; the periodic sweep reaps any orphans
        rc = proc.returncode
        duration = time.monotonic() - start
        if timed_out or rc != 0:
            self.failed += 1
        if timed_out:
            return RunResult(Outcome.TIMED_OUT, status=rc if rc is not None else -1, pid=pid,
                             duration=duration)
        assert rc is not None
        if rc < 0:
            return RunResult(Outcome.SIGNALED, status=-rc, pid=pid, duration=duration)
        return RunResult(Outcome.EXITED, status=rc, pid=pid, duration=duration)

    async def _kill_timed_out(self, proc: _Child, kill_grace: float) -> None:
        pid = proc.pid
        if kill_grace <= 0:
            self._kill_group(pid, signal.SIGKILL)
            await proc.wait()
            return
        self._kill_group(pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), kill_grace)
        except TimeoutError:
            log.warning("Process [%d] didn't respond to SIGTERM", pid)
            self._kill_group(pid, signal.SIGKILL)
            await proc.wait()

    def fire(
        self,
        argv: Sequence[str],
        run_as: RunAs | None = None,
        timeout: float | None = None,
        *,
        env: Mapping[str, str] | None = None,
        name: str = "",
        kill_grace: float = KILL_GRACE,
    ) -> asyncio.Task[RunResult]:
        """Start ``argv`` in the background (fire-and-forget, but reaped and accounted)."""
        task = asyncio.get_running_loop().create_task(
            self.run(argv, run_as, timeout, env=env, name=name, kill_grace=kill_grace))
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
        if sig == signal.SIGTERM and self._termed_at is None and self._procs:
            self._termed_at = time.monotonic()
        for pid in list(self._procs):
            self._kill_group(pid, sig)

    async def close(self, grace: float = 1.0) -> None:
        """SIGTERM every running script's group, SIGKILL ``grace`` seconds after the first
        SIGTERM (an earlier ``terminate_all`` counts: a stop that warned the scripts when it
        began does not wait twice); reap everything, including the orphans of those groups
        that are still dying."""
        self.terminate_all(signal.SIGTERM)
        since = time.monotonic() - (self._termed_at or time.monotonic())
        if not await self.wait_idle(max(0.0, grace - since)):
            self.terminate_all(signal.SIGKILL)
            await self.wait_idle(grace + 1.0)
        for task in list(self._tasks):
            task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        self._closed = True
        # Members of our sessions that were signalled are exiting: reap them as they go.
        # (Orphans still running stay this subreaper's children: the process keeps the role,
        # and the sweeps of its other runners collect them.)
        deadline = time.monotonic() + grace
        self._sweep()
        while self._dying() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            self._sweep()

    def _reap_killed(self) -> None:
        """Collect the scripts whose run was cancelled (and SIGKILLed) once they are gone:
        nobody awaits them any more, and a direct child nobody waits for is a zombie."""
        for pid, child in list(self._killed.items()):
            child._check()
            if child.returncode is not None:
                del self._killed[pid]

    def _dying(self) -> bool:
        """Some process of a session we created is being killed or is a zombie of ours."""
        self._reap_killed()
        if self._killed:
            return True
        for pid in _pids():
            st = _proc_stat(pid)
            if st is not None and st[3] in self._sessions and (
                    st[0] in ("Z", "X") or _pending_kill(pid)):
                return True
        return False

    # ------------------------------------------------------------------ internals

    def _task_done(self, task: asyncio.Task[RunResult]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("Script supervision failed: %r", exc)

    def _check_descriptors(self) -> None:
        """Refuse a spawn that would eat into :data:`FD_RESERVE` (EMFILE, logged once until
        a spawn works again)."""
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return
        try:
            used = len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor
        except OSError:
            return
        if used + 3 + FD_RESERVE <= soft:
            self._fd_short = False
            return
        self.fd_refusals += 1
        msg = (f"{used} of {soft} file descriptors in use, {FD_RESERVE} kept for the "
               "daemon's sockets")
        if not self._fd_short:
            self._fd_short = True
            log.warning("Not starting scripts while %s", msg)
        raise _FdReserve(errno.EMFILE, msg)

    async def _spawn(self, argv: Sequence[str], run_as: RunAs | None,
                     env: Mapping[str, str] | None) -> _Child:
        if not argv:
            raise ValueError("empty command")
        self._check_descriptors()
        prefix, kwargs = credential_argv(run_as)
        if prefix and not os.access(argv[0], os.X_OK) and "/" in argv[0]:
            # Keep exec failures visible as spawn failures, not as setpriv's exit status 127.
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        # Popen's vfork path costs well under a millisecond of loop time.
        popen = subprocess.Popen(  # type: ignore[call-overload]
            [*prefix, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
            env=dict(env) if env is not None else None, **kwargs)
        proc = _Child(popen, asyncio.get_running_loop())
        if self._want_subreaper and not self.subreaper and not self._closed:
            self.subreaper = _adopt_orphans()
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
        """Reap orphans periodically: often while a session of ours still has members, and,
        as a subreaper, now and then for orphans adopted from other modules' scripts."""
        while self._sessions or self.subreaper:
            await asyncio.sleep(self._sweep_interval if self._sessions else self.IDLE_SWEEP)
            self._sweep(foreign=True)

    def _forget_empty_sessions(self) -> None:
        """Drop sessions whose process group is empty (the common case: a script that left
        nothing behind), with one ``kill(-pgid, 0)`` each instead of a /proc scan."""
        for sid in list(self._sessions):
            if sid in self._procs:
                continue
            try:
                os.killpg(sid, 0)
            except ProcessLookupError:
                self._sessions.discard(sid)
            except PermissionError:
                pass

    def _sweep(self, *, foreign: bool = False) -> None:
        """Reap zombie orphans; forget our sessions that have no process left.

        A zombie is ours to reap when we are its parent only by adoption: it is not the leader
        of its session (leaders are direct children, collected by whoever started them), and
        its session is one we created or at least not our own session (a direct child that
        never called setsid shares our session; an adopted orphan of another module's script,
        started in a new session, does not). ``foreign`` also looks for the latter.
        """
        self._reap_killed()
        self._forget_empty_sessions()
        own = bool(self._sessions) and not all(s in self._procs for s in self._sessions)
        if not self.subreaper:  # orphans go to init, nothing of ours to reap
            self._sessions = {s for s in self._sessions if s in self._procs}
            return
        if not own and not foreign:
            return
        try:  # one syscall: is any child of ours a zombie at all? (reaps nothing)
            waitable = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            waitable = None
        if waitable is None:
            return
        alive: set[int] = set()
        for pid in _pids():
            st = _proc_stat(pid)
            if st is None:
                continue
            state, ppid, _pgrp, sid = st
            mine = sid in self._sessions
            if not mine and not (foreign and sid != self._mysid):
                continue
            if state == "Z" and ppid == self._mypid and pid != sid:
                try:
                    os.waitpid(pid, os.WNOHANG)
                    self.orphans_reaped += 1
                except ChildProcessError:
                    pass
                continue
            if mine:
                alive.add(sid)
        # A session stays tracked while its leader is ours to wait for or members remain.
        self._sessions = {s for s in self._sessions if s in alive or s in self._procs}


def run_sync(argv: Sequence[str], run_as: RunAs | None = None, timeout: float | None = None,
             *, name: str = "") -> RunResult:
    """Blocking variant for the synchronous parent (startup_script / shutdown_script).

    Same rules as :meth:`ProcessRunner.run`: own session, run-as, at ``timeout`` SIGTERM to the
    process group, SIGKILL after :data:`KILL_GRACE`, and a final SIGKILL to the group.
    """
    start = time.monotonic()
    prefix, kwargs = credential_argv(run_as)
    try:
        proc = subprocess.Popen([*prefix, *argv],  # type: ignore[call-overload]
                                stdin=subprocess.DEVNULL,
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
