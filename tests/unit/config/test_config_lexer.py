"""Line-level language: comments, quoting, braces, include, @ID, $params, ~SEQ/~LST."""

from __future__ import annotations

from pykeepalived.config.lexer import (
    Lexer,
    MemoryFiles,
    expand_braces,
    strip_comment,
    tokenize,
)
from pykeepalived.config.model import Severity


def lex(text: str, *, config_id: str = "host1", files: dict[str, str] | None = None,
        env: dict[str, str] | None = None) -> Lexer:
    lx = Lexer(config_id=config_id, files=MemoryFiles(files or {}), env=env or {})
    lx.run_text(text, "/etc/keepalived/keepalived.conf")
    return lx


def toks(lx: Lexer) -> list[tuple[str, ...]]:
    return [s.tokens for s in lx.stmts]


def test_comments_hash_and_bang_outside_quotes_only() -> None:
    assert strip_comment("a b # c") == "a b "
    assert strip_comment("a ! c") == "a "
    assert strip_comment('a "b # c" d # e') == 'a "b # c" d '
    assert strip_comment("a \\# b") == "a \\# b"
    lx = lex("router_id a\\#b ! comment\n")
    assert toks(lx) == [("router_id", "a#b")]


def test_quotes_keep_whitespace_and_join_adjacent_text() -> None:
    (stmts, unmatched) = tokenize('ab"c d"e \'x y\'')
    assert stmts == (("abc de", "x y"),)
    assert not unmatched


def test_escapes_inside_quotes() -> None:
    (stmts, _) = tokenize(r'"a\tb\x41\101\n\cA\q"')
    assert stmts == (("a\tbAA\n\x01q",),)


def test_braces_anywhere_split_into_statements() -> None:
    lx = lex("a { b c } d\nvrrp_instance X{\n}\n")
    assert toks(lx) == [("a",), ("{",), ("b", "c"), ("}",), ("d",), ("vrrp_instance", "X"),
                        ("{",), ("}",)]


def test_line_numbers_are_kept() -> None:
    lx = lex("\n\n  a\n# x\nb\n")
    assert [(s.line, s.tokens) for s in lx.stmts] == [(3, ("a",)), (5, ("b",))]


def test_conditionals_match_config_id_and_negation() -> None:
    text = "@host1 a\n@host2 b\n@^host1 c\n@^host2 d\n@host1\te\n"
    assert toks(lex(text)) == [("a",), ("d",), ("e",)]
    assert toks(lex(text, config_id="host2")) == [("b",), ("c",)]


def test_parameters_simple_braced_lazy_and_undefined() -> None:
    text = "$A=1\n$B=${A}0\nx $B ${B}\n$A=2\ny $B\nz $UNDEF\n"
    assert toks(lex(text)) == [("x", "10", "10"), ("y", "20"), ("z", "$UNDEF")]
    # an unresolved ${X} keeps its braces, which split the line (keepalived then reports
    # "Unexpected '{'", as in the field corpus)
    assert toks(lex("z ${UNDEF}\n")) == [("z", "$"), ("{",), ("UNDEF",), ("}",)]


def test_empty_parameter_value() -> None:
    assert toks(lex("$E=\n\nx $E y\n")) == [("x", "y")]


def test_multiline_parameter_expands_to_several_lines() -> None:
    text = "$BLK= \\\n  a 1 \\\n  b 2\n$BLK\n"
    lx = lex(text)
    assert toks(lx) == [("a", "1"), ("b", "2")]
    assert all(s.line == 4 for s in lx.stmts)


def test_parameter_recursion_is_bounded() -> None:
    lx = lex("$A=$A x\ny $A\n")
    assert any("does not terminate" in m.text for m in lx.messages)


def test_predefined_parameters() -> None:
    lx = lex("a ${_PWD} ${_INSTANCE} \"${_HASH}${_BANG}\" ${_ENV HOME}\n",
             env={"HOME": "/root"})
    assert toks(lx) == [("a", "/etc/keepalived", "host1", "#!", "/root")]
    # outside quotes a substituted '#' starts a comment, as keepalived does
    assert toks(lex("b ${_HASH} c\n")) == [("b",)]
    lx = lex("r ${_RANDOM 5 7}\n")
    assert 5 <= int(lx.stmts[0].tokens[1]) <= 7


