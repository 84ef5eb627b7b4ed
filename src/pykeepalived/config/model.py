"""The typed, immutable keepalived.conf model every other package codes against.

Contract: fields may be ADDED, never renamed or removed. Every value already has keepalived's
default applied and every inheritance already resolved (global defaults into instances,
virtual server -> real server -> checker), so consumers never re-implement either.
Times are float seconds; ``file``/``line`` say where a block was defined (for log messages).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from socket import inet_ntoa
from typing import NamedTuple, overload

from pykeepalived.vrrp.constants import MCAST_GROUP4, MCAST_GROUP6


class Severity(enum.IntEnum):
    """Ordered so that ``max()`` of the messages gives the worst one."""

    INFO = 0
    WARNING = 1
    ERROR = 2
    FATAL = 3  # keepalived cannot run (missing file, ...): config test exit 4
    SECURITY = 4  # scripts would run as root without enable_script_security: exit 6


@dataclass(frozen=True)
class ConfigMessage:
    file: str
    line: int  # 0 = not tied to a line
    severity: Severity
    text: str

    def format(self) -> str:
        """keepalived's phrasing: ``(FILE: Line N) message``; bare text when not tied to a line."""
        if self.line <= 0:
            return self.text
        return f"({self.file}: Line {self.line}) {self.text}"


class VrrpState(enum.Enum):
    MASTER = "MASTER"
    BACKUP = "BACKUP"


class LvsDataplane(enum.Enum):
    """pykeepalived addition: which kernel dataplane implements virtual servers."""

    IPVS = "ipvs"
    NFTABLES = "nftables"
    AUTO = "auto"


# --------------------------------------------------------------------------- common pieces


@dataclass(frozen=True)
class NotifyScript:
    """A script to run: argv already split as keepalived splits it; user/group None = default."""

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    line: int = 0

    @property
    def path(self) -> str:
        return self.argv[0] if self.argv else ""


@dataclass(frozen=True)
class NotifyFifo:
    path: str
    user: str | None = None
    group: str | None = None
    script: NotifyScript | None = None


@dataclass(frozen=True)
class TrackRef:
    """An entry of track_interface/track_script/track_file/track_process/track_bfd.

    ``weight`` None means "use the tracked object's own weight" (scripts, files, processes,
    BFD instances); for track_interface None means 0 (interface down = FAULT).
    """

    name: str
    weight: int | None = None
    reverse: bool = False


@dataclass(frozen=True)
class AddressSpec:
    """One line of virtual_ipaddress / virtual_ipaddress_excluded / static_ipaddress.

    ``dev`` None means the instance's interface (its VMAC/ipvlan interface when it has one).
    """

    ip: str
    prefixlen: int
    family: int  # 4 or 6
    brd: str | None = None  # an address, "+" or "-"
    dev: str | None = None
    scope: str | None = None
    label: str | None = None
    peer: str | None = None
    peer_prefixlen: int | None = None
    home: bool = False
    nodad: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    no_track: bool = False
    use_vmac: bool = False
    preferred_lft: int | None = None  # None = kernel default (forever); 0 = deprecated
    track_group: str | None = None
    line: int = 0


class PackedV4(NamedTuple):
    """Consecutive plain IPv4 addresses (``ADDRESS[/LEN]`` and nothing else) of one block, on
    consecutive lines from ``first_line`` on: 4 bytes of address and 1 of prefix length each."""

    addresses: bytes
    prefixlens: bytes
    first_line: int


