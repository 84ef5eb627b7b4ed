"""The dump files operators' tools read, compared with keepalived 2.2.7's own.

The same scenario runs under keepalived and under pykeepalived in one namespace, each with a
private ``/tmp`` (a mount namespace where a directory of the test is bound over /tmp, so the
files land there and no other run on the machine sees them); USR1, USR2 and JSON signals are
sent once the instance is MASTER, and the three files are compared after masking what differs
by nature: times, socket descriptor numbers and the advert counters (how many adverts went out
before the signal). ``keepalived.stats`` and ``keepalived.json``
must be equal byte for byte; of ``keepalived.data`` the ``VRRP Topology``, ``VRRP Sockpool`` and
``VRRP Scripts`` sections are (the ones keepalived exporters parse).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import InstanceConf, locked_lab, render_config
from pykeepalived.lab.netns import Host, Lab, over_tmp, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.keepalived, pytest.mark.timeout(300)]

VIP = "10.99.62.200"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with locked_lab("pkdm") as lb:
        lb.add_host("n1", ["10.99.62.11/24"])
        yield lb


@pytest.fixture
def workdir() -> Iterator[Path]:
    # not under /tmp: /tmp is what each daemon gets a private copy of
    d = Path(f"/run/pk-dumps-{os.getpid()}")
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


SCENARIOS = {
    "v2_pass_track_script_notify": dict(
        inst=InstanceConf(priority=150, version=2, advert_int=1, vips=(f"{VIP}/24",),
                          state="MASTER", auth="PASS",
                          extra=("track_script {\n        chk\n    }",
                                 'notify_master "/bin/true master"')),
        blocks=['vrrp_script chk {\n    script "/bin/true"\n    interval 1\n    weight 10\n}']),
    "v3_two_vips_no_auth": dict(
        inst=InstanceConf(priority=120, version=3, advert_int=0.5,
                          vips=(f"{VIP}/24", "10.99.62.201/32"), state="MASTER",
                          extra=("garp_master_delay 2",)),
        blocks=[]),
}


def run_and_dump(host: Host, impl: str, base: Path, conf: str) -> dict[str, str]:
    d = base / impl
    tmp = d / "tmp"
    tmp.mkdir(parents=True)
    (d / "keepalived.conf").write_text(conf)
    pids = ["-p", f"{d}/ka.pid", "-r", f"{d}/vrrp.pid", "-c", f"{d}/chk.pid"]
    prog = ["keepalived", "-b", f"{d}/bfd.pid"] if impl == "ka" else [
        sys.executable, "-m", "pykeepalived"]
    cmd = [*prog, "-n", "-l", "-G", "-P", "-f", f"{d}/keepalived.conf", *pids]
    inner = " ".join(cmd)
    with open(d / "log", "w") as log:
        p = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f"{over_tmp(f'mount --bind {tmp} /tmp', str(d / 'kept'))} && "
             f"exec ip netns exec {host.ns} {inner}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: VIP in host.run(["ip", "addr"]).stdout, 20), \
            (d / "log").read_text()[-2000:]
        time.sleep(0.5)
        pid = int((d / "ka.pid").read_text())
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGRTMIN + 2):
            os.kill(pid, sig)
            time.sleep(0.3)
        names = ("keepalived.data", "keepalived.stats", "keepalived.json")
        assert wait_for(lambda: all((tmp / n).exists() for n in names), 5), os.listdir(tmp)
        time.sleep(0.3)
        return {n: (tmp / n).read_text() for n in names}
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
        host.run(["ip", "addr", "flush", "dev", "eth0", "scope", "global", "to",
                  "10.99.62.200/31"], check=False)


def mask(text: str) -> str:
    # adverts sent/received up to the signal depend on when it arrived, not on the format
    text = re.sub(r'"(advert_sent|advert_rcvd)":\d+', r'"\1":<n>', text)
    text = re.sub(r"(?m)^(    (Sent|Received): )\d+$", r"\1<n>", text)
    text = re.sub(r"\d+\.\d{6} \(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{6} \d{4}\)", "<time>",
                  text)
    text = re.sub(r'"last_transition":\d+\.\d{6}', '"last_transition":<time>', text)
    return re.sub(r"fd_in \d+(,? fd_out =?) ?\d+", r"fd_in <fd>\1 <fd>", text)


def sections(data: str, names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in re.split(r"^(?=------< )", data, flags=re.M):
        m = re.match(r"------< (.+) >------", part)
        if m and m.group(1) in names:
            out[m.group(1)] = part
    return out


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_dumps_match_keepalived(lab: Lab, workdir: Path, scenario: str) -> None:
    host = lab.hosts["n1"]
    sc = SCENARIOS[scenario]
    conf = render_config("n1", [sc["inst"]], ("enable_script_security", "script_user root"),
                         blocks=sc["blocks"])
    theirs = run_and_dump(host, "ka", workdir, conf)
    ours = run_and_dump(host, "py", workdir, conf)
    assert mask(ours["keepalived.stats"]) == mask(theirs["keepalived.stats"])
    assert mask(ours["keepalived.json"]) == mask(theirs["keepalived.json"])
    wanted = ("VRRP Topology", "VRRP Sockpool", "VRRP Scripts")
    want = sections(mask(theirs["keepalived.data"]), wanted)
    got = sections(mask(ours["keepalived.data"]), wanted)
    assert set(want) <= set(got), (want.keys(), got.keys())
    for name in want:
        assert got[name] == want[name], name


def test_json_version_2_from_the_daemon(lab: Lab, workdir: Path) -> None:
    """json_version 2 (keepalived 2.2.8's shape; 2.2.7 has only version 1): an object with the
    instances under ``vrrp`` and the tracked processes under ``track_process``."""
    import json

    host = lab.hosts["n1"]
    inst = InstanceConf(priority=150, version=2, advert_int=1, vips=(f"{VIP}/24",),
                        state="MASTER", extra=("track_process {\n        initd\n    }",))
    conf = render_config("n1", [inst], ("json_version 2",), blocks=[
        "vrrp_track_process initd {\n    process sleep\n    quorum 0\n}"])
    ours = run_and_dump(host, "py", workdir, conf)
    data = json.loads(ours["keepalived.json"])
    assert list(data) == ["vrrp", "track_process"]
    assert data["vrrp"][0]["data"]["iname"] == "VI_1"
    assert data["vrrp"][0]["data"]["track_process"] == ["initd"]
    (proc,) = data["track_process"]
    assert proc["process"] == "sleep" and proc["min_processes"] == 0 and proc["have_quorum"]
    assert '"garp_delay":5,' in ours["keepalived.json"]
