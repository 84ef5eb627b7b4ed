"""systemd readiness, reload, status and watchdog notifications (``sd_notify``), relayed.

Under a ``Type=notify`` unit systemd hands the main process ``NOTIFY_SOCKET`` and waits for
``READY=1`` before ``systemctl start`` returns. keepalived's parent sends ``READY=1\\nMAINPID=``
once every child has read its configuration, ``RELOADING=1`` around a reload, ``STOPPING=1`` on
a stop and ``ERRNO=`` when a child exits fatally; its children never talk to systemd. The same
split here:

* The parent (:class:`SystemdNotifier`) takes ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and
  ``WATCHDOG_PID`` out of the environment at start-up, so neither the children nor any script
  they run inherits them, and is the only process that writes to the socket.
* Each child gets the write end of a pipe (``--status-fd``) and reports on it, one line per
  event (:class:`ChildLink`): ``READY`` (start-up done: the VIPs of the instances that start
  as MASTER are on their interfaces), ``RELOADED``, ``STATUS key=value...`` and ``ALIVE``.
  ``ALIVE`` is written by a timer of the child's own event loop, so a child whose loop is
  stuck (or that is stopped) stops beating; the parent pings ``WATCHDOG=1`` only when every
  running child has beaten since the last ping (:class:`Relay`), and systemd restarts the
  service once ``WatchdogSec=`` passes without one.

Without ``NOTIFY_SOCKET`` none of this exists (no pipes, no timers). A socket that cannot be
reached costs one log line; the daemon runs on.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("pykeepalived")

ENV_SOCKET = "NOTIFY_SOCKET"
ENV_WATCHDOG_USEC = "WATCHDOG_USEC"
ENV_WATCHDOG_PID = "WATCHDOG_PID"

# Lines a child writes on its status pipe.
READY = "READY"
RELOADED = "RELOADED"
ALIVE = "ALIVE"
STATUS = "STATUS"

# keepalived's systemd_notify_error(): EPERM for a missing permission, EINVAL otherwise.
ERRNO_FATAL = errno.EINVAL


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds (``RELOADING=1`` carries it, as systemd asks)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def socket_address(value: str) -> str | bytes:
    """``NOTIFY_SOCKET`` as an AF_UNIX address: ``@name`` is in the abstract namespace."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_usec(env: Mapping[str, str], pid: int) -> int | None:
    """The watchdog interval meant for ``pid``, per sd_watchdog_enabled(3): ``WATCHDOG_USEC``
    (positive) and, when ``WATCHDOG_PID`` is set, only if it names ``pid``."""
    try:
        usec = int(env.get(ENV_WATCHDOG_USEC, ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get(ENV_WATCHDOG_PID)
    if owner:
        try:
            if int(owner) != pid:
                return None
        except ValueError:
            return None
    return usec


class SystemdNotifier:
    """The parent's end of ``NOTIFY_SOCKET``: one datagram per message, as sd_notify(3).

    The socket is created at start-up, before ``-s``/``net_namespace`` moves the parent into
    another network namespace (an abstract socket name is looked up in the namespace of the
    socket). The first failure is logged once and turns every later message into a no-op.
    """

    def __init__(self, address: str, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self.broken = False
        self._sock: socket.socket | None = socket.socket(
            socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environ(cls, env: MutableMapping[str, str] | None = None,
                     pid: int | None = None) -> SystemdNotifier | None:
        """Take systemd's variables out of ``env`` (default ``os.environ``); None without
        ``NOTIFY_SOCKET``. The variables are removed in every case: nothing started from
        here may talk to systemd in the service's name."""
        env = os.environ if env is None else env
        address = env.pop(ENV_SOCKET, None)
        usec = watchdog_usec(env, os.getpid() if pid is None else pid)
        env.pop(ENV_WATCHDOG_USEC, None)
        env.pop(ENV_WATCHDOG_PID, None)
        if not address:
            return None
        return cls(address, usec)

    def send(self, message: str) -> bool:
        if self.broken or self._sock is None:
            return False
        try:
            self._sock.sendto(message.encode(), socket_address(self.address))
        except OSError as e:
            self.broken = True
            log.warning("Unable to send systemd notification to NOTIFY_SOCKET=%s (%s): "
                        "running without service notifications", self.address,
                        e.strerror or e)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        msg = f"READY=1\nMAINPID={os.getpid()}"
        return self.send(msg + (f"\nSTATUS={status}" if status else ""))

    def reloading(self) -> bool:
        return self.send(f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec()}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def error(self, code: int = ERRNO_FATAL) -> bool:
        return self.send(f"ERRNO={code}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# ------------------------------------------------------------------------------ children


def parse_status(line: str) -> dict[str, int]:
    """``STATUS instances=3 MASTER=1`` → ``{"instances": 3, "MASTER": 1}`` (bad pairs dropped)."""
    out: dict[str, int] = {}
    for item in line.split()[1:]:
        k, sep, v = item.partition("=")
        if sep and k:
            with contextlib.suppress(ValueError):
                out[k] = int(v)
    return out


VRRP_STATES = ("MASTER", "BACKUP", "FAULT", "INIT")


def status_text(vrrp: Mapping[str, int] | None, checker: Mapping[str, int] | None) -> str:
    """The ``STATUS=`` line: ``3 instances: 1 MASTER, 2 BACKUP; 12/14 real servers up``."""
    parts: list[str] = []
    if vrrp is not None:
        n = vrrp.get("instances", 0)
        states = [f"{vrrp[s]} {s}" for s in VRRP_STATES if vrrp.get(s)]
        word = "instance" if n == 1 else "instances"
        parts.append(f"{n} {word}" + (": " + ", ".join(states) if states else ""))
    if checker is not None:
        parts.append(f"{checker.get('rs_up', 0)}/{checker.get('rs_total', 0)} real servers up")
    return "; ".join(parts)


@dataclass
class ChildEnd:
    """What the parent knows of one child's status pipe."""

    kind: str
    fd: int
    buf: bytes = b""
    ready: bool = False
    beat: bool = False  # ALIVE seen since the last WATCHDOG=1
    ever_beat: bool = False
    status: dict[str, int] | None = None


@dataclass
class Relay:
    """The parent's bookkeeping: children's lines in, systemd messages out.

    ``phase`` is ``starting`` until every child started so far reported READY, ``reloading``
    from a HUP until every running child reported RELOADED, ``running`` otherwise. Pure but
    for the notifier it calls; the supervisor feeds it bytes and child births and deaths.
    """

    notifier: SystemdNotifier
    on_log: Callable[[str], None] = field(default=lambda _m: None)
    ends: dict[str, ChildEnd] = field(default_factory=dict)
    phase: str = "starting"
    reload_deadline: float | None = None
    last_status: str = ""

    @property
    def watchdog_interval(self) -> float | None:
        u = self.notifier.watchdog_usec
        return None if u is None else u / 1e6

    def heartbeat_interval(self) -> float | None:
        """How often children beat: a quarter of the watchdog timeout, so the parent can
        ping at least twice per timeout even when one beat is late."""
        w = self.watchdog_interval
        return None if w is None else max(w / 4.0, 0.05)

    def attach(self, kind: str, fd: int) -> None:
        old = self.ends.get(kind)
        self.ends[kind] = ChildEnd(kind, fd, status=old.status if old else None,
                                   ready=False)

    def detach(self, kind: str) -> int | None:
        """The child ``kind`` died: forget its pipe (returned, for the caller to close)."""
        end = self.ends.pop(kind, None)
        if end is None:
            return None
        if self.phase == "reloading":
            self._settle()  # a dead child cannot confirm; its successor reads the new file
        return end.fd

    def fds(self) -> list[int]:
        return [e.fd for e in self.ends.values()]

    def feed(self, fd: int, data: bytes) -> None:
        end = next((e for e in self.ends.values() if e.fd == fd), None)
        if end is None:
            return
        end.buf += data
        *lines, end.buf = end.buf.split(b"\n")
        for raw in lines:
            self._line(end, raw.decode(errors="replace").strip())
        self._settle()

    def _line(self, end: ChildEnd, line: str) -> None:
        if line == ALIVE:
            end.beat = end.ever_beat = True
            self._maybe_ping()
        elif line in (READY, RELOADED):
            end.ready = True
        elif line.startswith(STATUS + " "):
            end.status = parse_status(line)
            if self.phase == "running":
                self._send_status()

    def _maybe_ping(self) -> None:
        live = list(self.ends.values())
        if live and all(e.beat for e in live if e.ever_beat):
            self.notifier.watchdog()
            for e in live:
                e.beat = False

    def status(self) -> str:
        vrrp = self.ends.get("vrrp")
        chk = self.ends.get("checker")
        return status_text(vrrp.status if vrrp else None, chk.status if chk else None)

    def _send_status(self) -> None:
        text = self.status()
        if text and text != self.last_status:
            self.last_status = text
            self.notifier.status(text)

    def _settle(self) -> None:
        if self.phase not in ("starting", "reloading") or not all(
                e.ready for e in self.ends.values()):
            return
        self.on_log("Startup complete" if self.phase == "starting" else "Reload complete")
        self.phase = "running"
        self.reload_deadline = None
        self.last_status = self.status()
        self.notifier.ready(self.last_status or None)

    def reload(self, now: float, timeout: float = 60.0) -> None:
        """A HUP is being forwarded: RELOADING=1 until every child reports RELOADED."""
        if self.phase == "reloading":
            return
        if self.phase == "running":
            self.notifier.reloading()
        self.phase = "reloading" if self.phase == "running" else self.phase
        for e in self.ends.values():
            e.ready = False
        self.reload_deadline = now + timeout

    def tick(self, now: float) -> None:
        """A child that never answers a reload (stuck, or killed and respawned) must not
        leave systemd in ``reloading`` for good: give up after the deadline."""
        if self.reload_deadline is not None and now >= self.reload_deadline:
            self.on_log("Reload not confirmed by every child in time")
            for e in self.ends.values():
                e.ready = True
            self._settle()

    def stopping(self) -> None:
        self.phase = "stopping"
        self.notifier.stopping()

    def failed(self, code: int = ERRNO_FATAL) -> None:
        self.notifier.error(code)


class ChildLink:
    """A child's end of its status pipe. Writes never block: a full pipe (a parent that is
    not reading) drops the line, and a closed one (the parent is gone) is ignored."""

    def __init__(self, fd: int, heartbeat: float | None) -> None:
        self.fd = fd
        self.heartbeat = heartbeat
        os.set_blocking(fd, False)
        self._timer: object = None

    def send(self, line: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, (line + "\n").encode())

    def ready(self) -> None:
        self.send(READY)

    def reloaded(self) -> None:
        self.send(RELOADED)

    def status(self, values: Mapping[str, int]) -> None:
        self.send(" ".join([STATUS, *(f"{k}={v}" for k, v in values.items())]))

    def start_heartbeat(self, loop: object) -> None:
        """Beat from ``loop`` every ``heartbeat`` seconds for as long as the loop runs."""
        if self.heartbeat is None:
            return
        import asyncio

        assert isinstance(loop, asyncio.AbstractEventLoop)
        interval = self.heartbeat

        def beat() -> None:
            self.send(ALIVE)
            self._timer = loop.call_later(interval, beat)

        beat()


_link: ChildLink | None = None


def child_link(fd: int | None = None, heartbeat: float | None = None) -> ChildLink | None:
    """This child's link to the parent (set up once from ``--status-fd``), or None."""
    global _link
    if _link is None and fd is not None:
        _link = ChildLink(fd, heartbeat)
    return _link


def vrrp_counts(states: Iterable[str]) -> dict[str, int]:
    """``instances``/per-state counts for a VRRP child's STATUS line."""
    counts: dict[str, int] = {"instances": 0}
    for s in states:
        counts["instances"] += 1
        counts[s] = counts.get(s, 0) + 1
    return counts


# ------------------------------------------------------------------ hooks the children call
# One call each from the VRRP and checker processes; each does nothing without a status pipe.


_tasks: set[Any] = set()


def vrrp_started(loop: Any, instances: Callable[[], Iterable[Any]]) -> None:
    """The VRRP child's start-up is over: beat from its loop, READY when its MASTERs are."""
    link = child_link()
    if link is None:
        return
    link.start_heartbeat(loop)
    task = loop.create_task(report_vrrp_ready(instances))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def checker_started(loop: Any, pool: Any) -> None:
    """The checker child's start-up is over: beat from its loop, READY now."""
    link = child_link()
    if link is None:
        return
    link.start_heartbeat(loop)
    report_checker_status(pool)
    link.ready()


def observe_started(loop: Any) -> None:
    """The metrics child listens (or keeps retrying a busy port): beat from its loop, READY."""
    link = child_link()
    if link is None:
        return
    link.start_heartbeat(loop)
    link.ready()


def report_checker_status(pool: Any) -> None:
    """``rs_up``/``rs_total`` for the STATUS line, from the pool's read-only snapshot."""
    if child_link() is None:
        return
    rss = [r for vs in pool.snapshot() for r in vs.real_servers]
    report_status({"rs_up": sum(1 for r in rss if r.alive), "rs_total": len(rss)})


def report_reloaded() -> None:
    link = child_link()
    if link is not None:
        link.reloaded()


def report_status(values: Mapping[str, int]) -> None:
    link = child_link()
    if link is not None:
        link.status(values)


def report_vrrp_status(instances: Iterable[Any]) -> None:
    """The VRRP child's STATUS line from its instances' router states."""
    if child_link() is not None:
        report_status(vrrp_counts(i.router.state.value for i in instances))


def _settled(inst: Any, waited: float) -> bool:
    """Whether an instance configured ``state MASTER`` is done starting: MASTER with its
    address work finished, FAULT, or BACKUP having heard a master (one with a higher
    priority answered). The cap (three Master_Down_Intervals and 5 s) only matters when no
    timer fires at all; a loop late to fire its timer is waited for, not overtaken."""
    state = inst.router.state.value
    if state == "MASTER":
        return not inst.ops and (inst.worker is None or inst.worker.done())
    if state == "FAULT" or (state == "BACKUP" and inst.router.master_ip is not None):
        return True
    return bool(waited > 3 * inst.router.master_down + 5.0)


async def report_vrrp_ready(instances: Callable[[], Iterable[Any]], poll: float = 0.02) -> None:
    """READY once start-up is complete: every instance that starts MASTER (priority 255) or
    was configured ``state MASTER`` has its VIPs on the interface, or has heard a master with a
    higher priority, or is in FAULT. So
    ``systemctl start`` returns with the VIPs in place, as the seeds' ``ip addr`` expects."""
    link = child_link()
    if link is None:
        return
    import asyncio

    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        waited = loop.time() - began
        pending = [i for i in instances()
                   if (i.cfg.state.value == "MASTER" or i.router.state.value == "MASTER")
                   and not _settled(i, waited)]
        if not pending:
            break
        await asyncio.sleep(poll)
    report_vrrp_status(instances())
    link.ready()


def report_ready(values: Mapping[str, int] | None = None) -> None:
    link = child_link()
    if link is not None:
        if values is not None:
            link.status(values)
        link.ready()
