"""Mail settings as the notifier sees them after parsing: ``smtp_server`` with and without a
port, and which instances mail (global ``smtp_alert``, ``smtp_alert_vrrp``, per instance)."""

from __future__ import annotations

from pykeepalived.config import load_text

INST = """
vrrp_instance {name} {{
    interface eth0
    virtual_router_id {vrid}
    priority 100
{extra}
    virtual_ipaddress {{
        10.0.0.{vrid}/24
    }}
}}
"""


def _conf(glob: str, *insts: tuple[str, int, str]) -> str:
    return (f"global_defs {{\n{glob}\n}}\n"
            + "".join(INST.format(name=n, vrid=v, extra=e) for n, v, e in insts))


def test_smtp_server_port_default_and_explicit() -> None:
    gd = load_text(_conf("    smtp_server 192.0.2.1")).config.global_defs
    assert (gd.smtp_server, gd.smtp_port) == ("192.0.2.1", 25)
    gd = load_text(_conf("    smtp_server 192.0.2.1 2525\n    smtp_helo_name h.example\n"
                         "    smtp_connect_timeout 7")).config.global_defs
    assert (gd.smtp_server, gd.smtp_port, gd.smtp_helo_name, gd.smtp_connect_timeout) == (
        "192.0.2.1", 2525, "h.example", 7)


def _alerts(glob: str) -> dict[str, bool]:
    cfg = load_text(_conf(glob, ("A", 1, ""), ("B", 2, "    smtp_alert false"),
                          ("C", 3, "    smtp_alert"))).config
    return {i.name: i.smtp_alert for i in cfg.vrrp_instances}


def test_smtp_alert_global_vrrp_and_per_instance() -> None:
    assert _alerts("") == {"A": False, "B": False, "C": True}
    assert _alerts("    smtp_alert") == {"A": True, "B": False, "C": True}
    # smtp_alert_vrrp decides for VRRP instances over the general smtp_alert.
    assert _alerts("    smtp_alert\n    smtp_alert_vrrp false") == {
        "A": False, "B": False, "C": True}
    assert _alerts("    smtp_alert false\n    smtp_alert_vrrp") == {
        "A": True, "B": False, "C": True}
