"""Deprecated synonyms: each one yields exactly the model its current keyword yields, and is
reported (a warning, or a note where keepalived 2.2.7 itself only notes it)."""

from __future__ import annotations

import pytest

from pykeepalived.config import load_text
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import ParseResult, Severity

INST = ("vrrp_instance VI {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n"
        " 10.0.0.9\n }\n %s\n}\n")
VS_HTTP = ("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
           " real_server 10.0.0.2 80 {\n HTTP_GET {\n url {\n path /\n }\n %s\n }\n }\n}\n")
GD = "global_defs {\n %s\n}\n"


def parse(text: str) -> ParseResult:
    return load_text(text, config_id="h", filename="/k.conf", env=FakeEnvironment())


@pytest.mark.parametrize(("old", "new"), [
    (VS_HTTP % "nb_get_retry 2", VS_HTTP % "retry 2"),  # HTTP_GET/SSL_GET only, as keepalived
    (GD % "lvs_flush_onstop", GD % "lvs_flush_on_stop"),
    ("vrrp_track_file F {\n file /tmp/x\n}\n", "track_file F {\n file /tmp/x\n}\n"),
    (INST % "virtual_routes {\n 10.9.0.0/16 gw 10.0.0.1 dev eth0\n }",
     INST % "virtual_routes {\n 10.9.0.0/16 via 10.0.0.1 dev eth0\n }"),
    (GD % "vrrp_vmac_garp_intvl 5", GD % "vrrp_garp_extra_if 5"),
    (INST % "vmac_garp_intvl 5", INST % "garp_extra_if 5"),
    (GD % "vrrp_rlimit_rtime 10000", GD % "vrrp_rlimit_rttime 10000"),
    (GD % "checker_rlimit_rtime 10000", GD % "checker_rlimit_rttime 10000"),
    (GD % "lvs_process_name x", GD % "checker_process_name x"),
    (GD % "state_file_location /tmp/s", GD % "state_dump_file /tmp/s"),
])
def test_deprecated_synonym_gives_the_same_model_and_is_reported(old: str, new: str) -> None:
    r_old, r_new = parse(old), parse(new)
    assert r_old.config == r_new.config
    extra = [m for m in r_old.messages if m not in r_new.messages]
    assert extra and all(m.severity in (Severity.WARNING, Severity.INFO) for m in extra)
    assert any("deprecated" in m.text for m in extra), [m.text for m in extra]


def test_sync_group_smtp_alert_follows_the_global_default_unless_set() -> None:
    """keepalived's -d shows "Using smtp notification = yes" for a group under a global
    smtp_alert (smtp_alert_vrrp taking precedence); a group's own keyword wins."""
    from pykeepalived.config import load_text

    def groups(global_line: str, own: str = "") -> dict[str, bool]:
        text = (f"global_defs {{\n {global_line}\n}}\n"
                "vrrp_instance A {\n interface lo\n virtual_router_id 1\n"
                " virtual_ipaddress {\n 10.0.0.1\n }\n}\n"
                "vrrp_instance B {\n interface lo\n virtual_router_id 2\n"
                " virtual_ipaddress {\n 10.0.0.2\n }\n}\n"
                f"vrrp_sync_group G {{\n group {{\n A\n B\n }}\n {own}\n}}\n")
        cfg = load_text(text, config_id="x").config
        return {g.name: g.smtp_alert for g in cfg.sync_groups}

    assert groups("smtp_alert") == {"G": True}
    assert groups("smtp_alert", "smtp_alert off") == {"G": False}
    assert groups("smtp_alert\n smtp_alert_vrrp off") == {"G": False}
    assert groups("router_id r") == {"G": False}
    assert groups("router_id r", "smtp_alert") == {"G": True}
