"""``nftables_priority``, ``nftables_counters`` and ``nftables_ifindex``: keepalived 2.2.7 and
pykeepalived, each a non-owner MASTER with ``no_accept`` in a lab of its own (run side by side),
build the same ``nft list ruleset`` (counter values aside) for the same configuration, and it
differs from the tables without the keywords (chain priority, a counter in every rule, the
link-local set keyed by name or by index)."""

from __future__ import annotations

import re
import time

import pytest

from pykeepalived.lab.cluster import Daemon
from pykeepalived.lab.netns import Host, Lab

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

CONF = """global_defs {{
    vrrp_version 3
    {globals}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 63
    priority 200
    advert_int 0.1
    no_accept
    dont_track_primary
    virtual_ipaddress {{
        10.90.1.200/24
    }}
}}
vrrp_instance VI_6 {{
    state BACKUP
    interface eth0
    virtual_router_id 64
    priority 200
    advert_int 0.1
    no_accept
    dont_track_primary
    virtual_ipaddress {{
        fe80::200/64
        fd90:1::200/64
    }}
}}
"""


def normal(ruleset: str) -> list[str]:
    """Tokens without counter values and with each set's elements sorted."""
    text = re.sub(r"counter packets \d+ bytes \d+", "counter", ruleset)
    text = re.sub(r"elements = \{([^}]*)\}", lambda m: "elements = { " + ", ".join(
        sorted(x.strip() for x in m.group(1).split(","))) + " }", text)
    return text.split()


def ruleset(host: Host) -> str:
    return host.run(["nft", "list", "ruleset"]).stdout


def tables_of(globals_: str) -> dict[str, str]:
    """Each implementation's ruleset once it holds every VIP of ``CONF``."""
    conf = CONF.format(globals=globals_)
    labs = {impl: Lab(f"pkf{impl}", ipv6=True) for impl in ("ka", "py")}
    try:
        daemons = []
        for impl, lab in labs.items():
            host = lab.add_host("a", ["10.90.1.1/24", "fd90:1::1/64"])
            d = Daemon(host, impl, conf)
            d.start()
            daemons.append(d)
        out: dict[str, str] = {}
        deadline = time.monotonic() + 15
        while len(out) < 2 and time.monotonic() < deadline:
            for d in daemons:
                text = ruleset(d.host)
                if all(ip in text for ip in ("10.90.1.200", "fd90:1::200", "fe80::200")):
                    out.setdefault(d.impl, text)
            time.sleep(0.1)
        for d in daemons:
            d.stop()
        assert len(out) == 2, [d.log_text() for d in daemons]
        return out
    finally:
        for lab in labs.values():
            lab.cleanup()


def test_priority_and_counters_as_keepalived() -> None:
    """Priority 7, counters, and the link-local VIP of a dont_track_primary instance keyed by
    interface name, as keepalived keys it."""
    got = tables_of("nftables_priority 7\n    nftables_counters")
    assert normal(got["py"]) == normal(got["ka"]), f"ours:\n{got['py']}\ntheirs:\n{got['ka']}"
    ours = got["py"]
    assert ours.count("priority filter + 7") == 4, ours
    assert "ip6 daddr . iifname @vips_link_local_name counter" in ours, ours
    assert all("counter" in ln for ln in ours.splitlines()
               if ln.strip().endswith(("drop", "accept")) or "goto" in ln), ours


def test_ifindex_as_keepalived() -> None:
    """``nftables_ifindex``: the same link-local VIP keyed by interface index; no counters
    and the default priority without those keywords."""
    got = tables_of("nftables_ifindex")
    assert normal(got["py"]) == normal(got["ka"]), f"ours:\n{got['py']}\ntheirs:\n{got['ka']}"
    ours = got["py"]
    assert "vips_link_local_name" not in ours and "@vips_link_local " in ours, ours
    assert "counter" not in ours and "priority filter - 1" in ours, ours
