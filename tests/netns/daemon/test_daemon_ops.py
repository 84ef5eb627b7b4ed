"""Operator-facing daemon behaviour on the real kernel: static ``track_group``, SIGINT, a second
start against a live pid file, daemonizing without ``-n``, ``-D``, the default dump paths.

One lab host ``n1`` (it becomes MASTER of its VRID alone), observed through its log, pid files
and ``ip addr``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config, stop_all
from pykeepalived.lab.netns import Host, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

VIP = "10.99.9.200"
STATIC = "10.99.77.1"


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with locked_lab("pkgop") as lb:
        yield lb.add_host("n1", ["10.99.9.11/24"])


@pytest.fixture
def started(host: Host) -> Iterator[list[Daemon]]:
    ds: list[Daemon] = []
    yield ds
    stop_all(ds)
    host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
    host.run(["ip", "link", "del", "dummy0"], check=False)


def base_conf(blocks: tuple[str, ...] = (), glob: tuple[str, ...] = ()) -> str:
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",))
    return render_config("n1", [inst], glob, blocks)


def add_dummy(host: Host) -> None:
    """A local device to hold the static entries (a veth pair: no dummy module everywhere)."""
    host.run(["ip", "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1"])
    host.run(["ip", "link", "set", "dummy1", "up"])
    host.run(["ip", "link", "set", "dummy0", "up"])


def test_static_track_group_restores_and_faults(host: Host, started: list[Daemon]) -> None:
    """A tracked static address deleted by hand is put back; when it cannot be (its device is
    gone) the group's instance goes FAULT, and leaves FAULT once the device is back."""
    add_dummy(host)
    blocks = ("track_group TG {\n    group {\n        VI_1\n    }\n}",
              f"static_ipaddress {{\n    {STATIC}/32 dev dummy0 track_group TG\n}}",
              "static_routes {\n    10.99.78.0/24 dev dummy0 track_group TG\n}",
              "static_rules {\n    to 10.99.79.0/24 table 79 priority 79 iif dummy0 "
              "track_group TG\n}")
    d = Daemon(host, "py", base_conf(blocks))
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    assert d.has_vip(STATIC, "dummy0")

    host.run(["ip", "addr", "del", f"{STATIC}/32", "dev", "dummy0"])
    assert wait_for(lambda: d.has_vip(STATIC, "dummy0"), 3), d.log_text()[-2000:]
    assert d.wait_log(r"Restored deleted static address", 3)
    # A route or rule deleted by hand (no link or address event) is put back too.
    mark = d.mark()
    host.run(["ip", "route", "del", "10.99.78.0/24", "dev", "dummy0"])
    assert d.wait_log(r"Restored deleted static route 10\.99\.78\.0/24", 3, since=mark), \
        d.log_since(mark)
    assert "10.99.78.0/24" in host.run(["ip", "route"]).stdout
    host.run(["ip", "rule", "del", "to", "10.99.79.0/24", "table", "79", "priority", "79"])
    assert wait_for(lambda: "10.99.79.0/24" in host.run(["ip", "rule"]).stdout, 3)
    time.sleep(0.3)  # every pass re-adds it: EEXIST, never a second copy
    assert host.run(["ip", "rule"]).stdout.count("10.99.79.0/24") == 1
    assert d.state() == "MASTER"

    mark = d.mark()
    host.run(["ip", "link", "del", "dummy0"])
    assert d.wait_log(r"\(VI_1\) Entering FAULT STATE", 5, since=mark), d.log_since(mark)
    assert wait_for(lambda: not d.has_vip(VIP), 3)

    mark = d.mark()
    add_dummy(host)
    assert d.wait_log(r"\(VI_1\) Entering MASTER STATE", 5, since=mark), d.log_since(mark)
    assert wait_for(lambda: d.has_vip(STATIC, "dummy0") and d.has_vip(VIP), 3)


