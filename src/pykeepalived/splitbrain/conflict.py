"""Conflict watch (sans-IO): notice another holder of our VIPs and end it by rank.

Split brain is two holders of one address. VRRP only sees it when adverts get through, which
is exactly what fails (a firewall dropping protocol 112, mismatched VRIDs, a cut heartbeat
link while the VIP network works). The address itself still speaks ARP where it lives, so
this watch asks it. Evidence of another holder is any of:

* an ARP reply or gratuitous ARP (NA for IPv6) for a VIP from a MAC that is not ours (the
  shell probes the VIPs: an RFC 5227 probe, sender 0.0.0.0, which a holder answers);
* an advert carrying one of our VIPs under another VRID;
* an advert of our VRID with another address list.

Rules (deterministic, so both ends reach the same answer without talking):

* While MASTER the VIPs are probed every ``interval``. At the first evidence the conflict is
  logged, counted and notified. The holder ranked lower yields at once; rank is (priority,
  source address) when an advert told us the other's priority, else the MAC address (both
  ends see each other's MAC). The higher one waits ``3 × interval`` for the other to yield; if
  the other still holds (it cannot hear us, or runs no watch: keepalived), the higher one
  yields, so one holder remains either way. Bound: another holder is seen within one
  ``interval`` (plus a round trip) of both holding; the conflict ends within that (lower
  yields) or within ``4 × interval`` (higher yields).
* A BACKUP whose master has gone quiet (its down timer is within one ``interval`` of firing)
  probes before claiming; while a holder answered in the last ``3 × interval`` a *silent*
  claim is blocked, so a master that is alive but unheard keeps its VIPs alone (0 ms of two
  holders). Preemption (the master is heard, with a lower priority) is not blocked: VRRP
  hands over by itself there.
* After yielding to a holder, every claim (preemption too) is blocked until that holder has
  gone (no evidence for ``3 × interval``): otherwise the higher node would preempt the holder
  that cannot hear it, yield again, and flap. Except after a yield ranked by MAC (no advert
  heard yet: two nodes started together): once the holder's adverts rank it below us, VRRP's
  preemption decides (the holder hears our adverts and goes BACKUP, RFC 5798).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.claim import ClaimBlock

SOURCE = "conflict_watch"


@dataclass(frozen=True)
class ConflictSettings:
    name: str
    vips: tuple[str, ...]
    interval: float  # probing while MASTER
    own_mac: str = ""
    lead: float | None = None  # probe this long before claiming (default: backup_interval)
    backup_interval: float | None = None  # probing as BACKUP (default: interval)

    def __post_init__(self) -> None:
        if self.interval <= 0 or (self.backup_interval or 1) <= 0:
            raise ValueError("conflict watch interval must be positive")

    @property
    def step(self) -> float:
        """The BACKUP's pace (the advert's): before a claim, while waiting, after yielding."""
        return self.interval if self.backup_interval is None else self.backup_interval

    @property
    def probe_lead(self) -> float:
        return self.step if self.lead is None else self.lead


@dataclass(frozen=True)
class ProbeVips:
    """Probe each VIP now (ARP probe from our MAC, or NS for IPv6)."""

    addresses: tuple[str, ...]


@dataclass(frozen=True)
class ConflictSeen:
    """A conflict began: log, count and notify ``detail``."""

    detail: str


@dataclass(frozen=True)
class ConflictEnded:
    duration: float


@dataclass(frozen=True)
class YieldRole:
    """Hand the role over (router.yield_master)."""

    reason: str


@dataclass(frozen=True)
class SetBlock:
    """Set (or lift, None) the watch's claim block on the router."""

    block: ClaimBlock | None


ConflictAction = ProbeVips | ConflictSeen | ConflictEnded | YieldRole | SetBlock


def _mac_key(mac: str) -> int:
    try:
        return int(mac.replace(":", "").replace("-", ""), 16)
    except ValueError:
        return -1


def _ip_key(ip: str) -> int:
    try:
        return int(ipaddress.ip_address(ip))
    except ValueError:
        return -1


