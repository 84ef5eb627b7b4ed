"""The LVS table as nftables DNAT rules: virtual servers on kernels without IPVS.

pykeepalived addition (keepalived stops when IPVS is missing). One table of our own (``inet
pykeepalived`` by default) holds two NAT base chains (prerouting for forwarded traffic, output
for the director's own) that jump to ``services``: one rule per virtual service matching its
address/protocol/port (or fwmark) and DNAT-ing through an anonymous map from a selector to the
real servers:

* ``rr`` → ``numgen inc mod N``, one slot per real server (weights only exclude weight 0);
* ``wrr`` → ``numgen inc mod SUM``, a range of ``weight`` slots per real server (weights
  divided by their GCD), so over SUM new connections each server gets exactly its share;
* ``sh`` / ``mh`` → ``jhash`` of the source address (``. th sport`` with sh-port / mh-port),
  weighted the same way; ``dh`` → ``jhash`` of the destination address;
* ``fo`` → the available server with the highest weight;
* persistence (``persistence_timeout``) → ``jhash`` of the source address masked with
  ``persistence_granularity``: a client keeps its server while the set of servers is unchanged.

Connection tracking keeps every established connection on the server it was given, so a
server that leaves the table stops receiving *new* connections only, like IPVS. A service whose
real servers all use DR is realised instead in a ``netdev`` table: a stateless ``fwd`` from the
ingress hook to the chosen server's MAC, hashed per connection. Everything the
rules cannot express is logged once per service with what happens instead; docs/lvs.md has the
full list. The ruleset is replaced in one ``nft -f`` transaction, so packets see either the old
or the new table, never a mix.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pykeepalived.lvs.backend import Counters, DataplaneError, LvsSettings, LvsStats
from pykeepalived.lvs.table import (
    FwdMethod,
    LvsDest,
    LvsOp,
    LvsService,
    LvsTable,
    ServiceEntry,
    ServiceFlag,
    ServiceKey,
    diff,
)

log = logging.getLogger("pykeepalived.lvs")

# scheduler → (what the nftables realisation does, the note logged when it is not exact)
_SCHEDULERS: dict[str, tuple[str, str | None]] = {
    "rr": ("rr", None),
    "wrr": ("wrr", None),
    "sh": ("sh", None),
    "mh": ("sh", None),
    "dh": ("dh", None),
    "fo": ("fo", None),
    "lc": ("rr", "lc needs connection counts: using rr"),
    "wlc": ("wrr", "wlc needs connection counts: using wrr"),
    "sed": ("wrr", "sed needs connection counts: using wrr"),
    "nq": ("wrr", "nq needs connection counts: using wrr"),
    "twos": ("wrr", "twos needs connection counts: using wrr"),
    "ovf": ("fo", "ovf needs connection counts: using fo (highest weight)"),
    "lblc": ("dh", "lblc needs connection counts: using dh (hash of the destination)"),
    "lblcr": ("dh", "lblcr needs connection counts: using dh (hash of the destination)"),
}

_L4 = {6: "tcp", 17: "udp", 132: "sctp"}


@dataclass(frozen=True)
class RenderedService:
    """One service's nftables rule (None when no real server can take traffic) and the notes
    about what could not be realised exactly."""

    key: ServiceKey
    rule: str | None
    notes: tuple[str, ...]


def _addr_match(key: ServiceKey) -> str:
    fam = "ip" if key.af == 4 else "ip6"
    if key.is_fwmark:
        return f"meta nfproto {'ipv4' if key.af == 4 else 'ipv6'} meta mark {key.fwmark:#010x}"
    l4 = _L4[int(key.protocol)]
    if key.port == 0:
        return f"{fam} daddr {key.addr} meta l4proto {l4}"
    return f"{fam} daddr {key.addr} {l4} dport {key.port}"


def _mask(af: int, plen: int) -> str:
    if af == 4:
        bits = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        return ".".join(str((bits >> s) & 0xFF) for s in (24, 16, 8, 0))
    import ipaddress

    return str(ipaddress.IPv6Network(f"::/{plen}").netmask)


def _target(dest: LvsDest, with_port: bool, af: int) -> str:
    if not with_port:
        return dest.addr
    return f"{dest.addr} . {dest.port}"


MAX_SLOTS = 1024


def _ranges(weights: Sequence[int]) -> tuple[int, list[tuple[int, int]]]:
    """Slots per weight: divided by the GCD, scaled down (each at least 1) past ``MAX_SLOTS``."""
    g = 0
    for w in weights:
        g = math.gcd(g, w)
    scaled = [w // g for w in weights] if g else list(weights)
    if sum(scaled) > MAX_SLOTS:
        factor = MAX_SLOTS / sum(scaled)
        scaled = [max(1, round(w * factor)) for w in scaled]
    out, start = [], 0
    for w in scaled:
        out.append((start, start + w - 1))
        start += w
    return start, out


def _slot(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def render_service(entry: ServiceEntry) -> RenderedService:
    """The nftables rule for one service (pure)."""
    svc: LvsService = entry.service
    key = svc.key
    algo, notes = _service_notes(svc)
    if is_dr_service(entry):
        return RenderedService(key, None, ())
    usable = _nat_dests(entry, notes)
    if not usable:
        return RenderedService(key, None, tuple(notes))
    persistent = bool(svc.timeout) or bool(svc.flags & ServiceFlag.PERSISTENT)
    if persistent and algo != "fo":
        notes.append(f"persistence_timeout {svc.timeout}: realised as a hash of the client "
                     f"address /{svc.netmask}, kept while the real servers do not change")
        algo = "persist"
    dnat = _dnat(svc, usable, algo)
    rule = f'{_addr_match(key)} counter name "{counter_name(key)}" {dnat} comment "{key}"'
    return RenderedService(key, rule, tuple(notes))


def _service_notes(svc: LvsService) -> tuple[str, list[str]]:
    """The nft scheduling algorithm for ``svc`` and what of the service's own settings nftables
    cannot honour."""
    notes: list[str] = []
    algo, note = _SCHEDULERS.get(svc.scheduler, ("wrr", f"unknown scheduler {svc.scheduler}: "
                                                        "using wrr"))
    if note:
        notes.append(note)
    if svc.flags & ServiceFlag.ONEPACKET:
        notes.append("ops (one-packet scheduling) ignored: conntrack keeps a UDP flow on one "
                     "real server")
    if svc.pe_name:
        notes.append(f"persistence_engine {svc.pe_name} ignored")
    if svc.flags & ServiceFlag.SCHED3:
        notes.append("flag-3 ignored")
    return algo, notes


def _nat_dests(entry: ServiceEntry, notes: list[str]) -> list[LvsDest]:
    """The real servers a NAT service can DNAT to (weight > 0, its family, NAT), with ports made
    consistent; what is left out or ignored is appended to ``notes``."""
    key = entry.service.key
    usable: list[LvsDest] = []
    for dk in sorted(entry.dests):
        d = entry.dests[dk]
        if d.fwd is not FwdMethod.NAT:
            notes.append(f"real server [{d.addr}]:{d.port} uses {d.fwd.value} in a service "
                         "with NAT real servers: left out (nftables realises a service as NAT "
                         "or, when all its real servers are DR, as DR)")
            continue
        if d.af != key.af:
            notes.append(f"real server [{d.addr}]:{d.port} is another address family: left out")
            continue
        if d.u_threshold or d.l_threshold:
            notes.append(f"real server [{d.addr}]:{d.port} thresholds ignored (no connection "
                         "counts)")
        if d.weight > 0:
            usable.append(d)
    if any(d.port for d in usable) and any(d.port == 0 for d in usable):
        if key.port:
            usable = [d if d.port else LvsDest(d.addr, key.port, d.weight, d.fwd, af=d.af)
                      for d in usable]
        else:
            notes.append("real servers without a port mixed with ported ones under a port-less "
                         "service: the port-less ones are left out")
            usable = [d for d in usable if d.port]
    return usable


def _dnat(svc: LvsService, usable: Sequence[LvsDest], algo: str) -> str:
    """The ``dnat`` statement choosing among ``usable`` as ``algo`` (or ``persist``) does."""
    key = svc.key
    fam = "ip" if key.af == 4 else "ip6"
    with_port = any(d.port for d in usable)
    if algo == "fo":
        best = max(usable, key=lambda d: d.weight)  # first of the highest weights (sorted keys)
        return f"dnat {fam} to {_single(best, with_port, key.af)}"
    weights = [1] * len(usable) if algo == "rr" else [d.weight for d in usable]
    total, ranges = _ranges(weights)
    if algo in ("rr", "wrr"):
        selector = f"numgen inc mod {total}"
    elif algo == "dh":
        selector = f"jhash {fam} daddr mod {total}"
    elif algo == "persist":
        plen = svc.netmask
        full = 32 if key.af == 4 else 128
        src = f"{fam} saddr" if plen >= full else f"{fam} saddr & {_mask(key.af, plen)}"
        selector = f"jhash {src} mod {total}"
    else:  # sh / mh
        src = f"{fam} saddr"
        if svc.flags & ServiceFlag.SCHED2:
            src += " . th sport"
        selector = f"jhash {src} mod {total}"
    if "&" in selector:
        # nft 1.0.6 rejects interval keys after a masked jhash: one element per slot.
        elems = ", ".join(f"{i} : {_target(d, with_port, key.af)}"
                          for d, (lo, hi) in zip(usable, ranges, strict=True)
                          for i in range(lo, hi + 1))
    else:
        elems = ", ".join(f"{_slot(lo, hi)} : {_target(d, with_port, key.af)}"
                          for d, (lo, hi) in zip(usable, ranges, strict=True))
    return f"dnat {fam} to {selector} map {{ {elems} }}"


def counter_name(key: ServiceKey) -> str:
    """A named counter per service: it survives the rewrites of the rules, so connection
    counts are not reset whenever another service changes."""
    return "c" + hashlib.sha1(str(key).encode()).hexdigest()[:15]


def _single(d: LvsDest, with_port: bool, af: int) -> str:
    if not with_port:
        return d.addr
    return f"[{d.addr}]:{d.port}" if af == 6 else f"{d.addr}:{d.port}"


def is_dr_service(entry: ServiceEntry) -> bool:
    """All real servers use direct routing: realised with ``fwd`` in a netdev ingress chain."""
    return bool(entry.dests) and all(d.fwd is FwdMethod.DR for d in entry.dests.values())


def render_dr_service(entry: ServiceEntry, device: str | None) -> RenderedService:
    """A DR service as a stateless ``fwd`` rule for the ingress hook of ``device``.

    The packet leaves unchanged towards the chosen real server's MAC address (neighbour lookup
    of its address), as IPVS DR does. Without connection tracking the choice must be a hash
    that is the same for every packet of a connection: client address and port (address only
    with persistence or sh; destination address with dh).
    """
    svc = entry.service
    key = svc.key
    fam = "ip" if key.af == 4 else "ip6"
    notes = ["DR through nftables is stateless: real servers are chosen by a hash of the "
             "client's address and port, and established connections may move (and be reset) "
             "when the set of real servers changes"]
    if key.is_fwmark:
        notes.append("fwmark DR services cannot be matched at the ingress hook (marks are set "
                     "later): not realised")
        return RenderedService(key, None, tuple(notes))
    if device is None:
        notes.append("no route to the real servers: not realised")
        return RenderedService(key, None, tuple(notes))
    usable = [d for dk in sorted(entry.dests) if (d := entry.dests[dk]).weight > 0
              and d.af == key.af]
    for d in usable:
        if d.port not in (0, key.port):
            notes.append(f"real server [{d.addr}]:{d.port}: DR keeps the service's port "
                         f"{key.port}")
    if not usable:
        return RenderedService(key, None, tuple(notes))
    algo = _SCHEDULERS.get(svc.scheduler, ("wrr", None))[0]
    if svc.timeout or svc.flags & ServiceFlag.PERSISTENT:
        full = 32 if key.af == 4 else 128
        src = f"{fam} saddr" if svc.netmask >= full else \
            f"{fam} saddr & {_mask(key.af, svc.netmask)}"
    elif algo == "sh":
        src = f"{fam} saddr" + (" . th sport" if svc.flags & ServiceFlag.SCHED2 else "")
    elif algo == "dh":
        src = f"{fam} daddr"
    else:
        src = f"{fam} saddr . th sport"
    if algo == "fo":
        target = max(usable, key=lambda d: d.weight).addr
    else:
        weights = [1] * len(usable) if algo == "rr" else [d.weight for d in usable]
        total, ranges = _ranges(weights)
        elems = ", ".join(f"{i} : {d.addr}" for d, (lo, hi) in zip(usable, ranges, strict=True)
                          for i in range(lo, hi + 1))
        target = f"jhash {src} mod {total} map {{ {elems} }}"
    rule = f'{_addr_match(key)} fwd {fam} to {target} device "{device}" comment "{key}"'
    return RenderedService(key, rule, tuple(notes))


def render_dr_script(table: LvsTable, name: str, devices: dict[ServiceKey, str | None]
                     ) -> tuple[str, list[RenderedService]]:
    """The netdev table for the DR services, rebuilt whole (stateless: nothing to keep)."""
    t = f"netdev {name}"
    rendered = [render_dr_service(e, devices.get(k)) for k in sorted(table.services)
                if is_dr_service(e := table.services[k])]
    lines = [f"add table {t}", f"delete table {t}"]
    rules = [r for r in rendered if r.rule]
    if rules:
        lines.append(f"add table {t}")
        for dev in sorted({d for r in rules if (d := devices.get(r.key))}):
            chain = f"dr_{dev}".replace("-", "_").replace(".", "_")
            lines.append(f'add chain {t} {chain} {{ type filter hook ingress device "{dev}" '
                         "priority 0; policy accept; }")
            lines += [f"add rule {t} {chain} {r.rule}" for r in rules
                      if devices.get(r.key) == dev]
    return "\n".join(lines) + "\n", rendered


def render_script(table: LvsTable, name: str = "pykeepalived", previous: LvsTable | None = None
                  ) -> tuple[str, list[RenderedService]]:
    """The whole ``nft -f`` transaction that makes table ``inet <name>`` realise ``table``
    (``previous``: the table applied before, whose vanished services' counters are deleted)."""
    t = f"inet {name}"
    lines = [
        f"add table {t}",
        f"add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
        f"add chain {t} output {{ type nat hook output priority -100; policy accept; }}",
        f"add chain {t} services",
        f"flush chain {t} prerouting",
        f"flush chain {t} output",
        f"flush chain {t} services",
        f"add rule {t} prerouting jump services",
        f"add rule {t} output jump services",
    ]
    rendered = [render_service(table.services[k]) for k in sorted(table.services)]
    lines += [f"add counter {t} {counter_name(r.key)}" for r in rendered if r.rule]
    lines += [f"add rule {t} services {r.rule}" for r in rendered if r.rule]
    for key in sorted(set(previous.services) - set(table.services)) if previous else ():
        lines.append(f"delete counter {t} {counter_name(key)}")
    return "\n".join(lines) + "\n", rendered


class NftBackend:
    """The LVS table as nftables DNAT (see ``lvs.backend.Backend`` and this module's doc)."""

    name = "nftables"

    def __init__(self, settings: LvsSettings | None = None, netns: str | None = None,
                 table: str = "pykeepalived") -> None:
        self.settings = settings or LvsSettings()
        self.netns = netns
        self.table = table
        self._applied: LvsTable | None = None
        self._noted: set[tuple[ServiceKey, str]] = set()
        self._lock = asyncio.Lock()
        self._closed = False

    def _argv(self, *args: str) -> list[str]:
        pre = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [*pre, "nft", *args]

    async def _nft(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        p = await asyncio.create_subprocess_exec(
            *self._argv(*args), stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await p.communicate(stdin.encode() if stdin is not None else None)
        if check and p.returncode != 0:
            raise DataplaneError(f"nft {' '.join(args)}: {err.decode().strip()}",
                                 p.returncode or 0)
        return out.decode()

    async def start(self) -> None:
        s = self.settings
        if s.flush_at_start:
            await self.flush()
        if s.timeout_tcp or s.timeout_tcpfin or s.timeout_udp:
            log.warning("lvs_timeouts is an IPVS setting: the nftables data plane leaves the "
                        "conntrack timeouts as they are")
        if s.sync_daemon is not None:
            log.warning("lvs_sync_daemon needs IPVS: not started with the nftables data plane "
                        "(conntrackd can synchronise connections instead)")

    async def apply(self, desired: LvsTable) -> list[LvsOp]:
        async with self._lock:
            ops = diff(self._applied or LvsTable(), desired)
            previous = self._applied
            if not ops and previous is not None:
                if not desired.services or await self._exists():
                    return []
                # Our table vanished behind our back (nft flush ruleset): rebuild it whole.
                log.warning("nftables data plane: table inet %s disappeared; recreating it",
                            self.table)
                ops = diff(LvsTable(), desired)
                previous = None
            script, rendered = render_script(desired, self.table, previous)
            dr_script, dr_rendered = render_dr_script(desired, self.table,
                                                      await self._dr_devices(desired))
            script += dr_script
            rendered += dr_rendered
            for r in rendered:
                for note in r.notes:
                    if (r.key, note) not in self._noted:
                        self._noted.add((r.key, note))
                        log.warning("nftables data plane, VS %s: %s", r.key, note)
            await self._nft("-f", "-", stdin=script)
            self._applied = desired
            return ops

    async def _dr_devices(self, table: LvsTable) -> dict[ServiceKey, str | None]:
        """For each DR service, the interface its real servers are reached through."""
        out: dict[ServiceKey, str | None] = {}
        for key, entry in table.services.items():
            if not is_dr_service(entry):
                continue
            out[key] = None
            for d in entry.dests.values():
                p = await asyncio.create_subprocess_exec(
                    *self._argv_ip("-j", "route", "get", d.addr),
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
                raw, _ = await p.communicate()
                try:
                    dev = json.loads(raw)[0].get("dev")
                except (ValueError, IndexError, AttributeError):
                    dev = None
                if dev:
                    out[key] = str(dev)
                    break
        return out

    def _argv_ip(self, *args: str) -> list[str]:
        return ["ip", *(["-n", self.netns] if self.netns else []), *args]

    async def read(self) -> LvsTable:
        """The table the ruleset realises (the last one applied; empty if our nftables table
        was removed behind our back, so the next ``apply`` recreates it)."""
        async with self._lock:
            if self._applied is None or not await self._exists():
                return LvsTable()
            return self._applied

    async def _exists(self) -> bool:
        p = await asyncio.create_subprocess_exec(
            *self._argv("list", "table", "inet", self.table), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        return await p.wait() == 0

    async def ruleset(self) -> str:
        """Our table as ``nft list`` prints it (for logs, dumps and tests)."""
        return await self._nft("list", "table", "inet", self.table, check=False)

    async def stats(self) -> LvsStats:
        """Per-service counters: a NAT chain sees only the first packet of each connection, so
        ``conns`` is exact and the packet/byte totals are not available (zero). No per real
        server counters."""
        async with self._lock:
            out = await self._nft("-j", "list", "table", "inet", self.table, check=False)
            by_name = {counter_name(k): k for k in (self._applied or LvsTable()).services}
            services: dict[ServiceKey, Counters] = {}
            try:
                items = json.loads(out)["nftables"] if out.strip() else []
            except (ValueError, KeyError):
                items = []
            for item in items:
                c = item.get("counter")
                if isinstance(c, dict) and c.get("name") in by_name:
                    services[by_name[c["name"]]] = Counters(conns=int(c.get("packets", 0)))
            for key in by_name.values():
                services.setdefault(key, Counters())
            return LvsStats(services, {})

    async def flush(self) -> None:
        async with self._lock:
            await self._nft("-f", "-", stdin=f"add table inet {self.table}\n"
                            f"delete table inet {self.table}\n"
                            f"add table netdev {self.table}\n"
                            f"delete table netdev {self.table}\n")
            self._applied = LvsTable() if self._applied is not None else None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.settings.release_on_stop:
            await self.flush()
