"""The LVS data-plane interface: what the checker process drives, whatever the data plane.

Theory of operation: the pool logic (``check.virtual_server``) produces a complete desired
``LvsTable``; the checker process hands it to ``Backend.apply``. A backend remembers the table it
last applied for the services it manages and applies ``lvs.table.diff(actual, desired)``, so
an unchanged table costs nothing and a changed one costs only the operations needed. Services
the backend never managed (another daemon's, an operator's) are never touched, except by an
explicit flush.

Two implementations:
* ``lvs.ipvs.IpvsBackend``: the kernel's IPVS over generic netlink, what keepalived drives.
* ``lvs.nft.NftBackend``: the same table as nftables DNAT rules (pykeepalived addition, for
  kernels without IPVS); see docs/lvs.md for what it cannot do.

This module is the interface only (the protocol, its settings, errors and statistics) and
imports no implementation; ``lvs.dataplane.select_backend`` chooses one for ``lvs_dataplane``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pykeepalived.lvs.table import DestKey, LvsOp, LvsTable, ServiceKey
from pykeepalived.net.rcvbuf import RcvBuf

if TYPE_CHECKING:
    from pykeepalived.config.model import GlobalDefs


class DataplaneError(RuntimeError):
    """An operation the kernel refused even after a resynchronisation (errno in ``code``)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SyncDaemonSpec:
    """``lvs_sync_daemon IF [inst] VI [id N] [maxlen N] [port N] [ttl N] [group IP]``."""

    interface: str
    vrrp_instance: str | None = None
    sync_id: int = 0
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: str | None = None


@dataclass(frozen=True)
class LvsSettings:
    """The ``global_defs`` keywords (and CLI flag) that govern the data plane as a whole.

    ``flush_on_stop`` is None (remove only the services we configured, keepalived's default),
    ``"all"`` (flush the whole IPVS table) or ``"vs"`` (remove our services without removing
    their real servers one by one first; the same thing here since deleting a service drops its
    destinations). ``release_on_stop`` False is ``-I/--dont-release-ipvs``: leave everything.
    """

    flush_at_start: bool = False
    flush_on_stop: str | None = None
    release_on_stop: bool = True
    timeout_tcp: int | None = None
    timeout_tcpfin: int | None = None
    timeout_udp: int | None = None
    sync_daemon: SyncDaemonSpec | None = None
    netlink_rcvbuf: RcvBuf | None = None  # lvs_netlink_cmd_rcv_bufs

    @classmethod
    def from_global_defs(cls, gd: GlobalDefs, dont_release_ipvs: bool = False) -> LvsSettings:
        sd = gd.lvs_sync_daemon
        spec = None
        if sd is not None:
            spec = SyncDaemonSpec(interface=sd.interface, vrrp_instance=sd.instance,
                                  sync_id=sd.sync_id or 0, maxlen=sd.maxlen, port=sd.port,
                                  ttl=sd.ttl, group=sd.group)
        return cls(flush_at_start=gd.lvs_flush, flush_on_stop=gd.lvs_flush_on_stop,
                   release_on_stop=not dont_release_ipvs, timeout_tcp=gd.lvs_timeout_tcp,
                   timeout_tcpfin=gd.lvs_timeout_tcpfin, timeout_udp=gd.lvs_timeout_udp,
                   sync_daemon=spec,
                   netlink_rcvbuf=RcvBuf(gd.lvs_netlink_cmd_rcv_bufs,
                                         gd.lvs_netlink_cmd_rcv_bufs_force))


@dataclass(frozen=True)
class Counters:
    """IPVS's per-service / per-destination counters (totals and current rates)."""

    conns: int = 0
    inpkts: int = 0
    outpkts: int = 0
    inbytes: int = 0
    outbytes: int = 0
    cps: int = 0
    inpps: int = 0
    outpps: int = 0
    inbps: int = 0
    outbps: int = 0


@dataclass(frozen=True)
class DestStats:
    counters: Counters = Counters()
    active_conns: int = 0
    inactive_conns: int = 0
    persistent_conns: int = 0


@dataclass(frozen=True)
class LvsStats:
    """What the dumps (SIGUSR2 stats, JSON, SNMP) report, read back from the data plane."""

    services: Mapping[ServiceKey, Counters] = field(default_factory=dict)
    dests: Mapping[tuple[ServiceKey, DestKey], DestStats] = field(default_factory=dict)


class Backend(Protocol):
    """What the checker process drives. All methods are coroutines on the process's loop."""

    name: str  # "ipvs" or "nftables"

    async def start(self) -> None:
        """Once, before the first ``apply``: ``lvs_flush``, ``lvs_timeouts``, adopt state."""

    async def apply(self, desired: LvsTable) -> list[LvsOp]:
        """Make the managed part of the data plane equal ``desired``; returns the ops applied."""

    async def read(self) -> LvsTable:
        """The data plane's actual table for the services this backend manages."""

    async def stats(self) -> LvsStats:
        """Counters for the managed services and their destinations."""

    async def flush(self) -> None:
        """Remove every virtual service from the data plane (``lvs_flush``), managed or not."""

    async def close(self) -> None:
        """Release on stop as the settings say, then free sockets. Idempotent."""
