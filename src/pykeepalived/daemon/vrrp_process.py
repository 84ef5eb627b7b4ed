"""The VRRP child: one asyncio loop moving bytes and events between the kernel and the endpoints.

Theory of operation: the config is mapped onto one ``VrrpEndpoint`` per instance
(``vrrp.endpoint``, sans-IO: codec checks, counters, AH and IP ID state, router, repeat-advert
memo) wrapped in an ``Instance`` (``daemon.instance``: its kernel-work queue). Raw sockets are
opened per (interface, family, unicast/multicast) and shared by the instances on them; each
datagram read goes, by its VRID, to its instance's endpoint. After every call into an endpoint
its datagrams are written at once and its events carried out (logs, notifies) or queued on the
instance's ordered kernel-work queue (addresses, routes, rules, firewall, GARP/NA). One asyncio
timer is armed at the earliest deadline of all endpoints (``daemon.schedule``).

Netlink events drive interface state (instance interface and ``track_interface``) and put back
a VIP deleted by hand while MASTER; tracker events (``track.Trackers``) change priorities; static
``track_group`` entries are watched by ``daemon.static_track``. Signals: HUP reloads by diff
(planned by ``daemon.reload``), TERM/INT stop gracefully, USR1/USR2/SIGRTMIN+2/SIGRTMAX-1 write
keepalived's data/stats/JSON files.

Everything the process does to the kernel goes through the ``Kernel`` facade it is given
(``daemon.kernel``), and every time it reads comes from its ``clock`` (the loop's monotonic
clock unless given): a test can run a reload or a receive path against an in-memory kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import logging
import os
import resource
import signal
import socket
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from pykeepalived.config import load
from pykeepalived.config.model import KeepalivedConfig, ParseResult, Severity, VrrpInstance
from pykeepalived.daemon import dump_snapshot, dumps, process, sdnotify
from pykeepalived.daemon.exits import EXIT_CRASH, EXIT_FATAL, EXIT_OK
from pykeepalived.daemon.instance import (
    Instance,
    SockKey,
    address_vmac_parents,
    destinations,
    extra_if_addresses,
    instance_addresses,
)
from pykeepalived.daemon.kernel import Kernel, LinuxKernel, SocketSpec, VrrpSocket
from pykeepalived.daemon.link_debounce import LinkDebounce, debounce_delays
from pykeepalived.daemon.log import setup_logging
from pykeepalived.daemon.offloop import off_loop
from pykeepalived.daemon.reload import ReloadPlan, StaticEntries, plan_reload
from pykeepalived.daemon.schedule import TimerSchedule
from pykeepalived.daemon.scheduling import ProcessSettings, Scheduler
from pykeepalived.daemon.settings import (
    address_of,
    auth_of,
    polled_interfaces,
    route_of,
    router_settings,
    rule_of,
    rx_buf_share,
    src_track_name,
    startup_delay,
    static_track_name,
    tracked_src_ip,
    wire_settings,
)
from pykeepalived.daemon.signals import unblock_all
from pykeepalived.daemon.static_track import StaticTrackGroups
from pykeepalived.net.addresses import IpAddress
from pykeepalived.net.firewall import DEFAULT_TABLE
from pykeepalived.net.linkbeat import LinkbeatPoller
from pykeepalived.net.links import AddrEvent, LinkEvent, NetEvent
from pykeepalived.net.rcvbuf import RcvBuf
from pykeepalived.net.sockets import Received
from pykeepalived.net.vmac import Vmac, vmac_name, xmit_interface
from pykeepalived.notify.fifo import reload_state_lines
from pykeepalived.observe.control import StatusServer, socket_path
from pykeepalived.observe.vrrp_view import VrrpMeters, vrrp_status
from pykeepalived.options import Options
from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    Action,
    LogEvent,
    Notify,
    NotifyEvent,
    ReleaseAddresses,
    SendGratuitous,
    State,
    StateChanged,
)
from pykeepalived.vrrp.auth import AuthType
from pykeepalived.vrrp.endpoint import DatagramMeta, Event, VrrpEndpoint
from pykeepalived.vrrp.packet import peek_vrid
from pykeepalived.vrrp.router import late_takeover
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import TrackKind

if TYPE_CHECKING:
    from pykeepalived.daemon.splitbrain import SplitBrainShell
    from pykeepalived.lvs.syncd import SyncDaemonFollower
    from pykeepalived.track.events import TrackerChanged

log = logging.getLogger("pykeepalived")

_LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def run_vrrp_child(opts: Options) -> int:
    setup_logging(opts, "vrrp")
    process.set_parent_death_signal()
    process.write_pid(opts.vrrp_pid_file)
    try:
        return asyncio.run(VrrpProcess(opts).run())
    except Exception:
        log.exception("VRRP child failed")
        return EXIT_CRASH
    finally:
        process.remove_pid(opts.vrrp_pid_file)


def load_config(opts: Options) -> ParseResult:
    return load(opts.config_file, config_id=opts.config_id, all_config=opts.all_config)


def config_errors(parsed: ParseResult) -> list[str]:
    return [m.format() for m in parsed.messages if m.severity >= Severity.ERROR]


def uses_ah(c: VrrpInstance) -> bool:
    return auth_of(c).type == AuthType.AH


class VrrpProcess:
    """The VRRP child. ``kernel``: the kernel facade (``LinuxKernel`` unless given);
    ``clock``: the monotonic clock the endpoints' ``now`` comes from (the loop's unless given;
    the loop timer is armed on the loop's clock, so a test with its own clock runs the due
    timers itself: ``run_due_timers``); ``wall``: the time of day, for the dumps."""

    def __init__(self, opts: Options, *, kernel: Kernel | None = None,
                 clock: Callable[[], float] | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.opts = opts
        self.kernel: Kernel = kernel if kernel is not None else LinuxKernel()
        self._given_clock = clock
        self.clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self.wall = wall
        self.cfg = KeepalivedConfig()
        self.instances: dict[str, Instance] = {}
        self.groups: dict[str, SyncGroup] = {}
        self.sockets: dict[SockKey, VrrpSocket] = {}
        self.by_vrid: dict[SockKey, dict[int, Instance]] = {}
        # track_src_ip: (interface, address) -> the instances whose source it is
        self._src_tracked: dict[tuple[str, str], set[str]] = {}
        # each instance's share of its socket's receive buffer (settings.rx_buf_share)
        self._rx_sizes: dict[SockKey, dict[str, int]] = {}
        self.scheduler: Scheduler | None = None
        self._vmac_keys: set[SockKey] = set()
        self.schedule = TimerSchedule()
        self.static = StaticTrackGroups(self.kernel, self._on_static_groups)
        self.trackers: Any = None
        self.notifier: Any = None
        self.syncd: SyncDaemonFollower | None = None  # lvs_sync_daemon follows one instance
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._stop = asyncio.Event()
        self._stopping = False
        self._reloading = False
        self._reload_task: asyncio.Task[None] | None = None
        self._reading: asyncio.Future[Any] | None = None  # the reload's parse, off the loop
        self._reload_again = False
        self._stop_notified: list[tuple[VrrpInstance, int]] = []
        self._iface_up: dict[str, bool] = {}
        self._ifindex: dict[str, int] = {}  # interfaces with VRRP sockets: their index
        self._debounce: LinkDebounce | None = None  # only with interface_up_down_delays
        self._late_limit: float | None = None  # timer_expired_backup: see _timers_late
        self._linkbeat: LinkbeatPoller | None = None  # only with linkbeat polling
        self._waiting: dict[str, str] = {}  # dynamic_interfaces: instance -> missing interface
        self._sources: dict[str, str | None] | None = None  # primary IPv4 per interface,
        # during one _build pass only
        self._reopening: set[asyncio.Task[None]] = set()
        self.sb: SplitBrainShell | None = None  # split-brain guards, when configured
        self.meters = VrrpMeters(wall())  # observability: observe.vrrp_view
        self._status: StatusServer | None = None
        self._igmp_restore = False  # disable_local_igmp turned link-local reports off

    def now(self) -> float:
        return self.clock()

    # ================================================================ life cycle
    async def run(self) -> int:
        """The child's whole life: start, serve until TERM/INT, stop gracefully."""
        if not self._configure():
            return EXIT_FATAL
        self._scheduling()
        self._install_signals()
        try:
            await self._bring_up()
            if not self._stop.is_set():
                assert self.loop is not None
                self._status = StatusServer(socket_path(self.opts.vrrp_pid_file),
                                            self._status_doc)
                await self._status.start()
                sdnotify.vrrp_started(self.loop, self.instances.values)
                gc.collect()
                gc.freeze()  # fewer and shorter collections: timers at 10 ms must not stall
                process.release_free_heap()
            await self._stop.wait()
            await self._reload_settled()
            await self.shutdown()
        finally:
            if self._status is not None:
                await self._status.close()
            self.close()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        log.info("Stopped - used %.6f user time, %.6f system time", ru.ru_utime, ru.ru_stime)
        return EXIT_OK

    def _install_signals(self) -> None:
        """The loop's signal handlers. Until now TERM/INT raised ``process.Stopped`` (nothing
        to undo yet: the file was only read) and the other signals stayed blocked (pending)
        since the parent forked this child: from here on a TERM is a request the bring-up,
        a reload and the wait all act on at their next step."""
        assert self.loop is not None
        self.loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        if not self.opts.ignore_sigint:
            self.loop.add_signal_handler(signal.SIGINT, self.request_stop)
        self.loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        self.loop.add_signal_handler(signal.SIGUSR1, self.write_data)
        self.loop.add_signal_handler(signal.SIGUSR2, self.write_stats)
        self.loop.add_signal_handler(signal.SIGRTMIN + 2, self.write_json)
        self.loop.add_signal_handler(signal.SIGRTMAX - 1, self.write_stats_clear)
        self.loop.add_signal_handler(signal.SIGRTMAX, self.log_tasks)
        unblock_all()

    def request_stop(self) -> None:
        """TERM/INT: stop as soon as the step under way is done. A reload still reading the
        file is abandoned at once (its thread is a daemon one: it does not hold the exit)."""
        self._stop.set()
        if self._reading is not None and not self._reading.done():
            self._reading.set_result(None)

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    async def start(self) -> bool:
        """``run`` without the signal handlers and the wait: False when the config cannot run
        (stop with ``shutdown`` then ``close``)."""
        if not self._configure():
            return False
        await self._bring_up()
        return True

    def _configure(self) -> bool:
        self.loop = asyncio.get_running_loop()
        if self._given_clock is None:
            self.clock = self.loop.time
        parsed = process.handed_parse(self.opts.config_fd) or load_config(self.opts)
        for m in parsed.messages:
            if m.severity == Severity.INFO:
                continue  # notes: the parent logs them, once per start and reload
            level = logging.ERROR if m.severity >= Severity.ERROR else logging.WARNING
            log.log(level, "%s", m.format())
        if parsed.worst == Severity.FATAL:
            log.error("Configuration has fatal errors: VRRP child exiting")
            return False
        self.cfg = parsed.config
        self.meters.events.config_loaded(True, self.wall())
        gd = self.cfg.global_defs
        self.kernel.set_netlink_rcvbufs(
            RcvBuf(gd.vrrp_netlink_cmd_rcv_bufs, gd.vrrp_netlink_cmd_rcv_bufs_force),
            RcvBuf(gd.vrrp_netlink_monitor_rcv_bufs, gd.vrrp_netlink_monitor_rcv_bufs_force))
        self.static.configure(self.cfg)
        return True

    async def _bring_up(self) -> None:
        """Open, build and start every instance. A TERM meanwhile ends it after the step
        under way (one instance at most): ``shutdown`` then undoes what was done."""
        steps: list[Callable[[], Any]] = [
            self.kernel.open, self._igmp_off,
            functools.partial(self.kernel.watch_links, self._on_net_event),
            self._start_notifier,
            functools.partial(self._apply_static, True, StaticEntries.of(self.cfg)),
            functools.partial(self._build, self.cfg, list(self.cfg.vrrp_instances)),
            self._link_timing, self._start_linkbeat,
            self._start_syncd, functools.partial(self.static.check, force=True),
            self.static.watch_routes, self._start_trackers, self._start_guards]
        for step in steps:
            if self._stop.is_set():
                return
            await step()
        self._observe_config()
        delay = self._startup_delay()
        if delay > 0:
            log.info("Delaying startup for %g seconds", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        if self._stop.is_set():
            return
        now = self.now()
        for inst in list(self.instances.values()):
            inst.endpoint.start(now)
            self._flush(inst)
        self._rearm()
        log.info("Startup complete")

    def _startup_delay(self) -> float:
        """``vrrp_startup_delay``, or longer while the system has been up for less than
        ``vrrp_delay_after_boot`` (/proc/uptime is read only when that is set)."""
        g = self.cfg.global_defs
        if g.vrrp_delay_after_boot <= 0:
            return g.vrrp_startup_delay
        delay = startup_delay(g, process.read_uptime())
        if delay > g.vrrp_startup_delay and delay >= 60:
            log.info("The vrrp_wait_after_boot is very large - %d seconds", int(delay))
        return delay

    def _scheduling(self) -> None:
        self.scheduler = Scheduler(ProcessSettings.of(self.cfg.global_defs, "vrrp"))
        self.scheduler.apply()
        assert self.loop is not None
        self.scheduler.watch(self.loop)

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
                self.syncd.post(inst.cfg.name, inst.endpoint.state.value)

    # ================================================================ building instances
    async def _build(self, cfg: KeepalivedConfig, insts: list[VrrpInstance]) -> None:
        """Create instances (endpoints, VMACs, sockets) for ``insts``; does not start them."""
        g = cfg.global_defs
        self._sources = {}
        try:
            for c in insts:
                if self._stop.is_set():
                    break  # what was built is stopped by shutdown; the rest never started
                try:
                    await self._build_one(cfg, c)
                except Exception as e:
                    log.error("(%s) cannot start instance: %s", c.name, e)
        finally:
            self._sources = None
        # keepalived builds its nftables tables for VMACs too, even without no_accept: the
        # VMAC's IGMP/MLD reports leave through its parent (vmac_map).
        k = self.kernel
        if not k.has_firewall and any(i.uses_firewall or i.vmac is not None
                                      for i in self.instances.values()):
            await k.setup_firewall(g.nftables or DEFAULT_TABLE, g.nftables_priority,
                                   g.nftables_counters, g.nftables_ifindex)
        if k.has_firewall:
            for i in self.instances.values():
                if i.vmac is not None:
                    res = await k.firewall_add_vmac(i.vmac.ifname, i.vmac.parent, i.vmac.family)
                    if not res.ok:
                        log.warning("(%s) nftables for VMAC %s: %s", i.name, i.vmac.ifname,
                                    res.error)

    async def _build_one(self, cfg: KeepalivedConfig, c: VrrpInstance) -> None:
        ifname = c.interface or cfg.global_defs.default_interface
        if cfg.global_defs.dynamic_interfaces and not self.kernel.link_exists(ifname):
            self._build_waiting(cfg, c, ifname)
            return
        vmac, vip_if, xmit_if = await self._vmac(cfg, c, ifname)
        group, dsts = destinations(c, cfg)
        # With a VMAC, adverts leave from the macvlan (its MAC is the point) and are read on
        # both the macvlan and the base interface: which one the kernel delivers a peer's
        # advert to depends on the macvlan mode and on whether its source MAC is one of our
        # own macvlans (every peer's VMAC is ours). The endpoint drops the second copy.
        tx_key: SockKey = (xmit_if, c.family, c.unicast)
        rx_key: SockKey = (ifname, c.family, c.unicast)
        sock = await self._socket(tx_key, c, group)
        if rx_key != tx_key:
            self._vmac_keys.add(tx_key)
            await self._socket(rx_key, c, group)
        if c.family == 6:
            src = c.unicast_src_ip or c.mcast_src_ip or sock.src or "::"
        else:
            src = (c.unicast_src_ip or c.mcast_src_ip or await self._source4(ifname)
                   or "0.0.0.0")
        sg_cfg = cfg.sync_group(c.sync_group)
        now = self.now()
        vips, evips, routes, rules = instance_addresses(c, vip_if, ifname)
        addr_vmacs: tuple[Vmac, ...] = ()
        if wanted := address_vmac_parents(c, ifname):
            vips, evips, addr_vmacs = await self._address_vmacs(cfg, c, wanted, vips, evips)
        extra = extra_if_addresses(c, vips, evips, vip_if,
                                   self._vmac_names(cfg, vmac) | {v.ifname for v in addr_vmacs})
        endpoint = VrrpEndpoint(router_settings(c, cfg, src, sg_cfg, extra),
                                wire_settings(c, src, group, dsts, vmac is not None),
                                now, self._sync_group(sg_cfg))
        inst = Instance(cfg=c, endpoint=endpoint, port=self.kernel, xmit_if=xmit_if,
                        vip_if=vip_if, vips=vips, evips=evips, routes=routes, rules=rules,
                        vmac=vmac, addr_vmacs=addr_vmacs, sock=sock, tx_key=tx_key,
                        rx_key=rx_key)
        for k in {rx_key, tx_key}:
            by = self.by_vrid.setdefault(k, {})
            if c.vrid in by and by[c.vrid].name != c.name:
                raise ValueError(f"VRID {c.vrid} already used by {by[c.vrid].name} on {k[0]}")
            by[c.vrid] = inst
        self.instances[c.name] = inst
        inst.start_worker()
        await self._initial_links(inst, ifname, src, sg_cfg, now)

    def _sync_group(self, sg_cfg: Any) -> SyncGroup | None:
        if sg_cfg is None:
            return None
        group = self.groups.get(sg_cfg.name)
        if group is None:
            group = self.groups[sg_cfg.name] = SyncGroup(sg_cfg.name)
        return group

    def _build_waiting(self, cfg: KeepalivedConfig, c: VrrpInstance, ifname: str) -> None:
        """``dynamic_interfaces``: ``c``'s interface does not exist yet. The instance is made
        without sockets and held in FAULT (its interface is down, as keepalived has it); once
        the interface is up it is built again on it (``_interface_appeared``)."""
        log.info("(%s) interface %s does not exist yet: waiting for it", c.name, ifname)
        src = "::" if c.family == 6 else "0.0.0.0"
        group, dsts = destinations(c, cfg)
        sg_cfg = cfg.sync_group(c.sync_group)
        now = self.now()
        endpoint = VrrpEndpoint(router_settings(c, cfg, src, sg_cfg),
                                wire_settings(c, src, group, dsts, False), now,
                                self._sync_group(sg_cfg))
        vips, evips, routes, rules = instance_addresses(c, ifname, ifname)
        key: SockKey = (ifname, c.family, c.unicast)
        inst = Instance(cfg=c, endpoint=endpoint, port=self.kernel, xmit_if=ifname,
                        vip_if=ifname, vips=vips, evips=evips, routes=routes, rules=rules,
                        tx_key=key, rx_key=key)
        self.instances[c.name] = inst
        self._waiting[c.name] = ifname
        inst.start_worker()
        endpoint.set_interface_up(False, now)

    async def _interface_appeared(self, ifname: str) -> None:
        """The interface instances were waiting for is up: build them on it and start."""
        for name in [n for n, i in self._waiting.items() if i == ifname]:
            del self._waiting[name]
            old, c = self.instances.get(name), self.cfg.instance(name)
            if old is None or c is None:
                continue
            await old.stop_worker()
            self._forget(old)
            try:
                await self._build_one(self.cfg, c)
            except Exception as e:
                log.error("(%s) cannot start instance: %s", name, e)
                continue
            inst = self.instances[name]
            inst.endpoint.start(self.now())
            self._flush(inst)
        self._late_limits()
        self._rearm()

    async def _address_vmacs(self, cfg: KeepalivedConfig, c: VrrpInstance,
                             wanted: dict[str, tuple[str, int]], vips: tuple[IpAddress, ...],
                             evips: tuple[IpAddress, ...]
                             ) -> tuple[tuple[IpAddress, ...], tuple[IpAddress, ...],
                                        tuple[Vmac, ...]]:
        """``use_vmac_addr``: make the VMAC of each (interface, family) in ``wanted`` (named
        with ``vmac_addr_prefix``, else ``vmac_prefix``) and move its addresses onto it."""
        g = cfg.global_defs
        prefix = g.vmac_addr_prefix or g.vmac_prefix
        mac = c.use_vmac.mac if c.use_vmac is not None else None
        made: dict[tuple[str, int], Vmac] = {}
        for parent, family in dict.fromkeys(wanted.values()):
            made[(parent, family)] = await self.kernel.setup_vmac(Vmac(
                parent=parent, vrid=c.vrid, family=family, mac=mac, prefix=prefix))

        def on(a: IpAddress) -> IpAddress:
            where = wanted.get(a.ip)
            return a if where is None else dataclasses.replace(a, dev=made[where].ifname)

        return (tuple(on(a) for a in vips), tuple(on(a) for a in evips),
                tuple(made.values()))

    @staticmethod
    def _vmac_names(cfg: KeepalivedConfig, own: Vmac | None) -> set[str]:
        """The VMACs this daemon makes (keepalived's "our" interfaces, for garp_extra_if):
        each instance's as configured, and ``own`` as it was resolved."""
        prefix = cfg.global_defs.vmac_prefix
        names = {c.use_vmac.name or vmac_name(c.vrid, prefix, c.family)
                 for c in cfg.vrrp_instances if c.use_vmac is not None}
        if own is not None:
            names.add(own.ifname)
        return names

    async def _igmp_off(self) -> None:
        """``disable_local_igmp``: before the sockets join their groups."""
        if self.cfg.global_defs.disable_local_igmp:
            self._igmp_restore = self.kernel.disable_local_igmp()

    async def _link_timing(self) -> None:
        """Link debounce and late-timer limits, once the instances exist."""
        self._link_delays()
        self._late_limits()

    async def _source4(self, ifname: str) -> str | None:
        """``ifname``'s primary IPv4 address; asked once per interface while ``_build`` runs
        (an address dump each: at 1000 instances on four interfaces that was 1000 dumps,
        more than half of the start-up)."""
        cache = self._sources
        if cache is None:
            return await self.kernel.primary_address(ifname, 4)
        if ifname not in cache:
            cache[ifname] = await self.kernel.primary_address(ifname, 4)
        return cache[ifname]

    async def _vmac(self, cfg: KeepalivedConfig, c: VrrpInstance, ifname: str
                    ) -> tuple[Vmac | None, str, str]:
        """(VMAC, the VIPs' interface, the interface adverts leave from) for ``use_vmac``."""
        if c.use_vmac is None:
            return None, ifname, ifname
        vmac = await self.kernel.setup_vmac(Vmac(
            parent=ifname, vrid=c.vrid, family=c.family, name=c.use_vmac.name,
            mac=c.use_vmac.mac, prefix=cfg.global_defs.vmac_prefix))
        log.info("(%s) Using VMAC %s (%s) on %s", c.name, vmac.ifname, vmac.address, ifname)
        return vmac, vmac.ifname, xmit_interface(vmac, c.vmac_xmit_base)

    async def _initial_links(self, inst: Instance, ifname: str, src: str, sg_cfg: Any,
                             now: float) -> None:
        """Tell a new endpoint which of its interfaces are down before it starts."""
        ep = inst.endpoint
        up = await self._link_up(ifname)
        if src in ("0.0.0.0", "::"):
            log.warning("(%s) no source address on %s", inst.name, ifname)
            up = False
        if not up:
            ep.set_interface_up(False, now)
        tracked = list(inst.cfg.track_interfaces)
        if sg_cfg is not None:
            tracked += sg_cfg.track_interfaces
        for t in tracked:
            if not await self._link_up(t.name):
                ep.set_track_state(TrackKind.INTERFACE, t.name, False, now)
        src_ip = tracked_src_ip(inst.cfg)
        if src_ip is not None:
            self._src_tracked.setdefault((ifname, src_ip), set()).add(inst.name)
            have = {a.ip for a in await self.kernel.list_addresses(ifname)}
            if src_ip not in have:
                log.info("(%s) source address %s is not on %s", inst.name, src_ip, ifname)
                ep.set_track_state(TrackKind.INTERFACE, src_track_name(src_ip), False, now)

    async def _link_up(self, ifname: str) -> bool:
        if ifname not in self._iface_up:
            self._iface_up[ifname] = await self.kernel.link_up(ifname)
        return self._iface_up[ifname]

    async def _socket(self, key: SockKey, c: VrrpInstance, group: str) -> VrrpSocket:
        """The shared socket for ``key``, opened (joined to ``group``, read by the loop) on
        first use."""
        sock = self.sockets.get(key)
        ifname, family, unicast = key
        if sock is not None and family == 4 and uses_ah(c) and not sock.has_ah:
            sock.close()  # reopen with the AH socket as well
            self.sockets.pop(key, None)
            sock = None
        if sock is None:
            spec = SocketSpec(
                ifname, family, unicast, group, rcvbuf=c.kernel_rx_buf_size,
                ah=family == 4 and (uses_ah(c) or any(uses_ah(i.cfg) for i in
                                                      self.instances.values()
                                                      if key in (i.tx_key, i.rx_key))),
                src=(c.unicast_src_ip if c.unicast else c.mcast_src_ip) if family == 6 else None,
                hop_limit=c.unicast_ttl if unicast else 255)
            sock = self.sockets[key] = self.kernel.open_socket(
                spec, functools.partial(self._on_received, key),
                functools.partial(self._on_datagram4, key, DatagramMeta(4, ifname))
                if family == 4 else None,
                self._rearm)
            log.info("VRRP sockpool: [interface(%s), family(IPv%d), %s, group(%s)]", ifname,
                     family, "unicast" if unicast else "multicast", "-" if unicast else group)
            self._ifindex[ifname] = sock.ifindex
            for inst in self.instances.values():
                if inst.tx_key == key:
                    inst.sock = sock
        elif not unicast:
            sock.join(group)
        g = self.cfg.global_defs
        mtu = await self.kernel.link_mtu(ifname) if g.vrrp_rx_bufs_policy == "MTU" else 0
        share = rx_buf_share(c, g, mtu)
        if share:
            # keepalived's socket buffer is the sum of its instances' shares
            sizes = self._rx_sizes.setdefault(key, {})
            sizes[c.name] = share
            sock.set_rcvbuf(sum(sizes.values()))
        return sock

    # ================================================================ static config
    async def _apply_static(self, add: bool, entries: StaticEntries) -> None:
        k = self.kernel
        if add:
            for a in entries.addresses:
                await k.add_address(address_of(a))
            for r in entries.routes:
                await k.add_route(route_of(r))
            for ru in entries.rules:
                await k.add_rule(rule_of(ru))
        else:
            for ru in entries.rules:
                await k.delete_rule(rule_of(ru))
            for r in entries.routes:
                await k.delete_route(route_of(r))
            for a in entries.addresses:
                await k.delete_address(address_of(a))

    def _on_static_groups(self, changes: list[tuple[str, bool]]) -> None:
        """A static track_group's entries are (``ok``) or are not all in place: its
        instances' tracker follows."""
        now = self.now()
        for group, ok in changes:
            for inst in list(self.instances.values()):
                if inst.endpoint.set_track_state(TrackKind.INTERFACE, static_track_name(group),
                                                 ok, now):
                    self._flush(inst)
        self._rearm()

    # ================================================================ datagrams in
    def _on_datagram4(self, key: SockKey, meta: DatagramMeta, data: bytes) -> bool:
        """An IPv4 datagram from socket ``key`` (the whole packet: its header says the rest).
        The backup's hottest path: ``vrrp.endpoint`` explains what happens to a repeat."""
        vrid = peek_vrid(data, 4)
        insts = self.by_vrid.get(key)
        inst = insts.get(vrid) if insts is not None and vrid is not None else None
        sb = self.sb
        if inst is None or (sb is not None and inst.name in sb.paths):
            self._receive(key, inst, vrid, meta, data)
            return True
        ep = self._deliver(key, inst, meta, data)
        if ep.group is None:  # _flush, unrolled
            if ep.has_output():
                self._emit(inst)
            if self.instances.get(inst.name) is inst:
                self.schedule.update(inst.name, ep.get_timer())
        else:
            self._flush(inst)
        return True

    def _on_received(self, key: SockKey, pkt: Received) -> None:
        """A datagram as a ``Received``: IPv6, or IPv4 with unusual ancillary data."""
        if pkt.family == 4:
            self._on_datagram4(key, DatagramMeta(4, key[0]), pkt.data)
            return
        vrid = peek_vrid(pkt.data, 6)
        inst = self.by_vrid.get(key, {}).get(vrid) if vrid is not None else None
        self._receive(key, inst, vrid, DatagramMeta(6, key[0], pkt.src, pkt.dst, pkt.ttl),
                      pkt.data)

    def _receive(self, key: SockKey, inst: Instance | None, vrid: int | None,
                 meta: DatagramMeta, data: bytes) -> None:
        """A datagram off the IPv4 fast path: IPv6, a VRID we do not run, or one for an
        instance with extra heartbeat paths (their copies are merged first)."""
        sb = self.sb
        if inst is None:
            if sb is not None:
                sb.foreign_datagram(key, meta, data)
            self._unknown_vrid(key, vrid)
            return
        if sb is not None and sb.path_packet(key, inst, meta, data):
            return
        self._deliver(key, inst, meta, data)
        self._flush(inst)

    def _deliver(self, key: SockKey, inst: Instance, meta: DatagramMeta, data: bytes
                 ) -> VrrpEndpoint:
        """Hand a datagram to ``inst``'s endpoint (a BACKUP's receive timing recorded first)."""
        ep = inst.endpoint
        now = self.clock()
        if ep.state is State.BACKUP and (t := self.meters.timing.get(inst.name)) is not None:
            t.received(now, ep.router.master_adver_int)
        if self.sb is None:
            ep.receive_datagram(data, meta, now)
        else:
            self._watched(key, ep, meta, data, now)
        return ep

    def _watched(self, key: SockKey, ep: VrrpEndpoint, meta: DatagramMeta, data: bytes,
                 now: float) -> None:
        """Receive while split-brain guards run: an advert (a repeat too) whose address list
        is not the instance's own is evidence for the conflict watch."""
        assert self.sb is not None
        ep.last_received = None
        ep.receive_datagram(data, meta, now)
        adv = ep.last_received
        if adv is not None and adv.addresses != ep.router.settings.addresses:
            self.sb.foreign_advert(key[0], adv)

    def _unknown_vrid(self, key: SockKey, vrid: int | None) -> None:
        if key in self._vmac_keys:
            return  # another VRID's advert flooded to this macvlan: not ours to judge
        if self.cfg.global_defs.log_unknown_vrids:
            log.info("Unknown VRID(%s) received on interface(%s). ignoring...", vrid, key[0])

    # ================================================================ other events in
    def _on_net_event(self, ev: NetEvent) -> None:
        if isinstance(ev, LinkEvent):
            self._on_link(ev)
        elif isinstance(ev, AddrEvent):
            self._on_address(ev)

    def _on_link(self, ev: LinkEvent) -> None:
        self.static.schedule()  # routes and addresses die with links
        if not ev.deleted and self._ifindex.get(ev.ifname, ev.ifindex) != ev.ifindex:
            self._recreated(ev.ifname, ev.ifindex)
        if ev.mtu and self.cfg.global_defs.vrrp_rx_bufs_policy == "MTU":
            self._resize_for_mtu(ev.ifname, ev.mtu)
        if self._linkbeat is not None and not ev.deleted and \
                ev.ifname in self._linkbeat.interfaces:
            return  # polled: netlink's word on up/down is ignored
        if self._waiting and ev.up and ev.ifname in self._waiting.values():
            self._spawn(self._interface_appeared(ev.ifname))
        if self._debounce is not None and not self._debounce.offer(
                ev, self._iface_up.get(ev.ifname)):
            return
        self._link_changed(ev)

    def _link_delays(self) -> None:
        """(Re)apply ``interface_up_down_delays``: a change already held keeps waiting."""
        delays = debounce_delays(self.cfg)
        if not delays and self._debounce is None:
            return
        if self._debounce is None:
            assert self.loop is not None
            self._debounce = LinkDebounce(delays, self.loop, self._link_changed)
        else:
            self._debounce.configure(delays)
        for inst in self.instances.values():
            if inst.vmac is not None:
                self._debounce.inherit(inst.vmac.ifname, inst.vmac.parent)
        self._debounce.seen(n for n, up in self._iface_up.items() if up)

    def _late_limits(self) -> None:
        """``timer_expired_backup``: the least lateness worth checking (None: never)."""
        self._late_limit = min((t for i in self.instances.values()
                                if (t := late_takeover(i.endpoint.router.settings)) is not None),
                               default=None)

    async def _start_linkbeat(self) -> None:
        """(Re)start link polling for ``linkbeat_interfaces`` / ``linkbeat_use_polling``."""
        if self._linkbeat is not None:
            await self._linkbeat.stop()
            self._linkbeat = None
        polled, unused = polled_interfaces(self.cfg)
        for name in unused:
            log.info("Turning off linkbeat for %s since not used for tracking", name)
        if not polled:
            return
        assert self.loop is not None
        initial = {n: await self._link_up(n) for n in polled}
        self._linkbeat = LinkbeatPoller(polled, initial, self._polled_link)
        self._linkbeat.start(self.loop)

    def _polled_link(self, ifname: str, up: bool) -> None:
        self._link_changed(LinkEvent(ifindex=self._ifindex.get(ifname, 0), ifname=ifname,
                                     up=up, operstate="UP" if up else "DOWN", carrier=up,
                                     admin_up=up), polled=True)

    def _link_changed(self, ev: LinkEvent, polled: bool = False) -> None:
        """``ev``'s up/down is in force now (at once, or after its interface's delay;
        ``polled``: linkbeat's poll found it, and logged it)."""
        now = self.now()
        old = self._iface_up.get(ev.ifname)
        self._iface_up[ev.ifname] = ev.up
        if old == ev.up:
            return
        if not polled and (old is not None or not ev.up):
            log.info("Netlink reports %s %s", ev.ifname, "up" if ev.up else "down")
        for inst in list(self.instances.values()):
            if inst.name in self._waiting:
                continue  # built again on the interface once it is up
            c = inst.cfg
            ep = inst.endpoint
            if (c.interface or self.cfg.global_defs.default_interface) == ev.ifname:
                ep.set_interface_up(ev.up, now)
            sg = self.cfg.sync_group(c.sync_group)
            names = {t.name for t in c.track_interfaces}
            if sg is not None:
                names |= {t.name for t in sg.track_interfaces}
            if ev.ifname in names:
                ep.set_track_state(TrackKind.INTERFACE, ev.ifname, ev.up, now)
            self._flush(inst)
        self._rearm()

    def _resize_for_mtu(self, ifname: str, mtu: int) -> None:
        """``vrrp_rx_bufs_policy MTU``: the receive buffers of ``ifname``'s sockets follow its
        MTU, as keepalived resizes them when the MTU changes."""
        g = self.cfg.global_defs
        for key, sizes in self._rx_sizes.items():
            sock = self.sockets.get(key)
            if key[0] != ifname or sock is None:
                continue
            new = {n: rx_buf_share(self.instances[n].cfg, g, mtu)
                   for n in sizes if n in self.instances}
            if new != sizes:
                sizes.update(new)
                sock.set_rcvbuf(sum(sizes.values()))

    def _recreated(self, ifname: str, index: int) -> None:
        """``ifname`` was deleted and made again: its sockets (bound to the old index, deaf
        and mute) are replaced, as are its GARP/NA senders; its instances leave FAULT on the
        link event as for any interface that comes back."""
        self._ifindex[ifname] = index
        keys = [k for k in self.sockets if k[0] == ifname]
        log.info("Interface %s is back with index %d: reopening its VRRP sockets", ifname,
                 index)
        for k in keys:
            with contextlib.suppress(Exception):
                self.sockets.pop(k).close()
        self.kernel.forget_announcers(ifname)
        if keys:
            self._spawn(self._reopen(keys))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the loop (cancelled at shutdown if still running)."""
        if self.loop is None:
            work.close()
            return
        task = self.loop.create_task(work)
        self._reopening.add(task)
        task.add_done_callback(self._reopening.discard)

    async def _reopen(self, keys: list[SockKey]) -> None:
        for k in keys:
            for inst in [i for i in self.instances.values() if k in (i.tx_key, i.rx_key)]:
                group, _ = destinations(inst.cfg, self.cfg)
                try:
                    await self._socket(k, inst.cfg, group)
                except OSError as e:
                    log.warning("(%s) cannot reopen its socket on %s: %s", inst.name, k[0], e)

    def _on_address(self, ev: AddrEvent) -> None:
        if self.opts.address_monitoring:
            log.info("Netlink reports %s %s/%d on %s", "added" if ev.added else "removed",
                     ev.address, ev.prefixlen, ev.ifname)
        if self._src_tracked:
            self._on_src_address(ev)
        if ev.added or self._stopping:
            return
        self.static.schedule()
        for inst in self.instances.values():
            if inst.vipset and inst.endpoint.state is State.MASTER and any(
                    a.ip == ev.address and (a.dev or inst.vip_if) == ev.ifname
                    for a in (*inst.vips, *inst.evips)):
                inst.queue(functools.partial(inst.restore_vip, ev.address))

    def _on_src_address(self, ev: AddrEvent) -> None:
        """``track_src_ip``: an instance whose configured source address left its interface
        is in FAULT until the address is back."""
        names = self._src_tracked.get((ev.ifname, ev.address))
        if not names:
            return
        now = self.now()
        for name in names:
            inst = self.instances.get(name)
            if inst is not None and inst.endpoint.set_track_state(
                    TrackKind.INTERFACE, src_track_name(ev.address), ev.added, now):
                log.info("(%s) source address %s %s %s", name, ev.address,
                         "is back on" if ev.added else "removed from", ev.ifname)
                self._flush(inst)
        self._rearm()

    def _on_tracker(self, ev: TrackerChanged) -> None:
        now = self.now()
        for inst in list(self.instances.values()):
            ep = inst.endpoint
            if ev.kind is TrackKind.FILE:
                changed = ep.set_track_file(ev.name, int(ev.value), now)
            else:
                changed = ep.set_track_state(ev.kind, ev.name, bool(ev.up), now)
            if changed:
                self._flush(inst)
        self._rearm()

    # ================================================================ output
    def _flush(self, inst: Instance) -> None:
        """Carry out what ``inst``'s endpoint (and, in a sync group, every member's) has."""
        ep = inst.endpoint
        group = ep.group
        if group is None:  # the common case, once per received advert: nothing to do mostly
            if ep.has_output():
                self._emit(inst)
            self._touch(inst)
            return
        todo = [self.instances[m.name] for m in group.members if m.name in self.instances]
        for _ in range(4):  # group moves can queue more on members already emptied
            busy = False
            for i in todo:
                busy |= self._emit(i)
            gacts = group.actions()
            busy |= bool(gacts)
            for a in gacts:
                self._act_group(a)
            if not busy:
                break
        for i in todo:
            self._touch(i)

    def _emit(self, inst: Instance) -> bool:
        """Send ``inst``'s datagrams, then carry out its events; whether there was any."""
        ep = inst.endpoint
        if not ep.has_output():
            return False
        self._send(inst)
        evs = ep.events()
        for ev in evs:
            self._act(inst, ev)
        if self.sb is not None and evs:
            self.sb.observe(inst, evs)
        return True

    def _send(self, inst: Instance) -> None:
        """Write ``inst``'s datagrams (and on its extra heartbeat paths, when it has some)."""
        inst.send()
        if self.sb is not None:
            self.sb.send_paths(inst)

    def _act(self, inst: Instance, a: Event) -> None:
        if isinstance(a, LogEvent):
            log.log(_LEVELS.get(a.level, logging.INFO), "%s", a.message)
        elif isinstance(a, StateChanged):
            inst.last_transition = self.wall()
            self.meters.of(inst.name).changed(a.old.value, a.new.value, a.reason.value,
                                              inst.last_transition)
            sdnotify.report_vrrp_status(self.instances.values())
            if self.syncd is not None:
                self.syncd.post(inst.cfg.name, a.new.value)
        elif isinstance(a, AcquireAddresses):
            inst.on_acquire(a)
        elif isinstance(a, ReleaseAddresses):
            inst.on_release(a, keep=self._stopping and self.opts.dont_release_vrrp)
        elif isinstance(a, SendGratuitous):
            inst.on_gratuitous(a)
        elif isinstance(a, Notify):
            self._notify(inst.cfg, a)

    def _act_group(self, a: Action) -> None:
        if isinstance(a, LogEvent):
            log.log(_LEVELS.get(a.level, logging.INFO), "%s", a.message)
        elif isinstance(a, Notify) and self.notifier is not None:
            g = self.cfg.sync_group(a.name)
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
        """Record ``inst``'s next deadline (unless it was stopped or replaced meanwhile)."""
        if self.instances.get(inst.name) is inst:
            self.schedule.update(inst.name, inst.endpoint.get_timer())

    def _rearm(self) -> None:
        """Arm the loop timer where the schedule says (kept when it fires early enough)."""
        if self.loop is None or self._stopping:
            return
        armed = self._timer_at if self._timer is not None else None
        at = self.schedule.alarm(armed)
        if armed is not None and at == armed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            self._timer = self.loop.call_at(at, self.run_due_timers)

    def _timers_late(self, late: float, now: float) -> None:
        """``timer_expired_backup``: the timers ran ``late``; a MASTER whose peer has
        probably taken over meanwhile goes BACKUP (before any timer of this pass runs)."""
        logged = False
        for inst in list(self.instances.values()):
            ep = inst.endpoint
            if not ep.router.settings.timer_expired_backup or ep.state is not State.MASTER:
                continue
            if ep.timers_late(now):
                if not logged:
                    us = round(late * 1e6)
                    log.info("VRRP thread timer expired %d.%06d seconds ago", us // 1000000,
                             us % 1000000)
                    logged = True
                self._flush(inst)

    def run_due_timers(self) -> None:
        """Run every endpoint whose deadline has passed (the loop timer's callback)."""
        due = self._timer_at
        self._timer = None
        self._timer_at = None
        now = self.now()
        if due is not None and (stall := self.meters.stall.timer_ran(due, now)) is not None:
            log.info("%s", stall)
        if due is not None and self._late_limit is not None and now - due >= self._late_limit:
            self._timers_late(now - due, now)
        while (name := self.schedule.pop_due(now)) is not None:
            inst = self.instances.get(name)
            if inst is None:
                continue
            ep = inst.endpoint
            if (nt := ep.get_timer()) is not None and nt <= now:
                ep.handle_timer(now)
            self._flush(inst)  # also re-records its next deadline
        self._rearm()

    # ================================================================ reload
    def _on_hup(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        assert self.loop is not None
        if not self._stop.is_set():
            self._reload_task = self.loop.create_task(self.reload())

    async def _reload_settled(self) -> None:
        """A TERM during a reload: let it reach its next step (it applies nothing more
        once the stop is requested) before ``shutdown`` undoes everything."""
        task = self._reload_task
        if task is not None and not task.done():
            with contextlib.suppress(BaseException):
                await task

    async def reload(self) -> None:
        """Reload the config file (a HUP during a reload runs one more afterwards)."""
        self._reloading = True
        try:
            while not self._stop.is_set():
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
        old_cfg = self.cfg
        read = await self._off_loop(self._read_and_plan, old_cfg, self._states())
        if read is None:
            log.info("Reload abandoned: stopping")
            return
        parsed, plan = read
        errors = config_errors(parsed)
        self.meters.events.config_loaded(not errors, self.wall())
        if errors or plan is None:
            for e in errors:
                log.error("%s", e)
            log.error("Reload of configuration failed: %d error(s); keeping the running "
                      "configuration", len(errors))
            return
        new_cfg = parsed.config
        if new_cfg.global_defs.disable_local_igmp != old_cfg.global_defs.disable_local_igmp:
            log.info("Cannot change disable_local_igmp at a reload - please restart keepalived")
        if any(self.instances[n].endpoint.state is not State.MASTER for n in plan.carry
               if n in self.instances):
            plan = plan_reload(old_cfg, new_cfg, self._states())  # one left MASTER meanwhile
        now = self.now()
        for name in plan.drop:
            inst = self.instances.get(name)
            if inst is not None:
                await self._stop_instance(inst, name in plan.removed, now)
        self.cfg = new_cfg
        self.static.configure(new_cfg)
        for name in plan.keep:
            inst = self.instances[name]
            c2 = new_cfg.instance(name)
            if c2 is not None:
                inst.cfg = c2  # same identity; notify scripts and other non-VRRP fields follow
        await self._apply_static(add=False, entries=plan.static_gone)
        await self._apply_static(add=True, entries=plan.static_wanted)
        if self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.reload(new_cfg.global_defs)
        for name in plan.carry:
            changed = new_cfg.instance(name)
            if changed is not None and not self._stop.is_set():
                await self._carry_master(new_cfg, changed)
        await self._build(new_cfg, list(plan.add))
        self._link_delays()
        self._late_limits()
        await self._start_linkbeat()
        if old_cfg.global_defs.lvs_sync_daemon != new_cfg.global_defs.lvs_sync_daemon:
            await self._start_syncd()
        await self.static.check(force=True)
        await self.static.watch_routes()
        await self._start_trackers(reload=True)
        now = self.now()
        for c in plan.add if not self._stop.is_set() else ():
            inst2 = self.instances.get(c.name)
            if inst2 is not None:
                inst2.endpoint.start(now)
                self._flush(inst2)
        self._close_unused_sockets()
        self._fifo_states_on_reload(plan.keep, old_cfg)
        await self._stop_guards()
        await self._start_guards()
        self._rearm()
        self._observe_config()
        self.meters.events.reloaded(time.monotonic() - began)
        log.info("Reload finished: %d instance(s) kept, %d changed and kept MASTER, "
                 "%d restarted or removed, %d started", len(plan.keep), len(plan.carry),
                 len(plan.drop), plan.started)

    def _fifo_states_on_reload(self, kept: Iterable[str], old: KeepalivedConfig) -> None:
        """``fifo_write_vrrp_states_on_reload``: the kept groups' and instances' states to the
        FIFOs (``notify.fifo.reload_state_lines``), in the config's order."""
        if self.notifier is None or not self.cfg.global_defs.fifo_write_vrrp_states_on_reload:
            return
        was = {g.name for g in old.sync_groups}
        groups = [(g.name, self.groups[g.name].state.value) for g in self.cfg.sync_groups
                  if g.name in was and g.name in self.groups]
        keep = set(kept)
        insts = [(c.name, i.endpoint.state.value, i.endpoint.router.effective_priority)
                 for c in self.cfg.vrrp_instances
                 if c.name in keep and (i := self.instances.get(c.name)) is not None]
        try:
            self.notifier.fifo_lines(reload_state_lines(groups, insts))
        except Exception:
            log.exception("writing the states to the FIFO failed")

    def _states(self) -> dict[str, State]:
        return {n: i.endpoint.state for n, i in self.instances.items()}

    def _off_loop(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """``fn(*args)`` in a daemon thread (``off_loop``), remembered so that a TERM can
        abandon it: the stop must not wait for a reload it abandons."""
        fut = off_loop(fn, *args)
        self._reading = fut
        return fut

    def _read_and_plan(self, old: KeepalivedConfig, states: dict[str, State]
                       ) -> tuple[ParseResult, ReloadPlan | None]:
        """Read the config file and plan the reload (``None``: it has errors). Run in a
        worker thread: at 1000 instances this is about half a second of CPU, and the loop
        must keep sending adverts meanwhile (the interpreter hands it the GIL every few
        milliseconds). Both steps only read shared state: the old config is immutable and
        ``states`` a copy; the plan is applied on the loop."""
        parsed = load_config(self.opts)
        if config_errors(parsed):
            return parsed, None
        return parsed, plan_reload(old, parsed.config, states)

    async def _stop_instance(self, inst: Instance, removed: bool, now: float) -> None:
        """A reload stops ``inst`` (changed, or ``removed`` from the config)."""
        name = inst.name
        log.info("(%s) %s: stopping this instance", name,
                 "removed from the configuration" if removed else "configuration changed")
        prio = inst.endpoint.router.effective_priority  # before shutdown: keepalived reports it
        inst.endpoint.shutdown(now)
        self._flush(inst)
        # Not a process stop: no STOP notify; a removed instance is reported as DELETED
        # (the notifier turns that into FAULT unless notify_deleted is set, as keepalived).
        self._stop_notified = [x for x in self._stop_notified if x[0].name != name]
        if removed and self.notifier is not None:
            with contextlib.suppress(Exception):
                self.notifier.instance_state(inst.cfg, "DELETED", prio)
        await inst.drain_ops()
        await inst.stop_worker()
        self._forget(inst)

    async def _carry_master(self, cfg: KeepalivedConfig, c: VrrpInstance) -> None:
        """Replace a MASTER's endpoint by one built from its changed config without leaving
        MASTER: no priority-0 advert, the addresses kept in the new config never leave the
        interface, only the ones the new config dropped are removed. The old endpoint keeps
        advertising until the new one takes over in the same loop iteration."""
        old = self.instances[c.name]
        if old.endpoint.group is not None:
            old.endpoint.group.remove(old.endpoint.router)
        try:
            await self._build_one(cfg, c)
        except Exception as e:
            log.error("(%s) cannot rebuild instance: %s", c.name, e)
        new = self.instances.get(c.name)
        if new is None or new is old:
            old.endpoint.shutdown(self.now())
            self._flush(old)
            await old.drain_ops()
            await old.stop_worker()
            self._forget(old)
            return
        log.info("(%s) configuration changed: staying MASTER", c.name)
        new.endpoint.take_over(old.endpoint, self.now())
        self._flush(new)
        self._rearm()
        kept_addr = {(a.ip, a.dev) for a in (*new.vips, *new.evips)}
        stale = [a for a in (*old.vips, *old.evips) if (a.ip, a.dev) not in kept_addr]
        stale_routes = [r for r in old.routes if r not in new.routes]
        stale_rules = [r for r in old.rules if r not in new.rules]

        async def cleanup() -> None:
            for ru in stale_rules:
                await self.kernel.delete_rule(ru)
            for r in stale_routes:
                await self.kernel.delete_route(r)
            for a in stale:
                await self.kernel.delete_address(a, old.vip_if)

        new.queue(cleanup)
        await old.drain_ops()
        await old.stop_worker()

    def _forget(self, inst: Instance) -> None:
        self.instances.pop(inst.name, None)
        self.schedule.remove(inst.name)
        for by in self.by_vrid.values():
            if by.get(inst.cfg.vrid) is inst:
                del by[inst.cfg.vrid]
        for key in [k for k, names in self._src_tracked.items() if inst.name in names]:
            self._src_tracked[key].discard(inst.name)
            if not self._src_tracked[key]:
                del self._src_tracked[key]
        g = inst.endpoint.group
        if g is not None and inst.endpoint.router in g.members:
            g.remove(inst.endpoint.router)
            if not g.members:
                self.groups.pop(g.name, None)

    def _close_unused_sockets(self) -> None:
        used = {k for i in self.instances.values() for k in (i.tx_key, i.rx_key)}
        for key in list(self.sockets):
            if key not in used:
                self.sockets.pop(key).close()
                self.by_vrid.pop(key, None)

    # ================================================================ guards, observability
    async def _start_guards(self) -> None:
        """Split-brain guards (``daemon.splitbrain``) when an instance configures one; they
        start from the instances' current states (a kept master takes its key again)."""
        if any(i.split_brain.any for i in self.cfg.vrrp_instances):
            # imported here: a daemon without guards never loads the package (~4 MiB)
            from pykeepalived.daemon.splitbrain import SplitBrainShell

            self.sb = SplitBrainShell(self)
            await self.sb.start(self.cfg)

    async def _stop_guards(self) -> None:
        """Stop the guards first when stopping or reloading (their lease revoked)."""
        if self.sb is not None:
            sb, self.sb = self.sb, None
            await sb.shutdown()

    def _observe_config(self) -> None:
        """Stall threshold and per-instance meters follow the configured instances."""
        self.meters.configure(((n, i.cfg.version, i.router.settings.advert_int)
                               for n, i in self.instances.items()),
                              self.cfg.global_defs.min_auto_priority_delay)
        for i in self.instances.values():
            i.meter = self.meters.events

    async def _status_doc(self) -> bytes:
        return await vrrp_status(self, self.meters)

    # ================================================================ dumps
    def snapshots(self) -> list[dumps.InstanceSnapshot]:
        now = self.now() if self.loop is not None else None
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
            nt = inst.endpoint.get_timer()
            log.info("  (%s) %s, next timer %s, %d kernel operation(s) queued", inst.name,
                     inst.endpoint.state.value,
                     "-" if nt is None or self.loop is None else f"{nt - self.loop.time():.6f} s",
                     len(inst.ops))

    def write_stats_clear(self) -> None:
        self.write_stats()
        for inst in self.instances.values():
            inst.endpoint.clear_stats()

    def write_json(self) -> None:
        g = self.cfg.global_defs
        self._dump("JSON", _instance_path(g.json_dump_file, g.data_use_instance,
                                          self.cfg.instance_name),
                   dumps.format_json(self.snapshots(), g.json_version,
                                     dump_snapshot.track_processes(self.cfg, self.trackers)))

    # ================================================================ stop
    async def shutdown(self) -> None:
        """keepalived's stop: notify STOP, priority-0 adverts, then rules, routes, addresses."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._reopening):  # sockets of a re-created interface not yet open
            task.cancel()
        if self._debounce is not None:
            self._debounce.close()
        if self._linkbeat is not None:
            await self._linkbeat.stop()
        await self.static.stop()
        await self._stop_guards()
        now = self.now()
        for inst in list(self.instances.values()):
            if inst.endpoint.state is State.INIT:
                continue  # built, never started (a TERM during start-up): nothing to say
            inst.endpoint.shutdown(now)
            self._flush(inst)
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
            await self._apply_static(add=False, entries=StaticEntries.of(self.cfg))
            await self._remove_vmacs()
        if self.kernel.has_firewall:
            with contextlib.suppress(Exception):
                await self.kernel.teardown_firewall()
        await self._stop_helpers()

    async def _remove_vmacs(self) -> None:
        for inst in self.instances.values():
            for v in inst.addr_vmacs:
                await self.kernel.delete_vmac(v)
            if inst.vmac is not None:
                if self.kernel.has_firewall:
                    with contextlib.suppress(Exception):
                        await self.kernel.firewall_remove_vmac(inst.vmac.ifname)
                await self.kernel.delete_vmac(inst.vmac)

    async def _stop_helpers(self) -> None:
        """Trackers, notifier, the instances' workers, then the link monitor."""
        if self.trackers is not None:
            with contextlib.suppress(Exception):
                await self.trackers.stop()
        if self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.close()
        for inst in self.instances.values():
            await inst.stop_worker()
        await self.kernel.stop_link_watch()

    def close(self) -> None:
        """Close the sockets and the kernel facade (after ``shutdown``)."""
        for s in self.sockets.values():
            with contextlib.suppress(Exception):
                s.close()
        self.sockets.clear()
        if self._igmp_restore:  # once the sockets have left their groups, as keepalived
            self._igmp_restore = False
            self.kernel.restore_local_igmp()
        self.kernel.close()


def _instance_path(path: str, use_instance: bool, instance: str | None) -> str:
    """``data_use_instance``: keepalived inserts ``_INSTANCE`` before the file extension."""
    if not use_instance or not instance:
        return path
    head, dot, ext = path.rpartition(".")
    return f"{head}_{instance}.{ext}" if dot else f"{path}_{instance}"

