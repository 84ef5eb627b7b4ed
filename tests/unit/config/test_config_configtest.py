"""``pykeepalived -t``/``-d`` through run_config_test: exit codes, messages, log file, dump."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from pykeepalived.config.configtest import run_config_test
from pykeepalived.options import Options

# dynamic_interfaces: eth0 need not exist on the machine running the test (a loopback
# interface is refused, as keepalived refuses it)
GOOD = """
global_defs {
    router_id t1
    dynamic_interfaces
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 9
    virtual_ipaddress {
        127.0.0.99/32
    }
}
"""


def notes_only(err: str) -> bool:
    """Nothing printed but the notes of keywords that do not fully act (never an error)."""
    return all(" has no effect: " in ln or " only partly takes effect: " in ln
               for ln in err.splitlines())


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "keepalived.conf"
    p.write_text(text)
    return str(p)


def test_clean_config_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_config_test(Options(config_file=write(tmp_path, GOOD), config_test=True)) == 0
    assert notes_only(capsys.readouterr().err)


def test_missing_file_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_config_test(Options(config_file=str(tmp_path / "nope.conf"))) == 4
    assert "does not exist" in capsys.readouterr().err


def test_errors_exit_5_with_keepalived_format_and_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "test.log"
    cfg = write(tmp_path, GOOD.replace("router_id t1", "router_id t1\n    bogus_thing 1"))
    assert run_config_test(Options(config_file=cfg, config_test_log=str(log))) == 5
    err = capsys.readouterr().err
    assert f"({cfg}: Line 4) Unknown keyword 'bogus_thing'" in err
    assert "Unknown keyword 'bogus_thing'" in log.read_text()


def test_root_scripts_without_security_exit_6(tmp_path: Path) -> None:
    cfg = write(tmp_path, GOOD.replace("virtual_router_id 9", "virtual_router_id 9\n"
                                       "    notify_master /bin/true"))
    assert run_config_test(Options(config_file=cfg)) == 6


def test_conditionals_follow_config_id(tmp_path: Path) -> None:
    cfg = write(tmp_path, GOOD + "@broken bogus_keyword\n")
    assert run_config_test(Options(config_file=cfg, config_id="fine")) == 0
    assert run_config_test(Options(config_file=cfg, config_id="broken")) == 5


def test_dump_prints_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_config_test(Options(config_file=write(tmp_path, GOOD), dump_conf=True)) == 0
    out = capsys.readouterr().out
    assert "vrrp_instances VI_1 {" in out and "vrid = 9" in out and "router_id = t1" in out


def test_shipped_example_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    example = resources.files("pykeepalived") / "data" / "keepalived.conf"
    with resources.as_file(example) as path:
        code = run_config_test(Options(config_file=str(path), config_id="example"))
    assert code == 0, capsys.readouterr().err


def test_cli_entry_point_returns_config_test_codes(tmp_path: Path) -> None:
    import subprocess
    import sys

    good = write(tmp_path, GOOD)
    ok = subprocess.run([sys.executable, "-m", "pykeepalived", "-t", "-f", good, "-i", "x"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text(GOOD + "}\n")
    r = subprocess.run([sys.executable, "-m", "pykeepalived", "-t", "-f", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 5 and "Extra '}' found" in r.stderr


def errors(err: str) -> list[str]:
    """The lines of ``err`` that are not notes of keywords that do not fully act."""
    return [ln for ln in err.splitlines() if not notes_only(ln)]


# (dynamic_interfaces: eth0 need not exist; lo is refused as keepalived refuses it)
PRIO = """global_defs {
    dynamic_interfaces
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 9
    priority %s
    virtual_ipaddress {
        127.0.0.99/32
    }
}
"""


@pytest.mark.parametrize(("value", "first"), [
    ("0", "number '0' outside range [1, 255]"),
    ("256", "number '256' outside range [1, 255]"),
    ("high", "invalid number 'high'"),
    ("-5", "negative number '-5'"),
    ("1_0", "invalid number '1_0'"),
])
def test_bad_priority_as_keepalived_2_2_7(value: str, first: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """keepalived 2.2.7 prints the number reader's message, then the instance's, both at the
    priority's line, and runs with priority 100 even in state MASTER."""
    cfg = write(tmp_path, PRIO % value)
    assert run_config_test(Options(config_file=cfg, dump_conf=True)) == 5
    out = capsys.readouterr()
    assert errors(out.err) == [
        f"({cfg}: Line 8) {first}",
        f"({cfg}: Line 8) (VI_1) Priority not valid! must be between 1 & 255. Using default 100"]
    assert "  priority = 100" in out.out.splitlines()


@pytest.mark.parametrize("value", ["1", "255", "+7", " 42"])
def test_good_priority_taken(value: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write(tmp_path, PRIO % f'"{value}"')
    assert run_config_test(Options(config_file=cfg, dump_conf=True)) == 0
    out = capsys.readouterr()
    assert notes_only(out.err)
    assert f"  priority = {int(value)}" in out.out.splitlines()


@pytest.mark.parametrize("kw", ["interface", "priority"])
def test_keyword_missing_its_parameter(kw: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """keepalived's words for a keyword read without its value, with file:line (it then
    stops and exits 2; we report the rest of the file too and exit 5)."""
    text = PRIO % "100"
    cfg = write(tmp_path, text.replace(f"    {kw} ", f"    {kw}\n    # ", 1))
    assert run_config_test(Options(config_file=cfg)) == 5
    line = 6 if kw == "interface" else 8
    assert errors(capsys.readouterr().err)[0] == (
        f"({cfg}: Line {line}) *** Configuration line starting `{kw}` is missing a parameter "
        f"after keyword `{kw}` at word position 2")


def test_interface_name_too_long(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write(tmp_path, PRIO.replace("interface eth0", "interface abcdefghijklmnop") % "100")
    assert run_config_test(Options(config_file=cfg)) == 5
    assert errors(capsys.readouterr().err)[0] == (
        f"({cfg}: Line 6) Interface name 'abcdefghijklmnop' too long - ignoring")
