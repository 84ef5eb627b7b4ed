"""``pykeepalived --install-unit[=hardened]`` and ``--install-command``: put pykeepalived where
keepalived runs.

The unit is rendered from ``pykeepalived.service.in`` with the command of *this* installation
(the ``pykeepalived`` script beside the running interpreter: a virtualenv, pipx or the system's),
so the service runs the code that installed it. It is aliased ``keepalived.service`` when no
keepalived unit exists, so ``systemctl start keepalived`` and scripts that run
``systemctl stop keepalived`` (a common nginx check) work unchanged. Where a keepalived unit is
installed the alias would clash with it (systemd refuses to enable an alias that names another
unit's file), so there is none and the installer says so.

The ``keepalived`` command is a symbolic link to the ``pykeepalived`` script in
``/usr/local/sbin``, made only when no ``keepalived`` program exists on the search path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

UNIT_NAME = "pykeepalived.service"
ALIAS_NAME = "keepalived.service"
ETC_UNIT_DIR = Path("/etc/systemd/system")
# systemd's system unit search path (systemd.unit(5)), highest priority first.
UNIT_PATH = (Path("/etc/systemd/system"), Path("/run/systemd/system"),
             Path("/usr/local/lib/systemd/system"), Path("/usr/lib/systemd/system"),
             Path("/lib/systemd/system"))
COMMAND_DIR = Path("/usr/local/sbin")
PROGRAM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
DEFAULT_FILE = Path("/etc/default/keepalived")


def data_text(name: str) -> str:
    """A file shipped in ``pykeepalived.deploy`` (the unit template, the hardening block...)."""
    return resources.files("pykeepalived.deploy").joinpath(name).read_text(encoding="utf-8")


def exec_command() -> str:
    """How the unit starts this installation: its ``pykeepalived`` script, or ``python -m``."""
    script = Path(sys.executable).parent / "pykeepalived"
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    return f"{sys.executable} -m pykeepalived"


def render_unit(exec_cmd: str, hardened: bool, alias: bool) -> str:
    text = data_text("pykeepalived.service.in")
    hardening = ""
    if hardened:
        hardening = "\n" + data_text("hardening.conf")
    text = text.replace("@EXEC@", exec_cmd).replace("@HARDENING@\n", hardening)
    return text.replace("@ALIAS@\n", f"Alias={ALIAS_NAME}\n" if alias else "")


def foreign_unit(name: str, ours: Path, search: Sequence[Path] = UNIT_PATH) -> Path | None:
    """The first unit file called ``name`` on the search path that is not ``ours`` (nor a
    link to it, as ``systemctl enable`` makes for an alias)."""
    for d in search:
        p = d / name
        if not (p.exists() or p.is_symlink()):
            continue
        try:
            if p.resolve() == ours.resolve():
                continue
        except OSError:
            pass
        return p
    return None


def foreign_program(name: str, ours: Path, dirs: Sequence[str] = PROGRAM_PATH) -> Path | None:
    """A ``name`` program on the search path that is not a link to ``ours``."""
    for d in dirs:
        p = Path(d) / name
        if not (p.exists() or p.is_symlink()):
            continue
        if p.is_symlink() and p.resolve() == ours.resolve():
            continue
        return p
    return None


@dataclass(frozen=True)
class InstallResult:
    unit_path: Path
    aliased: bool
    messages: tuple[str, ...]


def install_unit(hardened: bool = False, unit_dir: Path = ETC_UNIT_DIR,
                 search: Sequence[Path] = UNIT_PATH, exec_cmd: str | None = None,
                 default_file: Path | None = DEFAULT_FILE) -> InstallResult:
    """Write the unit (and an example ``/etc/default/keepalived`` when there is none)."""
    unit_dir.mkdir(parents=True, exist_ok=True)
    target = unit_dir / UNIT_NAME
    other = foreign_unit(ALIAS_NAME, target, search)
    msgs: list[str] = []
    text = render_unit(exec_cmd or exec_command(), hardened, alias=other is None)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(target)
    msgs.append(f"Installed {target}" + (" (hardened: capabilities only)" if hardened else ""))
    if other is None:
        msgs.append(f"Alias={ALIAS_NAME}: once enabled, `systemctl start|stop|reload "
                    f"keepalived` act on pykeepalived")
    else:
        msgs.append(f"No {ALIAS_NAME} alias: {other} exists (another keepalived is installed)."
                    f" Use `systemctl ... pykeepalived`; do not enable both, they would"
                    f" fight over the same VIPs")
    if default_file is not None and not default_file.exists():
        try:
            default_file.parent.mkdir(parents=True, exist_ok=True)
            default_file.write_text(data_text("keepalived.default"), encoding="utf-8")
            msgs.append(f"Installed {default_file} (DAEMON_ARGS)")
        except OSError as e:  # optional: the unit reads it with EnvironmentFile=-
            msgs.append(f"Could not write {default_file} ({e.strerror}): not needed")
    return InstallResult(target, other is None, tuple(msgs))


def install_command(command_dir: Path = COMMAND_DIR,
                    dirs: Sequence[str] = PROGRAM_PATH) -> tuple[bool, str]:
    """Link ``keepalived`` to this installation's ``pykeepalived`` unless a keepalived exists."""
    ours = Path(exec_command().split()[0])
    if ours.name != "pykeepalived":
        return False, "no pykeepalived script beside this interpreter: nothing to link"
    other = foreign_program("keepalived", ours, dirs)
    if other is not None:
        return False, f"Not linking keepalived: {other} exists (a real keepalived)"
    link = command_dir / "keepalived"
    command_dir.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(ours)
    return True, f"Linked {link} -> {ours}"


def systemd_running() -> bool:
    return os.path.isdir("/run/systemd/system")


def main(hardened: bool = False, command: bool = False, reload: bool = True) -> int:
    """The CLI: install the unit (or the command), reload systemd, say what was done."""
    if command:
        ok, msg = install_command()
        print(msg)
        return 0 if ok else 1
    res = install_unit(hardened=hardened)
    for m in res.messages:
        print(m)
    if reload and systemd_running() and shutil.which("systemctl"):
        subprocess.run(["systemctl", "daemon-reload"], check=False)
    print("Next: systemctl enable --now pykeepalived; journalctl -u pykeepalived -f")
    return 0
