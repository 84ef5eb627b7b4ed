"""IPVS over generic netlink: the LVS table in the kernel, as keepalived drives it.

Own message definitions on pyroute2's netlink machinery rather than pyroute2's ``IPVS`` helper,
whose defects matter here (see peers-and-libraries.md §3): it maps "update" to a delete, omits
the netmask the kernel requires for IPv6 and fwmark services (EINVAL), types the netmask as an
IPv4 address although the kernel reads an IPv6 service's netmask as a native u32 prefix length,
and drops the stats of dumps. Here:

* addresses travel as raw bytes (the kernel copies up to 16 bytes; dumps always carry 16);
* the netmask is always sent: IPv4 = the granularity mask in network order, IPv6 = the prefix
  length as a host-order u32 (what ipvsadm sends);
* flags go with mask 0xffffffff; the kernel always adds ``HASHED`` to what it stores, so reads
  drop that bit;
* edits use ``IPVS_CMD_SET_SERVICE`` / ``IPVS_CMD_SET_DEST``.

Message building (``op_request``) is pure so it can be checked byte by byte without a kernel;
``IpvsBackend`` sends them, resynchronising from a kernel dump when the kernel disagrees with
what it believed (EEXIST on add, ENOENT on edit/delete), as keepalived has to.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from socket import AF_INET, AF_INET6
from typing import Any

from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    genlmsg,
    nla,
)
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import AsyncGenericNetlinkSocket

from pykeepalived.check.table import (
    AddDest,
    AddService,
    DeleteDest,
    DeleteService,
    DestKey,
    EditDest,
    EditService,
    FwdMethod,
    LvsDest,
    LvsOp,
    LvsService,
    LvsTable,
    Protocol,
    ServiceEntry,
    ServiceFlag,
    ServiceKey,
    TunFlag,
    TunType,
    diff,
)
from pykeepalived.lvs.backend import (
    Counters,
    DataplaneError,
    DestStats,
    LvsSettings,
    LvsStats,
    SyncDaemonSpec,
)

log = logging.getLogger("pykeepalived.lvs")

GENL_NAME = "IPVS"
GENL_VERSION = 1

CMD_NEW_SERVICE = 1
CMD_SET_SERVICE = 2
CMD_DEL_SERVICE = 3
CMD_GET_SERVICE = 4
CMD_NEW_DEST = 5
CMD_SET_DEST = 6
CMD_DEL_DEST = 7
CMD_GET_DEST = 8
CMD_NEW_DAEMON = 9
CMD_DEL_DAEMON = 10
CMD_GET_DAEMON = 11
CMD_SET_CONFIG = 12
CMD_GET_CONFIG = 13
CMD_FLUSH = 17

SYNC_STATE_MASTER = 1
SYNC_STATE_BACKUP = 2

_FWD_FROM_KERNEL = {0: FwdMethod.NAT, 1: FwdMethod.NAT, 2: FwdMethod.TUN, 3: FwdMethod.DR}
_AF = {4: AF_INET, 6: AF_INET6}
_FAMILY = {AF_INET: 4, AF_INET6: 6}

F_REQ = NLM_F_REQUEST | NLM_F_ACK
F_CREATE = F_REQ | NLM_F_CREATE | NLM_F_EXCL
F_DUMP = NLM_F_REQUEST | NLM_F_DUMP


# ------------------------------------------------------------------------------ messages


class _Stats(nla):  # type: ignore[misc]
    nla_map = (
        ("IPVS_STATS_ATTR_UNSPEC", "none"),
        ("IPVS_STATS_ATTR_CONNS", "uint64"),
        ("IPVS_STATS_ATTR_INPKTS", "uint64"),
        ("IPVS_STATS_ATTR_OUTPKTS", "uint64"),
        ("IPVS_STATS_ATTR_INBYTES", "uint64"),
        ("IPVS_STATS_ATTR_OUTBYTES", "uint64"),
        ("IPVS_STATS_ATTR_CPS", "uint64"),
        ("IPVS_STATS_ATTR_INPPS", "uint64"),
        ("IPVS_STATS_ATTR_OUTPPS", "uint64"),
        ("IPVS_STATS_ATTR_INBPS", "uint64"),
        ("IPVS_STATS_ATTR_OUTBPS", "uint64"),
    )


class IpvsMsg(genlmsg):  # type: ignore[misc]
    """The IPVS generic netlink message, attribute types as the kernel parses them."""

    prefix = "IPVS_CMD_ATTR_"
    nla_map = (
        ("IPVS_CMD_ATTR_UNSPEC", "none"),
        ("IPVS_CMD_ATTR_SERVICE", "service"),
        ("IPVS_CMD_ATTR_DEST", "dest"),
        ("IPVS_CMD_ATTR_DAEMON", "daemon"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
        ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
    )

    class service(nla):  # type: ignore[misc]
        prefix = "IPVS_SVC_ATTR_"
        nla_map = (
            ("IPVS_SVC_ATTR_UNSPEC", "none"),
            ("IPVS_SVC_ATTR_AF", "uint16"),
            ("IPVS_SVC_ATTR_PROTOCOL", "uint16"),
            ("IPVS_SVC_ATTR_ADDR", "cdata"),
            ("IPVS_SVC_ATTR_PORT", "be16"),
            ("IPVS_SVC_ATTR_FWMARK", "uint32"),
            ("IPVS_SVC_ATTR_SCHED_NAME", "asciiz"),
            ("IPVS_SVC_ATTR_FLAGS", "flags"),
            ("IPVS_SVC_ATTR_TIMEOUT", "uint32"),
            ("IPVS_SVC_ATTR_NETMASK", "cdata"),
            ("IPVS_SVC_ATTR_STATS", "hex"),
            ("IPVS_SVC_ATTR_PE_NAME", "asciiz"),
            ("IPVS_SVC_ATTR_STATS64", "stats64"),
        )

        class flags(nla):  # type: ignore[misc]
            fields = (("flags", "I"), ("mask", "I"))

        stats64 = _Stats

    class dest(nla):  # type: ignore[misc]
        prefix = "IPVS_DEST_ATTR_"
        nla_map = (
            ("IPVS_DEST_ATTR_UNSPEC", "none"),
            ("IPVS_DEST_ATTR_ADDR", "cdata"),
            ("IPVS_DEST_ATTR_PORT", "be16"),
            ("IPVS_DEST_ATTR_FWD_METHOD", "uint32"),
            ("IPVS_DEST_ATTR_WEIGHT", "uint32"),
            ("IPVS_DEST_ATTR_U_THRESH", "uint32"),
            ("IPVS_DEST_ATTR_L_THRESH", "uint32"),
            ("IPVS_DEST_ATTR_ACTIVE_CONNS", "uint32"),
            ("IPVS_DEST_ATTR_INACT_CONNS", "uint32"),
            ("IPVS_DEST_ATTR_PERSIST_CONNS", "uint32"),
            ("IPVS_DEST_ATTR_STATS", "hex"),
            ("IPVS_DEST_ATTR_ADDR_FAMILY", "uint16"),
            ("IPVS_DEST_ATTR_STATS64", "stats64"),
            ("IPVS_DEST_ATTR_TUN_TYPE", "uint8"),
            ("IPVS_DEST_ATTR_TUN_PORT", "be16"),
            ("IPVS_DEST_ATTR_TUN_FLAGS", "uint16"),
        )

        stats64 = _Stats

    class daemon(nla):  # type: ignore[misc]
        prefix = "IPVS_DAEMON_ATTR_"
        nla_map = (
            ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
            ("IPVS_DAEMON_ATTR_STATE", "uint32"),
            ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
            ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
            ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
            ("IPVS_DAEMON_ATTR_MCAST_GROUP", "cdata"),
            ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "cdata"),
            ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
            ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
        )


Attrs = list[tuple[str, Any]]


@dataclass(frozen=True)
class Request:
    """One netlink request: the IPVS command, its top-level attributes and netlink flags."""

    cmd: int
    attrs: Attrs
    flags: int = F_REQ


def _packed(addr: str) -> bytes:
    return ipaddress.ip_address(addr).packed


def netmask_bytes(af: int, plen: int) -> bytes:
    """The kernel's ``IPVS_SVC_ATTR_NETMASK``: IPv4 mask bytes, IPv6 host-order prefix length."""
    if af == 6:
        if not 1 <= plen <= 128:
            raise ValueError(f"IPv6 service prefix length {plen} outside 1..128")
        return plen.to_bytes(4, sys.byteorder)
    if not 0 <= plen <= 32:
        raise ValueError(f"IPv4 persistence granularity /{plen} outside 0..32")
    return ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF).to_bytes(4, "big")


