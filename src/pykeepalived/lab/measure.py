"""Observers for failover timing: a 10 ms client pinger and an address monitor per namespace.

Both record wall-clock timestamps (``ping -D``, ``ip -ts monitor``) so a failure injected at
``t0 = time.time()`` can be compared with what the client and the new master saw.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

from pykeepalived.lab.netns import Host


class Recorder:
    """A background command in a host whose stdout goes to a temp file."""

    def __init__(self, host: Host, argv: list[str]) -> None:
        fd, self.path = tempfile.mkstemp(prefix="pkd-", suffix=".txt")
        self._f = os.fdopen(fd, "wb")
        self.proc = host.popen(argv, stdout=self._f, stderr=subprocess.STDOUT)

    def stop(self) -> str:
        if self.proc.poll() is None:
            # `ip monitor` ignores SIGINT in a background job; SIGTERM works for all of them.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=3)
        self._f.close()
        with open(self.path, errors="replace") as f:
            text = f.read()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        return text


def arp_capture(host: Host) -> Recorder:
    """``tcpdump -e`` of ARP frames on the host's eth0 (``stop()`` returns the text)."""
    # -B: a burst of hundreds of GARPs must not overflow tcpdump's buffer (it drops frames)
    rec = Recorder(host, ["tcpdump", "-i", "eth0", "-nn", "-e", "-l", "--immediate-mode",
                          "-B", "8192", "arp"])
    time.sleep(0.3)  # tcpdump needs a moment before it captures
    return rec


@dataclass(frozen=True)
class Advert:
    t: float  # capture timestamp (wall clock, kernel time of the frame)
    src: str
    vrid: int
    prio: int


_ADVERT = re.compile(r"^(\d+\.\d+) IP6? (\S+) > \S+: VRRPv\d, Advertisement,.*?vrid (\d+), "
                     r"prio (\d+)", re.M)


class AdvertCapture(Recorder):
    """``tcpdump -tt`` of VRRP adverts on a host's eth0: when did a peer last speak, or send
    its priority 0? Timeouts are defined from those events (RFC 5798 §6.4.2: the backup's
    Master_Down_Timer restarts at each advert; a priority 0 sets it to Skew_Time), so a
    takeover measured from them does not include how long the failure took to inject."""

    def __init__(self, host: Host) -> None:
        super().__init__(host, ["tcpdump", "-i", "eth0", "-nn", "-tt", "-l", "--immediate-mode",
                                "-B", "8192", "ip proto 112 or ip6 proto 112"])
        self.adverts: list[Advert] = []
        # tcpdump needs a moment before it captures: wait for its "listening on" line.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            with open(self.path, errors="replace") as f:
                if "listening on" in f.read():
                    break
            time.sleep(0.02)
        time.sleep(0.05)

    def finish(self) -> list[Advert]:
        text = self.stop()
        self.adverts = [Advert(float(m[1]), m[2], int(m[3]), int(m[4]))
                        for m in _ADVERT.finditer(text)]
        return self.adverts

    def last_from(self, src: str, before: float, vrid: int | None = None) -> float | None:
        """Time of the last advert from ``src`` (of ``vrid``) captured before ``before``."""
        ts = [a.t for a in self.adverts
              if a.src == src and a.t < before and (vrid is None or a.vrid == vrid)]
        return max(ts) if ts else None

    def first_prio0_from(self, src: str, vrid: int | None = None) -> float | None:
        ts = [a.t for a in self.adverts
              if a.src == src and a.prio == 0 and (vrid is None or a.vrid == vrid)]
        return min(ts) if ts else None


class Pinger(Recorder):
    """``ping -D -i 0.01 TARGET`` from a client: reply timestamps give the outage."""

    def __init__(self, host: Host, target: str, interval: float = 0.01) -> None:
        super().__init__(host, ["ping", "-D", "-n", "-i", f"{interval:g}", "-W", "1", target])
        self.replies: list[float] = []

    def finish(self) -> list[float]:
        text = self.stop()
        self.replies = [float(m) for m in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", text,
                                                     re.M)]
        return self.replies

    def outage(self, t0: float) -> float | None:
        """Largest gap between replies from ``t0`` on (the client-visible outage)."""
        before = [r for r in self.replies if r < t0]
        after = [r for r in self.replies if r >= t0]
        seq = ([before[-1]] if before else [t0]) + after
        if len(seq) < 2:
            return None
        return max(b - a for a, b in itertools.pairwise(seq))


class AddrMonitor(Recorder):
    """``ip -ts monitor address`` in a host: when did an address appear there?"""

    def __init__(self, host: Host) -> None:
        super().__init__(host, ["ip", "-ts", "monitor", "address"])
        time.sleep(0.05)

    def first_add(self, ip: str, after: float) -> float | None:
        text = self.stop()
        for line in text.splitlines():
            m = re.match(r"\[(\S+)\]\s+(Deleted )?.*inet6? (\S+)/", line)
            if m and not m.group(2) and m.group(3) == ip:
                ts = datetime.datetime.fromisoformat(m.group(1)).timestamp()
                if ts >= after - 0.001:
                    return ts
        return None


@dataclass
class Trial:
    impl: str
    mode: str
    version: int
    advert: float
    vip_s: float | None
    outage_s: float | None
