"""The nftables data plane against the real kernel: client → VIP on the director → three real
HTTP servers that answer with their own name.

Topology (one L2 segment, two subnets so replies must come back through the director, as with
IPVS NAT): client 10.71.1.100/24; director 10.71.1.1/24 + VIP 10.71.1.200 and 10.71.2.1/24,
forwarding; real servers 10.71.2.11-13 (+ sorry server 10.71.2.20) with the director as gateway.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from pykeepalived.lab.netns import Host, Lab, wait_for
from pykeepalived.lvs.backend import LvsSettings
from pykeepalived.lvs.dataplane import select_backend
from pykeepalived.lvs.nft import NftBackend
from pykeepalived.lvs.table import (
    FwdMethod,
    LvsDest,
    LvsService,
    LvsTable,
    ServiceFlag,
    ServiceKey,
)

pytestmark = pytest.mark.netns

VIP = "10.71.1.200"
PORT = 80
RS = {"rs1": "10.71.2.11", "rs2": "10.71.2.12", "rs3": "10.71.2.13", "sorry": "10.71.2.20"}
RS_PORT = 8080

SERVER = """
import http.server, socket, sys
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    address_family = socket.AF_INET6 if ":" in sys.argv[3] else socket.AF_INET
S((sys.argv[3], int(sys.argv[2])), H).serve_forever()
"""

CLIENT = """
import json, socket, sys, time
vip, port, n, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = []
for _ in range(n):
    t = time.monotonic()
    try:
        s = socket.create_connection((vip, port), timeout=3)  # v4 or v6
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        name = data.split(b"\\r\\n\\r\\n", 1)[1].decode()
    except OSError as e:
        name = "ERR:" + type(e).__name__
    out.append((t, name))
    if pause:
        time.sleep(pause)