def netmask_plen(af: int, raw: bytes) -> int:
    if af == 6:
        return int.from_bytes(raw[:4], sys.byteorder)
    return bin(int.from_bytes(raw[:4], "big")).count("1")


def service_key_attrs(key: ServiceKey) -> Attrs:
    attrs: Attrs = [("IPVS_SVC_ATTR_AF", _AF[key.af])]
    if key.is_fwmark:
        attrs.append(("IPVS_SVC_ATTR_FWMARK", key.fwmark))
    else:
        attrs += [("IPVS_SVC_ATTR_PROTOCOL", int(key.protocol)),
                  ("IPVS_SVC_ATTR_ADDR", _packed(key.addr)),
                  ("IPVS_SVC_ATTR_PORT", key.port)]
    return attrs


def service_attrs(svc: LvsService) -> Attrs:
    """A full service entry (NEW/SET): key + scheduler, flags, timeout, netmask [, pe]."""
    flags = int(svc.flags)
    if svc.timeout:
        flags |= ServiceFlag.PERSISTENT
    attrs = [
        *service_key_attrs(svc.key),
        ("IPVS_SVC_ATTR_SCHED_NAME", svc.scheduler),
        ("IPVS_SVC_ATTR_FLAGS", {"flags": flags, "mask": 0xFFFFFFFF}),
        ("IPVS_SVC_ATTR_TIMEOUT", svc.timeout),
        ("IPVS_SVC_ATTR_NETMASK", netmask_bytes(svc.key.af, svc.netmask)),
    ]
    if svc.pe_name:
        attrs.append(("IPVS_SVC_ATTR_PE_NAME", svc.pe_name))
    return attrs


