"""MISC_CHECK: run ``misc_path``; exit 0 = up, 1 = down; with ``misc_dynamic`` an exit code of
2..255 is up with weight ``code - 2``. A script still running after ``misc_timeout`` (default
delay_loop) is killed (its whole process group) and counts as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from pykeepalived.check.virtual_server import CheckOutcome
from pykeepalived.config.model import MiscCheck
from pykeepalived.script.runner import RunAs


async def misc_check(chk: MiscCheck, run_as: RunAs | None = None) -> CheckOutcome:
    """Run the script (as ``run_as`` when given: the caller resolved user/default user)."""
    if chk.script is None or not chk.script.argv:
        return CheckOutcome(False, detail="failed (no misc_path)")
    timeout = chk.misc_timeout if chk.misc_timeout is not None else chk.delay_loop
    kw: dict[str, object] = {}
    if run_as is not None and not (run_as.uid == os.getuid() and run_as.gid == os.getgid()):
        kw["user"] = run_as.uid
        kw["group"] = run_as.gid
        if run_as.groups is not None:
            kw["extra_groups"] = list(run_as.groups)
    elif run_as is None:
        if chk.script.user:
            kw["user"] = chk.script.user
        if chk.script.group:
            kw["group"] = chk.script.group
    argv = chk.script.argv
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True, **kw)  # type: ignore[arg-type]
    except (OSError, ValueError, KeyError) as e:
        return CheckOutcome(False, detail=f"failed (cannot run: {e})")
    try:
        async with asyncio.timeout(timeout):
            code = await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return CheckOutcome(False, detail="timed out")
    return outcome_for_exit(code, chk.misc_dynamic, " ".join(argv))


def outcome_for_exit(code: int, dynamic: bool, name: str = "") -> CheckOutcome:
    """keepalived's reading of a MISC_CHECK exit status (negative = killed by a signal)."""
    if code == 0:
        return CheckOutcome(True)
    if dynamic and 2 <= code <= 255:
        return CheckOutcome(True, weight=code - 2)
    # keepalived's wording, completed by the pool into "Misc check for [...] by [...] <why>."
    why = f"due to signal {-code}" if code < 0 else f"exited with status {code}"
    return CheckOutcome(False, detail=f"failed ({why})")
