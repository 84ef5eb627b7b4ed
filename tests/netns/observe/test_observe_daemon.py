"""The running daemon, metrics off: ``pykeepalived status`` over the children's unix sockets,
stall detection when the VRRP child is frozen, reload and config-load counters."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config, stop_all
from pykeepalived.lab.netns import Lab, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

VIP = "10.87.1.200"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with locked_lab("pkod") as lb:
        lb.add_host("n1", ["10.87.1.11/24"])
        yield lb


def status(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return d.host.run([sys.executable, "-m", "pykeepalived", "status", "-r",
                       f"{d.run_dir}/vrrp.pid", "-c", f"{d.run_dir}/chk.pid", *args],
                      check=False)


def doc(d: Daemon) -> dict[str, Any]:
    r = status(d, "--json")
    assert r.returncode == 0, r.stderr
    v: dict[str, Any] = json.loads(r.stdout)["vrrp"]
    return v


def test_status_stall_and_reload_counters(lab: Lab) -> None:
    h = lab.hosts["n1"]
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",))
    d = Daemon(h, "py", render_config("n1", [inst]))
    try:
        d.start()
        assert wait_for(lambda: d.has_vip(VIP), 20), d.log_text()[-3000:]
        # HTTP off: no metrics child, and the socket is root's only
        assert "Metrics child" not in d.log_text()
        sock = Path(f"{d.run_dir}/vrrp.sock")
        assert sock.is_socket() and (sock.stat().st_mode & 0o777) == 0o600

        table = status(d)
        assert table.returncode == 0, table.stderr
        assert re.search(r"^VI_1\s+eth0\s+51\s+3\s+150\s+MASTER\s+1\s", table.stdout, re.M), \
            table.stdout
        v = doc(d)
        (i,) = v["instances"]
        assert i["status"] == "Master" and i["advertisementInterval"] == 100
        assert i["lastTransition"]["reason"] == "master down timer expired"
        assert v["loop"]["stall_threshold"] == 0.1

        # a frozen VRRP child: keepalived's line and the counter, once it runs again
        child = int(Path(f"{d.run_dir}/vrrp.pid").read_text())
        before = doc(d)["loop"]["stalls"]
        mark = d.mark()
        os.kill(child, signal.SIGSTOP)
        time.sleep(0.6)
        os.kill(child, signal.SIGCONT)
        assert d.wait_log(r"A thread timer expired 0\.[5-9]\d{5} seconds ago", 5, since=mark), \
            d.log_since(mark)
        assert doc(d)["loop"]["stalls"] == before + 1

        # reloads: a broken file is counted as a failed load, a good one as a reload
        d.write_conf(d.conf_text.replace("priority 150", "priority 150\n    bogus {"))
        d.signal(signal.SIGHUP)
        assert d.wait_log(r"Reload of configuration failed", 10, since=mark)
        c = doc(d)["config"]
        assert c["last_load_ok"] is False and c["reloads"] == 0
        d.write_conf(render_config("n1", [inst]))
        mark = d.mark()
        d.signal(signal.SIGHUP)
        assert d.wait_log(r"Reload finished", 10, since=mark)
        c = doc(d)["config"]
        assert c["last_load_ok"] is True and c["reloads"] == 1
        assert c["last_reload_seconds"] is not None
    finally:
        stop_all([d])
    assert not Path(f"{d.run_dir}/vrrp.sock").exists()  # removed at stop
    r = status(d)
    assert r.returncode == 3 and "no status socket found" in r.stderr
