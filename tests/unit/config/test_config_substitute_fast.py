"""The one-pass template substitution must give what the regex passes give, draw the same
${_RANDOM} numbers, and stand aside (drawing nothing) whenever it cannot be sure."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.lexer import Lexer, MemoryFiles, _Ctx, _template

FRAGMENTS = ["$A", "$AB", "$A_1", "${A}", "${AB}", "${B}", "${_RANDOM 1 5}", "${_RANDOM}",
             "${_RANDOM x}", "${_RANDOM 9 2}", "${_PWD}", "${_HASH}", "${_ENV HOME}",
             "${UNKNOWN}", "$UNKNOWN", "$", "$$", "${", "}", "{", "x", "1", "_", " ", "#", "\t",
             "real_server ", "weight ", "${A}${B}", "$A${B}", "${A}x"]
VALUES = ["v", "10", "", " w ", "$B", "${B}", "a\nb", "$", "${_RANDOM 1 3}", "_x", "{", "}",
          "#c", "a!", '"', "\\"]


def _lexer(params: dict[str, str]) -> Lexer:
    lx = Lexer(config_id="h", files=MemoryFiles({}), env={"HOME": "/root"}, seed=3)
    lx.run_text("", "/etc/keepalived/keepalived.conf")  # seeds the generator
    lx.params.update(params)
    return lx


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6),
       values=st.dictionaries(st.sampled_from(["A", "AB", "A_1", "B"]),
                              st.sampled_from(VALUES)))
def test_template_substitution_matches_the_regex_passes(parts: list[str],
                                                        values: dict[str, str]) -> None:
    line = "".join(parts)
    ctx = _Ctx("k.conf", 1)
    fast, slow = _lexer(values), _lexer(values)
    got = fast._substitute(line, ctx, "/etc/keepalived/keepalived.conf")
    want = slow._substitute_re(line, ctx, "/etc/keepalived/keepalived.conf")
    assert got == want
    assert fast.messages == slow.messages
    assert fast._rng.getstate() == slow._rng.getstate()


def test_template_declines_what_one_pass_cannot_settle() -> None:
    assert _template("weight ${_RANDOM 1 10}") is not None
    assert _template("real_server 22.22.${RS1}.${RS2} $HC_PORT {") is not None
    assert _template("a $X${Y}") is None  # $X could run on into ${Y}'s value
    assert _template("a $${Y}") is None
    assert _template("cost $ 5") is None
    lx = _lexer({"X": "$Y"})
    ctx = _Ctx("k.conf", 1)
    tpl = _template("p ${X} ${_RANDOM 1 9}")
    assert tpl is not None
    state = lx._rng.getstate()
    assert lx._fill(tpl) is None  # the value holds a '$': left to the regex passes
    assert lx._rng.getstate() == state  # and nothing was drawn
    assert lx._substitute("p ${X}", ctx, "/k.conf") == "p $Y"


LINE_STARTS = ["", "weight ", " ", "$A", "${A}", "@h ", "@x ", "~SEQ(I,1,2) ", "#", "${_HASH}",
               "include ", "real_server ", "inc", "i ", "notify '#", 'a "', "} ", "x \\#",
               "random_seed 5 ", "x { random_seed 7 ", "random_seed "]


@settings(max_examples=600, deadline=None)
@given(lines=st.lists(st.tuples(st.sampled_from(LINE_STARTS),
                                st.lists(st.sampled_from(FRAGMENTS), max_size=4)),
                      min_size=1, max_size=5),
       values=st.dictionaries(st.sampled_from(["A", "AB", "A_1", "B"]),
                              st.sampled_from(VALUES)))
def test_multi_line_value_fast_path_matches_the_regex_passes(
        lines: list[tuple[str, list[str]]], values: dict[str, str]) -> None:
    """A multi-line value's lines filled from their templates inside _expand give the same
    statements, messages and draws as when every line goes through the regex passes."""
    value = "\n".join(start + "".join(parts) for start, parts in lines)
    ctx = _Ctx("k.conf", 1)
    fast, slow = _lexer({**values, "V": value}), _lexer({**values, "V": value})
    setattr(slow, "_fill", lambda tpl, whole=False: None)  # noqa: B010 - regex passes only
    setattr(slow, "_one_reference", lambda tpl: None)  # noqa: B010
    for line in ("x $V", "$V", "${V}"):
        fast._expand(line, ctx, "/k.conf", 0)
        slow._expand(line, ctx, "/k.conf", 0)
    assert fast.expanded == slow.expanded
    assert fast.stmts == slow.stmts
    assert fast.messages == slow.messages
    assert fast._rng.getstate() == slow._rng.getstate()


def test_a_reseed_inside_a_multi_line_value_orders_the_draws_as_line_by_line() -> None:
    """global_defs' random_seed reseeds ${_RANDOM} from its line on: a value whose lines seed
    and then draw must draw after the seed, as the line-by-line passes do."""
    value = "weight ${_RANDOM 1 1000}\nrandom_seed 5\nweight ${_RANDOM 1 1000}\n}"
    ctx = _Ctx("k.conf", 1)
    fast, slow = _lexer({"V": value}), _lexer({"V": value})
    setattr(slow, "_fill", lambda tpl, whole=False: None)  # noqa: B010 - regex passes only
    setattr(slow, "_one_reference", lambda tpl: None)  # noqa: B010
    for _ in range(3):
        fast._expand("x $V", ctx, "/k.conf", 0)
        slow._expand("x $V", ctx, "/k.conf", 0)
    assert fast.expanded == slow.expanded
    assert fast._rng.getstate() == slow._rng.getstate()
    seeded = [line for line in fast.expanded if line.startswith("weight")][1::2]
    assert len(set(seeded)) == 1  # each draw right after the reseed gives the same number


def test_a_value_with_a_comment_character_is_cut_there_inside_a_multi_line_value() -> None:
    """${_HASH} or a value holding '#'/'!' comments out the rest of its line after substitution,
    in a multi-line value's lines as in a line of its own."""
    value = "weight ${A}\nretry ${B} 2\nalpha"
    ctx = _Ctx("k.conf", 1)
    fast = _lexer({"V": value, "A": "3 #c", "B": "1 ! x"})
    fast._expand("$V", ctx, "/k.conf", 0)
    assert fast.expanded == ["weight 3", "retry 1", "alpha"]
    assert [s.tokens for s in fast.stmts] == [("weight", "3"), ("retry", "1"), ("alpha",)]
