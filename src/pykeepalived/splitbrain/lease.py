"""Lease arbiter (sans-IO): the seeds' "smart lock", kept in etcd.

A node holds one etcd lease (its session) and, for each arbitrated instance it is MASTER of,
the instance's key attached to that lease. The rules:

* **Claiming needs the key.** A backup whose down timer runs out asks for the key (a txn:
  create it if absent, else read who holds it). While another node holds it the backup stays
  BACKUP, watches the key, and keeps advertising at its own priority, so a lower-priority
  holder that can hear it yields (and frees the key): preemption still works, through the key.
  It asks again every ``retry`` until the key is its (a release before its watch was set up
  is never reported). A key won after the claim was given up (a better router's advert came
  while the Acquire was on its way) is released at once: a BACKUP never keeps a key.
* **A master renews, or fences itself.** The session is renewed every third of etcd's TTL.
  etcd frees an expired lease at the earliest ``ttl`` after the last keepalive it *received*,
  so a master whose last successful keepalive was *sent* at ``t`` is safe until ``t + ttl``.
  With ``on_etcd_down fence`` it releases its VIPs at ``t + ttl - FENCE_MARGIN`` (self-fencing)
  if no renewal succeeded by then; nobody else can hold the key before that.
* **A graceful stop revokes at once**, so the next node takes over at VRRP speed.
* **etcd unreachable**: ``hold`` (default): a master keeps its VIPs, a backup does not claim;
  ``vrrp``: plain VRRP (a backup claims on VRRP alone); ``fence``: as ``hold``, and a master
  releases its VIPs when its lease can no longer be trusted (above).
* **Two clusters, one key**: the key's value names the VIP set it protects. A key held for
  another VIP set is refused (logged, never overwritten or deleted) and the instance behaves
  as if etcd were unreachable.

Time to free a crashed master's key: etcd grants whole seconds and checks for expired leases
every 500 ms, so the lease asked of etcd is ``floor(lease_ttl - EXPIRY_SLACK)`` seconds and the
key is free within ``lease_ttl`` of the master's last renewal; a backup's watch sees the
delete at once.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field

from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.claim import ClaimBlock

SOURCE = "lease_arbiter"
EXPIRY_SLACK = 0.6  # etcd's expiry pass (every 500 ms) + the revoke's commit
FENCE_MARGIN = 0.1  # release the VIPs this long before the lease can expire at etcd


class OnDown(enum.Enum):
    HOLD = "hold"
    VRRP = "vrrp"
    FENCE = "fence"


def etcd_ttl(lease_ttl: float) -> int:
    """The whole-second TTL asked of etcd so that the key is free within ``lease_ttl``."""
    return max(1, math.floor(lease_ttl - EXPIRY_SLACK))


@dataclass(frozen=True)
class LeaseSettings:
    node: str  # written into the keys (router_id)
    ttl: float = 3.0
    on_down: OnDown = OnDown.HOLD
    retry: float = 0.5  # between failed requests

    def __post_init__(self) -> None:
        if self.ttl <= 0 or self.retry <= 0:
            raise ValueError("lease ttl and retry must be positive")


@dataclass(frozen=True)
class ArbitratedInstance:
    name: str
    key: str
    vips: tuple[str, ...]

    @property
    def cluster(self) -> str:
        """What the key protects: the sorted VIP set (two clusters share a key only by mistake)."""
        return " ".join(sorted(self.vips))


# ---------------------------------------------------------------- requests to the shell
@dataclass(frozen=True)
class Grant:
    ttl: int


@dataclass(frozen=True)
class KeepAlive:
    lease: int


@dataclass(frozen=True)
class Acquire:
    """txn: if the key does not exist, put ``value`` with ``lease``; else read the key."""

    name: str
    key: str
    value: str
    lease: int


@dataclass(frozen=True)
class Release:
    """txn: delete the key if it is attached to ``lease``."""

    name: str
    key: str
    lease: int


@dataclass(frozen=True)
class Revoke:
    lease: int


@dataclass(frozen=True)
class Watch:
    """Tell ``key_gone(name)`` when the key is deleted (``on=False``: stop watching)."""

    name: str
    key: str
    on: bool = True


# ---------------------------------------------------------------- outcomes for the router
@dataclass(frozen=True)
class SetBlock:
    name: str
    block: ClaimBlock | None


@dataclass(frozen=True)
class SetFault:
    name: str
    reason: str | None


@dataclass(frozen=True)
class YieldRole:
    name: str
    reason: str


@dataclass(frozen=True)
class LostArbitration:
    """Run the instance's fence hook and notify: it gave up (or must give up) its VIPs."""

    name: str
    reason: str


