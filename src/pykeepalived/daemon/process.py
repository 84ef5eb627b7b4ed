"""Process hygiene helpers: pid files, daemonizing, parent-death signal, network namespace.

Kept apart from the supervisor so the children (which also write pid files and must die with the
parent) use the same few syscalls.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterable
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
CLONE_NEWNET = 0x40000000

_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The C library, by its glibc soname first: ``ctypes.util`` (imported only when that
    fails, e.g. on musl) pulls in subprocess, shutil and tempfile, ~1 MiB the parent keeps."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)
        except OSError:
            from ctypes.util import find_library

            _libc = ctypes.CDLL(find_library("c"), use_errno=True)
    return _libc


def release_free_heap() -> None:
    """Give the C heap's free pages back to the kernel (glibc ``malloc_trim(0)``), best effort.

    Start-up (parsing the config, building every instance) leaves freed blocks scattered in the
    heap that glibc keeps mapped for good; the long-lived processes call this once it is over.
    """
    with contextlib.suppress(Exception):
        libc().malloc_trim(0)


class Stopped(BaseException):
    """TERM/INT while a child only reads its configuration: raised from the signal handler
    ``stop_while_starting`` installs, caught by the child's entry point (exit 0)."""


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signum)


def stop_while_starting(ignore_sigint: bool) -> None:
    """A child's first act: TERM (and INT unless ignored) raise ``Stopped`` from here on,
    then they, and SIGCHLD, are unblocked. The parent forks every child with its handled
    signals blocked, so one sent before this point is pending, not lost, and not the default
    action (death by signal, a pid file left behind). The child's other signals stay blocked
    until its own handlers are in place (``signals.unblock_all``)."""
    stops = [signal.SIGTERM] if ignore_sigint else [signal.SIGTERM, signal.SIGINT]
    for s in stops:
        signal.signal(s, _raise_stopped)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [*stops, signal.SIGCHLD])


def handed_parse(fd: int | None) -> Any:
    """The parse the parent's helper made, handed to a child's first start (``--config-fd``:
    a memfd holding it pickled; see ``Supervisor._wanted_children``): the child does not read
    and parse the file again (0.6 s at 1000 instances). None without one, or when it cannot
    be read (the child then parses the file itself). The fd is closed either way."""
    if fd is None:
        return None
    import pickle

    try:
        with os.fdopen(fd, "rb") as f:
            f.seek(0)
            return pickle.load(f)  # written by our own helper, never by others
    except Exception:
        return None


def set_parent_death_signal(sig: int = int(signal.SIGTERM)) -> None:
    """Ask the kernel to send ``sig`` when our parent dies (keepalived's children do the same)."""
    if libc().prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def enter_netns(name: str) -> None:
    """``-s NAME``: join the named network namespace (``ip netns`` layout) before anything else."""
    path = name if name.startswith("/") else f"/run/netns/{name}"
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc().setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({path})")
    finally:
        os.close(fd)


def read_uptime(path: str = "/proc/uptime") -> float | None:
    """Seconds since boot (the first field of /proc/uptime, which a time namespace offsets);
    None when it cannot be read."""
    try:
        with open(path) as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip() or "0") or None
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def already_running(path: str) -> int | None:
    """The pid recorded in ``path`` when that process still exists (not us), else None."""
    pid = read_pid(path)
    if pid is not None and pid != os.getpid() and pid_alive(pid):
        return pid
    return None


def write_pid(path: str) -> None:
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def remove_pid(path: str) -> None:
    """Remove ``path`` if it still holds our pid (a respawned successor may own it already)."""
    if read_pid(path) == os.getpid():
        with contextlib.suppress(OSError):
            os.unlink(path)


def daemonize() -> None:
    """Classic double fork: detach from the terminal and the session, stdio to /dev/null."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def pack_addresses(ips: Iterable[str]) -> bytes:
    """Addresses as one compact blob (length byte, then the address in network order), so
    a parent can hold a large configuration's VIPs cheaply; ``unpack_addresses`` reverses."""
    out = set()
    for ip in ips:
        with contextlib.suppress(OSError, ValueError):
            out.add(socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip))
    return b"".join(bytes([len(a)]) + a for a in sorted(out))


def unpack_addresses(blob: bytes) -> set[str]:
    out, i = set(), 0
    while i < len(blob):
        n = blob[i]
        out.add(socket.inet_ntop(socket.AF_INET6 if n == 16 else socket.AF_INET,
                                 blob[i + 1:i + 1 + n]))
        i += 1 + n
    return out


def release_vips(log: logging.Logger, vips: bytes) -> None:
    """A VRRP child died: take away the virtual addresses it held now (tagged ``proto
    keepalived``, and configured as VIPs here: another daemon's in the same namespace are
    not touched; an address owner's are not tagged), as keepalived's child does at once when
    it is re-forked. A Python child takes a second to start: meanwhile the peers take over,
    and the dead child's VIPs must not be there as well."""
    from pykeepalived.net.rtnl import delete_tagged

    mine = unpack_addresses(vips)
    if not mine:
        return
    try:
        done = delete_tagged(only=mine)
    except OSError as e:
        log.warning("cannot remove the dead VRRP child's virtual addresses: %s", e)
        return
    for a, err in done:
        if err:
            log.warning("cannot remove virtual address %s/%d: %s", a.ip, a.prefixlen,
                        os.strerror(err))
    if done:
        log.info("Removed %d virtual address(es) of the dead VRRP child", len(done))