print(json.dumps(out))
"""


class Env:
    def __init__(self, lab: Lab, client: Host, director: Host) -> None:
        self.lab = lab
        self.client = client
        self.director = director
        self.loop = asyncio.new_event_loop()
        self.backend = NftBackend(LvsSettings(), netns=director.ns, table="pkltest")

    def apply(self, table: LvsTable) -> None:
        self.loop.run_until_complete(self.backend.apply(table))

    def requests(self, n: int, pause: float = 0.0) -> list[tuple[float, str]]:
        p = self.client.run([sys.executable, "-c", CLIENT, VIP, str(PORT), str(n), str(pause)],
                            timeout=120)
        return [(t, name) for t, name in json.loads(p.stdout)]

    def start_requests(self, n: int, pause: float) -> subprocess.Popen[bytes]:
        return self.client.popen([sys.executable, "-c", CLIENT, VIP, str(PORT), str(n),
                                  str(pause)], stdout=subprocess.PIPE)


def svc(scheduler: str = "wrr", **kw: object) -> LvsService:
    return LvsService(ServiceKey.inet(VIP, PORT), scheduler=scheduler, **kw)  # type: ignore[arg-type]


def dest(name: str, weight: int) -> LvsDest:
    return LvsDest(RS[name], RS_PORT, weight=weight)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with Lab("pklnft") as lab:
        client = lab.add_host("cl", ["10.71.1.100/24"])
        director = lab.add_host("dir", ["10.71.1.1/24", f"{VIP}/24", "10.71.2.1/24"])
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
                    "net.ipv4.conf.eth0.send_redirects=0"):
            director.run(["sysctl", "-qw", key])
        for name, addr in RS.items():
            h = lab.add_host(name, [f"{addr}/24"])
            h.run(["ip", "route", "add", "default", "via", "10.71.2.1"])
            h.popen([sys.executable, "-c", SERVER, name, str(RS_PORT), "0.0.0.0"])
        for addr in RS.values():
            assert wait_for(lambda a=addr: director.run(
                ["bash", "-c", f"exec 3<>/dev/tcp/{a}/{RS_PORT}"], check=False).returncode == 0,
                timeout=15), f"real server {addr} did not start"
        e = Env(lab, client, director)
        try:
            yield e
        finally:
            e.loop.run_until_complete(e.backend.close())
            e.loop.close()


def test_wrr_weights_are_honoured(env: Env) -> None:
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 1), dest("rs2", 2), dest("rs3", 3)])]))
    got = Counter(name for _, name in env.requests(300))
    # numgen inc over 6 slots: each block of 6 new connections is split 1/2/3 exactly. Allow a
    # few for a SYN retransmitted on a busy machine (same conntrack entry: no extra slot, but be
    # honest about what we measure).
    assert sum(v for k, v in got.items() if k.startswith("ERR")) == 0, got
    assert abs(got["rs1"] - 50) <= 3 and abs(got["rs2"] - 100) <= 3 \
        and abs(got["rs3"] - 150) <= 3, got


def test_rr_ignores_weights_but_not_zero(env: Env) -> None:
    env.apply(LvsTable.build([(svc("rr"), [dest("rs1", 1), dest("rs2", 5), dest("rs3", 0)])]))
    got = Counter(name for _, name in env.requests(60))
    assert got == Counter({"rs1": 30, "rs2": 30}), got


def test_removed_dest_gets_nothing_and_no_request_fails(env: Env) -> None:
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 1), dest("rs2", 1), dest("rs3", 1)])]))
    p = env.start_requests(240, 0.01)
    time.sleep(1.0)
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 1), dest("rs3", 1)])]))
    changed = time.monotonic()
    out, _ = p.communicate(timeout=120)
    results = json.loads(out)
    before = [n for t, n in results if t < changed]
    after = [n for t, n in results if t > changed]
    assert "rs2" in before, "rs2 should have served before its removal"
    assert len(after) > 50, "the client finished too early to show anything"
    assert "rs2" not in after
    assert not [n for _, n in results if n.startswith("ERR")], Counter(n for _, n in results)
    assert set(after) == {"rs1", "rs3"}


def test_inhibited_dest_weight_zero_gets_no_new_connections(env: Env) -> None:
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 2), dest("rs2", 1), dest("rs3", 0)])]))
    got = Counter(name for _, name in env.requests(60))
    assert got == Counter({"rs1": 40, "rs2": 20}), got


def test_sorry_server_when_the_table_says_so(env: Env) -> None:
    env.apply(LvsTable.build([(svc("wrr"), [dest("sorry", 1)])]))
    got = Counter(name for _, name in env.requests(20))
    assert got == Counter({"sorry": 20}), got
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 1), dest("sorry", 0)])]))
    got = Counter(name for _, name in env.requests(20))
    assert got == Counter({"rs1": 20}), got


def test_source_hash_and_persistence_keep_one_client_on_one_server(env: Env) -> None:
    for s in (svc("sh"), svc("wlc", timeout=300, flags=ServiceFlag.PERSISTENT, netmask=24)):
        env.apply(LvsTable.build([(s, [dest("rs1", 1), dest("rs2", 1), dest("rs3", 1)])]))
        got = Counter(name for _, name in env.requests(30))
        assert len(got) == 1 and sum(got.values()) == 30, (s.scheduler, got)


def test_empty_service_refuses_quickly_and_close_removes_the_table(env: Env) -> None:
    env.apply(LvsTable.build([(svc("wrr"), [])]))
    start = time.monotonic()
    got = env.requests(3)
    assert all(n.startswith("ERR:ConnectionRefused") for _, n in got), got
    assert time.monotonic() - start < 10
    ruleset = env.director.run(["nft", "list", "table", "inet", "pkltest"]).stdout
    assert "dnat" not in ruleset


def test_kernel_accepts_every_table_feature(env: Env) -> None:
    k6 = "2001:db8::100"
    table = LvsTable.build([
        (svc("wrr"), [dest("rs1", 1), dest("rs2", 2), dest("rs3", 3)]),
        (LvsService(ServiceKey.inet(VIP, 53, "UDP"), "sh", flags=ServiceFlag.SCHED2),
         [LvsDest(RS["rs1"], 53, 1), LvsDest(RS["rs2"], 53, 2)]),
        (LvsService(ServiceKey.inet(VIP, 83, "SCTP"), "wlc", timeout=300, netmask=24,
                    flags=ServiceFlag.PERSISTENT), [LvsDest(RS["rs1"], 0, 1),
                                                    LvsDest(RS["rs2"], 0, 2)]),
        (LvsService(ServiceKey.inet(VIP, 0), "rr", timeout=60), [LvsDest(RS["rs1"], 0, 1)]),
        (LvsService(ServiceKey.inet(k6, 80), "fo", netmask=128),
         [LvsDest("2001:db8::1", 80, 1), LvsDest("2001:db8::2", 80, 2)]),
        (LvsService(ServiceKey.inet(k6, 81), "sh", timeout=60, netmask=64),
         [LvsDest("2001:db8::1", 80, 1), LvsDest("2001:db8::2", 80, 2)]),
        (LvsService(ServiceKey.mark(7), "dh"), [LvsDest(RS["rs1"], 0, 1),
                                                 LvsDest(RS["rs2"], 0, 2)]),
        (LvsService(ServiceKey.mark(8, 6), "lc", netmask=128),
         [LvsDest("2001:db8::1", 0, 1), LvsDest("2001:db8::2", 0, 1)]),
    ])
    env.apply(table)
    listing = env.director.run(["nft", "list", "chain", "inet", "pkltest", "services"]).stdout
    assert listing.count(" dnat ") == len(table), listing
    for key in table.services:
        assert f'comment "{key}"' in listing, (key, listing)
    stats = env.loop.run_until_complete(env.backend.stats())
    assert set(stats.services) == set(table.services)
    # back to plain traffic: the earlier table works again
    env.apply(LvsTable.build([(svc("rr"), [dest("rs1", 1)])]))
    assert Counter(n for _, n in env.requests(3)) == Counter({"rs1": 3})


def test_stats_count_new_connections(env: Env) -> None:
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 1), dest("rs2", 1)])]))
    before = env.loop.run_until_complete(env.backend.stats()).services[svc().key].conns
    env.requests(10)
    after = env.loop.run_until_complete(env.backend.stats()).services[svc().key].conns
    assert after - before == 10
    # another service changing rewrites the rules but keeps this service's count
    other = LvsService(ServiceKey.inet(VIP, 81), "rr")
    env.apply(LvsTable.build([(svc("wrr"), [dest("rs1", 1), dest("rs2", 1)]),
                              (other, [dest("rs3", 1)])]))
    kept = env.loop.run_until_complete(env.backend.stats()).services[svc().key].conns
    assert kept == after


def test_table_removed_behind_our_back_is_recreated(env: Env) -> None:
    table = LvsTable.build([(svc("rr"), [dest("rs1", 1), dest("rs2", 1)])])
    env.apply(table)
    env.director.run(["nft", "delete", "table", "inet", "pkltest"])
    assert env.loop.run_until_complete(env.backend.read()) == LvsTable()
    env.apply(table)  # unchanged table: still noticed
    assert Counter(n for _, n in env.requests(4)) == Counter({"rs1": 2, "rs2": 2})


def test_select_backend_falls_back_to_nftables_with_one_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    from pykeepalived.lvs.dataplane import ipvs_available

    if ipvs_available(try_modprobe=False):
        pytest.skip("this kernel has IPVS: auto picks it")
    with caplog.at_level("WARNING", logger="pykeepalived.lvs"):
        b = select_backend("auto")
    assert b.name == "nftables"
    assert len([r for r in caplog.records if "nftables" in r.getMessage()]) == 1


def test_ipv6_wrr_and_removal() -> None:
    vip6 = "fd71:1::200"
    rs6 = {"rs1": "fd71:2::11", "rs2": "fd71:2::12"}
    with Lab("pklnf6", ipv6=True) as lab:
        client = lab.add_host("cl", ["fd71:1::100/64"])
        director = lab.add_host("dir", ["fd71:1::1/64", f"{vip6}/64", "fd71:2::1/64"])
        director.run(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        for name, addr in rs6.items():
            h = lab.add_host(name, [f"{addr}/64"])
            # One segment: the director's ICMPv6 redirect ("the client is on-link") would send
            # the replies around the director, un-NATed. IPv6 cannot stop sending redirects,
            # so the real servers ignore them.
            for key in ("all", "eth0"):
                h.run(["sysctl", "-qw", f"net.ipv6.conf.{key}.accept_redirects=0"])
            h.run(["ip", "-6", "route", "add", "default", "via", "fd71:2::1"])
            h.popen([sys.executable, "-c", SERVER, name, str(RS_PORT), "::"])
        for addr in rs6.values():
            assert wait_for(lambda a=addr: director.run(
                ["bash", "-c", f"exec 3<>/dev/tcp/{a}/{RS_PORT}"], check=False).returncode == 0,
                timeout=15), f"real server {addr} did not start"
        loop = asyncio.new_event_loop()
        b = NftBackend(LvsSettings(), netns=director.ns, table="pkltest6")
        key = ServiceKey.inet(vip6, PORT)

        def requests(n: int) -> Counter[str]:
            p = client.run([sys.executable, "-c", CLIENT, vip6, str(PORT), str(n), "0"],
                           timeout=120)
            return Counter(name for _, name in json.loads(p.stdout))

        try:
            loop.run_until_complete(b.apply(LvsTable.build([(
                LvsService(key, "wrr", netmask=128),
                [LvsDest(rs6["rs1"], RS_PORT, 1), LvsDest(rs6["rs2"], RS_PORT, 3)])])))
            assert requests(40) == Counter({"rs1": 10, "rs2": 30})
            loop.run_until_complete(b.apply(LvsTable.build([(
                LvsService(key, "wrr", netmask=128), [LvsDest(rs6["rs1"], RS_PORT, 1)])])))
            assert requests(10) == Counter({"rs1": 10})
        finally:
            loop.run_until_complete(b.close())
            loop.close()


def test_direct_routing_with_fwd() -> None:
    vip = "10.73.1.200"
    rs = {"rs1": "10.73.1.11", "rs2": "10.73.1.12"}
    with Lab("pklndr") as lab:
        client = lab.add_host("cl", ["10.73.1.100/24"])
        director = lab.add_host("dir", ["10.73.1.1/24", f"{vip}/24"])
        for name, addr in rs.items():
            h = lab.add_host(name, [f"{addr}/24"])
            for key in ("all.arp_ignore=1", "all.arp_announce=2", "eth0.arp_ignore=1",
                        "eth0.arp_announce=2"):
                h.run(["sysctl", "-qw", f"net.ipv4.conf.{key}"])
            h.run(["ip", "addr", "add", f"{vip}/32", "dev", "lo"])
            h.popen([sys.executable, "-c", SERVER, name, "80", "0.0.0.0"])
        for addr in rs.values():
            assert wait_for(lambda a=addr: director.run(
                ["bash", "-c", f"exec 3<>/dev/tcp/{a}/80"], check=False).returncode == 0,
                timeout=15), f"real server {addr} did not start"
        loop = asyncio.new_event_loop()
        b = NftBackend(LvsSettings(), netns=director.ns, table="pkldr")
        key = ServiceKey.inet(vip, 80)

        def requests(n: int) -> Counter[str]:
            p = client.run([sys.executable, "-c", CLIENT, vip, "80", str(n), "0"], timeout=120)
            return Counter(name for _, name in json.loads(p.stdout))

        try:
            loop.run_until_complete(b.apply(LvsTable.build([(LvsService(key, "wrr"), [
                LvsDest(rs["rs1"], 80, 1, fwd=FwdMethod.DR),
                LvsDest(rs["rs2"], 80, 1, fwd=FwdMethod.DR)])])))
            ruleset = director.run(["nft", "list", "table", "netdev", "pkldr"]).stdout
            assert 'device "eth0"' in ruleset and "fwd ip to jhash" in ruleset, ruleset
            got = requests(40)
            # hashed per connection (client port): both get a share; 5 of 40 or fewer for one
            # of them has a probability of about 1e-6 with a fair hash
            assert set(got) == {"rs1", "rs2"} and min(got.values()) > 5, got
            loop.run_until_complete(b.apply(LvsTable.build([(LvsService(key, "wrr"), [
                LvsDest(rs["rs1"], 80, 1, fwd=FwdMethod.DR)])])))
            assert requests(10) == Counter({"rs1": 10})
        finally:
            loop.run_until_complete(b.close())
            loop.close()
        assert director.run(["nft", "list", "tables"]).stdout.strip() == ""
