"""Mutated corpus files (deleted / duplicated / swapped lines, flipped braces, random bytes) only
ever produce reported messages: no exception escapes ``load_text``."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.config import load_text
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import ParseResult

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"

# One seed with the syntax the small corpus files rarely combine: definitions, a sequence,
# labels, scripts, unicast peers.
SYNTAX_SEED = """
global_defs {
  router_id r1
  vrrp_garp_master_delay 1
}
$IF=eth0
vrrp_script chk { script "/bin/true"
  interval 2 weight -10 }
vrrp_instance VI_1 {
  state MASTER
  interface $IF
  virtual_router_id 51
  priority 150
  virtual_ipaddress {
    10.0.0.1/24 dev eth0 label eth0:1
  }
  track_script {
    chk
  }
  unicast_peer {
    10.0.0.2
  }
}
~SEQ(i,1,3) virtual_server 10.1.0.$i 80 { lb_algo rr
  real_server 10.2.0.1 80 { TCP_CHECK { connect_timeout 1 } } }
"""


def _seeds() -> list[str]:
    seeds = [SYNTAX_SEED]
    for sub in ("samples", "field"):
        for p in sorted((CORPUS / sub).iterdir())[:60]:
            if p.stat().st_size < 12_000:
                seeds.append(p.read_text(errors="replace"))
    return seeds


SEEDS = _seeds()

mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10_000)),
    st.tuples(st.just("dup"), st.integers(0, 10_000)),
    st.tuples(st.just("swap"), st.integers(0, 10_000), st.integers(0, 10_000)),
    st.tuples(st.just("brace"), st.integers(0, 10_000)),
    st.tuples(st.just("bytes"), st.integers(0, 10_000), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("token"), st.integers(0, 10_000),
              st.sampled_from(["{", "}", "\"", "'", "\\", "$", "${", "@", "~SEQ(", "~LST(",
                               "include *", "$X=", "#", "!", "-1", "999999999999", "0.0000001",
                               "inet6", "::", "fe80::1/129"])),
)


def mutate(text: str, muts: list[tuple[object, ...]]) -> str:
    lines = text.split("\n")
    for m in muts:
        if not lines:
            lines = [""]
        kind = m[0]
        i = int(m[1]) % len(lines)  # type: ignore[call-overload]
        if kind == "delete":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = int(m[2]) % len(lines)  # type: ignore[call-overload]
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "brace":
            ln = lines[i]
            lines[i] = ln.replace("{", "\0").replace("}", "{").replace("\0", "}") if (
                "{" in ln or "}" in ln) else ln + " {"
        elif kind == "bytes":
            raw = m[2]
            assert isinstance(raw, bytes)
            pos = len(lines[i]) // 2
            lines[i] = lines[i][:pos] + raw.decode("latin-1") + lines[i][pos:]
        elif kind == "token":
            lines[i] = f"{lines[i]} {m[2]}"
    return "\n".join(lines)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, len(SEEDS) - 1), muts=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_configs_only_report_errors(seed: int, muts: list[tuple[object, ...]]) -> None:
    text = mutate(SEEDS[seed], muts)
    res = load_text(text, config_id="h", filename="/tmp/pkc-prop/keepalived.conf",
                    env=FakeEnvironment())
    assert isinstance(res, ParseResult)
    for m in res.messages:
        assert isinstance(m.format(), str)
        assert "Internal error" not in m.text, (m.text, text)
    assert res.exit_code_for_test() in (0, 4, 5, 6)


_CHARS = [*"abcdefxyz_019.:/-", " ", "\t", "\n", "{", "}", '"', "'", "\\", "$", "@", "^",
          "~", "#", "!", "(", ")", ",", "=", "\x00", "é"]
_WORDS = ["vrrp_instance ", "virtual_server ", "real_server ", "global_defs ", "include ",
          "~SEQ(", "~LST(", "${_RANDOM ", "HTTP_GET ", "url ", "track_script ", "interface ",
          "virtual_ipaddress ", "10.0.0.1/24 ", "fe80::1 ", "priority ", "weight "]
config_alphabet = st.sampled_from([*_CHARS, *_WORDS])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(parts=st.lists(config_alphabet, max_size=300))
def test_arbitrary_text_only_reports_errors(parts: list[str]) -> None:
    res = load_text("".join(parts), config_id="h", filename="/tmp/pkc-prop/k.conf",
                    env=FakeEnvironment())
    assert all("Internal error" not in m.text for m in res.messages)
    assert res.exit_code_for_test() in (0, 4, 5, 6)
