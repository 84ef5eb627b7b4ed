"""The sd_notify relay's bookkeeping against a real datagram socket: the messages systemd
gets for children's READY/RELOADED/STATUS/ALIVE lines, and the environment handling."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pykeepalived.daemon.sdnotify import (
    Relay,
    SystemdNotifier,
    parse_status,
    socket_address,
    status_text,
    watchdog_usec,
)


def notifier(tmp: Path, usec: int | None = None) -> tuple[SystemdNotifier, socket.socket]:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(tmp / "n.sock"))
    srv.setblocking(False)
    return SystemdNotifier(str(tmp / "n.sock"), usec), srv


def drain(srv: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(srv.recv(4096).decode())
        except BlockingIOError:
            return out


def test_environment_is_taken_away() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "42", "A": "b"}
    sd = SystemdNotifier.from_environ(env, pid=42)
    assert sd is not None and sd.watchdog_usec == 3_000_000
    assert env == {"A": "b"}
    env = {"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "41"}
    assert SystemdNotifier.from_environ(env, pid=42) is None and env == {}
    assert watchdog_usec({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "41"}, 42) is None
    assert watchdog_usec({"WATCHDOG_USEC": "0"}, 42) is None
    assert socket_address("@sd") == b"\0sd" and socket_address("/run/n") == "/run/n"


def test_status_line() -> None:
    v = parse_status("STATUS instances=3 MASTER=1 BACKUP=2 junk x=y")
    assert v == {"instances": 3, "MASTER": 1, "BACKUP": 2}
    assert status_text(v, {"rs_up": 12, "rs_total": 14}) == (
        "3 instances: 1 MASTER, 2 BACKUP; 12/14 real servers up")
    assert status_text({"instances": 1, "FAULT": 1}, None) == "1 instance: 1 FAULT"


def test_startup_reload_and_watchdog(tmp_path: Path) -> None:
    sd, srv = notifier(tmp_path, usec=2_000_000)
    logs: list[str] = []
    r = Relay(sd, on_log=logs.append)
    assert r.heartbeat_interval() == 0.5
    r.attach("vrrp", 10)
    r.attach("checker", 11)
    r.feed(10, b"STATUS instances=1 MASTER=1\nREADY\n")
    assert drain(srv) == [] and r.phase == "starting"  # the checker has not started yet
    r.feed(11, b"STATUS rs_up=1 rs_total=2\nRE")
    r.feed(11, b"ADY\n")
    msgs = drain(srv)
    assert msgs == [f"READY=1\nMAINPID={os.getpid()}\n"
                    "STATUS=1 instance: 1 MASTER; 1/2 real servers up"]
    assert logs == ["Startup complete"]
    # a ping only when every child that beats has beaten since the last one (a child that
    # never beat yet, e.g. just respawned, does not hold the pings back)
    r.feed(10, b"ALIVE\n")
    assert drain(srv) == ["WATCHDOG=1"]
    r.feed(11, b"ALIVE\n")
    assert drain(srv) == []
    r.feed(10, b"ALIVE\n")
    assert drain(srv) == ["WATCHDOG=1"]
    r.feed(10, b"ALIVE\nALIVE\n")  # the checker is silent: no ping, however often vrrp beats
    assert drain(srv) == []
    r.feed(11, b"ALIVE\n")
    assert drain(srv) == ["WATCHDOG=1"]
    # reload: RELOADING=1 with the monotonic clock, READY=1 once both confirmed
    r.reload(now=100.0)
    (rel,) = drain(srv)
    assert rel.startswith("RELOADING=1\nMONOTONIC_USEC=")
    r.feed(10, b"RELOADED\n")
    assert drain(srv) == []
    r.feed(11, b"STATUS rs_up=2 rs_total=2\nRELOADED\n")
    assert drain(srv)[0].startswith("READY=1") and logs[-1] == "Reload complete"
    # a reload a child never confirms ends at the deadline
    r.reload(now=200.0)
    drain(srv)
    r.tick(259.0)
    assert drain(srv) == []
    r.tick(260.0)
    assert drain(srv)[0].startswith("READY=1")
    # a reload the parent gives up before forwarding (the new file failed its check)
    r.reload(now=300.0)
    assert drain(srv)[0].startswith("RELOADING=1")
    r.reload_abandoned()
    assert drain(srv)[0].startswith("READY=1") and r.phase == "running"
    r.reload_abandoned()  # not reloading: nothing to say
    assert drain(srv) == []
    r.stopping()
    r.feed(10, b"RELOADED\nREADY\n")  # late lines while stopping: no READY=1 any more
    r.failed()
    assert drain(srv) == ["STOPPING=1", "ERRNO=22"]


def test_unreachable_socket_disables_quietly(tmp_path: Path) -> None:
    sd = SystemdNotifier(str(tmp_path / "none.sock"))
    assert not sd.ready() and sd.broken
    assert not sd.status("x")  # no second attempt (and no second log line)