def dest_key_attrs(dest: LvsDest) -> Attrs:
    return [("IPVS_DEST_ATTR_ADDR", _packed(dest.addr)), ("IPVS_DEST_ATTR_PORT", dest.port),
            ("IPVS_DEST_ATTR_ADDR_FAMILY", _AF[dest.af])]


def dest_attrs(dest: LvsDest) -> Attrs:
    """A full destination entry (NEW/SET)."""
    attrs = [
        *dest_key_attrs(dest),
        ("IPVS_DEST_ATTR_FWD_METHOD", dest.fwd.ipvs_value),
        ("IPVS_DEST_ATTR_WEIGHT", dest.weight),
        ("IPVS_DEST_ATTR_U_THRESH", dest.u_threshold),
        ("IPVS_DEST_ATTR_L_THRESH", dest.l_threshold),
    ]
    if dest.fwd is FwdMethod.TUN:
        attrs += [("IPVS_DEST_ATTR_TUN_TYPE", int(dest.tun_type)),
                  ("IPVS_DEST_ATTR_TUN_PORT", dest.tun_port),
                  ("IPVS_DEST_ATTR_TUN_FLAGS", int(dest.tun_flags))]
    return attrs


def _svc(attrs: Attrs) -> tuple[str, dict[str, Attrs]]:
    return ("IPVS_CMD_ATTR_SERVICE", {"attrs": attrs})


def op_request(op: LvsOp) -> Request:
    """The netlink request realising one table operation."""
    if isinstance(op, AddService):
        return Request(CMD_NEW_SERVICE, [_svc(service_attrs(op.service))], F_CREATE)
    if isinstance(op, EditService):
        return Request(CMD_SET_SERVICE, [_svc(service_attrs(op.service))])
    if isinstance(op, DeleteService):
        return Request(CMD_DEL_SERVICE, [_svc(service_key_attrs(op.key))])
    if isinstance(op, AddDest):
        return Request(CMD_NEW_DEST, [_svc(service_key_attrs(op.key)),
                                      ("IPVS_CMD_ATTR_DEST", {"attrs": dest_attrs(op.dest)})],
                       F_CREATE)
    if isinstance(op, EditDest):
        return Request(CMD_SET_DEST, [_svc(service_key_attrs(op.key)),
                                      ("IPVS_CMD_ATTR_DEST", {"attrs": dest_attrs(op.dest)})])
    return Request(CMD_DEL_DEST, [_svc(service_key_attrs(op.key)),
                                  ("IPVS_CMD_ATTR_DEST", {"attrs": dest_key_attrs(op.dest)})])


