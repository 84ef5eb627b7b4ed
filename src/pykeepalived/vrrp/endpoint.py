"""One VRRP instance on the wire, sans-IO: datagrams in, datagrams and events out.

Theory of operation
-------------------
A ``VrrpEndpoint`` is to one ``vrrp_instance`` what aioquic's ``QuicConnection`` is to one
connection. The shell (``daemon.vrrp_process``) reads a datagram from a raw socket, picks the
endpoint by VRID and calls ``receive_datagram(data, meta, now)``; it calls ``handle_timer(now)``
once ``get_timer()`` has passed, and the other inputs (``start``, ``shutdown``, interface and
tracker changes) when those happen. After every call it writes ``datagrams_to_send()`` to the
socket (whole datagrams, ready for the wire), carries out ``events()`` in order (addresses,
GARP/NA, notify scripts, log lines) and re-reads ``get_timer()``. Nothing here reads a clock,
opens a socket or logs: a replayed capture or a ten-minute scenario runs in milliseconds.

What an endpoint owns, so that the shell only moves bytes:

* the check of a received datagram against the instance's ``Expect`` (``vrrp.packet``); a
  rejection bumps keepalived's counter for its reason (``DropReason.stat``) and becomes a
  WARNING ``LogEvent`` in keepalived's words;
* the router (``vrrp.router``), which holds the state and keepalived's counters (``stats``);
* the encoding of what the router sends: one ``AdvertEncoder`` per interval and address list,
  the IPv4 ID counter (once per advert, not per unicast peer) and the IPsec-AH sequence state,
  which the receive path shares for its replay check;
* with a VMAC, dropping the second copy of a datagram read on both the macvlan and its base
  interface (both copies arrive in the same softirq, well within ``DUPLICATE_WINDOW``);
* the repeat-advert memo (below).

The repeat-advert fast path
---------------------------
A master sends the same advert every interval; between two of them only the IPv4 ID and header
checksum change (IPv6: nothing at all). A backup therefore spends most of its time receiving,
per instance and many times a second, a datagram it has already judged: this is the hottest path
of a cluster. How a datagram decodes is a function of its other bytes (``packet.repeat_key``;
IPv6: the message and its addresses and hop limit) and of the ``Expect``, which is fixed for the
life of the endpoint; AH is left out because its replay check also depends on the sequence
counter. So the endpoint remembers the last datagram it decoded, as that key and the ``Advert``,
and for a datagram with the same key:

1. if the router took that advert as a plain refresh of the master it follows
   (``VrrpRouter.receive_repeat``, which re-checks the few conditions that depend on the
   router's own state: BACKUP, same master, priority and interval), it is counted and the down
   timer restarted without decoding anything or building any object;
2. otherwise the remembered advert (with the new IP ID) goes through ``VrrpRouter.receive`` as a
   freshly decoded one would.

Any other datagram is decoded. Either way the outcome is the one decoding every datagram gives:
``tests/unit/vrrp/test_vrrp_rxfast.py`` feeds random streams to endpoints with and without the
memo and requires identical counters, states, timers and output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    AhResync,
    ClaimWanted,
    LogEvent,
    Notify,
    ReleaseAddresses,
    SendAdvert,
    SendGratuitous,
    State,
    StateChanged,
    VrrpStats,
)
from pykeepalived.vrrp.auth import AhState, AuthConfig, AuthType
from pykeepalived.vrrp.constants import PROTO_VRRP, VRRP_TTL
from pykeepalived.vrrp.packet import (
    IPV4_HEADER_LEN,
    Advert,
    AdvertEncoder,
    ChecksumForm,
    Expect,
    IpIdCounter,
    PacketError,
    decode_ipv4,
    decode_ipv6,
    repeat_key,
    with_ip_id,
)
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import TrackKind

__all__ = [
    "DUPLICATE_WINDOW",
    "DatagramMeta",
    "Event",
    "Transmit",
    "VrrpEndpoint",
    "WireSettings",
]

# A VMAC's datagram read twice (macvlan and base interface) arrives twice within this (seconds).
DUPLICATE_WINDOW = 0.002
_RECENT_MAX = 256  # duplicate-detection entries kept before old ones are pruned

Event = (AcquireAddresses | ReleaseAddresses | SendGratuitous | StateChanged | Notify | LogEvent
         | ClaimWanted)
Transmit = tuple[bytes, str]  # (datagram, destination address)


@dataclass(frozen=True, slots=True)
class DatagramMeta:
    """What the socket knows of a received datagram beyond its bytes.

    ``family`` 4: the datagram is the whole IPv4 packet, and its header is where the codec reads
    the source, destination, TTL and protocol; ``src``/``dst``/``hop_limit`` are not used.
    ``family`` 6: the kernel strips the header (and has verified the checksum, IPV6_CHECKSUM),
    so the source (socket address), destination (IPV6_PKTINFO) and hop limit (IPV6_HOPLIMIT;
    ``None``: unknown, not checked) come from here. ``interface``: the socket's interface.
    """

    family: int
    interface: str = ""
    src: str = ""
    dst: str = ""
    hop_limit: int | None = None


@dataclass(frozen=True)
class WireSettings:
    """How one instance's adverts look on its link (``daemon.settings.wire_settings`` maps the
    config onto it).

    ``destinations``: where each advert goes (the multicast group, or every unicast peer).
    ``ttl``: IPv4 TTL of sent adverts (``unicast_ttl`` in unicast mode, else 255).
    ``unicast_peers``: with ``check_unicast_src`` or peer TTL ranges, each peer's accepted
    (min_ttl, max_ttl); ``None``: any source. ``vmac``: datagrams are read on a VMAC and its
    base interface, so the second copy of each is dropped. ``old_unicast_checksum``: v3/IPv4
    unicast adverts summed with the multicast group as destination (keepalived before 1.3.6):
    True sends and accepts only those, False (``never``) never; None switches to them when a
    unicast advert verifies only that way, as keepalived does.
    """

    family: int
    src: str
    destinations: tuple[str, ...]
    mcast_group: str
    unicast: bool = False
    auth: AuthConfig = field(default_factory=AuthConfig)
    ttl: int = VRRP_TTL
    v3_checksum_as_v2: bool = False
    unicast_peers: Mapping[str, tuple[int, int]] | None = None
    vmac: bool = False
    old_unicast_checksum: bool | None = None


class VrrpEndpoint:
    """One VRRP instance: see the module docstring for how to drive it."""

    __slots__ = ("_ah", "_encoders", "_events", "_expect", "_fast", "_ipid", "_memo_adv",
                 "_memo_key", "_recent", "_router", "_tx", "_vmac", "adverts_sent", "get_timer",
                 "group", "last_received", "name", "repeats", "wire")

    def __init__(self, settings: RouterSettings, wire: WireSettings, now: float,
                 sync_group: SyncGroup | None = None, *, fast_path: bool = True) -> None:
        """``fast_path=False`` decodes every datagram (the reference the memo is tested
        against); the outcome is the same either way."""
        self.name = settings.name
        self.wire = wire
        self._router = VrrpRouter(settings, now, sync_group)
        # get_timer() -> float | None: when ``handle_timer`` must next be called (None: no
        # timer runs). The router's own method, bound here: it is read after every call.
        self.get_timer = self._router.next_timer
        # The sync group this instance moves with (None: alone). After a call into any member,
        # every member has output: the shell empties them all (see vrrp.sync_group).
        self.group: SyncGroup | None = self._router.group
        self._ah = AhState() if wire.auth.type == AuthType.AH else None
        self._ipid = IpIdCounter()
        self._expect = Expect(
            version=settings.version,
            adver_int=settings.adver_int if settings.version == 2 else None,
            addresses=None,  # the router checks the VIP list (and skip_check_adv_addr)
            unicast=wire.unicast, unicast_peers=wire.unicast_peers, auth=wire.auth,
            ah_state=self._ah, mcast_group=wire.mcast_group,
            old_unicast_checksum=wire.old_unicast_checksum)
        self._encoders: dict[tuple[int, int, tuple[str, ...]], AdvertEncoder] = {}
        self._tx: list[Transmit] = []
        self._events: list[Event] = []
        self._fast = fast_path
        self._vmac = wire.vmac
        self._memo_key: object = None  # repeat_key (IPv6: message, addresses, hop limit)
        self._memo_adv: Advert | None = None  # ... and the advert it decoded to
        self._recent: dict[int, float] = {}  # VMAC duplicates: datagram hash -> time seen
        self.repeats = 0  # datagrams taken by the fast path (step 1): nothing decoded
        # The advert the last accepted datagram carried (decoded or remembered): a shell that
        # compares it with others' (split-brain conflict watch) reads it after each datagram.
        self.last_received: Advert | None = None
        # When a list, every advert encoded is also appended here (the shell sends it on
        # extra heartbeat paths with their own sources); None: not recorded.
        self.adverts_sent: list[SendAdvert] | None = None

    # ------------------------------------------------------------------ read-only view
    @property
    def router(self) -> VrrpRouter:
        """The state machine (read it for dumps; drive it only through the endpoint)."""
        return self._router

    @property
    def state(self) -> State:
        return self._router.state

    @property
    def stats(self) -> VrrpStats:
        """keepalived's counters: the router's and the codec's rejections, in one object."""
        return self._router.stats

    @property
    def expect(self) -> Expect:
        return self._expect

    @property
    def ip_id(self) -> int:
        """The IP ID of the last advert sent (IPv4)."""
        return self._ipid.value

    @property
    def ah_seq(self) -> int | None:
        """The AH sequence counter (None without AH)."""
        return self._ah.seq if self._ah is not None else None

    # ------------------------------------------------------------------ outputs
    def datagrams_to_send(self) -> list[Transmit]:
        """Return and forget the datagrams to write now, in order, as (bytes, destination):
        IPv4 whole packets (header with ID and checksum, AH header with sequence and ICV),
        IPv6 VRRP messages with their checksum."""
        self._pull()
        out, self._tx = self._tx, []
        return out

    def events(self) -> list[Event]:
        """Return and forget what the shell must carry out, oldest first (after sending)."""
        self._pull()
        out, self._events = self._events, []
        return out

    def has_output(self) -> bool:
        """Whether ``datagrams_to_send`` or ``events`` has something (a cheap check for the
        shell's receive path, where there usually is nothing). Every input empties the
        router's queue into the endpoint's; only a sync group's other members can fill it
        from outside."""
        return bool(self._tx or self._events) or (
            self.group is not None and self._router.has_actions)

    # ------------------------------------------------------------------ inputs
    def receive_datagram(self, data: bytes, meta: DatagramMeta, now: float) -> None:
        """A datagram read for this instance's VRID (see ``DatagramMeta`` for ``meta``)."""
        if self._vmac and self._duplicate(data, meta, now):
            return
        key: object = None
        if self._fast:
            if meta.family == 4:
                if len(data) > IPV4_HEADER_LEN and data[9] == PROTO_VRRP:  # never AH
                    key = repeat_key(data)
            else:
                key = (data, meta.src, meta.dst, meta.hop_limit)
        adv = self._memo_adv
        if key is not None and adv is not None and key == self._memo_key:
            self.last_received = adv
            if self._router.receive_repeat(adv, now):
                self.repeats += 1
                return  # 1. a plain refresh again: counted, down timer restarted
            if meta.family == 4:
                adv = with_ip_id(adv, (data[4] << 8) | data[5])  # 2. decoded before
        else:
            try:
                adv = self._decode(data, meta)
            except PacketError as e:
                self._drop(e)
                return
            self.last_received = adv
            if adv.checksum_form is ChecksumForm.LEGACY_UNICAST and self.wire.unicast:
                self._old_checksum_seen()
        if self._ah is not None and self._router.state is State.BACKUP:
            self._ah.backup_received()
        self._router.receive(adv, now)
        if key is not None:
            self._memo_key, self._memo_adv = key, adv
        self._pull()

    def receive_advert(self, adv: Advert, now: float) -> None:
        """An advert decoded elsewhere (a heartbeat path's socket, with that path's cast and
        sources): the router takes it as a datagram of its own link would be taken."""
        self.last_received = adv
        if self._router.receive_repeat(adv, now):
            self.repeats += 1
            return
        if self._ah is not None and self._router.state is State.BACKUP:
            self._ah.backup_received()
        self._router.receive(adv, now)
        self._pull()

    def next_ip_id(self) -> int:
        """Take the next IPv4 ID (an advert sent on an extra path shares the counter)."""
        return self._ipid.next()

    def handle_timer(self, now: float) -> None:
        """Run what is due at ``now`` (call once ``get_timer()`` has passed)."""
        self._router.handle_timer(now)
        self._pull()

    def start(self, now: float) -> None:
        """Start as keepalived does: BACKUP (or FAULT); an address owner takes over at once."""
        self._router.start(now)
        self._pull()

    def take_over(self, old: VrrpEndpoint, now: float) -> None:
        """A reload rebuilt MASTER ``old`` from a changed config with the same wire identity:
        continue its IP ID and AH sequence and go straight to MASTER, without the start-up
        release of the addresses and its log lines (they describe nothing that happens)."""
        self._ipid.value = old._ipid.value
        if self._ah is not None and old._ah is not None:
            self._ah.seq = old._ah.seq
        self._router.start(now)
        self._router.actions()  # the start-up release and "(init)" lines: dropped
        self._router.force_master(now)
        self._pull()

    def shutdown(self, now: float) -> None:
        """Stop: a MASTER sends priority 0 and releases its addresses."""
        self._router.shutdown(now)
        self._pull()

    def timers_late(self, now: float) -> bool:
        """The process ran its timers late: ``VrrpRouter.timers_late``."""
        done = self._router.timers_late(now)
        self._pull()
        return done

    def set_interface_up(self, up: bool, now: float) -> None:
        self._router.set_interface_up(up, now)
        self._pull()

    def set_track_state(self, kind: TrackKind, name: str, ok: bool, now: float) -> bool:
        """A tracked object went up or down; False (nothing done) when not tracked here."""
        changed = self._router.set_track_state(kind, name, ok, now)
        self._pull()
        return changed

    def set_track_file(self, name: str, value: int, now: float) -> bool:
        """A tracked file now holds ``value``; False (nothing done) when not tracked here."""
        changed = self._router.set_track_file(name, value, now)
        self._pull()
        return changed

    def clear_stats(self) -> None:
        """Reset keepalived's counters (SIGRTMAX-1, after the stats file is written)."""
        self._router.stats = VrrpStats()

    # ------------------------------------------------------------------ internals
    def _decode(self, data: bytes, meta: DatagramMeta) -> Advert:
        if meta.family == 4:
            return decode_ipv4(data, expect=self._expect)
        return decode_ipv6(data, src=meta.src, dst=meta.dst, hop_limit=meta.hop_limit,
                           expect=self._expect, verify_checksum=False)

    def _old_checksum_seen(self) -> None:
        """A unicast advert verified only with the legacy checksum (the decoder returns that
        form only when ``old_unicast_checksum`` is not configured): from now on send and accept
        only the legacy form, as keepalived switches (its ``auto`` mode)."""
        self.wire = replace(self.wire, old_unicast_checksum=True)
        self._expect = replace(self._expect, old_unicast_checksum=True)
        self._encoders.clear()
        self._memo_key = self._memo_adv = None
        self._pull()
        self._events.append(LogEvent(f"({self.name}) Setting unicast VRRPv3 checksum to old "
                                     "version"))

    def _drop(self, e: PacketError) -> None:
        """keepalived's counter for the reason, and its words in the log."""
        stat = e.reason.stat
        if stat is not None:
            with contextlib.suppress(AttributeError):  # a counter keepalived has not got
                self._router.stats.bump(stat)
        self._pull()  # anything the router queued before comes first
        self._events.append(LogEvent(f"({self.name}) {e.detail or e.reason.counter}",
                                     "WARNING"))

    def _duplicate(self, data: bytes, meta: DatagramMeta, now: float) -> bool:
        """True for the second copy of a datagram read on both a VMAC and its base interface."""
        key = hash((meta.src, data))
        recent = self._recent
        seen = recent.get(key)
        if len(recent) > _RECENT_MAX:
            self._recent = recent = {k: t for k, t in recent.items()
                                     if now - t < DUPLICATE_WINDOW}
        recent[key] = now
        return seen is not None and now - seen < DUPLICATE_WINDOW

    def _pull(self) -> None:
        """Take the router's queued actions: encode adverts, keep the AH state, pass the rest
        on as events, all in the router's order (the AH and IP ID state an advert is encoded
        with is the one at its place in that order)."""
        if not self._router.has_actions:
            return
        ah = self._ah
        for a in self._router.actions():
            if isinstance(a, SendAdvert):
                self._encode(a)
            elif isinstance(a, AhResync):
                if ah is not None:
                    ah.resync(a.peer_seq)
            else:
                if isinstance(a, StateChanged) and a.new is State.MASTER and ah is not None:
                    ah.become_master()
                self._events.append(a)

    def _encode(self, act: SendAdvert) -> None:
        if self.adverts_sent is not None:
            self.adverts_sent.append(act)
        enc = self._encoder(act)
        dsts = self.wire.destinations
        if self.wire.family == 4:
            ip_id = self._ipid.next()
            seq = self._ah.next_seq() if self._ah is not None else None
            for dst in dsts:
                self._tx.append((enc.ipv4(priority=act.priority, ip_id=ip_id, dst=dst,
                                          ah_seq=seq), dst))
        else:
            for dst in dsts:
                self._tx.append((enc.ipv6(priority=act.priority, dst=dst), dst))

    def _encoder(self, act: SendAdvert) -> AdvertEncoder:
        key = (act.version, act.adver_int, act.addresses)
        enc = self._encoders.get(key)
        if enc is None:
            w = self.wire
            enc = self._encoders[key] = AdvertEncoder(
                version=act.version, vrid=act.vrid, adver_int=act.adver_int,
                addresses=act.addresses, src=w.src, auth=w.auth, ttl=w.ttl, unicast=w.unicast,
                v3_checksum_as_v2=w.v3_checksum_as_v2, mcast_group=w.mcast_group,
                legacy_unicast_checksum=w.old_unicast_checksum is True)
        return enc

    def __repr__(self) -> str:
        return f"<VrrpEndpoint {self._router!r}>"

