"""The daemon's use of the net layer, on the real kernel: ``vmac_xmit_base`` (adverts leave
through the parent with its MAC while the VIP lives on the VMAC; strict mode resets it, as
keepalived does), ``vrrp_strict`` (implies no_accept: traffic to a held VIP is dropped by
keepalived's nftables table), and ``static_routes`` / ``static_rules`` installed at start-up
and removed at stop."""

from __future__ import annotations

import itertools
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, render_config, stop_all
from pykeepalived.lab.measure import arp_capture
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


def _advert_sources(n2: Host) -> tuple[list[str], str]:
    adverts = _frames(n2, 3, "ip proto 112")
    return re.findall(r"^\S+ (\S+) > 01:00:5e:00:00:12", adverts, re.M), adverts


def test_xmit_base_strict_and_static_routes_rules(lab: Lab) -> None:
    n1, n2 = lab.hosts["n1"], lab.hosts["n2"]
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        use_vmac=True, vmac_xmit_base=True)
    vmac = "00:00:5e:00:01:33"
    # vmac_xmit_base: the adverts carry the parent's MAC, not the VMAC's.
    d = Daemon(n1, "py", render_config("n1", [inst]))
    try:
        d.start()
        assert wait_for(lambda: d.has_vip(VIP, "vrrp.51"), 15), d.log_text()[-3000:]
        assert vmac in n1.run(["ip", "link", "show", "vrrp.51"]).stdout
        srcs, adverts = _advert_sources(n2)
        assert srcs and all(s == n1.mac for s in srcs), adverts
    finally:
        stop_all([d])
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
        # strict mode resets vmac_xmit_base, as keepalived does: adverts leave from the VMAC
        assert "xmit_base is incompatible with strict mode - resetting" in d.log_text()
        srcs, adverts = _advert_sources(n2)
        assert srcs and all(s == vmac for s in srcs), adverts
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


def test_unicast_ttl_peer_ttl_range_and_mcast_dst_ip(lab: Lab) -> None:
    """``unicast_ttl`` sets the TTL of unicast adverts; a peer line's ``min_ttl`` makes the
    receiver drop adverts below it (so it becomes MASTER too, and says why); ``mcast_dst_ip``
    sends an instance's adverts to its own group."""
    n1, n2 = lab.hosts["n1"], lab.hosts["n2"]
    uvip, mvip = f"{NET}.161", f"{NET}.162"

    def insts(me: int, peer: int, prio: int, peer_extra: str) -> list[InstanceConf]:
        return [
            InstanceConf(name="VI_U", vrid=61, priority=prio, version=3, advert_int=0.1,
                         vips=(f"{uvip}/24",), unicast_src=f"{NET}.{me}",
                         extra=("unicast_ttl 7", "unicast_peer {",
                                f"    {NET}.{peer}{peer_extra}", "}")),
            InstanceConf(name="VI_M", vrid=62, priority=prio, version=3, advert_int=0.1,
                         vips=(f"{mvip}/24",), extra=("mcast_dst_ip 224.0.0.99",)),
        ]

    d1 = Daemon(n1, "py", render_config("n1", insts(11, 12, 150, "")))
    d2 = Daemon(n2, "py", render_config("n2", insts(12, 11, 100, " min_ttl 10")))
    try:
        d1.start()
        d2.start()
        assert wait_for(lambda: d1.has_vip(uvip) and d1.has_vip(mvip), 15), d1.log_text()[-3000:]
        r = n2.run(["timeout", "5", "tcpdump", "-v", "-n", "-l", "-i", "eth0", "-c", "8",
                    f"ip proto 112 and src {NET}.11"], check=False)
        heads = re.findall(r"ttl (\d+),.*\n\s+(\S+) > (\S+):", r.stdout)
        uni = [int(t) for t, _s, dst in heads if dst == f"{NET}.12"]
        mc = [int(t) for t, _s, dst in heads if dst == "224.0.0.99"]
        assert uni and all(t == 7 for t in uni), r.stdout
        assert mc and all(t == 255 for t in mc), r.stdout
        assert not any(dst == "224.0.0.18" for _t, _s, dst in heads), r.stdout
        # n2 drops n1's unicast adverts (TTL 7 < min_ttl 10): MASTER of VI_U as well, while
        # VI_M (no TTL rule) stays with n1.
        assert wait_for(lambda: d2.has_vip(uvip), 5), d2.log_text()[-3000:]
        assert d1.has_vip(uvip) and not d2.has_vip(mvip)
        log2 = d2.log_text()
        assert re.search(r"\(VI_U\) TTL/HL 7 not in range 10 - 255", log2), log2[-3000:]
    finally:
        stop_all([d1, d2])


def test_garp_schedule_on_the_wire(lab: Lab) -> None:
    """The GARPs a new MASTER sends follow its schedule: ``garp_master_repeat`` frames spaced by
    ``vrrp_garp_interval``, the same burst again ``garp_master_delay`` later, then nothing."""
    n1, n2 = lab.hosts["n1"], lab.hosts["n2"]
    inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=(f"{VIP}/24",),
                        extra=("garp_master_delay 1", "garp_master_repeat 3"))
    d = Daemon(n1, "py", render_config("n1", [inst], ("vrrp_garp_interval 0.05",)))
    cap = arp_capture(n2)
    try:
        d.start()
        assert wait_for(lambda: d.has_vip(VIP), 15), d.log_text()[-3000:]
        time.sleep(3.0)
    finally:
        trace = cap.stop()
        stop_all([d])
    garp = re.compile(rf"^(\d\d):(\d\d):(\d\d\.\d+) {re.escape(n1.mac)} > ff:ff:ff:ff:ff:ff, "
                      rf".*Request who-has {re.escape(VIP)} \(ff:ff:ff:ff:ff:ff\) tell "
                      rf"{re.escape(VIP)},", re.M)
    ts = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in garp.findall(trace)]
    # (the stop's own frames come after the trace was taken)
    assert len(ts) == 6, trace
    first, second = ts[:3], ts[3:]
    assert all(0.035 <= b - a <= 0.5 for a, b in itertools.pairwise(first)), ts
    assert all(0.035 <= b - a <= 0.5 for a, b in itertools.pairwise(second)), ts
    assert 0.9 <= second[0] - first[0] <= 1.6, ts