def timeouts_request(tcp: int | None, tcpfin: int | None, udp: int | None) -> Request | None:
    """``lvs_timeouts``: only the given ones are sent (the kernel keeps the others)."""
    attrs: Attrs = []
    for name, value in (("IPVS_CMD_ATTR_TIMEOUT_TCP", tcp),
                        ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", tcpfin),
                        ("IPVS_CMD_ATTR_TIMEOUT_UDP", udp)):
        if value:
            attrs.append((name, value))
    return Request(CMD_SET_CONFIG, attrs) if attrs else None


def sync_daemon_request(spec: SyncDaemonSpec, state: int) -> Request:
    """Start the kernel's connection-sync thread as master (1) or backup (2)."""
    attrs: Attrs = [("IPVS_DAEMON_ATTR_STATE", state),
                    ("IPVS_DAEMON_ATTR_MCAST_IFN", spec.interface),
                    ("IPVS_DAEMON_ATTR_SYNC_ID", spec.sync_id)]
    if spec.maxlen is not None:
        attrs.append(("IPVS_DAEMON_ATTR_SYNC_MAXLEN", spec.maxlen))
    if spec.group is not None:
        ip = ipaddress.ip_address(spec.group)
        name = "IPVS_DAEMON_ATTR_MCAST_GROUP" if ip.version == 4 else \
            "IPVS_DAEMON_ATTR_MCAST_GROUP6"
        attrs.append((name, ip.packed))
    if spec.port is not None:
        attrs.append(("IPVS_DAEMON_ATTR_MCAST_PORT", spec.port))
    if spec.ttl is not None:
        attrs.append(("IPVS_DAEMON_ATTR_MCAST_TTL", spec.ttl))
    return Request(CMD_NEW_DAEMON, [("IPVS_CMD_ATTR_DAEMON", {"attrs": attrs})])


def stop_sync_daemon_request(state: int) -> Request:
    return Request(CMD_DEL_DAEMON,
                   [("IPVS_CMD_ATTR_DAEMON", {"attrs": [("IPVS_DAEMON_ATTR_STATE", state)]})])


def encode(req: Request, family_id: int, seq: int = 1, pid: int = 0) -> bytes:
    """The bytes of ``req`` as sent to generic netlink family ``family_id`` (for tests)."""
    msg = IpvsMsg()
    msg["cmd"] = req.cmd
    msg["version"] = GENL_VERSION
    msg["attrs"] = list(req.attrs)
    msg["header"]["type"] = family_id
    msg["header"]["flags"] = req.flags
    msg["header"]["sequence_number"] = seq
    msg["header"]["pid"] = pid
    msg.encode()
    data: bytes = msg.data
    return data


# ------------------------------------------------------------------------------ decoding


def _addr(af: int, raw: bytes) -> str:
    return str(ipaddress.ip_address(raw[:4] if af == 4 else raw[:16]))


def decode_service(msg: Any) -> LvsService:
    """An ``IPVS_CMD_ATTR_SERVICE`` nla (from a dump) as the table's ``LvsService``."""
    af = _FAMILY[msg.get_attr("IPVS_SVC_ATTR_AF")]
    fwmark = msg.get_attr("IPVS_SVC_ATTR_FWMARK") or 0
    if fwmark:
        key = ServiceKey.mark(fwmark, af)
    else:
        key = ServiceKey(af=af, protocol=Protocol(msg.get_attr("IPVS_SVC_ATTR_PROTOCOL")),
                         addr=_addr(af, msg.get_attr("IPVS_SVC_ATTR_ADDR")),
                         port=msg.get_attr("IPVS_SVC_ATTR_PORT"))
    flags = msg.get_attr("IPVS_SVC_ATTR_FLAGS") or {"flags": 0}
    raw_mask = msg.get_attr("IPVS_SVC_ATTR_NETMASK")
    return LvsService(
        key=key,
        scheduler=msg.get_attr("IPVS_SVC_ATTR_SCHED_NAME") or "",
        flags=ServiceFlag(flags["flags"] & ~ServiceFlag.HASHED & 0x3F),
        timeout=msg.get_attr("IPVS_SVC_ATTR_TIMEOUT") or 0,
        netmask=netmask_plen(af, raw_mask) if raw_mask else (128 if af == 6 else 32),
        pe_name=msg.get_attr("IPVS_SVC_ATTR_PE_NAME") or None,
    )


