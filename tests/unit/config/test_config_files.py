"""Reading configuration files: whole or refused with a named reason, include cycles and the
bounds on one load, NUL bytes. Each test holds the minimal reproducer of a defect a fuzzing
probe found (against keepalived 2.2.7's behaviour where it is right; docs/configuration.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pykeepalived.config import files as files_mod
from pykeepalived.config import lexer as lexer_mod
from pykeepalived.config.files import MAX_FILE_BYTES, Files, MemoryFiles
from pykeepalived.config.lexer import Lexer
from pykeepalived.config.loader import load
from pykeepalived.config.model import Severity

INFO, ERROR, FATAL = Severity.INFO, Severity.ERROR, Severity.FATAL


def _lex_disk(path: Path) -> Lexer:
    lx = Lexer(config_id="h", files=Files(), env={})
    lx.run_file(str(path))
    return lx


def _msgs(lx: Lexer) -> list[tuple[Severity, str]]:
    return [(m.severity, m.format()) for m in lx.messages]


# ---------------------------------------------------------------- 1: never cut a file short

def test_a_file_over_16_mib_is_read_to_its_last_line(tmp_path: Path) -> None:
    # 16.8 MB whose last line is a bad keyword: the reader used to stop at 16 MiB and pass it
    big = tmp_path / "keepalived.conf"
    body = "# filler comment line for size\n" * (17_000_000 // 31)
    big.write_text(body + "bogus_keyword 1\n")
    lines = body.count("\n") + 1
    assert big.stat().st_size > 16 << 20
    lx = _lex_disk(big)
    assert [(s.line, s.tokens) for s in lx.stmts] == [(lines, ("bogus_keyword", "1"))]
    res = load(str(big), config_id="h")
    assert f"({big}: Line {lines}) Unknown keyword 'bogus_keyword'" in [
        m.format() for m in res.messages]
    assert res.exit_code_for_test() == 5


def test_an_included_19_mib_file_is_not_cut_mid_line(tmp_path: Path) -> None:
    inc = tmp_path / "big.conf"
    filler = "! " + "f" * 60 + "\n"
    count = 19_500_000 // len(filler)
    inc.write_text(filler * count + "router_id " + "r" * 200 + "\n")
    (tmp_path / "keepalived.conf").write_text("include big.conf\n")
    lx = _lex_disk(tmp_path / "keepalived.conf")
    assert lx.messages == []
    assert [(s.file, s.line, s.tokens) for s in lx.stmts] == [
        ("big.conf", count + 1, ("router_id", "r" * 200))]


def test_a_file_over_the_limit_is_refused_with_its_name(tmp_path: Path) -> None:
    big = tmp_path / "huge.conf"
    with big.open("wb") as f:  # sparse: nothing is written, nothing need be read
        f.truncate(MAX_FILE_BYTES + 1)
    lx = _lex_disk(big)
    assert _msgs(lx) == [(FATAL, f"Configuration file '{big}' is larger than 64 MiB "
                                 f"({MAX_FILE_BYTES + 1} bytes)")]
    (tmp_path / "main.conf").write_text("a 1\ninclude huge.conf\nb 2\n")
    lx = _lex_disk(tmp_path / "main.conf")
    assert _msgs(lx) == [(FATAL, f"({tmp_path}/main.conf: Line 2) Configuration file '{big}' "
                                 f"is larger than 64 MiB ({MAX_FILE_BYTES + 1} bytes) - "
                                 "skipping")]
    res = load(str(tmp_path / "main.conf"), config_id="h")
    assert [m.line for m in res.messages] == [1, 2, 3]  # a, the refusal, b
    assert res.exit_code_for_test() == 5


# ---------------------------------------------------------------- 2: include cycles, bounds

def test_a_file_including_itself_twice_is_a_cycle_error_at_once() -> None:
    files = {"/k/keepalived.conf": "include keepalived.conf\ninclude keepalived.conf\nx 1\n"}
    lx = Lexer(config_id="h", files=MemoryFiles(files), env={})
    t0 = time.process_time()
    lx.run_file("/k/keepalived.conf")
    assert time.process_time() - t0 < 1
    cycle = "Configuration file '/k/keepalived.conf' is already being read (an include " \
            "cycle) - skipping"
    assert _msgs(lx) == [(ERROR, f"(/k/keepalived.conf: Line 1) {cycle}"),
                         (ERROR, f"(/k/keepalived.conf: Line 2) {cycle}")]
    assert [s.tokens for s in lx.stmts] == [("x", "1")]


def test_two_files_including_each_other_twice(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("include b.conf\ninclude b.conf\n")
    (tmp_path / "b.conf").write_text("include a.conf\ninclude a.conf\nb 1\n")
    lx = _lex_disk(tmp_path / "a.conf")
    cycle = f"Configuration file '{tmp_path}/a.conf' is already being read (an include cycle)"
    assert _msgs(lx) == [(ERROR, f"(b.conf: Line {n}) {cycle} - skipping")
                         for n in (1, 2, 1, 2)]
    assert [s.tokens for s in lx.stmts] == [("b", "1"), ("b", "1")]
    # a cycle through another spelling of the same file (a symlink) is found too
    (tmp_path / "c.conf").symlink_to(tmp_path / "a.conf")
    (tmp_path / "b.conf").write_text("include c.conf\n")
    assert "include cycle" in _lex_disk(tmp_path / "a.conf").messages[0].text


def test_an_include_fan_out_is_bounded_by_the_files_one_load_reads() -> None:
    # each file includes the next twice, 32 levels: 2**32 reads without a bound on the load
    files = {f"/k/f{i}.conf": f"include f{i + 1}.conf\ninclude f{i + 1}.conf\n"
             for i in range(32)}
    lx = Lexer(config_id="h", files=MemoryFiles(files), env={})
    t0 = time.process_time()
    lx.run_file("/k/f0.conf")
    assert time.process_time() - t0 < 20
    fatal = [m for m in lx.messages if m.severity == FATAL]
    assert len(fatal) == 1 and fatal[0].line > 0 and fatal[0].file.endswith(".conf")
    assert fatal[0].text == (f"Configuration too large: more than {lexer_mod.MAX_FILE_READS} "
                             "files read (includes counted each time they are read) - "
                             "stopping")


def test_an_include_fan_out_is_bounded_by_the_bytes_one_load_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the probe's 0.8 MB file included 32 levels deep, with the bound lowered to keep it quick
    monkeypatch.setattr(lexer_mod, "MAX_LOAD_BYTES", 16 << 20)
    filler = "# comment\n" * 80_000
    files = {f"/k/f{i}.conf": filler + f"include f{i + 1}.conf\ninclude f{i + 1}.conf\n"
             for i in range(32)}
    lx = Lexer(config_id="h", files=MemoryFiles(files), env={})
    lx.run_file("/k/f0.conf")
    fatal = [m for m in lx.messages if m.severity == FATAL]
    assert [m.text for m in fatal] == ["Configuration too large: more than 16 MiB read in all "
                                       "(includes counted each time they are read) - stopping"]
    assert fatal[0].line == 80_001


# ---------------------------------------------------------------- 3: say what a path is

@pytest.mark.parametrize(("make", "why"), [
    ("fifo", "is a FIFO, not a regular file"),
    ("dir", "is a directory, not a regular file"),
    ("missing", "does not exist"),
])
def test_config_test_names_what_the_file_is(tmp_path: Path, make: str, why: str) -> None:
    path = tmp_path / "keepalived.conf"
    if make == "fifo":
        os.mkfifo(path)  # opening it to read would block forever
    elif make == "dir":
        path.mkdir()
    r = subprocess.run([sys.executable, "-m", "pykeepalived", "-t", "-f", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (4, f"Configuration file '{path}' {why}\n")


def test_devices_and_unreadable_files_are_named() -> None:
    lx = _lex_disk(Path("/dev/zero"))  # never read (it would never end)
    assert _msgs(lx) == [(FATAL, "Configuration file '/dev/zero' is a character device, not a "
                                 "regular file")]
    # a regular file whose read fails (the kernel answers EIO at offset 0)
    lx = _lex_disk(Path("/proc/self/mem"))
    assert _msgs(lx) == [(FATAL, "Configuration file '/proc/self/mem' cannot be read "
                                 "(Input/output error)")]
    assert _lex_disk(Path("/dev/null")).messages == []  # an empty file, as to keepalived


def test_a_file_swapped_for_a_fifo_after_the_stat_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    real_stat = os.stat
    monkeypatch.setattr(files_mod.os, "stat", lambda p: real_stat(__file__))
    got = Files().load(str(fifo))  # opened non-blocking, then fstat'ed: never blocks
    assert got == files_mod.Unreadable("is a FIFO, not a regular file")


def test_nul_bytes_end_a_line_as_in_keepalived(tmp_path: Path) -> None:
    nul = tmp_path / "nul.conf"
    nul.write_bytes(b"\0" * 3000)  # keepalived 2.2.7: exit 0; we said "Line too long"
    assert load(str(nul), config_id="h").messages == ()
    mixed = tmp_path / "mixed.conf"
    mixed.write_bytes(b"global_defs {\n router_id x\0y\n}\n\0\0\0\n")
    res = load(str(mixed), config_id="h")
    assert res.messages == () and res.config.global_defs.router_id == "x"
