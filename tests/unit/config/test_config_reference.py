"""The keyword tables against keepalived's own keyword list, and the reference page they make.

``tests/fixtures/keepalived-keywords.tsv`` lists every keyword of keepalived 2.2.7 and 2.4.3
with its block (extracted from keepalived's parser tables by scripts/keepalived_keywords.py).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pykeepalived.config.parse.finish import INHERITED
from pykeepalived.config.parse.reference import read_releases, render
from pykeepalived.config.parse.table import Section, Status
from pykeepalived.config.parse.top import ALL_SECTIONS

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "keepalived-keywords.tsv"
DOC = ROOT / "docs" / "configuration-reference.md"
SRC = ROOT / "src" / "pykeepalived"


def _by_path() -> dict[str, Section]:
    out: dict[str, Section] = {}
    for sec in ALL_SECTIONS:
        for path in (sec.path, *sec.aliases):
            assert path not in out, f"two tables for {path!r}"
            out[path] = sec
    return out


def test_the_reference_page_is_what_the_tables_generate() -> None:
    expected = render(read_releases(str(FIXTURE)))
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/configuration-reference.md is out of date: run python -m "
        "pykeepalived.config.parse.reference tests/fixtures/keepalived-keywords.tsv "
        "> docs/configuration-reference.md")


def test_every_keepalived_keyword_has_a_row_in_its_block() -> None:
    releases = read_releases(str(FIXTURE))
    assert len(releases) > 500 and ("priority", "vrrp_instance") in releases
    tables = _by_path()
    missing = [(sec, kw) for kw, sec in releases
               if sec not in tables or tables[sec].row(kw) is None]
    assert not missing, missing


def test_no_row_is_orphaned() -> None:
    """A spelling keepalived does not have in that block says so (``ours``)."""
    releases = read_releases(str(FIXTURE))
    orphans = [(sec.path, name) for sec in ALL_SECTIONS for row in sec.rows
               for name in row.names()
               if not any((name, p) in releases for p in (sec.path, *sec.aliases))
               and not row.ours]
    assert not orphans, orphans


def test_every_status_but_acts_gives_its_reason() -> None:
    bad = [(sec.path, row.name) for sec in ALL_SECTIONS for row in sec.rows
           if bool(row.why) != (row.status is not Status.ACTS)]
    assert not bad, bad


def test_every_target_is_a_model_field_or_a_builder_attribute() -> None:
    bad = []
    for sec in ALL_SECTIONS:
        names = set()
        for cls in (sec.model, sec.builder):
            if cls is not None and dataclasses.is_dataclass(cls):
                names |= {f.name for f in dataclasses.fields(cls)}
        bad += [(sec.path, row.name, row.to) for row in sec.rows
                if row.to and row.to not in names]
    assert not bad, bad


# Acting keywords whose value the configuration front end itself consumes (finishing rules,
# the lexer, -t) rather than a daemon module: (block, keyword) -> where.
ACTS_IN_CONFIG = {
    ("", "net_namespace"): "configtest: -t exits 0 as keepalived does",
    ("global_defs", "smtp_alert_vrrp"): "finish: instances' and sync groups' smtp_alert",
    ("global_defs", "dynamic_interfaces"): "parse: missing interfaces are not reported",
    ("global_defs", "vrrp_garp_lower_prio_delay"): "finish: garp_lower_prio_delay",
    ("global_defs", "vrrp_garp_lower_prio_repeat"): "finish: garp_lower_prio_repeat",
    ("global_defs", "vrrp_iptables"): "parse: turns nftables on",
    ("global_defs", "vrrp_ipsets"): "parse: turns nftables on",
    ("global_defs", "random_seed"): "lexer: reseeds ${_RANDOM}",
    ("global_defs", "include_check"): "lexer: the checks of the includes that follow",
    ("global_defs", "iproute_usr_dir"): "parse: routing table names resolved to numbers",
    ("global_defs", "iproute_etc_dir"): "parse: routing table names resolved to numbers",
    ("vrrp_instance", "native_ipv6"): "finish: the instance's family and version",
    ("vrrp_instance", "no_virtual_ipaddress"): "finish: no 'No VIP specified' warning",
    ("vrrp_instance", "unicast_fault_no_peer"): "finish: no unicast-without-peers warning",
    ("vrrp_sync_group", "sync_group_tracking_weight"): "finish: script weights kept",
    ("vrrp_sync_group", "global_tracking"): "finish: script weights kept",
    ("garp_group", "interface"): "finish: the instances' garp_interval / gna_interval",
    ("garp_group", "interfaces"): "finish: the instances' garp_interval / gna_interval",
}


def _read_outside_config() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")
                     if "config" not in p.parts and "lab" not in p.parts)


@pytest.mark.parametrize("sec", ALL_SECTIONS, ids=lambda s: s.path or "top")
def test_an_acting_keyword_fills_a_field_the_daemon_reads(sec: Section) -> None:
    """Statuses stay honest: a keyword said to act fills a model field that some module
    outside the configuration front end reads (``.field``), or is listed above."""
    if sec.model is None or not dataclasses.is_dataclass(sec.model):
        return
    fields = {f.name for f in dataclasses.fields(sec.model)}
    # a global default acts through the instance field it is inherited into
    inherited_into = {g: i for i, g in INHERITED.items()} if sec.path == "global_defs" else {}
    text = _read_outside_config()
    unread = []
    for row in sec.rows:
        if row.status is Status.NO_EFFECT or row.to not in fields:
            continue
        field = inherited_into.get(row.to, row.to)
        if (sec.path, row.name) in ACTS_IN_CONFIG:
            continue
        if not re.search(rf"\.{re.escape(field)}\b", text):
            unread.append((row.name, field))
    assert not unread, f"{sec.path}: said to act, but nothing reads {unread}"