class ConflictWatch:
    """The watch of one instance. Inputs: ``set_state``, ``set_down_deadline``,
    ``set_rank``, ``evidence_arp``, ``evidence_advert``, ``handle_timer``."""

    def __init__(self, settings: ConflictSettings) -> None:
        self.settings = settings
        self._actions: list[ConflictAction] = []
        self._state = State.INIT
        self._down_at: float | None = None
        self._claim_waiting = False
        self._probe_at: float | None = None
        self._last_evidence: float | None = None
        self._since: float | None = None  # current episode's start
        self._other = ""  # who, for the logs
        self._yielded_to = False
        self._rank: tuple[int, int] = (0, -1)  # our (effective priority, source address)
        # VRRP's rank of the last router of our VRID heard, and when: what ranks a holder
        # when known (VRRP's own order), rather than the MAC address
        self._peer: tuple[int, int] | None = None
        self._peer_at: float | None = None
        self._yield_at: float | None = None
        self._mac_yield = False  # the last yield was ranked by MAC: no advert known then
        self._master_since = 0.0
        self._block: ClaimBlock | None = None
        self.conflicts = 0
        self.yields = 0

    @property
    def hold(self) -> float:
        return 3 * self._pace()

    def actions(self) -> list[ConflictAction]:
        out, self._actions = self._actions, []
        return out

    def next_timer(self) -> float | None:
        t = self._probe_at
        end = self._episode_end()
        if end is not None and (t is None or end < t):
            t = end
        if self._state is State.BACKUP and t is None and self._down_at is not None:
            # on the shared grid too: 250 backups cost one wake-up per interval at most
            t = self._grid_at_or_after(self._down_at - self.settings.probe_lead)
        return t

    # ------------------------------------------------------------------ inputs
    def set_rank(self, priority: int, src: str | None) -> None:
        self._rank = (priority, _ip_key(src) if src else -1)

    def set_state(self, state: State, now: float) -> None:
        self._state = state
        if state is not State.BACKUP:
            self._down_at = None
            self._claim_waiting = False
        if state is State.MASTER:
            self._yielded_to = False
            self._master_since = now  # a holder seen before counts from now (its wait)
            self._schedule_probe(now)
        elif not self._active(now):
            self._probe_at = None
        self._push_block(now)

    def set_down_deadline(self, deadline: float | None, now: float) -> None:
        """BACKUP: when the router's down timer fires (moves on at every advert heard)."""
        self._down_at = deadline
        if self._probe_at is None and self._active(now):
            self._schedule_probe(now)

    def set_claim_waiting(self, waiting: bool, now: float) -> None:
        self._claim_waiting = waiting
        if waiting and self._probe_at is None:
            self._schedule_probe(now)

    def evidence_arp(self, vip: str, mac: str, now: float) -> None:
        """``mac`` (not ours) answered or announced ``vip``."""
        if mac.lower() == self.settings.own_mac.lower():
            return
        peer = self._known_peer(now)
        if peer is not None:  # adverts told us the other's rank: VRRP's own order
            self._evidence(f"{vip} is also answered by {mac}", peer > self._rank, now)
            return
        higher = _mac_key(mac) > _mac_key(self.settings.own_mac)
        self._evidence(f"{vip} is also answered by {mac}", higher, now, by_mac=True)

    def evidence_advert(self, src: str, vrid: int, priority: int,
                        addresses: tuple[str, ...], now: float) -> None:
        """An advert from ``src`` carrying some of our VIPs under another VRID, or our VRID
        with another address list."""
        theirs = (priority, _ip_key(src))
        shared = sorted(set(addresses) & set(self.settings.vips)) or list(addresses[:1])
        self._evidence(f"{src} advertises {', '.join(shared)} (VRID {vrid}, priority "
                       f"{priority})", theirs > self._rank, now)

    def evidence_lower_master(self, now: float) -> None:
        """As MASTER we heard a lower-priority master of our VRID: it should have yielded
        to our adverts. If it keeps advertising it cannot hear us (one-way loss)."""
        self._evidence("a lower-priority master keeps advertising our VRID", False, now)

    def vrrp_heard(self, at: float | None, rank: tuple[int, str] | None = None) -> None:
        """The router heard an advert of our VRID at ``at``, of ``rank`` (priority, source).
        After yielding, that is the holder we yielded to, still there: the block holds as
        long as it is heard, unless the yield was ranked by MAC (no advert known then) and
        the holder's adverts now rank it below us: then VRRP's preemption decides."""
        if at is None:
            return
        if rank is not None and rank[0] > 0 and (self._peer_at is None or at >= self._peer_at):
            self._peer, self._peer_at = (rank[0], _ip_key(rank[1])), at
        if self._yielded_to and self._last_evidence is not None:
            self._last_evidence = max(self._last_evidence, at)
            self._push_block(at)

    def handle_timer(self, now: float) -> None:
        end = self._episode_end()
        if end is not None and now >= end:
            self._end_episode(now)
        if self._probe_at is not None and now >= self._probe_at:
            self._actions.append(ProbeVips(self.settings.vips))
            self._probe_at = None
            if self._active(now):
                self._probe_at = self._next_round(now)
        elif self._probe_at is None and self._active(now):
            self._schedule_probe(now)
        self._push_block(now)

    # ------------------------------------------------------------------ internals
    def _active(self, now: float) -> bool:
        """Whether probing runs: always as MASTER; as BACKUP only when about to claim,
        waiting to claim, or after yielding (then the probes tell when the holder has gone)."""
        if self._state is State.MASTER:
            return True
        if self._state is not State.BACKUP:
            return False
        if self._claim_waiting or self._yielded_to:
            return True
        return (self._down_at is not None
                and now >= self._grid_at_or_after(self._down_at - self.settings.probe_lead))

    def _schedule_probe(self, now: float) -> None:
        self._probe_at = now

    def _pace(self) -> float:
        s = self.settings
        return s.interval if self._state is State.MASTER else s.step

    def _grid_at_or_after(self, t: float) -> float:
        i = self._pace()
        return math.ceil(t / i - 1e-9) * i

    def _next_round(self, now: float) -> float:
        """The next multiple of the interval: every watch with the same interval probes in
        the same timer tick (250 masters cost one wake-up per interval, not 250)."""
        i = self._pace()
        return (math.floor(now / i + 1e-9) + 1) * i

    def _episode_end(self) -> float | None:
        if self._last_evidence is None or self._since is None:
            return None
        return self._last_evidence + self.hold

    def _known_peer(self, now: float) -> tuple[int, int] | None:
        """The other router's VRRP rank if one of its adverts came within ``hold``."""
        if self._peer_at is None or now - self._peer_at > self.hold:
            return None
        return self._peer

    def _outranked_after_mac_yield(self) -> bool:
        """Yielded on a MAC ranking, and the holder's adverts since rank it below us."""
        return (self._mac_yield and self._peer is not None and self._peer_at is not None
                and self._yield_at is not None and self._peer_at >= self._yield_at
                and self._peer < self._rank)

    def _evidence(self, detail: str, they_rank_higher: bool, now: float,
                  by_mac: bool = False) -> None:
        self._last_evidence = now
        self._other = detail
        if self._since is None:
            self._since = now
            self.conflicts += 1
            if self._state is State.MASTER:
                self._actions.append(ConflictSeen(detail))
        if self._state is State.MASTER:
            waited = now - max(self._since, self._master_since)
            if they_rank_higher or waited >= self.hold:
                why = ("it ranks higher" if they_rank_higher
                       else f"it still holds after {waited:.3f} s")
                self._mac_yield = by_mac and they_rank_higher
                self._yield_at = now
                self._yielded_to = True
                self.yields += 1
                self._actions.append(YieldRole(f"{detail}; {why}"))
        if self._probe_at is None and self._active(now):
            self._probe_at = self._next_round(now)
        self._push_block(now)

    def _end_episode(self, now: float) -> None:
        if self._since is not None:
            self._actions.append(ConflictEnded(now - self._since))
        self._since = self._last_evidence = None
        self._yielded_to = False

    def _push_block(self, now: float) -> None:
        block: ClaimBlock | None = None
        if self._since is not None:
            if self._yielded_to and not self._outranked_after_mac_yield():
                block = ClaimBlock(f"yielded to another holder ({self._other})")
            else:
                block = ClaimBlock(f"another holder answers ({self._other})", silent_only=True)
        if block != self._block:
            self._block = block
            self._actions.append(SetBlock(block))
