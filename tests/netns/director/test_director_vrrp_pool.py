"""Two directors running the whole pykeepalived (VRRP + checker, nftables data plane): VRRP
moves the VIP between them and the pool follows.

Topology (one L2 segment, two subnets, so the real servers' replies come back through the
active director, as with IPVS NAT): client 10.97.0.50/24; directors d1 (10.97.0.1, 10.97.1.1)
and d2 (.2), both forwarding; one vrrp_instance carries the service VIP 10.97.0.100 and the
real servers' gateway 10.97.1.254, so both move together; real servers 10.97.1.11-13 answer
HTTP with their name. Each director runs its own HTTP_GET checkers and keeps its own nftables
table up to date, master or not, so whichever holds the VIP serves the healthy pool.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.director import Director as LabDirector
from pykeepalived.lab.netns import Host, Lab, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(240)]

VIP = "10.97.0.100"
GW = "10.97.1.254"
RS = {"rs1": "10.97.1.11", "rs2": "10.97.1.12", "rs3": "10.97.1.13"}
RS_PORT = 8080
DELAY_LOOP, RETRY, CONNECT_TIMEOUT = 1, 0, 1
# the longest a dead real server may stay (delay_loop × (retry + 1) + connect_timeout), plus
# slack for two busy cores
REMOVAL_BOUND = DELAY_LOOP * (RETRY + 1) + CONNECT_TIMEOUT + 2.0

SERVER = """
import http.server, sys
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
S((sys.argv[2], int(sys.argv[3])), H).serve_forever()
"""

CLIENT = """
import json, socket, sys, time
vip, port, n, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = []
for _ in range(n):
    t = time.monotonic()
    try:
        s = socket.create_connection((vip, port), timeout=3)
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        s.close()
        out.append((t, data.split(b"\\r\\n\\r\\n", 1)[1].decode()))
    except OSError as e:
        out.append((t, "ERR:" + type(e).__name__))
    time.sleep(pause)
print(json.dumps(out))
"""


def requests(client: Host, n: int, port: int = 80, pause: float = 0.0) -> Counter[str]:
    """Names of the servers that answered ``n`` new connections to the VIP (or ERR:...)."""
    p = client.run([sys.executable, "-c", CLIENT, VIP, str(port), str(n), str(pause)],
                   timeout=120)
    return Counter(name for _, name in json.loads(p.stdout))


def config(name: str, priority: int, dataplane: str | None = "nftables") -> str:
    rss = "".join(f"""
  real_server {addr} {RS_PORT} {{
    weight 1
    HTTP_GET {{
      url {{
        path /
        status_code 200
      }}
      connect_timeout {CONNECT_TIMEOUT}
      retry {RETRY}
    }}
  }}""" for addr in RS.values())
    dp = f"lvs_dataplane {dataplane}" if dataplane else "# lvs_dataplane: default auto"
    return f"""
global_defs {{
  router_id {name}
  {dp}
}}
vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 97
  priority {priority}
  advert_int 1
  virtual_ipaddress {{
    {VIP}/24
    {GW}/24
  }}
}}
virtual_server {VIP} 80 {{
  delay_loop {DELAY_LOOP}
  lb_algo rr
  lb_kind NAT
  protocol TCP
{rss}
}}
"""


class Director(LabDirector):
    """The lab's director, with this topology's checks on its VIP and pool."""

    def has_vip(self) -> bool:
        out = self.host.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
        return f"inet {VIP}/" in out and f"inet {GW}/" in out

    def pool(self, vip: str = VIP, port: int = 80,
             servers: dict[str, str] = RS) -> set[str]:
        """The servers the director's data plane currently sends new connections to."""
        rule = next((line for line in self.ruleset().splitlines()
                     if f"ip daddr {vip} tcp dport {port} " in line), "")
        return {name for name, addr in servers.items()
                if re.search(rf"\b{re.escape(addr)}\b", rule)}

    def connections(self) -> int:
        """Connections this director's NAT rule has balanced (its named counter)."""
        r = self.host.run(["nft", "list", "counters", "table", "inet", "pykeepalived"],
                          check=False)
        return sum(int(n) for n in re.findall(r"packets (\d+)", r.stdout))


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab("pka") as lb:
        yield lb


