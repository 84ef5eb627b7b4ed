"""``old_unicast_checksum``: pykeepalived and keepalived 2.2.7 on one bridge, unicast VRRPv3.

keepalived configured with it sends the legacy checksum (pseudo-header to the multicast group):
pykeepalived, not configured, takes it up as keepalived does (its log line) and stays BACKUP.
pykeepalived configured with it sends the legacy checksum: keepalived, not configured, takes it
up (its log line) and stays BACKUP. Two pairs with their own VRIDs, run side by side."""

from __future__ import annotations

import time

import pytest

from pykeepalived.lab.cluster import Daemon
from pykeepalived.lab.netns import Lab, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

CONF = """global_defs {{
    vrrp_version 3
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {prio}
    advert_int 0.1
    {old}
    unicast_src_ip {me}
    unicast_peer {{
        {peer}
    }}
    virtual_ipaddress {{
        10.90.3.{vrid}/24
    }}
}}
"""
SWITCH = r"\(VI_1\) Setting unicast VRRPv3 checksum to old version"


def test_old_unicast_checksum_both_ways_with_keepalived() -> None:
    with Lab("pkoc") as lab:
        ips = [f"10.90.3.{i}" for i in (1, 2, 3, 4)]
        hosts = [lab.add_host(f"h{i}", [f"{ip}/24"]) for i, ip in enumerate(ips)]
        # (implementation, priority, old_unicast_checksum line) per host; pairs (0,1), (2,3)
        plan = [("ka", 200, "old_unicast_checksum", 81), ("py", 100, "", 81),
                ("py", 200, "old_unicast_checksum", 82), ("ka", 100, "", 82)]
        daemons = [Daemon(hosts[i], impl, CONF.format(vrid=vrid, prio=prio, old=old,
                                                      me=ips[i], peer=ips[i ^ 1]))
                   for i, (impl, prio, old, vrid) in enumerate(plan)]
        masters, backups = daemons[0::2], daemons[1::2]
        try:
            for m in masters:  # alone at first: MASTER after three missed adverts
                m.start()
            for m in masters:
                assert wait_for(lambda m=m: m.state() == "MASTER", 10), m.log_text()[-3000:]
            for b in backups:
                b.start()
            for b in backups:
                assert b.wait_log(SWITCH, 10), b.log_text()[-3000:]
            time.sleep(0.5)  # five adverts more, each accepted
            for b in backups:
                log = b.log_text()
                assert b.state() == "BACKUP" and "Entering MASTER" not in log, log[-3000:]
                assert "Invalid VRRPv3 checksum" not in log, log[-3000:]
        finally:
            for d in daemons:
                d.stop()
