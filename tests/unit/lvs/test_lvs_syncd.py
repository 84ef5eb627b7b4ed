"""lvs.syncd: the sync thread's role follows the named VRRP instance (keepalived's rule).

The kernel side (the NEW/DEL_DAEMON messages, ipvsadm --daemon) is proven in the qemu guest
(tests/vm, checks sync_daemon_*); here the state mapping with a recording setter."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pykeepalived.config import load_text
from pykeepalived.config.model import GlobalDefs, LvsSyncDaemon
from pykeepalived.lvs import syncd
from pykeepalived.lvs.syncd import SyncDaemonFollower


def follower(fail: bool = False) -> tuple[SyncDaemonFollower, list[str | None]]:
    calls: list[str | None] = []

    async def setter(role: str | None) -> None:
        if fail:
            raise OSError(97, "Address family not supported by protocol")
        calls.append(role)

    return SyncDaemonFollower("VI_1", setter), calls


def test_backup_at_start_master_with_its_instance_backup_on_leaving_stopped_at_close() -> None:
    f, calls = follower()

    async def scenario() -> None:
        await f.start()
        await f.on_state("VI_2", "MASTER")  # not the sync instance
        await f.on_state("VI_1", "BACKUP")  # already backup: nothing sent
        await f.on_state("VI_1", "MASTER")
        await f.on_state("VI_1", "MASTER")
        await f.on_state("VI_1", "FAULT")
        await f.on_state("VI_1", "MASTER")
        await f.on_state("VI_1", "BACKUP")
        await f.close()

    asyncio.run(scenario())
    assert calls == ["BACKUP", "MASTER", "BACKUP", "MASTER", "BACKUP", None]


def test_a_refusing_kernel_is_logged_once_and_never_stops_vrrp(
        caplog: pytest.LogCaptureFixture) -> None:
    f, calls = follower(fail=True)

    async def scenario() -> None:
        await f.start()
        await f.on_state("VI_1", "MASTER")

    asyncio.run(scenario())
    assert calls == [] and f.role is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "lvs_sync_daemon" in warnings[0].getMessage()


def test_from_global_defs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SyncDaemonFollower.from_global_defs(GlobalDefs()) is None
    gd = load_text("global_defs {\n  lvs_sync_daemon eth0 VI_9 id 4\n}\n").config.global_defs
    assert gd.lvs_sync_daemon == LvsSyncDaemon("eth0", instance="VI_9", sync_id=4)
    monkeypatch.setattr(syncd, "ipvs_present", lambda: False)
    assert SyncDaemonFollower.from_global_defs(gd) is None  # nftables: nothing to run
    monkeypatch.setattr(syncd, "ipvs_present", lambda: True)
    f = SyncDaemonFollower.from_global_defs(gd)
    assert f is not None and f.instance == "VI_9"


def test_posted_changes_apply_in_order_even_when_the_kernel_is_slow() -> None:
    calls: list[str | None] = []

    async def slow_setter(role: str | None) -> None:
        await asyncio.sleep(0.02 if role == "MASTER" else 0.0)
        calls.append(role)

    async def scenario() -> None:
        f = SyncDaemonFollower("VI_1", slow_setter)
        await f.start()
        f.post("VI_1", "MASTER")
        f.post("VI_1", "FAULT")
        f.post("VI_1", "MASTER")
        await f.close()  # waits for the posted changes first

    asyncio.run(scenario())
    assert calls == ["BACKUP", "MASTER", "BACKUP", "MASTER", None]
