"""``pykeepalived -C`` as a real daemon in a pkh namespace: the supervisor starts the checker
child, which logs keepalived's phrases as a real server dies and comes back, and stops on TERM.
The data plane is nftables (this kernel has no IPVS); its rules are tested under tests/*/lvs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pykeepalived.lab.netns import Lab

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def wait(pred: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_checker_daemon_logs_keepalived_phrases(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text("""
global_defs {
  lvs_dataplane nftables
}
virtual_server 10.68.0.100 80 {
  delay_loop 1
  lb_algo rr
  protocol TCP
  real_server 10.68.0.11 8080 {
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 1
    }
  }
}
""")
    log = tmp_path / "daemon.log"
    with Lab("pkhd") as lab:
        director = lab.add_host("dir", ["10.68.0.1/24"])
        director.run(["ip", "addr", "add", "10.68.0.100/32", "dev", "lo"])
        rs = lab.add_host("rs1", ["10.68.0.11/24"])

        def serve() -> None:
            rs.popen([sys.executable, "-m", "http.server", "8080", "--bind", "10.68.0.11"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert wait(lambda: ":8080" in rs.run(["ss", "-ltnH"], check=False).stdout, 10)

        serve()
        with open(log, "wb") as out:
            daemon = director.popen(
                [sys.executable, "-m", "pykeepalived", "-C", "-n", "-l", "-G",
                 "-f", str(conf), "-p", str(tmp_path / "k.pid"),
                 "-c", str(tmp_path / "c.pid"), "-r", str(tmp_path / "r.pid")],
                stdout=out, stderr=subprocess.STDOUT)
        try:
            def logged(text: str) -> Callable[[], bool]:
                return lambda: text in log.read_text()

            assert wait(logged("TCP connection to [10.68.0.11]:tcp:8080 success."), 20), \
                log.read_text()
            assert "Gained quorum 1+0=1 <= 1 for VS [10.68.0.100]:tcp:80" in log.read_text()
            # the checker child survives the VRRP-only signals and dumps on USR1
            child = int((tmp_path / "c.pid").read_text().split()[0])
            data = Path("/tmp/keepalived_check.data")
            data.unlink(missing_ok=True)
            for sig in (signal.SIGUSR2, signal.SIGRTMIN + 2, signal.SIGUSR1):
                os.kill(child, sig)
            assert wait(lambda: data.exists() and "RS [10.68.0.11]:tcp:8080, alive"
                        in data.read_text(), 5)
            os.kill(child, 0)
            rs.stop_procs()
            assert wait(logged("TCP_CHECK on service [10.68.0.11]:tcp:8080 failed after 1 "
                               "retries."), 6), log.read_text()
            assert wait(logged("Removing service [10.68.0.11]:tcp:8080 from VS "
                               "[10.68.0.100]:tcp:80"), 2)
            assert wait(logged("Lost quorum 1-0=1 > 0 for VS [10.68.0.100]:tcp:80"), 2)
            serve()
            assert wait(logged("Adding service [10.68.0.11]:tcp:8080 to VS "
                               "[10.68.0.100]:tcp:80"), 6), log.read_text()
            # SIGHUP to the parent: the checker child reloads by diff (a new, dead server)
            conf.write_text(conf.read_text().replace("""  real_server 10.68.0.11 8080 {""",
                                                     """  real_server 10.68.0.12 8080 {
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
  real_server 10.68.0.11 8080 {"""))
            daemon.send_signal(signal.SIGHUP)
            assert wait(logged("Activating healthchecker for service [10.68.0.12]:tcp:8080"),
                        10), log.read_text()
            assert wait(logged("TCP_CHECK on service [10.68.0.12]:tcp:8080 failed."), 6), \
                log.read_text()
            assert log.read_text().count("Activating healthchecker for service "
                                         "[10.68.0.11]:tcp:8080") == 1  # state kept
        finally:
            daemon.send_signal(signal.SIGTERM)
            rc = daemon.wait(15)
        assert rc == 0, log.read_text()
        assert "Stopped" in log.read_text()
