"""Hosts on a shared L2 segment, each in its own network namespace.

One namespace holds a Linux bridge (the "switch"); every host namespace gets a veth whose host
end is ``eth0`` and whose switch end is ``p-<host>`` on the bridge. Used by the demo, the
namespace tests and the benchmarks. Every namespace name starts with the lab's prefix, so a lab
can always remove what an earlier, crashed run left behind without touching anyone else's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOCK_DIR = os.environ.get("PKD_LOCKS", "/tmp")
_held: dict[str, int] = {}  # prefix -> depth of lab_lock in this process


@contextlib.contextmanager
def lab_lock(prefix: str, wait: float = 540.0) -> Iterator[None]:
    """Hold the machine-wide lock of the lab ``prefix`` (a ``flock`` on a file in /tmp).

    Two runs of the same tests (a CI clone and a working copy, say) would otherwise share the
    same namespace names: ``Lab(prefix)`` removes "stale" namespaces of its prefix, i.e. the
    other run's live ones. The second run waits here instead. Re-entrant within one process;
    the kernel drops the lock when the holder dies.
    """
    if prefix in _held:
        _held[prefix] += 1
        try:
            yield
        finally:
            _held[prefix] -= 1
        return
    fd = os.open(os.path.join(LOCK_DIR, f"pykeepalived-lab-{prefix}.lock"),
                 os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"lab {prefix}: another run held its lock for "
                                       f"{wait:g} s") from None
                time.sleep(0.2)
        _held[prefix] = 1
        try:
            yield
        finally:
            del _held[prefix]
    finally:
        os.close(fd)  # releases the flock


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def over_tmp(mount: str, stage: str, then: str = "") -> str:
    """Shell commands, for a private mount namespace, that run ``mount`` (something mounted on
    /tmp) and keep this checkout and its interpreter reachable when they live under /tmp
    themselves (a clone in /tmp): they are bound aside to ``stage`` first, then back at their
    own path in the new /tmp, before ``then`` (say, filling it) runs."""
    here = Path(__file__).resolve().parents[3]
    keep = sorted({str(p) for p in (here, Path(sys.prefix).resolve())
                   if Path("/tmp") in p.parents})
    keep = [k for k in keep if not any(Path(o) in Path(k).parents for o in keep)]
    cmds = [f"mkdir -p {stage}/{n} && mount --bind {k} {stage}/{n}" for n, k in enumerate(keep)]
    cmds.append(mount)
    cmds += [f"mkdir -p {k} && mount --bind {stage}/{n} {k}" for n, k in enumerate(keep)]
    return " && ".join(cmds) + (f" && {then}" if then else "")


def list_netns() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_available() -> bool:
    """True when we are root and ``ip netns`` works (what every namespace test needs)."""
    if os.geteuid() != 0:
        return False
    return _ip("netns", "list", check=False).returncode == 0


@dataclass
class Host:
    """A namespace with one interface, ``eth0``, plugged into the lab's bridge."""

    lab: Lab
    name: str
    ns: str
    addrs: list[str]
    mac: str
    ifname: str = "eth0"
    port: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cmd(self, argv: Sequence[str] | str) -> list[str]:
        args = shlex.split(argv) if isinstance(argv, str) else list(argv)
        return ["ip", "netns", "exec", self.ns, *args]

    def run(self, argv: Sequence[str] | str, check: bool = True,
            timeout: float | None = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(argv), check=check, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, argv: Sequence[str] | str, **kw: object) -> subprocess.Popen[bytes]:
        """Start a process in this namespace in its own process group; killed at cleanup."""
        kw.setdefault("start_new_session", True)
        p: subprocess.Popen[bytes] = subprocess.Popen(self.cmd(argv), **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def ip4(self) -> str:
        return next(a.split("/")[0] for a in self.addrs if ":" not in a)

    def cut(self) -> None:
        """Take the switch port down: the host sees its link go away (no carrier)."""
        _ip("-n", self.lab.switch_ns, "link", "set", self.port, "down")

    def heal(self) -> None:
        _ip("-n", self.lab.switch_ns, "link", "set", self.port, "up")

    def unplug(self) -> None:
        """Delete the host's interface (both ends of its veth): gone, not just down."""
        _ip("-n", self.lab.switch_ns, "link", "del", self.port)

    def replug(self) -> None:
        """Create the interface again, as :meth:`Lab.add_host` made it (same name, MAC and
        addresses; a new ifindex, as for any re-created device)."""
        self.lab._plug(self)

    def isolate(self) -> None:
        """Drop every frame to and from this host at the bridge, leaving its link up."""
        self.lab.nft_switch(f"add rule bridge pklab pkfwd iifname {self.port} drop")
        self.lab.nft_switch(f"add rule bridge pklab pkfwd oifname {self.port} drop")

    def unisolate(self) -> None:
        self.lab.unisolate_all()

    def port_loss(self, percent: int) -> None:
        """Randomly drop ``percent`` % of the frames through this host's switch port, each
        way (nftables ``numgen random`` at the bridge: the kernel has no netem here)."""
        if percent <= 0 and not self.lab._bridge_nft:
            return
        lab = self.lab
        lab.nft_switch("add chain bridge pklab pkloss { type filter hook forward priority -1 ; }")
        # one rule per direction and port: flush only this port's rules by rebuilding the chain
        lab._loss[self.port] = percent
        lab.nft_switch("flush chain bridge pklab pkloss")
        for port, pc in lab._loss.items():
            if pc > 0:
                for way in ("iifname", "oifname"):
                    lab.nft_switch(f"add rule bridge pklab pkloss {way} {port} "
                                   f"numgen random mod 100 < {pc} drop")

    def loss(self, percent: int) -> None:
        """Randomly drop ``percent`` % of the frames this host receives (nftables numgen)."""
        self.run(["nft", "add table inet pkloss"], check=False)
        self.run(["nft", "add chain inet pkloss in { type filter hook ingress device eth0 "
                  "priority 0 ; }"], check=False)
        self.run(["nft", "flush chain inet pkloss in"], check=False)
        if percent > 0:
            self.run(["nft", f"add rule inet pkloss in numgen random mod 100 < {percent} drop"])

    def stop_procs(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, 9)
                with contextlib.suppress(Exception):
                    p.wait(timeout=5)
        self.procs.clear()


class Lab:
    """A bridge plus hosts. Use as a context manager, or call ``cleanup()`` in a finally."""

    def __init__(self, prefix: str, ipv6: bool = False) -> None:
        if not prefix or len(prefix) > 8:
            raise ValueError("lab prefix must be 1-8 characters")
        self.prefix = prefix
        self.ipv6 = ipv6
        self._lock: contextlib.ExitStack | None = contextlib.ExitStack()
        self._lock.enter_context(lab_lock(prefix))
        self.switch_ns = f"{prefix}sw"
        self.hosts: dict[str, Host] = {}
        self._bridge_nft = False
        self._loss: dict[str, int] = {}  # switch port -> percent dropped (Host.port_loss)
        self.remove_stale(prefix)
        _ip("netns", "add", self.switch_ns)
        self._sysctl(self.switch_ns, "net.ipv6.conf.all.disable_ipv6", "1")
        _ip("-n", self.switch_ns, "link", "set", "lo", "up")
        _ip("-n", self.switch_ns, "link", "add", "br0", "type", "bridge", "stp_state", "0",
            "mcast_snooping", "0", "forward_delay", "0")
        _ip("-n", self.switch_ns, "link", "set", "br0", "up")

    @staticmethod
    def remove_stale(prefix: str) -> None:
        for ns in list_netns():
            if ns.startswith(prefix):
                subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
                pids = _ip("netns", "pids", ns, check=False).stdout.split()
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), 9)
                _ip("netns", "del", ns, check=False)

    @staticmethod
    def _sysctl(ns: str, key: str, value: str) -> None:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}"],
                       capture_output=True)

    def nft_switch(self, rule: str) -> None:
        if not self._bridge_nft:
            for r in ("add table bridge pklab",
                      "add chain bridge pklab pkfwd { type filter hook forward priority 0 ; }"):
                subprocess.run(["ip", "netns", "exec", self.switch_ns, "nft", r], check=True,
                               capture_output=True)
            self._bridge_nft = True
        subprocess.run(["ip", "netns", "exec", self.switch_ns, "nft", rule], check=True,
                       capture_output=True)

    def unisolate_all(self) -> None:
        """Undo every :meth:`Host.isolate` of the lab."""
        if self._bridge_nft:
            self.nft_switch("flush chain bridge pklab pkfwd")

    def add_host(self, name: str, addrs: Sequence[str], mac: str | None = None) -> Host:
        """Add host ``name`` with addresses like ``10.77.0.11/24`` (and IPv6 when wanted)."""
        index = len(self.hosts) + 1
        ns = f"{self.prefix}{name}"
        mac = mac or f"02:{(sum(map(ord, self.prefix)) & 0xFF):02x}:00:00:00:{index:02x}"
        port = f"p-{name}"[:15]
        _ip("netns", "add", ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        if self.ipv6:
            for key in ("net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"):
                self._sysctl(ns, key, "0")
        else:
            self._sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
            self._sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
        host = Host(self, name, ns, list(addrs), mac, port=port)
        self._plug(host)
        self.hosts[name] = host
        return host

    def _plug(self, host: Host) -> None:
        """The host's ``eth0``: a veth whose other end is its port on the bridge."""
        ns, port = host.ns, host.port
        _ip("-n", self.switch_ns, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns)
        _ip("-n", ns, "link", "set", "eth0", "address", host.mac)
        if self.ipv6:
            # A stable EUI-64 link-local from the unique MAC, without waiting for DAD.
            self._sysctl(ns, "net.ipv6.conf.eth0.accept_dad", "0")
        for a in host.addrs:
            _ip("-n", ns, "addr", "add", a, "dev", "eth0")
        _ip("-n", self.switch_ns, "link", "set", port, "master", "br0")
        _ip("-n", self.switch_ns, "link", "set", port, "up")
        _ip("-n", ns, "link", "set", "eth0", "up")

    def cleanup(self) -> None:
        for h in self.hosts.values():
            h.stop_procs()
        self.remove_stale(self.prefix)
        self.hosts.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@contextlib.contextmanager
def lab(prefix: str, ipv6: bool = False) -> Iterator[Lab]:
    lb = Lab(prefix, ipv6=ipv6)
    try:
        yield lb
    finally:
        lb.cleanup()


def wait_for(predicate: object, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return bool(predicate())  # type: ignore[operator]
