"""One running ``vrrp_instance`` in the VRRP child: its endpoint plus the I/O it needs.

The endpoint (``vrrp.endpoint``, sans-IO) decides and encodes; this class carries out what it
asks for. Its datagrams are written to the shared raw socket at once by the process, so an
advert is never delayed by netlink; address, route, rule, firewall and GARP/NA work goes through
a per-instance ordered queue (``ops``) because it must happen in keepalived's order (firewall,
VIPs, routes, rules, then the GARP burst; the reverse on release) and awaits netlink. VIPs with
nothing to be ordered around them are set or removed at once instead (``_direct``), as
keepalived does in its receive path. VIPs are tagged ``proto keepalived`` (an address owner's
are not) so the supervisor can remove them when the VRRP child dies.

The instance reaches the kernel through a ``KernelPort`` it is given (the process passes its
kernel facade), never through the process itself.

The queue is a plain list worked off by a task that exists only while there is work: instances
spend nearly all their life idle, and an ``asyncio.Queue`` (four deques and an Event) plus a
parked worker task cost ~4 KiB per instance, 0.8 MiB at 200 instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno as errno_mod
import functools
import logging
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pykeepalived.config.model import KeepalivedConfig, VrrpInstance
from pykeepalived.daemon.dumps import InstanceSnapshot, Stats
from pykeepalived.daemon.kernel import KernelPort
from pykeepalived.daemon.settings import address_of, mcast_group, route_of, rule_of
from pykeepalived.net.addresses import IpAddress, NetResult, Route, Rule
from pykeepalived.net.vmac import Vmac
from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    GarpReason,
    ReleaseAddresses,
    SendGratuitous,
    State,
)
from pykeepalived.vrrp.auth import AuthType
from pykeepalived.vrrp.endpoint import VrrpEndpoint
from pykeepalived.vrrp.router import VrrpRouter

log = logging.getLogger("pykeepalived")

#: Seconds between two attempts at a virtual address the kernel refused (while MASTER)
RETRY_REFUSED = 1.0

SockKey = tuple[str, int, bool]  # (interface, family, unicast): one shared raw socket


class Transmitter(Protocol):
    def send(self, data: bytes, dst: str) -> OSError | None: ...


@dataclass(slots=True)
class Instance:
    """A configured instance with its endpoint and everything needed to act for it."""

    cfg: VrrpInstance
    endpoint: VrrpEndpoint
    port: KernelPort
    xmit_if: str  # interface adverts leave from (the VMAC unless vmac_xmit_base)
    vip_if: str  # default interface of the VIPs (the VMAC with use_vmac)
    vips: tuple[IpAddress, ...]
    evips: tuple[IpAddress, ...]
    routes: tuple[Route, ...]
    rules: tuple[Rule, ...]
    vmac: Vmac | None = None
    addr_vmacs: tuple[Vmac, ...] = ()  # use_vmac_addr: VMACs made for single addresses
    sock: Transmitter | None = None  # the socket adverts are sent on
    tx_key: SockKey = ("", 4, False)
    rx_key: SockKey = ("", 4, False)
    vipset: bool = False
    blocked: bool = False
    last_transition: float = field(default_factory=time.time)
    ops: list[Callable[[], object]] = field(default_factory=list)  # kernel work, in order
    worker: asyncio.Task[None] | None = None  # working off ``ops``; None while idle
    working: bool = False  # start_worker() called and stop_worker() not since
    # observe.meters.Events of the process (kernel work timed and failures counted), if any
    meter: Any = None
    kernel_ops: int = 0  # queued operations that change the kernel (GARP bursts do not)
    refused: dict[str, int] = field(default_factory=dict)  # VIP -> adds the kernel refused
    _retry: asyncio.TimerHandle | None = None
    # The instance's name, copied once: read per received advert. A reload only ever swaps
    # ``cfg`` for one of the same identity, so the name never changes.
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.cfg.name

    @property
    def family(self) -> int:
        return self.cfg.family

    @property
    def router(self) -> VrrpRouter:
        """The endpoint's state machine, read-only (dumps, status, guards)."""
        return self.endpoint.router

    @property
    def uses_firewall(self) -> bool:
        """no_accept (or strict without being the owner): drop traffic to VIPs we hold."""
        return not self.cfg.accept and self.cfg.priority != 255

    @property
    def tagged(self) -> bool:
        """Its VIPs are tagged ``proto keepalived``, so the supervisor removes them if the VRRP
        child dies; an address owner's (priority 255) stay, as they are its own."""
        return self.cfg.priority != 255

    def send(self) -> None:
        """Write the endpoint's datagrams to the socket, now."""
        tx = self.endpoint.datagrams_to_send()
        sock = self.sock
        if sock is not None:
            for data, dst in tx:
                sock.send(data, dst)

    # ---------------------------------------------------------------- kernel work, in order
    def queue(self, op: Callable[[], object], kernel: bool = True) -> None:
        """Run ``op`` after what is queued; ``kernel``: it changes the kernel's state (so
        address changes made at once must wait for it, see ``_direct``)."""
        if kernel:
            self.kernel_ops += 1
            op = functools.partial(self._counted, op)
        self.ops.append(op)
        if self.working:
            self._kick()

    async def _counted(self, op: Callable[[], object]) -> None:
        try:
            result = op()
            if asyncio.iscoroutine(result):
                await result
        finally:
            self.kernel_ops -= 1

    def start_worker(self) -> None:
        self.working = True
        if self.ops:
            self._kick()

    def _kick(self) -> None:
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        """Run the queued operations one after the other, then end (``queue`` starts another)."""
        ops = self.ops
        try:
            events = self.meter
            while ops:
                op = ops.pop(0)
                began = time.monotonic()
                try:
                    result = op()
                    if asyncio.iscoroutine(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    if events is not None:
                        events.apply_failures += 1
                    log.exception("(%s) kernel operation failed", self.name)
                if events is not None:
                    events.apply.observe(time.monotonic() - began)
        finally:
            if self.worker is asyncio.current_task():
                self.worker = None

    async def drain_ops(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout``) until every queued operation has run."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.ops or (self.worker is not None and not self.worker.done()):
            left = deadline - loop.time()
            if left <= 0:
                return
            if self.worker is None or self.worker.done():
                # work queued but no worker running (not started): wait, as Queue.join did
                await asyncio.sleep(min(left, 0.05))
                continue
            await asyncio.wait({self.worker}, timeout=left)

    async def stop_worker(self) -> None:
        self.working = False
        self._forget_refused()
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker

    def _direct(self) -> bool:
        """The VIPs can be set or removed at once, in the call that decided it (as keepalived
        does, in the receive or timer path): nothing that changes the kernel is queued ahead,
        and no firewall rule, route or rule must be ordered around them."""
        return (self.kernel_ops == 0 and not self.routes and not self.rules
                and not (self.uses_firewall and self.port.has_firewall))

    def on_acquire(self, act: AcquireAddresses) -> None:
        if self._direct() and self.port.addresses_now(
                (*self.vips, *self.evips), self.vip_if, add=True, on_result=self._added,
                tag=self.tagged):
            self.vipset = True
            return
        self.queue(self._acquire)

    def on_release(self, act: ReleaseAddresses, keep: bool = False) -> None:
        if self._direct():
            self.vipset = False
            self._forget_refused()
            if keep or self.port.addresses_now((*self.vips, *self.evips), self.vip_if,
                                               add=False):
                return
        self.queue(lambda: self._release(keep))

    def on_gratuitous(self, act: SendGratuitous) -> None:
        self.queue(lambda: self._gratuitous(act), kernel=False)

    async def _acquire(self) -> None:
        am = self.port
        if self.uses_firewall and am.has_firewall and not self.blocked:
            for (dev, by_name), ips in self._ips_by_dev().items():
                await am.block(ips, dev, by_name)
            self.blocked = True
        for a in (*self.vips, *self.evips):
            res = await am.add_address(a, self.vip_if, quiet=True,  # _added says it
                                       tag=self.tagged)
            self._added(a, _errno(res))
        for r in self.routes:
            await am.add_route(r)
        for ru in self.rules:
            await am.add_rule(ru)
        self.vipset = True

    async def _release(self, keep: bool = False) -> None:
        am = self.port
        self.vipset = False
        self._forget_refused()
        if keep:
            return
        for ru in self.rules:
            await am.delete_rule(ru)
        for r in self.routes:
            await am.delete_route(r)
        for a in (*self.vips, *self.evips):
            await am.delete_address(a, self.vip_if)
        if self.blocked and am.has_firewall:
            for (dev, by_name), ips in self._ips_by_dev().items():
                await am.unblock(ips, dev, by_name)
            self.blocked = False

    # ---------------------------------------------------------------- refused VIPs
    def _added(self, addr: IpAddress, err: int) -> None:
        """How an add went: a refusal is logged (once), counted and retried every
        ``RETRY_REFUSED`` seconds while MASTER (keepalived never tries again: the address
        stays missing until the next transition); the add that works at last is logged."""
        n = self.refused.get(addr.ip, 0)
        where = str(addr) if addr.dev else f"{addr} dev {self.vip_if}"
        if not err:
            if n:
                del self.refused[addr.ip]
                log.info("(%s) virtual address %s added after %d refused attempt(s)",
                         self.name, where, n)
            return
        self.refused[addr.ip] = n + 1
        if n == 0:
            log.warning("(%s) the kernel refused virtual address %s: %s (%d) - retrying "
                        "every %g s", self.name, where, os.strerror(err), err, RETRY_REFUSED)
        if self._retry is None:
            self._retry = asyncio.get_running_loop().call_later(RETRY_REFUSED,
                                                                self._retry_refused)

    def _retry_refused(self) -> None:
        self._retry = None
        if self.endpoint.state is not State.MASTER or not self.vipset:
            self.refused.clear()
            return
        again = [a for a in (*self.vips, *self.evips) if a.ip in self.refused]
        if again and not (self._direct() and self.port.addresses_now(
                again, self.vip_if, add=True, on_result=self._added, tag=self.tagged)):
            self.queue(functools.partial(self._add_each, again))

    async def _add_each(self, addrs: list[IpAddress]) -> None:
        if self.endpoint.state is not State.MASTER or not self.vipset:
            self.refused.clear()  # stepped down while the retry waited in the queue
            return
        for a in addrs:
            self._added(a, _errno(await self.port.add_address(a, self.vip_if, quiet=True,
                                                              tag=self.tagged)))

    def _forget_refused(self) -> None:
        self.refused.clear()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def _ips_by_dev(self) -> dict[tuple[str, bool], list[str]]:
        """VIPs/eVIPs per interface: the firewall keys a link-local IPv6 VIP by its own
        interface (a ``dev`` line), which may not be the instance's; by the interface's name
        when the instance has ``dont_track_primary`` and the address is on the instance's
        interface or ``no_track`` (keepalived's choice), else by its index."""
        out: dict[tuple[str, bool], list[str]] = {}
        c = self.cfg
        untracked = {a.ip for a in (*c.virtual_ipaddresses, *c.virtual_ipaddresses_excluded)
                     if a.no_track} if c.dont_track_primary else set()
        for a in (*self.vips, *self.evips):
            dev = a.dev or self.vip_if
            by_name = c.dont_track_primary and (dev == self.vip_if or a.ip in untracked)
            out.setdefault((dev, by_name), []).append(a.ip)
        return out

    async def _gratuitous(self, act: SendGratuitous) -> None:
        if self.endpoint.state is not State.MASTER:
            return  # a burst queued before a step-down must not announce a VIP we gave up
        by_ip = {a.ip: a for a in (*self.vips, *self.evips)}
        per_dev: dict[str, list[str]] = {}
        for ip in act.addresses:
            spec = by_ip.get(ip)
            per_dev.setdefault((spec.dev if spec and spec.dev else None) or self.vip_if,
                               []).append(ip)
        gap_v4 = self.cfg.garp_interval
        gap_v6 = self.cfg.gna_interval
        # garp_extra_if's, every few seconds: only with -D, as keepalived logs them
        level = logging.DEBUG if act.reason is GarpReason.EXTRA_IF else logging.INFO
        for dev, ips in per_dev.items():
            ann = self.port.announcer(dev, self.vmac.address if self.vmac and
                                      dev == self.vmac.ifname else None)
            if ann is None:
                continue
            kinds = {"ARPs" if ":" not in ip else "NAs" for ip in ips}
            for kind in sorted(kinds):
                word = "gratuitous ARPs" if kind == "ARPs" else "unsolicited neighbour adverts"
                these = [ip for ip in ips if (":" in ip) == (kind == "NAs")]
                log.log(level, "(%s) Sending/queueing %s on %s for %s", self.name, word, dev,
                        " ".join(these))
            for _ in range(act.count):
                for ip in ips:
                    if ":" in ip:
                        ann.unsolicited_na(ip)
                        log.debug("Sending unsolicited NA on %s for %s", dev, ip)
                        if gap_v6:
                            await asyncio.sleep(gap_v6)
                    else:
                        ann.garp(ip)
                        log.debug("Sending gratuitous ARP on %s for %s", dev, ip)
                        if gap_v4:
                            await asyncio.sleep(gap_v4)

    async def restore_vip(self, ip: str) -> None:
        """A VIP vanished while we are MASTER (deleted by hand): put it back."""
        spec = next((a for a in (*self.vips, *self.evips) if a.ip == ip), None)
        if spec is None or self.endpoint.state is not State.MASTER or not self.vipset:
            return
        log.warning("(%s) virtual address %s was removed from the interface: restoring",
                    self.name, ip)
        await self.port.add_address(spec, self.vip_if, tag=self.tagged)

    # ---------------------------------------------------------------- reporting
    def snapshot(self) -> InstanceSnapshot:
        c = self.cfg
        r = self.endpoint.router
        wire = self.endpoint.wire
        st = Stats()
        for k, v in r.stats.as_dict().items():
            if hasattr(st, k):
                setattr(st, k, v)
        auth = wire.auth
        prio_master = r.effective_priority if r.state is State.MASTER else 0
        if r.state is State.BACKUP:
            prio_master = 0
        return InstanceSnapshot(
            name=c.name, vrid=c.vrid, version=c.version, family=c.family,
            interface=c.interface or "", state=r.state.value, wantstate=r.state.value,
            base_priority=r.base_priority, effective_priority=r.effective_priority,
            master_priority=prio_master,
            adver_int=r.settings.advert_int,
            master_adver_int=(r.master_adver_int if c.version == 2
                              else r.master_adver_int / 100.0),
            last_transition=self.last_transition,
            vips=[_addr_text(a, self.vip_if, self.vipset) for a in self.vips],
            evips=[_addr_text(a, self.vip_if, self.vipset) for a in self.evips],
            vipset=self.vipset, accept=c.accept, nopreempt=c.nopreempt,
            preempt_delay=c.preempt_delay, auth_type=int(auth.type),
            auth_data=(c.auth_pass.rstrip(b"\0").decode(errors="replace")
                       if auth.type == AuthType.PASS else ""),
            src_ip=wire.src, mcast_group="" if c.unicast else wire.mcast_group,
            unicast_peers=[p.ip for p in c.unicast_peers],
            vmac_ifname=self.vmac.ifname if self.vmac else "",
            garp_delay=c.garp_master_delay, garp_rep=c.garp_master_repeat,
            garp_refresh=c.garp_master_refresh, garp_refresh_rep=c.garp_master_refresh_repeat,
            garp_lower_prio_delay=c.garp_lower_prio_delay,
            garp_lower_prio_rep=c.garp_lower_prio_repeat,
            lower_prio_no_advert=c.lower_prio_no_advert,
            higher_prio_send_advert=c.higher_prio_send_advert,
            dont_track_primary=c.dont_track_primary, skip_check_adv_addr=c.skip_check_adv_addr,
            strict_mode=c.strict, promote_secondaries=c.promote_secondaries,
            smtp_alert=c.smtp_alert, notify_deleted=c.notify_deleted_enabled,
            down_timer_adverts=c.down_timer_adverts, master_down_interval=r.master_down,
            sync_group=c.sync_group, stats=st,
        )


def _errno(res: NetResult) -> int:
    """0 when the kernel did it (or it was so already), else why not."""
    return 0 if res.ok else (res.errno or errno_mod.EIO)


def _addr_text(a: IpAddress, default_dev: str, is_set: bool) -> str:
    return (f"{a.ip}/{a.prefixlen} dev {a.dev or default_dev} scope {a.scope or 'global'}"
            + (" set" if is_set else ""))


def instance_addresses(inst: VrrpInstance, vip_if: str, base_if: str
                       ) -> tuple[tuple[IpAddress, ...], tuple[IpAddress, ...],
                                  tuple[Route, ...], tuple[Rule, ...]]:
    """The instance's VIPs/eVIPs/routes/rules as shell specs. With ``use_vmac`` an address
    configured on the base interface (or on none) lives on the VMAC, as in keepalived."""

    def on(a: IpAddress) -> IpAddress:
        if vip_if != base_if and a.dev in (None, base_if):
            return dataclasses.replace(a, dev=vip_if)
        return a

    vips = tuple(on(address_of(a, vip_if)) for a in inst.virtual_ipaddresses)
    evips = tuple(on(address_of(a, vip_if)) for a in inst.virtual_ipaddresses_excluded)
    routes = tuple(route_of(r) for r in inst.virtual_routes)
    rules = tuple(rule_of(r) for r in inst.virtual_rules)
    return vips, evips, routes, rules


def address_vmac_parents(inst: VrrpInstance, base_if: str) -> dict[str, tuple[str, int]]:
    """VIP/eVIP -> (interface, family) of the VMAC keepalived makes for it alone: with
    ``use_vmac_addr`` (or the address's own ``use_vmac`` option) an address on another
    interface than the instance's, or of the other family on the instance's, gets a VMAC of
    the instance's VRID on that interface, named with ``vmac_addr_prefix``. On the instance's
    interface in its family only the address's own ``use_vmac`` does it, and not when the
    instance has ``use_vmac`` (the address lives on that VMAC)."""
    out: dict[str, tuple[str, int]] = {}
    for a in (*inst.virtual_ipaddresses, *inst.virtual_ipaddresses_excluded):
        if not (a.use_vmac or inst.use_vmac_addr):
            continue
        on_base = a.dev is None or a.dev == base_if
        if on_base and a.family == inst.family and (inst.use_vmac is not None
                                                    or not a.use_vmac):
            continue  # on the instance's VMAC, or use_vmac_addr alone: on the interface
        out[a.ip] = (a.dev or base_if, a.family)
    return out


def extra_if_addresses(inst: VrrpInstance, vips: Sequence[IpAddress],
                       evips: Sequence[IpAddress], own_if: str, ours: Collection[str]
                       ) -> tuple[str, ...]:
    """``garp_extra_if``: the address announced on each extra interface (the first VIP/eVIP
    on it), keepalived's choice: interfaces it made itself (``ours``: VMACs), or any with
    ``all``; the instance's own (``own_if``, its VMAC with ``use_vmac``) only with
    ``vmac_xmit_base``. Empty (no timer) unless some address is on another interface that
    qualifies, or when the interval is unset or 0."""
    if not inst.garp_extra_if:
        return ()
    all_if = inst.garp_extra_if_all
    keep_timer = False
    seen: set[str] = set()
    out: list[str] = []
    for a in (*vips, *evips):
        dev = a.dev or own_if
        ours_dev = dev in ours
        if dev != own_if and (ours_dev or all_if):
            keep_timer = True
        if (not ours_dev and not all_if) or (dev == own_if and not inst.vmac_xmit_base):
            continue
        if dev not in seen:
            seen.add(dev)
            out.append(a.ip)
    return tuple(out) if keep_timer else ()


def destinations(inst: VrrpInstance, cfg: KeepalivedConfig) -> tuple[str, tuple[str, ...]]:
    """(multicast group, where adverts go): the group, or every unicast peer."""
    group = mcast_group(inst, cfg.global_defs)
    if inst.unicast:
        return group, tuple(p.ip for p in inst.unicast_peers)
    return group, (group,)