# ---------------------------------------------------------------- process and signals
def launch(host: Host, tmp: Path, conf_text: str, *flags: str,
           prefix: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], Path]:
    """pykeepalived in ``host`` with ``flags`` (no ``-D``/``-l`` unless given); output to a file."""
    conf = tmp / "keepalived.conf"
    conf.write_text(conf_text)
    out = tmp / "out.log"
    cmd = [*prefix, sys.executable, "-m", "pykeepalived", "-P", "-f", str(conf),
           "-p", f"{tmp}/ka.pid", "-r", f"{tmp}/vrrp.pid", "-c", f"{tmp}/chk.pid", *flags]
    with open(out, "wb") as f:
        p = host.popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, PYTHONUNBUFFERED="1"))
    return p, out


def has_vip(host: Host, ip: str = VIP) -> bool:
    return f"inet {ip}/" in host.run(["ip", "-o", "addr", "show", "dev", "eth0"]).stdout


def finish(p: subprocess.Popen[bytes]) -> int | None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
    return p.returncode


def test_sigint_stops_like_term(host: Host, started: list[Daemon]) -> None:
    d = Daemon(host, "py", base_conf())
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    d.signal(signal.SIGINT)
    assert d.proc is not None and d.proc.wait(timeout=10) == 0
    assert not d.has_vip(VIP)
    assert re.search(r"\(VI_1\) sent 0 priority", d.log_text()), d.log_text()[-2000:]
    assert not os.path.exists(f"{d.run_dir}/ka.pid")


def test_second_start_with_live_pid_file_exits_0(host: Host, started: list[Daemon],
                                                 tmp_path: Path) -> None:
    """keepalived 2.2.7 logs "daemon is already running" and exits 0, leaving the running one
    (and its pid file) alone; in daemon mode as well."""
    d = Daemon(host, "py", base_conf())
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    assert d.proc is not None
    pids = ["-p", f"{d.run_dir}/ka.pid", "-r", f"{d.run_dir}/vrrp.pid",
            "-c", f"{d.run_dir}/chk.pid"]
    for mode in (["-n", "-l"], ["-l"]):
        r = host.run([sys.executable, "-m", "pykeepalived", *mode, "-G", "-P", "-f",
                      d.conf_path, *pids], timeout=20)
        assert r.returncode == 0, r.stderr
        assert "daemon is already running" in r.stderr, r.stderr
    assert Path(f"{d.run_dir}/ka.pid").read_text().strip() == str(d.proc.pid)
    assert d.running() and d.has_vip(VIP)


def test_without_n_daemonizes(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(base_conf())
    pid_file = tmp_path / "ka.pid"
    t0 = time.monotonic()
    r = host.run([sys.executable, "-m", "pykeepalived", "-G", "-P", "-f", str(conf),
                  "-p", str(pid_file), "-r", f"{tmp_path}/vrrp.pid", "-c", f"{tmp_path}/c.pid",
                  f"--log-file={tmp_path}/ka.log"], timeout=20)
    assert r.returncode == 0 and time.monotonic() - t0 < 15, r.stderr
    pid: int | None = None
    try:
        assert wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "", 10)
        pid = int(pid_file.read_text())
        assert os.getsid(pid) != os.getsid(0)  # a session of its own, detached from ours
        assert wait_for(lambda: has_vip(host), 15), (tmp_path / "ka_vrrp.log").read_text()
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
        assert not has_vip(host) and not pid_file.exists()
        assert "Entering MASTER STATE" in (tmp_path / "ka_vrrp.log").read_text()
    finally:
        if pid is not None and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)


def test_log_detail_adds_lines(host: Host, started: list[Daemon], tmp_path: Path) -> None:
    detail = r"Sending gratuitous ARP on eth0 for " + re.escape(VIP)
    p, out = launch(host, tmp_path, base_conf(), "-n", "-l", "-G")
    try:
        assert wait_for(lambda: has_vip(host), 15), out.read_text()
        assert wait_for(lambda: "Sending/queueing gratuitous ARPs" in out.read_text(), 5)
        time.sleep(0.5)
    finally:
        assert finish(p) == 0
    plain = out.read_text()
    assert "Entering MASTER STATE" in plain and not re.search(detail, plain), plain

    d = Daemon(host, "py", base_conf())  # the lab's flags include -D
    started.append(d)
    d.start()
    assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
    assert d.wait_log(detail, 5), d.log_text()[-3000:]


