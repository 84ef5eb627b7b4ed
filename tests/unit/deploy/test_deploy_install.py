"""The installer: the unit it renders (checked by systemd's own verifier), the keepalived alias
only where no keepalived unit exists, and the ``keepalived`` command never over a real one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pykeepalived.deploy import install
from pykeepalived.deploy.install import (
    ALIAS_NAME,
    UNIT_NAME,
    foreign_unit,
    install_command,
    install_unit,
    render_unit,
)


def dirs(tmp: Path) -> tuple[Path, Path]:
    etc, lib = tmp / "etc" / "systemd" / "system", tmp / "lib" / "systemd" / "system"
    etc.mkdir(parents=True)
    lib.mkdir(parents=True)
    return etc, lib


def test_unit_without_a_keepalived_unit_is_aliased(tmp_path: Path) -> None:
    etc, lib = dirs(tmp_path)
    res = install_unit(unit_dir=etc, search=(etc, lib), exec_cmd="/opt/pk/bin/pykeepalived",
                       default_file=tmp_path / "default" / "keepalived")
    text = (etc / UNIT_NAME).read_text()
    assert res.aliased and f"Alias={ALIAS_NAME}" in text
    for line in ("Type=notify", "ExecStart=/opt/pk/bin/pykeepalived --dont-fork $DAEMON_ARGS "
                 "$KEEPALIVED_OPTIONS", "EnvironmentFile=-/etc/default/keepalived",
                 "EnvironmentFile=-/etc/sysconfig/keepalived", "ExecReload=/bin/kill -HUP $MAINPID",
                 "Restart=on-failure", "After=network-online.target",
                 "ExecStartPre=/opt/pk/bin/pykeepalived --verify-config $DAEMON_ARGS"):
        assert line in text, line
    assert "CapabilityBoundingSet" not in text
    assert 'DAEMON_ARGS=""' in (tmp_path / "default" / "keepalived").read_text()
    # systemctl enable makes keepalived.service a link to ours: a second run keeps the alias
    (etc / ALIAS_NAME).symlink_to(etc / UNIT_NAME)
    again = install_unit(unit_dir=etc, search=(etc, lib), exec_cmd="/opt/pk/bin/pykeepalived",
                         default_file=None)
    assert again.aliased


def test_existing_keepalived_unit_means_no_alias_and_says_why(tmp_path: Path) -> None:
    etc, lib = dirs(tmp_path)
    (lib / ALIAS_NAME).write_text("[Service]\nExecStart=/usr/sbin/keepalived\n")
    res = install_unit(unit_dir=etc, search=(etc, lib), exec_cmd="/x", default_file=None)
    assert not res.aliased
    assert "Alias=" not in (etc / UNIT_NAME).read_text()
    assert any(str(lib / ALIAS_NAME) in m and "No keepalived.service alias" in m
               for m in res.messages)
    assert foreign_unit(ALIAS_NAME, etc / UNIT_NAME, (etc, lib)) == lib / ALIAS_NAME


def test_hardened_unit_has_capabilities_only(tmp_path: Path) -> None:
    text = render_unit("/x", hardened=True, alias=False)
    caps = next(ln for ln in text.splitlines() if ln.startswith("CapabilityBoundingSet="))
    assert set(caps.split("=", 1)[1].split()) == {
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_NICE",
        "CAP_CHOWN"}
    assert "NoNewPrivileges=yes" in text
    # the hardening sits in [Service], before [Install]
    assert text.index("CapabilityBoundingSet") < text.index("\n[Install]\n")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("hardened", [False, True])
def test_systemd_accepts_the_unit(tmp_path: Path, hardened: bool) -> None:
    script = Path(sys.executable).parent / "pykeepalived"
    cmd = str(script) if script.exists() else sys.executable
    unit = tmp_path / UNIT_NAME
    unit.write_text(render_unit(cmd, hardened, alias=True))
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "Unknown" not in p.stderr and "Ignoring" not in p.stderr, p.stderr


def test_keepalived_command_never_over_a_real_one(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ours = tmp_path / "venv" / "bin" / "pykeepalived"
    ours.parent.mkdir(parents=True)
    ours.write_text("#!/bin/sh\n")
    ours.chmod(0o755)
    monkeypatch.setattr(install, "exec_command", lambda: str(ours))
    sbin, usr = tmp_path / "sbin", tmp_path / "usr_sbin"
    usr.mkdir()
    (usr / "keepalived").write_text("real")
    ok, msg = install_command(command_dir=sbin, dirs=(str(sbin), str(usr)))
    assert not ok and str(usr / "keepalived") in msg
    assert not (sbin / "keepalived").exists()
    (usr / "keepalived").unlink()
    ok, msg = install_command(command_dir=sbin, dirs=(str(sbin), str(usr)))
    assert ok and (sbin / "keepalived").resolve() == ours
    ok, _ = install_command(command_dir=sbin, dirs=(str(sbin), str(usr)))  # ours: replaced
    assert ok
