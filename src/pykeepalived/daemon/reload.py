"""What a reload (SIGHUP) does to each instance and to the static config: a pure plan.

``plan_reload(old, new, states)`` compares the running config with the new one and the running
instances' states, and says for every instance:

* **keep**: its identity (``daemon.settings.instance_identity``: the block with file/line
  positions left out, the scripts it tracks, its sync group, the VRRP globals) did not change.
  It keeps its endpoint, state, timers and addresses: no advert gap, no address event; only its
  config object is swapped (notify scripts and other fields outside the identity follow).
* **carry**: it changed, it is MASTER, and its wire identity (``same_router``: VRID, interface,
  family, version, unicast/multicast, VMAC or not) did not: a new endpoint is built from the new
  block and takes over as MASTER in the same loop iteration (no priority 0, no flap; the
  addresses the new block dropped are removed afterwards), as keepalived's reload does.
* **drop**: any other instance of the old config (changed, or gone from the new one: ``removed``)
  is stopped: priority 0 from a MASTER, addresses released.
* **add**: the instances of the new config that are neither kept nor carried (new ones, and
  changed ones that were dropped) are built and started (BACKUP, then elect).

Static addresses/routes/rules: the ones only the old config has are removed
(``static_gone``), then every one of the new config is (re-)added (adding what is there is a
no-op).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pykeepalived.config.model import (
    AddressSpec,
    KeepalivedConfig,
    RouteSpec,
    RuleSpec,
    VrrpInstance,
)
from pykeepalived.daemon.settings import instance_identity, position_free
from pykeepalived.vrrp.actions import State

__all__ = ["ReloadPlan", "StaticEntries", "plan_reload", "same_router"]


@dataclass(frozen=True)
class StaticEntries:
    """Static addresses, routes and rules (``static_ipaddress``/``_routes``/``_rules``)."""

    addresses: tuple[AddressSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()

    @classmethod
    def of(cls, cfg: KeepalivedConfig) -> StaticEntries:
        # (static_addresses may be a packed AddressList: made a tuple of AddressSpec here)
        return cls(tuple(cfg.static_addresses), cfg.static_routes, cfg.static_rules)

    def without(self, other: StaticEntries) -> StaticEntries:
        """The entries of ``self`` that ``other`` does not have (file/line positions aside)."""
        def missing(xs: tuple[Any, ...], ys: tuple[Any, ...]) -> tuple[Any, ...]:
            there = [position_free(y) for y in ys]
            return tuple(x for x in xs if position_free(x) not in there)

        return StaticEntries(missing(self.addresses, other.addresses),
                             missing(self.routes, other.routes),
                             missing(self.rules, other.rules))


@dataclass(frozen=True)
class ReloadPlan:
    """The outcome of ``plan_reload``. Names are in old-config order, ``add`` in new-config
    order. ``drop`` may name instances that are not running (they failed to build): there is
    nothing to stop for those."""

    keep: tuple[str, ...]
    carry: tuple[str, ...]
    drop: tuple[str, ...]
    add: tuple[VrrpInstance, ...]
    removed: frozenset[str]  # the dropped names the new config no longer has
    static_gone: StaticEntries  # static entries to remove (the new config dropped them)
    static_wanted: StaticEntries  # static entries to (re-)add: all of the new config's

    @property
    def started(self) -> int:
        """Instances started that were not running under their name before (for the log)."""
        return len(self.add) - sum(1 for c in self.add if c.name in self.drop)


def same_router(a: VrrpInstance, b: VrrpInstance) -> bool:
    """Whether ``b`` can take over ``a``'s role on the wire without peers noticing a change."""
    return (a.vrid, a.interface, a.family, a.version, a.unicast, a.use_vmac is None) == (
        b.vrid, b.interface, b.family, b.version, b.unicast, b.use_vmac is None)


def plan_reload(old: KeepalivedConfig, new: KeepalivedConfig,
                states: Mapping[str, State]) -> ReloadPlan:
    """Plan the move from ``old`` to ``new``; ``states`` holds the running instances' states
    by name (an instance of ``old`` missing from it is not running)."""
    keep: list[str] = []
    changed: list[str] = []
    for c in old.vrrp_instances:
        n = new.instance(c.name)
        if n is not None and instance_identity(n, new) == instance_identity(c, old):
            keep.append(c.name)
        else:
            changed.append(c.name)
    carry: list[str] = []
    for name in changed:
        was, now = old.instance(name), new.instance(name)
        if (was is not None and now is not None and states.get(name) is State.MASTER
                and same_router(was, now)):
            carry.append(name)
    carried = set(carry)
    drop = tuple(n for n in changed if n not in carried)
    held = set(keep) | set(carry)
    return ReloadPlan(
        keep=tuple(keep), carry=tuple(carry), drop=drop,
        add=tuple(c for c in new.vrrp_instances if c.name not in held),
        removed=frozenset(n for n in drop if new.instance(n) is None),
        static_gone=StaticEntries.of(old).without(StaticEntries.of(new)),
        static_wanted=StaticEntries.of(new),
    )
