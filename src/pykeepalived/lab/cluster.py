"""VRRP daemons in lab hosts: config generation, start/stop/crash, log and address observation.

Both implementations are driven the same way so a test or a benchmark can mix them freely:
``impl="ka"`` runs Debian's keepalived, ``impl="py"`` runs pykeepalived, each as
``-n -l -D -G -P -f CONF`` with its own pid files in its own run directory. Every daemon is
started with ``setsid`` (pid == process group), so :meth:`Daemon.crash` kills the parent and its
children in one ``kill(2)``: a crash, not the graceful stop a lone parent SIGKILL turns into.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pykeepalived.lab.netns import Host, Lab, lab_lock, wait_for

RUN_ROOT = os.environ.get("PKD_RUN", "/tmp/pkd-run")
@contextlib.contextmanager
def locked_lab(prefix: str, ipv6: bool = False) -> Iterator[Lab]:
    """``Lab(prefix)`` under :func:`lab_lock`, cleaned up on exit."""
    with lab_lock(prefix):
        lb = Lab(prefix, ipv6=ipv6)
        try:
            yield lb
        finally:
            lb.cleanup()


@dataclass
class InstanceConf:
    """One vrrp_instance as the lab scenarios need it (rendered to keepalived.conf syntax)."""

    name: str = "VI_1"
    vrid: int = 51
    priority: int = 100
    version: int = 2
    advert_int: float = 1.0
    interface: str = "eth0"
    vips: Sequence[str] = ("10.99.0.200/24",)
    auth: str | None = None  # None, "PASS" or "AH"
    auth_pass: str = "pkd-pass"
    state: str = "BACKUP"
    nopreempt: bool = False
    preempt_delay: float = 0.0
    unicast_src: str | None = None
    unicast_peers: Sequence[str] = ()
    v3_checksum_as_v2: bool = False
    use_vmac: bool = False
    vmac_xmit_base: bool = False
    extra: Sequence[str] = ()

    def render(self) -> str:
        o = [f"vrrp_instance {self.name} {{",
             f"    state {self.state}",
             f"    interface {self.interface}",
             f"    virtual_router_id {self.vrid}",
             f"    priority {self.priority}",
             f"    advert_int {_num(self.advert_int)}",
             f"    version {self.version}"]
        if self.nopreempt:
            o.append("    nopreempt")
        if self.preempt_delay:
            o.append(f"    preempt_delay {_num(self.preempt_delay)}")
        if self.auth:
            o += ["    authentication {", f"        auth_type {self.auth}",
                  f"        auth_pass {self.auth_pass}", "    }"]
        if self.unicast_src:
            o.append(f"    unicast_src_ip {self.unicast_src}")
        if self.unicast_peers:
            o.append("    unicast_peer {")
            o += [f"        {p}" for p in self.unicast_peers]
            o.append("    }")
        if self.v3_checksum_as_v2:
            o.append("    v3_checksum_as_v2")
        if self.use_vmac:
            o.append("    use_vmac")
        if self.vmac_xmit_base:
            o.append("    vmac_xmit_base")
        o += [f"    {x}" for x in self.extra]
        o.append("    virtual_ipaddress {")
        o += [f"        {v}" for v in self.vips]
        o += ["    }", "}"]
        return "\n".join(o)


def render_config(router_id: str, instances: Sequence[InstanceConf],
                  global_extra: Sequence[str] = (), blocks: Sequence[str] = ()) -> str:
    """A keepalived.conf: global_defs, then raw ``blocks`` (vrrp_script, ...), then instances."""
    g = ["global_defs {", f"    router_id {router_id}", *[f"    {x}" for x in global_extra], "}"]
    parts = ["\n".join(g), *blocks, *(i.render() for i in instances)]
    return "\n\n".join(parts) + "\n"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def command_for(impl: str, conf: str, run: str, vrrp_only: bool = True) -> list[str]:
    """The foreground command line of one node, keepalived's lab flags for both implementations
    (``-P``, VRRP only, unless ``vrrp_only`` is False: then the checker runs too)."""
    pids = ["-p", f"{run}/ka.pid", "-r", f"{run}/vrrp.pid", "-c", f"{run}/chk.pid"]
    flags = ["-n", "-l", "-D", "-G", *(["-P"] if vrrp_only else [])]
    if impl == "ka":
        return ["keepalived", *flags, "-f", conf, *pids, "-b", f"{run}/bfd.pid"]
    if impl == "py":
        return [sys.executable, "-m", "pykeepalived", *flags, "-f", conf, *pids]
    raise ValueError(f"unknown implementation {impl!r}")


_TS = re.compile(r"^\w{3} \w{3} +\d+ (\d\d):(\d\d):(\d\d)(\.\d+)? \d{4}: ")


@dataclass
class Daemon:
    """One VRRP daemon (keepalived or pykeepalived) in one lab host."""

    host: Host
    impl: str
    conf_text: str
    run_dir: str = ""
    proc: subprocess.Popen[bytes] | None = None
    log_path: str = ""
    _log_offset: int = 0
    extra_args: list[str] = field(default_factory=list)
    # argv run in front of the daemon's own (``prlimit --nofile=64 --``, an ``unshare`` that
    # mounts a small /tmp...): it must exec the rest, so the daemon keeps the pid
    wrapper: list[str] = field(default_factory=list)
    vrrp_only: bool = True  # -P; False runs the checker child as well

    def __post_init__(self) -> None:
        if not self.run_dir:
            self.run_dir = os.path.join(RUN_ROOT, self.host.ns)
        os.makedirs(self.run_dir, exist_ok=True)
        self.log_path = os.path.join(self.run_dir, "daemon.log")

    @property
    def name(self) -> str:
        return f"{self.host.name}({'keepalived' if self.impl == 'ka' else 'pykeepalived'})"

    @property
    def conf_path(self) -> str:
        return os.path.join(self.run_dir, "keepalived.conf")

    def write_conf(self, text: str | None = None) -> None:
        if text is not None:
            self.conf_text = text
        with open(self.conf_path, "w") as f:
            f.write(self.conf_text)

    def start(self) -> None:
        if self.running():
            raise RuntimeError(f"{self.name} already running")
        self.write_conf()
        for f in os.listdir(self.run_dir):
            if f.endswith(".pid"):
                os.unlink(os.path.join(self.run_dir, f))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._log_offset = os.path.getsize(self.log_path)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = self.host.popen([*self.wrapper,
                                     *command_for(self.impl, self.conf_path, self.run_dir,
                                                  self.vrrp_only),
                                     *self.extra_args], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env)
        log.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 8.0) -> None:
        """Graceful stop (SIGTERM to the parent), then kill the group if it lingers."""
        if self.proc is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.crash()
        self._wait_group_gone()

    def crash(self) -> None:
        """SIGKILL the whole process group at once (parent and children): a real crash."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        self._wait_group_gone()

    def _wait_group_gone(self) -> None:
        """Until no process of the daemon's group runs (up to 5 s). Zombies do not count: a
        dead child holds no socket or address, and the orphans of a killed parent are reaped
        by whatever the host's init is, which may poll only every second or two."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        for _ in range(100):
            if not _group_alive(pgid):
                return
            time.sleep(0.05)

    # ---------------------------------------------------------------- observation
    def log_text(self, since_start: bool = True) -> str:
        try:
            with open(self.log_path, "rb") as f:
                if since_start:
                    f.seek(self._log_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def mark(self) -> int:
        """A position in the log; pass it to :meth:`wait_log` to only look at newer lines."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10.0, since: int | None = None) -> bool:
        start = self._log_offset if since is None else since
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log_since(start)) is not None, timeout, 0.05)

    def state(self, instance: str = "VI_1") -> str | None:
        """The last state the log reports for ``instance`` (MASTER, BACKUP, FAULT) or None."""
        states = re.findall(rf"\({re.escape(instance)}\) Entering (\w+) STATE", self.log_text())
        return states[-1] if states else None

    def addresses(self, dev: str = "eth0") -> list[str]:
        r = self.host.run(["ip", "-o", "addr", "show", "dev", dev], check=False)
        return re.findall(r"inet6? (\S+)", r.stdout)

    def has_vip(self, vip: str, dev: str = "eth0") -> bool:
        want = vip if "/" in vip else None
        return any(a == want or a.split("/")[0] == vip for a in self.addresses(dev))


def keepalived_available() -> bool:
    return shutil.which("keepalived") is not None


def masters(daemons: Sequence[Daemon], vip: str, dev: str = "eth0") -> list[Daemon]:
    return [d for d in daemons if d.has_vip(vip, dev)]


def neighbour_mac(host: Host, ip: str) -> str | None:
    """The MAC ``host`` currently resolves ``ip`` to (its neighbour table), or None."""
    r = host.run(["ip", "neigh", "show", ip], check=False)
    m = re.search(r"lladdr (\S+)", r.stdout)
    return m.group(1).lower() if m else None


def stop_all(daemons: Sequence[Daemon]) -> None:
    """Stop every daemon still running (TERM, then the group's SIGKILL); for test teardown."""
    for d in daemons:
        if d.running():
            d.stop(timeout=5)



def proc_stats() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, the fields of /proc/PID/stat after the command name) of every process:
    ``[state, ppid, pgrp, ...]``."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        yield int(p), raw[raw.rfind(b")") + 2:].split()


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` exists that is not a zombie."""
    return any(f[0] != b"Z" and int(f[2]) == pgid for _pid, f in proc_stats())
