"""Map the config model onto what the VRRP core and the kernel shells take.

Pure functions (no I/O): ``router_settings`` turns a ``VrrpInstance`` (plus its sync group and
the global defaults) into ``RouterSettings``, ``wire_settings`` into the endpoint's
``WireSettings`` (addresses, authentication, TTLs, peers); ``address_of``/``route_of``/
``rule_of`` turn the config's address/route/rule lines into ``net.addresses`` specs.
``instance_identity`` is what a reload compares to decide whether an instance changed (file/line
positions are left out, so moving a block in the file is not a change).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from pykeepalived.config.model import (
    AddressList,
    AddressSpec,
    GlobalDefs,
    KeepalivedConfig,
    PackedV4,
    RouteSpec,
    RuleSpec,
    SyncGroup,
    TrackRef,
    VrrpInstance,
    VrrpState,
)
from pykeepalived.net.addresses import IpAddress, Route, Rule
from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.auth import AuthConfig
from pykeepalived.vrrp.constants import VRRP_TTL
from pykeepalived.vrrp.endpoint import WireSettings
from pykeepalived.vrrp.router import RouterSettings
from pykeepalived.vrrp.tracking import TrackKind, TrackSpec, contribution


def address_of(spec: AddressSpec, default_dev: str | None = None) -> IpAddress:
    """A VIP/eVIP/static address line as the address shell's spec (dev defaults to the
    instance's interface, as keepalived does)."""
    return IpAddress(ip=spec.ip, prefixlen=spec.prefixlen, dev=spec.dev or default_dev,
                     brd=spec.brd, scope=spec.scope, label=spec.label, peer=spec.peer,
                     peer_prefixlen=spec.peer_prefixlen, home=spec.home, nodad=spec.nodad,
                     mngtmpaddr=spec.mngtmpaddr, noprefixroute=spec.noprefixroute,
                     autojoin=spec.autojoin, preferred_lft=spec.preferred_lft)


def route_of(spec: RouteSpec) -> Route:
    return Route(dest=spec.dest, family=spec.family, type=spec.type, src=spec.src,
                 via=spec.via, dev=spec.dev, table=spec.table, metric=spec.metric,
                 scope=spec.scope, proto=spec.proto, tos=spec.tos, onlink=spec.onlink,
                 nexthops=spec.nexthops, options=spec.options)


def rule_of(spec: RuleSpec) -> Rule:
    return Rule(family=spec.family, from_=spec.from_, to=spec.to, not_=spec.not_,
                priority=spec.priority, table=spec.table, action=spec.action, iif=spec.iif,
                oif=spec.oif, fwmark=spec.fwmark, tos=spec.tos, options=spec.options)


def auth_of(inst: VrrpInstance) -> AuthConfig:
    """The instance's authentication (none for v3 or IPv6: keepalived ignores it there)."""
    if inst.version != 2 or inst.family != 4 or not inst.auth_type:
        return AuthConfig.none()
    if inst.auth_type.upper() == "AH":
        return AuthConfig.ah(inst.auth_pass)
    return AuthConfig.pass_(inst.auth_pass)


def mcast_group(inst: VrrpInstance, g: GlobalDefs) -> str:
    if inst.mcast_dst_ip:
        return inst.mcast_dst_ip
    return g.vrrp_mcast_group6 if inst.family == 6 else g.vrrp_mcast_group4


def _track(kind: TrackKind, ref: TrackRef, default_weight: int, initial_ok: bool = True,
           initial_value: int = 0) -> TrackSpec:
    weight = default_weight if ref.weight is None else ref.weight
    return TrackSpec(kind=kind, name=ref.name, weight=weight, reverse=ref.reverse,
                     initial_ok=initial_ok, initial_value=initial_value)


def _script_initial_ok(spec: TrackSpec, init_fail: bool) -> bool:
    """The state a script is assumed in before its first result.

    ``init_fail``: down, applied from the start. Otherwise keepalived's script is in its INIT
    state, which changes nothing until the first result: the state whose contribution is
    neutral (no FAULT, no adjustment), i.e. *down* for a positive weight (it only adds when up),
    *up* for a negative one (it only subtracts when down), *up* for weight 0 (``reverse``:
    down). ``reverse`` flips the sign of an adjustment, never whether it applies.
    """
    if init_fail:
        return False
    for ok in (True, False):
        if contribution(spec, ok, 0) == (False, 0):
            return ok
    return True  # unreachable: one of the two states is always neutral


