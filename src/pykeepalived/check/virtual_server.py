"""Pool logic: from check results to the desired LVS table (sans-IO, no clock, no sockets).

Theory of operation
-------------------
``Pool`` holds, for every virtual server of the config, the state of each real server and of
each of its checkers. The shell (``daemon.check_process``) drives it like aioquic's connection:

* ``start(now)`` once, then ``next_timer()`` says when to wake up;
* ``due_checks(now)`` hands out the checks whose time has come (each is then "running": it gets
  no timer until its result is reported); the shell runs the probe;
* ``report(check_id, outcome, now)`` feeds the result back and returns actions
  (log lines, notify scripts, FIFO lines, SMTP alerts);
* ``table()`` is the desired ``LvsTable`` at any moment; the shell hands it to the LVS backend
  when it differs from the last one applied;
* ``address_event`` (ha_suspend), ``reload`` (SIGHUP, state kept by identity) and
  ``shutdown`` (omega notifies) complete the surface.

Rules, as keepalived applies them:

* A checker starts up, or down with ``alpha``. A failed attempt on an up checker is retried
  ``retry`` times ``delay_before_retry`` apart; the next failure marks it down ("failed after N
  retries"). A down checker is simply re-run every ``delay_loop``; one success brings it up.
  The first check runs after a random delay in ``[0, warmup]`` (warmup defaults to delay_loop).
  All ``url`` blocks of an HTTP checker are fetched in one round (keepalived walks one url per
  delay_loop unless ``fast_recovery``), so ``fast_recovery`` changes nothing here.
* A real server is alive when all its checkers are up (no checkers: always alive). Alive → in the
  pool with its weight (``misc_dynamic`` / FILE_CHECK may change it); dead → removed, or kept
  at weight 0 with ``inhibit_on_failure``.
* Quorum: the sum of the weights of the alive real servers. Gained when it reaches
  ``quorum + hysteresis``, lost when it is 0 or below ``quorum - hysteresis``. While lost, the
  ``sorry_server`` (if any) replaces the real servers (inhibited ones stay at weight 0); with
  ``sorry_server_inhibit`` it sits in the table at weight 0 while quorum holds.
* A virtual_server_group expands to one service per address of each range (and per fwmark), all
  with the same destinations; still one checker per real server.
* Identical checks (same kind and settings, same address and port, same Host header) of one
  server behind several virtual servers run once: the first holder's timer runs it, the
  others take its result (``shared_with``).
* A check handed out late comes back one interval after it was due, up to a quarter of the
  interval (``LATE_FORGIVEN``): the checker's own lateness does not stretch the cadence.
"""

from __future__ import annotations

import dataclasses
import heapq
import ipaddress
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pykeepalived.config.model import (
    Checker,
    HttpGet,
    MiscCheck,
    NotifyScript,
    RealServer,
    VirtualServer,
    VirtualServerGroup,
)
from pykeepalived.lvs.table import (
    FwdMethod,
    LvsDest,
    LvsService,
    LvsTable,
    Protocol,
    ServiceFlag,
    ServiceKey,
    TunFlag,
    TunType,
    format_endpoint,
)

# ------------------------------------------------------------------ inputs and actions


@dataclass(frozen=True, order=True)
class CheckId:
    """A checker's identity, stable across reloads while VS, RS and position stay the same."""

    vs: str
    rs: str
    index: int


@dataclass(frozen=True)
class CheckOutcome:
    """What a probe found. ``weight`` is a new real-server weight (misc_dynamic, FILE_CHECK);
    ``detail`` says why it failed, for the log."""

    ok: bool
    weight: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Log:
    text: str
    level: int = logging.INFO


@dataclass(frozen=True)
class RunScript:
    """Run a notify script (notify_up/notify_down/quorum_up/quorum_down); fire and forget."""

    script: NotifyScript
    event: str


@dataclass(frozen=True)
class RsStateChange:
    """A real server went UP/DOWN in a VS: ``lvs_notify_fifo`` line, and a mail when
    ``smtp_alert`` (``body`` says which check)."""

    rs: str
    vs: str
    up: bool
    smtp_alert: bool = False
    body: str = ""

    @property
    def line(self) -> str:
        return f"RS {self.rs} {self.vs} {'UP' if self.up else 'DOWN'}"


@dataclass(frozen=True)
class VsStateChange:
    """A virtual server gained (UP) or lost (DOWN) its quorum."""

    vs: str
    up: bool
    smtp_alert: bool = False

    @property
    def line(self) -> str:
        return f"VS {self.vs} {'UP' if self.up else 'DOWN'}"


Action = Log | RunScript | RsStateChange | VsStateChange


