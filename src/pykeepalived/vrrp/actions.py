"""What the VRRP state machine hands back to its shell: states, reasons, actions and counters.

Every action is a small frozen dataclass. The router queues them in the order keepalived performs
the corresponding side effects (for example on becoming MASTER: the advert first, then the
addresses, then the gratuitous ARP/NA burst); a shell drains them with ``VrrpRouter.actions()``
(and ``SyncGroup.actions()`` for group-level notifications) and executes them in that order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields


class State(enum.Enum):
    """An instance's (or a sync group's) VRRP state; values are keepalived's notify words."""

    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


class Reason(enum.Enum):
    """Why a state changed: one per row of the transition table in ``router.py``."""

    STARTUP = "startup"
    OWNER_STARTUP = "address owner at startup"
    MASTER_DOWN = "master down timer expired"
    HIGHER_PRIORITY = "higher priority advert"
    FAULT = "fault"
    FAULT_CLEARED = "fault cleared"
    SYNC_GROUP = "sync group"
    SHUTDOWN = "shutdown"
    RELOAD_MASTER = "master before reload"
    TIMER_EXPIRED = "timers ran late"  # timer_expired_backup: a peer has probably taken over
    YIELD = "yielded to another holder"  # a split-brain guard (vrrp.claim) handed the role over


class NotifyEvent(enum.Enum):
    """Notify script / FIFO event words (``INSTANCE "VI_1" MASTER 100``)."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"
    FAULT = "FAULT"
    STOP = "STOP"
    DELETED = "DELETED"
    MASTER_RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"
    MASTER_PRIORITY = "MASTER_PRIORITY"
    BACKUP_PRIORITY = "BACKUP_PRIORITY"


class GarpReason(enum.Enum):
    """Which part of keepalived's gratuitous ARP/NA schedule a burst belongs to."""

    BECOME_MASTER = "become master"  # garp_master_repeat, at once
    MASTER_DELAYED = "master delayed"  # garp_master_repeat, garp_master_delay later
    REFRESH = "refresh"  # garp_master_refresh_repeat, every garp_master_refresh
    LOWER_PRIORITY = "lower priority"  # garp_lower_prio_repeat, at once and after the delay
    EXTRA_IF = "extra interfaces"  # one per extra interface, every garp_extra_if


@dataclass(frozen=True)
class SendAdvert:
    """Send one advertisement now (to the multicast group, or once per unicast peer).

    ``adver_int`` is the wire field (seconds for v2, centiseconds for v3). The shell adds the
    source/destination addresses and authentication.
    """

    priority: int
    version: int
    vrid: int
    adver_int: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class AcquireAddresses:
    """Install the VIPs (advertised) and eVIPs (not advertised) on becoming MASTER."""

    addresses: tuple[str, ...]
    excluded: tuple[str, ...]


@dataclass(frozen=True)
class ReleaseAddresses:
    """Remove the VIPs and eVIPs on leaving MASTER."""

    addresses: tuple[str, ...]
    excluded: tuple[str, ...]


@dataclass(frozen=True)
class SendGratuitous:
    """Send ``count`` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for each address now.

    Spacing between the individual frames (``garp_interval``) is the shell's business; the
    schedule between bursts is kept by the router's timers.
    """

    addresses: tuple[str, ...]
    count: int
    reason: GarpReason


@dataclass(frozen=True)
class StateChanged:
    old: State
    new: State
    reason: Reason


@dataclass(frozen=True)
class Notify:
    """Run the notify scripts / write the FIFO line for this event.

    ``group`` is true for a sync group's notification (keepalived sends those with priority 0).
    """

    event: NotifyEvent
    name: str
    priority: int
    group: bool = False


@dataclass(frozen=True)
class LogEvent:
    """A log line in keepalived's words, instance name first (``(VI_1) Entering MASTER STATE``)."""

    message: str
    level: str = "INFO"  # INFO, WARNING or ERROR


@dataclass(frozen=True)
class AhResync:
    """IPsec-AH: a MASTER heard a lower-priority AH advert; continue the shared sequence counter
    from ``peer_seq`` + 1 (keepalived's resync)."""

    peer_seq: int


@dataclass(frozen=True)
class ClaimWanted:
    """The router's down timer says "claim" but a guard's block stands (``wanted``), or it no
    longer wants to (a master was heard, the state changed). ``silent``: no master is heard
    (see ``vrrp.claim``). Guards that can lift their block on request (the lease arbiter tries
    to take its key) act on it; the router does nothing with it."""

    wanted: bool
    silent: bool = True


Action = (
    SendAdvert
    | AcquireAddresses
    | ReleaseAddresses
    | SendGratuitous
    | StateChanged
    | Notify
    | LogEvent
    | AhResync
    | ClaimWanted
)


@dataclass
class VrrpStats:
    """keepalived's per-instance counters (the ``Advertisements``/``Packet Errors``/... blocks of
    the stats dump). The router counts what it sees; the shell counts codec rejections with
    ``bump(name)`` so one object holds them all."""

    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    chk_err: int = 0
    vers_err: int = 0
    vrid_err: int = 0

    def bump(self, name: str, n: int = 1) -> None:
        """Increment the counter called ``name`` (raises ``AttributeError`` for an unknown one)."""
        if name not in _STAT_NAMES:
            raise AttributeError(name)
        setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _STAT_NAMES}


_STAT_NAMES = frozenset(f.name for f in fields(VrrpStats))