def test_vip_moves_between_two_directors_and_the_pool_follows(lab: Lab, tmp_path: Path) -> None:
    client = lab.add_host("cl", ["10.97.0.50/24"])
    hosts = [lab.add_host(n, [f"10.97.0.{i}/24", f"10.97.1.{i}/24"]) for n, i in
             (("d1", 1), ("d2", 2))]
    for h in hosts:
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
                    "net.ipv4.conf.eth0.send_redirects=0"):
            h.run(["sysctl", "-qw", key])
    servers: dict[str, Host] = {}
    for name, addr in RS.items():
        h = lab.add_host(name, [f"{addr}/24"])
        h.run(["ip", "route", "add", "default", "via", GW])
        servers[name] = h

    def serve(name: str) -> None:
        servers[name].popen([sys.executable, "-c", SERVER, name, RS[name], str(RS_PORT)])
        assert wait_for(lambda: f":{RS_PORT}" in servers[name].run(
            ["ss", "-ltnH"], check=False).stdout, 15), name

    def fetch(n: int) -> Counter[str]:
        return requests(client, n)

    for name in RS:
        serve(name)
    d1 = Director(hosts[0], tmp_path / "d1", config("d1", 150))
    # d2 leaves lvs_dataplane at its default, auto: no IPVS in this kernel -> nftables
    d2 = Director(hosts[1], tmp_path / "d2", config("d2", 100, dataplane=None))
    directors = [d1, d2]
    d1.start()
    d2.start()
    try:
        # d1 is master, both data planes hold the three real servers
        assert wait_for(d1.has_vip, 20), d1.text()
        # (both start as BACKUP; on a busy machine d2 may win the first election for a moment)
        assert wait_for(lambda: not d2.has_vip(), 10), d2.text()
        for d in directors:
            assert wait_for(lambda d=d: d.pool() == set(RS), 15), (d.ruleset(), d.text())
        got = fetch(30)
        assert set(got) == set(RS), got  # every real server, no error
        assert d1.connections() >= 30 and d2.connections() == 0
        # auto without IPVS: nftables with one clear line (and VRRP kept running)
        assert d2.text().count("IPVS is not available in this kernel: virtual servers use "
                               "the nftables data plane") == 1, d2.text()
        assert "IPVS is not available" not in d1.text()

        # a real server dies: both directors' checkers take it out of their pools
        servers["rs3"].stop_procs()
        for d in directors:
            assert wait_for(lambda d=d: d.pool() == {"rs1", "rs2"}, REMOVAL_BOUND), d.text()
        got = fetch(20)
        assert set(got) == {"rs1", "rs2"}, got

        # d1 stops: VRRP moves the VIP (and the real servers' gateway) to d2, whose pool has
        # followed the failure all along; d1 removes its VIPs and its nftables table
        assert d1.stop() == 0, d1.text()
        assert wait_for(d2.has_vip, 5), d2.text()
        assert not d1.has_vip() and d1.ruleset() == ""
        before = d2.connections()
        got = fetch(20)
        assert set(got) == {"rs1", "rs2"}, got
        assert d2.connections() - before >= 20

        # the real server comes back: d2 (now serving) adds it, traffic reaches it again
        serve("rs3")
        assert wait_for(lambda: d2.pool() == set(RS), REMOVAL_BOUND), d2.text()
        got = fetch(30)
        assert set(got) == set(RS), got

        # d1 returns with the higher priority: it preempts, with its own fresh pool
        d1.start()
        assert wait_for(d1.has_vip, 15), d1.text()
        assert wait_for(lambda: not d2.has_vip(), 5), d2.text()
        assert wait_for(lambda: d1.pool() == set(RS), 10), d1.ruleset()
        before = d1.connections()
        got = fetch(30)
        assert set(got) == set(RS), got
        assert d1.connections() - before >= 30
    finally:
        for d in directors:
            d.kill()


SORRY = {"sorry": "10.97.1.20"}


