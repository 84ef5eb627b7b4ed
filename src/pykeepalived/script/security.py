"""Script security, as keepalived applies it before running any operator script.

Facts followed (keepalived.conf(5), keepalived's notify code):

* Run-as user: the script's own ``user [group]``; else global ``script_user``; else the user
  ``keepalived_script`` when it exists; else root.
* A script that would run as root (uid 0 or gid 0) is *unsafe* when any component of its path,
  from ``/`` down to the file, is owned by a non-root user, or is a file or a non-sticky
  directory writable by a non-root group or by everyone. With ``enable_script_security`` an
  unsafe script is disabled ("Unsafe permissions found for script '...' - disabling."); without
  it, running root scripts at all is reported as
  "SECURITY VIOLATION - scripts are being executed but script_security not enabled." (which makes
  ``keepalived -t`` exit 6).
* A script that does not exist, or is not executable for its run-as credentials, is disabled.
* A bare name (no ``/``) is looked up in ``PATH`` first.

``script_security_messages(config)`` is the pure(-ish: it stats files and reads the user
database) entry point the config test (``-t``) uses; ``check_script`` is what the runners use
right before arming a script.
"""

from __future__ import annotations

import enum
import grp
import os
import pwd
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from pykeepalived.config.model import (
    ConfigMessage,
    GlobalDefs,
    KeepalivedConfig,
    NotifyScript,
    Severity,
)
from pykeepalived.script.runner import RunAs

DEFAULT_SCRIPT_USER = "keepalived_script"

SECURITY_VIOLATION = (
    "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
)


class ScriptVerdict(enum.Enum):
    OK = "ok"  # safe (or not run as root) and executable
    INSECURE = "insecure"  # unsafe path, but enable_script_security is off: runs, logged
    DISABLED = "disabled"  # unsafe path with enable_script_security: never run
    NOT_FOUND = "not_found"  # path (or PATH search) did not resolve: never run
    NOT_EXECUTABLE = "not_executable"  # not executable for its uid/gid: never run


@dataclass(frozen=True)
class ScriptCheck:
    verdict: ScriptVerdict
    path: str  # the resolved file that would be executed
    message: str = ""  # keepalived's log phrase, empty when OK

    @property
    def runnable(self) -> bool:
        return self.verdict in (ScriptVerdict.OK, ScriptVerdict.INSECURE)


def _lookup_user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if name.isdigit():
            try:
                return pwd.getpwuid(int(name))
            except KeyError:
                return None
        return None


def _lookup_group(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return int(name) if name.isdigit() else None


def default_run_as(gd: GlobalDefs) -> tuple[RunAs, str | None]:
    """The run-as for scripts that name no user, and a warning to log (or None)."""
    if gd.script_user:
        return resolve_run_as(gd.script_user, gd.script_group, gd)
    pw = _lookup_user(DEFAULT_SCRIPT_USER)
    if pw is None:
        return RunAs(0, 0, "root"), (
            f"WARNING - default user '{DEFAULT_SCRIPT_USER}' for script execution does not "
            "exist - please create.")
    return _run_as_from_pw(pw, None, gd), None


def _run_as_from_pw(pw: pwd.struct_passwd, gid: int | None, gd: GlobalDefs) -> RunAs:
    g = pw.pw_gid if gid is None else gid
    groups: tuple[int, ...] | None = None
    if gd.set_supplementary_groups:
        groups = tuple(os.getgrouplist(pw.pw_name, g))
    elif pw.pw_uid != 0:
        groups = ()  # drop root's supplementary groups when switching user
    return RunAs(pw.pw_uid, g, pw.pw_name, groups)


def resolve_run_as(user: str | None, group: str | None, gd: GlobalDefs) -> tuple[RunAs, str | None]:
    """Credentials for a script with ``user [group]`` (None = the default user)."""
    if user is None:
        return default_run_as(gd)
    pw = _lookup_user(user)
    if pw is None:
        run_as, _ = default_run_as(gd)
        return run_as, f"Unable to find user '{user}' - using default"
    gid: int | None = None
    if group is not None:
        gid = _lookup_group(group)
        if gid is None:
            return _run_as_from_pw(pw, None, gd), f"Unable to find group '{group}'"
    return _run_as_from_pw(pw, gid, gd), None


def script_run_as(script: NotifyScript, gd: GlobalDefs) -> RunAs:
    return resolve_run_as(script.user, script.group, gd)[0]


def _find_in_path(name: str) -> str | None:
    for d in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand):
            return cand
    return None


def _unsafe(st: os.stat_result) -> bool:
    if st.st_uid != 0:
        return True
    mode = st.st_mode
    if stat.S_ISDIR(mode) and mode & stat.S_ISVTX:
        return False
    return bool((st.st_gid != 0 and mode & stat.S_IWGRP) or mode & stat.S_IWOTH)


