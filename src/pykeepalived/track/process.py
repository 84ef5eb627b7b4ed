"""vrrp_track_process: count matching processes, report up/down (event-driven where possible).

Facts followed (keepalived.conf(5), vrrp_track_process):

* ``process NAME [ARGS...]``: NAME is compared with the kernel's process name
  (``/proc/PID/comm``, at most 15 characters, so NAME is truncated to 15 too), unless
  ``full_command`` is set, ARGS are given or ``param_match`` is used: then NAME must equal
  ``argv[0]`` of ``/proc/PID/cmdline`` and the rest of argv must match ARGS: exactly (the
  default), with ``param_match partial`` the first ARGS exactly (the process may have more),
  with ``param_match initial`` likewise but the last ARG may be a prefix of the process's.
* The tracker is up while ``quorum <= count <= quorum_max``. A change towards up is delayed by
  ``fork_delay``, towards down by ``terminate_delay`` (``delay`` sets both); a change that
  reverts inside its delay is never reported.
* A forked child of a matching process matches too (same comm and cmdline until it execs).

Sources of events: the kernel proc connector (``NETLINK_CONNECTOR``, ``CN_IDX_PROC``) in the
initial network namespace, where it exists; elsewhere (the connector is not available inside a
network namespace) a cheap scan of ``/proc`` every ``poll_interval`` seconds.
``ProcessQuorum`` is the sans-IO part (count + delays with an explicit ``now``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Callable, Iterable, Sequence

from pykeepalived.config.model import TrackProcess
from pykeepalived.net.rcvbuf import RcvBuf, apply_rcvbuf
from pykeepalived.track.events import TrackerChanged, TrackerKind

log = logging.getLogger("pykeepalived.track")

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
NLMSG_DONE = 3
PROC_EVENT_FORK = 0x00000001
PROC_EVENT_EXEC = 0x00000002
PROC_EVENT_COMM = 0x00000200
PROC_EVENT_EXIT = 0x80000000

_NLMSGHDR = struct.Struct("=IHHII")
_CNMSG = struct.Struct("=IIIIHH")
_EVHDR = struct.Struct("=IIQ")
COMM_LEN = 15


def _read(path: str, size: int = 4096) -> bytes | None:
    """One small /proc file with raw syscalls (several times cheaper than ``open()``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_comm(pid: int) -> str | None:
    """The process name, or None when the process is gone or already a zombie (it has exited,
    its parent just has not reaped it: keepalived counts it gone at exit too)."""
    data = _read(f"/proc/{pid}/stat", 512)
    if data is None:
        return None
    close = data.rfind(b")")
    if close < 0 or data[close + 2 : close + 3] in (b"Z", b"X"):
        return None
    return data[data.find(b"(") + 1 : close].decode(errors="replace")


def read_cmdline(pid: int) -> list[str] | None:
    raw = _read(f"/proc/{pid}/cmdline", 65536)
    if raw is None:
        return None
    if not raw:
        return []
    return [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")]


class ProcessMatcher:
    """Does a process (comm + argv) match one vrrp_track_process definition? Pure."""

    def __init__(self, tp: TrackProcess) -> None:
        self.tp = tp
        self.params = list(tp.params)
        # Parameters, or any param_match, imply a match on the full command line.
        self.full = tp.full_command or bool(tp.params) or tp.param_match != "exact"
        self.name = tp.process if self.full else tp.process[:COMM_LEN]
        self.needs_cmdline = self.full

    def matches(self, comm: str | None, cmdline: Sequence[str] | None) -> bool:
        if not self.full:
            return comm is not None and comm[:COMM_LEN] == self.name
        if not cmdline or cmdline[0] != self.name:
            return False
        p = self.params
        if not p:
            return True
        args = list(cmdline[1:])
        n = len(p)
        mode = self.tp.param_match
        if mode == "partial":  # the first n parameters exactly, more allowed
            return args[:n] == p
        if mode == "initial":  # likewise, but the last one may be longer than configured
            return (len(args) >= n and args[: n - 1] == p[: n - 1]
                    and args[n - 1].startswith(p[-1]))
        return args == p

    def matches_pid(self, pid: int) -> bool:
        comm = read_comm(pid)
        if comm is None:
            return False
        cmd = read_cmdline(pid) if self.needs_cmdline else None
        return self.matches(comm, cmd)


class ProcessQuorum:
    """Sans-IO: the matching pid set, the quorum test and the fork/terminate delays."""

    def __init__(self, tp: TrackProcess) -> None:
        self.name = tp.name
        self.quorum = tp.quorum
        self.quorum_max = tp.quorum_max
        self.fork_delay = tp.fork_delay
        self.terminate_delay = tp.terminate_delay
        self.pids: set[int] = set()
        self.reported: bool | None = None  # None until the initial report
        self._pending: tuple[bool, float] | None = None  # (state, due)

    def _within(self) -> bool:
        n = len(self.pids)
        return n >= self.quorum and (self.quorum_max is None or n <= self.quorum_max)

    def _event(self) -> TrackerChanged:
        assert self.reported is not None
        return TrackerChanged(TrackerKind.PROCESS, self.name, self.reported, len(self.pids))

    def initial(self) -> TrackerChanged:
        """Report the state found at start-up at once (no delay)."""
        self.reported = self._within()
        self._pending = None
        return self._event()

    def changed(self, now: float) -> TrackerChanged | None:
        """Call after ``pids`` changed; returns an event to emit now, or arms a delay."""
        want = self._within()
        if self.reported is None:
            return self.initial()
        if want == self.reported:
            self._pending = None
            return None
        delay = self.fork_delay if want else self.terminate_delay
        if delay <= 0:
            self.reported = want
            self._pending = None
            return self._event()
        if self._pending is None or self._pending[0] != want:
            self._pending = (want, now + delay)
        return None

    def next_timer(self) -> float | None:
        return self._pending[1] if self._pending else None

    def handle_timer(self, now: float) -> TrackerChanged | None:
        if self._pending is None or now + 1e-3 < self._pending[1]:
            return None
        want, _ = self._pending
        self._pending = None
        if want != self._within() or want == self.reported:
            return None
        self.reported = want
        return self._event()


def open_proc_connector() -> socket.socket | None:
    """Subscribe to the kernel's process events; None where unavailable (netns, no root)."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                             NETLINK_CONNECTOR)
    except OSError:
        return None
    try:
        sock.bind((0, CN_IDX_PROC))
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        payload = struct.pack("=I", PROC_CN_MCAST_LISTEN)
        cn = _CNMSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(payload), 0) + payload
        nl = _NLMSGHDR.pack(_NLMSGHDR.size + len(cn), NLMSG_DONE, 0, 0, os.getpid()) + cn
        sock.send(nl)
        sock.setblocking(False)
    except OSError:
        sock.close()
        return None
    return sock


def parse_proc_events(buf: bytes) -> list[tuple[int, tuple[int, ...]]]:
    """(what, fields) for every proc_event in a netlink datagram.

    fields: FORK (parent_pid, parent_tgid, child_pid, child_tgid); EXEC/COMM (pid, tgid);
    EXIT (pid, tgid, exit_code, exit_signal).
    """
    out: list[tuple[int, tuple[int, ...]]] = []
    off = 0
    while off + _NLMSGHDR.size <= len(buf):
        length = _NLMSGHDR.unpack_from(buf, off)[0]
        if length < _NLMSGHDR.size:
            break
        body = off + _NLMSGHDR.size
        if body + _CNMSG.size + _EVHDR.size <= off + length:
            idx, _val, _seq, _ack, dlen, _flags = _CNMSG.unpack_from(buf, body)
            ev = body + _CNMSG.size
            if idx == CN_IDX_PROC and dlen >= _EVHDR.size:
                what = _EVHDR.unpack_from(buf, ev)[0]
                data = ev + _EVHDR.size
                if what == PROC_EVENT_FORK:
                    out.append((what, struct.unpack_from("=IIII", buf, data)))
                elif what in (PROC_EVENT_EXEC, PROC_EVENT_COMM):
                    out.append((what, struct.unpack_from("=II", buf, data)))
                elif what == PROC_EVENT_EXIT:
                    out.append((what, struct.unpack_from("=IIII", buf, data)))
        off += (length + 3) & ~3
    return out


class ProcessMonitor:
    """Tracks every vrrp_track_process; calls ``on_change`` on reported up/down changes.

    ``start()`` returns one initial event per tracker. ``event_driven`` tells whether the proc
    connector is in use (else /proc is scanned every ``poll_interval``).
    """

    #: In /proc scan mode, every this many polls the scan re-reads every process.
    FULL_SCAN_EVERY = 10

    def __init__(self, processes: Sequence[TrackProcess],
                 on_change: Callable[[TrackerChanged], None], *,
                 poll_interval: float = 0.5, use_connector: bool = True,
                 rcvbuf: RcvBuf | None = None) -> None:
        self._on_change = on_change
        self.rcvbuf = rcvbuf  # process_monitor_rcv_bufs
        self._poll_interval = poll_interval
        self._use_connector = use_connector
        self.trackers = [(ProcessMatcher(tp), ProcessQuorum(tp)) for tp in processes]
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.event_driven = False
        self._known: set[int] = set()

    def start(self) -> list[TrackerChanged]:
        self._loop = asyncio.get_running_loop()
        if self._use_connector and self.trackers:
            self._sock = open_proc_connector()
            if self._sock is not None:
                apply_rcvbuf(self._sock, self.rcvbuf, "process monitor")
        self.event_driven = self._sock is not None
        # Subscribe first, then scan: nothing that starts in between is missed.
        self._scan()
        initial = [q.initial() for _m, q in self.trackers]
        if self._sock is not None:
            self._loop.add_reader(self._sock.fileno(), self._readable)
        elif self.trackers:
            log.info("Process connector unavailable - scanning /proc every %.3gs",
                     self._poll_interval)
            self._poller = self._loop.create_task(self._poll())
        return initial

    async def stop(self) -> None:
        if self._sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def counts(self) -> dict[str, int]:
        return {q.name: len(q.pids) for _m, q in self.trackers}

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _list_pids() -> set[int] | None:
        try:
            return {int(p) for p in os.listdir("/proc") if p.isdigit()}
        except OSError:
            return None

    def _classify(self, pids: Iterable[int], found: list[set[int]]) -> None:
        """Add every pid of ``pids`` that matches tracker i to ``found[i]``."""
        need_cmd = any(m.needs_cmdline for m, _q in self.trackers)
        for pid in pids:
            comm = read_comm(pid)
            if comm is None:
                continue
            cmd = read_cmdline(pid) if need_cmd else None
            for i, (m, _q) in enumerate(self.trackers):
                if m.matches(comm, cmd):
                    found[i].add(pid)

    def _scan(self) -> None:
        """Full scan: every process's name (and command line when needed) is read."""
        pids = self._list_pids()
        if pids is None:
            return
        found: list[set[int]] = [set() for _ in self.trackers]
        self._classify(pids, found)
        for (_m, q), pids_now in zip(self.trackers, found, strict=True):
            q.pids = pids_now
        self._known = pids

    async def _scan_chunked(self, chunk: int = 64) -> None:
        """The full scan, yielding to the loop every ``chunk`` processes (a few ms in all)."""
        pids = self._list_pids()
        if pids is None:
            return
        found: list[set[int]] = [set() for _ in self.trackers]
        order = sorted(pids)
        for i in range(0, len(order), chunk):
            self._classify(order[i : i + chunk], found)
            await asyncio.sleep(0)
        for (_m, q), pids_now in zip(self.trackers, found, strict=True):
            q.pids = pids_now
        self._known = pids

    def _scan_incremental(self) -> None:
        """Cheap scan: only processes that appeared since the last scan are read, and the
        matching ones are checked for having exited (or become zombies)."""
        pids = self._list_pids()
        if pids is None:
            return
        found: list[set[int]] = [set() for _ in self.trackers]
        self._classify(pids - self._known, found)
        for (_m, q), new in zip(self.trackers, found, strict=True):
            still = {p for p in q.pids if p in pids and read_comm(p) is not None}
            q.pids = still | new
        self._known = pids

    async def _poll(self) -> None:
        """Without the connector. A process that execs another program under the same pid
        (``exec nginx`` at the end of a wrapper) is seen by the full rescan every
        ``FULL_SCAN_EVERY`` polls; fork+exec, the common case, at the next poll."""
        assert self._loop is not None
        n = 0
        while True:
            await asyncio.sleep(self._poll_interval)
            n += 1
            if n % self.FULL_SCAN_EVERY == 0:
                await self._scan_chunked()
            else:
                self._scan_incremental()
            self._after_change(set(range(len(self.trackers))))

    def _readable(self) -> None:
        assert self._sock is not None
        touched: set[int] = set()
        while True:
            try:
                buf = self._sock.recv(65536)
            except BlockingIOError:
                break
            except OSError as exc:  # ENOBUFS: events lost, rescan to resynchronise
                log.warning("process connector: %s - rescanning /proc", exc)
                self._scan()
                touched = set(range(len(self.trackers)))
                continue
            for what, f in parse_proc_events(buf):
                if what == PROC_EVENT_FORK:
                    _ppid, ptgid, cpid, ctgid = f
                    if cpid != ctgid:
                        continue  # a new thread, not a process
                    for i, (_m, q) in enumerate(self.trackers):
                        if ptgid in q.pids:
                            q.pids.add(ctgid)
                            touched.add(i)
                elif what in (PROC_EVENT_EXEC, PROC_EVENT_COMM):
                    pid, tgid = f
                    if pid != tgid:
                        continue
                    comm = read_comm(tgid)
                    cmd: list[str] | None = None
                    for i, (m, q) in enumerate(self.trackers):
                        if m.needs_cmdline and cmd is None:
                            cmd = read_cmdline(tgid)
                        hit = comm is not None and m.matches(comm, cmd)
                        if hit and tgid not in q.pids:
                            q.pids.add(tgid)
                            touched.add(i)
                        elif not hit and tgid in q.pids:
                            q.pids.discard(tgid)
                            touched.add(i)
                elif what == PROC_EVENT_EXIT:
                    pid, tgid = f[0], f[1]
                    if pid != tgid:
                        continue
                    for i, (_m, q) in enumerate(self.trackers):
                        if tgid in q.pids:
                            q.pids.discard(tgid)
                            touched.add(i)
        self._after_change(touched)

    def _after_change(self, touched: set[int]) -> None:
        assert self._loop is not None
        now = self._loop.time()
        for i in sorted(touched):
            ev = self.trackers[i][1].changed(now)
            if ev is not None:
                self._emit(ev)
        self._arm_timer()

    def _arm_timer(self) -> None:
        assert self._loop is not None
        due = [t for _m, q in self.trackers if (t := q.next_timer()) is not None]
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if due:
            self._timer = self._loop.call_at(min(due), self._fire_timer)

    def _fire_timer(self) -> None:
        assert self._loop is not None
        self._timer = None
        now = self._loop.time()
        for _m, q in self.trackers:
            ev = q.handle_timer(now)
            if ev is not None:
                self._emit(ev)
        self._arm_timer()

    def _emit(self, ev: TrackerChanged) -> None:
        log.info("Process tracker %s is now %s (%d processes)", ev.name,
                 "up" if ev.up else "down", ev.value)
        try:
            self._on_change(ev)
        except Exception:
            log.exception("tracker callback failed for %s", ev.name)