def test_dump_files_at_default_paths(host: Host, started: list[Daemon]) -> None:
    """USR1/USR2/SIGRTMIN+2 with no *_dump_file configured: /tmp/keepalived.data/.stats/.json
    (whatever was there before is put back afterwards)."""
    paths = [Path("/tmp/keepalived.data"), Path("/tmp/keepalived.stats"),
             Path("/tmp/keepalived.json")]
    saved = {p: p.read_bytes() for p in paths if p.exists()}
    try:
        for p in paths:
            p.unlink(missing_ok=True)
        d = Daemon(host, "py", base_conf())
        started.append(d)
        d.start()
        assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
        for sig, path, needle in ((signal.SIGUSR1, paths[0], "VRRP Instance = VI_1"),
                                  (signal.SIGUSR2, paths[1], "VRRP Instance: VI_1"),
                                  (signal.SIGRTMIN + 2, paths[2], '"iname":"VI_1"')):
            d.signal(sig)
            assert wait_for(lambda p=path, n=needle: p.exists() and n in p.read_text(), 5), \
                (path, d.log_text()[-1500:])
    finally:
        for p in paths:
            p.unlink(missing_ok=True)
            if p in saved:
                p.write_bytes(saved[p])


# ---------------------------------------------------------------- syslog
# Run the daemon in a private mount namespace whose /dev is a fresh tmpfs holding the usual
# device nodes (bound from the real /dev) and, at /dev/log, the test's own datagram socket.
_PRIVATE_DEVLOG = r"""set -e
T=$1; shift
mkdir -p "$T/olddev"
mount --rbind /dev "$T/olddev"
mount -t tmpfs tmpfs /dev
for f in null zero random urandom full tty; do
    touch "/dev/$f"
    mount --bind "$T/olddev/$f" "/dev/$f"
done
mkdir /dev/pts /dev/shm
mount --rbind "$T/olddev/pts" /dev/pts
mount --rbind "$T/olddev/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
touch /dev/log
mount --bind "$T/log.sock" /dev/log
exec "$@"
"""


def syslog_frames(sock: socket.socket, until: float) -> list[str]:
    out: list[str] = []
    while time.monotonic() < until:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            out.append(sock.recv(65536).decode(errors="replace"))
        except TimeoutError:
            break
    return out


@pytest.mark.parametrize("no_syslog", [False, True], ids=["syslog", "G"])
def test_syslog_facility_and_ident(host: Host, started: list[Daemon], tmp_path: Path,
                                   no_syslog: bool) -> None:
    """Neither -G nor -l: every process logs to /dev/log with the -S facility (local3 → PRI
    19*8+6 for info) and keepalived's idents; with -G nothing reaches /dev/log."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "log.sock"))
    flags = ["-n", "-S", "3", *(["-G", "-l"] if no_syslog else [])]
    prefix = ("unshare", "-m", "--propagation", "private", "sh", "-c", _PRIVATE_DEVLOG, "sh",
              str(tmp_path))
    p, out = launch(host, tmp_path, base_conf(), *flags, prefix=prefix)
    frames: list[str] = []
    try:
        assert wait_for(lambda: has_vip(host) or p.poll() is not None, 15), out.read_text()
        assert p.poll() is None, out.read_text()
        frames = syslog_frames(sock, time.monotonic() + (1.5 if no_syslog else 3.0))
    finally:
        assert finish(p) == 0, out.read_text()
        sock.close()
    if no_syslog:
        assert frames == []
        assert "Entering MASTER STATE" in out.read_text()
        return
    text = "\n".join(frames)
    assert re.search(r"^<158>Keepalived_vrrp\[\d+\]: \(VI_1\) Entering MASTER STATE",
                     text, re.M), text[:3000]
    assert re.search(r"^<158>Keepalived\[\d+\]: Starting pykeepalived", text, re.M), text[:3000]