def track_specs(inst: VrrpInstance, cfg: KeepalivedConfig,
                group: SyncGroup | None = None) -> tuple[TrackSpec, ...]:
    """Every tracker of ``inst`` with the weight that applies (its own, else the object's)."""
    refs_if = list(inst.track_interfaces)
    refs_sc = list(inst.track_scripts)
    refs_fi = list(inst.track_files)
    refs_pr = list(inst.track_processes)
    refs_bfd = list(inst.track_bfds)
    if group is not None:
        refs_if += group.track_interfaces
        refs_sc += group.track_scripts
        refs_fi += group.track_files
        refs_pr += group.track_processes
        refs_bfd += group.track_bfds
    out: list[TrackSpec] = []
    seen: set[tuple[TrackKind, str]] = set()

    def add(spec: TrackSpec) -> None:
        if (spec.kind, spec.name) not in seen:
            seen.add((spec.kind, spec.name))
            out.append(spec)

    for r in refs_if:
        add(_track(TrackKind.INTERFACE, r, 0))
    for r in refs_sc:
        sc = cfg.script(r.name)
        if sc is None:
            continue
        spec = _track(TrackKind.SCRIPT, r, sc.weight)
        if r.weight is None and sc.weight_reverse:
            spec = dataclasses.replace(spec, reverse=True)
        add(dataclasses.replace(spec, initial_ok=_script_initial_ok(spec, sc.init_fail)))
    for r in refs_fi:
        tf = next((f for f in cfg.track_files if f.name == r.name), None)
        if tf is None:
            continue
        spec = _track(TrackKind.FILE, r, tf.weight,
                      initial_value=tf.init_value if tf.init_file else 0)
        if r.weight is None and tf.weight_reverse:
            spec = dataclasses.replace(spec, reverse=True)
        add(spec)
    for r in refs_pr:
        tp = next((p for p in cfg.track_processes if p.name == r.name), None)
        if tp is None:
            continue
        spec = _track(TrackKind.PROCESS, r, tp.weight, initial_ok=False)
        if r.weight is None and tp.weight_reverse:
            spec = dataclasses.replace(spec, reverse=True)
        add(spec)
    for r in refs_bfd:
        bfd = next((b for b in cfg.bfd_instances if b.name == r.name), None)
        add(_track(TrackKind.BFD, r, bfd.weight if bfd else 0))
    for tg in cfg.track_groups:
        if inst.name in tg.instances:
            add(TrackSpec(kind=TrackKind.INTERFACE, name=static_track_name(tg.name)))
    src = tracked_src_ip(inst)
    if src is not None:
        add(TrackSpec(kind=TrackKind.INTERFACE, name=src_track_name(src)))
    return tuple(out)


def tracked_src_ip(inst: VrrpInstance) -> str | None:
    """The source address ``track_src_ip`` watches: the configured ``unicast_src_ip`` or
    ``mcast_src_ip`` (normalised as the kernel reports addresses); None without the keyword,
    or without a configured source (keepalived then drops the keyword)."""
    src = inst.unicast_src_ip or inst.mcast_src_ip
    if not inst.track_src_ip or not src:
        return None
    return str(ipaddress.ip_address(src.split("%", 1)[0]))


def src_track_name(ip: str) -> str:
    """The tracker standing for ``track_src_ip``'s address (see ``static_track_name``): down,
    while the address is missing from the instance's interface, means FAULT."""
    return f"track_src_ip {ip}"


def static_track_name(group: str) -> str:
    """The tracker standing for a static ``track_group`` in an instance's router.

    The router has no tracker kind for static addresses/routes/rules; they fail for the
    reasons an interface does (it went away or down), so the group is an INTERFACE tracker
    with weight 0 (down = FAULT) under a name no kernel interface can have (it holds a space).
    """
    return f"track_group {group}"