def decode_dest(msg: Any, service_af: int) -> LvsDest:
    fam = msg.get_attr("IPVS_DEST_ATTR_ADDR_FAMILY")
    af = _FAMILY[fam] if fam else service_af
    fwd = _FWD_FROM_KERNEL.get(msg.get_attr("IPVS_DEST_ATTR_FWD_METHOD") or 0, FwdMethod.NAT)
    tun = fwd is FwdMethod.TUN
    return LvsDest(
        addr=_addr(af, msg.get_attr("IPVS_DEST_ATTR_ADDR")),
        port=msg.get_attr("IPVS_DEST_ATTR_PORT") or 0,
        weight=msg.get_attr("IPVS_DEST_ATTR_WEIGHT") or 0,
        fwd=fwd,
        u_threshold=msg.get_attr("IPVS_DEST_ATTR_U_THRESH") or 0,
        l_threshold=msg.get_attr("IPVS_DEST_ATTR_L_THRESH") or 0,
        tun_type=TunType(msg.get_attr("IPVS_DEST_ATTR_TUN_TYPE") or 0) if tun else TunType.IPIP,
        tun_port=(msg.get_attr("IPVS_DEST_ATTR_TUN_PORT") or 0) if tun else 0,
        tun_flags=TunFlag(msg.get_attr("IPVS_DEST_ATTR_TUN_FLAGS") or 0) if tun
        else TunFlag.NOCSUM,
        af=af,
    )


def decode_counters(stats: Any) -> Counters:
    if stats is None:
        return Counters()

    def g(name: str) -> int:
        v = stats.get_attr(f"IPVS_STATS_ATTR_{name}")
        return int(v or 0)

    return Counters(conns=g("CONNS"), inpkts=g("INPKTS"), outpkts=g("OUTPKTS"),
                    inbytes=g("INBYTES"), outbytes=g("OUTBYTES"), cps=g("CPS"),
                    inpps=g("INPPS"), outpps=g("OUTPPS"), inbps=g("INBPS"), outbps=g("OUTBPS"))


def decode_dest_stats(msg: Any) -> DestStats:
    return DestStats(counters=decode_counters(msg.get_attr("IPVS_DEST_ATTR_STATS64")),
                     active_conns=msg.get_attr("IPVS_DEST_ATTR_ACTIVE_CONNS") or 0,
                     inactive_conns=msg.get_attr("IPVS_DEST_ATTR_INACT_CONNS") or 0,
                     persistent_conns=msg.get_attr("IPVS_DEST_ATTR_PERSIST_CONNS") or 0)


def describe(op: LvsOp) -> str:
    """One log line per operation, in keepalived's words where it has them."""
    if isinstance(op, AddService):
        return f"Adding service {op.service.key} ({op.service.scheduler})"
    if isinstance(op, EditService):
        return f"Changing service {op.service.key}"
    if isinstance(op, DeleteService):
        return f"Removing service {op.key}"
    verb = {AddDest: "Adding", EditDest: "Changing", DeleteDest: "Removing"}[type(op)]
    d = op.dest
    return f"{verb} real server [{d.addr}]:{d.port} weight {d.weight} to/from VS {op.key}"


# ------------------------------------------------------------------------------ socket


class _IpvsSocket(AsyncGenericNetlinkSocket):  # type: ignore[misc]
    async def setup_endpoint(self) -> None:
        if getattr(self.local, "transport", None) is not None:
            return
        await super().setup_endpoint()
        await self.bind(GENL_NAME, IpvsMsg)