class AddressList(Sequence[AddressSpec]):
    """The addresses of a ``virtual_ipaddress`` / ``static_ipaddress`` block when it holds long
    runs of plain IPv4 addresses (``PackedV4``, 5 bytes each, against some 400 for an
    ``AddressSpec``): a sequence of ``AddressSpec`` made as they are read, in order, that
    compares, hashes and prints as the tuple of them. Any other address is kept as it is."""

    __slots__ = ("_hash", "_len", "_parts")

    def __init__(self, parts: Iterable[AddressSpec | PackedV4]) -> None:
        self._parts = tuple(parts)
        self._len = sum(len(x.prefixlens) if isinstance(x, PackedV4) else 1
                        for x in self._parts)
        self._hash: int | None = None

    @staticmethod
    def of(parts: Iterable[AddressSpec | PackedV4]) -> tuple[AddressSpec, ...] | AddressList:
        """``parts`` as a plain tuple when none is packed, else as an AddressList."""
        got = tuple(parts)
        if any(isinstance(x, PackedV4) for x in got):
            return AddressList(got)
        return got  # type: ignore[return-value]

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[AddressSpec]:
        for part in self._parts:
            if isinstance(part, PackedV4):
                yield from _unpack(part, 0, len(part.prefixlens))
            else:
                yield part

    @overload
    def __getitem__(self, i: int) -> AddressSpec: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[AddressSpec, ...]: ...

    def __getitem__(self, i: int | slice) -> AddressSpec | tuple[AddressSpec, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("address index out of range")
        for part in self._parts:
            n = len(part.prefixlens) if isinstance(part, PackedV4) else 1
            if i < n:
                return next(_unpack(part, i, i + 1)) if isinstance(part, PackedV4) else part
            i -= n
        raise IndexError("address index out of range")  # (not reached)

    def families(self) -> set[int]:
        return {4 if isinstance(x, PackedV4) else x.family for x in self._parts}

    def parts(self) -> tuple[AddressSpec | PackedV4, ...]:
        return self._parts

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AddressList):
            if self._parts == other._parts:
                return True
            return self._len == other._len and tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return self._len == len(other) and tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __repr__(self) -> str:
        return repr(tuple(self))


def _unpack(p: PackedV4, lo: int, hi: int) -> Iterator[AddressSpec]:
    addrs, plens, first = p
    for i in range(lo, hi):
        yield AddressSpec(inet_ntoa(addrs[4 * i:4 * i + 4]), plens[i], 4, line=first + i)


