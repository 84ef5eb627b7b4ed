"""The VRRP child: one asyncio loop driving every VRRP instance of the config.

Theory of operation: the config is mapped onto one ``VrrpRouter`` per instance
(``daemon.settings``), raw sockets are opened per (interface, family, unicast/multicast) and
shared by the instances on them, and received datagrams are dispatched by VRID to the router
after the codec validated them (a rejection bumps keepalived's counter for its reason). One
asyncio timer is armed at the earliest ``next_timer()`` of all routers; after every call into a
router its actions are executed at once (adverts, logs, notifies) or queued on the instance's
ordered kernel-work queue (addresses, routes, rules, firewall, GARP/NA; ``daemon.instance``).

Netlink events drive interface state (instance interface and ``track_interface``) and put back
a VIP deleted by hand while MASTER; tracker events (``track.Trackers``) change priorities.
Signals: HUP reloads by diff, TERM/INT stop gracefully, USR1/USR2/SIGRTMIN+2/SIGRTMAX-1 write
keepalived's data/stats/JSON files. The monotonic loop clock is the routers' ``now``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import gc
import heapq
import logging
import os
import resource
import signal
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

from pykeepalived.config import load
from pykeepalived.config.model import KeepalivedConfig, ParseResult, Severity, VrrpInstance
from pykeepalived.daemon import dump_snapshot, dumps, process, sdnotify, splitbrain
from pykeepalived.daemon.instance import (
    Instance,
    destinations,
    instance_addresses,
    new_ah_state,
    uses_ah,
)
from pykeepalived.daemon.log import setup_logging
from pykeepalived.daemon.settings import (
    address_of,
    instance_identity,
    route_of,
    router_settings,
    rule_of,
    static_track_name,
)
from pykeepalived.daemon.splitbrain import SplitBrainShell
from pykeepalived.net.addresses import AddressManager
from pykeepalived.net.arp import Announcer
from pykeepalived.net.firewall import DEFAULT_TABLE, Firewall
from pykeepalived.net.links import AddrEvent, LinkEvent, LinkMonitor, NetEvent, link_info
from pykeepalived.net.sockets import Received, VrrpSocket4, VrrpSocket6
from pykeepalived.net.vmac import (
    Vmac,
    create_vmac,
    delete_vmac,
    resolve_vmac,
    xmit_interface,
)
from pykeepalived.observe.control import StatusServer, socket_path
from pykeepalived.observe.vrrp_view import VrrpMeters, vrrp_status
from pykeepalived.options import Options
from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    Action,
    AhResync,
    LogEvent,
    Notify,
    NotifyEvent,
    ReleaseAddresses,
    SendAdvert,
    SendGratuitous,
    State,
    StateChanged,
    VrrpStats,
)
from pykeepalived.vrrp.packet import (
    PROTO_VRRP,
    Advert,
    Expect,
    PacketError,
    decode_ipv4,
    decode_ipv6,
    peek_vrid,
    repeat_key,
)
from pykeepalived.vrrp.router import VrrpRouter
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import TrackKind

if TYPE_CHECKING:
    from pykeepalived.lvs.syncd import SyncDaemonFollower

log = logging.getLogger("pykeepalived")

EXIT_OK = 0
EXIT_FATAL = 1

_LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}
SockKey = tuple[str, int, bool]


def run_vrrp_child(opts: Options) -> int:
    setup_logging(opts, "vrrp")
    process.set_parent_death_signal()
    process.write_pid(opts.vrrp_pid_file)
    try:
        return asyncio.run(VrrpProcess(opts).run())
    except Exception:
        log.exception("VRRP child failed")
        return 3
    finally:
        process.remove_pid(opts.vrrp_pid_file)


def load_config(opts: Options) -> ParseResult:
    return load(opts.config_file, config_id=opts.config_id, all_config=opts.all_config)


def config_errors(parsed: ParseResult) -> list[str]:
    return [m.format() for m in parsed.messages if m.severity >= Severity.ERROR]


class VrrpProcess:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.cfg = KeepalivedConfig()
        self.instances: dict[str, Instance] = {}
        self.groups: dict[str, SyncGroup] = {}
        self.sockets: dict[SockKey, VrrpSocket4 | VrrpSocket6] = {}
        self._reading: set[SockKey] = set()
        self._vmac_keys: set[SockKey] = set()
        self._recent: dict[int, float] = {}
        # per instance name: (instance, its Expect, the advert its router took as a plain
        # refresh, and that datagram's repeat_key): _on_repeat4
        self._rx_memo: dict[str, tuple[Instance, Expect | None, Advert, bytes]] = {}
        self.by_vrid: dict[SockKey, dict[int, Instance]] = {}
        self.announcers: dict[tuple[str, str | None], Announcer] = {}
        self.am = AddressManager()
        self.firewall: Firewall | None = None
        self.monitor: LinkMonitor | None = None
        self.trackers: Any = None
        self.notifier: Any = None
        self.syncd: SyncDaemonFollower | None = None  # lvs_sync_daemon follows one instance
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._due: dict[str, float | None] = {}
        self._heap: list[tuple[float, str]] = []
        self._stop = asyncio.Event()
        self._stopping = False
        self._reloading = False
        self._reload_again = False
        self._stop_notified: list[tuple[VrrpInstance, int]] = []
        self._iface_up: dict[str, bool] = {}
        self._static_failed: dict[str, bool] = {}  # track_group name -> cannot be restored
        self._static_task: asyncio.Task[None] | None = None
        self._static_again = False
        self._route_watch: Any = None
        self.sb: SplitBrainShell | None = None  # split-brain guards, when configured
        self.meters = VrrpMeters(time.time())  # observability: observe.vrrp_view
        self._status: StatusServer | None = None

    # ================================================================ life cycle
    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        parsed = load_config(self.opts)
        for m in parsed.messages:
            level = logging.ERROR if m.severity >= Severity.ERROR else logging.WARNING
            log.log(level, "%s", m.format())
        if parsed.worst == Severity.FATAL:
            log.error("Configuration has fatal errors: VRRP child exiting")
            return EXIT_FATAL
        self.cfg = parsed.config
        self.meters.events.config_loaded(True, time.time())
        self._scheduling()
        self.loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        if not self.opts.ignore_sigint:
            self.loop.add_signal_handler(signal.SIGINT, self._stop.set)
        self.loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        self.loop.add_signal_handler(signal.SIGUSR1, self.write_data)
        self.loop.add_signal_handler(signal.SIGUSR2, self.write_stats)
        self.loop.add_signal_handler(signal.SIGRTMIN + 2, self.write_json)
        self.loop.add_signal_handler(signal.SIGRTMAX - 1, self.write_stats_clear)
        self.loop.add_signal_handler(signal.SIGRTMAX, self.log_tasks)
        try:
            await self.am.open()
            self.monitor = LinkMonitor(self._on_net_event)
            await self.monitor.start()
            await self._start_notifier()
            await self._apply_static(add=True)
            await self._build(self.cfg, list(self.cfg.vrrp_instances))
            await self._start_syncd()
            await self._check_static(force=True)
            await self._watch_routes()
            await self._start_trackers()
            if splitbrain.wanted(self.cfg):
                self.sb = SplitBrainShell(self)
                await self.sb.start(self.cfg)
            self._observe_config()
            self._status = StatusServer(socket_path(self.opts.vrrp_pid_file), self._status_doc)
            await self._status.start()
            delay = self.cfg.global_defs.vrrp_startup_delay
            if delay > 0:
                log.info("Delaying startup for %g seconds", delay)
                await asyncio.sleep(delay)
            now = self.loop.time()
            for inst in list(self.instances.values()):
                inst.router.start(now)
                self._drain(inst)
            self._rearm()
            log.info("Startup complete")
            sdnotify.vrrp_started(self.loop, self.instances.values)
            gc.collect()
            gc.freeze()  # fewer and shorter collections: timers at 10 ms must not stall
            process.release_free_heap()
            await self._stop.wait()
            await self._shutdown()
        finally:
            if self._status is not None:
                await self._status.close()
            self._close_all()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        log.info("Stopped - used %.6f user time, %.6f system time", ru.ru_utime, ru.ru_stime)
        return EXIT_OK

    def _scheduling(self) -> None:
        g = self.cfg.global_defs
        if g.vrrp_priority is not None:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, g.vrrp_priority)
        if g.vrrp_rt_priority is not None:
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(g.vrrp_rt_priority))

    async def _start_notifier(self) -> None:
        try:
            from pykeepalived.notify import Notifier

            self.notifier = Notifier(self.cfg.global_defs, vrrp=True, lvs=False)
            await self.notifier.start()
        except Exception:
            log.exception("notifications unavailable")
            self.notifier = None

    async def _start_trackers(self, reload: bool = False) -> None:
        try:
            from pykeepalived.track import Trackers
        except Exception:
            log.exception("trackers unavailable")
            return
        if self.trackers is not None:
            with contextlib.suppress(Exception):
                await self.trackers.stop()
        self.trackers = Trackers(self.cfg, self._on_tracker)
        try:
            initial = await self.trackers.start(reload=reload)
        except Exception:
            log.exception("starting trackers failed")
            return
        for ev in initial:
            self._on_tracker(ev)

    # ================================================================ building instances
    async def _build(self, cfg: KeepalivedConfig, insts: list[VrrpInstance]) -> None:
        """Create instances (routers, VMACs, sockets) for ``insts``; does not start them."""
        g = cfg.global_defs
        for c in insts:
            try:
                await self._build_one(cfg, c)
            except Exception as e:
                log.error("(%s) cannot start instance: %s", c.name, e)
        # keepalived builds its nftables tables for VMACs too, even without no_accept: the
        # VMAC's IGMP/MLD reports leave through its parent (vmac_map).
        if self.firewall is None and any(i.uses_firewall or i.vmac is not None
                                         for i in self.instances.values()):
            self.firewall = Firewall(g.nftables or DEFAULT_TABLE)
            await self.firewall.setup()
        if self.firewall is not None:
            for i in self.instances.values():
                if i.vmac is not None:
                    res = await self.firewall.add_vmac(i.vmac.ifname, i.vmac.parent,
                                                       i.vmac.family)
                    if not res.ok:
                        log.warning("(%s) nftables for VMAC %s: %s", i.name, i.vmac.ifname,
                                    res.error)

    async def _build_one(self, cfg: KeepalivedConfig, c: VrrpInstance) -> None:
        g = cfg.global_defs
        ifname = c.interface or g.default_interface
        vmac: Vmac | None = None
        vip_if = ifname
        xmit_if = ifname
        if c.use_vmac is not None:
            vmac = Vmac(parent=ifname, vrid=c.vrid, family=c.family, name=c.use_vmac.name,
                        mac=c.use_vmac.mac, prefix=g.vmac_prefix)
            # The name first: an IPv6 instance sharing its VRID with an IPv4 one gets vrrp6.VRID
            # instead of putting its VIPs on the IPv4 VMAC.
            vmac = await resolve_vmac(self.am, vmac)
            res = await create_vmac(self.am, vmac)
            if not res.ok:
                raise OSError(res.errno, f"VMAC {vmac.ifname}: {res.error}")
            log.info("(%s) Using VMAC %s (%s) on %s", c.name, vmac.ifname, vmac.address,
                     ifname)
            vip_if = vmac.ifname
            xmit_if = xmit_interface(vmac, c.vmac_xmit_base)
        group, dsts = destinations(c, cfg)
        # With a VMAC, adverts leave from the macvlan (its MAC is the point) and are read on
        # both the macvlan and the base interface: which one the kernel delivers a peer's
        # advert to depends on the macvlan mode and on whether its source MAC is one of our
        # own macvlans (every peer's VMAC is ours). Duplicates are dropped in _on_packet.
        tx_key: SockKey = (xmit_if, c.family, c.unicast)
        rx_key: SockKey = (ifname, c.family, c.unicast)
        sock = await self._socket(tx_key, c, group, receive=True)
        if rx_key != tx_key:
            self._vmac_keys.add(tx_key)
            await self._socket(rx_key, c, group, receive=True)
        if c.family == 6:
            src = c.unicast_src_ip or c.mcast_src_ip or getattr(sock, "src", None) or "::"
        else:
            src = (c.unicast_src_ip or c.mcast_src_ip
                   or await self.am.primary_address(ifname, 4) or "0.0.0.0")
        sg_cfg = next((s for s in cfg.sync_groups if s.name == c.sync_group), None)
        settings = router_settings(c, cfg, src, sg_cfg)
        now = self._now()
        group_obj = None
        if sg_cfg is not None:
            group_obj = self.groups.get(sg_cfg.name)
            if group_obj is None:
                group_obj = self.groups[sg_cfg.name] = SyncGroup(sg_cfg.name)
        router = VrrpRouter(settings, now, group_obj)
        vips, evips, routes, rules = instance_addresses(c, vip_if, ifname)
        inst = Instance(cfg=c, router=router, proc=self, xmit_if=xmit_if, vip_if=vip_if,
                        src=src, dsts=dsts, group=group, vips=vips, evips=evips,
                        routes=routes, rules=rules, vmac=vmac, sock=sock,
                        ah=new_ah_state(c), tx_key=tx_key, rx_key=rx_key)
        inst.expect = inst.build_expect()
        for k in {rx_key, tx_key}:
            by = self.by_vrid.setdefault(k, {})
            if c.vrid in by and by[c.vrid].name != c.name:
                raise ValueError(f"VRID {c.vrid} already used by {by[c.vrid].name} on {k[0]}")
            by[c.vrid] = inst
        self.instances[c.name] = inst
        inst.start_worker()
        up = await self._link_up(ifname)
        if src in ("0.0.0.0", "::"):
            log.warning("(%s) no source address on %s", c.name, ifname)
            up = False
        if not up:
            router.set_interface_up(False, now)
        for t in c.track_interfaces:
            if not await self._link_up(t.name):
                router.set_track_state(TrackKind.INTERFACE, t.name, False, now)
        if sg_cfg is not None:
            for t in sg_cfg.track_interfaces:
                if not await self._link_up(t.name):
                    router.set_track_state(TrackKind.INTERFACE, t.name, False, now)

    async def _link_up(self, ifname: str) -> bool:
        if ifname not in self._iface_up:
            try:
                info = await link_info(ifname, ipr=self.am.ipr)
            except Exception as e:
                log.warning("netlink link query for %s failed: %s", ifname, e)
                info = None
            self._iface_up[ifname] = info.oper_up if info is not None else _ioctl_up(ifname)
        return self._iface_up[ifname]

    async def _socket(self, key: SockKey, c: VrrpInstance, group: str, receive: bool
                      ) -> VrrpSocket4 | VrrpSocket6:
        """The shared socket for ``key``, opened (and joined to ``group``) on first use;
        ``receive`` registers it with the loop (a send-only VMAC socket is never read)."""
        sock = self.sockets.get(key)
        ifname, family, unicast = key
        if isinstance(sock, VrrpSocket4) and uses_ah(c) and len(sock._socks) < 2:
            sock.close()  # reopen with the AH socket as well
            self.sockets.pop(key, None)
            self._reading.discard(key)
            sock = None
        if sock is None:
            if family == 6:
                src = c.unicast_src_ip if c.unicast else c.mcast_src_ip
                sock = VrrpSocket6(ifname, group=group, unicast=unicast, src=src,
                                   hop_limit=c.unicast_ttl if unicast else 255,
                                   rcvbuf=c.kernel_rx_buf_size)
            else:
                ah = uses_ah(c) or any(uses_ah(i.cfg) for i in self.instances.values()
                                       if key in (i.tx_key, i.rx_key))
                sock = VrrpSocket4(ifname, group=group, unicast=unicast, ah=ah,
                                   rcvbuf=c.kernel_rx_buf_size)
            self.sockets[key] = sock
            log.info("VRRP sockpool: [interface(%s), family(IPv%d), %s, group(%s)]", ifname,
                     family, "unicast" if unicast else "multicast", "-" if unicast else group)
            for inst in self.instances.values():
                if inst.tx_key == key:
                    inst.sock = sock
        elif not unicast:
            sock.join(group)
        if receive and key not in self._reading:
            # Timers are re-armed once per socket wake-up, not once per advert.
            if isinstance(sock, VrrpSocket4):
                sock.start(functools.partial(self._on_packet, key), after_batch=self._rearm,
                           fast=functools.partial(self._on_repeat4, key))
            else:
                sock.start(functools.partial(self._on_packet, key), after_batch=self._rearm)
            self._reading.add(key)
        return sock

    def announcer(self, dev: str, mac: str | None) -> Announcer | None:
        key = (dev, mac)
        ann = self.announcers.get(key)
        if ann is None:
            try:
                ann = self.announcers[key] = Announcer(dev, mac)
            except OSError as e:
                log.warning("cannot send gratuitous ARP/NA on %s: %s", dev, e)
                return None
        return ann

    # ================================================================ static config
    async def _apply_static(self, add: bool, cfg: KeepalivedConfig | None = None) -> None:
        cfg = cfg or self.cfg
        if add:
            for a in cfg.static_addresses:
                await self.am.add_address(address_of(a))
            for r in cfg.static_routes:
                await self.am.add_route(route_of(r))
            for ru in cfg.static_rules:
                await self.am.add_rule(rule_of(ru))
        else:
            for ru in cfg.static_rules:
                await self.am.delete_rule(rule_of(ru))
            for r in cfg.static_routes:
                await self.am.delete_route(route_of(r))
            for a in cfg.static_addresses:
                await self.am.delete_address(address_of(a))

    def _tracked_static(self) -> list[tuple[str, str, Any]]:
        """(track_group, kind, spec) of every static entry that names a track_group."""
        out: list[tuple[str, str, Any]] = []
        for kind, xs in (("address", self.cfg.static_addresses),
                         ("route", self.cfg.static_routes), ("rule", self.cfg.static_rules)):
            out += [(x.track_group, kind, x) for x in xs if x.track_group]
        return out

    async def _watch_routes(self) -> None:
        """Route/rule deletion events, needed only while a static route or rule is tracked."""
        if self._route_watch is not None or not any(
                kind != "address" for _, kind, _ in self._tracked_static()):
            return
        from pykeepalived.daemon.route_watch import RouteRuleWatcher

        watch = RouteRuleWatcher(self._schedule_static_check)
        try:
            await watch.start()
        except Exception as e:
            log.warning("route/rule monitor unavailable (%s): static routes and rules are "
                        "checked on link and address events only", e)
            return
        self._route_watch = watch

    def _schedule_static_check(self) -> None:
        """Re-check the tracked static entries soon (coalesced: one check runs at a time and
        a burst of netlink events during it costs one more pass)."""
        if self._stopping or self.loop is None or not self._tracked_static():
            return
        if self._static_task is not None and not self._static_task.done():
            self._static_again = True
            return
        self._static_task = self.loop.create_task(self._static_loop())

    async def _static_loop(self) -> None:
        while True:
            self._static_again = False
            try:
                await self._check_static()
            except Exception:
                log.exception("checking static addresses/routes/rules failed")
            if not self._static_again or self._stopping:
                return

    async def _check_static(self, force: bool = False) -> None:
        """``track_group``: put back each tracked static address/route/rule that is gone; the
        instances of a group with an entry that cannot be put back go to FAULT (and leave it
        once every entry is back). Routes and rules are re-added each pass (EEXIST = there):
        the link monitor reports links and addresses, and the kernel drops routes exactly when
        a link or an address goes, so those events are the ones to react to."""
        failed = {g.name: False for g in self.cfg.track_groups}
        for group, kind, spec in self._tracked_static():
            if self._stopping:
                return
            if kind == "address":
                addr = address_of(spec)
                if addr.dev is not None and any(
                        a.ip == addr.ip for a in await self.am.list_addresses(addr.dev)):
                    continue
                res = await self.am.add_address(addr)
            elif kind == "route":
                res = await self.am.add_route(route_of(spec))
            else:
                res = await self.am.add_rule(rule_of(spec))
            if not res.ok:
                failed[group] = True
                log.error("Static %s %s (track_group %s) cannot be restored: %s", kind,
                          res.target, group, res.error)
            elif res.changed and not force:
                log.info("Restored deleted static %s %s", kind, res.target)
        now = self._now()
        for group, bad in failed.items():
            if not force and self._static_failed.get(group, False) == bad:
                continue
            if bad != self._static_failed.get(group, False):
                log.info("track_group %s: static entries %s", group,
                         "cannot be restored" if bad else "restored")
            self._static_failed[group] = bad
            for inst in list(self.instances.values()):
                if inst.router.set_track_state(TrackKind.INTERFACE, static_track_name(group),
                                               not bad, now):
                    self._drain(inst)
        self._rearm()

    # ================================================================ events in
    def _now(self) -> float:
        return self.loop.time() if self.loop is not None else time.monotonic()

    def _duplicate(self, pkt: Received) -> bool:
        """True for the second copy of a datagram read on both a VMAC and its base
        interface (both copies arrive in the same softirq, well within 2 ms)."""
        now = time.monotonic()
        key = hash((pkt.src, pkt.data))
        seen = self._recent.get(key)
        if len(self._recent) > 256:
            self._recent = {k: t for k, t in self._recent.items() if now - t < 0.002}
        self._recent[key] = now
        return seen is not None and now - seen < 0.002

    def _on_packet(self, key: SockKey, pkt: Received) -> None:
        vrid = peek_vrid(pkt.data, pkt.family)
        insts = self.by_vrid.get(key, {})
        inst = insts.get(vrid) if vrid is not None else None
        if inst is not None and inst.vmac is not None and self._duplicate(pkt):
            return
        if inst is not None and self.sb is not None and self.sb.path_packet(key, inst, pkt):
            return
        if inst is None:
            if self.sb is not None:
                self._foreign(key, pkt)
            if key in self._vmac_keys:
                return  # another VRID's advert flooded to this macvlan: not ours to judge
            if self.cfg.global_defs.log_unknown_vrids:
                log.info("Unknown VRID(%s) received on interface(%s). ignoring...",
                         vrid, key[0])
            return
        try:
            if pkt.family == 4:
                adv = decode_ipv4(pkt.data, expect=inst.expect)
            else:
                adv = decode_ipv6(pkt.data, src=pkt.src, dst=pkt.dst, hop_limit=pkt.ttl,
                                  expect=inst.expect, verify_checksum=False)
        except PacketError as e:
            stat = e.reason.stat
            if stat is not None:
                with contextlib.suppress(AttributeError):
                    inst.router.stats.bump(stat)
            log.warning("(%s) %s", inst.name, e.detail or e.reason.counter)
            return
        if inst.ah is not None and inst.router.state is State.BACKUP:
            inst.ah.backup_received()
        if self.sb is not None and adv.addresses != inst.router.settings.addresses:
            self.sb.foreign_advert(key[0], adv)
        router = inst.router
        now = self._now()
        if router.state is State.BACKUP and (t := self.meters.timing.get(inst.name)) is not None:
            t.received(now, router.master_adver_int)
        router.receive(adv, now)
        if (router.repeat_advert is adv and pkt.family == 4 and pkt.protocol == PROTO_VRRP
                and inst.vmac is None and inst.ah is None):
            self._rx_memo[inst.name] = (inst, inst.expect, adv, repeat_key(pkt.data))
        self._drain(inst)

    def _foreign(self, key: SockKey, pkt: Received) -> None:
        """An advert of a VRID we do not run: the split-brain conflict watch looks at it."""
        assert self.sb is not None
        try:
            if pkt.family == 4:
                adv = decode_ipv4(pkt.data, expect=None)
            else:
                adv = decode_ipv6(pkt.data, src=pkt.src, dst=pkt.dst, hop_limit=pkt.ttl,
                                  expect=None, verify_checksum=False)
        except PacketError:
            return
        self.sb.foreign_advert(key[0], adv)

    def _on_repeat4(self, key: SockKey, data: bytes) -> bool:
        """The backup's hot path: an IPv4 datagram equal to the last advert the instance's
        router took as a plain refresh, but for the IP ID and header checksum (which the kernel
        has verified), decodes to the same fields and passes the same checks for the same
        Expect (as decode_ipv4's own memo relies on), so the router is told it again without
        decoding. False sends the datagram down the full path (``_on_packet``). Never taken
        for AH, a VMAC (duplicate copies) or IPv6."""
        off = (data[0] & 0x0F) << 2
        if data[9] != PROTO_VRRP or len(data) < off + 8:
            return False
        insts = self.by_vrid.get(key)
        inst = insts.get(data[off + 1]) if insts is not None else None
        if inst is None:
            return False
        m = self._rx_memo.get(inst.name)
        # (only an instance without AH or a VMAC is ever remembered: see _on_packet)
        if m is None or m[0] is not inst or m[1] is not inst.expect or repeat_key(data) != m[3]:
            return False
        now = self._now()
        r = inst.router
        if r.state is State.BACKUP and (t := self.meters.timing.get(inst.name)) is not None:
            t.received(now, r.master_adver_int)
        if not r.receive_repeat(m[2], now):
            return False
        self._drain(inst)
        return True

    def _on_net_event(self, ev: NetEvent) -> None:
        now = self._now()
        if isinstance(ev, LinkEvent):
            self._schedule_static_check()  # routes and addresses die with links
            old = self._iface_up.get(ev.ifname)
            self._iface_up[ev.ifname] = ev.up
            if old == ev.up:
                return
            if old is not None or not ev.up:
                log.info("Netlink reports %s %s", ev.ifname, "up" if ev.up else "down")
            for inst in list(self.instances.values()):
                c = inst.cfg
                if (c.interface or self.cfg.global_defs.default_interface) == ev.ifname:
                    inst.router.set_interface_up(ev.up, now)
                sg = next((s for s in self.cfg.sync_groups if s.name == c.sync_group), None)
                names = {t.name for t in c.track_interfaces}
                if sg is not None:
                    names |= {t.name for t in sg.track_interfaces}
                if ev.ifname in names:
                    inst.router.set_track_state(TrackKind.INTERFACE, ev.ifname, ev.up, now)
                self._drain(inst)
            self._rearm()
        elif isinstance(ev, AddrEvent):
            if self.opts.address_monitoring:
                log.info("Netlink reports %s %s/%d on %s", "added" if ev.added else "removed",
                         ev.address, ev.prefixlen, ev.ifname)
            if ev.added or self._stopping:
                return
            self._schedule_static_check()
            for inst in self.instances.values():
                if inst.vipset and inst.router.state is State.MASTER and any(
                        a.ip == ev.address and (a.dev or inst.vip_if) == ev.ifname
                        for a in (*inst.vips, *inst.evips)):
                    inst.queue(functools.partial(inst.restore_vip, ev.address))

    def _on_tracker(self, ev: Any) -> None:
        now = self._now()
        kind = {"script": TrackKind.SCRIPT, "file": TrackKind.FILE,
                "process": TrackKind.PROCESS}.get(getattr(ev.kind, "value", ""))
        if kind is None:
            return
        for inst in list(self.instances.values()):
            r = inst.router
            if kind is TrackKind.FILE:
                changed = r.set_track_file(ev.name, int(ev.value), now)
            else:
                changed = r.set_track_state(kind, ev.name, bool(ev.up), now)
            if changed:
                self._drain(inst)
        self._rearm()

    # ================================================================ actions out
    def _drain(self, inst: Instance) -> None:
        """Execute every queued action of ``inst`` (and of its sync group and peers)."""
        group = inst.router.group
        if group is None:  # the common case, once per received advert: no lists, no flags
            for _ in range(4):
                acts = inst.router.actions()
                if not acts:
                    break
                for a in acts:
                    self._act(inst, a)
                if self.sb is not None:
                    self.sb.observe(inst, acts)
            self._touch(inst)
            return
        todo = [self.instances[m.name] for m in group.members if m.name in self.instances]
        for _ in range(4):  # group moves can queue more actions on members already drained
            busy = False
            for i in todo:
                acts = i.router.actions()
                busy |= bool(acts)
                for a in acts:
                    self._act(i, a)
                if self.sb is not None and acts:
                    self.sb.observe(i, acts)
            gacts = group.actions()
            busy |= bool(gacts)
            for a in gacts:
                self._act_group(a)
            if not busy:
                break
        for i in todo:
            self._touch(i)

    def _act(self, inst: Instance, a: Action) -> None:
        if isinstance(a, SendAdvert):
            inst.send_advert(a)
            if self.sb is not None:
                self.sb.send_paths(inst, a)
        elif isinstance(a, LogEvent):
            log.log(_LEVELS.get(a.level, logging.INFO), "%s", a.message)
        elif isinstance(a, StateChanged):
            inst.last_transition = time.time()
            self.meters.of(inst.name).changed(a.old.value, a.new.value, a.reason.value,
                                              inst.last_transition)
            sdnotify.report_vrrp_status(self.instances.values())
            if a.new is State.MASTER and inst.ah is not None:
                inst.ah.become_master()
            if self.syncd is not None:
                self.syncd.post(inst.cfg.name, a.new.value)
        elif isinstance(a, AcquireAddresses):
            inst.on_acquire(a)
        elif isinstance(a, ReleaseAddresses):
            inst.on_release(a, keep=self._stopping and self.opts.dont_release_vrrp)
        elif isinstance(a, SendGratuitous):
            inst.on_gratuitous(a)
        elif isinstance(a, AhResync):
            if inst.ah is not None:
                inst.ah.resync(a.peer_seq)
        elif isinstance(a, Notify):
            self._notify(inst.cfg, a)

    def _act_group(self, a: Action) -> None:
        if isinstance(a, LogEvent):
            log.log(_LEVELS.get(a.level, logging.INFO), "%s", a.message)
        elif isinstance(a, Notify) and self.notifier is not None:
            g = next((s for s in self.cfg.sync_groups if s.name == a.name), None)
            if g is not None and a.event is not NotifyEvent.STOP:
                try:
                    self.notifier.group_state(g, a.event.value)
                except Exception:
                    log.exception("group notify failed")

    def _notify(self, c: VrrpInstance, a: Notify) -> None:
        if self.notifier is None:
            return
        try:
            if a.event is NotifyEvent.STOP:
                self._stop_notified.append((c, a.priority))
            elif a.event is NotifyEvent.MASTER_RX_LOWER_PRI:
                self.notifier.master_rx_lower_pri(c, a.priority)
            elif a.event in (NotifyEvent.MASTER_PRIORITY, NotifyEvent.BACKUP_PRIORITY):
                state = "MASTER" if a.event is NotifyEvent.MASTER_PRIORITY else "BACKUP"
                self.notifier.priority_changed(c, state, a.priority)
            else:
                self.notifier.instance_state(c, a.event.value, a.priority)
        except Exception:
            log.exception("(%s) notify failed", c.name)

    # ================================================================ the timer
    def _touch(self, inst: Instance) -> None:
        """Record ``inst``'s next timer for the heap, so re-arming costs O(log n) at most.

        Invariant: every instance with a deadline has a heap entry at or before it. A deadline
        that moves later (a backup's, with every advert it receives) keeps its earlier entry,
        which ``_earliest`` moves up when it reaches the top: no push per received advert.
        """
        name = inst.name
        if self.instances.get(name) is not inst:
            return  # being stopped after _forget, or replaced by a rebuilt one of that name
        t = inst.router.next_timer()
        old = self._due.get(name)
        if old == t:
            return
        self._due[name] = t
        if t is not None and (old is None or t < old):
            heap = self._heap
            heapq.heappush(heap, (t, name))
            if len(heap) > 2 * len(self.instances) + 16:
                # Entries left behind by deadlines that moved earlier or went away are only
                # dropped when they reach the top: rebuild now and then (amortized O(1)).
                heap[:] = [(d, n) for n, d in self._due.items()
                           if d is not None and n in self.instances]
                heapq.heapify(heap)

    def _earliest(self) -> float | None:
        heap, due = self._heap, self._due
        while heap:
            t, name = heap[0]
            d = due.get(name)
            if d is None or name not in self.instances:
                heapq.heappop(heap)  # forgotten, or no deadline any more
            elif d == t:
                return t
            else:  # the deadline moved since this entry was pushed: move the entry with it
                heapq.heapreplace(heap, (d, name))
        return None

    def _rearm(self) -> None:
        if self.loop is None or self._stopping:
            return
        if self._timer is not None and self._timer_at is not None and (
                not self._heap or self._timer_at <= self._heap[0][0]):
            # The armed timer fires no later than needed (every deadline is at or after its
            # heap entry, so after the heap's top); _on_timer re-arms then. A backup's deadlines
            # only move later with each advert, so this keeps the loop from cancelling and
            # re-creating its timer, and from cleaning the heap, on every wake-up.
            return
        at = self._earliest()
        if self._timer is not None and self._timer_at is not None and (
                at is None or self._timer_at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            self._timer = self.loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        due = self._timer_at
        self._timer = None
        self._timer_at = None
        now = self._now()
        if due is not None and (stall := self.meters.stall.timer_ran(due, now)) is not None:
            log.info("%s", stall)
        while (t := self._earliest()) is not None and t <= now:
            _, name = heapq.heappop(self._heap)
            self._due.pop(name, None)
            inst = self.instances.get(name)
            if inst is None:
                continue
            if (nt := inst.router.next_timer()) is not None and nt <= now:
                inst.router.handle_timer(now)
            self._drain(inst)  # also re-records its next timer
        self._rearm()

    # ================================================================ signals
    def _on_hup(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        assert self.loop is not None
        self.loop.create_task(self._reload())

    async def _start_syncd(self) -> None:
        """(Re)start the IPVS sync thread when ``lvs_sync_daemon`` names an instance (IPVS only)."""
        if self.syncd is not None:
            await self.syncd.close()
            self.syncd = None
        if self.cfg.global_defs.lvs_sync_daemon is None:
            return  # without importing lvs (and check.table) at all
        from pykeepalived.lvs.syncd import SyncDaemonFollower

        self.syncd = SyncDaemonFollower.from_global_defs(self.cfg.global_defs)
        if self.syncd is not None:
            await self.syncd.start()
            for inst in self.instances.values():
                self.syncd.post(inst.cfg.name, inst.router.state.value)

    async def _reload(self) -> None:
        self._reloading = True
        try:
            while True:
                self._reload_again = False
                await self._reload_once()
                if not self._reload_again:
                    break
        except Exception:
            log.exception("Reload failed")
        finally:
            self._reloading = False
            sdnotify.report_reloaded()

    async def _reload_once(self) -> None:
        log.info("Reloading")
        began = time.monotonic()
        parsed = load_config(self.opts)
        errors = config_errors(parsed)
        self.meters.events.config_loaded(not errors, time.time())
        if errors:
            for e in errors:
                log.error("%s", e)
            log.error("Reload of configuration failed: %d error(s); keeping the running "
                      "configuration", len(errors))
            return
        old_cfg, new_cfg = self.cfg, parsed.config
        now = self._now()
        old_ids = {c.name: instance_identity(c, old_cfg) for c in old_cfg.vrrp_instances}
        keep: list[str] = []
        drop: list[str] = []
        for c in old_cfg.vrrp_instances:
            n = new_cfg.instance(c.name)
            if n is not None and instance_identity(n, new_cfg) == old_ids[c.name]:
                keep.append(c.name)
            else:
                drop.append(c.name)
        carry: list[str] = []
        for name in drop:
            inst = self.instances.get(name)
            n = new_cfg.instance(name)
            if inst is not None and n is not None and inst.router.state is State.MASTER \
                    and _same_router(inst.cfg, n):
                carry.append(name)  # a changed MASTER stays MASTER (keepalived's reload)
        drop = [n for n in drop if n not in carry]
        added = [c for c in new_cfg.vrrp_instances
                 if c.name not in keep and c.name not in carry]
        for name in drop:
            inst = self.instances.get(name)
            if inst is None:
                continue
            removed = new_cfg.instance(name) is None
            log.info("(%s) %s: stopping this instance", name,
                     "removed from the configuration" if removed else "configuration changed")
            prio = inst.router.effective_priority  # before shutdown: keepalived reports it
            inst.router.shutdown(now)
            self._drain(inst)
            # Not a process stop: no STOP notify; a removed instance is reported as DELETED
            # (the notifier turns that into FAULT unless notify_deleted is set, as keepalived).
            self._stop_notified = [x for x in self._stop_notified if x[0].name != name]
            if removed and self.notifier is not None:
                with contextlib.suppress(Exception):
                    self.notifier.instance_state(inst.cfg, "DELETED", prio)
            await inst.drain_ops()
            await inst.stop_worker()
            self._forget(inst)
        self.cfg = new_cfg
        for name in keep:
            inst = self.instances[name]
            c2 = new_cfg.instance(name)
            if c2 is not None:
                inst.cfg = c2  # same identity; notify scripts and other non-VRRP fields follow
        await self._apply_static(add=False, cfg=_static_only_in(old_cfg, new_cfg))
        await self._apply_static(add=True, cfg=new_cfg)
        if self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.reload(new_cfg.global_defs)
        for name in carry:
            changed = new_cfg.instance(name)
            if changed is not None:
                await self._carry_master(new_cfg, changed)
        await self._build(new_cfg, added)
        if old_cfg.global_defs.lvs_sync_daemon != new_cfg.global_defs.lvs_sync_daemon:
            await self._start_syncd()
        await self._check_static(force=True)
        await self._watch_routes()
        await self._start_trackers(reload=True)
        now = self._now()
        for c in added:
            inst2 = self.instances.get(c.name)
            if inst2 is not None:
                inst2.router.start(now)
                self._drain(inst2)
        self._close_unused_sockets()
        await self._restart_guards()
        self._rearm()
        self._observe_config()
        self.meters.events.reloaded(time.monotonic() - began)
        log.info("Reload finished: %d instance(s) kept, %d changed and kept MASTER, "
                 "%d restarted or removed, %d started", len(keep), len(carry), len(drop),
                 len(added) - sum(1 for c in added if c.name in drop))

    async def _restart_guards(self) -> None:
        """Split-brain guards follow the reload: the old ones stop (their lease revoked), new
        ones start from the instances' current states (a kept master takes its key again)."""
        if self.sb is not None:
            await self.sb.shutdown()
            self.sb = None
        if splitbrain.wanted(self.cfg):
            self.sb = SplitBrainShell(self)
            await self.sb.start(self.cfg)

    async def _carry_master(self, cfg: KeepalivedConfig, c: VrrpInstance) -> None:
        """Replace a MASTER's router by one built from its changed config without leaving
        MASTER: no priority-0 advert, the addresses kept in the new config never leave the
        interface, only the ones the new config dropped are removed. The old router keeps
        advertising until the new one takes over in the same loop iteration."""
        old = self.instances[c.name]
        g = old.router.group
        if g is not None and old.router in g.members:
            g.members.remove(old.router)
        try:
            await self._build_one(cfg, c)
        except Exception as e:
            log.error("(%s) cannot rebuild instance: %s", c.name, e)
        new = self.instances.get(c.name)
        if new is None or new is old:
            old.router.shutdown(self._now())
            self._drain(old)
            await old.drain_ops()
            await old.stop_worker()
            self._forget(old)
            return
        now = self._now()
        new.ipid = old.ipid
        if new.ah is not None and old.ah is not None:
            new.ah.seq = old.ah.seq
        new.router.start(now)
        new.router.actions()  # its start-up release and "(init)" lines describe nothing here
        log.info("(%s) configuration changed: staying MASTER", c.name)
        new.router.force_master(now)
        self._drain(new)
        self._rearm()
        kept_addr = {(a.ip, a.dev) for a in (*new.vips, *new.evips)}
        stale = [a for a in (*old.vips, *old.evips) if (a.ip, a.dev) not in kept_addr]
        stale_routes = [r for r in old.routes if r not in new.routes]
        stale_rules = [r for r in old.rules if r not in new.rules]

        async def cleanup() -> None:
            for ru in stale_rules:
                await self.am.delete_rule(ru)
            for r in stale_routes:
                await self.am.delete_route(r)
            for a in stale:
                await self.am.delete_address(a, old.vip_if)

        new.queue(cleanup)
        await old.drain_ops()
        await old.stop_worker()

    def _forget(self, inst: Instance) -> None:
        self.instances.pop(inst.name, None)
        self._due.pop(inst.name, None)
        self._rx_memo.pop(inst.name, None)  # the repeat-advert fast path's last accepted advert
        for by in self.by_vrid.values():
            if by.get(inst.cfg.vrid) is inst:
                del by[inst.cfg.vrid]
        g = inst.router.group
        if g is not None and inst.router in g.members:
            g.members.remove(inst.router)
            if not g.members:
                self.groups.pop(g.name, None)

    def _close_unused_sockets(self) -> None:
        used = {k for i in self.instances.values() for k in (i.tx_key, i.rx_key)}
        for key in list(self.sockets):
            if key not in used:
                self.sockets.pop(key).close()
                self.by_vrid.pop(key, None)
                self._reading.discard(key)

    def _observe_config(self) -> None:
        """Stall threshold and per-instance meters follow the configured instances."""
        self.meters.configure(((n, i.cfg.version, i.router.settings.advert_int)
                               for n, i in self.instances.items()),
                              self.cfg.global_defs.min_auto_priority_delay)

    async def _status_doc(self) -> bytes:
        return await vrrp_status(self, self.meters)

    def snapshots(self) -> list[dumps.InstanceSnapshot]:
        now = self.loop.time() if self.loop is not None else None
        return [dump_snapshot.enrich(i.snapshot(), i, self.cfg, now)
                for i in self.instances.values()]

    def _dump(self, what: str, path: str, text: str) -> None:
        log.info("Printing VRRP %s for process(%d) on signal", what, os.getpid())
        try:
            dumps.write_file(path, text)
        except OSError as e:
            log.error("Cannot write %s: %s", path, e)

    def write_data(self) -> None:
        g = self.cfg.global_defs
        lines = [f" Router ID = {g.router_id or socket.gethostname()}",
                 f" VRRP IPv4 mcast group = {g.vrrp_mcast_group4}",
                 f" VRRP IPv6 mcast group = {g.vrrp_mcast_group6}",
                 f" VRRP default protocol version = {g.vrrp_version}",
                 f" VRRP strict mode = {str(g.vrrp_strict).lower()}"]
        self._dump("data", _instance_path(g.state_dump_file, g.data_use_instance,
                                          self.cfg.instance_name),
                   dumps.format_data(self.snapshots(), lines,
                                     dump_snapshot.scripts(self.cfg, self.instances.values())))

    def write_stats(self) -> None:
        g = self.cfg.global_defs
        self._dump("stats", _instance_path(g.stats_dump_file, g.data_use_instance,
                                           self.cfg.instance_name),
                   dumps.format_stats(self.snapshots()))

    def log_tasks(self) -> None:
        """TDUMP (SIGRTMAX): keepalived logs its threads; we log the loop's tasks and timers."""
        log.info("Dumping event loop: %d task(s), next VRRP timer in %s", len(asyncio.all_tasks()),
                 "-" if self._timer_at is None or self.loop is None
                 else f"{self._timer_at - self.loop.time():.6f} s")
        for t in asyncio.all_tasks():
            log.info("  task %s", t.get_coro())
        for inst in self.instances.values():
            nt = inst.router.next_timer()
            log.info("  (%s) %s, next timer %s, %d kernel operation(s) queued", inst.name,
                     inst.router.state.value,
                     "-" if nt is None or self.loop is None else f"{nt - self.loop.time():.6f} s",
                     len(inst.ops))

    def write_stats_clear(self) -> None:
        self.write_stats()
        for inst in self.instances.values():
            inst.router.stats = VrrpStats()

    def write_json(self) -> None:
        g = self.cfg.global_defs
        self._dump("JSON", _instance_path(g.json_dump_file, g.data_use_instance,
                                          self.cfg.instance_name),
                   dumps.format_json(self.snapshots(), g.json_version,
                                     dump_snapshot.track_processes(self.cfg, self.trackers)))

    # ================================================================ stop
    async def _shutdown(self) -> None:
        """keepalived's stop: notify STOP, priority-0 adverts, then rules, routes, addresses."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._route_watch is not None:
            with contextlib.suppress(Exception):
                await self._route_watch.stop()
        if self._static_task is not None:
            self._static_task.cancel()
            with contextlib.suppress(BaseException):
                await self._static_task
        if self.sb is not None:
            await self.sb.shutdown()
            self.sb = None
        now = self._now()
        for inst in list(self.instances.values()):
            inst.router.shutdown(now)
            self._drain(inst)
        if self.syncd is not None:
            with contextlib.suppress(Exception):
                await self.syncd.close()
            self.syncd = None
        if self.notifier is not None:
            try:
                groups = [g for g in self.cfg.sync_groups if g.name in self.groups]
                await asyncio.wait_for(self.notifier.shutdown(self._stop_notified, groups), 2.0)
            except Exception:
                log.exception("STOP notifications failed")
        for inst in self.instances.values():
            await inst.drain_ops()
        if not self.opts.dont_release_vrrp:
            await self._apply_static(add=False)
            for inst in self.instances.values():
                if inst.vmac is not None:
                    if self.firewall is not None:
                        with contextlib.suppress(Exception):
                            await self.firewall.remove_vmac(inst.vmac.ifname)
                    await delete_vmac(self.am, inst.vmac)
        if self.firewall is not None:
            with contextlib.suppress(Exception):
                await self.firewall.teardown()
        if self.trackers is not None:
            with contextlib.suppress(Exception):
                await self.trackers.stop()
        if self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.close()
        for inst in self.instances.values():
            await inst.stop_worker()
        if self.monitor is not None:
            with contextlib.suppress(Exception):
                await self.monitor.stop()

    def _close_all(self) -> None:
        for s in self.sockets.values():
            with contextlib.suppress(Exception):
                s.close()
        self.sockets.clear()
        for a in self.announcers.values():
            with contextlib.suppress(Exception):
                a.close()
        self.announcers.clear()
        with contextlib.suppress(Exception):
            self.am.close()


def _ioctl_up(ifname: str) -> bool:
    """IFF_UP and IFF_RUNNING from SIOCGIFFLAGS: the fallback when netlink gives no answer
    (False when the interface does not exist)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sH", ifname.encode()[:15], 0)
            flags = struct.unpack_from("H", fcntl.ioctl(s.fileno(), 0x8913, req), 16)[0]
    except OSError:
        return False
    return bool(flags & 0x1) and bool(flags & 0x40)


def _same_router(a: VrrpInstance, b: VrrpInstance) -> bool:
    """Whether ``b`` can take over ``a``'s role on the wire without peers noticing a change."""
    return (a.vrid, a.interface, a.family, a.version, a.unicast, a.use_vmac is None) == (
        b.vrid, b.interface, b.family, b.version, b.unicast, b.use_vmac is None)


def _instance_path(path: str, use_instance: bool, instance: str | None) -> str:
    """``data_use_instance``: keepalived inserts ``_INSTANCE`` before the file extension."""
    if not use_instance or not instance:
        return path
    head, dot, ext = path.rpartition(".")
    return f"{head}_{instance}.{ext}" if dot else f"{path}_{instance}"


def _static_only_in(old: KeepalivedConfig, new: KeepalivedConfig) -> KeepalivedConfig:
    """A config holding the static addresses/routes/rules of ``old`` that ``new`` dropped."""
    def strip(xs: tuple[Any, ...]) -> list[Any]:
        from pykeepalived.daemon.settings import _strip_lines

        return [_strip_lines(x) for x in xs]

    na, nr, nru = strip(new.static_addresses), strip(new.static_routes), strip(new.static_rules)
    return KeepalivedConfig(
        static_addresses=tuple(a for a in old.static_addresses if _s(a) not in na),
        static_routes=tuple(r for r in old.static_routes if _s(r) not in nr),
        static_rules=tuple(r for r in old.static_rules if _s(r) not in nru),
    )


def _s(x: Any) -> Any:
    from pykeepalived.daemon.settings import _strip_lines

    return _strip_lines(x)
