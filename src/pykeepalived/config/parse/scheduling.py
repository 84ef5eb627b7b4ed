"""``global_defs`` keywords that shape the daemon's processes rather than VRRP or LVS: CPU
affinity, real-time limits and automatic real-time priority, memory locking, the receive
buffers of netlink and VRRP sockets, and the umask. Read as keepalived 2.2.7 reads them (its
ranges, words and messages); ``daemon.scheduling`` and the socket owners apply them."""

from __future__ import annotations

import os
from typing import Any

from pykeepalived.config.model import Severity
from pykeepalived.config.parse.builders import GlobalBuilder
from pykeepalived.config.parse.context import Parser
from pykeepalived.config.parse.table import Kind, Kw, Status
from pykeepalived.config.parse.tree import Node
from pykeepalived.config.values import parse_bool, parse_int, silent

NO_BFD = "BFD is not supported: there is no BFD process"
U32 = 4294967295
_UMASK_BITS = {"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o040,
               "IWGRP": 0o020, "IXGRP": 0o010, "IROTH": 0o004, "IWOTH": 0o002,
               "IXOTH": 0o001}


def online_cpus() -> int:
    """The CPUs keepalived accepts in a ``*_cpu_affinity`` list: 0 .. online - 1."""
    return os.sysconf("SC_NPROCESSORS_ONLN")