def startup_delay(g: GlobalDefs, uptime: float | None) -> float:
    """How long the VRRP start waits: ``vrrp_startup_delay``, or what is left of
    ``vrrp_delay_after_boot`` when the system has been up (``uptime``, /proc/uptime's first
    field) for less than that, whichever is longer (keepalived 2.4.3's rule; an unreadable
    uptime leaves the boot delay out)."""
    after_boot = 0.0
    if g.vrrp_delay_after_boot > 0 and uptime is not None and uptime < g.vrrp_delay_after_boot:
        after_boot = g.vrrp_delay_after_boot - uptime
    return max(g.vrrp_startup_delay, after_boot)


def router_settings(inst: VrrpInstance, cfg: KeepalivedConfig, src_ip: str | None,
                    group: SyncGroup | None = None,
                    garp_extra: tuple[str, ...] = ()) -> RouterSettings:
    """``garp_extra``: the addresses ``garp_extra_if`` announces (``instance.extra_if_addresses``;
    none: no such timer)."""
    g = cfg.global_defs
    return RouterSettings(
        name=inst.name,
        vrid=inst.vrid,
        priority=inst.priority,
        version=inst.version,
        family=inst.family,
        advert_int=inst.advert_int,
        initial_state=State.MASTER if inst.state is VrrpState.MASTER else State.BACKUP,
        preempt=not inst.nopreempt,
        preempt_delay=inst.preempt_delay,
        addresses=tuple(a.ip for a in inst.virtual_ipaddresses),
        excluded_addresses=tuple(a.ip for a in inst.virtual_ipaddresses_excluded),
        src_ip=src_ip,
        unicast_peers=tuple(p.ip for p in inst.unicast_peers),
        interface=inst.interface,
        down_timer_adverts=inst.down_timer_adverts,
        timer_expired_backup=inst.timer_expired_backup or 0,
        lower_prio_no_advert=inst.lower_prio_no_advert,
        higher_prio_send_advert=inst.higher_prio_send_advert,
        owner_ignore_adverts=inst.owner_ignore_adverts,
        skip_check_adv_addr=inst.skip_check_adv_addr,
        accept=inst.accept,
        strict=inst.strict,
        garp_master_delay=inst.garp_master_delay,
        garp_master_repeat=inst.garp_master_repeat,
        garp_master_refresh=inst.garp_master_refresh,
        garp_master_refresh_repeat=inst.garp_master_refresh_repeat,
        garp_lower_prio_delay=inst.garp_lower_prio_delay,
        garp_lower_prio_repeat=inst.garp_lower_prio_repeat,
        min_garp=g.vrrp_min_garp,
        garp_extra_if=(inst.garp_extra_if or 0.0) if garp_extra else 0.0,
        garp_extra_addresses=garp_extra,
        dont_track_primary=inst.dont_track_primary,
        tracks=track_specs(inst, cfg, group),
    )


def polled_interfaces(cfg: KeepalivedConfig) -> tuple[dict[str, str], list[str]]:
    """``linkbeat_interfaces`` and ``linkbeat_use_polling``: the interfaces whose link state is
    polled (name -> the configured method, "" for the first that works). Global polling
    covers each instance's own interface; an interface no instance uses (as its interface or
    a tracked one) is not polled, as keepalived turns it off: those come second."""
    wanted = {lb.name: lb.method for lb in cfg.linkbeat_interfaces}
    used: set[str] = set()
    for c in cfg.vrrp_instances:
        ifname = c.interface or cfg.global_defs.default_interface
        if ifname:
            used.add(ifname)
            if cfg.linkbeat_use_polling or c.linkbeat_use_polling:
                wanted.setdefault(ifname, "")
        used.update(t.name for t in c.track_interfaces)
    for g in cfg.sync_groups:
        used.update(t.name for t in g.track_interfaces)
    unused = [n for n in wanted if n not in used]
    return {n: m for n, m in wanted.items() if n in used}, unused


def wire_settings(inst: VrrpInstance, src: str, group: str, dsts: tuple[str, ...],
                  vmac: bool) -> WireSettings:
    """The instance's adverts on the wire: sent from ``src`` to ``dsts`` (the multicast
    ``group`` or the unicast peers); ``vmac``: read on a VMAC and its base interface."""
    peers = None
    if inst.check_unicast_src or any(p.min_ttl is not None or p.max_ttl is not None
                                     for p in inst.unicast_peers):
        peers = {p.ip: (p.min_ttl if p.min_ttl is not None else 0,
                        p.max_ttl if p.max_ttl is not None else 255)
                 for p in inst.unicast_peers}
    return WireSettings(
        family=inst.family, src=src, destinations=dsts, mcast_group=group,
        unicast=inst.unicast, auth=auth_of(inst),
        ttl=inst.unicast_ttl if inst.unicast else VRRP_TTL,
        v3_checksum_as_v2=inst.v3_checksum_as_v2, unicast_peers=peers, vmac=vmac,
        old_unicast_checksum=inst.old_unicast_checksum)


