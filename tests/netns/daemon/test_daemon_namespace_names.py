"""``net_namespace``, ``instance`` and ``use_pid_dir`` as keepalived 2.2.7 applies them: the
daemon started in the root namespace joins the configured one (its VIP appears there, not in
the root namespace), pid files move to ``/run/keepalived/[NS/]NAME_INSTANCE.pid``, the syslog
ident gains the names; a namespace that does not exist gets keepalived's lines and exit 0
(checked against keepalived itself)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import InstanceConf, locked_lab, render_config
from pykeepalived.lab.netns import Lab, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

VIP = "10.99.64.200"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with locked_lab("pkns") as lb:
        lb.add_host("n1", ["10.99.64.11/24"])
        yield lb


def conf(top: str, glob: tuple[str, ...] = ()) -> str:
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        state="MASTER")
    return top + render_config("n1", [inst], glob)


def start(tmp: Path, text: str, *extra: str) -> subprocess.Popen[bytes]:
    (tmp / "keepalived.conf").write_text(text)
    log = open(tmp / "log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pykeepalived", "-n", "-l", "-G", "-P", "-f",
             str(tmp / "keepalived.conf"), *extra], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()


def stop(p: subprocess.Popen[bytes]) -> int:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
    return p.returncode


def test_net_namespace_and_instance(lab: Lab, tmp_path: Path) -> None:
    host = lab.hosts["n1"]
    ns = host.ns
    piddir = Path("/run/keepalived") / ns
    shutil.rmtree(piddir, ignore_errors=True)
    p = start(tmp_path, conf(f"net_namespace {ns}\ninstance blue\n"))
    try:
        assert wait_for(lambda: VIP in host.run(["ip", "addr"]).stdout, 20), \
            (tmp_path / "log").read_text()[-2000:]
        root = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
        assert VIP not in root
        assert wait_for(lambda: (piddir / "vrrp_blue.pid").exists(), 5)
        assert int((piddir / "keepalived_blue.pid").read_text()) == p.pid
        log = (tmp_path / "log").read_text()
        assert f"Changing syslog ident to Keepalived_{ns}_blue" in log
        child = int((piddir / "vrrp_blue.pid").read_text())
        # the child joined the namespace with its parent
        assert os.readlink(f"/proc/{child}/ns/net") == os.readlink(f"/proc/{p.pid}/ns/net")
        assert os.readlink(f"/proc/{p.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    finally:
        assert stop(p) == 0
    assert not (piddir / "keepalived_blue.pid").exists()


def test_use_pid_dir_alone(lab: Lab, tmp_path: Path) -> None:
    host = lab.hosts["n1"]
    p = start(tmp_path, conf("use_pid_dir\n"), "-s", host.ns)
    try:
        assert wait_for(lambda: VIP in host.run(["ip", "addr"]).stdout, 20), \
            (tmp_path / "log").read_text()[-2000:]
        # -s is a namespace too: /run/keepalived/NS/keepalived.pid
        pid = Path("/run/keepalived") / host.ns / "keepalived.pid"
        assert wait_for(pid.exists, 5) and int(pid.read_text()) == p.pid
    finally:
        assert stop(p) == 0


@pytest.mark.keepalived
def test_missing_namespace_as_keepalived(tmp_path: Path) -> None:
    text = conf("net_namespace pk_no_such_ns\n")
    p = start(tmp_path, text)
    assert p.wait(30) == 0
    ours = (tmp_path / "log").read_text()
    ka_dir = tmp_path / "ka"
    ka_dir.mkdir()
    (ka_dir / "keepalived.conf").write_text(text)
    ka = subprocess.run(["keepalived", "-n", "-l", "-G", "-P", "-f", str(ka_dir /
                                                                           "keepalived.conf"),
                         "-p", str(ka_dir / "a.pid"), "-r", str(ka_dir / "v.pid"),
                         "-c", str(ka_dir / "c.pid"), "-b", str(ka_dir / "b.pid")],
                        capture_output=True, text=True, timeout=30)
    assert ka.returncode == 0
    for line in ("Changing syslog ident to Keepalived_pk_no_such_ns",
                 "Failed to open /run/netns/pk_no_such_ns",
                 "Unable to set network namespace pk_no_such_ns - exiting"):
        assert line in ka.stderr + ka.stdout, ka.stderr
        assert line in ours, ours
