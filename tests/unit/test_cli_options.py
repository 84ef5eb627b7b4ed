"""The CLI contract: keepalived flags parse into Options; --signum and -v answer as keepalived."""

from __future__ import annotations

import argparse
import shutil
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
    ("STATS_CLEAR", signal.SIGRTMAX - 1)])
def test_signum(name: str, num: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert SIGNAL_NAMES[name] == int(num)
    assert main(["--signum", name]) == 0
    assert capsys.readouterr().out.strip() == str(int(num))


@pytest.mark.parametrize("name", ["BOGUS", "stop", "TDUMP"])
def test_signum_unknown(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    # keepalived 2.2.7: names are case-sensitive and TDUMP is not one of them
    assert main([f"--signum={name}"]) == 1
    assert capsys.readouterr().err.strip() == f"Unknown sigfunc {name}"


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="Debian's keepalived absent")
@pytest.mark.parametrize("name", ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON",
                                  "stop", "TDUMP", "X"])
def test_signum_as_keepalived(name: str) -> None:
    ours = subprocess.run([sys.executable, "-m", "pykeepalived", f"--signum={name}"],
                          capture_output=True, text=True)
    theirs = subprocess.run(["keepalived", f"--signum={name}"], capture_output=True, text=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode, theirs.stdout, theirs.stderr)


def test_version_and_help_from_console_script() -> None:
    p = subprocess.run([sys.executable, "-m", "pykeepalived", "-v"], capture_output=True,
                       text=True, check=True)
    assert p.stdout == ""  # keepalived prints its version on stderr
    first = p.stderr.split("\n", 1)[0]
    # what keepalived exporters parse: the second word of the first line, less its "v"
    assert first.split(" ")[0] == "Keepalived" and first.split(" ")[1] == "v2.2.7"
    assert "pykeepalived v" in first
    assert "--enable-json" in p.stderr
    if shutil.which("keepalived"):
        ka = subprocess.run(["keepalived", "-v"], capture_output=True, text=True)
        assert ka.stdout == "" and ka.stderr.split(" ")[:2] == first.split(" ")[:2]
    helptext = subprocess.run([sys.executable, "-m", "pykeepalived", "-h"], capture_output=True,
                              text=True, check=True).stdout
    for flag in ("--use-file", "--vrrp", "--check", "--config-test", "--dont-respawn",
                 "--signum", "--log-console", "--release-vips"):
        assert flag in helptext


def test_help_is_the_shipped_text_and_names_every_flag() -> None:
    from pykeepalived.options import build_parser, help_text

    out = subprocess.run([sys.executable, "-m", "pykeepalived", "-h"], capture_output=True,
                         text=True, check=True).stdout
    assert out == help_text() and out.startswith("NAME\n")
    for action in build_parser()._actions:
        if action.help == argparse.SUPPRESS:
            continue
        for flag in action.option_strings:
            assert flag in out, flag