@dataclass(frozen=True)
class RsSnapshot:
    name: str
    alive: bool
    weight: int
    checkers: tuple[tuple[str, bool], ...]  # (kind, up)
    addr: str = ""
    port: int = 0  # the real server's, or the virtual server's when it has none


@dataclass(frozen=True)
class VsSnapshot:
    name: str
    quorum_up: bool
    suspended: bool
    real_servers: tuple[RsSnapshot, ...]
    keys: tuple[ServiceKey, ...] = ()  # the IPVS services it stands for (a group: several)


# ------------------------------------------------------------------ mutable internal state


@dataclass
class _CheckerState:
    cfg: Checker
    endpoint: str
    is_up: bool
    phrases: _Phrases
    has_run: bool = False
    retry_it: int = 0
    next_at: float | None = None
    last_due: float | None = None
    late: float = 0.0  # how much later than due the running check was handed out
    running: bool = False
    weight: int | None = None  # dynamic weight reported by the probe
    url_it: int = 0  # HTTP_GET/SSL_GET with several urls: the url the next check fetches
    url_streak: int = 0  # urls passed in a row while down (all of them bring it up)


@dataclass
class _RsState:
    cfg: RealServer
    name: str  # [ip]:proto:port
    weight: int
    checkers: list[_CheckerState]
    alive: bool = False

    def all_up(self) -> bool:
        return all(c.is_up for c in self.checkers)


@dataclass
class _VsState:
    cfg: VirtualServer
    ident: str
    name: str
    keys: tuple[ServiceKey, ...]
    service_template: LvsService
    rss: list[_RsState]
    quorum_up: bool = False
    suspended: bool = False
    smtp_alert: bool = False
    addresses: frozenset[str] = field(default_factory=frozenset)


# ------------------------------------------------------------------ config → table pieces

_SCHED_FLAGS = {
    "flag-1": ServiceFlag.SCHED1, "sh-fallback": ServiceFlag.SCHED1,
    "mh-fallback": ServiceFlag.SCHED1, "flag-2": ServiceFlag.SCHED2,
    "sh-port": ServiceFlag.SCHED2, "mh-port": ServiceFlag.SCHED2, "flag-3": ServiceFlag.SCHED3,
}


def _url_count(cfg: Checker) -> int:
    return len(cfg.urls) if isinstance(cfg, HttpGet) else 1


#: the share of an interval by which a check handed out late is brought forward again
LATE_FORGIVEN = 0.25


def _next_at(c: _CheckerState, now: float, delay: float) -> float:
    """When a checker that reported at ``now`` runs next: ``delay`` later (keepalived counts
    from the end of the check), less the lateness with which this check was handed out, up to
    ``LATE_FORGIVEN`` of the delay. The checker's own lateness (a busy loop, a starved
    process) then does not stretch every server's interval and the rate stays at N /
    delay_loop; a checker late by more than that slows its cadence instead of piling up work."""
    return now + delay - min(c.late, delay * LATE_FORGIVEN)


#: checks whose result depends only on the server they reach and their own settings
_SHAREABLE = frozenset({"TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK",
                        "UDP_CHECK", "PING_CHECK"})


def _share_key(vs: VirtualServer, rs: RealServer, c: _CheckerState) -> tuple[object, ...] | None:
    """What makes two checks the same check: kind and settings (apart from where they were
    written), the address and port they reach, and what an HTTP request carries from its
    real and virtual server (the Host header). None: never shared (MISC and FILE checks,
    whose results may depend on their server; checks of a virtual server with
    ``ha_suspend``, which pause on their own)."""
    cfg = c.cfg
    if cfg.kind not in _SHAREABLE or vs.ha_suspend:
        return None
    return (c.endpoint, rs.virtualhost or vs.virtualhost, _positionless(cfg))


def vs_identity(vs: VirtualServer) -> str:
    """What makes two virtual servers "the same" across a reload."""
    if vs.fwmark is not None:
        return f"FWM {vs.fwmark}/{vs.family}"
    if vs.group is not None:
        return f"GROUP {vs.group}/{vs.protocol}"
    return format_endpoint(vs.ip or "", vs.port, vs.protocol)


def _netmask(vs: VirtualServer, af: int) -> int:
    """``persistence_granularity`` as a prefix length for a service of family ``af``.

    Per service, not per virtual server: a group can mix families (and its fwmark entries
    carry their own), so an IPv6 prefix must not reach an IPv4 service or the reverse. A
    value that does not fit the family (a dotted mask for IPv6, /64 for IPv4) means the
    full prefix (per client), as when it is absent.
    """
    full = 128 if af == 6 else 32
    g = vs.persistence_granularity
    if not g:
        return full
    try:
        if g.isdigit():
            plen = int(g)
        elif af == 4:
            plen = ipaddress.IPv4Network(f"0.0.0.0/{g}").prefixlen
        else:
            return full
    except ValueError:
        return full
    return plen if 0 < plen <= full else full