def shares(got: Counter[str], want: dict[str, int]) -> bool:
    """No failed request, only the expected servers, each within ±1 of its weighted share
    (numgen over the weighted slots is exact per round; the margin is for a busy machine)."""
    return set(got) == set(want) and all(abs(got[k] - v) <= 1 for k, v in want.items())


def checker_config(script: Path, fifo: Path) -> str:
    check = (f"connect_timeout {CONNECT_TIMEOUT}\n      retry 1\n      delay_before_retry 1")

    def rs(name: str, weight: int, extra: str = "") -> str:
        return f"""
  real_server {RS[name]} {RS_PORT} {{
    weight {weight}
    {extra}
    notify_up "{script} up {name}"
    notify_down "{script} down {name}"
    HTTP_GET {{
      url {{
        path /
        status_code 200
      }}
      {check}
    }}
  }}"""
    return f"""
global_defs {{
  router_id pkadir
  lvs_dataplane nftables
  lvs_notify_fifo {fifo}
  notification_email {{
    ops@example.test
  }}
  notification_email_from pka@example.test
  smtp_server 127.0.0.1 2525
  smtp_alert_checker
}}
virtual_server {VIP} 80 {{
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
{rs("rs1", 1)}{rs("rs2", 2)}{rs("rs3", 3, "inhibit_on_failure")}
}}
virtual_server {VIP} 82 {{
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 2
  quorum_up "{script} quorum_up"
  quorum_down "{script} quorum_down"
  sorry_server {SORRY["sorry"]} {RS_PORT}
{rs("rs1", 1).replace("notify_", "#notify_")}{rs("rs2", 1).replace("notify_", "#notify_")}
}}
"""