def _executable_for(st: os.stat_result, run_as: RunAs) -> bool:
    mode = st.st_mode
    if run_as.uid == 0:
        return bool(mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    if run_as.uid == st.st_uid:
        return bool(mode & stat.S_IXUSR)
    if run_as.gid == st.st_gid or st.st_gid in (run_as.groups or ()):
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def check_script(argv: tuple[str, ...] | list[str], run_as: RunAs, *,
                 enable_script_security: bool, use_symlink_paths: bool = False) -> ScriptCheck:
    """keepalived's per-script check: existence, path permissions for root, executability."""
    if not argv:
        return ScriptCheck(ScriptVerdict.NOT_FOUND, "", "empty script")
    name = argv[0]
    path: str | None = name if "/" in name else _find_in_path(name)
    if path is None:
        return ScriptCheck(ScriptVerdict.NOT_FOUND, name,
                           f"check_script_secure could not find script '{name}' - disabling")
    if not use_symlink_paths:
        path = os.path.realpath(path)
    # Walk "/", "/a", "/a/b", ... "/a/b/file".
    parts = [p for p in os.path.abspath(path).split("/") if p]
    prefixes = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
    insecure = False
    final: os.stat_result | None = None
    for i, comp in enumerate(prefixes):
        try:
            st = os.stat(comp)
        except OSError:
            return ScriptCheck(ScriptVerdict.NOT_FOUND, path,
                               f"check_script_secure could not find script '{name}' - disabling")
        last = i == len(prefixes) - 1
        if (not last and not stat.S_ISDIR(st.st_mode)) or (last and not stat.S_ISREG(st.st_mode)):
            return ScriptCheck(ScriptVerdict.NOT_FOUND, path,
                               f"Wrong file type found in script path '{name}'.")
        if run_as.is_root and not insecure and _unsafe(st):
            insecure = True
        final = st
    assert final is not None
    if insecure and enable_script_security:
        return ScriptCheck(ScriptVerdict.DISABLED, path,
                           f"Unsafe permissions found for script '{name}' - disabling.")
    if not _executable_for(final, run_as):
        return ScriptCheck(
            ScriptVerdict.NOT_EXECUTABLE, path,
            f"WARNING - script '{name}' is not executable for uid:gid "
            f"{run_as.uid}:{run_as.gid} - disabling.")
    if insecure:
        return ScriptCheck(ScriptVerdict.INSECURE, path,
                           f"Unsafe permissions found for script '{name}'.")
    return ScriptCheck(ScriptVerdict.OK, path)


def _all_scripts(config: KeepalivedConfig) -> Iterator[tuple[tuple[str, ...], str | None,
                                                             str | None, str, int]]:
    """(argv, user, group, file, line) of every script the config would run."""
    for vs in config.vrrp_scripts:
        yield vs.argv, vs.user, vs.group, vs.file, vs.line
    notifies: list[tuple[NotifyScript | None, str]] = []
    for inst in config.vrrp_instances:
        for s in (inst.notify_master, inst.notify_backup, inst.notify_fault, inst.notify_stop,
                  inst.notify_deleted, inst.notify, inst.notify_master_rx_lower_pri):
            notifies.append((s, inst.file))
    for sg in config.sync_groups:
        for s in (sg.notify_master, sg.notify_backup, sg.notify_fault, sg.notify_stop,
                  sg.notify):
            notifies.append((s, sg.file))
    for vsrv in config.virtual_servers:
        notifies.append((vsrv.quorum_up, vsrv.file))
        notifies.append((vsrv.quorum_down, vsrv.file))
        for rs in vsrv.real_servers:
            notifies.append((rs.notify_up, rs.file))
            notifies.append((rs.notify_down, rs.file))
            for chk in rs.checkers:
                script = getattr(chk, "script", None)
                if isinstance(script, NotifyScript):
                    notifies.append((script, rs.file))
    gd = config.global_defs
    for fifo in (gd.notify_fifo, gd.vrrp_notify_fifo, gd.lvs_notify_fifo):
        if fifo is not None:
            notifies.append((fifo.script, ""))
    notifies.append((gd.startup_script, ""))
    notifies.append((gd.shutdown_script, ""))
    for s, f in notifies:
        if s is not None and s.argv:
            yield s.argv, s.user, s.group, f, s.line


def script_security_messages(config: KeepalivedConfig) -> tuple[ConfigMessage, ...]:
    """What keepalived reports about scripts at start-up (and ``-t``).

    Severity.SECURITY (``-t`` exit 6) for the "SECURITY VIOLATION" line: some script would run
    as root while ``enable_script_security`` is off. WARNING for a missing default user, a
    missing/non-executable script, or an unsafe script (disabled or not).
    """
    gd = config.global_defs
    out: list[ConfigMessage] = []
    scripts = list(_all_scripts(config))
    if not scripts:
        return ()
    needs_default = any(user is None for _a, user, _g, _f, _l in scripts)
    if needs_default and not gd.script_user:
        _ra, warn = default_run_as(gd)
        if warn:
            out.append(ConfigMessage("", 0, Severity.WARNING, warn))
    any_root = False
    seen: set[tuple[tuple[str, ...], int, int]] = set()
    for argv, user, group, file, line in scripts:
        run_as, warn = resolve_run_as(user, group, gd)
        if warn:
            out.append(ConfigMessage(file, line, Severity.WARNING, warn))
        res = check_script(argv, run_as, enable_script_security=gd.enable_script_security,
                           use_symlink_paths=gd.use_symlink_paths)
        if run_as.is_root and res.verdict is not ScriptVerdict.NOT_FOUND:
            any_root = True  # a script that cannot be found never runs, as root or otherwise
        key = (argv, run_as.uid, run_as.gid)
        if key in seen:
            continue
        seen.add(key)
        if res.message:
            out.append(ConfigMessage(file, line, Severity.WARNING, res.message))
    if any_root and not gd.enable_script_security:
        out.append(ConfigMessage("", 0, Severity.SECURITY, SECURITY_VIOLATION))
    return tuple(out)