def service_template(vs: VirtualServer, key: ServiceKey) -> LvsService:
    """The ``LvsService`` a virtual server asks for (scheduler, flags, persistence)."""
    flags = ServiceFlag.NONE
    timeout = vs.persistence_timeout or 0
    if timeout:
        flags |= ServiceFlag.PERSISTENT
    if vs.hashed:
        flags |= ServiceFlag.HASHED
    if vs.ops:
        flags |= ServiceFlag.ONEPACKET
    for f in vs.sched_flags:
        flags |= _SCHED_FLAGS.get(f, ServiceFlag.NONE)
    return LvsService(key=key, scheduler=vs.lb_algo, flags=flags, timeout=timeout,
                      netmask=_netmask(vs, key.af), pe_name=vs.persistence_engine)


def expand_keys(vs: VirtualServer,
                groups: dict[str, VirtualServerGroup]) -> tuple[ServiceKey, ...]:
    """The IPVS services one ``virtual_server`` stands for (several for a group)."""
    proto = Protocol.parse(vs.protocol)
    if vs.fwmark is not None:
        return (ServiceKey.mark(vs.fwmark, vs.family),)
    if vs.group is None:
        return (ServiceKey.inet(vs.ip or "", vs.port, proto),)
    grp = groups.get(vs.group)
    keys: list[ServiceKey] = []
    for e in grp.entries if grp else ():
        if e.fwmark is not None:
            keys.append(ServiceKey.mark(e.fwmark, e.family))
            continue
        if e.first_ip is None:
            continue
        first = int(ipaddress.ip_address(e.first_ip))
        last = int(ipaddress.ip_address(e.last_ip or e.first_ip))
        version = ipaddress.ip_address(e.first_ip).version
        port = e.port or vs.port
        for n in range(first, last + 1):
            addr = ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n)
            keys.append(ServiceKey.inet(str(addr), port, proto))
    return tuple(keys)


def _dest(vs: VirtualServer, ip: str, port: int, weight: int, method: str,
          u: int = 0, lthr: int = 0) -> LvsDest:
    fwd = FwdMethod.parse(method)
    tun_type = TunType[vs.tun_type.upper()] if vs.tun_type else TunType.IPIP
    tun_flags = TunFlag[vs.tun_flags.upper()] if vs.tun_flags else TunFlag.NOCSUM
    return LvsDest(addr=ip, port=port, weight=weight, fwd=fwd, u_threshold=u, l_threshold=lthr,
                   tun_type=tun_type if fwd is FwdMethod.TUN else TunType.IPIP,
                   tun_port=(vs.tun_port or 0) if fwd is FwdMethod.TUN else 0,
                   tun_flags=tun_flags if fwd is FwdMethod.TUN else TunFlag.NOCSUM)


def _positionless(obj: object) -> object:
    """``obj`` with every ``line``/``file`` (where it was written) cleared, recursively."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes: dict[str, object] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.name == "line" and isinstance(value, int):
                changes[f.name] = 0
            elif f.name == "file" and isinstance(value, str):
                changes[f.name] = ""
            elif dataclasses.is_dataclass(value) or isinstance(value, tuple):
                changes[f.name] = _positionless(value)
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, tuple):
        return tuple(_positionless(v) for v in obj)
    return obj


def same_config(a: object, b: object) -> bool:
    """Equal apart from where they were written: a reload that only moved a block (or added
    lines above it) must not restart its checker."""
    return _positionless(a) == _positionless(b)


# ------------------------------------------------------------------ the pool

@dataclass(frozen=True)
class _Phrases:
    """keepalived 2.2.7's log and mail phrases for one checker (``{n}``: retries, ``{why}``:
    the probe's reason, used by MISC_CHECK)."""

    up: str
    down: str
    down_retries: str
    mail_up: str
    mail_down: str
    attempt: str  # one failed attempt, logged with log_all_failures; ``{why}`` = reason


