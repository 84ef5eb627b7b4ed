"""Two-node clusters, one per implementation, run side by side: the fault matrix and the soak.

A fault scenario means little in absolute seconds on a shared machine; what matters is whether
pykeepalived behaves as keepalived does under the same fault, on the same machine, at the same
time. So each implementation gets a :class:`Side`: its own lab (bridge + ``n1`` + ``n2``, own
address plan), its daemons and a :class:`~pykeepalived.lab.sampler.VipSampler` on both nodes.
:func:`run_sides` runs one scenario function on every side concurrently (the labs share
nothing but the CPU, which both then share alike) and returns what each side measured.

Processes are observed from ``/proc``: :func:`usage` is a process's RSS and open descriptors,
:func:`daemon_processes` a node's parent and children (for the soak's growth checks).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from pykeepalived.lab.cluster import (
    Daemon,
    InstanceConf,
    keepalived_available,
    proc_stats,
    render_config,
)
from pykeepalived.lab.netns import Host, Lab, wait_for
from pykeepalived.lab.sampler import Timeline, VipSampler

IMPL_NAMES = {"py": "pykeepalived", "ka": "keepalived 2.2.7"}
T = TypeVar("T")


def instances(net: str, count: int, priority: int, *, advert: float = 0.1, version: int = 3,
              first_vrid: int = 51, extra: Sequence[str] = ()) -> list[InstanceConf]:
    """``count`` instances VI_1.. with VRIDs from ``first_vrid`` and one VIP each
    (``NET.200``, ``NET.201``, ...), all on ``eth0``."""
    return [InstanceConf(name=f"VI_{i + 1}", vrid=first_vrid + i, priority=priority,
                         version=version, advert_int=advert,
                         vips=(f"{net}.{200 + i}/24 dev eth0",), extra=tuple(extra))
            for i in range(count)]


def vips(net: str, count: int) -> list[str]:
    return [f"{net}.{200 + i}" for i in range(count)]


@dataclass
class Side:
    """One implementation's two-node cluster in its own lab (``n1``, ``n2``, a switch)."""

    impl: str
    lab: Lab
    net: str
    nodes: dict[str, Daemon] = field(default_factory=dict)
    sampler: VipSampler | None = None

    @classmethod
    def build(cls, impl: str, prefix: str, net: str, hosts: Sequence[str] = ("n1", "n2")
              ) -> Side:
        lab = Lab(prefix)
        for i, name in enumerate(hosts):
            lab.add_host(name, [f"{net}.{11 + i}/24"])
        return cls(impl, lab, net)

    @property
    def name(self) -> str:
        return IMPL_NAMES[self.impl]

    def host(self, name: str) -> Host:
        return self.lab.hosts[name]

    def configure(self, name: str, conf_text: str, extra_args: Sequence[str] = (), *,
                  wrapper: Sequence[str] = (), run_dir: str = "") -> Daemon:
        """The daemon of node ``name`` (not started), replacing any earlier one."""
        old = self.nodes.get(name)
        if old is not None and old.running():
            old.stop()
        d = Daemon(self.host(name), self.impl, conf_text, run_dir=run_dir,
                   extra_args=list(extra_args), wrapper=list(wrapper))
        self.nodes[name] = d
        return d

    def pair(self, count: int = 1, *, advert: float = 0.1, prios: tuple[int, int] = (150, 100),
             extra: Sequence[str] = (), global_extra: Sequence[str] = (),
             blocks: Sequence[str] = ()) -> list[str]:
        """Configure n1 and n2 with ``count`` instances (n1 the higher priority); their VIPs."""
        for name, prio in zip(("n1", "n2"), prios, strict=True):
            self.configure(name, render_config(name, instances(self.net, count, prio,
                                                               advert=advert, extra=extra),
                                               global_extra, blocks))
        return vips(self.net, count)

    def start(self, *names: str) -> None:
        for n in names or tuple(self.nodes):
            self.nodes[n].start()

    def sample(self, addresses: Sequence[str], interval: float = 0.005) -> VipSampler:
        """Start sampling ``addresses`` on every host of the lab (stopped by :meth:`reset`)."""
        if self.sampler is not None:
            self.sampler.stop()
        self.sampler = VipSampler({n: h.ns for n, h in self.lab.hosts.items()}, addresses,
                                  interval).start()
        return self.sampler

    def wait_holders(self, addresses: Sequence[str], want: Sequence[str],
                     timeout: float = 30.0) -> bool:
        """Every address held by exactly ``want`` (by the sampler's latest look)."""
        assert self.sampler is not None
        s, w = self.sampler, frozenset(want)
        return wait_for(lambda: all(s.now_holders(a) == w for a in addresses), timeout, 0.01)

    def stop_sampling(self) -> Timeline:
        assert self.sampler is not None
        tl = self.sampler.stop()
        self.sampler = None
        return tl

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {d.name}\n{d.log_text()[-tail:]}" for d in self.nodes.values())

    def reset(self) -> None:
        """Stop daemons and sampler, undo faults (links, partitions, loss), drop leftovers."""
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None
        for d in self.nodes.values():  # a crash of each group: a graceful stop is no test's
            if d.proc is not None:        # business here, and costs a second per daemon
                d.crash()
        self.nodes.clear()
        self.lab.unisolate_all()
        for h in self.lab.hosts.values():
            if h.run(["ip", "link", "show", "eth0"], check=False).returncode != 0:
                h.replug()
            h.run(["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"], check=False)
            h.run(["nft", "delete", "table", "inet", "pykeepalived"], check=False)  # LVS
            h.heal()
            h.port_loss(0)
            own = {a.split("/")[0] for a in h.addrs}
            out = h.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"], check=False).stdout
            for m in re.finditer(r"inet (\S+)", out):
                if m.group(1).split("/")[0] not in own:
                    h.run(["ip", "addr", "del", m.group(1), "dev", "eth0"], check=False)

    def close(self) -> None:
        self.reset()
        self.lab.cleanup()


