"""Script security: keepalived's path rules for root scripts, and the -t SECURITY finding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pykeepalived.config.model import (
    GlobalDefs,
    KeepalivedConfig,
    Severity,
    TrackRef,
    VrrpInstance,
    VrrpScript,
)
from pykeepalived.script.runner import RunAs
from pykeepalived.script.security import (
    SECURITY_VIOLATION,
    ScriptVerdict,
    check_script,
    script_security_messages,
)

ROOT = RunAs(0, 0, "root")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root-owned files")


def _script(d: Path, mode: int = 0o755) -> str:
    p = d / "chk.sh"
    p.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(p, mode)
    return str(p)


@needs_root
def test_safe_root_script(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    res = check_script([_script(tmp_path)], ROOT, enable_script_security=True)
    assert res.verdict is ScriptVerdict.OK and res.runnable


@needs_root
def test_world_writable_dir_disables_with_security(tmp_path: Path) -> None:
    d = tmp_path / "ww"
    d.mkdir()
    os.chmod(d, 0o777)  # no sticky bit
    s = _script(d)
    res = check_script([s], ROOT, enable_script_security=True)
    assert res.verdict is ScriptVerdict.DISABLED and not res.runnable
    assert res.message == f"Unsafe permissions found for script '{s}' - disabling."
    res = check_script([s], ROOT, enable_script_security=False)
    assert res.verdict is ScriptVerdict.INSECURE and res.runnable
    os.chmod(d, 0o1777)  # sticky directory (like /tmp) is fine
    assert check_script([s], ROOT, enable_script_security=True).verdict is ScriptVerdict.OK


@needs_root
def test_group_writable_file_and_non_root_owner(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    s = _script(tmp_path, 0o775)
    os.chown(s, 0, 65534)  # group nogroup with write permission
    assert check_script([s], ROOT, enable_script_security=True).verdict is ScriptVerdict.DISABLED
    os.chown(s, 65534, 0)  # owned by nobody
    assert check_script([s], ROOT, enable_script_security=True).verdict is ScriptVerdict.DISABLED
    # Not run as root: the path rules do not apply.
    nobody = RunAs(65534, 65534, "nobody", ())
    assert check_script([s], nobody, enable_script_security=True).runnable


def test_missing_and_not_executable(tmp_path: Path) -> None:
    res = check_script([str(tmp_path / "none")], ROOT, enable_script_security=True)
    assert res.verdict is ScriptVerdict.NOT_FOUND
    s = _script(tmp_path, 0o644)
    assert check_script([s], ROOT, enable_script_security=False).verdict is \
        ScriptVerdict.NOT_EXECUTABLE
    assert check_script(["sh", "-c", "true"], ROOT, enable_script_security=False).runnable


def _cfg(gd: GlobalDefs, tracked: bool = True) -> KeepalivedConfig:
    inst = VrrpInstance("VI_1", interface="eth0", vrid=51,
                        track_scripts=(TrackRef("chk"),) if tracked else ())
    return KeepalivedConfig(global_defs=gd, vrrp_instances=(inst,),
                            vrrp_scripts=(VrrpScript("chk", ("/bin/true",)),))


@pytest.mark.skipif(os.geteuid() != 0, reason="root run-as needs root")
def test_security_violation_for_t_exit_6() -> None:
    msgs = script_security_messages(_cfg(GlobalDefs()))
    assert any(m.severity is Severity.SECURITY and m.text == SECURITY_VIOLATION for m in msgs)
    msgs = script_security_messages(_cfg(GlobalDefs(enable_script_security=True)))
    assert not any(m.severity is Severity.SECURITY for m in msgs)
    msgs = script_security_messages(_cfg(GlobalDefs(script_user="nobody")))
    assert not any(m.severity is Severity.SECURITY for m in msgs)
    assert script_security_messages(KeepalivedConfig()) == ()


def test_run_as_resolution() -> None:
    from pykeepalived.script.security import DEFAULT_SCRIPT_USER, resolve_run_as

    ra, warn = resolve_run_as("nobody", None, GlobalDefs())
    assert (ra.uid, ra.user, ra.groups) == (65534, "nobody", ()) and warn is None
    ra, warn = resolve_run_as("nobody", "root", GlobalDefs())
    assert (ra.uid, ra.gid) == (65534, 0)
    ra, warn = resolve_run_as(None, None, GlobalDefs(script_user="nobody"))
    assert ra.uid == 65534
    ra, warn = resolve_run_as("no-such-user-pkt", None, GlobalDefs(script_user="nobody"))
    assert ra.uid == 65534 and warn is not None  # falls back to the default user
    if not _user_exists(DEFAULT_SCRIPT_USER):
        ra, warn = resolve_run_as(None, None, GlobalDefs())
        assert ra.uid == 0 and warn is not None and DEFAULT_SCRIPT_USER in warn


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_set_supplementary_groups_keeps_the_users_groups() -> None:
    """set_supplementary_groups: a script gets its user's supplementary groups; without it a
    non-root user's are dropped."""
    from pykeepalived.config import load_text
    from pykeepalived.script.security import resolve_run_as

    with_groups = load_text("global_defs {\n set_supplementary_groups\n}\n").config.global_defs
    ra, _ = resolve_run_as("nobody", None, with_groups)
    assert ra.groups == tuple(os.getgrouplist("nobody", ra.gid))
    ra, _ = resolve_run_as("nobody", None, load_text("").config.global_defs)
    assert ra.groups == ()


@needs_root
def test_use_symlink_paths_checks_the_path_as_written(tmp_path: Path) -> None:
    """use_symlink_paths: a symlink's own path is checked (here an unsafe, world-writable
    directory), not the file it points to."""
    from pykeepalived.config import load_text

    safe = tmp_path / "safe"
    safe.mkdir()
    target = _script(safe)
    unsafe = tmp_path / "ww"
    unsafe.mkdir()
    os.chmod(unsafe, 0o777)
    link = unsafe / "chk"
    link.symlink_to(target)
    for text, verdict in (("", ScriptVerdict.OK),
                          ("global_defs {\n use_symlink_paths\n}\n", ScriptVerdict.INSECURE)):
        gd = load_text(text).config.global_defs
        got = check_script([str(link)], ROOT, enable_script_security=False,
                           use_symlink_paths=gd.use_symlink_paths)
        assert got.verdict is verdict, (text, got)
