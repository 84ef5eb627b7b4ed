"""The CLI contract: keepalived flags parse into Options; --signum and -v answer as keepalived."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from pykeepalived.cli import SIGNAL_NAMES, main
from pykeepalived.options import DEFAULT_CONFIG, DEFAULT_PID, parse


def test_defaults_match_keepalived() -> None:
    opts, version = parse([])
    assert not version
    assert opts.config_file == DEFAULT_CONFIG == "/etc/keepalived/keepalived.conf"
    assert opts.pid_file == DEFAULT_PID == "/run/keepalived.pid"
    assert opts.vrrp_pid_file == "/run/keepalived_vrrp.pid"
    assert opts.checkers_pid_file == "/run/keepalived_checkers.pid"
    assert not opts.config_test


def test_short_and_long_flags() -> None:
    opts, _ = parse(["-f", "/x.conf", "-P", "-n", "-l", "-D", "-G", "-R", "-X", "-V",
                     "-p", "/p", "-r", "/r", "-c", "/c", "-i", "node7", "-S", "local3"])
    assert (opts.config_file, opts.pid_file, opts.vrrp_pid_file, opts.checkers_pid_file) == (
        "/x.conf", "/p", "/r", "/c")
    assert opts.vrrp_only and opts.dont_fork and opts.log_console and opts.log_detail
    assert opts.no_syslog and opts.dont_respawn and opts.release_vips and opts.dont_release_vrrp
    assert opts.config_id == "node7" and opts.log_facility == "local3"
    opts, _ = parse(["--use-file=/y.conf", "--check", "--config-id=a"])
    assert opts.config_file == "/y.conf" and opts.check_only and opts.config_id == "a"


def test_config_test_with_and_without_logfile() -> None:
    opts, _ = parse(["-t"])
    assert opts.config_test and opts.config_test_log is None
    opts, _ = parse(["--config-test=/tmp/t.log"])
    assert opts.config_test and opts.config_test_log == "/tmp/t.log"


def test_ignored_flags_are_accepted_and_noted() -> None:
    opts, _ = parse(["--perf", "--no-mem-check", "-f", "/z"])
    assert opts.config_file == "/z"
    assert set(opts.ignored) == {"--perf", "--no-mem-check"}


@pytest.mark.parametrize(("name", "num"), [
    ("STOP", signal.SIGTERM), ("RELOAD", signal.SIGHUP), ("DATA", signal.SIGUSR1),
    ("STATS", signal.SIGUSR2), ("JSON", signal.SIGRTMIN + 2),
    ("STATS_CLEAR", signal.SIGRTMAX - 1), ("TDUMP", signal.SIGRTMAX)])
def test_signum(name: str, num: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert SIGNAL_NAMES[name] == int(num)
    assert main(["--signum", name.lower()]) == 0
    assert capsys.readouterr().out.strip() == str(int(num))


def test_signum_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--signum=BOGUS"]) == 1
    assert "Unknown signal" in capsys.readouterr().err


def test_version_and_help_from_console_script() -> None:
    out = subprocess.run([sys.executable, "-m", "pykeepalived", "-v"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("pykeepalived v")
    helptext = subprocess.run([sys.executable, "-m", "pykeepalived", "-h"], capture_output=True,
                              text=True, check=True).stdout
    for flag in ("--use-file", "--vrrp", "--check", "--config-test", "--dont-respawn",
                 "--signum", "--log-console", "--release-vips"):
        assert flag in helptext