def _phrases(kind: str, ep: str, rs: str, vs: str, script: str) -> _Phrases:
    if kind in ("HTTP_GET", "SSL_GET"):
        return _Phrases(f"Remote Web server {ep} succeed on service.",
                        f"HTTP_CHECK on service {ep} failed.",
                        f"HTTP_CHECK on service {ep} failed after {{n}} retries.",
                        "=> CHECK succeed on service <=",
                        "=> CHECK failed on service : HTTP request failed <=",
                        f"{{why}} server {ep}.")
    if kind == "MISC_CHECK":
        who = f"Misc check for [{rs} VS {vs}] by [{script}]"
        return _Phrases(f"{who} succeeded.", f"{who} {{why}}.", f"{who} {{why}}.",
                        "=> MISC CHECK succeeded on service <=",
                        "=> MISC CHECK {why} on service <=", f"{who} {{why}}.")
    if kind == "PING_CHECK":
        return _Phrases(f"ICMP connection to {ep} success.",
                        f"ICMP CHECK on service {ep} failed.",
                        f"ICMP CHECK on service {ep} of {vs} failed after {{n}} retries.",
                        "=> ICMP CHECK succeed on service <=",
                        "=> ICMP CHECK failed on service <=", f"ICMP connection to {ep} {{why}}.")
    if kind == "SMTP_CHECK":
        return _Phrases(f"Remote SMTP server {ep} succeed on service.",
                        f"SMTP_CHECK on service {ep} failed.",
                        f"SMTP_CHECK on service {ep} failed after {{n}} retries.",
                        "=> CHECK succeed on service <=",
                        "=> CHECK failed on service : {why} <=", f"SMTP_CHECK {ep}: {{why}}.")
    if kind == "DNS_CHECK":
        return _Phrases(f"DNS_CHECK ({ep}) succeed on service.",
                        f"DNS_CHECK ({ep}) failed on service.",
                        f"DNS_CHECK ({ep}) failed on service after {{n}} retries.",
                        "=> DNS_CHECK: succeed on service <=",
                        "=> DNS_CHECK: failed on service <=", f"DNS_CHECK ({ep}) {{why}}")
    name = {"TCP_CHECK": "TCP", "UDP_CHECK": "UDP"}.get(kind, kind.replace("_CHECK", ""))
    return _Phrases(f"{name} connection to {ep} success.",
                    f"{kind} on service {ep} failed.",
                    f"{kind} on service {ep} failed after {{n}} retries.",
                    f"=> {name} CHECK succeed on service <=",
                    f"=> {name} CHECK failed on service <=", f"{kind} on service {ep}: {{why}}")