def _cpu_affinity(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """``CPU [CPU ...]``: each a number below the count of online CPUs; one bad number
    empties the set (keepalived's reset at the first error)."""
    process = n.kw.split("_", 1)[0]
    if not n.args:
        p.rep(f"No {process} cpu_id set specified")
        return
    hi = online_cpus() - 1
    cpus: list[int] = []
    for a in n.args:
        v = parse_int(a, 0, hi, p.rep)
        if v is None:
            p.rep(f"Invalid cpu_id:{a} specified for {process} process")
            g.values[n.kw] = ()
            return
        cpus.append(v)
    g.values[n.kw] = tuple(sorted(set(cpus)))


def _rlimit(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """``*_rlimit_rttime US`` (``*_rlimit_rtime`` deprecated, a note only): 1 is taken as 2,
    since keepalived sets the soft limit to half of it."""
    field = n.kw if n.kw.endswith("rttime") else n.kw[:-len("rtime")] + "rttime"
    if field != n.kw:
        p.rep(f"Keyword '{n.kw}' is deprecated - please use '{field}'", Severity.INFO)
    process = field.split("_", 1)[0]
    v = parse_int(n.args[0], 1, U32, p.rep) if n.args else None
    if v is None:
        p.rep(f"Invalid {process} real-time limit - {n.args[0] if n.args else ''}")
        return
    g.values[field] = max(v, 2)


def _min_auto_priority_delay(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """Microseconds a timer may be late before the process is made real-time."""
    if not n.args:
        p.rep("min_auto_priority_delay requires delay time")
        return
    v = parse_int(n.args[0], 1, 10000000, p.rep)
    if v is None:
        p.rep(f"min_auto_priority_delay '{n.args[0]}' must be in [1, 10000000] - ignoring")
        return
    g.values["min_auto_priority_delay"] = v


def _max_auto_priority(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """No argument: the highest SCHED_RR priority; -1: never real-time."""
    hi = os.sched_get_priority_max(os.SCHED_RR)
    if not n.args:
        g.values["max_auto_priority"] = hi
        return
    v = parse_int(n.args[0], -1, hi, p.rep)
    if v is None:
        p.rep(f"max_auto_priority '{n.args[0]}' must be in [0, {hi}] (or -1 to disable) - "
              "ignoring")
        return
    g.values["max_auto_priority"] = v


def _rx_bufs_policy(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """``MTU``, ``ADVERT`` or a size in bytes (keepalived's checks and messages)."""
    if not n.args:
        p.rep("vrrp_rx_bufs_policy missing")
        return
    policy: set[str] = set()
    size: int | None = None
    for a in n.args:
        if a.upper() in ("MTU", "ADVERT"):
            policy.add(a.upper())
            continue
        # keepalived reads the size from the first word whichever word is not a policy
        v = parse_int(n.args[0], 0, U32, silent)
        if v is None:
            p.rep(f"Invalid vrrp_rx_bufs_policy {a}")
        else:
            size = v
    if size is not None and policy:
        p.rep("Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy")
        policy.clear()
    elif policy == {"MTU", "ADVERT"}:
        p.rep("Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT")
        policy = {"MTU"}
    if size is not None:
        g.values.update(vrrp_rx_bufs_policy="SIZE", vrrp_rx_bufs_size=size)
    elif policy:
        g.values["vrrp_rx_bufs_policy"] = policy.pop()


def _rx_bufs_multiplier(p: Parser, n: Node, g: GlobalBuilder) -> None:
    if len(n.args) != 1:
        p.rep("Invalid vrrp_rx_bufs_multiplier")
        return
    v = parse_int(n.args[0], 1, U32, silent)
    if v is None:
        p.rep(f"Invalid vrrp_rx_bufs_multiplier {n.args[0]}")
        return
    g.values["vrrp_rx_bufs_multiplier"] = v


def _rcv_bufs(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """``*_rcv_bufs BYTES``: 0 leaves the socket's default."""
    what = n.kw[:-len("_rcv_bufs")]
    if not n.args:
        p.rep(f"{what}_rcv_bufs size missing")
        return
    v = parse_int(n.args[0], 0, U32, silent)
    if v is None:
        p.rep(f"{what}_rcv_bufs size ({n.args[0]}) invalid")
        return
    if v:
        g.values[n.kw] = v


def _rcv_bufs_force(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """``*_rcv_bufs_force [BOOL]``: set the size with SO_RCVBUFFORCE (past rmem_max)."""
    v = parse_bool(n.args, silent)
    if v is None:
        p.rep(f"Invalid value '{n.args[0]}' for global {n.kw} specified")
        return
    g.values[n.kw] = v


def _umask(p: Parser, n: Node, g: GlobalBuilder) -> None:
    """A number (strtol's bases: 0x.. hex, 0.. octal, else decimal) or symbolic bits
    ``IRUSR|IWGRP|...``; the command line's ``-u`` takes precedence (the daemon's)."""
    a = n.args
    if not a:
        p.rep("Missing parameter(s) to umask option")
        return
    if a[0][:1].isdigit():
        if len(a) != 1:
            p.rep("Extra parameter(s) to umask option")
            return
        try:
            v = int(a[0], 0) if not a[0].startswith("0") or a[0][:2].lower() == "0x" \
                else int(a[0], 8)
        except ValueError:
            v = -1
        if v < 0 or v & ~0o777:
            p.rep(f"invalid umask value {a[0]}")
            return
        g.values["umask"] = v
        return
    bits = _symbolic_umask(p, a)
    if bits is not None:
        g.values["umask"] = bits


def _symbolic_umask(p: Parser, words: tuple[str, ...]) -> int | None:
    bits = 0
    need_or = False
    for w in words:
        i = 0
        while i < len(w):
            if need_or:
                if w[i] != "|":
                    p.rep(f"Invalid umask syntax {w}")
                    return None
                need_or = False
                i += 1
                continue
            bit = _UMASK_BITS.get(w[i:i + 5])
            if bit is None:
                p.rep(f"Unknown umask bit {w[i:]}")
                return None
            bits |= bit
            i += 5
            need_or = True
    if not need_or:
        p.rep("umask missing bit value")
        return None
    return bits


def _k(name: str, kind: Kind, fn: Any, to: str = "", status: Status = Status.ACTS,
       why: str = "", **kw: Any) -> Kw:
    return Kw(name, kind, fn=fn, to=to or name, status=status, why=why, **kw)


def process_rows(process: str, no_effect: str = "") -> tuple[Kw, ...]:
    """``PROCESS_cpu_affinity``, ``PROCESS_rlimit_rttime``: NO_EFFECT with ``no_effect``."""
    st = Status.NO_EFFECT if no_effect else Status.ACTS
    return (
        _k(f"{process}_rlimit_rttime", Kind.INT, _rlimit, lo=1, hi=U32, status=st,
           why=no_effect, old=(f"{process}_rlimit_rtime",), old_sev=None,
           syntax="µs of CPU without blocking while real-time (soft limit half)",
           default="none (keepalived: 10000)"),
        _k(f"{process}_cpu_affinity", Kind.WORDS, _cpu_affinity, status=st, why=no_effect,
           syntax="CPU [CPU ...] (each 0 .. online CPUs - 1)", default="all CPUs"),
    )


AUTO_PRIORITY_ROWS = (
    _k("max_auto_priority", Kind.INT, _max_auto_priority, lo=-1, hi=99,
       syntax="optional (none = 99); -1 never", default="0 (off)"),
    _k("min_auto_priority_delay", Kind.INT, _min_auto_priority_delay, lo=1, hi=10000000,
       syntax="µs", default="1000000"),
)

# Each instance without kernel_rx_buf_size adds its share to its receive socket's SO_RCVBUF
# (daemon.settings.rx_buf_share); a socket no instance sizes keeps pykeepalived's 2 MiB.
RX_BUFS_ROWS = (
    _k("vrrp_rx_bufs_policy", Kind.WORDS, _rx_bufs_policy, syntax="MTU | ADVERT | BYTES",
       default="none (2 MiB, SO_RCVBUFFORCE; keepalived: the kernel default)"),
    _k("vrrp_rx_bufs_multiplier", Kind.INT, _rx_bufs_multiplier, lo=1, hi=U32, default="3"),
)


def rcv_bufs_rows(owner: str, no_effect: str = "") -> tuple[Kw, ...]:
    """``OWNER_rcv_bufs`` and ``OWNER_rcv_bufs_force`` (``vrrp_netlink_cmd`` ...)."""
    st = Status.NO_EFFECT if no_effect else Status.ACTS
    return (
        _k(f"{owner}_rcv_bufs", Kind.INT, _rcv_bufs, lo=0, hi=U32, status=st, why=no_effect,
           default="the kernel's"),
        _k(f"{owner}_rcv_bufs_force", Kind.BOOL, _rcv_bufs_force, status=st, why=no_effect),
    )


UMASK_ROW = _k("umask", Kind.WORDS, _umask,
               syntax="NUMBER (0x hex, 0 octal) | IRUSR|IWUSR|... ; -u takes precedence",
               default="the caller's")
