"""One node's split-brain guards wired to its routers (sans-IO).

The shell keeps calling its routers as before. After each call it hands the drained router
actions to ``observe`` (state changes and claim wishes reach the guards), calls
``handle_timer`` when ``next_timer`` is due, feeds the guards' I/O results in (ARP answers,
etcd replies), and then ``pump``: the guards' verdicts are applied to the routers through
their explicit inputs (``set_claim_block``, ``set_guard_fault``, ``yield_master``), and what
comes back is returned: router actions to perform (addresses, adverts, logs) and guard I/O to
do (probes, etcd requests, logs, notifications).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pykeepalived.splitbrain import conflict as cw
from pykeepalived.splitbrain import lease as la
from pykeepalived.splitbrain import refgate as rg
from pykeepalived.vrrp.actions import (
    Action,
    ClaimWanted,
    Notify,
    NotifyEvent,
    Reason,
    State,
    StateChanged,
)
from pykeepalived.vrrp.claim import ClaimBlock
from pykeepalived.vrrp.router import VrrpRouter

REFGATE = "reference_address"


@dataclass(frozen=True)
class GuardIo:
    """Something a guard asks the shell to do. ``owner`` is the instance name, or for a
    reference gate the gate's id, or "" for the node's lease session."""

    owner: str
    action: object


class NodeGuards:
    """``pull(name)``: how the router actions a verdict caused are taken (an endpoint's
    ``events()`` in the daemon, which also encodes the adverts among them); by default the
    routers' own ``actions()``."""

    def __init__(self, routers: Mapping[str, VrrpRouter],
                 pull: Callable[[str], list[Action]] | None = None) -> None:
        self.routers = routers
        self._pull = pull if pull is not None else (lambda n: self.routers[n].actions())
        self.conflicts: dict[str, cw.ConflictWatch] = {}
        self.gates: dict[str, rg.ReferenceGate] = {}
        self.gate_members: dict[str, tuple[str, ...]] = {}
        self.lease: la.LeaseArbiter | None = None
        self._pending: list[tuple[str, list[Action]]] = []
        self._dirty: set[str] = set()  # instances whose conflict watch may have actions

    # ------------------------------------------------------------------ set-up
    def add_conflict_watch(self, name: str, watch: cw.ConflictWatch) -> None:
        self.conflicts[name] = watch

    def add_gate(self, gate_id: str, gate: rg.ReferenceGate, members: tuple[str, ...]) -> None:
        self.gates[gate_id] = gate
        self.gate_members[gate_id] = members

    def set_lease(self, lease: la.LeaseArbiter) -> None:
        self.lease = lease

    def start(self, now: float) -> None:
        for gate in self.gates.values():
            gate.start(now)
        if self.lease is not None:
            self.lease.start(now)
        for name, r in self.routers.items():  # routers already running (after a reload)
            if r.state is not State.INIT:
                self.observe(name, [StateChanged(State.INIT, r.state, Reason.STARTUP)], now)

    # ------------------------------------------------------------------ inputs
    def observe(self, name: str, actions: Sequence[Action], now: float) -> None:
        """Router ``name`` produced ``actions`` (already performed or about to be)."""
        r = self.routers[name]
        watch = self.conflicts.get(name)
        if watch is not None:
            self._dirty.add(name)
        lease = self.lease if self.lease is not None and self.lease.knows(name) else None
        for a in actions:
            if isinstance(a, StateChanged):
                if watch is not None:
                    watch.set_rank(r.effective_priority, r.settings.src_ip)
                    watch.set_state(a.new, now)
                if lease is not None:
                    lease.set_state(name, a.new, now)
            elif isinstance(a, ClaimWanted):
                if watch is not None:
                    watch.set_claim_waiting(a.wanted, now)
                if lease is not None:
                    lease.claim_wanted(name, a.wanted, now)
            elif (isinstance(a, Notify) and a.event is NotifyEvent.MASTER_RX_LOWER_PRI
                  and watch is not None):
                watch.evidence_lower_master(now)
        if lease is not None:
            lease.settle(name)
        if watch is not None:
            watch.vrrp_heard(r.last_advert_at, r.last_advert_rank)
            if r.state is State.BACKUP:
                watch.set_down_deadline(None if r.claim_waiting else r.next_timer(), now)

    def arp_evidence(self, name: str, vip: str, mac: str, now: float) -> None:
        """``mac`` answered or announced ``vip`` of instance ``name``: its watch judges it
        with what the router last heard (the other's VRRP rank, when adverts told it)."""
        watch = self.conflicts[name]
        r = self.routers[name]
        watch.vrrp_heard(r.last_advert_at, r.last_advert_rank)
        watch.evidence_arp(vip, mac, now)
        self._dirty.add(name)

    def touched(self, name: str) -> None:
        """Instance ``name``'s watch was given evidence: look at it at the next pump."""
        if name in self.conflicts:
            self._dirty.add(name)

    def next_timer(self) -> float | None:
        ts = [g.next_timer() for g in self.gates.values()]
        ts += [w.next_timer() for w in self.conflicts.values()]
        if self.lease is not None:
            ts.append(self.lease.next_timer())
        due = [t for t in ts if t is not None]
        return min(due) if due else None

    def handle_timer(self, now: float) -> None:
        for g in self.gates.values():
            t = g.next_timer()
            if t is not None and t <= now:
                g.handle_timer(now)
        for name, w in self.conflicts.items():
            t = w.next_timer()
            if t is not None and t <= now:
                w.handle_timer(now)
                self._dirty.add(name)
        if self.lease is not None:
            t = self.lease.next_timer()
            if t is not None and t <= now:
                self.lease.handle_timer(now)

    # ------------------------------------------------------------------ outputs
    def pump(self, now: float) -> tuple[list[tuple[str, list[Action]]], list[GuardIo]]:
        """Apply the guards' verdicts to the routers; return (router actions, guard I/O)."""
        out: list[tuple[str, list[Action]]] = []
        io: list[GuardIo] = []
        for _ in range(8):  # verdicts → routers → state changes → guards; settles quickly
            moved = False
            for gid, gate in self.gates.items():
                for a in gate.actions():
                    moved = True
                    self._gate_action(gid, a, now, io)
            dirty, self._dirty = self._dirty, set()
            for name in dirty:
                for c in self.conflicts[name].actions():
                    moved = True
                    self._conflict_action(name, c, now, io)
            if self.lease is not None:
                for x in self.lease.actions():
                    moved = True
                    self._lease_action(x, now, io)
            pending, self._pending = self._pending, []
            for name, acts in pending:
                self.observe(name, acts, now)
            out += pending
            if not moved and not pending:
                break
        return out, io

    def _router_call(self, name: str) -> None:
        acts = self._pull(name)
        if acts:
            self._pending.append((name, acts))

    def _gate_action(self, gid: str, a: rg.RefGateAction, now: float,
                     io: list[GuardIo]) -> None:
        if isinstance(a, rg.Probe):
            io.append(GuardIo(gid, a))
            return
        for name in self.gate_members[gid]:
            r = self.routers[name]
            r.set_claim_block(REFGATE, None if a.claim is None else
                              ClaimBlock(a.claim), now)
            r.set_guard_fault(REFGATE, a.fault, now)
            self._router_call(name)

    def _conflict_action(self, name: str, c: cw.ConflictAction, now: float,
                         io: list[GuardIo]) -> None:
        r = self.routers[name]
        if isinstance(c, cw.SetBlock):
            r.set_claim_block(cw.SOURCE, c.block, now)
        elif isinstance(c, cw.YieldRole):
            r.yield_master(c.reason, now)
        else:
            io.append(GuardIo(name, c))
            return
        self._router_call(name)

    def _lease_action(self, x: la.LeaseAction, now: float, io: list[GuardIo]) -> None:
        if isinstance(x, la.SetBlock):
            self.routers[x.name].set_claim_block(la.SOURCE, x.block, now)
        elif isinstance(x, la.SetFault):
            self.routers[x.name].set_guard_fault(la.SOURCE, x.reason, now)
        elif isinstance(x, la.YieldRole):
            self.routers[x.name].yield_master(x.reason, now)
        else:
            name = getattr(x, "name", "")
            io.append(GuardIo(name, x))
            return
        self._router_call(x.name)
