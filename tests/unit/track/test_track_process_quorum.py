"""vrrp_track_process matching and quorum/delay logic on a virtual clock."""

from __future__ import annotations

import struct

from pykeepalived.config.model import TrackProcess
from pykeepalived.track.process import (
    PROC_EVENT_EXEC,
    PROC_EVENT_EXIT,
    PROC_EVENT_FORK,
    ProcessMatcher,
    ProcessQuorum,
    parse_proc_events,
)


def test_comm_match_truncates_to_15() -> None:
    m = ProcessMatcher(TrackProcess("p", "a-very-long-process-name"))
    assert m.matches("a-very-long-pro", None)
    assert not m.matches("a-very-long-prx", None)
    assert not m.needs_cmdline


def test_full_command_and_params() -> None:
    m = ProcessMatcher(TrackProcess("p", "/usr/sbin/nginx", params=("-g", "daemon off;"),
                                    full_command=True))
    assert m.matches("nginx", ["/usr/sbin/nginx", "-g", "daemon off;"])
    assert not m.matches("nginx", ["nginx", "-g", "daemon off;"])
    assert not m.matches("nginx", ["/usr/sbin/nginx", "-g", "daemon off;", "x"])
    full = ProcessMatcher(TrackProcess("p", "/usr/sbin/nginx", full_command=True))
    assert full.matches("nginx", ["/usr/sbin/nginx", "-x"])  # no params: any arguments


def test_params_imply_full_command() -> None:
    """keepalived: giving parameters (or param_match) switches to the command line."""
    m = ProcessMatcher(TrackProcess("p", "nginx", params=("-g",)))
    assert m.needs_cmdline
    assert m.matches("whatever", ["nginx", "-g"])
    assert not m.matches("nginx", ["/usr/sbin/nginx", "-g"])


def test_param_match_partial_and_initial() -> None:
    part = ProcessMatcher(TrackProcess("p", "nginx", params=("-g", "daemon"),
                                       param_match="partial"))
    assert part.matches("nginx", ["nginx", "-g", "daemon", "more"])  # first n exactly
    assert not part.matches("nginx", ["nginx", "-g", "daemon off;"])
    assert not part.matches("nginx", ["nginx", "-g"])
    init = ProcessMatcher(TrackProcess("p", "nginx", params=("-g", "daem"),
                                       param_match="initial"))
    assert init.matches("nginx", ["nginx", "-g", "daemon off;"])  # last one may be longer
    assert init.matches("nginx", ["nginx", "-g", "daem", "x"])
    assert not init.matches("nginx", ["nginx", "-g", "xdaemon"])
    assert not init.matches("nginx", ["nginx", "-c", "daemon"])


def test_quorum_bounds() -> None:
    q = ProcessQuorum(TrackProcess("p", "x", quorum=2, quorum_max=3))
    assert q.initial().up is False
    q.pids = {1, 2}
    ev = q.changed(0.0)
    assert ev is not None and ev.up and ev.value == 2
    q.pids = {1, 2, 3, 4}
    ev = q.changed(1.0)
    assert ev is not None and not ev.up and ev.value == 4


def test_fork_and_terminate_delays_on_virtual_clock() -> None:
    q = ProcessQuorum(TrackProcess("p", "x", fork_delay=2.0, terminate_delay=5.0))
    assert q.initial().up is False
    q.pids = {10}
    assert q.changed(100.0) is None  # up, but only after fork_delay
    assert q.next_timer() == 102.0
    assert q.handle_timer(101.0) is None
    ev = q.handle_timer(102.0)
    assert ev is not None and ev.up
    q.pids = set()
    assert q.changed(200.0) is None and q.next_timer() == 205.0
    q.pids = {11}  # came back inside terminate_delay: never reported down
    assert q.changed(203.0) is None and q.next_timer() is None
    assert q.handle_timer(206.0) is None
    q.pids = set()
    assert q.changed(300.0) is None
    ev = q.handle_timer(305.0)
    assert ev is not None and not ev.up and ev.value == 0


def _event(what: int, data: bytes) -> bytes:
    ev = struct.pack("=IIQ", what, 0, 123) + data
    cn = struct.pack("=IIIIHH", 1, 1, 0, 0, len(ev), 0) + ev
    return struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, 0) + cn


def test_parse_proc_events() -> None:
    buf = (_event(PROC_EVENT_FORK, struct.pack("=IIII", 1, 1, 50, 50))
           + _event(PROC_EVENT_EXEC, struct.pack("=II", 50, 50))
           + _event(PROC_EVENT_EXIT, struct.pack("=IIIIII", 50, 50, 0, 17, 1, 1)))
    assert parse_proc_events(buf) == [
        (PROC_EVENT_FORK, (1, 1, 50, 50)), (PROC_EVENT_EXEC, (50, 50)),
        (PROC_EVENT_EXIT, (50, 50, 0, 17))]
