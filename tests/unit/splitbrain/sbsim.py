"""Nodes with routers and split-brain guards on a virtual clock (test helper).

A deliberately small world: adverts go from node to node unless ``vrrp_cut`` says that
direction is cut; ARP (probes, answers, gratuitous ARPs) unless ``arp_cut`` does. A node that
is MASTER holds its VIPs and answers probes for them. ``dual()`` is the time two nodes held a
VIP at once, sampled like the lab does (every 5 ms).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from pykeepalived.splitbrain import conflict as cw
from pykeepalived.splitbrain.guards import NodeGuards
from pykeepalived.vrrp.actions import Action, SendAdvert, SendGratuitous, State
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter

VIP = "10.0.0.100"


@dataclass
class SimNode:
    name: str
    ip: str
    mac: str
    router: VrrpRouter
    guards: NodeGuards
    alive: bool = True
    log: list[str] = field(default_factory=list)


class World:
    def __init__(self) -> None:
        self.now = 0.0
        self.nodes: dict[str, SimNode] = {}
        self.vrrp_cut: set[tuple[str, str]] = set()
        self.arp_cut: set[tuple[str, str]] = set()
        self._q: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.samples: list[tuple[float, tuple[str, ...]]] = []

    def add(self, name: str, prio: int, vrid: int = 51, conflict: bool = False,
            interval: float = 0.1) -> SimNode:
        i = len(self.nodes) + 1
        s = RouterSettings(name="VI_1", vrid=vrid, priority=prio, version=3,
                           advert_int=interval, addresses=(VIP,), src_ip=f"10.0.0.{i}")
        r = VrrpRouter(s, 0.0)
        n = SimNode(name, f"10.0.0.{i}", f"02:00:00:00:00:{i:02x}", r, NodeGuards({"VI_1": r}))
        if conflict:
            n.guards.add_conflict_watch("VI_1", cw.ConflictWatch(cw.ConflictSettings(
                "VI_1", (VIP,), interval, own_mac=n.mac)))
        self.nodes[name] = n
        return n

    def start(self) -> None:
        for n in self.nodes.values():
            n.router.start(self.now)
            n.guards.start(self.now)
            self._after(n, n.router.actions())
        self._at(0.0, self._sample)

    def _at(self, t: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._q, (t, next(self._seq), fn))

    def _sample(self) -> None:
        self.samples.append((self.now, tuple(self.holders())))
        self._at(self.now + 0.005, self._sample)

    def holders(self) -> list[str]:
        return [n.name for n in self.nodes.values()
                if n.alive and n.router.state is State.MASTER]

    def dual(self, since: float = 0.0) -> float:
        return 0.005 * sum(1 for t, h in self.samples if t >= since and len(h) > 1)

    def crash(self, name: str) -> None:
        self.nodes[name].alive = False

    def _after(self, n: SimNode, acts: list[Action]) -> None:
        """Perform router actions, let the guards see them, apply the guards' verdicts."""
        n.guards.observe("VI_1", acts, self.now)
        self._perform(n, acts)
        more, io = n.guards.pump(self.now)
        for _name, a2 in more:
            self._perform(n, a2)
        for g in io:
            if isinstance(g.action, cw.ProbeVips):
                self._probe(n)

    def _perform(self, n: SimNode, acts: list[Action]) -> None:
        for a in acts:
            if isinstance(a, SendAdvert):
                self._advert(n, a)
            elif isinstance(a, SendGratuitous):
                self._garp(n)

    def _deliver(self, src: SimNode, cut: set[tuple[str, str]],
                 fn: Callable[[SimNode], None]) -> None:
        for d in self.nodes.values():
            if d is not src and d.alive and (src.name, d.name) not in cut:
                self._at(self.now + 0.0005, lambda d=d: fn(d))  # type: ignore[misc]

    def _advert(self, src: SimNode, a: SendAdvert) -> None:
        vrid = src.router.settings.vrid
        adv = Advert(version=3, vrid=vrid, priority=a.priority, adver_int=a.adver_int,
                     addresses=a.addresses, src=src.ip, dst="224.0.0.18")

        def rx(d: SimNode) -> None:
            if d.router.settings.vrid == vrid:
                d.router.receive(adv, self.now)
                self._after(d, d.router.actions())
            else:
                w = d.guards.conflicts.get("VI_1")
                if w is not None and set(adv.addresses) & {VIP}:
                    w.evidence_advert(adv.src, vrid, adv.priority, adv.addresses, self.now)
                    self._after(d, [])
        self._deliver(src, self.vrrp_cut, rx)

    def _garp(self, src: SimNode) -> None:
        def rx(d: SimNode) -> None:
            if "VI_1" in d.guards.conflicts:
                d.guards.arp_evidence("VI_1", VIP, src.mac, self.now)
                self._after(d, [])
        self._deliver(src, self.arp_cut, rx)

    def _probe(self, prober: SimNode) -> None:
        def rx(d: SimNode) -> None:
            if d.router.state is State.MASTER and (d.name, prober.name) not in self.arp_cut:
                self._at(self.now + 0.0005, lambda: self._answer(prober, d))
        self._deliver(prober, self.arp_cut, rx)

    def _answer(self, prober: SimNode, holder: SimNode) -> None:
        if prober.alive and "VI_1" in prober.guards.conflicts:
            prober.guards.arp_evidence("VI_1", VIP, holder.mac, self.now)
            self._after(prober, [])

    def run(self, until: float) -> None:
        while True:
            t = self._next()
            if t is None or t > until:
                self.now = until
                return
            self.now = t
            self._step(t)

    def _next(self) -> float | None:
        ts = [self._q[0][0]] if self._q else []
        for n in self.nodes.values():
            if n.alive:
                ts += [x for x in (n.router.next_timer(), n.guards.next_timer())
                       if x is not None]
        return min(ts) if ts else None

    def _step(self, t: float) -> None:
        if self._q and self._q[0][0] <= t:
            heapq.heappop(self._q)[2]()
            return
        for n in self.nodes.values():
            if not n.alive:
                continue
            rt = n.router.next_timer()
            if rt is not None and rt <= t:
                n.router.handle_timer(t)
                self._after(n, n.router.actions())
            gt = n.guards.next_timer()
            if gt is not None and gt <= t:
                n.guards.handle_timer(t)
                self._after(n, [])
