"""The seeds' scenario end to end, in network namespaces: a tiny HTTP service on each node, a
``vrrp_script`` checking it, and the VIP following the service.

Seed 001's arithmetic: with ``weight -20`` a failing check takes the master from 100 to 80,
below the backup's 90, so the VIP moves; with ``weight +2`` the healthy nodes run at 102 and
101, and the master's failure leaves it at 100 < 101. Restoring the service moves the VIP back
(preemption). The priority each node runs at is read from its ``vrrp_notify_fifo`` (with
``vrrp_notify_priority_changes``), which must carry keepalived's exact lines. The mixed test
does the same with Debian's keepalived as the backup. The last test uses Debian's keepalived as
the oracle for every output format: FIFO lines, notify argv and the mails a real SMTP sink gets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import (
    Daemon,
    InstanceConf,
    masters,
    proc_stats,
    render_config,
    stop_all,
)
from pykeepalived.lab.netns import Host, Lab, wait_for

pytestmark = pytest.mark.netns

NET = "10.97.5"
VIP = f"{NET}.200"
PORT = 8080
ADV = 0.2  # VRRPv3 advert interval: fast, yet gentle on a shared 2-core machine

RECORDER = """#!/bin/sh
# generic notify script: record argv, one file per call.
printf '%s\\037' "$@" > "$(mktemp {out}/call.XXXXXX)"
"""

READER = """#!/bin/sh
# vrrp_notify_fifo_script: keepalived passes the FIFO path as the last argument.
for fifo; do :; done
while read -r line; do echo "$line" >> {out}; done < "$fifo"
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lb = Lab("pkte")
    try:
        for i in (1, 2):
            lb.add_host(f"n{i}", [f"{NET}.{10 + i}/24"])
        yield lb
    finally:
        lb.cleanup()