class Pool:
    """All virtual servers of one config: check scheduling, real-server and quorum state.

    ``rng`` returns floats in [0, 1) for the warmup spread; tests pass a fixed one.
    """

    def __init__(self, virtual_servers: Sequence[VirtualServer],
                 groups: Iterable[VirtualServerGroup] = (), *,
                 rng: Callable[[], float] = lambda: 0.0,
                 smtp_alert_checker: bool = False,
                 rs_init_notifies: bool = False,
                 log_all_failures: bool = False) -> None:
        self._rng = rng
        self._smtp_default = smtp_alert_checker
        self._rs_init_notifies = rs_init_notifies
        self._log_all = log_all_failures
        self._groups = {g.name: g for g in groups}
        self._vss: list[_VsState] = [self._build_vs(v) for v in virtual_servers]
        self._by_id: dict[CheckId, tuple[_VsState, _RsState, _CheckerState]] = {}
        # identical checks of one server behind several virtual servers: the first runs
        # (leader), the others (followers) take its results and have no timer of their own
        self._followers: dict[CheckId, list[CheckId]] = {}
        self._leader_of: dict[CheckId, CheckId] = {}
        self._local: set[str] = set()
        # Due times as a heap with lazy deletion (an entry is live while it equals the
        # checker's next_at): next_timer/due_checks stay O(log n) with thousands of checkers.
        self._heap: list[tuple[float, CheckId]] = []
        self._version = 0  # bumped whenever the desired table may have changed
        self._table: tuple[int, LvsTable] | None = None
        self._index()

    # -------------------------------------------------------------- construction

    def _build_vs(self, vs: VirtualServer) -> _VsState:
        keys = expand_keys(vs, self._groups)
        proto = vs.protocol.lower()
        vs_name = str(keys[0]) if len(keys) == 1 and vs.group is None else vs.key
        rss: list[_RsState] = []
        for rs in vs.real_servers:
            checkers = []
            # a real server without a port takes the virtual server's (keepalived does)
            rs_name = format_endpoint(rs.ip, rs.port or vs.port, proto)
            for c in rs.checkers:
                ep = format_endpoint(c.connect_ip or rs.ip,
                                     c.connect_port or rs.port or vs.port, proto)
                script = ""
                if isinstance(c, MiscCheck) and c.script is not None and c.script.argv:
                    script = c.script.argv[0]
                checkers.append(_CheckerState(
                    cfg=c, endpoint=ep, is_up=not c.alpha,
                    phrases=_phrases(c.kind, ep, rs_name, vs_name, script)))
            rss.append(_RsState(cfg=rs, name=rs_name,
                                weight=rs.weight, checkers=checkers,
                                alive=all(c.is_up for c in checkers)))
        name = vs_name
        addrs = frozenset(k.addr for k in keys if k.addr)
        template = service_template(vs, keys[0] if keys else ServiceKey.mark(1))
        return _VsState(cfg=vs, ident=vs_identity(vs), name=name, keys=keys,
                        service_template=template, rss=rss, suspended=vs.ha_suspend,
                        smtp_alert=vs.smtp_alert or self._smtp_default, addresses=addrs)

    def _index(self) -> None:
        self._by_id = {}
        self._followers = {}
        self._leader_of = {}
        leaders: dict[tuple[object, ...], CheckId] = {}
        for v in self._vss:
            for r in v.rss:
                for i, c in enumerate(r.checkers):
                    cid = CheckId(v.ident, r.name, i)
                    self._by_id[cid] = (v, r, c)
                    key = _share_key(v.cfg, r.cfg, c)
                    if key is None:
                        continue
                    lead = leaders.setdefault(key, cid)
                    if lead != cid:
                        self._followers.setdefault(lead, []).append(cid)
                        self._leader_of[cid] = lead
        self._rebuild_heap()

    def _rebuild_heap(self) -> None:
        self._heap = [(c.next_at, cid) for cid, (_, _, c) in self._by_id.items()
                      if c.next_at is not None and not c.running and cid not in self._leader_of]
        heapq.heapify(self._heap)

    def _push(self, cid: CheckId, at: float) -> None:
        if cid not in self._leader_of:  # a sharer's check runs as its leader's
            heapq.heappush(self._heap, (at, cid))

    def shared_with(self, cid: CheckId) -> tuple[CheckId, ...]:
        """The other checkers whose result check ``cid``'s run is (identical checks of the
        same server behind several virtual servers run once)."""
        return tuple(self._followers.get(cid, ()))

    def _live(self, t: float, cid: CheckId) -> bool:
        st = self._by_id.get(cid)
        return (st is not None and st[2].next_at == t and not st[2].running
                and not st[0].suspended)

    def _touch(self) -> None:
        self._version += 1

    @property
    def version(self) -> int:
        """Changes whenever ``table()`` may return something new (cheap change detection)."""
        return self._version

    def start(self, now: float) -> list[Action]:
        """Initial pool (alpha decides who starts alive), quorum, first check times."""
        out: list[Action] = []
        for v in self._vss:
            for r in v.rss:
                r.alive = r.all_up()
                for c in r.checkers:
                    out.append(Log(f"Activating healthchecker for service {r.name} for VS "
                                   f"{v.name}"))
                    self._schedule_first(c, now)
                if self._rs_init_notifies:
                    out.extend(self._rs_notifies(v, r, r.alive))
            out.extend(self._update_quorum(v, init=True))
        self._rebuild_heap()
        self._touch()
        return out

    def _schedule_first(self, c: _CheckerState, now: float) -> None:
        warm = c.cfg.warmup if c.cfg.warmup is not None else c.cfg.delay_loop
        c.next_at = now + self._rng() * warm

    # -------------------------------------------------------------- queries

    def checker(self, cid: CheckId) -> tuple[VirtualServer, RealServer, Checker]:
        """The config objects a probe needs to run check ``cid``.

        An HTTP checker with several ``url`` blocks fetches one url per check, in turn, as
        keepalived does (keepalived.conf(5), ``fast_recovery``): the checker handed out holds
        only that url. A down checker with ``fast_recovery`` gets every url at once, so one
        passing round brings the server up.
        """
        v, r, c = self._by_id[cid]
        cfg = c.cfg
        if _url_count(cfg) > 1 and isinstance(cfg, HttpGet) \
                and not (cfg.fast_recovery and not c.is_up):
            cfg = dataclasses.replace(cfg, urls=(cfg.urls[c.url_it],))
        return v.cfg, r.cfg, cfg

    def check_ids(self) -> list[CheckId]:
        return sorted(self._by_id)

    def next_timer(self) -> float | None:
        h = self._heap
        while h:
            t, cid = h[0]
            if self._live(t, cid):
                return t
            heapq.heappop(h)
        return None

    def due_checks(self, now: float, limit: int | None = None) -> list[CheckId]:
        """Checks to run now (the ``limit`` earliest at most); each stays "running" until
        ``report`` is called for it."""
        due: list[CheckId] = []
        h = self._heap
        while h and h[0][0] <= now and (limit is None or len(due) < limit):
            t, cid = heapq.heappop(h)
            if not self._live(t, cid):
                continue
            c = self._by_id[cid][2]
            c.running = True
            c.last_due = t
            c.late = now - t
            c.next_at = None
            due.append(cid)
        return due

    def is_running(self, cid: CheckId) -> bool:
        """Handed out by ``due_checks`` and not reported yet."""
        st = self._by_id.get(cid)
        return st is not None and st[2].running

    def scheduled_at(self, cid: CheckId) -> float | None:
        """When the running (or last) check ``cid`` was due: for lateness measurements."""
        st = self._by_id.get(cid)
        return st[2].last_due if st else None

    def rs_alive(self, vs_ident: str, rs_name: str) -> bool:
        for v in self._vss:
            if v.ident == vs_ident:
                for r in v.rss:
                    if r.name == rs_name:
                        return r.alive
        raise KeyError((vs_ident, rs_name))

    def quorum_up(self, vs_ident: str) -> bool:
        return next(v.quorum_up for v in self._vss if v.ident == vs_ident)

    def snapshot(self) -> list[VsSnapshot]:
        """Read-only state for the SIGUSR1 dump and tests."""
        return [VsSnapshot(v.name, v.quorum_up, v.suspended, tuple(
            RsSnapshot(r.name, r.alive, r.weight, tuple((c.cfg.kind, c.is_up) for c in r.checkers),
                       r.cfg.ip, r.cfg.port or v.cfg.port)
            for r in v.rss), v.keys) for v in self._vss]

    def table(self) -> LvsTable:
        """The desired LVS table for the current state (cached until ``version`` changes)."""
        if self._table is not None and self._table[0] == self._version:
            return self._table[1]
        table = self._build_table()
        self._table = (self._version, table)
        return table

    def _build_table(self) -> LvsTable:
        entries: list[tuple[LvsService, list[LvsDest]]] = []
        for v in self._vss:
            dests = self._dests(v)
            for k in v.keys:
                t = v.service_template
                svc = LvsService(key=k, scheduler=t.scheduler, flags=t.flags,
                                 timeout=t.timeout, netmask=_netmask(v.cfg, k.af),
                                 pe_name=t.pe_name)
                entries.append((svc, dests))
        return LvsTable.build(entries)

    def _dests(self, v: _VsState) -> list[LvsDest]:
        vs = v.cfg
        out: list[LvsDest] = []
        sorry = vs.sorry_server
        sorry_active = sorry is not None and not v.quorum_up
        for r in v.rss:
            rs = r.cfg
            if r.alive and not sorry_active:
                w: int | None = r.weight
            elif rs.inhibit_on_failure:
                w = 0
            else:
                w = None
            if w is not None:
                out.append(_dest(vs, rs.ip, rs.port or vs.port, w, rs.lvs_method, rs.uthreshold,
                                 rs.lthreshold))
        if sorry is not None and (sorry_active or sorry.inhibit):
            method = sorry.lvs_method or vs.lb_kind
            out = [d for d in out if (d.addr, d.port) != (sorry.ip, sorry.port or vs.port)]
            out.append(_dest(vs, sorry.ip, sorry.port or vs.port, 1 if sorry_active else 0,
                             method))
        return out

    # -------------------------------------------------------------- results

    def report(self, cid: CheckId, outcome: CheckOutcome, now: float) -> list[Action]:
        """Feed one probe result back; unknown ids (removed by a reload) are ignored. The
        result of a shared check (``shared_with``) is every sharer's."""
        found = self._by_id.get(cid)
        if found is None:
            return []
        out = self._report(cid, found, outcome, now)
        for f in self._followers.get(cid, ()):
            out.extend(self._report(f, self._by_id[f], outcome, now))
        return out

    def _report(self, cid: CheckId, found: tuple[_VsState, _RsState, _CheckerState],
                outcome: CheckOutcome, now: float) -> list[Action]:
        v, r, c = found
        c.running = False
        cfg = c.cfg
        out: list[Action] = []
        delay = cfg.delay_loop
        ph = c.phrases
        why = outcome.detail or "failed"
        if not outcome.ok and (self._log_all or cfg.log_all_failures):
            out.append(Log(ph.attempt.format(why=why)))
        first = not c.has_run
        mail = ""
        urls = _url_count(cfg)
        if urls > 1:
            fast = isinstance(cfg, HttpGet) and cfg.fast_recovery and not c.is_up
            if outcome.ok:
                c.url_it = 0 if fast else (c.url_it + 1) % urls  # fast: all were fetched
                if not c.is_up and not fast:
                    c.url_streak += 1
                    if c.url_streak < urls:  # down until every url passed, one per delay_loop
                        c.retry_it = 0
                        c.next_at = _next_at(c, now, delay)
                        self._push(cid, c.next_at)
                        return out
                c.url_streak = 0
            elif not c.is_up or c.retry_it >= cfg.retry:  # a final failure: start over
                c.url_it = c.url_streak = 0
        if outcome.ok or ((c.is_up or first) and c.retry_it >= cfg.retry):
            c.retry_it = 0
            # keepalived logs the first result of every checker, then only transitions
            if outcome.ok and (not c.is_up or first):
                out.append(Log(ph.up))
                mail = ph.mail_up
                c.is_up = True
            elif not outcome.ok and (c.is_up or first):
                text = ph.down_retries if cfg.retry and not first else ph.down
                out.append(Log(text.format(n=cfg.retry, why=why)))
                if outcome.detail and not (self._log_all or cfg.log_all_failures) \
                        and "{why}" not in text:
                    out.append(Log(ph.attempt.format(why=why)))
                mail = ph.mail_down.format(why=why)
                c.is_up = False
        elif c.is_up:
            delay = cfg.delay_before_retry
            c.retry_it += 1
        c.has_run = True
        c.next_at = _next_at(c, now, delay)
        self._push(cid, c.next_at)
        if outcome.ok and outcome.weight is not None:
            c.weight = outcome.weight
        out.extend(self._update_rs(v, r, mail))
        return out

    def _wanted_weight(self, r: _RsState) -> int:
        dyn = [c.weight for c in r.checkers if c.weight is not None]
        return dyn[-1] if dyn else r.cfg.weight

    def _update_rs(self, v: _VsState, r: _RsState, mail: str) -> list[Action]:
        out: list[Action] = []
        alive = r.all_up()
        weight = self._wanted_weight(r)
        if weight != r.weight:
            out.append(Log(f"Changing weight from {r.weight} to {weight} for "
                           f"{'' if r.alive else 'in'}active service {r.name} of VS {v.name}"))
            r.weight = weight
            self._touch()
        if alive != r.alive:
            r.alive = alive
            self._touch()
            inhibit = r.cfg.inhibit_on_failure
            if alive:
                verb = "Enabling" if inhibit else "Adding"
                out.append(Log(f"{verb} service {r.name} to VS {v.name}"))
            else:
                verb = "Disabling" if inhibit else "Removing"
                out.append(Log(f"{verb} service {r.name} from VS {v.name}"))
            out.extend(self._rs_notifies(v, r, alive, mail))
        if out:  # quorum can only move when a weight or an alive flag did (saves an O(n) sum)
            out.extend(self._update_quorum(v, init=False))
        return out

    def _rs_notifies(self, v: _VsState, r: _RsState, up: bool, mail: str = "") -> list[Action]:
        out: list[Action] = []
        script = r.cfg.notify_up if up else r.cfg.notify_down
        if script is not None:
            out.append(Log(f"Executing [{' '.join(script.argv)}] for service {r.name} in VS "
                           f"{v.name}"))
            out.append(RunScript(script, "notify_up" if up else "notify_down"))
        out.append(RsStateChange(r.name, v.name, up,
                                 bool(mail) and (r.cfg.smtp_alert or v.smtp_alert), mail))
        return out

    def _live_weight(self, v: _VsState) -> int:
        return sum(r.weight for r in v.rss if r.alive)

    def _update_quorum(self, v: _VsState, *, init: bool) -> list[Action]:
        vs = v.cfg
        out: list[Action] = []
        total = self._live_weight(v)
        up_at = vs.quorum + vs.hysteresis
        if not v.quorum_up and total >= up_at:
            v.quorum_up = True
            self._touch()
            out.append(Log(f"Gained quorum {vs.quorum}+{vs.hysteresis}={up_at} <= {total} "
                           f"for VS {v.name}"))
            if vs.sorry_server is not None and not init:
                verb = "Disabling" if vs.sorry_server.inhibit else "Removing"
                out.append(Log(f"{verb} sorry server {self._sorry_name(v)} from VS {v.name}"))
            if not init:
                out.extend(self._vs_notifies(v, True))
            return out
        down_at = vs.quorum - vs.hysteresis
        if init and not v.quorum_up:
            # Never had quorum: no "Lost" event, but the sorry server takes the traffic.
            if vs.sorry_server is not None:
                verb = "Enabling" if vs.sorry_server.inhibit else "Adding"
                out.append(Log(f"{verb} sorry server {self._sorry_name(v)} to VS {v.name}"))
            return out
        if v.quorum_up and (total == 0 or total < down_at):
            v.quorum_up = False
            self._touch()
            out.append(Log(f"Lost quorum {vs.quorum}-{vs.hysteresis}={down_at} > {total} "
                           f"for VS {v.name}"))
            out.extend(self._vs_notifies(v, False))
            if vs.sorry_server is not None:
                verb = "Enabling" if vs.sorry_server.inhibit else "Adding"
                out.append(Log(f"{verb} sorry server {self._sorry_name(v)} to VS {v.name}"))
        return out

    def _sorry_name(self, v: _VsState) -> str:
        s = v.cfg.sorry_server
        assert s is not None
        return format_endpoint(s.ip, s.port or v.cfg.port, v.cfg.protocol)

    def _vs_notifies(self, v: _VsState, up: bool) -> list[Action]:
        out: list[Action] = []
        script = v.cfg.quorum_up if up else v.cfg.quorum_down
        if script is not None:
            out.append(Log(f"Executing [{' '.join(script.argv)}] for VS {v.name}"))
            out.append(RunScript(script, "quorum_up" if up else "quorum_down"))
        out.append(VsStateChange(v.name, up, v.smtp_alert))
        return out

    # -------------------------------------------------------------- events

    def address_event(self, addr: str, present: bool, now: float) -> list[Action]:
        """A local address appeared or vanished: resume or suspend ha_suspend checkers."""
        a = str(ipaddress.ip_address(addr))
        if present:
            self._local.add(a)
        else:
            self._local.discard(a)
        out: list[Action] = []
        for v in self._vss:
            if not v.cfg.ha_suspend or a not in v.addresses:
                continue
            suspend = not (v.addresses & self._local)
            if suspend == v.suspended:
                continue
            v.suspended = suspend
            verb = "Suspending" if suspend else "Resuming"
            out.append(Log(f"{verb} checkers for VS {v.name} (address {a} "
                           f"{'removed' if suspend else 'added'})"))
            if not suspend:
                for r in v.rss:
                    for c in r.checkers:
                        if not c.running:
                            c.next_at = now if c.next_at is None else min(c.next_at, now)
                self._rebuild_heap()
        return out

    def reload(self, virtual_servers: Sequence[VirtualServer],
               groups: Iterable[VirtualServerGroup], now: float) -> list[Action]:
        """Swap in a new config, keeping the state of everything whose identity persists.

        A checker keeps its state when VS identity, RS address/port, position and its own
        config are unchanged; anything new starts as at boot (alpha, warmup).
        """
        old = {v.ident: v for v in self._vss}
        self._groups = {g.name: g for g in groups}
        out: list[Action] = []
        new_vss = [self._build_vs(v) for v in virtual_servers]
        for v in new_vss:
            prev = old.pop(v.ident, None)
            prev_rs = {r.name: r for r in prev.rss} if prev else {}
            for r in v.rss:
                pr = prev_rs.pop(r.name, None)
                for i, c in enumerate(r.checkers):
                    pc = pr.checkers[i] if pr and i < len(pr.checkers) else None
                    if pc is not None and same_config(pc.cfg, c.cfg):
                        c.is_up, c.has_run, c.retry_it = pc.is_up, pc.has_run, pc.retry_it
                        c.next_at, c.running, c.weight = pc.next_at, pc.running, pc.weight
                    else:
                        self._schedule_first(c, now)
                        out.append(Log(f"Activating healthchecker for service {r.name} for VS "
                                       f"{v.name}"))
                r.alive = r.all_up()
                r.weight = self._wanted_weight(r)
                if pr is None:
                    if r.alive:
                        out.append(Log(f"Adding service {r.name} to VS {v.name}"))
                elif pr.alive != r.alive:
                    out.extend(self._rs_notifies(v, r, r.alive))
            for gone in prev_rs.values():
                out.append(Log(f"service {gone.name} no longer exist"))
            if prev is not None:
                v.quorum_up = prev.quorum_up
                v.suspended = v.cfg.ha_suspend and not (v.addresses & self._local)
                out.extend(self._update_quorum(v, init=False))
            else:
                v.suspended = v.cfg.ha_suspend and not (v.addresses & self._local)
                out.extend(self._update_quorum(v, init=True))
        for gone_vs in old.values():
            if gone_vs.cfg.group is not None:
                out.append(Log(f"Removing Virtual Server Group [{gone_vs.cfg.group}]"))
            else:
                out.append(Log(f"Removing Virtual Server {gone_vs.name}"))
        self._vss = new_vss
        self._index()
        self._touch()
        return out

    def shutdown(self) -> list[Action]:
        """On stop: with ``omega``, the down notifies for alive servers and quorum_down."""
        out: list[Action] = []
        for v in self._vss:
            for r in v.rss:
                if r.alive:
                    out.append(Log(f"Shutting down service {r.name} from VS {v.name}"))
            if not v.cfg.omega:
                continue
            for r in v.rss:
                if r.alive:
                    out.extend(self._rs_notifies(v, r, False))
            if v.quorum_up:
                out.extend(self._vs_notifies(v, False))
        return out
