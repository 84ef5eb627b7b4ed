"""Who holds which address, sampled every few milliseconds on every lab host.

Fault scenarios are judged by what an operator's client would see: how long a virtual
address had no holder, how long two hosts held it at once, how often it moved. Reading the
daemons' logs says what they believed, not what the kernel did, and ``ip addr`` run per host
costs a process spawn (~5-10 ms) per look. :class:`VipSampler` instead keeps one rtnetlink
socket per host namespace (created there; a socket stays in the namespace it was made in) and
dumps the address table of every host in one thread every ``interval`` seconds (5 ms by
default; a dump costs ~0.1 ms). Only changes are stored, so an hour-long run stays small.

Times are ``time.monotonic()``: a scenario notes its own events (``t = time.monotonic()``)
and asks the :class:`Timeline` what happened after them.

Run as a program inside one namespace (``ip netns exec NS python -m pykeepalived.lab.sampler
VIP [PERIOD]``), it polls that host's view of one VIP every 5 ms: does the host hold it, and
which MAC its neighbour table gives for it (a client's ARP view). It prints ``<wall time> hold
0|1`` and ``<wall time> neigh <mac>|-`` each time a value changes, then, at SIGTERM, ``<wall
time> samples N`` (how many polls were made, so a reader can check the rate held).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pykeepalived.net.rtnl import RtnlSocket

Holders = frozenset[str]


class AddressReader:
    """The addresses configured in one namespace, read with an rtnetlink dump."""

    def __init__(self, netns: str | None) -> None:
        self._rtnl = RtnlSocket(netns)

    def read(self) -> set[str]:
        return {a.ip for a in self._rtnl.dump_addresses(timeout=1.0)}

    def close(self) -> None:
        self._rtnl.close()


@dataclass
class Timeline:
    """Holder changes per address: ``changes[addr]`` = [(t, holders), ...] in time order
    (the first entry is the first sample). ``start``/``end``: the sampled period."""

    addresses: tuple[str, ...]
    hosts: tuple[str, ...]
    changes: dict[str, list[tuple[float, Holders]]] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0
    samples: int = 0
    max_gap: float = 0.0  # the longest time between two samples (a stalled sampler shows)

    def holders(self, addr: str, t: float) -> Holders:
        """Who held ``addr`` at ``t`` (the last sample at or before it)."""
        cur: Holders = frozenset()
        for ct, h in self.changes.get(addr, ()):
            if ct > t:
                break
            cur = h
        return cur

    def spans(self, addr: str, t0: float | None = None, t1: float | None = None
              ) -> list[tuple[float, float, Holders]]:
        """(from, to, holders) pieces of ``[t0, t1]`` (default: the sampled period)."""
        a = self.start if t0 is None else t0
        b = self.end if t1 is None else t1
        out: list[tuple[float, float, Holders]] = []
        ch = self.changes.get(addr, [])
        for i, (ct, h) in enumerate(ch):
            nt = ch[i + 1][0] if i + 1 < len(ch) else self.end
            lo, hi = max(ct, a), min(nt, b)
            if hi > lo:
                out.append((lo, hi, h))
        return out

    def time_with(self, addr: str, pred: Callable[[Holders], bool], t0: float | None = None,
                  t1: float | None = None) -> float:
        """Seconds of ``[t0, t1]`` during which ``pred(holders)`` was true."""
        return sum(b - a for a, b, h in self.spans(addr, t0, t1) if pred(h))

    def dual_time(self, addr: str, t0: float | None = None, t1: float | None = None) -> float:
        """Seconds with two or more holders (split brain as a client sees it)."""
        return self.time_with(addr, lambda h: len(h) > 1, t0, t1)

    def none_time(self, addr: str, t0: float | None = None, t1: float | None = None) -> float:
        """Seconds with no holder (an outage as a client sees it)."""
        return self.time_with(addr, lambda h: not h, t0, t1)

    def acquisitions(self, addr: str, host: str, t0: float | None = None,
                     t1: float | None = None) -> int:
        """How many times ``host`` started holding ``addr`` inside ``[t0, t1]``."""
        a = self.start if t0 is None else t0
        b = self.end if t1 is None else t1
        n = 0
        prev: Holders = frozenset()
        for ct, h in self.changes.get(addr, ()):
            if a < ct <= b and host in h and host not in prev:
                n += 1
            prev = h
        return n

    def first(self, addr: str, pred: Callable[[Holders], bool], after: float) -> float | None:
        """The first time at or after ``after`` when ``pred(holders)`` holds."""
        if pred(self.holders(addr, after)):
            return after
        for ct, h in self.changes.get(addr, ()):
            if ct > after and pred(h):
                return ct
        return None

    def settled(self, addr: str, want: Holders, after: float) -> float | None:
        """When ``addr`` last became held by exactly ``want`` (at or after ``after``), if it
        stayed so to the end of the sampled period; None if the period ends otherwise."""
        since: float | None = after if self.holders(addr, after) == want else None
        for ct, h in self.changes.get(addr, ()):
            if ct <= after:
                continue
            if h != want:
                since = None
            elif since is None:
                since = ct
        return since

    def sequence(self, addr: str, t0: float | None = None, t1: float | None = None
                 ) -> list[Holders]:
        """The distinct holder sets in order (repeats collapsed), e.g. {n1} → {n1,n2} → {n1}."""
        out: list[Holders] = []
        for _a, _b, h in self.spans(addr, t0, t1):
            if not out or out[-1] != h:
                out.append(h)
        return out


class VipSampler:
    """Sample ``addresses`` on ``hosts`` (name → network namespace) every ``interval`` s.

    ``with VipSampler(...) as s: ...`` or ``start()``/``stop()``; ``stop()`` returns the
    :class:`Timeline`. ``timeline()`` gives a copy of what was sampled so far while it runs.
    """

    def __init__(self, hosts: Mapping[str, str | None], addresses: Iterable[str],
                 interval: float = 0.005) -> None:
        self.hosts = tuple(hosts)
        self.addresses = tuple(a.split("/")[0] for a in addresses)
        self.interval = interval
        self._readers = {name: AddressReader(ns) for name, ns in hosts.items()}
        self._tl = Timeline(self.addresses, self.hosts, {a: [] for a in self.addresses})
        self._last: dict[str, Holders] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def sample(self) -> float:
        """Take one sample now (the thread calls this); returns its time."""
        held: dict[str, set[str]] = {}
        t = time.monotonic()
        for name, rd in self._readers.items():
            try:
                held[name] = rd.read()
            except OSError as e:  # a host going away mid-run is the scenario's business
                if len(self.errors) < 20:
                    self.errors.append(f"{name}: {e}")
                held[name] = set()
        with self._lock:
            tl = self._tl
            if tl.samples == 0:
                tl.start = t
            else:
                tl.max_gap = max(tl.max_gap, t - tl.end)
            tl.end = t
            tl.samples += 1
            for addr in self.addresses:
                h = frozenset(n for n, s in held.items() if addr in s)
                if self._last.get(addr) != h:
                    self._last[addr] = h
                    tl.changes[addr].append((t, h))
        return t

    def _run(self) -> None:
        nxt = time.monotonic()
        while not self._stop.is_set():
            self.sample()
            nxt += self.interval
            delay = nxt - time.monotonic()
            if delay < 0:  # fell behind (a loaded machine): do not burst to catch up
                nxt = time.monotonic()
                delay = 0
            self._stop.wait(delay)

    def start(self) -> VipSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="vip-sampler", daemon=True)
        self._thread.start()
        return self

    def timeline(self) -> Timeline:
        with self._lock:
            tl = self._tl
            return Timeline(tl.addresses, tl.hosts, {a: list(c) for a, c in tl.changes.items()},
                            tl.start, tl.end, tl.samples, tl.max_gap)

    def wait(self, pred: Callable[[Timeline], bool], timeout: float) -> bool:
        """Poll ``pred(timeline)`` until true or ``timeout`` s pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.timeline()):
                return True
            time.sleep(0.01)
        return pred(self.timeline())

    def now_holders(self, addr: str) -> Holders:
        with self._lock:
            return self._last.get(addr.split("/")[0], frozenset())

    def stop(self) -> Timeline:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        for rd in self._readers.values():
            with contextlib.suppress(OSError):
                rd.close()
        return self.timeline()

    def __enter__(self) -> VipSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------- one host's view, as a program
class Poller:
    """One namespace's view of ``vip``: held here, and the MAC its neighbour table names."""

    def __init__(self, vip: str) -> None:
        self.vip = vip.split("/")[0]
        self.family = socket.AF_INET6 if ":" in self.vip else socket.AF_INET
        self._rtnl = RtnlSocket()

    def holds(self) -> bool:
        return any(a.ip == self.vip for a in self._rtnl.dump_addresses(timeout=1.0))

    def neigh(self) -> str:
        for n in self._rtnl.dump_neighbours(self.family, timeout=1.0):
            if n.ip == self.vip:
                return n.lladdr
        return "-"


def main(argv: list[str]) -> int:
    vip = argv[0]
    period = float(argv[1]) if len(argv) > 1 else 0.005
    p = Poller(vip)
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    last_hold: bool | None = None
    last_mac: str | None = None
    n = 0
    nxt = time.monotonic()
    while not stop:
        now = time.time()
        h = p.holds()
        m = p.neigh()
        n += 1
        if h != last_hold:
            print(f"{now:.6f} hold {int(h)}", flush=True)
            last_hold = h
        if m != last_mac:
            print(f"{now:.6f} neigh {m}", flush=True)
            last_mac = m
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    print(f"{time.time():.6f} samples {n}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
