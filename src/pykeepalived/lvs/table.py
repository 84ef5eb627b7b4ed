"""The desired LVS table: what the pool logic wants the kernel to hold, and the diff to get there.

Contract shared by the pool logic (``check.virtual_server``, the producer) and the LVS data
planes (``lvs.ipvs``, ``lvs.nft``, the consumers). Fields may be ADDED, never renamed.

Theory of operation: the pool logic builds a complete ``LvsTable`` after every change; a backend
keeps the table it last applied (or dumps the kernel's) as ``actual`` and applies
``diff(actual, desired)``. Both sides compare plain values, so addresses are normalised here
(``ipaddress`` canonical text) and keys carry no kernel-only state (no stats, no ids).

Families are 4 or 6, as in ``config.model``; backends translate to AF_INET/AF_INET6.
No I/O, no clock.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple


class Protocol(enum.IntEnum):
    """IP protocol numbers as IPVS wants them."""

    TCP = 6
    UDP = 17
    SCTP = 132

    @classmethod
    def parse(cls, name: str) -> Protocol:
        return cls[name.upper()]


class FwdMethod(enum.Enum):
    """``lb_kind`` / ``lvs_method``. IPVS values: NAT=masq 0, TUN 2, DR 3 (see ``ipvs_value``)."""

    NAT = "NAT"
    DR = "DR"
    TUN = "TUN"

    @property
    def ipvs_value(self) -> int:
        return {"NAT": 0, "TUN": 2, "DR": 3}[self.value]

    @classmethod
    def parse(cls, name: str) -> FwdMethod:
        return cls[name.upper()]


class TunType(enum.IntEnum):
    """``lb_kind TUN type ...``; values are the kernel's IP_VS_CONN_F_TUNNEL_TYPE_*."""

    IPIP = 0
    GUE = 1
    GRE = 2


class TunFlag(enum.IntFlag):
    """Tunnel checksum options; ``NOCSUM`` is the absence of the other two (kernel values)."""

    NOCSUM = 0
    CSUM = 1
    REMCSUM = 2


class ServiceFlag(enum.IntFlag):
    """IPVS service flags with the kernel's bit values (IP_VS_SVC_F_*).

    ``SCHED1`` = sh-fallback / mh-fallback (flag-1), ``SCHED2`` = sh-port / mh-port (flag-2).
    """

    NONE = 0
    PERSISTENT = 0x1
    HASHED = 0x2
    ONEPACKET = 0x4
    SCHED1 = 0x8
    SCHED2 = 0x10
    SCHED3 = 0x20


def normalize_addr(addr: str) -> str:
    """Canonical text of an IP address (so ``2001:db8::0:1`` and ``2001:db8::1`` compare equal)."""
    return str(ipaddress.ip_address(addr))


def addr_family(addr: str) -> int:
    return ipaddress.ip_address(addr).version


@dataclass(frozen=True, order=True)
class ServiceKey:
    """What identifies a virtual service in IPVS: (af, protocol, addr, port) or (af, fwmark).

    Use ``ServiceKey.inet(...)`` or ``ServiceKey.mark(...)``. A fwmark key has ``addr == ""``,
    ``port == 0`` and protocol TCP (the kernel ignores the protocol of fwmark services).
    """

    af: int
    protocol: Protocol
    addr: str = ""
    port: int = 0
    fwmark: int = 0

    def __post_init__(self) -> None:
        if self.addr:
            object.__setattr__(self, "addr", normalize_addr(self.addr))
        object.__setattr__(self, "protocol", Protocol(self.protocol))

    @classmethod
    def inet(cls, addr: str, port: int, protocol: Protocol | str = Protocol.TCP) -> ServiceKey:
        proto = Protocol.parse(protocol) if isinstance(protocol, str) else Protocol(protocol)
        return cls(af=addr_family(addr), protocol=proto, addr=addr, port=port)

    @classmethod
    def mark(cls, fwmark: int, af: int = 4) -> ServiceKey:
        return cls(af=af, protocol=Protocol.TCP, fwmark=fwmark)

    @property
    def is_fwmark(self) -> bool:
        return self.fwmark != 0

    def __str__(self) -> str:
        """keepalived's way of naming a virtual server in logs: ``[ip]:tcp:80`` or ``FWM 1``."""
        if self.is_fwmark:
            return f"FWM {self.fwmark}"
        return format_endpoint(self.addr, self.port, self.protocol)


