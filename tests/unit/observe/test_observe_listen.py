"""The metrics listen address and its global_defs keyword."""

from __future__ import annotations

import pytest

from pykeepalived.config.listen import format_listen, parse_listen
from pykeepalived.config.loader import load_text
from pykeepalived.config.model import Severity


@pytest.mark.parametrize(("text", "want"), [
    ("9650", ("127.0.0.1", 9650)),
    (":9650", ("127.0.0.1", 9650)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("[::1]:9650", ("::1", 9650)),
])
def test_parse_listen(text: str, want: tuple[str, int]) -> None:
    assert parse_listen(text) == want


@pytest.mark.parametrize("text", ["", "host:80", "::1:80", "[::1]80", "1.2.3.4:0", "1.2.3.4:x",
                                  "70000"])
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


def test_format_listen_brackets_ipv6() -> None:
    assert format_listen("::1", 80) == "[::1]:80"
    assert format_listen("10.0.0.1", 80) == "10.0.0.1:80"


def test_keyword_sets_global_defs() -> None:
    r = load_text("global_defs {\n pykeepalived_metrics_listen 9651\n}\n")
    assert r.config.global_defs.metrics_listen == "127.0.0.1:9651"
    assert not [m for m in r.messages if m.severity >= Severity.ERROR]


def test_keyword_error_has_file_and_line() -> None:
    r = load_text("global_defs {\n router_id x\n pykeepalived_metrics_listen [::1]:99999\n}\n",
                  filename="k.conf")
    errs = [m for m in r.messages if m.severity >= Severity.ERROR]
    assert len(errs) == 1
    assert errs[0].line == 3 and "99999" in errs[0].format() and "k.conf" in errs[0].format()
    assert r.config.global_defs.metrics_listen is None
