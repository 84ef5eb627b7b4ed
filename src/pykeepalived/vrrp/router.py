"""The VRRP instance state machine (sans-IO), behaving like keepalived's VRRP child.

Theory of operation
-------------------
A ``VrrpRouter`` is one ``vrrp_instance``. It is driven like aioquic's ``QuicConnection``: the
shell calls ``start(now)``, ``receive(advert, now)`` for every decoded advert of this VRID,
``handle_timer(now)`` whenever ``next_timer()`` has passed, the tracking setters when a tracked
object changes, and ``shutdown(now)`` at stop. After *every* call it drains ``actions()`` and
executes them in order, then re-reads ``next_timer()`` (of every member when the router belongs to
a ``SyncGroup``, because group transitions change the other members too). Nothing here reads a
clock, opens a socket or sleeps: a ten-minute scenario runs in milliseconds under a virtual clock.

Everything that changes ``state`` goes through ``_transition``, which checks the move against
``TRANSITIONS`` (h11 style: the table below is the documentation and the check at once).

Transition table (old state, reason → new state)::

    INIT    start, owner start, startup  -> BACKUP     (every instance starts BACKUP)
    INIT    fault at start               -> FAULT
    INIT    was MASTER before a reload   -> MASTER
    BACKUP  master down timer expired    -> MASTER     (an owner's timer is 0)
    BACKUP  sync group goes MASTER       -> MASTER
    BACKUP  fault / group fault          -> FAULT
    MASTER  higher priority advert       -> BACKUP     (or equal priority, higher source)
    MASTER  sync group goes BACKUP       -> BACKUP
    MASTER  fault / group fault          -> FAULT      (sends a priority-0 advert)
    MASTER  a guard yields the role      -> BACKUP     (split-brain guards, vrrp.claim)
    FAULT   fault cleared (whole group)  -> BACKUP
    any     shutdown                     -> STOP       (a MASTER sends priority 0)

Invariants
----------
* Addresses are held exactly while in MASTER: every entry into MASTER queues
  ``AcquireAddresses`` and every exit queues ``ReleaseAddresses``.
* In BACKUP exactly one timer runs (the master down timer); in MASTER the advert timer always
  runs, plus the GARP timers; INIT, FAULT and STOP run no timer.
* An ignored advert (invalid, or lower priority while we may preempt) never touches the running
  timer: the backup keeps its *remaining* time (keepalived, not RFC-literal).
* The effective priority is always ``tracking.effective_priority(base, delta)``: 1..254, or 255
  for an address owner, which trackers' weights never change.
* A claim (BACKUP -> MASTER on the down timer) waits while a split-brain guard's block
  applies (``set_claim_block``, ``vrrp.claim``); guards' FAULT demands (``set_guard_fault``)
  count as the instance's own fault, with the guard's reason in the log. Without guards
  configured neither ever holds and the router is keepalived's.
* Skew and Master_Down are computed in whole microseconds from the effective priority and the
  master's advert interval, as keepalived does (v2: skew = (256-p)/256 s; v3: (256-p)·I/256).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cached_property, lru_cache

from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    Action,
    AhResync,
    ClaimWanted,
    GarpReason,
    LogEvent,
    Notify,
    NotifyEvent,
    Reason,
    ReleaseAddresses,
    SendAdvert,
    SendGratuitous,
    State,
    StateChanged,
    VrrpStats,
)
from pykeepalived.vrrp.claim import ClaimBlock, ClaimBlocks
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import (
    PRIO_OWNER,
    Tracking,
    TrackKind,
    TrackResult,
    TrackSpec,
    effective_priority,
)

__all__ = [
    "TRANSITIONS",
    "RouterSettings",
    "VrrpRouter",
    "adver_int_field",
    "late_takeover",
    "master_down_interval",
    "skew_time",
]

_US = 1_000_000

# (old state, reason, new state): every move _transition may make.
TRANSITIONS: frozenset[tuple[State, Reason, State]] = frozenset(
    {
        (State.INIT, Reason.STARTUP, State.BACKUP),
        (State.INIT, Reason.FAULT, State.FAULT),
        (State.INIT, Reason.SYNC_GROUP, State.FAULT),
        (State.INIT, Reason.RELOAD_MASTER, State.MASTER),
        (State.BACKUP, Reason.MASTER_DOWN, State.MASTER),
        (State.BACKUP, Reason.OWNER_STARTUP, State.MASTER),
        (State.BACKUP, Reason.SYNC_GROUP, State.MASTER),
        (State.BACKUP, Reason.FAULT, State.FAULT),
        (State.BACKUP, Reason.SYNC_GROUP, State.FAULT),
        (State.MASTER, Reason.HIGHER_PRIORITY, State.BACKUP),
        (State.MASTER, Reason.SYNC_GROUP, State.BACKUP),
        (State.MASTER, Reason.FAULT, State.FAULT),
        (State.MASTER, Reason.SYNC_GROUP, State.FAULT),
        (State.MASTER, Reason.YIELD, State.BACKUP),
        (State.MASTER, Reason.TIMER_EXPIRED, State.BACKUP),
        (State.FAULT, Reason.FAULT_CLEARED, State.BACKUP),
        (State.INIT, Reason.SHUTDOWN, State.STOP),
        (State.BACKUP, Reason.SHUTDOWN, State.STOP),
        (State.MASTER, Reason.SHUTDOWN, State.STOP),
        (State.FAULT, Reason.SHUTDOWN, State.STOP),
    }
)


def adver_int_field(version: int, seconds: float) -> int:
    """The advert interval as the wire carries it: whole seconds (v2), centiseconds (v3)."""
    if version == 2:
        return max(1, min(255, round(seconds)))
    return max(1, min(4095, round(seconds * 100)))


def _interval_us(version: int, field: int) -> int:
    return field * _US if version == 2 else field * 10_000


def skew_time(version: int, priority: int, adver_int: int) -> float:
    """Skew_Time in seconds for ``priority`` and the master's wire interval ``adver_int``."""
    if version == 2:
        return ((256 - priority) * _US // 256) / _US
    return ((256 - priority) * _interval_us(version, adver_int) // 256) / _US


@lru_cache(maxsize=1024)  # pure, and recomputed for every advert a backup accepts
def master_down_interval(version: int, priority: int, adver_int: int, adverts: int = 3) -> float:
    """Master_Down_Interval in seconds: ``adverts`` × interval + skew (keepalived's µs math)."""
    skew_us = round(skew_time(version, priority, adver_int) * _US)
    return (adverts * _interval_us(version, adver_int) + skew_us) / _US


def late_takeover(s: RouterSettings) -> float | None:
    """With ``timer_expired_backup``: how late the timers must run before this router checks
    whether a peer has probably taken over (the quickest a backup of the configured priority
    can claim: 2 intervals + its skew, as keepalived computes it). None without the keyword."""
    if not s.timer_expired_backup:
        return None
    return master_down_interval(s.version, s.timer_expired_backup, s.adver_int, 2)


# Both helpers are pure functions of a string and run on every received advert (source and
# VIPs): cached, since a LAN only ever shows a handful of distinct addresses.
@lru_cache(maxsize=4096)
def _ip_key(text: str) -> int | None:
    try:
        return int(ipaddress.ip_address(text.split("/", 1)[0].split()[0]))
    except (ValueError, IndexError):
        return None


@lru_cache(maxsize=4096)
def _norm(text: str) -> str:
    bare = text.split("/", 1)[0].split()[0] if text.strip() else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return bare


@dataclass(frozen=True)
class RouterSettings:
    """Everything the state machine needs from a ``vrrp_instance`` block (the daemon maps the
    config model onto it; defaults are keepalived's).

    ``addresses`` are the advertised VIPs as plain address strings; ``excluded_addresses`` the
    eVIPs. ``src_ip`` is our advert source address (needed for the equal-priority tie-break).
    ``garp_lower_prio_delay``/``_repeat`` default to the ``garp_master_*`` values.
    ``tracks`` should include the sync group's trackers for a group member.
    """

    name: str
    vrid: int
    priority: int = 100
    version: int = 2
    family: int = 4
    advert_int: float = 1.0
    initial_state: State = State.BACKUP  # the ``state`` hint: BACKUP or MASTER
    preempt: bool = True  # False with ``nopreempt``
    preempt_delay: float = 0.0
    addresses: tuple[str, ...] = ()
    excluded_addresses: tuple[str, ...] = ()
    src_ip: str | None = None
    unicast_peers: tuple[str, ...] = ()
    interface: str | None = None
    down_timer_adverts: int = 3
    timer_expired_backup: int = 0  # highest priority of the other routers; 0: off
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    owner_ignore_adverts: bool = False
    skip_check_adv_addr: bool = False
    accept: bool = True
    strict: bool = False
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float | None = None
    garp_lower_prio_repeat: int | None = None
    min_garp: bool = False
    # garp_extra_if: every this many seconds a MASTER sends one gratuitous ARP/NA for each
    # of these addresses (one per interface other than the advert's), checked as it sends
    # an advert; 0 or no address: never
    garp_extra_if: float = 0.0
    garp_extra_addresses: tuple[str, ...] = ()
    dont_track_primary: bool = False
    tracks: tuple[TrackSpec, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError(f"vrid {self.vrid} outside 1..255")
        if not 1 <= self.priority <= 255:
            raise ValueError(f"priority {self.priority} outside 1..255")
        if self.version not in (2, 3):
            raise ValueError(f"version {self.version} is not 2 or 3")
        if not 1 <= self.down_timer_adverts <= 100:
            raise ValueError(f"down_timer_adverts {self.down_timer_adverts} outside 1..100")
        if self.initial_state not in (State.BACKUP, State.MASTER):
            raise ValueError("initial_state must be BACKUP or MASTER")

    @cached_property  # read for every advert sent; the settings are frozen
    def adver_int(self) -> int:
        """Our own advert interval as the wire field."""
        return adver_int_field(self.version, self.advert_int)

    @property
    def lower_prio_delay(self) -> float:
        d = self.garp_lower_prio_delay
        return self.garp_master_delay if d is None else d

    @property
    def lower_prio_repeat(self) -> int:
        r = self.garp_lower_prio_repeat
        return self.garp_master_repeat if r is None else r


class VrrpRouter:
    """One VRRP instance. See the module docstring for how to drive it."""

    def __init__(
        self, settings: RouterSettings, now: float, sync_group: SyncGroup | None = None
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.stats = VrrpStats()
        self.created_at = now
        self._state = State.INIT
        self._actions: list[Action] = []
        self._tracking = Tracking(settings.tracks)
        self._iface_up = True
        self._base = settings.priority
        self._track_result: TrackResult = self._tracking.evaluate()
        self._rogue_demoted = False
        self._sent_at: float | None = None  # when the last advert left
        self._eff = self._compute_priority()
        self._master_adver_int = settings.adver_int
        self._master_ip: str | None = None
        self._vips = frozenset(_norm(a) for a in settings.addresses)
        self._own_src = _norm(settings.src_ip) if settings.src_ip is not None else None
        # The last received address list that passed the VIP check: a master repeats the same
        # tuple in every advert, so the check is one tuple comparison after the first advert.
        self._addresses_ok: tuple[str, ...] | None = None
        self._all_addresses = settings.addresses + settings.excluded_addresses
        self._own_interval_s = _interval_us(settings.version, settings.adver_int) / _US
        # Timers (absolute virtual times) and timer-like marks.
        self._down_at: float | None = None
        self._advert_at: float | None = None
        self._garp_at: float | None = None
        self._refresh_at: float | None = None
        self._extra_at: float | None = None  # garp_extra_if: due at the first advert after
        self._lower_garp_at: float | None = None
        self._preempt_at: float | None = None
        self._want_master = False  # sync group: our down timer expired, waiting for the group
        self._rival_since: float | None = None  # another owner (255) advertising at us
        self._rival_last: float | None = None
        self._rival_sent_mark = 0
        self._periodic_adverts = 0
        # The last advert a BACKUP accepted as a plain refresh from its master (see
        # receive_repeat); None when the last full receive did anything else.
        self._rx_repeat: Advert | None = None
        # Split-brain guards (vrrp.claim): blocks on claiming, FAULT demands with their reason,
        # and a claim waiting for the blocks to lift (silent or a preemption; announce timer).
        self._blocks = ClaimBlocks()
        self._guard_faults: dict[str, str] = {}
        self._heard_lower = False
        self._last_rx: float | None = None
        self._last_adv: Advert | None = None  # the last counted advert (its sender's rank)
        self._claim_wait: bool | None = None  # None: not waiting; else the claim's "silent"
        self._announce_at: float | None = None
        self.group: SyncGroup | None = None
        if sync_group is not None:
            sync_group.add(self)

    # ------------------------------------------------------------------ public read-only view
    @property
    def state(self) -> State:
        return self._state

    @property
    def effective_priority(self) -> int:
        return self._eff

    @property
    def base_priority(self) -> int:
        return self._base

    @property
    def master_ip(self) -> str | None:
        """The current master's address: ours in MASTER, the last accepted advert's in BACKUP."""
        if self._state is State.MASTER:
            return self.settings.src_ip
        if self._state is State.BACKUP:
            return self._master_ip
        return None

    def track_ok(self, kind: TrackKind, name: str) -> bool | None:
        """What this instance last heard from a boolean tracker (None: not tracked); the
        data dump's script status."""
        return self._tracking.ok(kind, name)

    @property
    def master_adver_int(self) -> int:
        """The interval (wire field) backups time out on: ours, or the master's adopted one (v3)."""
        return self._master_adver_int

    @property
    def own_fault(self) -> bool:
        """True while this instance's own trackers or interface demand FAULT."""
        if not self._iface_up and not self.settings.dont_track_primary:
            return True
        return self._track_result.fault or bool(self._guard_faults)

    @property
    def skew(self) -> float:
        prio = PRIO_OWNER if self._base == PRIO_OWNER else self._eff
        return skew_time(self.settings.version, prio, self._master_adver_int)

    @property
    def master_down(self) -> float:
        prio = PRIO_OWNER if self._base == PRIO_OWNER else self._eff
        return master_down_interval(
            self.settings.version, prio, self._master_adver_int, self.settings.down_timer_adverts
        )

    def actions(self) -> list[Action]:
        """Return and forget the queued actions, oldest first."""
        out, self._actions = self._actions, []
        return out

    @property
    def has_actions(self) -> bool:
        """Whether ``actions()`` would return anything (checked per received advert)."""
        return bool(self._actions)

    def next_timer(self) -> float | None:
        """The virtual time at which ``handle_timer`` must next be called, or None."""
        if self._state is State.BACKUP:
            return self._down_at if self._announce_at is None else self._announce_at
        if self._state is State.MASTER:
            # called for every advert sent: no list, no min() of a generator
            best = self._advert_at
            for t in (self._garp_at, self._refresh_at, self._lower_garp_at):
                if t is not None and (best is None or t < best):
                    best = t
            return best
        return None

    # ------------------------------------------------------------------ inputs
    def start(self, now: float, reload_master: bool = False) -> None:
        """Enter BACKUP (or FAULT) as keepalived does at start-up; an owner takes over at once.

        ``reload_master``: the instance was MASTER before a reload that rebuilt it; it goes
        straight back to MASTER without waiting (keepalived's ``reload_master``) and without
        removing its addresses first.
        """
        if self._state is not State.INIT:
            return
        self._update_priority(now, announce=False)
        if self.group is not None:
            self.group.member_started(self, now)
            if self.group.state is State.FAULT:
                reason = Reason.FAULT if self.own_fault else Reason.SYNC_GROUP
                self._transition(now, State.FAULT, reason)
                return
        elif self.own_fault:
            self._transition(now, State.FAULT, Reason.FAULT)
            return
        if reload_master:
            self._transition(now, State.MASTER, Reason.RELOAD_MASTER)
            return
        self._start_backup(now)

    @property
    def repeat_advert(self) -> Advert | None:
        """The advert the last ``receive`` accepted as a plain refresh of the master we follow
        (no log, no state change, only the down timer moved), else None."""
        return self._rx_repeat

    def receive_repeat(self, advert: Advert, now: float) -> bool:
        """Receive ``advert`` again (the caller knows the new packet decodes to the same
        fields but the IP ID) if it is still ``repeat_advert`` and ``receive`` would again
        only count it and restart the down timer; False (nothing done) otherwise.

        Every condition ``receive`` tests for such an advert is a function of the advert, of
        constant settings, or of the state checked here: BACKUP, priority (non-zero) at least
        ours (so accepted whatever preemption says), the same master and the same interval
        (no log), and the address check (passed before: its outcome depends only on the
        addresses and the VIPs, or for ``skip_check_adv_addr`` on the master, checked here).
        """
        if (advert is not self._rx_repeat or self._state is not State.BACKUP
                or advert.priority < self._eff or advert.src != self._master_ip
                or advert.adver_int != self._master_adver_int
                or self._claim_wait is not None):  # a guard must hear that the wait ended
            return False
        self.stats.advert_rcvd += 1
        self._last_rx = now
        self._last_adv = advert
        self._preempt_at = None
        self._want_master = False
        self._down_at = now + self.master_down
        self._heard_lower = False
        return True

    def receive(self, advert: Advert, now: float) -> None:
        """Process one advert that passed the codec's checks (addressed to our VRID)."""
        s = self.settings
        self._rx_repeat = None
        if self._state not in (State.BACKUP, State.MASTER):
            return
        if advert.vrid != s.vrid:
            self.stats.vrid_err += 1
            return
        if self._own_src is not None and _norm(advert.src) == self._own_src:
            return  # our own advert looped back
        # what keepalived 2.2.7 drops before counting an advert as received (seen side by side
        # in its stats file: tests/netns/daemon/test_daemon_hostile.py)
        if advert.type != 1:
            self.stats.invalid_type_rcvd += 1
            return
        if advert.version != s.version:
            self.stats.vers_err += 1
            self._log(f"received VRRPv{advert.version} advert, we are v{s.version}", "WARNING")
            return
        if advert.adver_int == 0 or (s.version == 2 and advert.adver_int != s.adver_int):
            # logged and dropped; its Advertisement Interval counter stays put for a v2 mismatch
            if advert.adver_int == 0:
                self.stats.advert_interval_err += 1
            self._log(
                f"advertisement interval mismatch mine={s.adver_int} sec "
                f"rcv'd={advert.adver_int} sec",
                "WARNING",
            )
            return
        if (len(advert.addresses) != len(s.addresses)
                and not self._repeat_master_skips_addresses(advert)):
            self.stats.addr_list_err += 1
            self._log(f"received an unexpected ip number count {len(advert.addresses)}, "
                      f"expected {len(s.addresses)}!", "WARNING")
            return
        self.stats.advert_rcvd += 1
        self._last_rx = now
        self._last_adv = advert
        if (
            self._state is State.MASTER
            and self._base == PRIO_OWNER
            and (s.owner_ignore_adverts or s.strict)
        ):
            return
        if advert.priority == 0:
            self.stats.pri_zero_rcvd += 1
        if not self._check_addresses(advert):
            return
        if self._state is State.BACKUP:
            self._rx_backup(advert, now)
        else:
            self._rx_master(advert, now)

    def handle_timer(self, now: float) -> None:
        """Run every timer that is due at ``now``."""
        for _ in range(16):  # each pass consumes one due timer; a bound keeps a bug finite
            due = self.next_timer()
            if due is None or due > now:
                return
            if self._state is State.BACKUP:
                if self._announce_at is not None and self._announce_at <= now:
                    self._announce_at = now + self._own_interval()
                    self._send_advert(self._eff, now)
                    continue
                self._down_at = None
                self._master_down(now)
            elif self._advert_at is not None and self._advert_at <= now:
                self._advert_at = now + self._own_interval()
                self._periodic_adverts += 1
                self._send_advert(self._eff, now)
                if self._extra_at is not None and now > self._extra_at:
                    self._extra_garp(now)
                self._maybe_restore_owner(now)
            elif self._garp_at is not None and self._garp_at <= now:
                self._garp_at = None
                self._garp(self.settings.garp_master_repeat, GarpReason.MASTER_DELAYED)
            elif self._refresh_at is not None and self._refresh_at <= now:
                self._refresh_at = now + self.settings.garp_master_refresh
                self._garp(self.settings.garp_master_refresh_repeat, GarpReason.REFRESH)
            elif self._lower_garp_at is not None and self._lower_garp_at <= now:
                self._lower_garp_at = None
                self._garp(self.settings.lower_prio_repeat, GarpReason.LOWER_PRIORITY)

    def set_track_state(self, kind: TrackKind, name: str, ok: bool, now: float) -> bool:
        """A tracked script/interface/process/BFD went up (``ok``) or down. False if untracked."""
        if not self._tracking.set_ok(kind, name, ok):
            return False
        self._tracking_changed(now)
        return True

    def set_track_file(self, name: str, value: int, now: float) -> bool:
        """A tracked file now holds ``value``. False if untracked."""
        if not self._tracking.set_value(name, value):
            return False
        self._tracking_changed(now)
        return True

    def set_interface_up(self, up: bool, now: float) -> None:
        """The instance's own interface went up or down (ignored with ``dont_track_primary``)."""
        if self._iface_up == up:
            return
        self._iface_up = up
        self._tracking_changed(now)

    def set_base_priority(self, priority: int, now: float) -> None:
        """Change the configured priority (reload); the effective priority follows."""
        if not 1 <= priority <= 255:
            raise ValueError(f"priority {priority} outside 1..255")
        self._base = priority
        self._tracking_changed(now)

    def shutdown(self, now: float) -> None:
        """Stop: a MASTER sends priority 0 and then releases its addresses."""
        if self._state is State.STOP:
            return
        if self._state is State.MASTER:
            self._send_advert(0, now)
            self._log("sent 0 priority")
        self._transition(now, State.STOP, Reason.SHUTDOWN)

    # ------------------------------------------------------------------ receive paths
    def _repeat_master_skips_addresses(self, advert: Advert) -> bool:
        """``skip_check_adv_addr``: an advert from the master we already follow is not
        checked against our address list."""
        return (self.settings.skip_check_adv_addr and self._master_ip is not None
                and _norm(advert.src) == _norm(self._master_ip))

    def _check_addresses(self, advert: Advert) -> bool:
        if advert.addresses == self._addresses_ok:
            return True  # same list as an earlier advert that passed: same outcome, no logs
        s = self.settings
        if self._repeat_master_skips_addresses(advert):
            return True
        got = {_norm(a) for a in advert.addresses}
        missing = sorted(self._vips - got)
        if missing:
            self.stats.addr_list_err += 1
            self._log(
                f"ip address associated with VRID {s.vrid} not present in MASTER advert : "
                f"{missing[0]}",
                "WARNING",
            )
            return False
        if len(advert.addresses) == len(s.addresses):
            self._addresses_ok = advert.addresses
        return True

    def _rx_backup(self, adv: Advert, now: float) -> None:
        s = self.settings
        if adv.priority == 0:
            self._log("Backup received priority 0 advertisement")
            self._down_at = now + self.skew
            return
        accept = (not s.preempt) or adv.priority >= self._eff
        if adv.priority >= self._eff:
            self._preempt_at = None
        elif accept is False and s.preempt_delay > 0:
            if self._preempt_at is None:
                self._preempt_at = now + s.preempt_delay
                self._log(f"start preempt delay ({s.preempt_delay:.6f})")
            accept = now < self._preempt_at
        if not accept:
            # Keep the remaining timer: it runs out and we take over (preemption).
            self._heard_lower = True
            self._log(
                f"received lower priority advert from {adv.src} "
                f"(priority {adv.priority}, ours {self._eff}), ignoring"
            )
            return
        if s.version == 3 and adv.adver_int != self._master_adver_int:
            self._log(
                f"advertisement interval changed: mine={s.adver_int * 10} milli-sec "
                f"rcv'd={adv.adver_int * 10} milli-sec"
            )
            self._master_adver_int = adv.adver_int
        self._master_ip = adv.src
        self._want_master = False
        self._down_at = now + self.master_down
        self._heard_lower = False
        self._end_claim_wait()
        if adv.priority >= self._eff:
            self._rx_repeat = adv

    def _rx_master(self, adv: Advert, now: float) -> None:
        s = self.settings
        if adv.priority == 0:
            self._send_advert(self._eff, now)
            self._advert_at = now + self._own_interval()
            return
        if adv.priority == PRIO_OWNER and self._eff == PRIO_OWNER and self._beats(adv.src):
            self._rival_owner(adv, now)
        if adv.priority > self._eff or (adv.priority == self._eff and not self._beats(adv.src)):
            self._log(
                f"Master received advert from {adv.src} with higher priority "
                f"{adv.priority}, ours {self._eff}"
            )
            if s.higher_prio_send_advert:
                self._send_advert(self._eff, now)
            if s.version == 3:
                self._master_adver_int = adv.adver_int
            self._master_ip = adv.src
            self._transition(now, State.BACKUP, Reason.HIGHER_PRIORITY)
            return
        # Lower priority (or equal with a lower address): stay MASTER.
        if s.lower_prio_no_advert:
            self._log(
                f"Received advert from {adv.src} with lower priority {adv.priority}, "
                f"ours {self._eff}"
            )
        else:
            self._log(
                f"Received advert from {adv.src} with lower priority {adv.priority}, "
                f"ours {self._eff}, forcing new election"
            )
            self._send_advert(self._eff, now)
        if adv.ah_seq is not None:
            self._actions.append(AhResync(adv.ah_seq))
        self.lower_priority_garps(now)
        if self.group is not None:
            self.group.member_rx_lower(self, now)
        self._actions.append(Notify(NotifyEvent.MASTER_RX_LOWER_PRI, self.name, self._eff))

    def lower_priority_garps(self, now: float) -> None:
        """Send the lower-priority GARP burst now and schedule the delayed one (MASTER only)."""
        s = self.settings
        if self._state is not State.MASTER or s.lower_prio_repeat <= 0:
            return
        self._garp(s.lower_prio_repeat, GarpReason.LOWER_PRIORITY)
        if s.lower_prio_delay > 0 and not s.min_garp:
            self._lower_garp_at = now + s.lower_prio_delay

    def _beats(self, other_src: str) -> bool:
        """Equal-priority tie-break: True when our source address is the higher one.

        Unsigned comparison in host order (per 32-bit word for IPv6, which equals comparing the
        128-bit value). Without a known own address we yield, to avoid two masters.
        """
        mine = _ip_key(self.settings.src_ip) if self.settings.src_ip else None
        theirs = _ip_key(other_src)
        if mine is None or theirs is None:
            return False
        return mine > theirs

    def _rival_owner(self, adv: Advert, now: float) -> None:
        """Two address owners (a config error): the higher address stays, and if the lower one
        keeps advertising at 255 (a rogue), we drop to 254 so that only one master remains."""
        if self._rival_since is None or (
            self._rival_last is not None and now - self._rival_last > 3 * self._own_interval()
        ):
            self._rival_since = now
            self._rival_sent_mark = self._periodic_adverts
            self._log(
                f"WARNING - {adv.src} is also advertising as address owner (priority 255)", "ERROR"
            )
        self._rival_last = now
        patience = 1.2 * max(self._own_interval(), adv.interval)
        if (
            self._periodic_adverts - self._rival_sent_mark >= 2
            and now - self._rival_since >= patience
            and not self._rogue_demoted
        ):
            self._rogue_demoted = True
            self._log(f"rogue address owner {adv.src} does not back off, lowering priority to 254")
            self._update_priority(now, announce=True)

    def _maybe_restore_owner(self, now: float) -> None:
        if not self._rogue_demoted or self._rival_last is None:
            return
        if now - self._rival_last > 3 * self._own_interval():
            self._rogue_demoted = False
            self._rival_since = None
            self._update_priority(now, announce=True)

    # ------------------------------------------------------------------ timers
    def _own_interval(self) -> float:
        return self._own_interval_s

    def _master_down(self, now: float) -> None:
        owner_start = self._base == PRIO_OWNER and self._master_ip is None
        if self.group is not None and not self.group.can_goto_master(self):
            if not self._want_master:
                self._log("waiting for the sync group before becoming MASTER")
            self._want_master = True
            wait = _interval_us(self.settings.version, self._master_adver_int) / _US
            self._down_at = (
                now + wait + skew_time(self.settings.version, PRIO_OWNER, self._master_adver_int)
            )
            return
        silent = not self._heard_lower
        block = self._blocks.blocking(silent)
        if block is not None:
            if self._claim_wait is None:
                self._log(f"not claiming MASTER: {block.reason}", "WARNING")
                self._actions.append(ClaimWanted(True, silent))
            self._claim_wait = silent
            if not self._blocks.announce(silent):
                self._announce_at = None
            elif self._announce_at is None:
                self._send_advert(self._eff, now)
                self._announce_at = now + self._own_interval()
            return
        self._end_claim_wait()
        if not owner_start:
            self._log("Receive advertisement timeout")
        reason = Reason.OWNER_STARTUP if owner_start else Reason.MASTER_DOWN
        self._transition(now, State.MASTER, reason)

    def _end_claim_wait(self) -> None:
        if self._claim_wait is not None:
            self._claim_wait = None
            self._announce_at = None
            self._actions.append(ClaimWanted(False))

    # ------------------------------------------------------------------ split-brain guards
    def set_claim_block(self, source: str, block: ClaimBlock | None, now: float) -> None:
        """A guard forbids claiming MASTER (``block``) or lifts its objection (None).

        A router waiting to claim re-checks at once: it claims when nothing applicable is
        left, or keeps waiting (announcing or not, as the remaining blocks ask)."""
        if not self._blocks.set(source, block) or self._claim_wait is None:
            return
        if self._state is State.BACKUP and self._down_at is None:
            self._master_down(now)

    @property
    def last_advert_at(self) -> float | None:
        """When the last valid advert from another router of this VRID arrived."""
        return self._last_rx

    @property
    def last_advert_rank(self) -> tuple[int, str] | None:
        """(priority, source address) of the last valid advert from another router of this
        VRID: what VRRP's own order knows of the other holder (the conflict watch ranks a
        holder by it rather than by MAC address)."""
        a = self._last_adv
        return None if a is None else (a.priority, a.src)

    @property
    def claim_waiting(self) -> bool:
        """True while the down timer has run out but a guard's block holds the claim back."""
        return self._claim_wait is not None

    def set_guard_fault(self, source: str, reason: str | None, now: float) -> None:
        """A guard demands FAULT for ``reason`` (None: it no longer does). The reason is
        logged, so an operator reads why the instance gave up its addresses."""
        if reason is None:
            if self._guard_faults.pop(source, None) is None:
                return
        else:
            if self._guard_faults.get(source) == reason:
                return
            self._guard_faults[source] = reason
            self._log(f"{source}: {reason}", "WARNING")
        self._tracking_changed(now)

    def timers_late(self, now: float) -> bool:
        """The process ran its timers late (``late_takeover`` or more): with
        ``timer_expired_backup``, a MASTER whose last advert is so old that a peer of the
        configured priority has probably taken over goes BACKUP rather than advertising
        again (keepalived 2.4's choice for nopreempt set-ups: one switch, not two).
        True if it did."""
        s = self.settings
        if not s.timer_expired_backup or self._state is not State.MASTER \
                or self._sent_at is None:
            return False
        if self._sent_at + master_down_interval(s.version, s.timer_expired_backup,
                                                s.adver_int) > now:
            return False
        self._transition(now, State.BACKUP, Reason.TIMER_EXPIRED)
        return True

    def yield_master(self, reason: str, now: float) -> None:
        """A guard saw another holder of our addresses that keeps them: hand the role over
        (MASTER -> BACKUP, addresses released). What stops us from taking it back at once is
        the guard's claim block, not the router."""
        if self._state is not State.MASTER:
            return
        self._log(f"yielding MASTER: {reason}", "WARNING")
        self._transition(now, State.BACKUP, Reason.YIELD)

    # ------------------------------------------------------------------ tracking
    def _compute_priority(self) -> int:
        eff = effective_priority(self._base, self._track_result.delta)
        if self._rogue_demoted and eff == PRIO_OWNER:
            return PRIO_OWNER - 1
        return eff

    def _update_priority(self, now: float, announce: bool) -> None:
        self._track_result = self._tracking.evaluate()
        new = self._compute_priority()
        old_mdi = self.master_down
        old, self._eff = self._eff, new
        if self._state is State.BACKUP and self._down_at is not None and new != old:
            # keepalived moves the running timer by the change in Master_Down (the skew
            # depends on the priority), so a backup whose priority rose times out sooner.
            self._down_at += self.master_down - old_mdi
        if announce and new != old:
            self._log(f"Changing effective priority from {old} to {new}")
            if self._state is State.MASTER:
                self._actions.append(Notify(NotifyEvent.MASTER_PRIORITY, self.name, new))
            elif self._state is State.BACKUP:
                self._actions.append(Notify(NotifyEvent.BACKUP_PRIORITY, self.name, new))

    def _tracking_changed(self, now: float) -> None:
        self._update_priority(now, announce=self._state is not State.INIT)
        if self._state in (State.INIT, State.STOP):
            return
        if self.group is not None:
            self.group.reevaluate(now)
        else:
            self.apply_fault(now, self.own_fault)

    def apply_fault(self, now: float, fault: bool, by_group: bool = False) -> None:
        """Enter or leave FAULT (called by the group for its members)."""
        if self._state in (State.INIT, State.STOP):
            return
        if fault and self._state is not State.FAULT:
            reason = Reason.SYNC_GROUP if by_group and not self.own_fault else Reason.FAULT
            self._transition(now, State.FAULT, reason)
        elif not fault and self._state is State.FAULT:
            self._transition(now, State.BACKUP, Reason.FAULT_CLEARED)
            if self._base == PRIO_OWNER:
                self._master_ip = None
                self._master_down(now)

    # ------------------------------------------------------------------ group hooks
    def force_master(self, now: float) -> None:
        """The sync group goes MASTER: a BACKUP member follows at once."""
        if self._state is State.BACKUP:
            self._transition(now, State.MASTER, Reason.SYNC_GROUP)

    def force_backup(self, now: float) -> None:
        """The sync group goes BACKUP: a MASTER member steps down."""
        if self._state is State.MASTER:
            self._transition(now, State.BACKUP, Reason.SYNC_GROUP)

    @property
    def wants_master(self) -> bool:
        """True for a BACKUP whose down timer expired but whose sync group was not ready."""
        return self._state is State.BACKUP and self._want_master

    # ------------------------------------------------------------------ transitions
    def _start_backup(self, now: float) -> None:
        s = self.settings
        if self._all_addresses:
            self._log("removing VIPs.")
            self._actions.append(ReleaseAddresses(s.addresses, s.excluded_addresses))
        self._transition(now, State.BACKUP, Reason.STARTUP)
        if s.preempt_delay > 0:
            self._preempt_at = now + s.preempt_delay
        if self._base == PRIO_OWNER:
            self._master_down(now)

    def _transition(self, now: float, new: State, reason: Reason) -> None:
        old = self._state
        if (old, reason, new) not in TRANSITIONS:
            raise AssertionError(f"illegal VRRP transition {old} --{reason}--> {new}")
        s = self.settings
        if old is State.MASTER:
            if new in (State.FAULT, State.STOP) and reason is not Reason.SHUTDOWN:
                self._send_advert(0, now)
            self.stats.release_master += 1
            self._advert_at = self._garp_at = self._refresh_at = self._lower_garp_at = None
            self._extra_at = None
            if self._all_addresses:
                self._log("removing VIPs.")
                self._actions.append(ReleaseAddresses(s.addresses, s.excluded_addresses))
        self._state = new
        self._want_master = False
        self._down_at = None
        self._heard_lower = False
        self._end_claim_wait()
        if new is State.MASTER:
            self._enter_master(now)
        elif new is State.BACKUP:
            suffix = " (init)" if old is State.INIT else ""
            self._log(f"Entering BACKUP STATE{suffix}")
            if old is State.FAULT:
                self._master_adver_int = s.adver_int
            self._down_at = now + self.master_down
        elif new is State.FAULT:
            self._log("Entering FAULT STATE")
            for src, why in self._guard_faults.items():
                self._log(f"FAULT reason {src}: {why}")
            self._master_ip = None
        elif new is State.STOP:
            self._log("Stopped")
        self._actions.append(StateChanged(old, new, reason))
        event = {
            State.MASTER: NotifyEvent.MASTER,
            State.BACKUP: NotifyEvent.BACKUP,
            State.FAULT: NotifyEvent.FAULT,
            State.STOP: NotifyEvent.STOP,
        }[new]
        self._actions.append(Notify(event, self.name, self._eff))
        if self.group is not None:
            if new is State.MASTER and reason is not Reason.SYNC_GROUP:
                self.group.member_became_master(self, now)
            elif old is State.MASTER and new is State.BACKUP and reason is not Reason.SYNC_GROUP:
                self.group.member_became_backup(self, now)

    def _enter_master(self, now: float) -> None:
        s = self.settings
        if self._rogue_demoted:
            self._rogue_demoted = False
            self._update_priority(now, announce=True)
        self._rival_since = self._rival_last = None
        self._log("Entering MASTER STATE")
        self.stats.become_master += 1
        self._send_advert(self._eff, now)
        if self._all_addresses:
            self._log("setting VIPs.")
            self._actions.append(AcquireAddresses(s.addresses, s.excluded_addresses))
        repeat = 1 if s.min_garp else s.garp_master_repeat
        self._garp(repeat, GarpReason.BECOME_MASTER)
        self._advert_at = now + self._own_interval()
        self._garp_at = (
            now + s.garp_master_delay
            if s.garp_master_delay > 0 and not s.min_garp and s.garp_master_repeat > 0
            else None
        )
        self._refresh_at = now + s.garp_master_refresh if s.garp_master_refresh > 0 else None
        self._extra_at = (now + s.garp_extra_if
                          if s.garp_extra_if > 0 and s.garp_extra_addresses else None)
        self._lower_garp_at = None
        self._preempt_at = None
        self._master_ip = s.src_ip
        self._master_adver_int = s.adver_int

    # ------------------------------------------------------------------ small helpers
    def _send_advert(self, priority: int, now: float) -> None:
        s = self.settings
        self._sent_at = now
        self._actions.append(SendAdvert(priority, s.version, s.vrid, s.adver_int, s.addresses))
        self.stats.advert_sent += 1
        if priority == 0:
            self.stats.pri_zero_sent += 1

    def _garp(self, count: int, reason: GarpReason) -> None:
        if count > 0 and self._all_addresses:
            self._actions.append(SendGratuitous(self._all_addresses, count, reason))

    def _extra_garp(self, now: float) -> None:
        """garp_extra_if: one gratuitous ARP/NA on each extra interface, as keepalived sends
        them with the first advert after the interval has passed."""
        self._extra_at = now + self.settings.garp_extra_if
        self._actions.append(SendGratuitous(self.settings.garp_extra_addresses, 1,
                                            GarpReason.EXTRA_IF))

    def _log(self, message: str, level: str = "INFO") -> None:
        self._actions.append(LogEvent(f"({self.name}) {message}", level))

    def __repr__(self) -> str:
        s = self.settings
        return f"<VrrpRouter {self.name} vrid={s.vrid} {self._state.value} prio={self._eff}>"
