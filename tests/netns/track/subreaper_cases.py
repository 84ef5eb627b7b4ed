"""Orphan reaping, run in a process of its own: ``python subreaper_cases.py CASE``.

A ProcessRunner reaps the orphans scripts leave behind only in a process that allowed it to
become a child subreaper (``script.runner.allow_subreaper``, what the daemon's children call at
start). The test process must never become one (it would adopt other tests' orphans for good),
so these cases run here, in a fresh interpreter, like a daemon child. Each case ends by checking
that this process holds no zombie at all; exit status 0 means the case passed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from pykeepalived.config.model import GlobalDefs, NotifyScript, VrrpInstance
from pykeepalived.notify import Notifier
from pykeepalived.script.runner import ProcessRunner, _proc_stat, allow_subreaper


def zombies() -> list[int]:
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit()
            and (st := _proc_stat(int(p))) is not None and st[0] == "Z" and st[1] == me]


def settles(timeout: float = 2.0) -> bool:
    """No zombie child left (a SIGKILLed or just-exited orphan takes a moment to be reaped)."""
    end = time.monotonic() + timeout
    while zombies():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


async def forking_scripts() -> None:
    """Scripts whose children outlive them: the sweep reaps the orphans as they exit."""
    r = ProcessRunner(sweep_interval=0.1)
    script = "(sleep 0.2; exit 1) & (sleep 0.3 & exit 0) & (exec sleep 0.1) & exit 0"
    results = await asyncio.gather(*(r.run(["sh", "-c", script], None, 5) for _ in range(5)))
    assert all(x.ok for x in results), results
    assert r.subreaper
    await asyncio.sleep(0.8)  # the grandchildren finish after their parents exited
    assert settles(), zombies()
    assert r.orphans_reaped >= 5, r.orphans_reaped
    await r.close()


async def other_modules_orphans() -> None:
    """Orphans of scripts another module started in their own session (MISC_CHECK, say) are
    adopted too; the idle sweep reaps them."""
    r = ProcessRunner()
    r.IDLE_SWEEP = 0.1
    assert (await r.run(["/bin/true"], None, 5)).ok  # first spawn: subreaper from now on
    other = subprocess.Popen(["sh", "-c", "(sleep 0.2; exit 0) & exit 0"],
                             start_new_session=True)
    other.wait()  # its owner reaps the leader; the sleeper is orphaned and adopted by us
    await asyncio.sleep(0.8)
    assert zombies() == []
    assert r.orphans_reaped >= 1
    await r.close()


async def notifier_orphans() -> None:
    """notify scripts that leave a background child: the notifier's runner reaps both."""
    inst = VrrpInstance("VI_1", interface="eth0", vrid=51,
                        notify_master=NotifyScript(("sh", "-c", "(sleep 0.2 &) ; exit 0")))
    n = Notifier(GlobalDefs())
    await n.start()
    for _ in range(5):
        n.instance_state(inst, "MASTER", 100)
    await asyncio.sleep(1.0)
    await n.close()
    assert settles(), zombies()


async def orphan_outlives_its_runner() -> None:
    """An orphan still running when its runner closes stays this process's child (the role
    cannot hand it back to init): the process keeps the role and another runner's sweep
    reaps it when it exits."""
    keeper = ProcessRunner(sweep_interval=0.1)
    keeper.IDLE_SWEEP = 0.1
    assert (await keeper.run(["/bin/true"], None, 5)).ok
    r = ProcessRunner()
    assert (await r.run(["sh", "-c", "(sleep 0.5 &) ; exit 0"], None, 5)).ok
    await r.close()
    await asyncio.sleep(1.0)  # the orphan exits after its runner closed
    assert zombies() == [], zombies()
    assert keeper.orphans_reaped >= 1
    await keeper.close()


CASES = {f.__name__: f for f in (forking_scripts, other_modules_orphans, notifier_orphans,
                                 orphan_outlives_its_runner)}

if __name__ == "__main__":
    allow_subreaper()
    asyncio.run(CASES[sys.argv[1]]())
    assert settles(), f"zombies left: {zombies()}"
    print("ok")
