"""Observability never takes VRRP down: a crowd of hostile clients on the metrics listener
(a thousand silent connections, garbage, scrapers that never read, scrapers in a loop) gets
errors and closed connections, while the master's adverts leave on time.

Lab: master m (priority 150, VRRPv3, advert 0.1 s, metrics on its lab address), backup b
(priority 100: the witness that no false failover happens), attacker cl. The master's adverts
are captured on b's port (``tcpdump``) for a quiet window and for the flood window; the gaps
between them are compared with the configured interval.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config, stop_all
from pykeepalived.lab.measure import AdvertCapture
from pykeepalived.lab.netns import Lab, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(300)]

ADVERT = 0.1
VIP = "10.87.0.200"
M_ADDR = "10.87.0.11"
PORT = 9650
FLOOD = Path(__file__).with_name("flood_client.py")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with locked_lab("pkof") as lb:
        lb.add_host("m", [f"{M_ADDR}/24"])
        lb.add_host("b", ["10.87.0.12/24"])
        lb.add_host("cl", ["10.87.0.50/24"])
        yield lb


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def stalls(lab: Lab) -> float:
    """The VRRP child's stall counter, read from /metrics (which also proves it serves)."""
    text = lab.hosts["cl"].run(["curl", "-sf", f"http://{M_ADDR}:{PORT}/metrics"]).stdout
    assert 'keepalived_vrrp_state{iname="VI_1"' in text
    m = re.search(r'^keepalived_event_loop_stalls_total\{process="vrrp"\} (\S+)$', text, re.M)
    assert m is not None, text[-2000:]
    return float(m[1])


def window(lab: Lab, seconds: float, during: list[str] | None = None
           ) -> tuple[list[float], dict[str, int]]:
    """The master's advert gaps over ``seconds`` (with ``during`` run in cl meanwhile)."""
    cap = AdvertCapture(lab.hosts["b"])
    summary: dict[str, int] = {}
    try:
        if during is None:
            time.sleep(seconds)
        else:
            p = lab.hosts["cl"].run(during, timeout=seconds + 60)
            summary = json.loads(p.stdout.strip().splitlines()[-1])
    finally:
        adverts = cap.finish()
    times = [a.t for a in adverts if a.src == M_ADDR and a.prio == 150]
    assert len(times) > seconds / ADVERT * 0.5, f"{len(times)} adverts captured"
    return gaps(times), summary


def test_flooded_listener_keeps_adverts_on_time(lab: Lab) -> None:
    m, b = lab.hosts["m"], lab.hosts["b"]
    inst = InstanceConf(priority=150, version=3, advert_int=ADVERT, vips=(f"{VIP}/24",))
    dm = Daemon(m, "py", render_config("m", [inst],
                                       [f"pykeepalived_metrics_listen {M_ADDR}:{PORT}"]))
    db = Daemon(b, "py", render_config("b", [InstanceConf(priority=100, version=3,
                                                          advert_int=ADVERT,
                                                          vips=(f"{VIP}/24",))]))
    ds = [dm, db]
    try:
        dm.start()
        assert wait_for(lambda: dm.has_vip(VIP), 20), dm.log_text()[-3000:]
        db.start()
        assert db.wait_log(r"Entering BACKUP STATE", 20)
        assert dm.wait_log(r"Metrics and status on http://10\.87\.0\.11:9650/", 20)
        time.sleep(1.0)
        quiet, _ = window(lab, 5.0)
        stalls_before = stalls(lab)
        mark = db.mark()
        # The crowd runs at nice 19: on a real network it would not share this box's two
        # cores; what is measured is what the daemon's own listener and the kernel cost.
        flood, summary = window(lab, 8.0, ["nice", "-n", "19", sys.executable, str(FLOOD),
                                           M_ADDR, str(PORT), "8"])

        # the crowd got answers, errors or closed connections, not a hung listener
        # (silent ones are cut at the connection cap at once, or at the head timeout with 408)
        assert summary.get("held-open", 0) == 0, summary
        assert summary.get("held-closed", 0) + summary.get("held-answered", 0) == 1000, summary
        assert summary.get("scrape-200", 0) >= 10, summary
        assert sum(v for k, v in summary.items() if k.startswith("garbage-4")) >= 10, summary
        assert not [k for k in summary if k.startswith("garbage-2")], summary

        # the adverts: on time, and the backup never took over
        q99 = statistics.quantiles(quiet, n=100, method="inclusive")[98]
        f99 = statistics.quantiles(flood, n=100, method="inclusive")[98]
        print(f"advert gaps at {ADVERT} s: quiet max {max(quiet):.4f} p99 {q99:.4f}; "
              f"flood max {max(flood):.4f} p99 {f99:.4f} ({len(flood)} gaps); crowd {summary}")
        # no advert a whole interval late (a stall), and the crowd adds at most a quarter
        # interval to the 99th percentile of what the machine's own load gives
        assert max(flood) < 2 * ADVERT, (max(flood), max(quiet))
        assert f99 < q99 + ADVERT / 4, (f99, q99)
        assert "Entering MASTER STATE" not in db.log_since(mark)

        # and the listener still serves; the VRRP loop saw no stall during the flood
        assert stalls(lab) == stalls_before
    finally:
        stop_all(ds)
