"""``lvs_sync_daemon``: the kernel's IPVS connection-sync thread follows one VRRP instance.

keepalived drives it from the VRRP process: the thread runs as BACKUP from start-up, becomes
MASTER when the named instance becomes master, goes back to BACKUP when it leaves MASTER
(BACKUP or FAULT), and is stopped when the daemon stops. ``SyncDaemonFollower`` is that rule,
kept apart from the VRRP code so the VRRP child only forwards its instances' state changes::

    follower = SyncDaemonFollower.from_global_defs(cfg.global_defs)   # None: nothing to do
    await follower.start()                          # after the instances are built
    await follower.on_state(inst.name, "MASTER")    # on every StateChanged, or from
    follower.post(inst.name, "MASTER")              # synchronous code: queued, in order
    await follower.close()                          # at shutdown

Without IPVS in the kernel (the nftables data plane) the follower does nothing: the checker
child already says once that nftables has no sync daemon.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from pykeepalived.config.model import GlobalDefs
from pykeepalived.lvs.backend import LvsSettings

log = logging.getLogger("pykeepalived.lvs")

SetSyncDaemon = Callable[[str | None], Awaitable[None]]


def ipvs_present() -> bool:
    return os.path.exists("/proc/net/ip_vs")


class SyncDaemonFollower:
    """Maps the VRRP state of ``instance`` to the sync thread's role (see the module doc)."""

    def __init__(self, instance: str | None, setter: SetSyncDaemon) -> None:
        self.instance = instance
        self._set = setter
        self.role: str | None = None  # what the kernel was last asked to run
        self._failed = False
        self._chain: asyncio.Task[None] | None = None  # the last posted change

    @classmethod
    def from_global_defs(cls, gd: GlobalDefs, netns: str | None = None
                         ) -> SyncDaemonFollower | None:
        """A follower driving IPVS, or None when ``lvs_sync_daemon`` is not configured or the
        kernel has no IPVS."""
        if gd.lvs_sync_daemon is None or (netns is None and not ipvs_present()):
            return None
        from pykeepalived.lvs.ipvs import IpvsBackend  # only when IPVS is in use

        backend = IpvsBackend(LvsSettings.from_global_defs(gd), netns=netns)
        return cls(gd.lvs_sync_daemon.instance, backend.set_sync_daemon)

    async def _want(self, role: str | None) -> None:
        if role == self.role or self._failed:
            return
        try:
            await self._set(role)
            self.role = role
        except Exception as e:  # the sync thread is an optimisation: never stop VRRP for it
            self._failed = True
            log.warning("lvs_sync_daemon: cannot run the IPVS sync thread as %s: %s",
                        role or "stopped", e)

    async def start(self) -> None:
        await self._want("BACKUP")

    async def on_state(self, instance: str, state: str) -> None:
        """``state`` as the VRRP child names it (MASTER, BACKUP, FAULT, ...)."""
        if instance != self.instance:
            return
        await self._want("MASTER" if state.upper() == "MASTER" else "BACKUP")

    def post(self, instance: str, state: str) -> None:
        """``on_state`` from synchronous code on the running loop: each change waits for the
        previous one, so the kernel sees them in order."""
        prev = self._chain

        async def step() -> None:
            if prev is not None:
                await prev
            await self.on_state(instance, state)

        self._chain = asyncio.get_running_loop().create_task(step())

    async def close(self) -> None:
        if self._chain is not None:
            await self._chain
        self._failed = False
        await self._want(None)
