"""The split-brain keywords: parsed into the model, off by default, and -t's checks with
file:line (reference off the VIPs' subnet, a lock key shared, short TTLs)."""

from __future__ import annotations

from pykeepalived.config.loader import load_text
from pykeepalived.config.model import HeartbeatPath, Severity

BASE = """
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int {adv}
{extra}
    virtual_ipaddress {{
        10.98.0.200/24 dev eth0
    }}
}}
"""

LEASE = """lease_arbiter {
    endpoints http://10.98.0.21:2379 http://10.98.0.22:2379
    ttl %s
    on_etcd_down fence
}
"""


def parse(extra: str = "", adv: float = 1, top: str = ""):  # type: ignore[no-untyped-def]
    return load_text(top + BASE.format(adv=adv, extra=extra), filename="k.conf")


def msgs(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.format() for m in r.messages]


def test_without_keywords_nothing_is_on() -> None:
    r = parse()
    i = r.config.vrrp_instances[0]
    assert not i.split_brain.any and r.config.lease_arbiter is None and msgs(r) == []


def test_every_keyword_reaches_the_model() -> None:
    r = parse("""    reference_address { 10.98.0.1 10.98.0.254 }
    reference_interval 0.5
    reference_fall 4
    conflict_watch
    conflict_interval 0.2
    heartbeat_path eth1
    heartbeat_path eth0 unicast 10.98.0.12 10.98.0.13
    lease_key /pk/vi1
    fence_script "/usr/local/sbin/fence now"
    notify_split_brain /usr/local/sbin/sb""", top=LEASE % "3")
    sb = r.config.vrrp_instances[0].split_brain
    assert sb.reference_addresses == ("10.98.0.1", "10.98.0.254")
    assert sb.reference_interval == 0.5 and sb.reference_fall == 4 and sb.reference_rise == 1
    assert sb.conflict_watch and sb.conflict_interval == 0.2
    assert sb.heartbeat_paths == (HeartbeatPath("eth1"),
                                  HeartbeatPath("eth0", ("10.98.0.12", "10.98.0.13")))
    assert sb.lease_key == "/pk/vi1"
    assert sb.fence_script is not None and sb.fence_script.argv[-1] == "now"
    la = r.config.lease_arbiter
    assert la is not None and la.ttl == 3 and la.on_etcd_down == "fence"
    assert la.endpoints == ("http://10.98.0.21:2379", "http://10.98.0.22:2379")
    assert r.worst is None or r.worst < Severity.ERROR, msgs(r)


def test_reference_off_the_subnet_is_an_error_with_file_and_line() -> None:
    r = parse("    reference_address 192.168.7.1")
    assert any(m.startswith("(k.conf: Line 7) (VI_1) reference_address 192.168.7.1 is not on "
                            "the subnet") for m in msgs(r)), msgs(r)
    assert r.worst == Severity.ERROR


def test_shared_lock_key_and_missing_arbiter_are_errors() -> None:
    text = LEASE % "3" + BASE.format(adv=1, extra="    lease_key /k") + BASE.replace(
        "VI_1", "VI_2").replace("51", "52").replace("200/24", "201/24").format(
        adv=1, extra="    lease_key /k")
    r = load_text(text, filename="k.conf")
    assert any("(VI_2) lease_key /k is already used by VI_1" in m and "Line" in m
               for m in msgs(r)), msgs(r)
    r2 = parse("    lease_key /k")
    assert any("needs a lease_arbiter block" in m for m in msgs(r2))


def test_short_ttl_warns() -> None:
    r = parse("    lease_key /k", adv=1, top=LEASE % "2")
    assert any("shorter than three advert intervals" in m for m in msgs(r)), msgs(r)
    assert r.worst == Severity.WARNING
    r2 = parse("    lease_key /k", adv=0.1, top=LEASE % "1")
    assert any("less than 2 s cannot be kept" in m for m in msgs(r2)), msgs(r2)


def test_bad_values_are_reported_not_crashed_on() -> None:
    r = parse("    heartbeat_path eth0 multicast\n    reference_address nothere",
              top=LEASE.replace("fence", "maybe") % "3")
    text = "\n".join(msgs(r))
    assert "heartbeat_path: expected" in text and "'nothere' is not an IP address" in text
    assert "on_etcd_down must be hold, vrrp or fence" in text