@contextlib.contextmanager
def sides(impls: Sequence[str], prefix: str, net_base: str = "10.98"
          ) -> Iterator[dict[str, Side]]:
    """One :class:`Side` per implementation (labs ``PREFIX`` + impl, nets ``NET_BASE.1``,
    ``.2``...), torn down on exit. keepalived is left out when it is not installed."""
    out: dict[str, Side] = {}
    try:
        for i, impl in enumerate(impls):
            if impl == "ka" and not keepalived_available():
                continue
            out[impl] = Side.build(impl, f"{prefix}{impl}", f"{net_base}.{i + 1}")
        yield out
    finally:
        for s in out.values():
            with contextlib.suppress(Exception):
                s.close()


def run_sides(all_sides: dict[str, Side], fn: Callable[[Side], T],
              concurrent: bool = True) -> dict[str, T]:
    """``fn(side)`` for every side, concurrently (one thread each) unless told otherwise;
    the first exception is raised after all have finished."""
    if not concurrent or len(all_sides) < 2:
        return {impl: fn(s) for impl, s in all_sides.items()}
    with ThreadPoolExecutor(len(all_sides)) as ex:
        futs = {impl: ex.submit(fn, s) for impl, s in all_sides.items()}
        return {impl: f.result() for impl, f in futs.items()}


# ----------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Usage:
    rss_kib: int
    fds: int
    threads: int


def usage(pid: int) -> Usage | None:
    """RSS, open descriptors and threads of ``pid`` (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
    thr = re.search(r"^Threads:\s+(\d+)", status, re.M)
    return Usage(int(rss.group(1)) if rss else 0, fds, int(thr.group(1)) if thr else 0)


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    return [p for p, f in proc_stats() if int(f[1]) == pid]


def read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def daemon_processes(d: Daemon) -> dict[str, int]:
    """The node's daemon processes by role: ``parent``, ``vrrp``, ``checker`` (those running)."""
    out: dict[str, int] = {}
    if d.proc is None or d.proc.poll() is not None:
        return out
    out["parent"] = d.proc.pid
    for role, f in (("vrrp", "vrrp.pid"), ("checker", "chk.pid")):
        pid = read_pid(os.path.join(d.run_dir, f))
        if pid is not None and os.path.exists(f"/proc/{pid}"):
            out[role] = pid
    return out


def wait_new_pid(d: Daemon, role: str, old: int, timeout: float = 15.0) -> int | None:
    """The pid of ``role`` once it differs from ``old`` (a respawned child), or None."""
    got: list[int] = []

    def check() -> bool:
        pid = daemon_processes(d).get(role)
        if pid is not None and pid != old:
            got.append(pid)
            return True
        return False

    return got[-1] if wait_for(check, timeout, 0.05) else None


class Ticker:
    """Run ``fn`` every ``period`` seconds in a thread until stopped (fault injection)."""

    def __init__(self, period: float, fn: Callable[[], object]) -> None:
        self.period, self.fn = period, fn
        self._stop = threading.Event()
        self.count = 0
        self._th = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        nxt = time.monotonic()
        while not self._stop.is_set():
            self.fn()
            self.count += 1
            nxt += self.period
            self._stop.wait(max(0.0, nxt - time.monotonic()))

    def start(self) -> Ticker:
        self._th.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._th.join(10)
        return self.count
