"""Finishing: the rules that need the whole file. Global defaults into instances, each
instance's cross-field rules (family, version, advert rounding, authentication, preemption,
strict mode, unicast / VMAC, interface), sync groups, garp groups, tracking references,
duplicate VRIDs; then the frozen ``KeepalivedConfig``."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import Any, cast

import pykeepalived.config.splitbrain as sbconf
from pykeepalived.config.model import (
    AddressList,
    AddressSpec,
    GlobalDefs,
    KeepalivedConfig,
    PackedV4,
    Severity,
    SyncGroup,
    TrackRef,
    VrrpInstance,
    VrrpScript,
    VrrpState,
)
from pykeepalived.config.parse.builders import InstanceBuilder
from pykeepalived.config.parse.context import Parser, ParseState

_MISSING_IF = re.compile(r"^WARNING - interface \S+ for |\) tracked interface \S+ doesn't exist$")
_GD_FIELDS = frozenset(f.name for f in fields(GlobalDefs))
_VI_FIELDS = frozenset(f.name for f in fields(VrrpInstance))

# vrrp_instance keyword -> the global_defs field it defaults to
INHERITED = {
    "skip_check_adv_addr": "vrrp_skip_check_adv_addr",
    "v3_checksum_as_v2": "v3_checksum_as_v2",
    "check_unicast_src": "vrrp_check_unicast_src",
    "lower_prio_no_advert": "vrrp_lower_prio_no_advert",
    "higher_prio_send_advert": "vrrp_higher_prio_send_advert",
    "owner_ignore_adverts": "vrrp_owner_ignore_adverts",
    "down_timer_adverts": "vrrp_down_timer_adverts",
    "garp_master_delay": "vrrp_garp_master_delay",
    "garp_master_repeat": "vrrp_garp_master_repeat",
    "garp_master_refresh": "vrrp_garp_master_refresh",
    "garp_master_refresh_repeat": "vrrp_garp_master_refresh_repeat",
    "garp_interval": "vrrp_garp_interval",
    "gna_interval": "vrrp_gna_interval",
    "garp_extra_if": "vrrp_garp_extra_if",
    "garp_extra_if_all": "vrrp_garp_extra_if_all",
    "notify_priority_changes": "vrrp_notify_priority_changes",
}


def finish(st: ParseState, config_id: str, hostname: str) -> KeepalivedConfig:
    """Cross-block rules: global defaults into instances, sync groups, tracking."""
    p = Parser(st)
    gk = {k: v for k, v in st.glob.values.items() if k in _GD_FIELDS}
    gk.setdefault("router_id", hostname)
    gk["other"] = tuple(st.glob.other)
    g = GlobalDefs(**gk)
    instances = [sbconf.finish_instance(p, _InstanceFinish(p, b, g).result(), b.split_brain)
                 for b in st.instances]
    sbconf.finish(p, instances, st.top.values.get("lease_arbiter"))
    instances, groups = _sync_groups(p, st, g, instances)
    # a garp_group sets the GARP/NA spacing of the interfaces it names
    per_if = {i: gg for gg in st.garp_groups for i in gg.interfaces}
    instances = [replace(i, garp_interval=per_if[i.interface].garp_interval,
                         gna_interval=per_if[i.interface].gna_interval)
                 if i.interface in per_if else i for i in instances]
    instances = _weights_ignored(p, st, instances, {sg.name: sg for sg in groups})
    instances, kept_scripts = _check_tracking(p, st, instances)
    _check_vrids(p, instances)
    if any(m.text.endswith(" doesn't exist") and _MISSING_IF.search(m.text)
           for m in p.messages):
        # keepalived's summary line after the per-interface warnings
        p.late("Non-existent interface specified in configuration")
    top = st.top.values
    return KeepalivedConfig(
        global_defs=g, vrrp_instances=tuple(instances), sync_groups=tuple(groups),
        vrrp_scripts=tuple(kept_scripts), track_files=tuple(st.track_files),
        track_processes=tuple(st.track_processes), track_groups=tuple(st.track_groups),
        static_addresses=AddressList.of(st.static_addresses),
        static_routes=tuple(st.static_routes),
        static_rules=tuple(st.static_rules), garp_groups=tuple(st.garp_groups),
        linkbeat_interfaces=tuple(st.linkbeat), interface_up_down_delays=tuple(st.updown),
        bfd_instances=tuple(st.bfds), virtual_server_groups=tuple(st.vsgs),
        virtual_servers=tuple(st.vss), ssl=st.ssl,
        net_namespace=top.get("net_namespace"),
        net_namespace_ipvs=top.get("net_namespace_ipvs"),
        instance_name=top.get("instance_name"),
        use_pid_dir=bool(top.get("use_pid_dir")),
        child_wait_time=top.get("child_wait_time", 5.0),
        linkbeat_use_polling=bool(top.get("linkbeat_use_polling")),
        lease_arbiter=top.get("lease_arbiter"))


def _sync_groups(p: Parser, st: ParseState, g: GlobalDefs, instances: list[VrrpInstance]
                 ) -> tuple[list[VrrpInstance], list[SyncGroup]]:
    """Members that exist and are in no other group; single-member and empty groups are
    reported (empty ones dropped); each member learns its group."""
    by_name = {i.name: i for i in instances}
    groups: list[SyncGroup] = []
    for sg in st.sync_groups:
        members = []
        for m in sg.members:
            if m not in by_name:
                p.late(f"Virtual router {m} specified in sync group {sg.name} doesn't exist - "
                       "ignoring")
                continue
            if by_name[m].sync_group is not None:
                p.late(f"Virtual router {m} cannot exist in more than one sync group; "
                       f"ignoring {sg.name}")
                continue
            members.append(m)
            by_name[m] = replace(by_name[m], sync_group=sg.name)
        if len(members) == 1:
            p.late(f"Sync group {sg.name} has only 1 virtual router(s) - this probably isn't "
                   "what you want")
        if not members:
            p.late(f"Sync group {sg.name} has no virtual router(s) - removing")
            continue
        own_npc = {b.name for b in st.instances if "notify_priority_changes" in b.values}
        for m in members:
            if sg.name in st.sync_group_npc_set and m not in own_npc:
                # keepalived: an instance's own setting, else its group's, else the global
                by_name[m] = replace(by_name[m],
                                     notify_priority_changes=sg.notify_priority_changes)
            inst = by_name[m]
            own = {inst.interface} | {t.name for t in inst.track_interfaces}
            for t in sg.track_interfaces:
                if t.name in own:
                    p.late(f"({m}) track_interface {t.name} is configured on VRRP instance and "
                           "sync group. Remove vrrp instance or sync group config")
        smtp = sg.smtp_alert if sg.name in st.sync_group_smtp_set else bool(
            g.smtp_alert_vrrp if g.smtp_alert_vrrp is not None else g.smtp_alert)
        groups.append(replace(sg, members=tuple(members), smtp_alert=smtp))
    return [by_name[i.name] for i in instances], groups


class _InstanceFinish:
    """One instance's cross-field rules, in keepalived's order (its messages come out in
    that order). Each step reads the builder and what the earlier steps decided."""

    def __init__(self, p: Parser, b: InstanceBuilder, g: GlobalDefs) -> None:
        self.p, self.b, self.g, self.v = p, b, g, b.values
        self.name = b.name
        self.vals: dict[str, Any] = {k: x for k, x in b.values.items() if k in _VI_FIELDS}

    def warn(self, text: str, kw: str | None = None, sev: Severity = Severity.WARNING) -> None:
        """Against the line of keyword ``kw`` when it was given, else for the whole config."""
        n = self.b.nodes.get(kw) if kw else None
        if n is not None:
            self.p.at(n, text, sev)
        else:
            self.p.late(text, sev)

    def result(self) -> VrrpInstance:
        self.addresses()
        self.version_and_advert()
        self.authentication()
        self.preemption()
        self.accept_and_unicast()
        self.vmac()
        self.interface_and_tracking()
        self.strict_mode()
        return self.assemble()

    def addresses(self) -> None:
        """(The lists hold addresses and packed runs of plain IPv4 ones: ``AddressList``.)"""
        v, name = self.v, self.name
        vips: list[AddressSpec | PackedV4] = list(v.get("virtual_ipaddresses", []))
        evips: list[AddressSpec | PackedV4] = list(v.get("virtual_ipaddresses_excluded", []))
        fam = _family(vips[0]) if vips else (_family(evips[0]) if evips else 4)
        if v.get("native_ipv6"):
            fam = 6
        same = [x for x in vips if _family(x) == fam]
        if len(same) != len(vips):
            self.warn(f"({name}) address family mismatch in virtual_ipaddress - moving other "
                      "family addresses to excluded", "virtual_ipaddress")
            evips.extend(x for x in vips if _family(x) != fam)
            vips = same
        self.vips, self.evips, self.fam = vips, evips, fam

    def version_and_advert(self) -> None:
        v, g, name, fam = self.v, self.g, self.name, self.fam
        self.strict = v.get("strict", g.vrrp_strict)
        version = v.get("version", g.vrrp_version if fam == 4 else 3)
        if fam == 6 and v.get("version") == 2 and self.vips:
            self.warn(f"({name}) vrrp_version 2 conflicts with configured or deduced version 3; "
                      "ignoring.", "version", Severity.ERROR)
        if fam == 6:
            version = 3
        raw = v.get("advert_int", 1.0)
        if version == 2:
            adv = float(round(raw)) if raw >= 1 else 1.0
            if adv != raw:
                self.warn(f"({name}) Version 2 advertisement interval {raw:g}s must be an "
                          f"integer - rounding to {adv:g}s", "advert_int")
        else:
            cs = round(raw * 100)
            if abs(cs - raw * 100) > 1e-6:
                self.warn(f"({name}) VRRPv3 advertisement interval {raw:.6f}s must be in units "
                          "of 10ms - rounding")
            if cs > 4095:
                self.warn(f"({name}) VRRPv3 advertisement interval {raw:.2f}s is out of range. "
                          "Must be less than 40.96s. Setting to 40.95s")
                cs = 4095
            adv = max(cs, 1) / 100.0
        self.version, self.advert_int = version, adv
        self.state = v.get("state", VrrpState.BACKUP)
        # keepalived: with no priority configured, state MASTER means the address owner
        self.priority = v.get("priority", 255 if self.state == VrrpState.MASTER else 100)

    def authentication(self) -> None:
        name = self.name
        auth_type = self.v.get("auth_type")
        auth_pass = self.v.get("auth_pass", b"")
        if auth_type and self.version == 3:
            self.warn(f"({name}) VRRP version 3 does not support authentication. Ignoring.")
            auth_type, auth_pass = None, b""
        if auth_type and self.strict:
            self.warn(f"({name}) Strict mode does not support authentication. Ignoring.")
            auth_type, auth_pass = None, b""
        if auth_type == "AH" and self.state == VrrpState.MASTER:
            self.warn(f"({name}) Initial state master is incompatible with AH authentication - "
                      "clearing")
            self.state = VrrpState.BACKUP
        if auth_type and not auth_pass:
            self.warn(f"({name}) authentication with no password - clearing")
            auth_type = None
        if auth_type:
            auth_pass = auth_pass.ljust(8, b"\0")[:8]
        self.auth_type, self.auth_pass = auth_type, auth_pass if auth_type else b""

    def preemption(self) -> None:
        name, state = self.name, self.state
        nopreempt = self.v.get("nopreempt", False)
        if nopreempt and self.priority == 255:
            self.warn(f"({name}) nopreempt is incompatible with priority 255. resetting "
                      "nopreempt")
            nopreempt = False
        if nopreempt and state == VrrpState.MASTER:
            self.warn(f"({name}) Warning - nopreempt will not work with initial state MASTER - "
                      "clearing", "nopreempt")
            nopreempt = False
        preempt_delay = self.v.get("preempt_delay", 0.0)
        if preempt_delay and state == VrrpState.MASTER:
            self.warn(f"({name}) Warning - preempt delay will not work with initial state "
                      "MASTER - clearing")
            preempt_delay = 0.0
        if preempt_delay and (nopreempt or self.strict):
            self.warn(f"({name}) preempt_delay is incompatible with nopreempt or strict mode - "
                      "resetting", "preempt_delay")
            preempt_delay = 0.0
        self.nopreempt, self.preempt_delay = nopreempt, preempt_delay
        if self.v.get("timer_expired_backup") and not nopreempt:
            # keepalived 2.4 names the keyword so in this message
            self.warn(f"({name}) expired_timer_backup requires nopreempt - resetting",
                      "timer_expired_backup", Severity.ERROR)
            self.vals["timer_expired_backup"] = None

    def accept_and_unicast(self) -> None:
        v, name = self.v, self.name
        accept = v.get("accept", True)
        if self.strict:
            if self.b.accept_given and accept and self.priority != 255:
                self.warn(f"({name}) Strict mode requires no_accept - resetting", "accept")
            accept = self.priority == 255
        self.accept = accept
        self.peers = tuple(v.get("unicast_peers", []))
        vips = self.vips
        if self.strict and self.fam == 6 and vips and \
                not cast(AddressSpec, vips[0]).ip.lower().startswith("fe80:"):
            self.warn(f"({name}) the first IPv6 VIP address must be link local in strict mode",
                      None, Severity.ERROR)
        if self.b.unicast_keyword and not self.peers and not v.get("unicast_fault_no_peer"):
            self.warn(f"({name}) A unicast keyword has been specified without any unicast "
                      "peers. Defaulting to multicast. This usage is deprecated - please "
                      "update your configuration.")
        self.mcast_dst_ip = v.get("mcast_dst_ip")
        if self.peers and self.mcast_dst_ip is not None:
            self.warn(f"({name}) multicast destination specified with unicast - ignoring",
                      "mcast_dst_ip", Severity.ERROR)
            self.mcast_dst_ip = None
        if "unicast_ttl" in v and not self.peers:
            self.warn(f"({name}): Cannot use unicast_ttl without unicast peers - resetting",
                      "unicast_ttl")

    def vmac(self) -> None:
        v, name = self.v, self.name
        vmac = v.get("use_vmac")
        xmit_base = v.get("vmac_xmit_base", False)
        if self.peers and vmac is not None and not xmit_base:
            self.warn(f"({name}) unicast with use_vmac requires vmac_xmit_base - setting",
                      "use_vmac")
            xmit_base = True
        if self.strict and vmac is not None and vmac.mac is not None:
            self.warn(f"({name}): cannot specify MAC address with strict mode - clearing",
                      "use_vmac", Severity.ERROR)
            vmac = replace(vmac, mac=None)
        if self.strict and vmac is not None and xmit_base:
            self.warn(f"({name}) xmit_base is incompatible with strict mode - resetting",
                      "vmac_xmit_base", Severity.ERROR)
            xmit_base = False
        if vmac is not None and vmac.name:
            owner = self.p.st.vmac_names.get(vmac.name)
            if owner is not None and owner != name:
                self.warn(f"({name}) VRRP instance {owner} is already using {vmac.name} - "
                          "ignoring name", "use_vmac")
                vmac = replace(vmac, name=None)
            else:
                self.p.st.vmac_names[vmac.name] = name
        if xmit_base and vmac is None:
            self.warn(f"({name}) vmac_xmit_base is only valid with a vmac")
            xmit_base = False
        ipvlan = v.get("use_ipvlan")
        if ipvlan is not None and self.fam == 4 and ipvlan.address is None:
            self.warn(f"({name}) IPv4 ipvlan requires a source ip address to be configured. "
                      "setting instance to fault state")
        if vmac is not None and v.get("promote_secondaries"):
            self.warn(f"({name}) promote_secondaries is automatically set for vmacs - ignoring")
        self.vmac_spec, self.xmit_base = vmac, xmit_base

    def interface_and_tracking(self) -> None:
        v, g, name, p = self.v, self.g, self.name, self.p
        interface = v.get("interface")
        if interface is None:
            if self.vmac_spec is not None or v.get("use_ipvlan") is not None:
                p.late(f"({name}) Unknown interface!", Severity.ERROR)
            elif "default_interface" in p.st.glob.seen:
                interface = g.default_interface
            else:
                p.late(f"({name}) Unknown interface!", Severity.ERROR)
        tracked: tuple[TrackRef, ...] = v.get("track_interfaces", ())
        for t in tracked:
            if t.name == interface:
                self.warn(f"({name}) Ignoring track_interface {t.name} since own interface")
            elif not p.st.env.interface_exists(t.name) and not g.dynamic_interfaces:
                self.warn(f"({name}) tracked interface {t.name} doesn't exist",
                          "track_interface")
        self.interface = interface
        self.vrf = v.get("vrf")
        if self.vrf is not None and (interface is not None or not self.peers):
            self.warn(f"({name}) vrf can only be specified with"
                      f"{'out interface' if interface is not None else ' unicast'} - clearing",
                      "vrf", Severity.ERROR)
            self.vrf = None
        self.track_interfaces = tuple(t for t in tracked if t.name != interface)
        if not self.vips and not v.get("no_virtual_ipaddress") and not (
                self.version == 3 or self.strict):
            self.warn(f"({name}) No VIP specified; at least one is sensible")
        if "vrid" not in v:
            p.late(f"({name}) the virtual router id must be set", Severity.ERROR)
        for r in v.get("virtual_routes", []):
            if r.dev is None and not r.no_track:
                self.warn(f"Warning - cannot track route {r.dest} with no interface specified, "
                          "not tracking", "virtual_routes")

    def strict_mode(self) -> None:
        """keepalived's strict-mode rules for what the instance set itself: repeated and
        delayed lower-priority GARPs, lower-priority adverts, answering higher priorities,
        down_timer_adverts, state against address ownership. Unset, they take strict mode's
        values; set against it, they are reported and reset."""
        v, name, strict = self.v, self.name, self.strict
        fixed: dict[str, Any] = {}
        rules = (
            ("garp_lower_prio_repeat", 0, "Strict mode requires no repeat garps. resetting"),
            ("garp_lower_prio_delay", 0.0, "Strict mode requires no repeat garp delay. "
             "resetting"),
            ("lower_prio_no_advert", True, "Strict mode requires no lower priority advert. "
             "resetting"),
            ("higher_prio_send_advert", False, "strict mode requires higher_prio_send_advert "
             "to be clear. resetting"),
        )
        for key, value, text in rules if strict else ():
            if key in v and v[key] != value:
                self.warn(f"({name}) {text}", key, Severity.ERROR)
            fixed[key] = value
        if strict and v.get("down_timer_adverts", 3) != 3:
            self.warn(f"({name}) down_timer_adverts is incompatible with strict mode - "
                      "resetting", "down_timer_adverts", Severity.ERROR)
            fixed["down_timer_adverts"] = 3
        elif strict:
            fixed["down_timer_adverts"] = 3
        if strict and "state" in v and (self.state == VrrpState.MASTER) != (
                self.priority == 255):
            self.warn(f"({name}) State MASTER must match being address owner", "state",
                      Severity.ERROR)
            self.state = VrrpState.MASTER if self.priority == 255 else VrrpState.BACKUP
        if not self.vips and (self.version == 3 or strict) and \
                not v.get("no_virtual_ipaddress"):
            self.warn(f"({name}) No VIP specified; at least one is required", None,
                      Severity.ERROR)
        self.strict_fixed = fixed

    def assemble(self) -> VrrpInstance:
        v, g, vals = self.v, self.g, self.vals
        vals.update(
            state=self.state, interface=self.interface, priority=self.priority,
            advert_int=self.advert_int, version=self.version, family=self.fam,
            auth_type=self.auth_type, auth_pass=self.auth_pass,
            virtual_ipaddresses=AddressList.of(self.vips),
            virtual_ipaddresses_excluded=AddressList.of(self.evips),
            virtual_routes=tuple(v.get("virtual_routes", ())),
            virtual_rules=tuple(v.get("virtual_rules", ())),
            nopreempt=self.nopreempt, preempt_delay=self.preempt_delay, accept=self.accept,
            strict=self.strict, unicast_peers=self.peers, vmac_xmit_base=self.xmit_base,
            use_vmac=self.vmac_spec, track_interfaces=self.track_interfaces,
            smtp_alert=v.get("smtp_alert", bool(g.smtp_alert_vrrp if g.smtp_alert_vrrp
                                                is not None else g.smtp_alert)),
        )
        # what an instance does not set itself it takes from global_defs
        vals.update({k: v[k] if k in v else getattr(g, gk) for k, gk in INHERITED.items()})
        # keepalived 2.2.7: unset, they follow the global vrrp_garp_lower_prio_* which default to
        # the *global* garp delay/repeat, not this instance's garp_master_delay/repeat
        vals["garp_lower_prio_delay"] = v.get(
            "garp_lower_prio_delay", g.vrrp_garp_lower_prio_delay
            if g.vrrp_garp_lower_prio_delay is not None else g.vrrp_garp_master_delay)
        vals["garp_lower_prio_repeat"] = v.get(
            "garp_lower_prio_repeat", g.vrrp_garp_lower_prio_repeat
            if g.vrrp_garp_lower_prio_repeat is not None else g.vrrp_garp_master_repeat)
        vals.update(self.strict_fixed)
        vals.update(name=self.name, file=self.b.file, line=self.b.line, vrf=self.vrf,
                    mcast_dst_ip=self.mcast_dst_ip)
        return VrrpInstance(**vals)


def _family(x: AddressSpec | PackedV4) -> int:
    return 4 if isinstance(x, PackedV4) else x.family


def _weights_ignored(p: Parser, st: ParseState, instances: list[VrrpInstance],
                     groups: dict[str, SyncGroup]) -> list[VrrpInstance]:
    """keepalived ignores script weights for an address owner, and inside a sync group unless
    ``sync_group_tracking_weight``: the weight is reported and set to 0 here."""
    scripts = {s.name: s for s in st.scripts}
    out: list[VrrpInstance] = []
    for inst in instances:
        sg = groups.get(inst.sync_group) if inst.sync_group else None
        why = ("address_owner" if inst.priority == 255 else
               "SYNC group" if sg is not None and not sg.sync_group_tracking_weight else None)
        if why is None:
            out.append(inst)
            continue
        refs: list[TrackRef] = []
        for t in inst.track_scripts:
            sc = scripts.get(t.name)
            w = t.weight if t.weight is not None else (sc.weight if sc else 0)
            if w:
                p.late(f"({inst.name}) ignoring tracked script {t.name} with weights due to "
                       f"{why}")
                t = replace(t, weight=0)
            refs.append(t)
        out.append(replace(inst, track_scripts=tuple(refs)))
    return out


def _check_tracking(p: Parser, st: ParseState, instances: list[VrrpInstance]
                    ) -> tuple[list[VrrpInstance], list[VrrpScript]]:
    """Scripts that cannot be found are disabled (removed, with the references to them), and
    references to undefined trackers are dropped, so consumers never meet a dangling name."""
    if not instances:
        return instances, st.scripts  # no VRRP process: keepalived does not look at them
    missing = {s.name for s in st.scripts if st.env.find_script(s.argv[0]) is None}
    for s in st.scripts:
        if s.name in missing:
            p.late(f"Disabling track script {s.name} since not found/accessible")
    scripts = {s.name for s in st.scripts}
    files = {f.name for f in st.track_files}
    procs = {f.name for f in st.track_processes}
    bfds = {f.name for f in st.bfds}
    out: list[VrrpInstance] = []
    for inst in instances:
        def keep(refs: tuple[TrackRef, ...], known: set[str], label: str,
                 inst: VrrpInstance = inst) -> tuple[TrackRef, ...]:
            kept = []
            for t in refs:
                if t.name not in known:
                    p.late(f"({inst.name}) {label} {t.name} not found, ignoring...")
                else:
                    kept.append(t)
            return tuple(kept)

        ts = keep(inst.track_scripts, scripts, "track script")
        out.append(replace(
            inst, track_scripts=tuple(t for t in ts if t.name not in missing),
            track_files=keep(inst.track_files, files, "track_file"),
            track_processes=keep(inst.track_processes, procs, "track_process"),
            track_bfds=keep(inst.track_bfds, bfds, "track_bfd")))
    return out, [s for s in st.scripts if s.name not in missing]


def _check_vrids(p: Parser, instances: list[VrrpInstance]) -> None:
    seen: dict[tuple[str | None, int, int], str] = {}
    for i in instances:
        if not i.vrid or i.unicast:
            continue
        key = (i.interface, i.family, i.vrid)
        if key in seen:
            p.late(f"VRID {i.vrid} is duplicated on interface {i.interface} "
                   f"({seen[key]} and {i.name})", Severity.ERROR)
        else:
            seen[key] = i.name