_NOT_A_DATACLASS: tuple[str, ...] = ()
_POSITIONS = ("line", "file")  # where a config object was written
_FIELDS: dict[type, tuple[str, ...]] = {}  # per dataclass: its fields but the positions


def position_free(value: Any) -> Any:
    """A comparison key for ``value`` that leaves out every ``line``/``file`` field,
    recursively through dataclasses and tuples: two config objects that differ only in where
    they were written have equal keys. Built as plain tuples (no dataclass copies): a reload
    compares every instance's key, 1000 of them under a second's budget."""
    cls = type(value)
    names = _FIELDS.get(cls)
    if names is None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = tuple(f.name for f in dataclasses.fields(value)
                          if f.name not in _POSITIONS)
        else:
            names = _NOT_A_DATACLASS
        _FIELDS[cls] = names
    if names is not _NOT_A_DATACLASS:
        return (cls, *(position_free(getattr(value, n)) for n in names))
    if cls is tuple:
        return tuple(position_free(v) for v in value)
    if cls is AddressList:  # packed runs of addresses: compared run by run, lines left out
        return (cls, *((p.addresses, p.prefixlens) if isinstance(p, PackedV4)
                       else position_free(p) for p in value.parts()))
    return value


def instance_identity(inst: VrrpInstance, cfg: KeepalivedConfig) -> tuple[Any, ...]:
    """What must be equal for a reload to keep an instance exactly as it runs (state,
    addresses, timers): the instance block itself, the trackers it uses and the VRRP globals."""
    g = cfg.global_defs
    scripts = tuple(position_free(cfg.script(r.name)) for r in inst.track_scripts)
    group = cfg.sync_group(inst.sync_group)
    globals_used = (g.vrrp_mcast_group4, g.vrrp_mcast_group6, g.vrrp_min_garp, g.vrrp_strict,
                    g.nftables, g.vmac_prefix, g.vmac_addr_prefix)
    return (position_free(inst), scripts, position_free(group), globals_used)


# VRRP header, IPv2 authentication data, IPv4 header, IPsec-AH header (keepalived's sizes)
_VRRP_HDR, _AUTH_DATA, _IP4_HDR, _AH_HDR = 8, 8, 20, 24


def advert_len(c: VrrpInstance) -> int:
    """The length of the instance's adverts as the receive socket queues them: the VRRP
    message (its addresses, v2's authentication data), after the IPv4 header (and AH) for
    IPv4 (an IPv6 raw socket gets no IP header). keepalived's ``vrrp_adv_len``."""
    n = sum(1 for a in c.virtual_ipaddresses if a.family == c.family)
    if c.family == 6:
        return _VRRP_HDR + 16 * n
    ah = _AH_HDR if c.auth_type == "AH" else 0
    return _IP4_HDR + ah + _VRRP_HDR + (_AUTH_DATA if c.version == 2 else 0) + 4 * n


def rx_buf_share(c: VrrpInstance, g: GlobalDefs, mtu: int) -> int:
    """What instance ``c`` adds to its receive socket's SO_RCVBUF, as keepalived sums it over
    the instances sharing a socket: ``kernel_rx_buf_size``, else by ``vrrp_rx_bufs_policy``
    (a size; ``vrrp_rx_bufs_multiplier`` adverts; that many MTUs of its interface, ``mtu``).
    0: the instance asks for nothing (a socket none asks for keeps pykeepalived's default)."""
    if c.kernel_rx_buf_size:
        return c.kernel_rx_buf_size
    policy = g.vrrp_rx_bufs_policy
    if policy == "SIZE":
        return g.vrrp_rx_bufs_size
    if policy == "ADVERT":
        return g.vrrp_rx_bufs_multiplier * advert_len(c)
    if policy == "MTU":
        return g.vrrp_rx_bufs_multiplier * mtu
    return 0
