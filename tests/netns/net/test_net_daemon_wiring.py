"""The daemon's use of the net layer, on the real kernel: ``vmac_xmit_base`` (adverts leave
through the parent with its MAC while the VIP lives on the VMAC), ``vrrp_strict`` (implies
no_accept: traffic to a held VIP is dropped by keepalived's nftables table), and
``static_routes`` / ``static_rules`` installed at start-up and removed at stop."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, render_config, stop_all
from pykeepalived.lab.netns import Host, Lab, wait_for

pytestmark = pytest.mark.netns

NET = "10.96.4"
VIP = f"{NET}.200"


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab("pkna") as lb:
        lb.add_host("n1", [f"{NET}.11/24"])
        lb.add_host("n2", [f"{NET}.12/24"])
        yield lb


def _frames(h: Host, count: int, filt: str) -> str:
    r = h.run(["timeout", "5", "tcpdump", "-e", "-n", "-l", "-i", "eth0", "-c", str(count), filt],
              check=False)
    return r.stdout


def test_xmit_base_strict_and_static_routes_rules(lab: Lab) -> None:
    n1, n2 = lab.hosts["n1"], lab.hosts["n2"]
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        use_vmac=True, vmac_xmit_base=True)
    static = ("static_routes {\n    10.96.66.0/24 via 10.96.4.254 dev eth0\n}\n"
              "static_rules {\n    from 10.96.4.77 table 101\n}")
    d = Daemon(n1, "py", render_config("n1", [inst], ("vrrp_strict",), blocks=(static,)))
    try:
        d.start()
        assert wait_for(lambda: d.has_vip(VIP, "vrrp.51"), 15), d.log_text()[-3000:]

        def route() -> str:
            return n1.run(["ip", "route", "show", "10.96.66.0/24"]).stdout

        def rules() -> str:
            return n1.run(["ip", "rule", "show"]).stdout

        assert "via 10.96.4.254" in route(), route()
        assert "from 10.96.4.77 lookup 101" in rules(), rules()
        # vmac_xmit_base: the adverts carry the parent's MAC, not 00:00:5e:00:01:33.
        vmac = "00:00:5e:00:01:33"
        assert vmac in n1.run(["ip", "link", "show", "vrrp.51"]).stdout
        adverts = _frames(n2, 3, "ip proto 112")
        srcs = re.findall(r"^\S+ (\S+) > 01:00:5e:00:00:12", adverts, re.M)
        assert srcs and all(s == n1.mac for s in srcs), adverts
        # vrrp_strict: the MASTER (not the address owner) drops traffic to its VIP.
        assert wait_for(lambda: VIP in n1.run(["nft", "list", "ruleset"]).stdout, 3)
        assert n2.run(["ping", "-c1", "-W1", f"{NET}.11"], check=False).returncode == 0
        assert n2.run(["ping", "-c2", "-W1", VIP], check=False).returncode != 0
        # Control: with keepalived's address sets emptied by hand the same ping goes through.
        table = n1.run(["nft", "list", "table", "ip", "keepalived"]).stdout
        for name in re.findall(r"^\s*set (\S+) \{", table, re.M):
            n1.run(["nft", "flush", "set", "ip", "keepalived", name])
        assert n2.run(["ping", "-c2", "-W1", VIP], check=False).returncode == 0, table
        d.signal(signal.SIGTERM)
        assert d.proc is not None and d.proc.wait(timeout=10) == 0
        assert route().strip() == "" and "lookup 101" not in rules()
        assert "keepalived" not in n1.run(["nft", "list", "tables"]).stdout
        assert n1.run(["ip", "link", "show", "vrrp.51"], check=False).returncode != 0
    finally:
        stop_all([d])
        subprocess.run(["ip", "netns", "exec", n1.ns, "ip", "rule", "del", "table", "101"],
                       capture_output=True, check=False)