@dataclass(frozen=True)
class Log:
    message: str
    level: str = "INFO"


LeaseAction = (Grant | KeepAlive | Acquire | Release | Revoke | Watch | SetBlock | SetFault
               | YieldRole | LostArbitration | Log)


@dataclass
class _Key:
    spec: ArbitratedInstance
    state: State = State.INIT
    want: bool = False
    held: bool = False
    acquiring: bool = False
    watching: bool = False
    holder: str = ""
    refused: str | None = None
    block: ClaimBlock | None = field(default=None)
    fault: str | None = None


class LeaseArbiter:
    """One node's session and its arbitrated instances' keys."""

    def __init__(self, settings: LeaseSettings, instances: list[ArbitratedInstance]) -> None:
        self.settings = settings
        self._keys = {i.name: _Key(i) for i in instances}
        self._actions: list[LeaseAction] = []
        self._lease: int | None = None
        self._ttl = etcd_ttl(settings.ttl)
        self._granting = False
        self._renewing = False
        self._renew_sent: float | None = None
        self._last_ok: float | None = None  # send time of the last successful renewal
        self._renew_at: float | None = None
        self._retry_at: float | None = None
        self._poll_at: float | None = None  # ask again for keys held elsewhere that we want
        self._reachable = True  # until a request fails
        self._fenced = False
        self.renewals = 0
        self.failures = 0
        self.fences = 0

    # ------------------------------------------------------------------ views
    @property
    def lease(self) -> int | None:
        return self._lease

    @property
    def reachable(self) -> bool:
        return self._reachable

    def knows(self, name: str) -> bool:
        return name in self._keys

    def holds(self, name: str) -> bool:
        return self._keys[name].held

    def fence_at(self) -> float | None:
        """When a master must have released its VIPs unless a renewal succeeds."""
        if self._last_ok is None or self._lease is None:
            return None
        return self._last_ok + self._ttl - FENCE_MARGIN

    def actions(self) -> list[LeaseAction]:
        out, self._actions = self._actions, []
        return out

    def next_timer(self) -> float | None:
        ts = [t for t in (self._renew_at, self._retry_at, self._poll_at) if t is not None]
        fence = self.fence_at()
        if fence is not None and not self._fenced and any(k.held for k in self._keys.values()):
            ts.append(fence)
        return min(ts) if ts else None

    # ------------------------------------------------------------------ inputs: lifecycle
    def start(self, now: float) -> None:
        for k in self._keys.values():
            self._refresh_block(k)
        self._grant(now)

    def shutdown(self, now: float) -> None:
        """Graceful stop: revoke the lease, which frees every key at once."""
        if self._lease is not None:
            self._actions.append(Revoke(self._lease))
        self._lease = None
        self._renew_at = self._retry_at = None

    # ------------------------------------------------------------------ inputs: the router
    def set_state(self, name: str, state: State, now: float) -> None:
        k = self._keys[name]
        old, k.state = k.state, state
        if old is State.MASTER and state is not State.MASTER:
            if k.held and self._lease is not None:
                self._actions.append(Release(name, k.spec.key, self._lease))
            k.held = False
        if state is not State.BACKUP:
            k.want = False
        if state is State.MASTER and not k.held and self._reachable and self._lease is not None:
            self._acquire(k)  # claimed on VRRP alone (etcd was down): take the key now
        self._refresh_block(k)

    def claim_wanted(self, name: str, wanted: bool, now: float) -> None:
        k = self._keys[name]
        k.want = wanted
        if wanted and not k.held and self._lease is not None and self._reachable:
            self._acquire(k)
        if not wanted and k.watching:
            k.watching = False
            self._actions.append(Watch(name, k.spec.key, on=False))
        self._refresh_block(k)

    def settle(self, name: str) -> None:
        """After a batch of the router's actions (a claim given up comes before the state
        change that may follow it): a key held while neither MASTER nor claiming goes."""
        self._drop_unwanted(self._keys[name])

    # ------------------------------------------------------------------ inputs: etcd replies
    def granted(self, lease: int, ttl: int, now: float) -> None:
        self._granting = False
        self._ok(now)
        self._lease = lease
        if ttl > self._ttl:
            self._actions.append(Log(
                f"lease arbiter: etcd granted a {ttl} s lease (its minimum), more than the "
                f"{self._ttl} s asked: a crashed master's key is free only after "
                f"{ttl + EXPIRY_SLACK:g} s", "WARNING"))
        self._ttl = max(ttl, 1)
        self._last_ok = now  # a grant is a renewal: etcd starts the lease now or later
        self._fenced = False
        self._renew_at = now + self._ttl / 3
        self._actions.append(Log(f"lease arbiter: lease {lease:x} granted ({self._ttl} s)"))
        for k in self._keys.values():
            if k.fault is not None:
                k.fault = None
                self._actions.append(SetFault(k.spec.name, None))
            if (k.want or k.state is State.MASTER) and not k.held:
                self._acquire(k)
            self._refresh_block(k)

    def renewed(self, ttl_left: int, now: float) -> None:
        self._renewing = False
        sent = self._renew_sent if self._renew_sent is not None else now
        self._ok(now)
        if ttl_left <= 0:
            self._lease_lost(now, "etcd says our lease has expired")
            return
        self.renewals += 1
        self._last_ok = sent
        self._renew_at = now + self._ttl / 3

    def acquired(self, name: str, ok: bool, holder_value: str, now: float) -> None:
        """The Acquire txn's result: ``ok`` we hold the key, else ``holder_value`` does."""
        self._ok(now)
        k = self._keys[name]
        k.acquiring = False
        if ok:
            k.held, k.refused, k.holder = True, None, self.settings.node
            if k.watching:
                k.watching = False
                self._actions.append(Watch(name, k.spec.key, on=False))
            self._drop_unwanted(k)
        else:
            self._held_by_other(k, holder_value)
            if k.want and k.refused is None and self._poll_at is None:
                # the watch may have started after the holder released the key (a delete
                # before it is never reported): ask again, until the key is ours
                self._poll_at = now + self.settings.retry
        self._refresh_block(k)

    def key_gone(self, name: str, now: float) -> None:
        """The watched key was deleted (its holder released it, or its lease expired)."""
        k = self._keys[name]
        k.holder = ""
        if (k.want or k.state is State.MASTER) and not k.held and self._lease is not None:
            self._acquire(k)

    def request_failed(self, what: str, detail: str, now: float) -> None:
        """A request (``grant``, ``keepalive``, ``acquire:NAME``, ``release``) failed."""
        self.failures += 1
        if what == "grant":
            self._granting = False
        elif what == "keepalive":
            self._renewing = False
        elif what.startswith("acquire:"):
            self._keys[what.split(":", 1)[1]].acquiring = False
        if self._reachable:
            self._reachable = False
            mode = self.settings.on_down.value
            self._actions.append(Log(
                f"lease arbiter: etcd unreachable ({what}: {detail}); on_etcd_down {mode}: "
                + {"hold": "masters keep their VIPs, backups do not claim",
                   "vrrp": "VRRP alone decides",
                   "fence": "masters release their VIPs when the lease runs out"}[mode],
                "WARNING"))
            for k in self._keys.values():
                self._refresh_block(k)
        self._retry_at = now + self.settings.retry

    def handle_timer(self, now: float) -> None:
        fence = self.fence_at()
        if (fence is not None and now >= fence and not self._fenced
                and any(k.held for k in self._keys.values())):
            self._deadline_passed(now)
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            if self._lease is None:
                self._grant(now)
            else:
                self._renew(now)
                for k in self._keys.values():
                    if (k.want or k.state is State.MASTER) and not k.held:
                        self._acquire(k)
        if self._renew_at is not None and now >= self._renew_at:
            self._renew_at = None
            self._renew(now)
        if self._poll_at is not None and now >= self._poll_at:
            self._poll_at = None
            for k in self._keys.values():
                if k.want and not k.held and k.refused is None and self._reachable:
                    self._acquire(k)

    # ------------------------------------------------------------------ internals
    def _ok(self, now: float) -> None:
        if not self._reachable:
            self._reachable = True
            self._actions.append(Log("lease arbiter: etcd answers again"))
            for k in self._keys.values():
                self._refresh_block(k)

    def _grant(self, now: float) -> None:
        if not self._granting:
            self._granting = True
            self._actions.append(Grant(self._ttl))

    def _renew(self, now: float) -> None:
        if self._lease is not None and not self._renewing:
            self._renewing = True
            self._renew_sent = now
            self._actions.append(KeepAlive(self._lease))

    def _acquire(self, k: _Key) -> None:
        if k.acquiring or self._lease is None:
            return
        k.acquiring = True
        value = json.dumps({"vips": k.spec.cluster, "node": self.settings.node,
                            "instance": k.spec.name}, sort_keys=True)
        self._actions.append(Acquire(k.spec.name, k.spec.key, value, self._lease))

    def _drop_unwanted(self, k: _Key) -> None:
        """A key held while neither MASTER nor wanting to claim (the claim was given up
        while the Acquire was on its way: a better router's advert came meanwhile) is
        released at once: else that router waits for it for ever."""
        if k.held and not k.want and k.state is not State.MASTER:
            k.held = False
            if self._lease is not None:
                self._actions.append(Release(k.spec.name, k.spec.key, self._lease))

    def _held_by_other(self, k: _Key, holder_value: str) -> None:
        try:
            holder = json.loads(holder_value)
            vips, who = str(holder["vips"]), f"{holder['node']}/{holder['instance']}"
        except (ValueError, KeyError, TypeError):
            vips, who = "?", holder_value[:60]
        was_held = k.held or k.state is State.MASTER
        k.held = False
        k.holder = who
        if vips != k.spec.cluster:
            if k.refused is None:
                self._actions.append(Log(
                    f"({k.spec.name}) lease key {k.spec.key} is held by {who} for other "
                    f"addresses ({vips}): another cluster uses this key; refusing it",
                    "ERROR"))
            k.refused = f"lease key {k.spec.key} belongs to another cluster ({who})"
        elif was_held:
            reason = f"lease key {k.spec.key} is held by {who}"
            self._actions.append(YieldRole(k.spec.name, reason))
            self._actions.append(LostArbitration(k.spec.name, reason))
        if not k.watching:
            k.watching = True
            self._actions.append(Watch(k.spec.name, k.spec.key))

    def _deadline_passed(self, now: float) -> None:
        self._fenced = True
        age = now - (self._last_ok or now)
        if self.settings.on_down is OnDown.FENCE:
            self.fences += 1
            for k in self._keys.values():
                if k.held:
                    reason = f"lease not renewed for {age:.3f} s: self-fencing"
                    k.held = False
                    k.fault = reason
                    self._actions.append(SetFault(k.spec.name, reason))
                    self._actions.append(LostArbitration(k.spec.name, reason))
        else:
            self._actions.append(Log(
                f"lease arbiter: lease not renewed for {age:.3f} s; on_etcd_down "
                f"{self.settings.on_down.value}: keeping the VIPs", "WARNING"))
            for k in self._keys.values():
                k.held = False  # on a lease we give up: taken again under the next one
        self._lease = None
        self._renew_at = None
        self._grant(now)

    def _lease_lost(self, now: float, why: str) -> None:
        self._actions.append(Log(f"lease arbiter: {why}", "WARNING"))
        self._lease = None
        self._renew_at = None
        for k in self._keys.values():
            if k.held and self.settings.on_down is OnDown.FENCE and not self._fenced:
                reason = f"lease lost ({why}): self-fencing"
                k.fault = reason
                self._actions.append(SetFault(k.spec.name, reason))
                self._actions.append(LostArbitration(k.spec.name, reason))
            k.held = False
        self._grant(now)

    def _refresh_block(self, k: _Key) -> None:
        block: ClaimBlock | None
        if k.held:
            block = None
        elif k.refused is not None or not self._reachable:
            why = k.refused or "etcd unreachable"
            mode = self.settings.on_down
            block = None if mode is OnDown.VRRP else ClaimBlock(
                f"{why} (on_etcd_down {mode.value})")
        elif self._lease is None:
            block = ClaimBlock("waiting for an etcd lease")
        elif k.holder and k.holder != self.settings.node:
            block = ClaimBlock(f"lease key {k.spec.key} is held by {k.holder}", announce=True)
        else:
            block = ClaimBlock(f"waiting for lease key {k.spec.key}", announce=True)
        if block != k.block:
            k.block = block
            self._actions.append(SetBlock(k.spec.name, block))
