"""A real Prometheus server in a lab namespace, for tests that scrape pykeepalived's
``/metrics`` the way an operator's monitoring does and ask Prometheus's HTTP query API what it
stored (Debian's ``prometheus`` package; ``scripts/setup.sh`` installs it).

Its configuration, storage and log live in a directory of the caller's; it listens on the
namespace's loopback only, and is killed with the namespace's processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Sequence
from typing import Any

from pykeepalived.lab.netns import Host, wait_for

PROMETHEUS = "prometheus"


def prometheus_available() -> bool:
    return shutil.which(PROMETHEUS) is not None


class PrometheusServer:
    """``prometheus`` scraping ``targets`` (``host:port``) every ``interval`` seconds."""

    def __init__(self, host: Host, workdir: str, targets: Sequence[str],
                 interval: float = 1.0, port: int = 9090) -> None:
        self.host = host
        self.workdir = workdir
        self.targets = list(targets)
        self.interval = interval
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = os.path.join(workdir, "prometheus.log")

    def config_text(self) -> str:
        ms = max(10, round(self.interval * 1000))
        targets = ", ".join(f'"{t}"' for t in self.targets)
        return (f"global:\n  scrape_interval: {ms}ms\n  scrape_timeout: {ms}ms\n"
                f"  evaluation_interval: {ms}ms\n"
                "scrape_configs:\n  - job_name: keepalived\n"
                f"    static_configs:\n      - targets: [{targets}]\n")

    def start(self, timeout: float = 30.0) -> None:
        os.makedirs(os.path.join(self.workdir, "data"), exist_ok=True)
        conf = os.path.join(self.workdir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(self.config_text())
        with open(self.log_path, "ab") as log:
            self.proc = self.host.popen(
                [PROMETHEUS, f"--config.file={conf}",
                 f"--storage.tsdb.path={os.path.join(self.workdir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not wait_for(lambda: self._get("/-/ready") is not None, timeout):
            raise RuntimeError(f"prometheus did not become ready: {self.log_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_text(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _get(self, path: str) -> str | None:
        """GET on Prometheus from inside its namespace (curl), or None when it fails."""
        r = self.host.run(["curl", "-sf", "--max-time", "5",
                           f"http://127.0.0.1:{self.port}{path}"], check=False, timeout=10)
        return r.stdout if r.returncode == 0 else None

    def api(self, endpoint: str, **params: str) -> Any:
        """``/api/v1/ENDPOINT`` with ``params``: the ``data`` of a successful answer."""
        body = self._get(f"/api/v1/{endpoint}?{urllib.parse.urlencode(params)}")
        if body is None:
            raise RuntimeError(f"prometheus /api/v1/{endpoint} failed")
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError(f"prometheus: {doc}")
        return doc["data"]

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant query: (labels, value) per series."""
        data = self.api("query", query=expr)
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def history(self, expr: str, seconds: float) -> list[tuple[dict[str, str],
                                                               list[tuple[float, float]]]]:
        """Every stored sample of ``expr``'s series in the last ``seconds`` (a range selector
        in an instant query: the raw scrapes, not interpolated steps)."""
        data = self.api("query", query=f"{expr}[{max(1, round(seconds))}s]")
        return [(r["metric"], [(float(t), float(v)) for t, v in r["values"]])
                for r in data["result"]]

    def value(self, expr: str) -> float | None:
        """The single series' value, or None when there is none (or several)."""
        got = self.query(expr)
        return got[0][1] if len(got) == 1 else None

    def wait_value(self, expr: str, want: float, timeout: float) -> bool:
        return wait_for(lambda: self.value(expr) == want, timeout, interval=0.25)



_SCRAPE_LOOP = """
import sys, time, urllib.request
url, interval = sys.argv[1], float(sys.argv[2])
while True:
    began = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            r.read()
        print("ok", flush=True)
    except OSError:
        print("failed", flush=True)
    time.sleep(max(0.0, interval - (time.monotonic() - began)))
"""


class Scraper:
    """A plain scraper for benchmarks: one small process per host, inside its namespace, that
    GETs ``url`` every ``interval`` seconds until ``stop`` (no process started per scrape, so
    the harness adds little load of its own); counts the answers and the failures."""

    def __init__(self, hosts: Sequence[Host], url: str, interval: float) -> None:
        self.hosts, self.url, self.interval = list(hosts), url, interval
        self.scrapes = 0
        self.failures = 0
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> Scraper:
        for h in self.hosts:
            self._procs.append(h.popen([sys.executable, "-c", _SCRAPE_LOOP, self.url,
                                        str(self.interval)], stdout=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL))
        return self

    def stop(self) -> None:
        for p in self._procs:
            p.terminate()
            out, _ = p.communicate(timeout=10)
            lines = out.decode().split()
            self.scrapes += len(lines)
            self.failures += lines.count("failed")
        self._procs = []