class Node:
    """One lab host running the HTTP service and a VRRP daemon."""

    def __init__(self, lab: Lab, name: str, impl: str) -> None:
        self.host: Host = lab.hosts[name]
        self.impl = impl
        self.http: subprocess.Popen[bytes] | None = None
        self.daemon: Daemon | None = None
        self.run = Path("/tmp/pkd-run") / self.host.ns
        self.run.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run, 0o755)
        self.fifo_log = self.run / "fifo.log"
        if self.fifo_log.exists():
            self.fifo_log.unlink()
        self.calls = self.run / "calls"
        if self.calls.exists():
            for f in self.calls.iterdir():
                f.unlink()
        self.calls.mkdir(exist_ok=True)

    def start_service(self) -> None:
        self.http = self.host.popen(
            ["python3", "-m", "http.server", str(PORT), "--bind", "127.0.0.1", "--directory",
             str(self.run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = wait_for(lambda: self.host.run(
            ["curl", "-sf", "-o", "/dev/null", "-m", "1", f"http://127.0.0.1:{PORT}/"],
            check=False).returncode == 0, 10)
        assert ok, f"HTTP service did not start on {self.host.name}"

    def stop_service(self) -> None:
        assert self.http is not None
        os.killpg(self.http.pid, 9)
        self.http.wait()
        self.http = None

    def config(self, priority: int, weight: int | None) -> str:
        g: list[str] = ["enable_script_security", "script_user root"]
        body = ""
        rec = self.run / "rec.sh"
        rec.write_text(RECORDER.format(out=self.calls))
        rec.chmod(0o755)
        reader = self.run / "reader.sh"
        reader.write_text(READER.format(out=self.fifo_log))
        reader.chmod(0o755)
        g += [f"vrrp_notify_fifo {self.run}/vrrp.fifo",
              f"vrrp_notify_fifo_script {reader}", "vrrp_notify_priority_changes"]
        inst = InstanceConf(priority=priority, version=3, advert_int=ADV,
                            vips=(f"{VIP}/24 dev eth0",), extra=[f'notify "{rec} generic"'])
        if weight is not None:
            body = ("vrrp_script chk_http {\n"
                    f'    script "/usr/bin/curl -sf -o /dev/null -m 1 '
                    f'http://127.0.0.1:{PORT}/"\n'
                    "    interval 0.3\n    timeout 1\n"
                    f"    weight {weight}\n    fall 2\n    rise 1\n}}\n\n")
            inst.extra = [*inst.extra, "track_script {", "    chk_http", "}"]
        return body + render_config(self.host.name, [inst], g)

    def start_daemon(self, priority: int, weight: int | None) -> Daemon:
        self.daemon = Daemon(self.host, self.impl, self.config(priority, weight))
        self.daemon.start()
        return self.daemon

    def notify_calls(self) -> list[list[str]]:
        """argv of every generic notify call, in the order the calls happened."""
        files = sorted(self.calls.iterdir(), key=lambda f: f.stat().st_mtime_ns)
        return [f.read_text().split("\x1f")[:-1] for f in files]

    def fifo_lines(self) -> list[str]:
        try:
            return self.fifo_log.read_text().splitlines()
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        if self.daemon is not None:
            stop_all([self.daemon])
        if self.http is not None:
            self.stop_service()
        self.host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)


@pytest.fixture
def nodes(lab: Lab) -> Iterator[list[Node]]:
    made: list[Node] = []
    yield made
    for n in made:
        n.stop()


def _only_master(nodes: list[Node], expected: Node, timeout: float = 10.0) -> None:
    ds = [n.daemon for n in nodes if n.daemon is not None]
    ok = wait_for(lambda: [m.host.name for m in masters(ds, VIP)] == [expected.host.name],
                  timeout)
    assert ok, (f"expected {expected.host.name} alone to hold {VIP}; got "
                f"{[m.host.name for m in masters(ds, VIP)]}\n"
                + "\n".join(f"--- {d.name}\n{d.log_text()[-2500:]}" for d in ds))


def _has_lines(node: Node, want: list[str], timeout: float = 5.0) -> None:
    """``want`` appears in node's FIFO log in this order (other lines may interleave)."""
    def ok() -> bool:
        it = iter(node.fifo_lines())
        return all(any(line == w for line in it) for w in want)
    assert wait_for(ok, timeout), f"{node.host.name} FIFO lines {node.fifo_lines()} lack {want}"


@pytest.mark.parametrize(("weight", "p1", "p2"), [
    pytest.param(-20, 100, 90, id="weight-minus-20"),
    pytest.param(2, 100, 99, id="weight-plus-2"),
])
def test_service_failure_moves_vip_and_back(lab: Lab, nodes: list[Node], weight: int, p1: int,
                                            p2: int) -> None:
    n1, n2 = Node(lab, "n1", "py"), Node(lab, "n2", "py")
    nodes += [n1, n2]
    for n in (n1, n2):
        n.start_service()
    n2.start_daemon(p2, weight)
    n1.start_daemon(p1, weight)
    up1, up2 = p1 + max(weight, 0), p2 + max(weight, 0)  # both services healthy
    down1 = p1 + min(weight, 0)  # n1's service down
    assert (up1 > up2) and (down1 < up2)  # the seed's switching condition holds
    _only_master(nodes, n1)
    _has_lines(n1, [f'INSTANCE "VI_1" MASTER {up1}'])

    n1.stop_service()
    _only_master(nodes, n2)
    assert n1.daemon is not None
    assert n1.daemon.wait_log(rf"Changing effective priority from {up1} to {down1}", 3)
    _has_lines(n1, [f'INSTANCE "VI_1" MASTER {up1}', f'INSTANCE "VI_1" MASTER_PRIORITY {down1}',
                    f'INSTANCE "VI_1" BACKUP {down1}'])
    _has_lines(n2, [f'INSTANCE "VI_1" MASTER {up2}'])

    n1.start_service()
    _only_master(nodes, n1)
    _has_lines(n1, [f'INSTANCE "VI_1" BACKUP {down1}', f'INSTANCE "VI_1" BACKUP_PRIORITY {up1}',
                    f'INSTANCE "VI_1" MASTER {up1}'])
    _has_lines(n2, [f'INSTANCE "VI_1" MASTER {up2}', f'INSTANCE "VI_1" BACKUP {up2}'])
    # n2's priority never changed during the failovers. With a positive weight its script is
    # neutral until the first result (keepalived's INIT state: base priority), so the one
    # priority line n2 may write is that first step up to its healthy priority.
    prio_lines = [line for line in n2.fifo_lines() if "_PRIORITY" in line]
    assert len(prio_lines) <= 1 and all(line.endswith(f"_PRIORITY {up2}")
                                        for line in prio_lines), n2.fifo_lines()


@pytest.mark.keepalived
def test_mixed_cluster_script_failure_fails_over_to_keepalived(lab: Lab,
                                                               nodes: list[Node]) -> None:
    n1, n2 = Node(lab, "n1", "py"), Node(lab, "n2", "ka")
    nodes += [n1, n2]
    n1.start_service()
    n2.start_daemon(90, None)
    n1.start_daemon(100, -20)
    _only_master(nodes, n1)
    assert n2.daemon is not None and n2.daemon.wait_log(r"\(VI_1\) Entering BACKUP STATE", 5)

    mark = n2.daemon.mark()
    n1.stop_service()
    _only_master(nodes, n2)
    assert n2.daemon.wait_log(r"\(VI_1\) Entering MASTER STATE", 3, since=mark)
    _has_lines(n1, ['INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_1" BACKUP 80'])

    mark = n2.daemon.mark()
    n1.start_service()
    _only_master(nodes, n1)
    assert n2.daemon.wait_log(r"\(VI_1\) Entering BACKUP STATE", 3, since=mark)
    _has_lines(n1, ['INSTANCE "VI_1" BACKUP 80', 'INSTANCE "VI_1" MASTER 100'])

    # Debian's keepalived, in the same run, is the oracle for the formats: its FIFO lines and
    # its generic notify arguments have exactly the shape of ours.
    _has_lines(n2, ['INSTANCE "VI_1" BACKUP 90', 'INSTANCE "VI_1" MASTER 90',
                    'INSTANCE "VI_1" BACKUP 90'])
    assert wait_for(lambda: len(n2.notify_calls()) >= 3 and len(n1.notify_calls()) >= 4, 3)
    assert n2.notify_calls()[:3] == [["generic", "INSTANCE", "VI_1", st, "90"]
                                     for st in ("BACKUP", "MASTER", "BACKUP")]
    assert n1.notify_calls()[:4] == [["generic", "INSTANCE", "VI_1", st, prio]
                                     for st, prio in (("BACKUP", "100"), ("MASTER", "100"),
                                                      ("BACKUP", "80"), ("MASTER", "100"))]


SINK = """
import asyncio, json, sys
from aiosmtpd.controller import Controller

class Sink:
    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps([envelope.mail_from, envelope.rcpt_tos,
                                envelope.content.decode(), session.host_name]) + "\\n")
        return "250 Message accepted for delivery"

ctl = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
ctl.start()
print("ready", flush=True)
asyncio.new_event_loop().run_forever()
"""


@pytest.mark.keepalived
def test_notify_outputs_match_keepalived(lab: Lab, nodes: list[Node]) -> None:
    """Each implementation, alone in its namespace with a two-instance sync group, becomes
    MASTER; keepalived's outputs are the oracle for ours: the FIFO lines (instances and group,
    in order per object), the generic and specific notify argv, and the mails a real SMTP sink
    receives (envelope, HELO, headers, body: byte-identical but for the Date value)."""
    got: dict[str, tuple[list[str], list[list[str]], list[list[object]]]] = {}
    for name, impl, vrid in (("n1", "py", 61), ("n2", "ka", 71)):
        n = Node(lab, name, impl)
        nodes.append(n)
        out = n.run / "mail.jsonl"
        if out.exists():
            out.unlink()
        sink = n.host.popen([sys.executable, "-c", SINK, "2525", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert sink.stdout is not None and sink.stdout.readline().strip() == b"ready"
        text = n.config(100, None)  # global FIFO + reader, VI_1 with the recorder
        rec = n.run / "rec.sh"
        insts = [InstanceConf(name=f"VI_{k}", vrid=vrid + k, priority=100, version=3,
                              advert_int=ADV, vips=(f"{NET}.{vrid + k}/24 dev eth0",),
                              extra=[f'notify "{rec} generic"', "smtp_alert"])
                 for k in (1, 2)]
        group = ("vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n"
                 f'    notify "{rec} ggeneric"\n    notify_master "{rec} gmaster x"\n'
                 "    smtp_alert\n}\n\n")
        g = ["notification_email {", "    ops@example.org", "    noc@example.org", "}",
             "notification_email_from ka@example.org", "smtp_server 127.0.0.1 2525",
             "smtp_helo_name lab.example.org", "smtp_connect_timeout 5"]
        head = text[: text.index("global_defs {")]
        fifo_globals = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(
            ("vrrp_notify_fifo", "enable_script_security", "script_user"))]
        conf = head + group + render_config("LAB", insts, [*fifo_globals, *g])
        n.daemon = Daemon(n.host, impl, conf)
        n.daemon.start()
        # 2 instances + 1 group, each BACKUP then MASTER: 6 mails, 6 FIFO lines, 7 calls.
        assert wait_for(lambda out=out, n=n: out.exists()
                        and len(out.read_text().splitlines()) >= 6
                        and len(n.fifo_lines()) >= 6 and len(n.notify_calls()) >= 7, 15), \
            n.daemon.log_text()[-3000:]
        time.sleep(0.5)  # nothing more must come
        mails = [json.loads(line) for line in out.read_text().splitlines()]
        got[impl] = (n.fifo_lines(), n.notify_calls(), mails)
        stop_all([n.daemon])

    def per_object(lines: list[str]) -> dict[str, list[str]]:
        d: dict[str, list[str]] = {}
        for line in lines:
            d.setdefault(line.split()[1], []).append(line)
        return d

    def shape(mail: list[object]) -> tuple[object, ...]:
        mail_from, rcpts, content, helo = mail
        assert isinstance(content, str)
        # Everything but the Date value must be byte-identical.
        return (mail_from, tuple(rcpts), helo,  # type: ignore[arg-type]
                content.split("\r\n", 1)[1])

    py_fifo, py_calls, py_mails = got["py"]
    ka_fifo, ka_calls, ka_mails = got["ka"]
    assert per_object(ka_fifo) == {
        '"VI_1"': ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100'],
        '"VI_2"': ['INSTANCE "VI_2" BACKUP 100', 'INSTANCE "VI_2" MASTER 100'],
        '"G1"': ['GROUP "G1" BACKUP 0', 'GROUP "G1" MASTER 0']}
    assert per_object(py_fifo) == per_object(ka_fifo)
    assert sorted(py_calls) == sorted(ka_calls)
    assert ["gmaster", "x"] in ka_calls and ["ggeneric", "GROUP", "G1", "MASTER", "0"] in ka_calls
    assert sorted(map(shape, py_mails)) == sorted(map(shape, ka_mails))
    assert "Subject: [LAB] VRRP Group G1 - Entering MASTER state" in str(ka_mails)


@pytest.mark.keepalived
def test_script_rise_fall_weights_match_keepalived(lab: Lab, nodes: list[Node]) -> None:
    """The same flag-file scripts driven the same way on each implementation (alone in its
    namespace): rise 2 / fall 2, weights -20 (init_fail) and +5. keepalived's FIFO (states and
    priorities, in order) is the oracle for ours. keepalived 2.2.7 takes ``interval`` in whole
    seconds, hence the slow pace."""
    ns: list[Node] = []
    for name, impl, vrid in (("n1", "py", 81), ("n2", "ka", 91)):
        n = Node(lab, name, impl)
        nodes.append(n)
        ns.append(n)
        for f in ("flag", "flag2"):
            if (n.run / f).exists():
                (n.run / f).unlink()
        text = n.config(100, None)
        head = text[: text.index("global_defs {")]
        globals_ = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(
            ("vrrp_notify", "enable_script_security", "script_user"))]
        scripts = "".join(
            f"vrrp_script {s} {{\n"
            f'    script "/usr/bin/test -e {n.run / f}"\n'
            f"    interval 1\n    timeout 1\n    weight {w}\n    rise 2\n    fall 2\n{x}}}\n\n"
            for s, f, w, x in (("chk_a", "flag", -20, "    init_fail\n"),
                               ("chk_b", "flag2", 5, "")))
        inst = InstanceConf(vrid=vrid, priority=100, version=3, advert_int=ADV,
                            vips=(f"{NET}.{vrid}/24 dev eth0",),
                            extra=["track_script {", "    chk_a", "    chk_b", "}"])
        n.daemon = Daemon(n.host, impl, head + scripts + render_config("LAB", [inst], globals_))
        n.daemon.start()

    def step(want_last: str, timeout: float = 8.0) -> None:
        ok = wait_for(lambda: all(n.fifo_lines() and n.fifo_lines()[-1] == want_last
                                  for n in ns), timeout)
        assert ok, {n.impl: n.fifo_lines() for n in ns}

    step('INSTANCE "VI_1" MASTER 80')  # both failing: 100 - 20, and no +5
    for n in ns:
        (n.run / "flag").write_text("")
    step('INSTANCE "VI_1" MASTER_PRIORITY 100')  # chk_a up after 2 successes
    for n in ns:
        (n.run / "flag2").write_text("")
    step('INSTANCE "VI_1" MASTER_PRIORITY 105')  # chk_b up: +5
    for n in ns:
        (n.run / "flag").unlink()
    step('INSTANCE "VI_1" MASTER_PRIORITY 85')  # chk_a down after 2 failures
    time.sleep(1.0)  # and nothing else happens

    def from_master(lines: list[str]) -> list[str]:
        # Before the first MASTER line both log their start-up transient differently
        # (keepalived 2.2.7 notifies BACKUP at its base priority before any script ran).
        return lines[lines.index('INSTANCE "VI_1" MASTER 80'):]

    got = {n.impl: from_master(n.fifo_lines()) for n in ns}
    assert got["ka"] == ['INSTANCE "VI_1" MASTER 80', 'INSTANCE "VI_1" MASTER_PRIORITY 100',
                         'INSTANCE "VI_1" MASTER_PRIORITY 105',
                         'INSTANCE "VI_1" MASTER_PRIORITY 85'], got
    assert got["py"] == got["ka"], got
    for n in ns:
        assert n.daemon is not None
        stop_all([n.daemon])


def test_track_file_and_process_drive_priority_in_the_daemon(lab: Lab,
                                                             nodes: list[Node]) -> None:
    """pykeepalived alone in a namespace (where the proc connector does not exist, so process
    tracking scans /proc): a track_file (weight -10) and a vrrp_track_process (weight +20)
    move the effective priority as real writes and real processes come and go."""
    n = Node(lab, "n1", "py")
    nodes.append(n)
    tf = n.run / "tf.val"
    if tf.exists():
        tf.unlink()
    pname = "pkt" + uuid.uuid4().hex[:8]
    exe = n.run / pname
    shutil.copy("/bin/sleep", exe)
    text = n.config(100, None)
    head = text[: text.index("global_defs {")]
    globals_ = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(
        ("vrrp_notify", "enable_script_security", "script_user"))]
    trackers = (f'track_file tf {{\n    file "{tf}"\n    weight -10\n    init_file 0\n}}\n\n'
                f"vrrp_track_process tp {{\n    process {pname}\n    weight 20\n}}\n\n"
                # A healthy script that leaves an orphan behind at every run.
                'vrrp_script orphaner {\n    script "/bin/sh -c \'(sleep 0.1 &) ; exit 0\'"\n'
                "    interval 0.2\n}\n\n")
    inst = InstanceConf(vrid=101, priority=100, version=3, advert_int=ADV,
                        vips=(f"{NET}.101/24 dev eth0",),
                        extra=["track_file {", "    tf", "}", "track_process {", "    tp", "}",
                               "track_script {", "    orphaner", "}"])
    n.daemon = Daemon(n.host, "py", head + trackers + render_config("LAB", [inst], globals_))
    n.daemon.start()

    def last(want: str, timeout: float = 8.0) -> None:
        assert wait_for(lambda: n.fifo_lines()[-1:] == [want], timeout), (
            n.fifo_lines(), n.daemon.log_text()[-2000:] if n.daemon else "")

    last('INSTANCE "VI_1" MASTER 100')
    assert tf.read_text() == "0\n"  # init_file created it
    tf.write_text("3\n")
    last('INSTANCE "VI_1" MASTER_PRIORITY 70')  # 100 + 3 × -10
    proc = n.host.popen([str(exe), "30"])
    last('INSTANCE "VI_1" MASTER_PRIORITY 90')  # + 20 with the process running
    os.killpg(proc.pid, 9)
    proc.wait()
    last('INSTANCE "VI_1" MASTER_PRIORITY 70')
    tf.unlink()  # a missing file reads as 0
    last('INSTANCE "VI_1" MASTER_PRIORITY 100')
    # ~30 runs of the orphaning script later, the daemon holds no zombie for long (one may
    # exist for a moment between two sweeps): none seen now is still there a second later.
    assert n.daemon is not None and n.daemon.proc is not None
    first = _daemon_zombies(n.daemon.proc.pid)
    time.sleep(1.2)
    assert first & _daemon_zombies(n.daemon.proc.pid) == set()


def _daemon_zombies(group: int) -> set[int]:
    """Zombie children of the processes of process group ``group`` (a daemon and its
    children)."""
    stats = {p: (f[0].decode(), int(f[1]), int(f[2])) for p, f in proc_stats()}
    daemon_pids = {p for p, (_st, _pp, pg) in stats.items() if pg == group}
    assert daemon_pids
    return {p for p, (st, pp, _pg) in stats.items() if st == "Z" and pp in daemon_pids}


@pytest.mark.keepalived
def test_track_file_values_match_keepalived(lab: Lab, nodes: list[Node]) -> None:
    """The same writes to a track_file (weight -10) on each implementation: decimal, hex,
    trailing garbage, a negative value, rename-over and deletion give the same priorities."""
    ns: list[Node] = []
    for name, impl, vrid in (("n1", "py", 111), ("n2", "ka", 121)):
        n = Node(lab, name, impl)
        nodes.append(n)
        ns.append(n)
        tf = n.run / "tf.val"
        if tf.exists():
            tf.unlink()
        text = n.config(100, None)
        head = text[: text.index("global_defs {")]
        globals_ = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(
            ("vrrp_notify", "enable_script_security", "script_user"))]
        trackers = f'track_file tf {{\n    file "{tf}"\n    weight -10\n    init_file 2\n}}\n\n'
        inst = InstanceConf(vrid=vrid, priority=100, version=3, advert_int=ADV,
                            vips=(f"{NET}.{vrid}/24 dev eth0",),
                            extra=["track_file {", "    tf", "}"])
        n.daemon = Daemon(n.host, impl, head + trackers + render_config("LAB", [inst], globals_))
        n.daemon.start()

    def step(want_last: str) -> None:
        ok = wait_for(lambda: all(n.fifo_lines()[-1:] == [want_last] for n in ns), 8)
        assert ok, {n.impl: n.fifo_lines() for n in ns}

    step('INSTANCE "VI_1" MASTER 80')  # init_file 2: 100 + 2 × -10
    for content, prio in (("0x3\n", 70), ("  -1abc\n", 110), ("5", 50)):
        for n in ns:
            (n.run / "tf.val").write_text(content)
        step(f'INSTANCE "VI_1" MASTER_PRIORITY {prio}')
    for n in ns:
        (n.run / "tf.new").write_text("1\n")
        os.rename(n.run / "tf.new", n.run / "tf.val")
    step('INSTANCE "VI_1" MASTER_PRIORITY 90')
    for n in ns:
        (n.run / "tf.val").unlink()
    step('INSTANCE "VI_1" MASTER_PRIORITY 100')
    time.sleep(0.5)
    got = {n.impl: n.fifo_lines()[n.fifo_lines().index('INSTANCE "VI_1" MASTER 80'):]
           for n in ns}
    assert got["py"] == got["ka"], got


