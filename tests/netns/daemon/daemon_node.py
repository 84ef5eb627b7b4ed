"""pykeepalived started in a lab host with its output in a file: the daemon the keyword tests
of this directory drive (``test_daemon_keywords.py``, ``test_daemon_link_keywords.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pykeepalived.lab.netns import Host, wait_for


class Node:
    """pykeepalived in ``host`` on config ``text`` (both children unless ``children`` says
    otherwise, e.g. ``["-P"]`` for the VRRP child alone), logging to ``run/out.log``."""

    def __init__(self, host: Host, run: Path, text: str,
                 children: tuple[str, ...] = ()) -> None:
        self.host, self.run = host, run
        self.conf = run / "keepalived.conf"
        self.conf.write_text(text)
        self.out = run / "out.log"
        cmd = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-D", "-G", *children, "-f",
               str(self.conf), "-p", f"{run}/ka.pid", "-r", f"{run}/vrrp.pid",
               "-c", f"{run}/chk.pid"]
        with open(self.out, "wb") as f:
            self.proc = host.popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=dict(os.environ,
                                                                      PYTHONUNBUFFERED="1"))

    def log(self) -> str:
        return self.out.read_text(errors="replace")

    def pid(self, name: str) -> int:
        path = self.run / name
        assert wait_for(lambda: path.exists() and path.read_text().strip() != "", 15), self.log()
        return int(path.read_text())

    def master(self, vip: str) -> bool:
        r = self.host.run(["ip", "-o", "addr", "show", "dev", "eth0"])
        return f"inet {vip}/" in r.stdout

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