def test_checker_drives_the_nftables_pool_under_client_traffic(lab: Lab, tmp_path: Path) -> None:
    """The Proof scenarios end to end in namespaces: the daemon's own checkers and its nftables
    data plane, with a client sending real requests to the VIP through the director."""
    client = lab.add_host("cl", ["10.97.0.50/24"])
    dh = lab.add_host("d1", ["10.97.0.1/24", f"{VIP}/24", "10.97.1.1/24", f"{GW}/24"])
    for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
                "net.ipv4.conf.eth0.send_redirects=0"):
        dh.run(["sysctl", "-qw", key])
    servers: dict[str, Host] = {}
    for name, addr in {**RS, **SORRY}.items():
        h = lab.add_host(name, [f"{addr}/24"])
        h.run(["ip", "route", "add", "default", "via", GW])
        servers[name] = h

    def serve(name: str) -> None:
        addr = {**RS, **SORRY}[name]
        servers[name].popen([sys.executable, "-c", SERVER, name, addr, str(RS_PORT)])
        assert wait_for(lambda: f":{RS_PORT}" in servers[name].run(
            ["ss", "-ltnH"], check=False).stdout, 15), name

    for name in (*RS, *SORRY):
        serve(name)
    events = tmp_path / "events.log"
    script = tmp_path / "notify.sh"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {events}\n")
    script.chmod(0o755)
    fifo = tmp_path / "lvs.fifo"
    os.mkfifo(fifo, 0o600)
    fifo_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fifo_lines: list[str] = []

    def fifo_has(line: str) -> bool:
        try:
            fifo_lines.extend(os.read(fifo_fd, 65536).decode().splitlines())
        except BlockingIOError:
            pass
        return line in fifo_lines

    def events_has(line: str) -> bool:
        return events.exists() and line in events.read_text().splitlines()

    # an SMTP server in the director's namespace that prints every message it receives
    mail = tmp_path / "mail.txt"
    with open(mail, "wb") as out:
        dh.popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:2525"],
                 stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert wait_for(lambda: ":2525" in dh.run(["ss", "-ltnH"], check=False).stdout, 15)

    def mailed(subject: str) -> bool:
        return f"Subject: {subject}" in mail.read_text(errors="replace")

    d = Director(dh, tmp_path / "d1", checker_config(script, fifo))
    d.start()
    try:
        assert wait_for(lambda: d.pool() == set(RS), 20), (d.ruleset(), d.text())
        assert wait_for(lambda: d.pool(port=82) == {"rs1", "rs2"}, 5), d.ruleset()

        # weights 1:2:3 (wrr as numgen over 6 slots: exact per block of 6 connections)
        got = requests(client, 60)
        assert shares(got, {"rs1": 10, "rs2": 20, "rs3": 30}), got

        # rs1 dies under client traffic: it leaves the data plane within the bound and no
        # request fails after that
        bound = 1 * (1 + 1) + CONNECT_TIMEOUT
        load = client.popen([sys.executable, "-c", CLIENT, VIP, "80", "120", "0.05"],
                            stdout=subprocess.PIPE)

        time.sleep(1.0)
        servers["rs1"].stop_procs()
        died = time.monotonic()
        assert wait_for(lambda: "rs1" not in d.pool(), bound + 3), d.text()
        removed = time.monotonic()
        assert removed - died <= bound + 1.5, removed - died  # slack: two busy cores
        print(f"rs1 left the nftables data plane {removed - died:.2f} s after its death "
              f"(bound {bound} s)")
        load_out, _ = load.communicate(timeout=60)
        after = [name for t, name in json.loads(load_out) if t > removed]
        assert len(after) > 20 and set(after) <= {"rs2", "rs3"}, Counter(after)
        assert wait_for(lambda: events_has("down rs1"), 3), d.text()
        assert wait_for(lambda: fifo_has(f"RS [{RS['rs1']}]:tcp:{RS_PORT} [{VIP}]:tcp:80 DOWN"),
                        3), fifo_lines
        # VS :82 lost quorum (1 < 2): the sorry server alone, quorum_down ran
        assert wait_for(lambda: d.pool(port=82, servers=SORRY) == {"sorry"}
                        and d.pool(port=82) == set(), 3), d.ruleset()
        assert wait_for(lambda: events_has("quorum_down"), 3)
        assert wait_for(lambda: fifo_has(f"VS [{VIP}]:tcp:82 DOWN"), 3), fifo_lines
        # smtp_alert_checker: the checker event is mailed
        assert wait_for(lambda: mailed(f"[pkadir] Realserver [{RS['rs1']}]:tcp:{RS_PORT} of "
                                       f"virtual server [{VIP}]:tcp:80 - DOWN"), 5), \
            mail.read_text(errors="replace")
        assert requests(client, 10, port=82) == Counter({"sorry": 10})

        # rs1 heals: back in both services, the sorry server leaves, quorum_up ran
        serve("rs1")
        assert wait_for(lambda: d.pool() == set(RS), 6), d.text()
        assert wait_for(lambda: d.pool(port=82) == {"rs1", "rs2"}
                        and not d.pool(port=82, servers=SORRY), 3), d.ruleset()
        assert wait_for(lambda: events_has("up rs1") and events_has("quorum_up"), 3)
        assert wait_for(lambda: fifo_has(f"VS [{VIP}]:tcp:82 UP"), 3), fifo_lines
        assert wait_for(lambda: mailed(f"[pkadir] Realserver [{RS['rs1']}]:tcp:{RS_PORT} of "
                                       f"virtual server [{VIP}]:tcp:80 - UP"), 5), \
            mail.read_text(errors="replace")
        got = requests(client, 60)
        assert shares(got, {"rs1": 10, "rs2": 20, "rs3": 30}), got
        assert requests(client, 10, port=82) == Counter({"rs1": 5, "rs2": 5})

        # rs3 (inhibit_on_failure) dies: kept at weight 0, no new connection reaches it
        servers["rs3"].stop_procs()
        assert wait_for(lambda: "rs3" not in d.pool(), bound + 3), d.text()
        assert f"Disabling service [{RS['rs3']}]:tcp:{RS_PORT} from VS [{VIP}]:tcp:80" \
            in d.text()
        assert f"Removing service [{RS['rs3']}]" not in d.text()
        got = requests(client, 30)
        assert shares(got, {"rs1": 10, "rs2": 20}), got
    finally:
        if d.proc is not None and d.proc.poll() is None:
            assert d.stop() == 0, d.text()
        os.close(fifo_fd)
    assert d.ruleset() == ""  # the default stop removes the data plane's table
