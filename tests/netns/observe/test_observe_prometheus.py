"""A real Prometheus scrapes pykeepalived's /metrics in a lab: VRRP state across a failover
and the LVS table across a real server's death, read back through Prometheus's query API.

Topology (as the two-director test: one L2 segment, two subnets, the real servers' gateway
moves with the VIP): client-side 10.86.0.0/24, server side 10.86.1.0/24; directors d1
(priority 150) and d2 (100) run the whole pykeepalived (VRRP + checker, nftables data plane)
with ``pykeepalived_metrics_listen`` on their loopback; Prometheus runs in d2's namespace and
scrapes d2 every 0.5 s.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.director import Director
from pykeepalived.lab.netns import Host, Lab, wait_for
from pykeepalived.lab.prometheus import PrometheusServer, prometheus_available

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(not prometheus_available(),
                                 reason="Debian's prometheus is not installed (scripts/setup.sh)")]

VIP = "10.86.0.100"
GW = "10.86.1.254"
RS = {"rs1": "10.86.1.11", "rs2": "10.86.1.12"}
RS_PORT = 8080
LISTEN = "127.0.0.1:9650"

SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"""


def config(name: str, priority: int) -> str:
    rss = "".join(f"""
  real_server {addr} {RS_PORT} {{
    weight 2
    TCP_CHECK {{
      connect_timeout 1
      retry 0
    }}
  }}""" for addr in RS.values())
    return f"""
global_defs {{
  router_id {name}
  lvs_dataplane nftables
  pykeepalived_metrics_listen {LISTEN}
}}
vrrp_script chk_ok {{
  script "/bin/true"
  interval 1
}}
vrrp_instance VI_1 {{
  track_script {{
    chk_ok
  }}
  state BACKUP
  interface eth0
  virtual_router_id 86
  priority {priority}
  advert_int 0.5
  virtual_ipaddress {{
    {VIP}/24
    {GW}/24
  }}
}}
virtual_server {VIP} 80 {{
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
{rss}
}}
"""


DASHBOARD = Path(__file__).parents[2] / "fixtures" / "observe" / "keepalived-exporter-dashboard.tsv"


def dashboard_targets() -> list[tuple[str, str]]:
    lines = DASHBOARD.read_text().splitlines()
    return [(e, leg) for e, leg in (x.split("\t") for x in lines if not x.startswith("#"))]


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab("pkop") as lb:
        yield lb


def test_prometheus_sees_failover_and_real_server_death(lab: Lab, tmp_path: Path) -> None:
    hosts = [lab.add_host(n, [f"10.86.0.{i}/24", f"10.86.1.{i}/24"]) for n, i in
             (("d1", 1), ("d2", 2))]
    for h in hosts:
        h.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    servers: dict[str, Host] = {}
    for name, addr in RS.items():
        h = servers[name] = lab.add_host(name, [f"{addr}/24"])
        h.run(["ip", "route", "add", "default", "via", GW])
        h.popen([sys.executable, "-c", SERVER, addr, str(RS_PORT)])
        assert wait_for(lambda h=h: f":{RS_PORT}" in h.run(["ss", "-ltnH"]).stdout, 15)
    d1 = Director(hosts[0], tmp_path / "d1", config("d1", 150))
    d2 = Director(hosts[1], tmp_path / "d2", config("d2", 100))
    d1.start()
    assert wait_for(lambda: d1.has_address(VIP), 20), d1.text()
    d2.start()
    prom = PrometheusServer(hosts[1], str(tmp_path / "prom"), [LISTEN], interval=0.5)
    try:
        prom.start()
        rs = {n: f'keepalived_lvs_rs_up{{vip="{VIP}:80",addr="{a}:{RS_PORT}",proto="6"}}'
              for n, a in RS.items()}
        weight2 = f'keepalived_lvs_rs_weight{{addr="{RS["rs2"]}:{RS_PORT}"}}'
        state = 'keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="86",' \
                f'ip_address="{VIP}/24"}}'
        # d2 is BACKUP (1); both real servers healthy and in its table with weight 2
        assert prom.wait_value("keepalived_up", 1, 30), (prom.log_text(), d2.text())
        assert prom.wait_value(state, 1, 30), prom.query("keepalived_vrrp_state")
        for q in rs.values():
            assert prom.wait_value(q, 1, 20), prom.query("keepalived_lvs_rs_up")
        assert prom.wait_value(weight2, 2, 10)
        assert prom.value('up{job="keepalived"}') == 1

        # a real server dies: its health goes to 0 and it leaves the table (weight series gone)
        servers["rs2"].stop_procs()
        assert prom.wait_value(rs["rs2"], 0, 15), prom.query("keepalived_lvs_rs_up")
        assert prom.value(rs["rs1"]) == 1
        assert wait_for(lambda: prom.query(weight2) == [], 10, interval=0.25)
        fails = prom.value(f'keepalived_lvs_rs_check_failures_total{{addr="{RS["rs2"]}:'
                           f'{RS_PORT}"}}')
        assert fails is not None and fails >= 1
        back = prom.history(rs["rs2"], 60)
        assert back[0][1][0][1] == 1 and back[0][1][-1][1] == 0  # stored: 1, ..., 0

        # failover: d1 stops, d2 takes over; Prometheus stored 1 (BACKUP) then 2 (MASTER)
        assert d1.stop() == 0, d1.text()
        assert wait_for(lambda: d2.has_address(VIP), 10), d2.text()
        assert prom.wait_value(state, 2, 15), prom.query("keepalived_vrrp_state")
        ((_labels, samples),) = prom.history(state, 120)
        values = [v for _, v in samples]
        assert values[0] == 1 and values[-1] == 2, values
        first2 = values.index(2)
        assert set(values[:first2]) == {1} and set(values[first2:]) == {2}, values
        assert prom.value('keepalived_become_master_total{iname="VI_1"}') == 1
        assert prom.value('keepalived_vrrp_last_transition_info{iname="VI_1",to_state="MASTER"}'
                          ) == 1
        prio0 = prom.value('keepalived_priority_zero_received_total{iname="VI_1"}')
        assert prio0 is not None and prio0 >= 1  # d1's graceful stop

        # every panel of keepalived-exporter's Grafana dashboard has data, as Grafana would
        # ask for it (its $instance and $__rate_interval filled in)
        for expr, _legend in dashboard_targets():
            if "keepalived_exporter_check_script_status" in expr:
                continue  # the exporter's own ping-the-VIP script: not keepalived's data
            q = expr.replace("$instance", LISTEN).replace("$__rate_interval", "10s")
            assert prom.query(q), q
    finally:
        prom.stop()
        for d in (d1, d2):
            d.kill()