def test_track_interface_and_sync_group_trackers_in_the_daemon(lab: Lab,
                                                              nodes: list[Node]) -> None:
    """pykeepalived alone in a namespace, interfaces taken down and up for real:
    ``track_interface`` with a weight changes the effective priority, without one (weight 0)
    it drives FAULT; a ``vrrp_sync_group``'s own ``track_file`` (weight 0) faults every member
    and the group, with the group's notify scripts told (GROUP name state 0)."""
    n = Node(lab, "n1", "py")
    nodes.append(n)
    h = n.host
    for a, b in (("ta0", "ta1"), ("tb0", "tb1")):
        h.run(["ip", "link", "del", a], check=False)
        h.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        for ifname in (a, b):
            h.run(["ip", "link", "set", ifname, "up"])
    gf = n.run / "group.val"
    gf.write_text("0\n")
    rec = n.run / "rec.sh"
    text = n.config(100, None)  # writes rec.sh and the FIFO reader
    head = text[: text.index("global_defs {")]
    globals_ = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(
        ("vrrp_notify", "enable_script_security", "script_user"))]
    blocks = (f'track_file gf {{\n    file "{gf}"\n    weight 0\n}}\n\n'
              "vrrp_sync_group G1 {\n    group {\n        VI_3\n        VI_4\n    }\n"
              "    track_file {\n        gf\n    }\n"
              f'    notify "{rec} ggeneric"\n    notify_fault "{rec} gfault"\n}}\n\n')
    insts = [InstanceConf(name=name, vrid=vrid, priority=100, version=3, advert_int=ADV,
                          vips=(f"{NET}.{vrid}/24 dev eth0",), extra=extra)
             for name, vrid, extra in (
                 ("VI_1", 131, ["track_interface {", "    ta0 weight -30", "}"]),
                 ("VI_2", 132, ["track_interface {", "    tb0", "}"]),
                 ("VI_3", 133, ()), ("VI_4", 134, ()))]
    n.daemon = Daemon(h, "py", head + blocks + render_config("LAB", insts, globals_))
    n.daemon.start()
    d = n.daemon

    def lines_since(mark: int) -> list[str]:
        return n.fifo_lines()[mark:]

    def seen(mark: int, *want: str, timeout: float = 8.0) -> None:
        ok = wait_for(lambda: all(w in lines_since(mark) for w in want), timeout)
        assert ok, (want, lines_since(mark), d.log_text()[-2500:])

    seen(0, 'INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_2" MASTER 100',
         'INSTANCE "VI_3" MASTER 100', 'INSTANCE "VI_4" MASTER 100', 'GROUP "G1" MASTER 0')
    # track_interface with weight -30: a priority change, no state change.
    m = len(n.fifo_lines())
    h.run(["ip", "link", "set", "ta0", "down"])
    seen(m, 'INSTANCE "VI_1" MASTER_PRIORITY 70')
    h.run(["ip", "link", "set", "ta0", "up"])
    seen(m, 'INSTANCE "VI_1" MASTER_PRIORITY 100')
    assert not any(ln.startswith('INSTANCE "VI_1" FAULT') for ln in lines_since(m))
    # track_interface without weight: FAULT while down, and back to MASTER.
    m = len(n.fifo_lines())
    h.run(["ip", "link", "set", "tb0", "down"])
    assert wait_for(lambda: any(ln.startswith('INSTANCE "VI_2" FAULT')
                                for ln in lines_since(m)), 8), lines_since(m)
    assert wait_for(lambda: not d.has_vip(f"{NET}.132"), 3)
    h.run(["ip", "link", "set", "tb0", "up"])
    seen(m, 'INSTANCE "VI_2" MASTER 100')
    assert wait_for(lambda: d.has_vip(f"{NET}.132"), 3)
    # The sync group's own track_file: every member and the group go to FAULT, and back.
    calls0 = len(n.notify_calls())
    m = len(n.fifo_lines())
    gf.write_text("1\n")
    assert wait_for(lambda: all(any(ln.startswith(p) for ln in lines_since(m)) for p in (
        'INSTANCE "VI_3" FAULT', 'INSTANCE "VI_4" FAULT', 'GROUP "G1" FAULT 0')), 8), (
        lines_since(m), d.log_text()[-2500:])
    assert wait_for(lambda: not d.has_vip(f"{NET}.133") and not d.has_vip(f"{NET}.134"), 3)
    assert d.has_vip(f"{NET}.131") and d.has_vip(f"{NET}.132")  # others untouched
    assert wait_for(lambda: ["gfault"] in n.notify_calls()[calls0:]
                    and ["ggeneric", "GROUP", "G1", "FAULT", "0"] in n.notify_calls()[calls0:],
                    3), n.notify_calls()[calls0:]
    gf.write_text("0\n")
    seen(m, 'INSTANCE "VI_3" MASTER 100', 'INSTANCE "VI_4" MASTER 100', 'GROUP "G1" MASTER 0')
    assert wait_for(lambda: d.has_vip(f"{NET}.133") and d.has_vip(f"{NET}.134"), 3)
    for ifname in ("ta0", "tb0"):
        h.run(["ip", "link", "del", ifname], check=False)


