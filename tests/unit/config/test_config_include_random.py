"""Line level, the finer points: each include variant and include_check form, parameters in an
include line, unreadable matches, and ${_RANDOM}'s range and random_seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.lexer import Files, Lexer, MemoryFiles
from pykeepalived.config.model import Severity

FILES = {"/etc/keepalived/a.conf": "a\n", "/etc/keepalived/d/x.conf": "x\n"}


def run(text: str, *, all_config: bool = False) -> tuple[list[tuple[str, ...]],
                                                          list[tuple[Severity, str]]]:
    lx = Lexer(config_id="h", files=MemoryFiles(FILES), env={}, all_config=all_config)
    lx.run_text(text, "/etc/keepalived/keepalived.conf")
    return [s.tokens for s in lx.stmts], [(m.severity, m.text) for m in lx.messages]


INFO, ERROR, FATAL = Severity.INFO, Severity.ERROR, Severity.FATAL


@pytest.mark.parametrize(("line", "stmts", "severity"), [
    # present files: every variant includes them silently
    ("include a.conf", [("a",)], None),
    ("includer a.conf", [("a",)], None),
    ("includem a.conf", [("a",)], None),
    ("includew d/*.conf", [("x",)], None),
    ("includeb {a,d/x}.conf", [("a",), ("x",)], None),
    ("includea {a,d/x}.conf", [("a",), ("x",)], None),
    # a missing file: reported by all, an error only for the checking variants
    ("include zz.conf", [], INFO),
    ("includem zz.conf", [], ERROR),
    ("include none/*.conf", [], INFO),
    ("includew none/*.conf", [], ERROR),
    ("includea none/*.conf", [], ERROR),
    # one brace alternative missing: the rest is still included
    ("include {a,zz}.conf", [("a",)], INFO),
    ("includeb {a,zz}.conf", [("a",)], ERROR),
    ("includea {a,zz}.conf", [("a",)], ERROR),
])
def test_include_variants(line: str, stmts: list[tuple[str, ...]],
                          severity: Severity | None) -> None:
    got, msgs = run(line + "\n")
    assert got == stmts
    assert [s for s, _ in msgs] == ([] if severity is None else [severity])
    if severity is not None:
        assert msgs[0][1].startswith("Config files missing '")


@pytest.mark.parametrize(("checks", "severity"), [
    ("include_check", ERROR),                            # no argument: every check
    ("include_check match", ERROR),
    ("include_check match\ninclude_check -match", INFO),  # '-' removes a check
    ("include_check +match", ERROR),                     # '+' adds one
    ("include_check wildcard_match", ERROR),
    ("include_check brace_match", ERROR),
])
def test_include_check_sets_the_default_for_plain_include(checks: str,
                                                          severity: Severity) -> None:
    _, msgs = run(checks + "\ninclude {a,zz}.conf\n")
    assert [s for s, _ in msgs] == [severity]


def test_include_check_is_restored_after_an_included_file() -> None:
    files = {"/etc/keepalived/strict.conf": "include_check match\n"}
    lx = Lexer(config_id="h", files=MemoryFiles(files), env={})
    lx.run_text("include strict.conf\ninclude zz.conf\n", "/etc/keepalived/keepalived.conf")
    assert [m.severity for m in lx.messages] == [INFO]


def test_all_config_makes_a_missing_include_fatal() -> None:
    _, msgs = run("include zz.conf\n", all_config=True)
    assert [s for s, _ in msgs] == [FATAL]


def test_include_line_takes_parameters_but_not_conditionals() -> None:
    # keepalived 2.2.7 includes inc/bad.conf for `$F=inc/bad.conf` + `include $F`
    # (checked in a namespace: it reports the included file's unknown keyword)
    assert run("$F=a.conf\ninclude $F\n")[0] == [("a",)]
    assert run('include "a.conf"\n')[0] == [("a",)]
    assert run("@other include a.conf\n")[0] == []
    assert run("include\n")[1] == [(ERROR, "No file specified for include")]


def test_includer_reports_a_match_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "good.conf").write_text("g\n")
    (tmp_path / "dir.conf").mkdir()  # matched by the glob, cannot be read as a file
    for kw, expect_error in (("include", False), ("includer", True)):
        lx = Lexer(config_id="h", files=Files(), env={})
        lx.run_text(f"{kw} *.conf\n", str(tmp_path / "keepalived.conf"))
        assert [s.tokens for s in lx.stmts] == [("g",)]
        errors = [m.text for m in lx.messages if m.severity >= ERROR]
        assert bool(errors) == expect_error, (kw, errors)
        if expect_error:
            assert errors[0].endswith("dir.conf' is a directory, not a regular file - skipping")


def _randoms(text: str) -> list[int]:
    lx = Lexer(config_id="h", files=MemoryFiles({}), env={})
    lx.run_text(text, "/k.conf")
    return [int(s.tokens[1]) for s in lx.stmts if s.tokens[0] == "r"]


def test_random_default_range_and_bounds() -> None:
    vals = _randoms("~SEQ(i,1,300) r ${_RANDOM}\n")
    assert len(vals) == 300 and all(0 <= v <= 32767 for v in vals)
    assert len(set(vals)) > 250  # really random, not a constant
    vals = _randoms("~SEQ(i,1,200) r ${_RANDOM 32760}\n")
    assert all(32760 <= v <= 32767 for v in vals) and len(set(vals)) > 1
    vals = _randoms("~SEQ(i,1,200) r ${_RANDOM 3 4}\n")
    assert set(vals) == {3, 4}


def test_random_seed_makes_expansion_repeatable() -> None:
    text = "global_defs {\n random_seed 42\n}\n~SEQ(i,1,20) r ${_RANDOM}\n"
    assert _randoms(text) == _randoms(text)
    assert _randoms(text) != _randoms(text.replace("42", "43"))


def test_pwd_is_the_directory_of_the_file_being_read() -> None:
    files = {"/etc/keepalived/conf.d/vs.conf": "p ${_PWD} ${_INSTANCE}\n"}
    lx = Lexer(config_id="lb7", files=MemoryFiles(files), env={})
    lx.run_text("p ${_PWD}\ninclude conf.d/vs.conf\np ${_PWD}\n",
                "/etc/keepalived/keepalived.conf")
    assert [s.tokens for s in lx.stmts] == [("p", "/etc/keepalived"),
                                            ("p", "/etc/keepalived/conf.d", "lb7"),
                                            ("p", "/etc/keepalived")]


def test_messages_name_included_files_as_their_include_line_spelt_them(tmp_path: Path) -> None:
    # keepalived 2.2.7 (checked in a namespace) prints "(sub/s.conf: Line 1)",
    # "(deeper/d.conf: Line 1)" and "(../top.conf: Line 1)" for this layout
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "main.conf").write_text(f"include sub/s.conf\ninclude {tmp_path}/abs.conf\n")
    (tmp_path / "sub" / "s.conf").write_text("p ${_PWD}\ninclude deeper/d.conf\n"
                                             "include ../top.conf\n")
    (tmp_path / "sub" / "deeper" / "d.conf").write_text("d\n")
    (tmp_path / "top.conf").write_text("t\n")
    (tmp_path / "abs.conf").write_text("a\n")
    lx = Lexer(config_id="h", files=Files(), env={})
    lx.run_file(str(tmp_path / "main.conf"))
    assert [(s.file, s.tokens) for s in lx.stmts] == [
        ("sub/s.conf", ("p", str(tmp_path / "sub"))),
        ("deeper/d.conf", ("d",)),
        ("../top.conf", ("t",)),
        (f"{tmp_path}/abs.conf", ("a",)),
    ]


def test_self_doubling_multiline_parameter_is_bounded() -> None:
    # $X expands to two lines "$X": 2**depth lines without a global budget
    import time

    lx = Lexer(config_id="h", files=MemoryFiles({}), env={})
    t0 = time.process_time()
    lx.run_text("$X= \\\n$X \\\n$X\n$X\nafter 1\n", "/k.conf")
    assert time.process_time() - t0 < 20
    texts = [m.text for m in lx.messages]
    assert any("exceeds" in t and "truncated" in t for t in texts)
    assert len(texts) < 10  # "too deep" is said once per source line, not per expansion


def test_include_never_reads_a_fifo_or_device(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo.conf")  # opening it would block forever
    lx = Lexer(config_id="h", files=Files(), env={})
    lx.run_text("include fifo.conf\ninclude /dev/zero\ninclude /dev/null\nok 1\n",
                str(tmp_path / "keepalived.conf"))
    assert [s.tokens for s in lx.stmts] == [("ok", "1")]
    # each is said to be what it is (a plain include only reports it, as keepalived does)
    assert [(m.severity, m.text) for m in lx.messages] == [
        (INFO, f"Configuration file '{tmp_path}/fifo.conf' is a FIFO, not a regular file - "
         "skipping"),
        (INFO, "Configuration file '/dev/zero' is a character device, not a regular file - "
         "skipping")]