@dataclass(frozen=True)
class RouteSpec:
    """One `ip route`-syntax line; ``options`` keeps every keyword/value in order."""

    dest: str  # prefix, "default", or "TYPE prefix" already split into ``type``
    family: int
    type: str | None = None  # unicast, blackhole, unreachable, prohibit, ...
    src: str | None = None
    via: str | None = None
    via_family: int | None = None
    dev: str | None = None
    table: str | None = None
    metric: int | None = None
    scope: str | None = None
    proto: str | None = None
    tos: int | None = None
    onlink: bool = False
    nexthops: tuple[tuple[tuple[str, str], ...], ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    no_track: bool = False
    track_group: str | None = None
    line: int = 0


@dataclass(frozen=True)
class RuleSpec:
    """One `ip rule`-syntax line."""

    family: int
    from_: str | None = None
    to: str | None = None
    not_: bool = False
    priority: int | None = None
    table: str | None = None
    action: str | None = None  # goto N / nop / blackhole / unreachable / prohibit
    iif: str | None = None
    oif: str | None = None
    fwmark: str | None = None
    tos: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    no_track: bool = False
    track_group: str | None = None
    line: int = 0


@dataclass(frozen=True)
class UnicastPeer:
    ip: str
    min_ttl: int | None = None
    max_ttl: int | None = None


@dataclass(frozen=True)
class VmacSpec:
    name: str | None = None
    mac: str | None = None
    netlink_notify_msg: bool = False
    group: int | None = None


@dataclass(frozen=True)
class IpvlanSpec:
    name: str | None = None
    address: str | None = None
    mode: str = "bridge"
    group: int | None = None


@dataclass(frozen=True)
class HmacKey:
    key_id: int
    secret: bytes


@dataclass(frozen=True)
class AuthHmac:
    keys: tuple[HmacKey, ...] = ()
    active_key: int | None = None
    anti_replay: str = "time"
    time_window: int = 30
    mode: str = "enforce"


# --------------------------------------------------------------------------- global_defs


@dataclass(frozen=True)
class LvsSyncDaemon:
    interface: str
    instance: str | None = None
    sync_id: int | None = None
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: str | None = None


@dataclass(frozen=True)
class GlobalDefs:
    router_id: str = ""
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: str | None = None
    smtp_port: int = 25
    smtp_helo_name: str | None = None
    smtp_connect_timeout: float = 30.0
    smtp_alert: bool | None = None
    smtp_alert_vrrp: bool | None = None
    smtp_alert_checker: bool | None = None
    no_email_faults: bool = False
    no_checker_emails: bool = False
    checker_log_all_failures: bool = False
    script_user: str | None = None
    script_group: str | None = None
    enable_script_security: bool = False
    set_supplementary_groups: bool = False
    use_symlink_paths: bool = False
    startup_script: NotifyScript | None = None
    startup_script_timeout: float = 10.0
    shutdown_script: NotifyScript | None = None
    shutdown_script_timeout: float = 10.0
    # VRRP defaults
    vrrp_version: int = 2
    vrrp_mcast_group4: str = MCAST_GROUP4
    vrrp_mcast_group6: str = MCAST_GROUP6
    vrrp_strict: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_check_unicast_src: bool = False
    v3_checksum_as_v2: bool = False
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    vrrp_down_timer_adverts: int = 3
    vrrp_owner_ignore_adverts: bool = False
    vrrp_startup_delay: float = 0.0
    vrrp_delay_after_boot: float = 0.0
    log_unknown_vrids: bool = False
    vmac_prefix: str = "vrrp"
    vmac_addr_prefix: str = ""  # "": vmac_prefix
    default_interface: str = "eth0"
    dynamic_interfaces: bool = False
    dynamic_interfaces_allow_if_changes: bool = False
    disable_local_igmp: bool = False
    # GARP / unsolicited NA
    vrrp_garp_master_delay: float = 5.0
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: float = 0.0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_lower_prio_delay: float | None = None  # None = master delay
    vrrp_garp_lower_prio_repeat: int | None = None  # None = master repeat
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_min_garp: bool = False
    vrrp_garp_extra_if: float | None = None
    vrrp_garp_extra_if_all: bool = False
    # firewall
    vrrp_iptables: tuple[str, ...] | None = None
    vrrp_ipsets: tuple[str, ...] | None = None
    nftables: str | None = None
    nftables_priority: int = -1
    nftables_ifindex: bool = False
    nftables_counters: bool = False
    nftables_ipvs: str | None = None
    nftables_ipvs_priority: int = -1
    nftables_ipvs_start_fwmark: int = 1000
    # LVS
    lvs_flush: bool = False
    lvs_flush_on_stop: str | None = None  # None, "all" or "vs"
    lvs_timeout_tcp: int | None = None
    lvs_timeout_tcpfin: int | None = None
    lvs_timeout_udp: int | None = None
    lvs_sync_daemon: LvsSyncDaemon | None = None
    lvs_dataplane: LvsDataplane = LvsDataplane.AUTO  # pykeepalived addition
    metrics_listen: str | None = None  # pykeepalived addition: pykeepalived_metrics_listen
    # notify
    notify_fifo: NotifyFifo | None = None
    vrrp_notify_fifo: NotifyFifo | None = None
    lvs_notify_fifo: NotifyFifo | None = None
    vrrp_notify_priority_changes: bool = False
    fifo_write_vrrp_states_on_reload: bool = False
    rs_init_notifies: bool = False
    # scheduling
    vrrp_priority: int | None = None
    checker_priority: int | None = None
    bfd_priority: int | None = None
    vrrp_no_swap: bool = False
    checker_no_swap: bool = False
    bfd_no_swap: bool = False
    vrrp_rt_priority: int | None = None
    checker_rt_priority: int | None = None
    bfd_rt_priority: int | None = None
    # µs, the RLIMIT_RTTIME of a real-time process; None: not given (keepalived's 10000 is not
    # applied by default, see daemon.scheduling)
    vrrp_rlimit_rttime: int | None = None
    checker_rlimit_rttime: int | None = None
    bfd_rlimit_rttime: int | None = None
    vrrp_cpu_affinity: tuple[int, ...] = ()  # () = every CPU
    checker_cpu_affinity: tuple[int, ...] = ()
    bfd_cpu_affinity: tuple[int, ...] = ()
    max_auto_priority: int = 0  # 0 = off, -1 = never real-time, else the highest RR priority
    min_auto_priority_delay: int = 1000000  # µs a timer may be late before raising priority
    # receive buffers (bytes; 0 = the kernel's default; *_force: SO_RCVBUFFORCE)
    vrrp_netlink_cmd_rcv_bufs: int = 0
    vrrp_netlink_cmd_rcv_bufs_force: bool = False
    vrrp_netlink_monitor_rcv_bufs: int = 0
    vrrp_netlink_monitor_rcv_bufs_force: bool = False
    process_monitor_rcv_bufs: int = 0
    process_monitor_rcv_bufs_force: bool = False
    lvs_netlink_cmd_rcv_bufs: int = 0
    lvs_netlink_cmd_rcv_bufs_force: bool = False
    lvs_netlink_monitor_rcv_bufs: int = 0
    lvs_netlink_monitor_rcv_bufs_force: bool = False
    vrrp_rx_bufs_policy: str | None = None  # "MTU", "ADVERT" or "SIZE" (vrrp_rx_bufs_size)
    vrrp_rx_bufs_size: int = 0
    vrrp_rx_bufs_multiplier: int = 3
    # snmp / dbus
    snmp_socket: str | None = None
    enable_snmp_vrrp: bool = False
    enable_snmp_checker: bool = False
    enable_snmp_rfc: bool = False
    enable_snmp_rfcv2: bool = False
    enable_snmp_rfcv3: bool = False
    enable_traps: bool = False
    enable_dbus: bool = False
    dbus_service_name: str = "org.keepalived.Vrrp1"
    dbus_no_interface_name: str | None = None
    snmp_vs_stats_update_interval: int | None = None
    snmp_rs_stats_update_interval: int | None = None
    # process / files
    process_names: bool = False
    process_name: str | None = None
    vrrp_process_name: str | None = None
    checker_process_name: str | None = None
    bfd_process_name: str | None = None
    umask: int | None = None
    random_seed: int | None = None
    tmp_config_directory: str | None = None
    config_save_dir: str | None = None
    data_use_instance: bool = False
    state_dump_file: str = "/tmp/keepalived.data"
    stats_dump_file: str = "/tmp/keepalived.stats"
    json_dump_file: str = "/tmp/keepalived.json"
    json_version: int = 1
    iproute_usr_dir: str | None = None  # where rt_tables & co are read (iproute2's two dirs)
    iproute_etc_dir: str | None = None
    reload_check_config: str | None = None
    reload_time_file: str | None = None
    reload_repeat: bool = False
    reload_file: str | None = None
    # everything else that was accepted: keyword -> raw arguments (for -d and future use)
    other: tuple[tuple[str, tuple[str, ...]], ...] = ()


# ------------------------------------------------- static blocks, trackers


@dataclass(frozen=True)
class TrackGroup:
    name: str
    instances: tuple[str, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class GarpGroup:
    interfaces: tuple[str, ...]
    garp_interval: float = 0.0
    gna_interval: float = 0.0
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class LinkbeatInterface:
    name: str
    method: str = ""  # MII, ETHTOOL or IOCTL; "": the first of them that works


@dataclass(frozen=True)
class InterfaceUpDownDelay:
    name: str
    down_delay: float
    up_delay: float


@dataclass(frozen=True)
class VrrpScript:
    name: str
    argv: tuple[str, ...]
    interval: float = 1.0
    timeout: float = 1.0  # defaults to interval
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    user: str | None = None
    group: str | None = None
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class TrackFile:
    name: str
    path: str
    weight: int = 1
    weight_reverse: bool = False
    init_file: bool = False
    init_value: int = 0
    init_overwrite: bool = False
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class TrackProcess:
    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: str = "exact"  # exact, initial, partial
    weight: int = 0
    weight_reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0
    full_command: bool = False
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class BfdInstance:
    name: str
    neighbor_ip: str | None = None
    source_ip: str | None = None
    min_rx: float = 10.0  # ms (to the µs)
    min_tx: float = 10.0  # ms
    idle_tx: float = 1000.0  # ms
    multiplier: int = 5
    passive: bool = False
    ttl: int | None = None  # 255 (IPv4) / 64 hop limit (IPv6) when None
    max_hops: int = 0
    multihop: bool = False
    weight: int = 0
    weight_reverse: bool = False
    vrrp: bool = True
    checker: bool = True
    file: str = ""
    line: int = 0


# --------------------------------------------------------------------------- VRRP


@dataclass(frozen=True)
class SyncGroup:
    name: str
    members: tuple[str, ...] = ()
    track_interfaces: tuple[TrackRef, ...] = ()
    track_scripts: tuple[TrackRef, ...] = ()
    track_files: tuple[TrackRef, ...] = ()
    track_processes: tuple[TrackRef, ...] = ()
    track_bfds: tuple[TrackRef, ...] = ()
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify: NotifyScript | None = None
    smtp_alert: bool = False
    notify_priority_changes: bool = False
    sync_group_tracking_weight: bool = False
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class HeartbeatPath:
    """``heartbeat_path IFACE [unicast PEER...]`` (pykeepalived): adverts also go here."""

    interface: str
    unicast_peers: tuple[str, ...] = ()


@dataclass(frozen=True)
class SplitBrainGuards:
    """An instance's split-brain guards (pykeepalived extensions, docs/split-brain.md).
    Everything off by default: an instance without these keywords is keepalived's."""

    reference_addresses: tuple[str, ...] = ()
    reference_interval: float | None = None  # None: the instance's advert_int
    reference_fall: int = 3
    reference_rise: int = 1
    conflict_watch: bool = False
    conflict_interval: float | None = None  # None: the instance's advert_int, at least 1 s
    heartbeat_paths: tuple[HeartbeatPath, ...] = ()
    lease_key: str | None = None
    fence_script: NotifyScript | None = None
    notify_split_brain: NotifyScript | None = None
    line: int = 0

    @property
    def any(self) -> bool:
        return bool(self.reference_addresses or self.conflict_watch or self.heartbeat_paths
                    or self.lease_key)


@dataclass(frozen=True)
class LeaseArbiterConfig:
    """The top-level ``lease_arbiter`` block (pykeepalived): etcd as the seeds' smart lock."""

    endpoints: tuple[str, ...] = ()
    ttl: float = 3.0
    on_etcd_down: str = "hold"  # hold, vrrp, fence
    request_timeout: float = 0.5
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    state: VrrpState = VrrpState.BACKUP  # configured hint; every instance starts in BACKUP
    interface: str | None = None
    vrid: int = 0
    priority: int = 100
    advert_int: float = 1.0  # after v2/v3 rounding
    version: int = 2
    family: int = 4  # of the VIPs (4 when there are none)
    auth_type: str | None = None  # None, "PASS" or "AH"
    auth_pass: bytes = b""  # padded/truncated to 8 bytes when auth_type is set
    auth_hmac: AuthHmac | None = None
    # a tuple, or an AddressList for a block of many plain IPv4 addresses
    virtual_ipaddresses: Sequence[AddressSpec] = ()
    virtual_ipaddresses_excluded: Sequence[AddressSpec] = ()
    no_virtual_ipaddress: bool = False
    virtual_routes: tuple[RouteSpec, ...] = ()
    virtual_rules: tuple[RuleSpec, ...] = ()
    track_interfaces: tuple[TrackRef, ...] = ()
    track_scripts: tuple[TrackRef, ...] = ()
    track_files: tuple[TrackRef, ...] = ()
    track_processes: tuple[TrackRef, ...] = ()
    track_bfds: tuple[TrackRef, ...] = ()
    dont_track_primary: bool = False
    nopreempt: bool = False
    preempt_delay: float = 0.0
    unicast_src_ip: str | None = None
    unicast_peers: tuple[UnicastPeer, ...] = ()
    unicast_ttl: int = 255
    check_unicast_src: bool = False
    unicast_fault_no_peer: bool = False
    # v3/IPv4 unicast checksum summed with the multicast group as destination (keepalived
    # before 1.3.6): True sends and accepts only that, False (``never``) never; None (not
    # configured) switches to it when a unicast advert verifies only that way
    old_unicast_checksum: bool | None = None
    mcast_src_ip: str | None = None
    mcast_dst_ip: str | None = None  # None = vrrp_mcast_group4/6 from global_defs
    track_src_ip: bool = False
    use_vmac: VmacSpec | None = None
    use_vmac_addr: bool = False
    vmac_xmit_base: bool = False
    use_ipvlan: IpvlanSpec | None = None
    vrf: str | None = None
    native_ipv6: bool = False
    accept: bool = True
    strict: bool = False
    skip_check_adv_addr: bool = False
    v3_checksum_as_v2: bool = False
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float = 5.0
    garp_lower_prio_repeat: int = 5
    garp_interval: float = 0.0
    gna_interval: float = 0.0
    garp_extra_if: float | None = None
    garp_extra_if_all: bool = False
    down_timer_adverts: int = 3
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    owner_ignore_adverts: bool = False
    timer_expired_backup: int | None = None
    linkbeat_use_polling: bool = False  # deprecated here: polls the instance's interface
    notify_master: NotifyScript | None = None
    notify_backup: NotifyScript | None = None
    notify_fault: NotifyScript | None = None
    notify_stop: NotifyScript | None = None
    notify_deleted: NotifyScript | None = None
    notify_deleted_enabled: bool = False
    notify: NotifyScript | None = None
    notify_master_rx_lower_pri: NotifyScript | None = None
    notify_priority_changes: bool = False
    smtp_alert: bool = False
    promote_secondaries: bool = False
    kernel_rx_buf_size: int | None = None
    sync_group: str | None = None  # name of the vrrp_sync_group it belongs to
    file: str = ""
    line: int = 0
    split_brain: SplitBrainGuards = field(default_factory=SplitBrainGuards)

    @property
    def is_owner(self) -> bool:
        return self.priority == 255

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peers)


# --------------------------------------------------------------------------- LVS


@dataclass(frozen=True)
class UrlSpec:
    path: str
    digest: str | None = None
    status_codes: tuple[tuple[int, int], ...] = ((200, 299),)  # inclusive ranges
    virtualhost: str | None = None
    regex: str | None = None
    regex_no_match: bool = False
    regex_options: tuple[str, ...] = ()
    regex_min_offset: int | None = None
    regex_max_offset: int | None = None
    tls_compliant: bool = False


@dataclass(frozen=True)
class CheckerCommon:
    """Connection and timing options, already inherited VS -> RS -> checker."""

    connect_ip: str = ""
    connect_port: int = 0
    bindto: str | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    connect_timeout: float = 5.0
    fwmark: int | None = None
    retry: int = 1
    delay_before_retry: float = 1.0
    delay_loop: float = 60.0
    warmup: float | None = None  # None = random 0..delay_loop
    alpha: bool = False
    log_all_failures: bool = False
    line: int = 0


@dataclass(frozen=True)
class TcpCheck(CheckerCommon):
    kind: str = "TCP_CHECK"


@dataclass(frozen=True)
class HttpGet(CheckerCommon):
    kind: str = "HTTP_GET"
    urls: tuple[UrlSpec, ...] = ()
    http_protocol: str = "1.0"  # 1.0, 1.0C, 1.1
    virtualhost: str | None = None
    fast_recovery: bool = False
    enable_sni: bool = False
    sni_name: str | None = None
    tls_compliant: bool = False


@dataclass(frozen=True)
class SslGet(HttpGet):
    kind: str = "SSL_GET"


@dataclass(frozen=True)
class MiscCheck(CheckerCommon):
    kind: str = "MISC_CHECK"
    script: NotifyScript | None = None
    misc_timeout: float | None = None  # None = delay_loop
    misc_dynamic: bool = False


@dataclass(frozen=True)
class SmtpCheck(CheckerCommon):
    kind: str = "SMTP_CHECK"
    helo_name: str = "smtpchecker.keepalived.org"


@dataclass(frozen=True)
class DnsCheck(CheckerCommon):
    kind: str = "DNS_CHECK"
    type: str = "SOA"
    name: str = "."


@dataclass(frozen=True)
class UdpCheck(CheckerCommon):
    kind: str = "UDP_CHECK"
    payload: bytes | None = None
    require_reply: str | None = None  # hex with X wildcards
    min_reply_length: int = 0
    max_reply_length: int = 255


@dataclass(frozen=True)
class PingCheck(CheckerCommon):
    kind: str = "PING_CHECK"


@dataclass(frozen=True)
class FileCheck(CheckerCommon):
    kind: str = "FILE_CHECK"
    track_file: str = ""
    weight: int | None = None
    weight_reverse: bool = False


@dataclass(frozen=True)
class BfdCheck(CheckerCommon):
    kind: str = "BFD_CHECK"
    name: str = ""


Checker = (
    TcpCheck | HttpGet | SslGet | MiscCheck | SmtpCheck | DnsCheck | UdpCheck | PingCheck
    | FileCheck | BfdCheck
)


@dataclass(frozen=True)
class RealServer:
    ip: str
    port: int = 0
    family: int = 4
    weight: int = 1
    lvs_method: str = "NAT"
    inhibit_on_failure: bool = False
    notify_up: NotifyScript | None = None
    notify_down: NotifyScript | None = None
    uthreshold: int = 0
    lthreshold: int = 0
    alpha: bool = False
    smtp_alert: bool = False
    virtualhost: str | None = None
    checkers: tuple[Checker, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class VsgEntry:
    """One line of a virtual_server_group: an address range (first..last) + port, or a fwmark."""

    first_ip: str | None = None
    last_ip: str | None = None
    port: int = 0
    fwmark: int | None = None
    family: int = 4


@dataclass(frozen=True)
class VirtualServerGroup:
    name: str
    entries: tuple[VsgEntry, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class SorryServer:
    ip: str
    port: int = 0
    inhibit: bool = False
    lvs_method: str | None = None


@dataclass(frozen=True)
class VirtualServer:
    # exactly one of (ip, port) / fwmark / group is set
    ip: str | None = None
    port: int = 0
    fwmark: int | None = None
    group: str | None = None
    family: int = 4
    protocol: str = "TCP"
    lb_algo: str = "wlc"
    lb_kind: str = "NAT"
    tun_type: str | None = None
    tun_port: int | None = None
    tun_flags: str | None = None
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None
    persistence_engine: str | None = None
    hashed: bool = False
    ops: bool = False
    sched_flags: tuple[str, ...] = ()
    delay_loop: float = 60.0
    connect_timeout: float = 5.0
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: NotifyScript | None = None
    quorum_down: NotifyScript | None = None
    sorry_server: SorryServer | None = None
    inhibit_on_failure: bool = False
    alpha: bool = False
    omega: bool = False
    ha_suspend: bool = False
    virtualhost: str | None = None
    smtp_alert: bool = False
    weight: int = 1
    real_servers: tuple[RealServer, ...] = ()
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        """keepalived's printable identity: ``[ip]:proto:port``, ``FWM n`` or ``[group]:0``."""
        if self.fwmark is not None:
            return f"FWM {self.fwmark}"
        if self.group is not None:
            return f"[{self.group}]:0"
        return f"[{self.ip}]:{self.protocol.lower()}:{self.port}"


@dataclass(frozen=True)
class SslConfig:
    password: str | None = None
    ca: str | None = None
    certificate: str | None = None
    key: str | None = None


# --------------------------------------------------------------------------- the whole file


@dataclass(frozen=True)
class KeepalivedConfig:
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    vrrp_instances: tuple[VrrpInstance, ...] = ()
    sync_groups: tuple[SyncGroup, ...] = ()
    vrrp_scripts: tuple[VrrpScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    track_groups: tuple[TrackGroup, ...] = ()
    static_addresses: Sequence[AddressSpec] = ()  # (as VrrpInstance.virtual_ipaddresses)
    static_routes: tuple[RouteSpec, ...] = ()
    static_rules: tuple[RuleSpec, ...] = ()
    garp_groups: tuple[GarpGroup, ...] = ()
    linkbeat_interfaces: tuple[LinkbeatInterface, ...] = ()
    interface_up_down_delays: tuple[InterfaceUpDownDelay, ...] = ()
    bfd_instances: tuple[BfdInstance, ...] = ()
    virtual_server_groups: tuple[VirtualServerGroup, ...] = ()
    virtual_servers: tuple[VirtualServer, ...] = ()
    ssl: SslConfig | None = None
    net_namespace: str | None = None
    net_namespace_ipvs: str | None = None
    instance_name: str | None = None
    use_pid_dir: bool = False
    child_wait_time: float = 5.0
    linkbeat_use_polling: bool = False
    lease_arbiter: LeaseArbiterConfig | None = None

    def script(self, name: str) -> VrrpScript | None:
        return next((s for s in self.vrrp_scripts if s.name == name), None)

    def instance(self, name: str) -> VrrpInstance | None:
        """The ``vrrp_instance`` called ``name`` (the first, should two share it). An index
        built on first use: a reload of 1000 instances looks each one up several times."""
        index: dict[str, VrrpInstance] | None = self.__dict__.get("_instance_index")
        if index is None:
            index = {}
            for i in self.vrrp_instances:
                index.setdefault(i.name, i)
            self.__dict__["_instance_index"] = index  # frozen: the tuple never changes
        return index.get(name)

    def sync_group(self, name: str | None) -> SyncGroup | None:
        """The ``vrrp_sync_group`` called ``name``; None for an unknown name or None (an
        instance's ``sync_group`` when it belongs to none)."""
        if name is None:
            return None
        return next((g for g in self.sync_groups if g.name == name), None)


@dataclass(frozen=True)
class ParseResult:
    config: KeepalivedConfig
    # in keepalived's order; a tuple (a lazy sequence when a file makes millions of equal
    # messages: config.messages.MessageList)
    messages: Sequence[ConfigMessage] = ()
    expanded_text: str = ""  # the config with includes resolved (for reload/children)

    def severities(self) -> set[Severity]:
        """The severities the messages have (without going through millions of them, when
        the sequence can say: ``config.messages.MessageList``)."""
        sev = getattr(self.messages, "severities", None)
        return sev() if sev is not None else {m.severity for m in self.messages}

    @property
    def worst(self) -> Severity | None:
        return max(self.severities(), default=None)

    def exit_code_for_test(self) -> int:
        """keepalived 2.2.7 ``-t`` exit status: 0 clean, 4 cannot run, 5 errors, 6 security."""
        sevs = self.severities()
        sev = max(sevs, default=None)
        if sev is None or sev == Severity.INFO:
            return 0
        if sev == Severity.SECURITY:
            return 6
        if sev == Severity.FATAL and not sevs & {Severity.WARNING, Severity.ERROR}:
            return 4
        return 5
