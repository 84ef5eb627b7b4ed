"""notify_fifo / vrrp_notify_fifo / lvs_notify_fifo writers and their ``*_fifo_script`` readers.

Line formats (keepalived, each line ends with ``\\n``):

* ``INSTANCE "VI_1" MASTER 100`` (effective priority), ``GROUP "G1" BACKUP 0`` (always 0);
  states MASTER, BACKUP, FAULT, STOP, DELETED and the events MASTER_RX_LOWER_PRI,
  MASTER_PRIORITY / BACKUP_PRIORITY (the last two only with notify_priority_changes);
* ``VS [192.168.201.15]:tcp:80 UP`` and ``RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN``.

VRRP lines go to ``notify_fifo`` and ``vrrp_notify_fifo``; checker lines to ``notify_fifo`` and
``lvs_notify_fifo``. A FIFO that does not exist is created (mode 0644, owned by the configured
user/group); it is opened read-write and non-blocking, so opening never waits for a reader and
a write never blocks: when nobody drains it and the pipe buffer is full, the line is dropped and
counted. The ``*_fifo_script`` is started with the FIFO path as its last argument before any
line is written, and gets SIGTERM on reload and stop. FIFOs we created are removed at close.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
from collections.abc import Iterable

from pykeepalived.config.model import GlobalDefs, NotifyFifo
from pykeepalived.script.runner import ProcessRunner
from pykeepalived.script.security import resolve_run_as

log = logging.getLogger("pykeepalived.notify")


def vrrp_line(kind: str, name: str, state: str, priority: int) -> str:
    """``INSTANCE "VI_1" MASTER 100`` / ``GROUP "G1" BACKUP 0`` (with the newline)."""
    return f'{kind} "{name}" {state} {priority}\n'


def reload_state_lines(groups: Iterable[tuple[str, str]],
                       instances: Iterable[tuple[str, str, int]]) -> list[str]:
    """``fifo_write_vrrp_states_on_reload``: the lines a reload writes for the sync groups
    (name, state) and instances (name, state, effective priority) it kept, groups first.

    As keepalived 2.2.7 does (observed): every group's state, then each instance's but a
    MASTER's (keepalived re-enters a kept MASTER by another path, which writes nothing).
    """
    out = [vrrp_line("GROUP", name, state, 0) for name, state in groups if state != "INIT"]
    out += [vrrp_line("INSTANCE", name, state, prio) for name, state, prio in instances
            if state not in ("MASTER", "INIT")]
    return out


def vs_line(vs_key: str, up: bool) -> str:
    """``VS [192.168.201.15]:tcp:80 UP``."""
    return f"VS {vs_key} {'UP' if up else 'DOWN'}\n"


def rs_line(rs_key: str, vs_key: str, up: bool) -> str:
    """``RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 UP``."""
    return f"RS {rs_key} {vs_key} {'UP' if up else 'DOWN'}\n"


def endpoint_key(ip: str, protocol: str, port: int) -> str:
    """keepalived's ``[ip]:proto:port`` for a real or virtual server."""
    return f"[{ip}]:{protocol.lower()}:{port}"


class FifoWriter:
    """One FIFO, opened O_RDWR|O_NONBLOCK; ``write`` never blocks and never raises."""

    def __init__(self, cfg: NotifyFifo, gd: GlobalDefs, runner: ProcessRunner) -> None:
        self.cfg = cfg
        self.path = cfg.path
        self._gd = gd
        self._runner = runner
        self._fd: int | None = None
        self._created = False
        self.dropped = 0
        self.written = 0

    def open(self) -> bool:
        """Create the FIFO if needed, start its reader script, open it. False on failure.

        As keepalived: mode 0644 (less the umask), chowned to the configured user/group, an
        existing path is used as it is (EEXIST is fine), opened without following symlinks.
        """
        try:
            os.mkfifo(self.path, 0o644)
            self._created = True
            if self.cfg.user is not None:
                run_as, _ = resolve_run_as(self.cfg.user, self.cfg.group, self._gd)
                try:
                    os.chown(self.path, run_as.uid, run_as.gid)
                except OSError:
                    log.info("Failed to set uid:gid for fifo %s", self.path)
        except FileExistsError:
            pass
        except OSError as exc:
            log.info("Unable to create notify fifo %s: %s", self.path, exc)
            return False
        self.start_script()
        try:
            self._fd = os.open(self.path,
                               os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as exc:
            log.info("Unable to open notify fifo %s - errno %d", self.path, exc.errno or 0)
            if self._created:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                self._created = False
            return False
        return True

    def start_script(self) -> None:
        s = self.cfg.script
        if s is None or not s.argv:
            return
        run_as, _ = resolve_run_as(s.user, s.group, self._gd)
        self._runner.fire([*s.argv, self.path], run_as, None, name=f"fifo script {s.path}")

    def write(self, line: str) -> None:
        if self._fd is None:
            return
        data = line.encode()
        try:
            n = os.write(self._fd, data)
            if n != len(data):  # only possible for > PIPE_BUF lines; ours are short
                self.dropped += 1
            else:
                self.written += 1
        except OSError as exc:
            self.dropped += 1
            if exc.errno != errno.EAGAIN or self.dropped == 1:
                log.warning("notify FIFO %s: write failed (%s) - line dropped", self.path, exc)

    def close(self, *, remove: bool = True) -> None:
        # Unlink first, so a reader that loops reopening the path cannot reopen this FIFO.
        if remove and self._created:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self._created = False
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class FifoSet:
    """The FIFOs of one process: ``vrrp=True`` for the VRRP child, False for the checker."""

    def __init__(self, gd: GlobalDefs, runner: ProcessRunner | None = None, *,
                 vrrp: bool = True, lvs: bool = True) -> None:
        # The readers get their own runner: SIGTERM on reload must not hit notify scripts.
        self._runner = runner = runner or ProcessRunner()
        self.common: FifoWriter | None = None
        self.vrrp: FifoWriter | None = None
        self.lvs: FifoWriter | None = None
        if gd.notify_fifo is not None:
            self.common = FifoWriter(gd.notify_fifo, gd, runner)
        if vrrp and gd.vrrp_notify_fifo is not None:
            self.vrrp = FifoWriter(gd.vrrp_notify_fifo, gd, runner)
        if lvs and gd.lvs_notify_fifo is not None:
            self.lvs = FifoWriter(gd.lvs_notify_fifo, gd, runner)
        # The same path configured twice is one FIFO, written once per line.
        if self.vrrp and self.common and self.vrrp.path == self.common.path:
            self.vrrp = None
        if self.lvs and self.common and self.lvs.path == self.common.path:
            self.lvs = None

    def writers(self) -> list[FifoWriter]:
        return [w for w in (self.common, self.vrrp, self.lvs) if w is not None]

    def open(self) -> None:
        for w in self.writers():
            w.open()

    def write_vrrp(self, line: str) -> None:
        for w in (self.common, self.vrrp):
            if w is not None:
                w.write(line)

    def write_lvs(self, line: str) -> None:
        for w in (self.common, self.lvs):
            if w is not None:
                w.write(line)

    def signal_scripts(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM the ``*_fifo_script`` readers (reload/stop)."""
        self._runner.terminate_all(sig)

    async def close(self, grace: float = 1.0) -> None:
        """SIGTERM the readers, then close (and remove the FIFOs we created)."""
        await self._runner.close(grace)
        for w in self.writers():
            w.close()