def format_endpoint(addr: str, port: int, protocol: Protocol | str = Protocol.TCP) -> str:
    """``[10.0.0.1]:tcp:8080``: keepalived's form for services and real servers in logs."""
    name = protocol.lower() if isinstance(protocol, str) else Protocol(protocol).name.lower()
    return f"[{addr}]:{name}:{port}"


@dataclass(frozen=True)
class LvsService:
    """One virtual service's own attributes (everything IPVS can edit in place).

    ``netmask`` is a prefix length: for IPv4 the persistence granularity (32 = per client),
    for IPv6 the kernel's prefix length. Left out, it is the full length of the key's family
    (32 or 128), so an IPv6 service never gets a /32 persistence granularity by accident.
    ``timeout`` is the persistence timeout in seconds (0 = none; ``PERSISTENT`` is set in
    ``flags`` whenever it is non-zero).
    """

    key: ServiceKey
    scheduler: str = "wlc"
    flags: ServiceFlag = ServiceFlag.NONE
    timeout: int = 0
    netmask: int = -1  # -1: the full prefix of the key's family, set in __post_init__
    pe_name: str | None = None

    def __post_init__(self) -> None:
        if self.netmask < 0:
            object.__setattr__(self, "netmask", 128 if self.key.af == 6 else 32)

    @property
    def persistent(self) -> bool:
        return bool(self.flags & ServiceFlag.PERSISTENT)


class DestKey(NamedTuple):
    """What identifies a destination inside one service."""

    addr: str
    port: int


@dataclass(frozen=True)
class LvsDest:
    """A real server (or the sorry server) as IPVS holds it under a service."""

    addr: str
    port: int
    weight: int = 1
    fwd: FwdMethod = FwdMethod.NAT
    u_threshold: int = 0
    l_threshold: int = 0
    tun_type: TunType = TunType.IPIP
    tun_port: int = 0
    tun_flags: TunFlag = TunFlag.NOCSUM
    af: int = 0  # 0 = derived from addr (mixed families only for TUN)

    def __post_init__(self) -> None:
        object.__setattr__(self, "addr", normalize_addr(self.addr))
        if self.af == 0:
            object.__setattr__(self, "af", addr_family(self.addr))

    @property
    def key(self) -> DestKey:
        return DestKey(self.addr, self.port)


class ServiceEntry(NamedTuple):
    """A service plus its destinations keyed by (addr, port)."""

    service: LvsService
    dests: Mapping[DestKey, LvsDest]


@dataclass(frozen=True)
class LvsTable:
    """The whole desired (or actual) LVS state: services keyed by ``ServiceKey``.

    Build it with ``LvsTable.build([(service, [dest, ...]), ...])``. Treat the mappings as
    read-only; ``with_service`` / ``without_service`` return new tables.
    """

    services: Mapping[ServiceKey, ServiceEntry] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Iterable[tuple[LvsService, Iterable[LvsDest]]]) -> LvsTable:
        out: dict[ServiceKey, ServiceEntry] = {}
        for svc, dests in entries:
            out[svc.key] = ServiceEntry(svc, {d.key: d for d in dests})
        return cls(out)

    def with_service(self, svc: LvsService, dests: Iterable[LvsDest]) -> LvsTable:
        out = dict(self.services)
        out[svc.key] = ServiceEntry(svc, {d.key: d for d in dests})
        return LvsTable(out)

    def without_service(self, key: ServiceKey) -> LvsTable:
        return LvsTable({k: v for k, v in self.services.items() if k != key})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LvsTable):
            return NotImplemented
        return _plain(self) == _plain(other)

    __hash__ = None  # type: ignore[assignment]  # mappings inside: not hashable

    def dests(self, key: ServiceKey) -> Mapping[DestKey, LvsDest]:
        entry = self.services.get(key)
        return entry.dests if entry else {}

    def __len__(self) -> int:
        return len(self.services)


