"""Static ``track_group``: static addresses/routes/rules that are put back, or fault a group.

keepalived's behaviour: a static address, route or rule that names a ``track_group`` is checked
again whenever the kernel may have dropped it, i.e. on every netlink link event, address removal
and route/rule deletion (``schedule``, coalesced: one pass at a time, and a burst of events
during a pass costs one more pass). A missing address is added back (``Restored deleted static
address ...``); routes and rules are re-added each pass (EEXIST means still there): the kernel
drops routes exactly when a link or an address goes, so those events are the ones to react to.
An entry that cannot be put back sends every instance of its group to FAULT until a later pass
succeeds. The router has no tracker kind for this: each group is an INTERFACE tracker of weight
0 named ``settings.static_track_name(group)`` in the group's instances, which ``on_change``
(given by the process) sets.

Route/rule deletion events come from their own rtnetlink subscription, started only when some
static route or rule is tracked (``watch_routes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from pykeepalived.config.model import KeepalivedConfig
from pykeepalived.daemon.kernel import Kernel
from pykeepalived.daemon.settings import address_of, route_of, rule_of
from pykeepalived.net.addresses import NetResult

log = logging.getLogger("pykeepalived")

__all__ = ["StaticTrackGroups", "tracked_static"]

Tracked = tuple[str, str, Any]  # (track_group, "address" | "route" | "rule", config spec)


def tracked_static(cfg: KeepalivedConfig) -> list[Tracked]:
    """(track_group, kind, spec) of every static entry that names a track_group."""
    out: list[Tracked] = []
    for kind, xs in (("address", cfg.static_addresses), ("route", cfg.static_routes),
                     ("rule", cfg.static_rules)):
        out += [(x.track_group, kind, x) for x in xs if x.track_group]
    return out


class StaticTrackGroups:
    """The checks of the current config's tracked static entries (see the module docstring).

    ``on_change([(group, ok), ...])`` is called after every pass with the groups whose
    instances must be told (every group on a forced pass, else the ones that changed)."""

    def __init__(self, kernel: Kernel,
                 on_change: Callable[[list[tuple[str, bool]]], None]) -> None:
        self.kernel = kernel
        self._on_change = on_change
        self._entries: list[Tracked] = []
        self._groups: list[str] = []
        self._failed: dict[str, bool] = {}  # track_group -> an entry cannot be restored
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._stopping = False
        self._watching = False

    def configure(self, cfg: KeepalivedConfig) -> None:
        """Check ``cfg``'s entries from now on (start-up and every reload)."""
        self._entries = tracked_static(cfg)
        self._groups = [g.name for g in cfg.track_groups]

    async def watch_routes(self) -> None:
        """Route/rule deletion events, needed only while a static route or rule is tracked."""
        if self._watching or not any(kind != "address" for _, kind, _ in self._entries):
            return
        try:
            await self.kernel.watch_routes(self.schedule)
        except Exception as e:
            log.warning("route/rule monitor unavailable (%s): static routes and rules are "
                        "checked on link and address events only", e)
            return
        self._watching = True

    def schedule(self) -> None:
        """Re-check the tracked static entries soon (coalesced)."""
        if self._stopping or not self._entries:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            self._again = False
            try:
                await self.check()
            except Exception:
                log.exception("checking static addresses/routes/rules failed")
            if not self._again or self._stopping:
                return

    async def check(self, force: bool = False) -> None:
        """One pass: put back what is gone, then report the groups (``force``: all of them,
        and no "Restored" lines: the start-up and reload passes add rather than restore)."""
        failed = dict.fromkeys(self._groups, False)
        for group, kind, spec in self._entries:
            if self._stopping:
                return
            res = await self._restore(kind, spec)
            if res is None:
                continue
            if not res.ok:
                failed[group] = True
                log.error("Static %s %s (track_group %s) cannot be restored: %s", kind,
                          res.target, group, res.error)
            elif res.changed and not force:
                log.info("Restored deleted static %s %s", kind, res.target)
        changes: list[tuple[str, bool]] = []
        for group, bad in failed.items():
            was = self._failed.get(group, False)
            if not force and was == bad:
                continue
            if bad != was:
                log.info("track_group %s: static entries %s", group,
                         "cannot be restored" if bad else "restored")
            self._failed[group] = bad
            changes.append((group, not bad))
        self._on_change(changes)

    async def _restore(self, kind: str, spec: Any) -> NetResult | None:
        """Add the entry back (None: an address that is still there, nothing done)."""
        if kind == "address":
            addr = address_of(spec)
            if addr.dev is not None and any(
                    a.ip == addr.ip for a in await self.kernel.list_addresses(addr.dev)):
                return None
            return await self.kernel.add_address(addr)
        if kind == "route":
            return await self.kernel.add_route(route_of(spec))
        return await self.kernel.add_rule(rule_of(spec))

    async def stop(self) -> None:
        """No more passes: stop the route watcher and wait for a running pass to end."""
        self._stopping = True
        await self.kernel.stop_route_watch()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
