"""The VRRP child's split-brain guards: the I/O around ``splitbrain.guards.NodeGuards``.

Created only when an instance configures a guard (docs/split-brain.md); the VRRP process
then calls ``observe`` with the events it took from an endpoint, ``foreign_datagram`` for a
datagram no instance owns, ``foreign_advert`` for one of ours with another address list,
``path_packet`` for every datagram first (heartbeat paths), ``send_paths`` after writing an
endpoint's datagrams, and ``shutdown`` first when stopping. Everything else runs on this
object's own timer: probes on the VIPs' links (``splitbrain.arp``), etcd calls
(``splitbrain.etcd``), fence scripts and notifications.
Verdicts reach the routers through their explicit inputs inside ``NodeGuards.pump``; what
follows is taken from the instance's endpoint (adverts encoded there, written by the process's
``_send``; addresses and logs performed by its ``_act``), so it goes through the same
kernel-work queue as any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pykeepalived.daemon.settings import auth_of
from pykeepalived.net.links import if_mac
from pykeepalived.notify.fifo import vrrp_line
from pykeepalived.splitbrain import conflict as cw
from pykeepalived.splitbrain import lease as la
from pykeepalived.splitbrain import refgate as rg
from pykeepalived.splitbrain.arp import LinkProbe
from pykeepalived.splitbrain.etcd import EtcdError, EtcdGateway
from pykeepalived.splitbrain.guards import GuardIo, NodeGuards
from pykeepalived.splitbrain.paths import HeartbeatPaths
from pykeepalived.vrrp.actions import (
    Action,
    ClaimWanted,
    Notify,
    SendAdvert,
    State,
    StateChanged,
)
from pykeepalived.vrrp.endpoint import DatagramMeta
from pykeepalived.vrrp.packet import (
    Advert,
    AdvertEncoder,
    PacketError,
    decode_ipv4,
    decode_ipv6,
    repeat_key,
)

if TYPE_CHECKING:
    from pykeepalived.config.model import KeepalivedConfig

Instance = Any  # daemon.instance.Instance (not imported: the process imports this module)


class Process(Protocol):
    """What the shell uses of the VRRP process (daemon.vrrp_process.VrrpProcess)."""

    instances: dict[str, Instance]
    kernel: Any  # daemon.kernel.Kernel
    notifier: Any
    loop: asyncio.AbstractEventLoop | None
    _stopping: bool

    sockets: dict[Any, Any]
    by_vrid: dict[Any, dict[int, Instance]]

    def now(self) -> float: ...
    async def _socket(self, key: Any, c: Any, group: str) -> Any: ...
    def _flush(self, inst: Instance) -> None: ...
    def _send(self, inst: Instance) -> None: ...
    def _act(self, inst: Instance, a: Any) -> None: ...
    def _touch(self, inst: Instance) -> None: ...
    def _rearm(self) -> None: ...

log = logging.getLogger("pykeepalived.vrrp")
_RELEVANT = (StateChanged, ClaimWanted, Notify)
_LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


class SplitBrainShell:
    def __init__(self, proc: Process) -> None:
        self.proc = proc
        self.guards = NodeGuards({})
        self.probes: dict[str, LinkProbe] = {}
        self._sources: dict[tuple[str, int], str | None] = {}
        self._gate_if: dict[str, str] = {}
        self._watch_if: dict[str, str] = {}
        self._vips: dict[str, frozenset[str]] = {}
        self._watchers: dict[tuple[str, str], list[str]] = {}  # (ifname, VIP) -> instances
        self.etcd: EtcdGateway | None = None
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._pump_soon: asyncio.Handle | None = None
        self.conflicts = 0
        # conflict-watched instances: their endpoint's get_timer (the original kept, restored
        # at shutdown), which also wakes the process when a BACKUP's watch must look
        self._leads: dict[str, tuple[LeadTimer, Any]] = {}
        # heartbeat paths: instance -> HeartbeatPaths, and its extra (socket key, src, dsts)
        self.paths: dict[str, HeartbeatPaths] = {}
        self._path_tx: dict[str, list[tuple[Any, str, tuple[str, ...]]]] = {}
        self._path_enc: dict[tuple[Any, ...], AdvertEncoder] = {}
        # per (instance, path key): the last IPv4 datagram decoded there and its advert: a
        # master's repeats differ only in IP ID and checksum, so they skip the decode
        self._path_rx: dict[tuple[str, Any], PathRx] = {}
        self._path_last: dict[str, Advert] = {}  # per instance: the advert delivered last

    # ------------------------------------------------------------------ set-up
    async def start(self, cfg: KeepalivedConfig) -> None:
        insts = {n: i for n, i in self.proc.instances.items() if i.cfg.split_brain.any}
        self.guards = NodeGuards({n: i.router for n, i in insts.items()},
                                 pull=lambda n: [*self.proc.instances[n].endpoint.events()])
        gates: dict[tuple[Any, ...], list[str]] = {}
        for name, inst in insts.items():
            sb = inst.cfg.split_brain
            self._vips[name] = frozenset(str(ipaddress.ip_address(v.ip)) for v in inst.vips)
            # where the VIPs live (VRRP may run on a heartbeat link elsewhere)
            where = next((v.dev for v in inst.vips if v.dev), None) or inst.vip_if
            if sb.reference_addresses:
                key = (where, sb.reference_addresses,
                       sb.reference_interval or inst.cfg.advert_int, sb.reference_fall,
                       sb.reference_rise)
                gates.setdefault(key, []).append(name)
            if sb.conflict_watch:
                mac = self._mac(where)
                # probing while MASTER is the slow path (a claim is checked before it is
                # made, at the advert's pace): at most one round a second by default
                interval = sb.conflict_interval or max(inst.cfg.advert_int, 1.0)
                # as BACKUP at the advert's pace; probe when two adverts are missing, so the
                # answer is in before the claim
                adv = inst.cfg.advert_int
                self.guards.add_conflict_watch(name, cw.ConflictWatch(cw.ConflictSettings(
                    name, tuple(sorted(self._vips[name])), interval, own_mac=mac,
                    lead=1.5 * adv, backup_interval=adv)))
                self._watch_if[name] = where
                self._lead_timer(name, inst, 1.5 * adv)
                for v in self._vips[name]:
                    self._watchers.setdefault((where, v), []).append(name)
                await self._probe_on(where)
        for n, (key, members) in enumerate(gates.items()):
            gid = f"gate{n}"
            ifname, refs, interval, fall, rise = key
            await self._check_subnet(ifname, refs, members)
            self.guards.add_gate(gid, rg.ReferenceGate(rg.RefGateSettings(
                refs, interval, fall, rise)), tuple(members))
            self._gate_if[gid] = ifname
            await self._probe_on(ifname)
        for inst in insts.values():
            if inst.cfg.split_brain.heartbeat_paths:
                await self._open_paths(inst)
        self._start_lease(cfg, insts)
        self.guards.start(self.proc.now())
        self.pump()

    def _lead_timer(self, name: str, inst: Instance, lead: float) -> None:
        """Wake at ``lead`` before the down timer (see ``LeadTimer``); the watch then probes
        on its own grid as before."""
        ep = inst.endpoint
        lt = LeadTimer(inst.router, lead, self.proc.now, lambda t: self._lead_reached(name, t))
        self._leads[name] = (lt, ep.get_timer)
        self._lead_follow(inst)

    def _lead_follow(self, inst: Instance) -> None:
        """Install the lead timer while the instance is BACKUP and remove it otherwise, so a
        MASTER's timer (asked for every advert it sends) is the router's own, without it."""
        lead = self._leads.get(inst.name)
        if lead is None:
            return
        ep = inst.endpoint
        want = lead[0] if inst.router.state is State.BACKUP else lead[1]
        if ep.get_timer is not want:
            ep.get_timer = want
            lead[0].told = None
            self.proc._touch(inst)

    def _lead_reached(self, name: str, deadline: float) -> None:
        """A watched BACKUP's master has been quiet long enough: its watch takes the down
        deadline (and probes at its lead before it); looked at in a pump after the current
        call (this runs inside the process's timer bookkeeping)."""
        w = self.guards.conflicts.get(name)
        if w is None:
            return
        w.set_down_deadline(deadline, self.proc.now())
        self.guards.touched(name)
        if self._pump_soon is None and self.proc.loop is not None:
            self._pump_soon = self.proc.loop.call_soon(self._pump_now)

    def _pump_now(self) -> None:
        self._pump_soon = None
        self.pump()

    async def _open_paths(self, inst: Instance) -> None:
        """Sockets for each extra path; the instance is registered on them by VRID."""
        c = inst.cfg
        group = inst.endpoint.wire.mcast_group
        names = [f"{inst.rx_key[0]}"]
        tx = []
        for p in c.split_brain.heartbeat_paths:
            key = (p.interface, c.family, bool(p.unicast_peers))
            pname = f"{p.interface}{' unicast' if p.unicast_peers else ''}"
            if key in (inst.rx_key, inst.tx_key) and not p.unicast_peers:
                log.warning("(%s) heartbeat_path %s is the instance's own path", c.name,
                            pname)
                continue
            try:
                await self.proc._socket(key, c, group)
            except OSError as e:
                log.error("(%s) heartbeat_path %s: %s", c.name, pname, e)
                continue
            by = self.proc.by_vrid.setdefault(key, {})
            other = by.get(c.vrid)
            if other is not None and other is not inst:
                log.error("(%s) heartbeat_path %s: VRID %d is used there by %s", c.name,
                          pname, c.vrid, by[c.vrid].name)
                continue
            by[c.vrid] = inst
            src = (await self.proc.kernel.primary_address(p.interface, c.family)
                   or inst.endpoint.wire.src)
            tx.append((key, src, p.unicast_peers or (group,)))
            names.append(pname)
        if len(names) > 1:
            self.paths[c.name] = HeartbeatPaths(c.name, tuple(names), c.advert_int)
            self._path_tx[c.name] = tx
            inst.endpoint.adverts_sent = []  # send_paths sends each again on the paths
            log.info("(%s) heartbeat paths: %s", c.name, ", ".join(names))

    def path_packet(self, key: Any, inst: Instance, meta: DatagramMeta, data: bytes) -> bool:
        """An advert for a path-redundant instance: decode with the path's own cast, drop a
        copy another path brought, hand the rest to the endpoint. False: not ours to handle.

        Every advert comes once per path, so this runs twice per advert: a repeat of the last
        datagram of this path (all but IP ID and checksum equal) takes the remembered advert
        without decoding, and is judged (ours, or a copy) from what was remembered with it."""
        name = inst.name
        paths = self.paths.get(name)
        if paths is None:
            return False
        ep = inst.endpoint
        rk = repeat_key(data) if meta.family == 4 and ep.ah_seq is None else None
        rx = self._path_rx.get((name, key))
        if rx is None or rk is None or rx.key != rk:
            rx = self._path_decode(key, inst, meta, data, rk)
            if rx is None:
                return True
        if rx.own:
            return True  # our own, looped back on another path
        adv = rx.adv
        now = self.proc.now()
        if paths.heard(rx.path, adv.vrid, adv.priority, adv.addresses, now):
            last = self._path_last.get(name)
            if last is not adv:
                if last is not None and _same_to_router(last, adv):
                    # the same advert another path's memo holds: hand the router the object
                    # it took last, so its repeat check (by identity) holds across paths
                    adv = last
                else:
                    self._path_last[name] = adv
            ep.receive_advert(adv, now)
            self.proc._flush(inst)
        return True

    def _path_decode(self, key: Any, inst: Instance, meta: DatagramMeta, data: bytes,
                     rk: bytes | None) -> PathRx | None:
        """Decode a datagram with the path's own cast; remembered when a repeat may follow
        (IPv4 without AH). None: rejected (logged)."""
        ep = inst.endpoint
        unicast = bool(key[2])
        exp = ep.expect
        if exp.unicast != unicast:
            exp = dataclasses.replace(exp, unicast=unicast, unicast_peers=None)
        try:
            adv = _decode(meta, data, exp)
        except PacketError as e:
            log.warning("(%s) %s", inst.name, e.detail or e.reason.counter)
            return None
        pname = key[0] if key == inst.rx_key or key == inst.tx_key else (
            f"{key[0]}{' unicast' if unicast else ''}")
        own = adv.src == ep.wire.src or any(adv.src == t[1] for t in self._path_tx[inst.name])
        rx = PathRx(rk, adv, own, pname)
        if rk is not None:
            self._path_rx[(inst.name, key)] = rx
        return rx

    def foreign_datagram(self, key: Any, meta: DatagramMeta, data: bytes) -> None:
        """A datagram of a VRID we do not run: the conflict watch looks at its advert."""
        try:
            adv = _decode(meta, data, None)
        except PacketError:
            return
        self.foreign_advert(key[0], adv)

    def send_paths(self, inst: Instance) -> None:
        """Send the adverts the endpoint encoded since the last call on its extra paths."""
        ep = inst.endpoint
        sent = ep.adverts_sent
        if not sent:
            return
        ep.adverts_sent = []
        for act in sent:
            self._send_on_paths(inst, act)

    def _send_on_paths(self, inst: Instance, act: SendAdvert) -> None:
        ep = inst.endpoint
        for key, src, dsts in self._path_tx.get(inst.name, ()):
            sock = self.proc.sockets.get(key)
            if sock is None:
                continue
            ek = (inst.name, key, act.version, act.adver_int, act.addresses)
            enc = self._path_enc.get(ek)
            if enc is None:
                c = inst.cfg
                enc = self._path_enc[ek] = AdvertEncoder(
                    version=act.version, vrid=act.vrid, adver_int=act.adver_int,
                    addresses=act.addresses, src=src, auth=auth_of(c),
                    ttl=255, unicast=bool(key[2]), v3_checksum_as_v2=c.v3_checksum_as_v2,
                    mcast_group=ep.wire.mcast_group)
            for dst in dsts:
                if inst.family == 4:
                    sock.send(enc.ipv4(priority=act.priority, ip_id=ep.next_ip_id(), dst=dst),
                              dst)
                else:
                    sock.send(enc.ipv6(priority=act.priority, dst=dst), dst)

    def _mac(self, ifname: str) -> str:
        try:
            return if_mac(ifname)
        except OSError:
            return ""

    async def _probe_on(self, ifname: str) -> None:
        if ifname in self.probes:
            return
        p = LinkProbe(ifname, self._mac(ifname), self._heard)
        try:
            p.open(v4=True, v6=True)
        except OSError as e:
            log.error("split-brain guards: cannot probe on %s: %s", ifname, e)
            return
        self.probes[ifname] = p
        for fam in (4, 6):
            self._sources[(ifname, fam)] = await self.proc.kernel.primary_address(ifname, fam)

    async def _check_subnet(self, ifname: str, refs: tuple[str, ...], members: list[str]
                            ) -> None:
        """A reference address off the interface's subnets is unreachable by ARP/ND."""
        nets = [ipaddress.ip_interface(f"{a.ip}/{a.prefixlen}").network
                for a in await self.proc.kernel.list_addresses(ifname)]
        for ref in refs:
            ip = ipaddress.ip_address(ref)
            if nets and not any(ip in n for n in nets if n.version == ip.version):
                c = self.proc.instances[members[0]].cfg
                log.error("(%s: Line %d) (%s) reference_address %s is not on a subnet of %s: "
                          "ARP/ND cannot reach it", c.file, c.split_brain.line or c.line,
                          members[0], ref, ifname)

    def _start_lease(self, cfg: KeepalivedConfig, insts: dict[str, Instance]) -> None:
        la_cfg = cfg.lease_arbiter
        keyed = [(n, i) for n, i in insts.items() if i.cfg.split_brain.lease_key]
        if la_cfg is None or not keyed:
            return
        settings = la.LeaseSettings(cfg.global_defs.router_id or "", la_cfg.ttl,
                                    la.OnDown(la_cfg.on_etcd_down))
        self.guards.set_lease(la.LeaseArbiter(settings, [
            la.ArbitratedInstance(n, i.cfg.split_brain.lease_key or "",
                                  tuple(sorted(self._vips[n]))) for n, i in keyed]))
        self.etcd = EtcdGateway(la_cfg.endpoints, la_cfg.request_timeout)
        log.info("lease arbiter: etcd at %s, ttl %gs (etcd lease %ds), on_etcd_down %s",
                 " ".join(la_cfg.endpoints), la_cfg.ttl, la.etcd_ttl(la_cfg.ttl),
                 la_cfg.on_etcd_down)

    # ------------------------------------------------------------------ events in
    def observe(self, inst: Instance, acts: Sequence[Action]) -> None:
        """Router actions of ``inst``: only state changes, claim wishes and notifications
        concern the guards (a master's periodic advert does not: no work per advert)."""
        if inst.name in self.guards.routers and any(isinstance(a, _RELEVANT) for a in acts):
            self.guards.observe(inst.name, acts, self.proc.now())
            self._lead_follow(inst)
            self.pump()

    def foreign_advert(self, ifname: str, adv: Advert) -> None:
        """An advert another VRID sent, or one of ours whose address list differs."""
        now = self.proc.now()
        got = set(adv.addresses)
        for name, w in self.guards.conflicts.items():
            if self._watch_if.get(name) != ifname and self.proc.instances[name].cfg.interface \
                    != ifname:
                continue
            mine = self._vips[name]
            r = self.guards.routers[name]
            if got & mine and (adv.vrid != r.settings.vrid or got != mine):
                w.evidence_advert(adv.src, adv.vrid, adv.priority, adv.addresses, now)
                self.guards.touched(name)
        self.pump()

    def _heard(self, ifname: str, ip: str, mac: str, reply: bool) -> None:
        now = self.proc.now()
        for gid, g in self.guards.gates.items():
            if self._gate_if[gid] == ifname and ip in g.settings.addresses:
                g.answered(ip, now)
        for name in self._watchers.get((ifname, ip), ()):
            self.guards.arp_evidence(name, ip, mac, now)
        self.pump()

    # ------------------------------------------------------------------ the loop
    def pump(self) -> None:
        now = self.proc.now()
        out, io = self.guards.pump(now)
        for name, acts in out:
            inst = self.proc.instances.get(name)
            if inst is None:
                continue
            self.proc._send(inst)  # the adverts among them, encoded by the endpoint
            for a in acts:
                self.proc._act(inst, a)
            self._lead_follow(inst)
            self.proc._touch(inst)
        for g in io:
            self._do(g)
        if out:
            self.proc._rearm()
        self._rearm()

    def _rearm(self) -> None:
        t = self.guards.next_timer()
        if self.paths:  # path liveness is looked at once per second
            tick = self.proc.now() + 1.0
            t = tick if t is None else min(t, tick)
        if self._timer is not None:
            if self._timer.when() == t:
                return
            self._timer.cancel()
            self._timer = None
        if t is not None and self.proc.loop is not None and not self.proc._stopping:
            self._timer = self.proc.loop.call_at(t, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self.proc.now()
        for name, w in self.guards.conflicts.items():
            t = w.next_timer()
            if t is not None and t <= now:
                self._refresh_watch(name, w, now)
        self.guards.handle_timer(now)
        self._check_paths(now)
        self.pump()

    def _refresh_watch(self, name: str, w: cw.ConflictWatch, now: float) -> None:
        """Before a due watch runs: what its router heard since. A BACKUP's down deadline
        is handed over only while it is near; a master heard again puts it back under its
        lead timer (which wakes the process when the master next goes quiet), so a watch
        whose master advertises costs no timer tick."""
        r = self.guards.routers[name]
        w.vrrp_heard(r.last_advert_at, r.last_advert_rank)
        if r.state is not State.BACKUP or r.claim_waiting:
            return
        deadline = r.next_timer()
        lead = self._leads.get(name)
        if lead is not None and deadline is not None and deadline - lead[0].lead > now:
            lead[0].told = None
            w.set_down_deadline(None, now)
        else:
            w.set_down_deadline(deadline, now)

    def _check_paths(self, now: float) -> None:
        for name, paths in self.paths.items():
            r = self.proc.instances[name].router
            paths.check(now, r.master_down)
            for ev in paths.events():
                (log.info if ev.up else log.warning)("%s", ev.message)

    def _do(self, g: GuardIo) -> None:
        a = g.action
        if isinstance(a, rg.Probe):
            ifname = self._gate_if[g.owner]
            fam = 6 if ":" in a.address else 4
            p = self.probes.get(ifname)
            if p is not None:
                p.probe(a.address, self._sources.get((ifname, fam)))
        elif isinstance(a, cw.ProbeVips):
            ifname = self._watch_if[g.owner]
            p = self.probes.get(ifname)
            if p is not None:
                for v in a.addresses:
                    p.probe(v, self._sources.get((ifname, 6)) if ":" in v else None)
        elif isinstance(a, cw.ConflictSeen):
            self.conflicts += 1
            log.warning("(%s) split brain: %s", g.owner, a.detail)
            self._notify(g.owner, "CONFLICT", a.detail)
        elif isinstance(a, cw.ConflictEnded):
            log.info("(%s) split brain over after %.3f s", g.owner, a.duration)
        elif isinstance(a, la.Log):
            log.log(_LEVELS.get(a.level, logging.INFO), "%s", a.message)
        elif isinstance(a, la.LostArbitration):
            log.warning("(%s) lost arbitration: %s", a.name, a.reason)
            self._fence(a.name, a.reason)
        else:
            self._etcd(a)

    # ------------------------------------------------------------------ scripts
    def _notify(self, name: str, event: str, detail: str) -> None:
        n = self.proc.notifier
        inst = self.proc.instances.get(name)
        if n is None or inst is None:
            return
        s = inst.cfg.split_brain.notify_split_brain
        if s is not None:
            n.scripts.launch(s, [*s.argv, "INSTANCE", name, event, detail])
        with contextlib.suppress(Exception):
            n.fifos.write_vrrp(vrrp_line("INSTANCE", name, event,
                                         inst.router.effective_priority))

    def _fence(self, name: str, reason: str) -> None:
        inst = self.proc.instances.get(name)
        n = self.proc.notifier
        if inst is not None and n is not None and inst.cfg.split_brain.fence_script is not None:
            n.scripts.launch(inst.cfg.split_brain.fence_script)
        self._notify(name, "LOST_ARBITRATION", reason)

    # ------------------------------------------------------------------ etcd
    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _etcd(self, a: object) -> None:
        lease = self.guards.lease
        if self.etcd is None or lease is None:
            return
        if isinstance(a, la.Watch):
            old = self._watches.pop(a.name, None)
            if old is not None:
                old.cancel()
            if a.on:
                name = a.name
                self._watches[a.name] = asyncio.get_running_loop().create_task(
                    self.etcd.watch_delete(a.key, lambda: self._key_gone(name)))
            return
        self._spawn(self._call(a))

    def _key_gone(self, name: str) -> None:
        if self.guards.lease is not None:
            self.guards.lease.key_gone(name, self.proc.now())
            self.pump()

    async def _call(self, a: object) -> None:
        assert self.etcd is not None and self.guards.lease is not None
        lease = self.guards.lease
        what = type(a).__name__.lower()
        try:
            if isinstance(a, la.Grant):
                lid, ttl = await self.etcd.grant(a.ttl)
                lease.granted(lid, ttl, self.proc.now())
            elif isinstance(a, la.KeepAlive):
                left = await self.etcd.keepalive(a.lease)
                lease.renewed(left, self.proc.now())
            elif isinstance(a, la.Acquire):
                what = f"acquire:{a.name}"
                ok, holder = await self.etcd.acquire(a.key, a.value, a.lease)
                lease.acquired(a.name, ok, holder, self.proc.now())
            elif isinstance(a, la.Release):
                await self.etcd.release(a.key, a.lease)
            elif isinstance(a, la.Revoke):
                await self.etcd.revoke(a.lease)
        except (EtcdError, OSError, ValueError, KeyError) as e:
            lease.request_failed(what, str(e) or type(e).__name__, self.proc.now())
        self.pump()

    # ------------------------------------------------------------------ stop
    async def shutdown(self) -> None:
        """Revoke the lease first (the next node's claim then waits for VRRP only)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pump_soon is not None:
            self._pump_soon.cancel()
            self._pump_soon = None
        for name, (_, original) in self._leads.items():
            inst = self.proc.instances.get(name)
            if inst is not None and inst.endpoint.get_timer is self._leads[name][0]:
                inst.endpoint.get_timer = original
        self._leads.clear()
        lease = self.guards.lease
        if lease is not None and self.etcd is not None and lease.lease is not None:
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(self.etcd.revoke(lease.lease), 1.0)
                log.info("lease arbiter: lease %x revoked in %.3f s", lease.lease,
                         time.monotonic() - t0)
            except (TimeoutError, EtcdError, OSError) as e:
                log.warning("lease arbiter: revoke failed (%s); the key expires with the "
                            "lease", e)
            lease.shutdown(self.proc.now())
            lease.actions()
        for w in self._watches.values():
            w.cancel()
        for t in list(self._tasks):
            t.cancel()
        for p in self.probes.values():
            p.close()
        if self.etcd is not None:
            self.etcd.close()


@dataclasses.dataclass(frozen=True, slots=True)
class PathRx:
    """The last datagram decoded on one path of one instance: its ``repeat_key`` (None: not
    remembered), its advert, whether we sent it, and the path's name for the logs."""

    key: bytes | None
    adv: Advert
    own: bool
    path: str


def _same_to_router(a: Advert, b: Advert) -> bool:
    """Whether the router would take ``a`` and ``b`` alike: every field it reads (not how
    the packet was framed: destination, TTL, checksum, IP ID, which the path's decode
    checked)."""
    return (a.src == b.src and a.priority == b.priority and a.adver_int == b.adver_int
            and a.addresses == b.addresses and a.vrid == b.vrid and a.version == b.version
            and a.type == b.type and a.auth_type == b.auth_type and a.auth_data == b.auth_data
            and a.family == b.family and a.ah_seq == b.ah_seq)


class LeadTimer:
    """``get_timer`` of a conflict-watched instance's endpoint (the process's schedule reads
    it after every call into the endpoint, each received advert included).

    It is the router's own deadline, except while BACKUP with a down deadline not yet handed
    to the watch: then the moment ``lead`` before it. A heard advert moves the down deadline
    and that moment with it, so the process wakes there only when the master really went
    quiet; ``reached(deadline)`` then hands the deadline to the watch (which probes before
    the claim, on its grid). This replaces a scan of every BACKUP's deadline at each advert
    interval: 250 backups whose masters advertise cost no wake-up at all."""

    __slots__ = ("clock", "lead", "reached", "router", "told")

    def __init__(self, router: Any, lead: float, clock: Any, reached: Any) -> None:
        self.router = router
        self.lead = lead
        self.clock = clock
        self.reached = reached
        self.told: float | None = None  # the deadline handed over last

    def __call__(self) -> float | None:
        r = self.router
        t: float | None = r.next_timer()
        if t is None or t == self.told or r.state is not State.BACKUP or r.claim_waiting:
            return t
        at = t - self.lead
        if at > self.clock():
            return at
        self.told = t
        self.reached(t)
        return t


def _decode(meta: DatagramMeta, data: bytes, expect: Any) -> Advert:
    if meta.family == 4:
        return decode_ipv4(data, expect=expect)
    return decode_ipv6(data, src=meta.src, dst=meta.dst, hop_limit=meta.hop_limit,
                       expect=expect, verify_checksum=False)
