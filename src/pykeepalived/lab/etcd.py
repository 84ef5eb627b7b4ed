"""A three-member etcd cluster (Debian's etcd-server) in lab namespaces.

Each member runs in its own host namespace with its own data directory under the lab's run
directory, with a short heartbeat (50 ms) and election timeout (500 ms) so that etcd's
minimum lease TTL is 1 s and a lost leader is replaced quickly. ``stop()``/``start()`` of a
single member keep its data (it rejoins); ``stop_all`` is "the arbiter is down".
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pykeepalived.lab.cluster import RUN_ROOT
from pykeepalived.lab.netns import Host


def etcd_available() -> bool:
    return shutil.which("etcd") is not None


@dataclass
class EtcdMember:
    host: Host
    name: str
    ip: str
    cluster: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.ip}:2379"

    @property
    def data_dir(self) -> str:
        return os.path.join(RUN_ROOT, self.host.ns, "etcd")

    def start(self, fresh: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        if fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        os.makedirs(os.path.dirname(self.data_dir), exist_ok=True)
        log = open(os.path.join(RUN_ROOT, self.host.ns, "etcd.log"), "ab")  # noqa: SIM115
        self.proc = self.host.popen([
            "etcd", "--name", self.name, "--data-dir", self.data_dir,
            "--listen-client-urls", f"{self.url},http://127.0.0.1:2379",
            "--advertise-client-urls", self.url,
            "--listen-peer-urls", f"http://{self.ip}:2380",
            "--initial-advertise-peer-urls", f"http://{self.ip}:2380",
            "--initial-cluster", self.cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", "pykeepalived-lab",
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def healthy(self) -> bool:
        """This member answers and sees a leader (a linearizable read succeeds)."""
        r = self.host.run(["curl", "-s", "-m", "1", "-X", "POST",
                           "http://127.0.0.1:2379/v3/kv/range", "-d", '{"key": "AA=="}'],
                          check=False, timeout=5)
        try:
            return "header" in json.loads(r.stdout or "{}")
        except ValueError:
            return False


class EtcdCluster:
    def __init__(self, hosts: Sequence[Host]) -> None:
        ips = [h.ip4() for h in hosts]
        cluster = ",".join(f"e{i}=http://{ip}:2380" for i, ip in enumerate(ips, 1))
        self.members = [EtcdMember(h, f"e{i}", ip, cluster)
                        for i, (h, ip) in enumerate(zip(hosts, ips, strict=True), 1)]

    @property
    def endpoints(self) -> list[str]:
        return [m.url for m in self.members]

    def start(self, fresh: bool = True, timeout: float = 20.0) -> None:
        for m in self.members:
            m.start(fresh=fresh)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(m.healthy() for m in self.members if m.proc is not None):
                return
            time.sleep(0.2)
        raise TimeoutError("etcd cluster did not become healthy")

    def stop_all(self) -> None:
        for m in self.members:
            m.stop()

    def get(self, key: str, via: int = 0) -> dict[str, object] | None:
        """The key's record (value decoded) read through member ``via``, or None."""
        m = self.members[via]
        body = json.dumps({"key": base64.b64encode(key.encode()).decode()})
        r = m.host.run(["curl", "-s", "-m", "2", "-X", "POST", "http://127.0.0.1:2379/v3/kv/range",
                        "-d", body], check=False)
        kvs = json.loads(r.stdout or "{}").get("kvs") or []
        if not kvs:
            return None
        kv = dict(kvs[0])
        kv["value"] = base64.b64decode(str(kv.get("value", ""))).decode()
        return kv