class IpvsConnection:
    """A generic netlink socket bound to the IPVS family; send ``Request``s, read dumps."""

    def __init__(self, netns: str | None = None) -> None:
        self._netns = netns
        self._sock: _IpvsSocket | None = None

    def _socket(self) -> _IpvsSocket:
        if self._sock is None:
            self._sock = _IpvsSocket(netns=self._netns) if self._netns else _IpvsSocket()
        return self._sock

    async def request(self, req: Request) -> list[Any]:
        sock = self._socket()
        await sock.setup_endpoint()
        msg = IpvsMsg()
        msg["cmd"] = req.cmd
        msg["version"] = GENL_VERSION
        msg["attrs"] = list(req.attrs)
        gen = await sock.nlm_request(msg, msg_type=sock.prid, msg_flags=req.flags)
        return [m async for m in gen]

    async def dump(self, req: Request) -> AsyncIterator[Any]:
        for m in await self.request(Request(req.cmd, req.attrs, F_DUMP)):
            yield m

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# ------------------------------------------------------------------------------ backend


class IpvsBackend:
    """The LVS table in the kernel's IPVS (see ``lvs.backend.Backend``)."""

    name = "ipvs"

    def __init__(self, settings: LvsSettings | None = None, netns: str | None = None) -> None:
        self.settings = settings or LvsSettings()
        self.conn = IpvsConnection(netns)
        self._actual: LvsTable | None = None  # what we believe the kernel holds (managed part)
        self._lock = asyncio.Lock()
        self._closed = False

    # -- reading

    async def _dump_services(self) -> list[tuple[LvsService, Any]]:
        out = []
        async for m in self.conn.dump(Request(CMD_GET_SERVICE, [])):
            s = m.get_attr("IPVS_CMD_ATTR_SERVICE")
            if s is not None:
                out.append((decode_service(s), s))
        return out

    async def _dump_dests(self, key: ServiceKey) -> list[Any]:
        return [d async for m in self.conn.dump(Request(CMD_GET_DEST, [_svc(service_key_attrs(
                key))])) if (d := m.get_attr("IPVS_CMD_ATTR_DEST")) is not None]

    async def read_all(self) -> LvsTable:
        """The kernel's whole IPVS table, managed by us or not."""
        return await self._read(None)

    async def _read(self, keys: Iterable[ServiceKey] | None) -> LvsTable:
        wanted = None if keys is None else set(keys)
        entries: list[tuple[LvsService, list[LvsDest]]] = []
        for svc, _raw in await self._dump_services():
            if wanted is not None and svc.key not in wanted:
                continue
            dests = [decode_dest(d, svc.key.af) for d in await self._dump_dests(svc.key)]
            entries.append((svc, dests))
        return LvsTable.build(entries)

    async def read(self) -> LvsTable:
        """The kernel's table for the services this backend manages (all of them before the
        first ``apply``)."""
        async with self._lock:
            if self._actual is None:
                return await self._read(None)
            return await self._read(self._actual.services)

    async def stats(self) -> LvsStats:
        async with self._lock:
            managed = None if self._actual is None else set(self._actual.services)
            services: dict[ServiceKey, Counters] = {}
            dests: dict[tuple[ServiceKey, DestKey], DestStats] = {}
            for svc, raw in await self._dump_services():
                if managed is not None and svc.key not in managed:
                    continue
                services[svc.key] = decode_counters(raw.get_attr("IPVS_SVC_ATTR_STATS64"))
                for d in await self._dump_dests(svc.key):
                    dest = decode_dest(d, svc.key.af)
                    dests[(svc.key, dest.key)] = decode_dest_stats(d)
            return LvsStats(services, dests)

    # -- writing

    async def start(self) -> None:
        if self.settings.flush_at_start:
            await self.flush()
        s = self.settings
        req = timeouts_request(s.timeout_tcp, s.timeout_tcpfin, s.timeout_udp)
        if req is not None:
            await self.conn.request(req)

    async def apply(self, desired: LvsTable) -> list[LvsOp]:
        async with self._lock:
            if self._actual is None:
                # Adopt what an earlier run left for the services we are about to manage.
                self._actual = await self._read(desired.services)
            ops = diff(self._actual, desired)
            try:
                await self._run(ops)
            except NetlinkError as e:
                log.warning("IPVS: %s (errno %d); re-reading the kernel table", e, e.code)
                fresh = await self._read(set(self._actual.services) | set(desired.services))
                retry = diff(fresh, desired)
                try:
                    await self._run(retry)
                except NetlinkError as e2:
                    self._actual = await self._read(set(fresh.services) |
                                                    set(desired.services))
                    raise DataplaneError(f"IPVS refused {e2}", e2.code) from e2
                ops = retry
            self._actual = desired
            return ops

    async def _run(self, ops: Sequence[LvsOp]) -> None:
        for op in ops:
            log.info("IPVS: %s", describe(op))
            await self.conn.request(op_request(op))

    async def flush(self) -> None:
        async with self._lock:
            await self.conn.request(Request(CMD_FLUSH, []))
            self._actual = LvsTable() if self._actual is not None else None

    async def remove_managed(self) -> None:
        """Delete the services this backend created (keepalived's default on stop)."""
        async with self._lock:
            if not self._actual:
                return
            for key in sorted(self._actual.services):
                try:
                    await self.conn.request(op_request(DeleteService(key)))
                except NetlinkError as e:
                    if e.code != errno.ENOENT:
                        log.warning("IPVS: removing %s: %s", key, e)
            self._actual = LvsTable()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.settings.release_on_stop:
                if self.settings.flush_on_stop == "all":
                    await self.flush()
                else:
                    await self.remove_managed()
        finally:
            self.conn.close()

    # -- sync daemon and timeouts

    async def set_sync_daemon(self, state: str | None) -> None:
        """Run the connection-sync thread as ``"MASTER"``, ``"BACKUP"`` or not at all (None):
        what ``lvs_sync_daemon`` does when its VRRP instance changes state."""
        spec = self.settings.sync_daemon
        if spec is None:
            return
        want = {"MASTER": SYNC_STATE_MASTER, "BACKUP": SYNC_STATE_BACKUP}.get(state or "")
        for st in (SYNC_STATE_MASTER, SYNC_STATE_BACKUP):
            if st != want:
                try:
                    await self.conn.request(stop_sync_daemon_request(st))
                except NetlinkError as e:
                    if e.code not in (errno.ESRCH, errno.ENOENT, errno.EINVAL):
                        raise
        if want is not None:
            try:
                await self.conn.request(sync_daemon_request(spec, want))
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise

    async def sync_daemons(self) -> dict[int, dict[str, Any]]:
        """Running sync threads: {state: {ifname, sync_id}} (from IPVS_CMD_GET_DAEMON)."""
        out: dict[int, dict[str, Any]] = {}
        async for m in self.conn.dump(Request(CMD_GET_DAEMON, [])):
            d = m.get_attr("IPVS_CMD_ATTR_DAEMON")
            if d is not None:
                out[d.get_attr("IPVS_DAEMON_ATTR_STATE")] = {
                    "ifname": d.get_attr("IPVS_DAEMON_ATTR_MCAST_IFN"),
                    "sync_id": d.get_attr("IPVS_DAEMON_ATTR_SYNC_ID")}
        return out

    async def timeouts(self) -> tuple[int, int, int]:
        """(tcp, tcpfin, udp) seconds as the kernel has them."""
        (m,) = await self.conn.request(Request(CMD_GET_CONFIG, [], F_REQ))
        return (m.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP") or 0,
                m.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN") or 0,
                m.get_attr("IPVS_CMD_ATTR_TIMEOUT_UDP") or 0)


def table_from_entries(entries: Iterable[tuple[LvsService, Iterable[LvsDest]]]) -> LvsTable:
    return LvsTable.build(entries)


def normalized(table: LvsTable) -> LvsTable:
    """``table`` as the kernel would report it back (HASHED dropped, PERSISTENT set with a
    timeout): what ``read()`` returns after ``apply(table)``."""
    out = []
    for entry in table.services.values():
        svc: LvsService = entry.service
        flags = ServiceFlag(svc.flags & ~ServiceFlag.HASHED)
        if svc.timeout:
            flags |= ServiceFlag.PERSISTENT
        out.append((replace(svc, flags=flags), list(entry.dests.values())))
    return LvsTable.build(out)


__all__ = [
    "IpvsBackend",
    "IpvsConnection",
    "IpvsMsg",
    "Request",
    "ServiceEntry",
    "decode_dest",
    "decode_service",
    "encode",
    "normalized",
    "op_request",
]
