"""``track_src_ip``: an instance whose configured source address (``unicast_src_ip``) is taken
off its interface goes to FAULT and comes back when the address is added again; the same
instance without the keyword stays MASTER. Both run side by side in one lab."""

from __future__ import annotations

import pytest

from pykeepalived.lab.cluster import Daemon
from pykeepalived.lab.netns import Lab, wait_for

pytestmark = [pytest.mark.netns]

CONF = """global_defs {{
    vrrp_version 3
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 0.1
    unicast_src_ip {src}
    {track}
    unicast_peer {{
        10.90.6.99
    }}
    virtual_ipaddress {{
        10.90.7.{vrid}/24
    }}
}}
"""


def test_track_src_ip_faults_while_the_source_address_is_gone() -> None:
    with Lab("pktsrc") as lab:
        hosts = [lab.add_host(n, [f"10.90.6.{i + 1}/24"]) for i, n in enumerate("ab")]
        daemons = [Daemon(h, "py", CONF.format(vrid=91 + i, src=f"10.90.6.{i + 1}",
                                                track="track_src_ip" if i == 0 else ""))
                   for i, h in enumerate(hosts)]
        tracked, plain = daemons
        try:
            for d in daemons:
                d.start()
            for d in daemons:
                assert wait_for(lambda d=d: d.state() == "MASTER", 10), d.log_text()[-2000:]
            for i, h in enumerate(hosts):
                h.run(["ip", "addr", "del", f"10.90.6.{i + 1}/24", "dev", "eth0"])
            assert wait_for(lambda: tracked.state() == "FAULT", 5), tracked.log_text()[-2000:]
            assert "(VI_1) source address 10.90.6.1 removed from eth0" in tracked.log_text()
            hosts[0].run(["ip", "addr", "add", "10.90.6.1/24", "dev", "eth0"])
            assert wait_for(lambda: tracked.state() == "MASTER", 5), tracked.log_text()[-2000:]
            assert "(VI_1) source address 10.90.6.1 is back on eth0" in tracked.log_text()
            log = plain.log_text()
            assert plain.state() == "MASTER" and "FAULT" not in log, log[-2000:]
        finally:
            for d in daemons:
                d.stop()
