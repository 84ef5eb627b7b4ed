"""A simulated LAN of VRRP routers on a virtual clock (test helper, importable by other tests).

Nodes hold one ``VrrpRouter`` per instance (and optionally sync groups). Adverts a router sends
reach every *other* live node in the same partition that runs an instance with the same VRID,
after ``delay`` (+ uniform ``jitter``), unless dropped with probability ``loss``. Crashed nodes
are silent and deaf; a graceful ``stop`` runs ``shutdown`` (priority-0 advert). Everything is
deterministic for a given seed: no real time passes.

Typical use::

    lan = Lan()
    lan.add_node("a", "10.0.0.1", inst("VI_1", 51, 150))
    lan.add_node("b", "10.0.0.2", inst("VI_1", 51, 100))
    lan.start()
    lan.run_for(10)
    assert lan.masters(51) == ["a"]
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from pykeepalived.vrrp.actions import Action, SendAdvert, State, StateChanged
from pykeepalived.vrrp.packet import Advert
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import TrackKind, TrackSpec

MCAST = "224.0.0.18"


def inst(name: str, vrid: int, priority: int, **kw: object) -> RouterSettings:
    """Short-hand for the instance settings used in simulations (one VIP per VRID)."""
    base: dict[str, object] = {
        "name": name,
        "vrid": vrid,
        "priority": priority,
        "addresses": (f"10.9.{vrid}.1",),
    }
    base.update(kw)
    return RouterSettings(**base)  # type: ignore[arg-type]


def script(name: str, weight: int = 0, **kw: object) -> TrackSpec:
    return TrackSpec(TrackKind.SCRIPT, name, weight, **kw)  # type: ignore[arg-type]


@dataclass
class Node:
    name: str
    address: str
    settings: tuple[RouterSettings, ...]
    group_spec: dict[str, tuple[str, ...]]
    routers: dict[str, VrrpRouter] = field(default_factory=dict)
    groups: dict[str, SyncGroup] = field(default_factory=dict)
    alive: bool = True
    part: int = 0

    def by_vrid(self, vrid: int) -> list[VrrpRouter]:
        return [r for r in self.routers.values() if r.settings.vrid == vrid]


@dataclass(frozen=True)
class Sent:
    time: float
    node: str
    instance: str
    action: Action


class Lan:
    def __init__(
        self, seed: int = 0, delay: float = 0.0005, jitter: float = 0.0, loss: float = 0.0
    ) -> None:
        self.rng = random.Random(seed)
        self.delay = delay
        self.jitter = jitter
        self.loss = loss
        self.now = 0.0
        self.nodes: dict[str, Node] = {}
        # (time, node, instance, state or None for "dead"): every observable state change
        self.timeline: list[tuple[float, str, str, State | None]] = []
        self.log: list[Sent] = []
        self.keep_log = True
        self._queue: list[tuple[float, int, str, str, Advert]] = []
        self._seq = 0

    # ------------------------------------------------------------------ building
    def add_node(
        self,
        name: str,
        address: str,
        *settings: RouterSettings,
        groups: dict[str, Iterable[str]] | None = None,
    ) -> Node:
        spec = {g: tuple(members) for g, members in (groups or {}).items()}
        node = Node(name, address, tuple(replace(s, src_ip=address) for s in settings), spec)
        self.nodes[name] = node
        self._build(node)
        return node

    def _build(self, node: Node) -> None:
        node.routers = {s.name: VrrpRouter(s, self.now) for s in node.settings}
        node.groups = {
            g: SyncGroup(g, [node.routers[m] for m in members])
            for g, members in node.group_spec.items()
        }

    def router(self, node: str, instance: str | None = None) -> VrrpRouter:
        routers = self.nodes[node].routers
        if instance is None:
            (only,) = routers.values()
            return only
        return routers[instance]

    # ------------------------------------------------------------------ control
    def start(self, *names: str) -> None:
        for name in names or tuple(self.nodes):
            node = self.nodes[name]
            for r in node.routers.values():
                r.start(self.now)
            self._drain(node)

    def crash(self, name: str) -> None:
        """The node dies silently (no priority-0 advert)."""
        node = self.nodes[name]
        node.alive = False
        for inst_name in node.routers:
            self.timeline.append((self.now, name, inst_name, None))

    def restart(self, name: str) -> None:
        """A crashed or stopped node comes back with fresh routers (state INIT → start)."""
        node = self.nodes[name]
        node.alive = True
        self._build(node)
        self.start(name)

    def stop(self, name: str) -> None:
        """Graceful stop: every router shuts down (a MASTER sends priority 0), then silence."""
        node = self.nodes[name]
        for r in node.routers.values():
            r.shutdown(self.now)
        self._drain(node)
        node.alive = False

    def partition(self, *parts: Iterable[str]) -> None:
        for i, part in enumerate(parts, start=1):
            for name in part:
                self.nodes[name].part = i

    def heal(self) -> None:
        for node in self.nodes.values():
            node.part = 0

    def set_track(self, name: str, kind: TrackKind, track: str, ok: bool) -> None:
        node = self.nodes[name]
        for r in node.routers.values():
            r.set_track_state(kind, track, ok, self.now)
        self._drain(node)

    def set_interface(self, name: str, instance: str, up: bool) -> None:
        node = self.nodes[name]
        node.routers[instance].set_interface_up(up, self.now)
        self._drain(node)

    # ------------------------------------------------------------------ running
    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until(self, end: float) -> None:
        while True:
            t_timer, timer_node = self._next_timer()
            t_msg = self._queue[0][0] if self._queue else None
            if t_msg is not None and (t_timer is None or t_msg <= t_timer):
                if t_msg > end:
                    break
                _, _, dst, inst_name, adv = heapq.heappop(self._queue)
                self.now = max(self.now, t_msg)
                node = self.nodes[dst]
                if node.alive and inst_name in node.routers:
                    node.routers[inst_name].receive(adv, self.now)
                    self._drain(node)
            elif t_timer is not None and timer_node is not None:
                if t_timer > end:
                    break
                self.now = max(self.now, t_timer)
                for r in timer_node.routers.values():
                    r.handle_timer(self.now)
                self._drain(timer_node)
            else:
                break
        self.now = max(self.now, end)

    def run_until_sent(self, name: str, kind: type = SendAdvert, limit: float = 600.0) -> float:
        """Run until node ``name`` next emits an action of ``kind``; return that time."""
        node = self.nodes[name]
        start = len(self.log)
        end = self.now + limit
        while self.now < end:
            due = [t for r in node.routers.values() if (t := r.next_timer()) is not None]
            if not node.alive or not due:
                break
            self.run_until(min(min(due), end))
            for e in self.log[start:]:
                if e.node == name and isinstance(e.action, kind):
                    return e.time
        raise AssertionError(f"{name} sent no {kind.__name__} within {limit} s")

    def _next_timer(self) -> tuple[float | None, Node | None]:
        best: float | None = None
        best_node: Node | None = None
        for node in self.nodes.values():
            if not node.alive:
                continue
            for r in node.routers.values():
                t = r.next_timer()
                if t is not None and (best is None or t < best):
                    best, best_node = t, node
        return best, best_node

    def _drain(self, node: Node) -> None:
        for _ in range(8):  # group effects can queue on routers already drained
            pending = False
            for g in node.groups.values():
                g.actions()
            for inst_name, r in node.routers.items():
                for action in r.actions():
                    pending = True
                    self._perform(node, inst_name, action)
            if not pending:
                return

    def _perform(self, node: Node, inst_name: str, action: Action) -> None:
        if self.keep_log:
            self.log.append(Sent(self.now, node.name, inst_name, action))
        if isinstance(action, StateChanged):
            self.timeline.append((self.now, node.name, inst_name, action.new))
        elif isinstance(action, SendAdvert):
            adv = Advert(
                version=action.version,
                vrid=action.vrid,
                priority=action.priority,
                adver_int=action.adver_int,
                addresses=action.addresses,
                src=node.address,
                dst=MCAST,
            )
            for other in self.nodes.values():
                if other is node or not other.alive or other.part != node.part:
                    continue
                for r in other.by_vrid(action.vrid):
                    if self.loss and self.rng.random() < self.loss:
                        continue
                    t = self.now + self.delay
                    if self.jitter:
                        t += self.rng.uniform(0, self.jitter)
                    self._seq += 1
                    heapq.heappush(self._queue, (t, self._seq, other.name, r.name, adv))

    # ------------------------------------------------------------------ observing
    def masters(self, vrid: int) -> list[str]:
        """Live nodes whose instance for ``vrid`` is MASTER now."""
        return sorted(
            n.name
            for n in self.nodes.values()
            if n.alive and any(r.state is State.MASTER for r in n.by_vrid(vrid))
        )

    def states(self, vrid: int) -> dict[str, State]:
        return {n.name: r.state for n in self.nodes.values() if n.alive for r in n.by_vrid(vrid)}

    def became(self, node: str, state: State, after: float = 0.0) -> float | None:
        """The first time ``node`` entered ``state`` (any instance) at or after ``after``."""
        for t, n, _, s in self.timeline:
            if n == node and s is state and t >= after:
                return t
        return None

    def overlaps(self, vrid: int, since: float = 0.0) -> list[tuple[float, float]]:
        """Intervals (start, end) during which two or more live nodes were MASTER for ``vrid``."""
        names = {
            (n.name, s.name) for n in self.nodes.values() for s in n.settings if s.vrid == vrid
        }
        current: dict[tuple[str, str], bool] = dict.fromkeys(names, False)
        out: list[tuple[float, float]] = []
        start: float | None = None
        for t, n, i, s in self.timeline:
            if (n, i) not in current:
                continue
            current[(n, i)] = s is State.MASTER
            count = sum(current.values())
            if count >= 2 and start is None:
                start = t
            elif count < 2 and start is not None:
                if t > since:
                    out.append((max(start, since), t))
                start = None
        if start is not None:
            out.append((max(start, since), self.now))
        return out

    def sent(self, node: str, kind: type) -> list[Sent]:
        return [e for e in self.log if e.node == node and isinstance(e.action, kind)]
