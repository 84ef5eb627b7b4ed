"""A whole pykeepalived (VRRP and checker children) in a lab host, for tests that need both:
directors whose VIP moves with VRRP while their checkers keep the LVS table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pykeepalived.lab.netns import Host


class Director:
    """``pykeepalived -n -l -D -G`` with its config, pid files and log under ``run``."""

    def __init__(self, host: Host, run: Path, conf: str) -> None:
        self.host = host
        self.run = run
        run.mkdir()
        self.conf = run / "keepalived.conf"
        self.conf.write_text(conf)
        self.log = run / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = self.host.popen(
                [sys.executable, "-m", "pykeepalived", "-n", "-l", "-D", "-G",
                 "-f", str(self.conf), "-p", str(self.run / "k.pid"),
                 "-r", str(self.run / "v.pid"), "-c", str(self.run / "c.pid")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONUNBUFFERED="1"))

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(20)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def has_address(self, addr: str) -> bool:
        out = self.host.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
        return f"inet {addr}/" in out

    def ruleset(self) -> str:
        """Its nftables data plane's table (empty when there is none)."""
        return self.host.run(["nft", "list", "table", "inet", "pykeepalived"],
                             check=False).stdout

    def kill(self) -> None:
        """At the end of a test: TERM if still running, KILL if it lingers; always reaped."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)  # reaped: no zombie left under the test runner