def _plain(t: LvsTable) -> dict[ServiceKey, tuple[LvsService, dict[DestKey, LvsDest]]]:
    return {k: (e.service, dict(e.dests)) for k, e in t.services.items()}


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class AddService:
    service: LvsService


@dataclass(frozen=True)
class EditService:
    service: LvsService
    old: LvsService


@dataclass(frozen=True)
class DeleteService:
    key: ServiceKey


@dataclass(frozen=True)
class AddDest:
    key: ServiceKey
    dest: LvsDest


@dataclass(frozen=True)
class EditDest:
    key: ServiceKey
    dest: LvsDest
    old: LvsDest


@dataclass(frozen=True)
class DeleteDest:
    key: ServiceKey
    dest: LvsDest


LvsOp = AddService | EditService | DeleteService | AddDest | EditDest | DeleteDest


def diff(actual: LvsTable, desired: LvsTable) -> list[LvsOp]:
    """The operations that turn ``actual`` into ``desired``, in a safe order.

    Order: new services (each followed by its dests), then per kept service its edit, dest
    additions, dest edits and finally dest deletions (adding before deleting never leaves a
    service momentarily empty), and last the services that must go (deleting a service drops its
    dests in the kernel, so no DeleteDest is emitted for them). Deterministic: keys are sorted.
    """
    ops: list[LvsOp] = []
    for key in sorted(desired.services):
        want = desired.services[key]
        have = actual.services.get(key)
        if have is None:
            ops.append(AddService(want.service))
            ops.extend(AddDest(key, want.dests[dk]) for dk in sorted(want.dests))
            continue
        if have.service != want.service:
            ops.append(EditService(want.service, have.service))
        ops.extend(AddDest(key, want.dests[dk]) for dk in sorted(want.dests)
                   if dk not in have.dests)
        ops.extend(EditDest(key, want.dests[dk], have.dests[dk]) for dk in sorted(want.dests)
                   if dk in have.dests and have.dests[dk] != want.dests[dk])
        ops.extend(DeleteDest(key, have.dests[dk]) for dk in sorted(have.dests)
                   if dk not in want.dests)
    ops.extend(DeleteService(key) for key in sorted(actual.services)
               if key not in desired.services)
    return ops


def apply_ops(table: LvsTable, ops: Iterable[LvsOp]) -> LvsTable:
    """Apply operations to a table in memory (what a backend's kernel would then hold).

    Raises ``KeyError``/``ValueError`` on an operation the kernel would refuse (ENOENT/EEXIST),
    so tests can check that ``diff`` never produces one.
    """
    services: dict[ServiceKey, tuple[LvsService, dict[DestKey, LvsDest]]] = _plain(table)
    for op in ops:
        if isinstance(op, AddService):
            if op.service.key in services:
                raise ValueError(f"service {op.service.key} exists")
            services[op.service.key] = (op.service, {})
        elif isinstance(op, EditService):
            _, dests = services[op.service.key]
            services[op.service.key] = (op.service, dests)
        elif isinstance(op, DeleteService):
            del services[op.key]
        elif isinstance(op, AddDest):
            dests = services[op.key][1]
            if op.dest.key in dests:
                raise ValueError(f"dest {op.dest.key} exists in {op.key}")
            dests[op.dest.key] = op.dest
        elif isinstance(op, EditDest):
            dests = services[op.key][1]
            if op.dest.key not in dests:
                raise KeyError(op.dest.key)
            dests[op.dest.key] = op.dest
        else:
            del services[op.key][1][op.dest.key]
    return LvsTable({k: ServiceEntry(s, d) for k, (s, d) in services.items()})


def with_weight(dest: LvsDest, weight: int) -> LvsDest:
    """A copy of ``dest`` with another weight (inhibit_on_failure, misc_dynamic)."""
    return replace(dest, weight=weight)