def test_master_rx_lower_pri_and_notify_deleted_in_the_daemon(lab: Lab,
                                                             nodes: list[Node]) -> None:
    """Two pykeepalived nodes made MASTER apart (the switch drops their frames), then joined:
    the higher one hears the lower one's adverts and runs ``notify_master_rx_lower_pri`` and
    writes ``MASTER_RX_LOWER_PRI``. Then a SIGHUP with one instance removed from the file: with
    ``notify_deleted`` its notify_deleted script runs and the FIFO and the generic script say
    DELETED."""
    import signal

    n1, n2 = Node(lab, "n1", "py"), Node(lab, "n2", "py")
    nodes += [n1, n2]
    rec = n1.run / "rec.sh"

    def conf(n: Node, prio: int, with_vi2: bool) -> str:
        text = n.config(prio, None)  # rec.sh, the FIFO reader, VI_1 with the generic notify
        head = text[: text.index("global_defs {")]
        globals_ = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(
            ("vrrp_notify", "enable_script_security", "script_user"))]
        vi1 = InstanceConf(vrid=141, priority=prio, version=3, advert_int=ADV,
                           vips=(f"{NET}.141/24 dev eth0",),
                           extra=[f'notify_master_rx_lower_pri "{rec} rxlower"'])
        vi2 = InstanceConf(name="VI_2", vrid=142, priority=prio, version=3, advert_int=ADV,
                           vips=(f"{NET}.142/24 dev eth0",),
                           extra=["notify_deleted", f'notify_deleted "{rec} deleted x"',
                                  f'notify "{rec} generic"'])
        return head + render_config("LAB", [vi1, vi2] if with_vi2 else [vi1], globals_)

    for n in (n1, n2):
        n.host.isolate()
    try:
        for n, prio in ((n1, 150), (n2, 100)):
            n.daemon = Daemon(n.host, "py", conf(n, prio, True))
            n.daemon.start()
        # two daemons starting side by side (their Python children take seconds to start
        # on a loaded 2-core machine), then 3 adverts plus skew to MASTER
        assert wait_for(lambda: all(n.daemon is not None and n.daemon.has_vip(f"{NET}.141")
                                    for n in (n1, n2)), 25)
        # One way only: n2's adverts now reach n1, n1's never reach n2 (so n2 stays MASTER
        # and keeps advertising its lower priority to n1).
        n1.host.unisolate()
        lab.nft_switch(f"add rule bridge pklab pkfwd iifname {n1.host.port} drop")
        d1 = n1.daemon
        assert d1 is not None
        _has_lines(n1, ['INSTANCE "VI_1" MASTER 150',
                        'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150'])
        assert d1.wait_log(r"\(VI_1\) Received advert from \S+ with lower priority 100, ours 150",
                           3)
        assert wait_for(lambda: ["rxlower"] in n1.notify_calls(), 3), n1.notify_calls()
    finally:
        n1.host.unisolate()
    assert wait_for(lambda: n2.daemon is not None and not n2.daemon.has_vip(f"{NET}.141"), 5)

    calls0 = len(n1.notify_calls())
    m = len(n1.fifo_lines())
    d1.write_conf(conf(n1, 150, False))
    mark = d1.mark()
    d1.signal(signal.SIGHUP)
    assert d1.wait_log(r"Reload finished", 10, since=mark), d1.log_since(mark)
    # keepalived 2.2.7 reports the removed instance's effective priority with DELETED.
    assert wait_for(lambda: 'INSTANCE "VI_2" DELETED 150' in n1.fifo_lines()[m:], 5), \
        n1.fifo_lines()[m:]
    assert wait_for(lambda: ["deleted", "x"] in n1.notify_calls()[calls0:]
                    and ["generic", "INSTANCE", "VI_2", "DELETED", "150"]
                    in n1.notify_calls()[calls0:], 3), n1.notify_calls()[calls0:]
    assert not any("FAULT" in line for line in n1.fifo_lines()[m:])
    assert wait_for(lambda: not d1.has_vip(f"{NET}.142"), 3)
