"""Real notify scripts, FIFOs and a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pykeepalived.config.model import (
    GlobalDefs,
    NotifyFifo,
    NotifyScript,
    SyncGroup,
    VrrpInstance,
)
from pykeepalived.notify import Notifier
from pykeepalived.script.runner import _proc_stat

pytestmark = pytest.mark.netns  # needs root; loopback only

RECORDER = """#!/bin/sh
# Record this invocation's argv, one file per call (calls run concurrently).
f=$(mktemp {out}/call.XXXXXX)
printf '%s\\037' "$@" > "$f"
"""


def _recorder(tmp: Path) -> tuple[Path, Path]:
    out = tmp / "calls"
    out.mkdir()
    rec = tmp / "rec.sh"
    rec.write_text(RECORDER.format(out=out))
    rec.chmod(0o755)
    return rec, out


def _calls(out: Path) -> list[list[str]]:
    calls = []
    for f in sorted(out.iterdir()):
        raw = f.read_text()
        calls.append(raw.split("\x1f")[:-1])
    return sorted(calls)


async def _wait_for(pred: Any, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


def test_notify_scripts_get_exactly_keepalived_arguments(tmp_path: Path) -> None:
    rec, out = _recorder(tmp_path)
    r = str(rec)
    inst = VrrpInstance(
        "VI_1", interface="eth0", vrid=51,
        notify_master=NotifyScript((r, "master", "x y")),
        notify_backup=NotifyScript((r, "backup")),
        notify_fault=NotifyScript((r, "fault")),
        notify_stop=NotifyScript((r, "stop")),
        notify=NotifyScript((r, "generic")),
        notify_master_rx_lower_pri=NotifyScript((r, "rxlower")))
    group = SyncGroup("G1", members=("VI_1",), notify_backup=NotifyScript((r, "gbackup")),
                      notify=NotifyScript((r, "ggeneric")))

    async def main() -> None:
        n = Notifier(GlobalDefs())
        await n.start()
        t0 = time.monotonic()
        n.instance_state(inst, "MASTER", 100)
        n.group_state(group, "BACKUP")
        n.master_rx_lower_pri(inst, 100)
        n.instance_state(inst, "DELETED", 90)  # notify_deleted not set: reported as FAULT
        assert time.monotonic() - t0 < 0.5  # nothing waits for a script
        await _wait_for(lambda: len(list(out.iterdir())) == 7)
        await n.shutdown([(inst, 100)], [])
        await _wait_for(lambda: len(list(out.iterdir())) == 9)
        await n.close()
    asyncio.run(main())
    assert _calls(out) == sorted([
        ["master", "x y"],
        ["generic", "INSTANCE", "VI_1", "MASTER", "100"],
        ["gbackup"],
        ["ggeneric", "GROUP", "G1", "BACKUP", "0"],
        ["rxlower"],
        ["fault"],
        ["generic", "INSTANCE", "VI_1", "FAULT", "90"],
        ["stop"],
        ["generic", "INSTANCE", "VI_1", "STOP", "100"],
    ])


def test_stop_script_is_given_about_one_second(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    inst = VrrpInstance("VI_1", interface="eth0", vrid=51,
                        notify_stop=NotifyScript(("sh", "-c", f"touch {marker}; sleep 30")))

    async def main() -> None:
        n = Notifier(GlobalDefs())
        await n.start()
        t0 = time.monotonic()
        await n.shutdown([(inst, 100)])
        took = time.monotonic() - t0
        assert marker.exists()
        assert 0.9 <= took <= 2.0, took
        await n.close()
    asyncio.run(main())


def test_fifo_lines_in_order_and_fifo_script_reader(tmp_path: Path) -> None:
    common = tmp_path / "notify.fifo"
    vfifo = tmp_path / "vrrp.fifo"
    seen = tmp_path / "seen"
    reader = tmp_path / "reader.sh"
    reader.write_text(f'#!/bin/sh\nfor last; do :; done\necho "$last" > {seen}.arg\n'
                      f'while read -r line; do echo "$line" >> {seen}; done < "$last"\n')
    reader.chmod(0o755)
    gd = GlobalDefs(notify_fifo=NotifyFifo(str(common), script=NotifyScript((str(reader),))),
                    vrrp_notify_fifo=NotifyFifo(str(vfifo)), vrrp_notify_priority_changes=True)
    i1 = VrrpInstance("VI_1", interface="eth0", vrid=51)
    i2 = VrrpInstance("VI_2", interface="eth0", vrid=52)
    g = SyncGroup("G1", members=("VI_1", "VI_2"))
    want = [
        'INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_2" BACKUP 90', 'GROUP "G1" BACKUP 0',
        'INSTANCE "VI_1" MASTER 100', 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100',
        'INSTANCE "VI_1" MASTER_PRIORITY 80', 'INSTANCE "VI_2" BACKUP_PRIORITY 92',
        'INSTANCE "VI_1" FAULT 80', 'GROUP "G1" FAULT 0',
    ]

    async def main() -> None:
        n = Notifier(gd)
        await n.start()
        assert stat.S_ISFIFO(os.stat(common).st_mode) and stat.S_ISFIFO(os.stat(vfifo).st_mode)
        direct = os.open(vfifo, os.O_RDONLY | os.O_NONBLOCK)
        n.instance_state(i1, "BACKUP", 100)
        n.instance_state(i2, "BACKUP", 90)
        n.group_state(g, "BACKUP")
        n.instance_state(i1, "MASTER", 100)
        n.master_rx_lower_pri(i1, 100)
        n.priority_changed(i1, "MASTER", 80)
        n.priority_changed(i2, "BACKUP", 92)
        n.instance_state(i1, "FAULT", 80)
        n.group_state(g, "FAULT")
        data = os.read(direct, 65536).decode()
        os.close(direct)
        assert data == "".join(line + "\n" for line in want)
        await _wait_for(lambda: seen.exists() and len(seen.read_text().splitlines()) == 9)
        await n.close()
    asyncio.run(main())
    assert seen.read_text().splitlines() == want
    assert Path(f"{seen}.arg").read_text().strip() == str(common)  # FIFO path = last argument
    assert not common.exists() and not vfifo.exists()  # FIFOs we created are removed


def test_priority_lines_only_with_notify_priority_changes(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    gd = GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(fifo)))

    async def main() -> None:
        n = Notifier(gd)
        await n.start()
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        n.priority_changed(VrrpInstance("VI_1"), "BACKUP", 80)
        n.priority_changed(VrrpInstance("VI_2", notify_priority_changes=True), "BACKUP", 80)
        assert os.read(fd, 4096) == b'INSTANCE "VI_2" BACKUP_PRIORITY 80\n'
        os.close(fd)
        await n.close()
    asyncio.run(main())


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str, str]] = []

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        session.host_name = hostname
        self.helo = hostname
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.content.decode(), session.host_name))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_smtp_alert_received_with_keepalived_shape() -> None:
    sink = _Sink()
    port = _free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        gd = GlobalDefs(router_id="LVS_DEVEL", notification_email=("ops@example.org",
                                                                    "noc@example.org"),
                        notification_email_from="ka@example.org", smtp_server="127.0.0.1",
                        smtp_port=port, smtp_helo_name="node1.example.org",
                        smtp_connect_timeout=5)
        inst = VrrpInstance("VI_1", interface="eth0", vrid=51, smtp_alert=True)

        async def main() -> None:
            n = Notifier(gd)
            await n.start()
            n.instance_state(inst, "MASTER", 100)
            n.instance_state(inst, "MASTER", 100)  # same state again: no second mail
            n.group_state(SyncGroup("G1", smtp_alert=True), "FAULT")
            await n.close(grace=5)
            assert n.smtp.sent == 2
        asyncio.run(main())
    finally:
        ctl.stop()
    assert len(sink.messages) == 2
    mail_from, rcpts, content, helo = sink.messages[0]
    assert mail_from == "ka@example.org" and rcpts == ["ops@example.org", "noc@example.org"]
    assert helo == "node1.example.org"
    head, _, body = content.partition("\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.split("\r\n"))
    assert headers["Subject"] == "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state"
    assert headers["From"] == "ka@example.org"
    assert headers["To"] == "ops@example.org, noc@example.org"
    assert headers["X-Mailer"] == "Keepalived"
    assert "Date" in headers
    assert body.strip() == "=> VRRP Instance is now owning VRRP VIPs <="
    assert sink.messages[1][2].split("\r\n")[2] == \
        "Subject: [LVS_DEVEL] VRRP Group G1 - Entering FAULT state"


def test_dead_smtp_server_never_delays_a_state_change(tmp_path: Path) -> None:
    # A server that accepts TCP but never speaks: the worst case (a full timeout).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    fifo = tmp_path / "f"
    gd = GlobalDefs(notification_email=("ops@example.org",), smtp_server="127.0.0.1",
                    smtp_port=silent.getsockname()[1], smtp_connect_timeout=1.0,
                    vrrp_notify_fifo=NotifyFifo(str(fifo)))
    inst = VrrpInstance("VI_1", interface="eth0", vrid=51, smtp_alert=True)

    async def main() -> None:
        n = Notifier(gd)
        await n.start()
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        t0 = time.monotonic()
        n.instance_state(inst, "MASTER", 100)
        took = time.monotonic() - t0
        assert took < 0.2, took  # the mail would take 1 s to time out
        assert os.read(fd, 4096) == b'INSTANCE "VI_1" MASTER 100\n'  # already written
        # The event loop keeps running meanwhile: a 10 ms timer is not delayed.
        t1 = time.monotonic()
        await asyncio.sleep(0.01)
        assert time.monotonic() - t1 < 0.3
        await asyncio.sleep(1.5)
        assert n.smtp.failed == 1 and n.smtp.sent == 0
        os.close(fd)
        await n.close()
    try:
        asyncio.run(main())
    finally:
        silent.close()


def test_no_zombies_after_notifier(tmp_path: Path) -> None:
    """notify scripts leaving a background child, in a daemon child's kind of process (a
    subreaper of its own: tests/netns/track/subreaper_cases.py); this process holds no zombie
    either."""
    r = subprocess.run([sys.executable, str(Path(__file__).resolve().parent
                                            / "subreaper_cases.py"), "notifier_orphans"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
    me = os.getpid()
    assert [p for p in os.listdir("/proc") if p.isdigit()
            and (st := _proc_stat(int(p))) and st[0] == "Z" and st[1] == me] == []


def test_existing_fifo_is_kept_and_a_full_fifo_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "existing"
    os.mkfifo(fifo)
    gd = GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(fifo)))
    inst = VrrpInstance("VI_1", interface="eth0", vrid=51)

    async def main() -> None:
        n = Notifier(gd)
        await n.start()
        t0 = time.monotonic()
        for _ in range(5000):  # ~130 kB, twice a pipe's buffer, and nobody reads
            n.instance_state(inst, "BACKUP", 100)
        assert time.monotonic() - t0 < 2.0
        w = n.fifos.vrrp
        assert w is not None and w.dropped > 0 and w.written > 0
        assert w.written * len('INSTANCE "VI_1" BACKUP 100\n') <= 1 << 20
        await n.close()
    asyncio.run(main())
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not ours to remove


def test_checker_lines_go_to_notify_fifo_and_lvs_fifo(tmp_path: Path) -> None:
    common, lvs, vrrp = tmp_path / "common", tmp_path / "lvs", tmp_path / "vrrp"
    gd = GlobalDefs(notify_fifo=NotifyFifo(str(common)), lvs_notify_fifo=NotifyFifo(str(lvs)),
                    vrrp_notify_fifo=NotifyFifo(str(vrrp)))
    rec = tmp_path / "rec.sh"
    out = tmp_path / "calls"
    out.mkdir()
    rec.write_text(RECORDER.format(out=out))
    rec.chmod(0o755)

    async def main() -> None:
        n = Notifier(gd, vrrp=False, lvs=True)  # the checker child
        await n.start()
        assert not vrrp.exists()  # the VRRP FIFO is the VRRP child's business
        fds = {p: os.open(p, os.O_RDONLY | os.O_NONBLOCK) for p in (common, lvs)}
        n.rs_state("[1.2.3.4]:tcp:80", "[192.168.201.15]:tcp:80", False)
        n.vs_state("[192.168.201.15]:tcp:80", False)
        n.rs_state("[1.2.3.4]:tcp:80", "[192.168.201.15]:tcp:80", True)
        n.run_script(NotifyScript((str(rec), "up", "1.2.3.4")))
        want = (b"RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN\n"
                b"VS [192.168.201.15]:tcp:80 DOWN\n"
                b"RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 UP\n")
        for fd in fds.values():
            assert os.read(fd, 4096) == want
            os.close(fd)
        await _wait_for(lambda: len(list(out.iterdir())) == 1)
        await n.close()
    asyncio.run(main())
    assert _calls(out) == [["up", "1.2.3.4"]]


def test_notify_deleted_when_enabled(tmp_path: Path) -> None:
    """With ``notify_deleted`` the deleted instance runs its notify_deleted script (only its own
    arguments) and the generic script gets ``DELETED``; the FIFO line says DELETED too. Without
    it (see the first test) the same event is reported as FAULT."""
    rec, out = _recorder(tmp_path)
    r = str(rec)
    fifo = tmp_path / "v.fifo"
    inst = VrrpInstance("VI_1", interface="eth0", vrid=51,
                        notify_fault=NotifyScript((r, "fault")),
                        notify_deleted=NotifyScript((r, "deleted", "a b")),
                        notify_deleted_enabled=True, notify=NotifyScript((r, "generic")))

    async def main() -> None:
        n = Notifier(GlobalDefs(vrrp_notify_fifo=NotifyFifo(str(fifo))))
        await n.start()
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        n.instance_state(inst, "DELETED", 90)
        assert os.read(fd, 4096) == b'INSTANCE "VI_1" DELETED 90\n'
        os.close(fd)
        await _wait_for(lambda: len(list(out.iterdir())) == 2)
        await asyncio.sleep(0.2)  # and no third call (no FAULT script)
        await n.close()
    asyncio.run(main())
    assert _calls(out) == sorted([["deleted", "a b"],
                                  ["generic", "INSTANCE", "VI_1", "DELETED", "90"]])


def _alive(pid: int) -> bool:
    st = _proc_stat(pid)
    return st is not None and st[0] != "Z"


def test_vrrp_and_lvs_fifo_scripts_get_their_path_and_sigterm_at_close(tmp_path: Path) -> None:
    """``vrrp_notify_fifo_script`` and ``lvs_notify_fifo_script`` readers: each is started with
    its FIFO's path as the last argument, reads the lines of its own FIFO only, and gets
    SIGTERM when the notifier closes (reload/stop)."""
    vfifo, lfifo = tmp_path / "vrrp.fifo", tmp_path / "lvs.fifo"
    reader = tmp_path / "reader.sh"
    # $1 = tag, last = FIFO path; record our pid, the path, every line, and the SIGTERM.
    reader.write_text(
        "#!/bin/sh\nfor last; do :; done\n"
        f'echo $$ > {tmp_path}/$1.pid\necho "$last" > {tmp_path}/$1.arg\n'
        f"trap 'echo TERM >> {tmp_path}/$1.lines; exit 0' TERM\n"
        f'exec 3< "$last"\n'
        f'while :; do if read -r line <&3; then echo "$line" >> {tmp_path}/$1.lines; '
        "else sleep 0.05; fi; done\n")
    reader.chmod(0o755)
    gd = GlobalDefs(
        vrrp_notify_fifo=NotifyFifo(str(vfifo), script=NotifyScript((str(reader), "v"))),
        lvs_notify_fifo=NotifyFifo(str(lfifo), script=NotifyScript((str(reader), "l"))))
    pids: list[int] = []

    async def main() -> None:
        nv = Notifier(gd)  # the VRRP child's
        nl = Notifier(gd, vrrp=False, lvs=True)  # the checker child's
        await nv.start()
        await nl.start()
        await _wait_for(lambda: (tmp_path / "v.pid").exists() and (tmp_path / "l.pid").exists())
        pids.extend(int((tmp_path / f"{t}.pid").read_text()) for t in ("v", "l"))
        nv.instance_state(VrrpInstance("VI_1"), "MASTER", 100)
        nl.vs_state("[10.0.0.1]:tcp:80", True)
        await _wait_for(lambda: all((tmp_path / f"{t}.lines").exists() for t in ("v", "l")))
        await nv.close()
        await nl.close()
    asyncio.run(main())
    assert (tmp_path / "v.arg").read_text().strip() == str(vfifo)
    assert (tmp_path / "l.arg").read_text().strip() == str(lfifo)
    assert (tmp_path / "v.lines").read_text().splitlines() == ['INSTANCE "VI_1" MASTER 100',
                                                                "TERM"]
    assert (tmp_path / "l.lines").read_text().splitlines() == ["VS [10.0.0.1]:tcp:80 UP",
                                                                "TERM"]
    assert not any(_alive(p) for p in pids)


def test_no_email_faults_and_no_checker_emails() -> None:
    """no_email_faults drops FAULT mails, no_checker_emails the real/virtual server ones; the
    other alerts are still mailed."""
    from pykeepalived.config import load_text

    def run(glob: str) -> list[str]:
        sink = _Sink()
        port = _free_port()
        ctl = Controller(sink, hostname="127.0.0.1", port=port)
        ctl.start()
        try:
            gd = load_text(f"global_defs {{\n notification_email {{\n  ops@example.org\n }}\n"
                           f" smtp_server 127.0.0.1 {port}\n{glob}\n}}\n").config.global_defs
            inst = VrrpInstance("VI_1", interface="eth0", vrid=51, smtp_alert=True)

            async def main() -> None:
                n = Notifier(gd)
                await n.start()
                n.instance_state(inst, "FAULT", 100)
                n.instance_state(inst, "MASTER", 100)
                n.rs_state("[10.0.0.5]:tcp:80", "[10.0.0.1]:tcp:80", False, smtp_alert=True)
                n.vs_state("[10.0.0.1]:tcp:80", False, smtp_alert=True)
                await n.close(grace=5)
            asyncio.run(main())
        finally:
            ctl.stop()
        return sorted(m[2].split("Subject: ", 1)[1].split("\r\n", 1)[0] for m in sink.messages)

    every = run("")
    assert len(every) == 4 and any("Entering FAULT state" in s for s in every), every
    some = run(" no_email_faults\n no_checker_emails")
    assert len(some) == 1 and "Entering MASTER state" in some[0], some