def test_seq_default_step_hex_and_nesting() -> None:
    assert toks(lex("~SEQ(i,3) v$i\n")) == [("v1",), ("v2",), ("v3",)]
    assert toks(lex("~SEQ(i,10,-5,0) v$i\n")) == [("v10",), ("v5",), ("v0",)]
    assert toks(lex("~SEQx(i,9,11) v$i\n")) == [("v9",), ("va",), ("vb",)]
    assert toks(lex("~SEQ(a,1,2) ~SEQ(b,1,2) ${a}${b}\n")) == [("11",), ("12",), ("21",),
                                                               ("22",)]


def test_lst_with_tuples_and_seq_combined() -> None:
    lx = lex("~LST({IP,N},{10,1},{20,4}) 192.168.${IP}.${N}\n")
    assert toks(lx) == [("192.168.10.1",), ("192.168.20.4",)]
    lx = lex("~LST(x, a, b) ~SEQ(n,1,2) ${x}${n}\n")
    assert toks(lx) == [("a1",), ("a2",), ("b1",), ("b2",)]


def test_seq_inside_multiline_block_repeats_a_nested_block() -> None:
    text = "$RS= \\\n rs ${N} { \\\n w 1 \\\n }\n$VS= \\\n vs { \\\n ~SEQ(N,1,2) $RS \\\n}\n$VS\n"
    assert toks(lex(text)) == [("vs",), ("{",), ("rs", "1"), ("{",), ("w", "1"), ("}",),
                               ("rs", "2"), ("{",), ("w", "1"), ("}",), ("}",)]


def test_include_relative_glob_and_braces() -> None:
    files = {"/etc/keepalived/conf.d/a.conf": "a\n", "/etc/keepalived/conf.d/b.conf": "b\n",
             "/etc/keepalived/x.conf": "x\n"}
    assert toks(lex("include conf.d/*.conf\n", files=files)) == [("a",), ("b",)]
    assert toks(lex("include {x,conf.d/b}.conf\n", files=files)) == [("x",), ("b",)]


def test_missing_plain_include_is_reported_but_not_an_error() -> None:
    # keepalived 2.2.7: a plain include reports missing files (glob or not) without failing
    lx = lex("include nothere.conf\ninclude none/*.conf\n")
    assert [m.text for m in lx.messages] == ["Config files missing 'nothere.conf'.",
                                             "Config files missing 'none/*.conf'."]
    assert {m.severity for m in lx.messages} == {Severity.INFO}
    lx = lex("includem none/*.conf\n")
    assert [m.severity for m in lx.messages] == [Severity.ERROR]
    lx = lex("include_check match\ninclude none/*.conf\n")
    assert [m.severity for m in lx.messages] == [Severity.ERROR]


def test_include_with_all_config_is_fatal() -> None:
    lx = Lexer(config_id="h", files=MemoryFiles({}), all_config=True)
    lx.run_text("include missing.conf\n", "/k.conf")
    assert lx.messages[0].severity == Severity.FATAL


def test_include_line_cannot_use_conditionals() -> None:
    files = {"/etc/keepalived/a.conf": "inner\n"}
    assert toks(lex("@other include a.conf\n", files=files)) == []
    # the include keyword is recognised before conditionals: this line is not an include
    assert toks(lex("@host1 include a.conf\n", files=files)) == [("include", "a.conf")]


def test_include_depth_is_bounded() -> None:
    files = {f"/etc/keepalived/f{i}.conf": f"include f{i + 1}.conf\n" for i in range(40)}
    lx = lex("include f0.conf\n", files=files)
    assert [m.text for m in lx.messages] == ["Include depth exceeded at 'f32.conf' - ignoring"]


def test_expand_braces_nested() -> None:
    assert expand_braces("a{b,c{d,e}}f") == ["abf", "acdf", "acef"]
    assert expand_braces("plain") == ["plain"]


def test_too_long_line_is_reported() -> None:
    lx = lex("x " + "y" * 1100 + "\nz\n")
    assert toks(lx) == [("z",)]
    assert "too long" in lx.messages[0].text


def test_comment_line_with_trailing_backslash_as_keepalived_2_2_7() -> None:
    lx = lex("! some comment \\\nx\n")
    assert toks(lx) == [("x",)]
    assert lx.messages[0].text == "Unknown keyword '\\'"
