"""The lease arbiter against a real three-member etcd (Debian's etcd-server) in namespaces.

Partitions are bridge filters in the lab's switch; etcd members run in their own namespaces
(the partition causes, self-fencing and its fence script are in test_splitbrain_cures.py).
Pinned here: a reload keeps the master and its key, a crashed master's key is taken only once
etcd freed it, a graceful stop revokes at once, a key already used by another cluster is
refused (not fought over), etcd unreachable at start is said and held, and a hung endpoint
costs request_timeout before the next one is asked. Timings against
the targets are measured by bench/splitbrain/run.py --takeover.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator

import pytest

from pykeepalived.lab import splitbrain as lsb
from pykeepalived.lab.cluster import Daemon, InstanceConf, render_config
from pykeepalived.lab.etcd import EtcdCluster, etcd_available
from pykeepalived.lab.measure import AddrMonitor, AdvertCapture
from pykeepalived.lab.netns import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(600)]

KEY = "/pykeepalived/sb/vi1"
TIMEOUT = 8.0  # request_timeout: far above the default 0.5 s plus a start and an election


@pytest.fixture(scope="module")
def sb() -> Iterator[lsb.SbLab]:
    if not etcd_available():
        pytest.fail("etcd is not installed (scripts/setup.sh installs etcd-server)")
    with lsb.sb_lab("pksbl", etcd=True) as lab:
        yield lab


@pytest.fixture(scope="module")
def etcd(sb: lsb.SbLab) -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(sb.etcd)
    cluster.start(fresh=True)
    yield cluster
    cluster.stop_all()


@pytest.fixture
def run(sb: lsb.SbLab) -> Iterator[lsb.Run]:
    r = lsb.Run(sb)
    yield r
    r.stop()


def test_graceful_stop_revokes_and_backup_takes_over_at_vrrp_speed(
        sb: lsb.SbLab, etcd: EtcdCluster, run: lsb.Run) -> None:
    v = lsb.VARIANTS["lease"]
    n1 = run.start("n1", "lan", v)
    assert lsb.settle_master(n1)
    n2 = run.start("n2", "lan", v)
    assert n2.wait_log(r"Entering BACKUP STATE", 10)
    time.sleep(0.5)
    t0 = time.monotonic()
    n1.stop()
    assert wait_for(lambda: n2.has_vip(lsb.VIP), 3)
    took = time.monotonic() - t0
    assert took < 1.0, took  # far below the 2 s lease: the stop revoked it
    assert "revoked" in n1.log_text()


def test_another_cluster_on_the_same_key_is_refused(sb: lsb.SbLab, etcd: EtcdCluster,
                                                    run: lsb.Run) -> None:
    v = lsb.VARIANTS["lease"]
    n1 = run.start("n1", "lan", v)
    assert lsb.settle_master(n1)
    other = InstanceConf(name="OTHER", vrid=77, priority=200, version=3, advert_int=lsb.A,
                         vips=(f"{lsb.NET}.201/24 dev eth0",), extra=(f"lease_key {KEY}",))
    conf = render_config("n2", [other], blocks=tuple(b.format() for b in v.blocks))
    d = Daemon(sb.n2, "py", conf)
    run.daemons["n2"] = d
    d.start()
    assert d.wait_log(r"another cluster uses this key; refusing it", 10), d.log_text()
    time.sleep(0.5)
    assert not d.has_vip(f"{lsb.NET}.201")
    assert n1.has_vip(lsb.VIP)
    assert '"n1"' in str((etcd.get(KEY) or {}).get("value"))


def test_reload_keeps_the_key_then_a_crash_waits_for_it(sb: lsb.SbLab, etcd: EtcdCluster,
                                                        run: lsb.Run) -> None:
    """HUP: the guards restart (old lease revoked, a new one granted) and the kept master
    takes its key again, the backup never claiming meanwhile. Then the master crashes: the
    backup claims only once etcd freed the dead master's key."""
    v = lsb.VARIANTS["lease"]
    n1 = run.start("n1", "lan", v)
    assert lsb.settle_master(n1)
    n2 = run.start("n2", "lan", v)
    assert n2.wait_log(r"Entering BACKUP STATE", 10)
    assert wait_for(lambda: '"n1"' in str((etcd.get(KEY) or {}).get("value")), 5)
    before = (etcd.get(KEY) or {}).get("lease")
    mark = n1.mark()
    n1.signal(1)  # SIGHUP
    assert n1.wait_log(r"Reload finished", 15, since=mark), n1.log_text()[-2000:]
    assert wait_for(lambda: (etcd.get(KEY) or {}).get("lease") not in (None, before), 5)
    assert '"n1"' in str((etcd.get(KEY) or {}).get("value"))
    assert n1.has_vip(lsb.VIP) and not n2.has_vip(lsb.VIP)
    assert "Entering MASTER STATE" not in n2.log_text()

    cap, mon = AdvertCapture(sb.n2), AddrMonitor(sb.n2)
    t0 = time.time()
    sb.n1.cut()
    n1.crash()
    assert wait_for(lambda: n2.has_vip(lsb.VIP), 6), n2.log_text()[-3000:]
    time.sleep(0.1)
    t = mon.first_add(lsb.VIP, t0)
    cap.finish()
    last = cap.last_from(f"{lsb.NET}.11", t or time.time(), 51)
    assert t is not None and last is not None
    took = t - last
    # not at Master_Down_Interval (0.36 s): the key of the dead master had to expire first.
    # Its 1 s etcd lease (the block's ttl 2) was last renewed up to ttl/3 before its last
    # advert, so the key is free 2/3 s to 1 s after that advert (the target,
    # max(MDI, ttl) + 0.1 s, is bench/splitbrain's)
    assert "    ttl 2\n" in lsb.LEASE_BLOCK
    assert took > 0.6, (took, n2.log_text()[-2000:])
    assert re.search(r"not claiming MASTER: .*lease key", n2.log_text())
    assert '"n2"' in str((etcd.get(KEY) or {}).get("value"))
    sb.n1.heal()


def test_a_hung_endpoint_costs_request_timeout_then_the_next_answers(
        sb: lsb.SbLab, etcd: EtcdCluster, run: lsb.Run) -> None:
    """endpoints are asked in turn, each for request_timeout: with the first member stopped
    (SIGSTOP: its kernel accepts the connection, nothing answers), the lease and the key come
    from the second only after request_timeout; the master then holds the key there."""
    hung, live = etcd.members[0], etcd.members[1]
    assert hung.proc is not None
    block = ("lease_arbiter {\n"
             f"    endpoints {hung.url} {live.url}\n"
             f"    ttl 2\n    on_etcd_down hold\n    request_timeout {TIMEOUT:g}\n}}")
    inst = InstanceConf(priority=200, version=3, advert_int=lsb.A,
                        vips=(f"{lsb.VIP}/24 dev eth0",), extra=(f"lease_key {KEY}",))
    d = Daemon(sb.n1, "py", render_config("n1", [inst], blocks=(block,)))
    run.daemons["n1"] = d
    os.killpg(hung.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        d.start()
        assert wait_for(lambda: d.has_vip(lsb.VIP), 3 * TIMEOUT), d.log_text()[-3000:]
        assert time.monotonic() - t0 > TIMEOUT
        assert '"n1"' in str((etcd.get(KEY, via=1) or {}).get("value"))
    finally:
        os.killpg(hung.proc.pid, signal.SIGCONT)
    etcd.wait_healthy()


def test_etcd_unreachable_at_start_is_said_and_held(sb: lsb.SbLab, etcd: EtcdCluster,
                                                    run: lsb.Run) -> None:
    etcd.stop_all()
    n1 = run.start("n1", "lan", lsb.VARIANTS["lease"])
    assert n1.wait_log(r"lease arbiter: etcd unreachable \(grant: .*on_etcd_down hold: "
                       r"masters keep their VIPs, backups do not claim", 10), n1.log_text()
    time.sleep(1.0)
    assert n1.running() and not n1.has_vip(lsb.VIP)
    assert "not claiming MASTER: etcd unreachable" in n1.log_text()
    etcd.start(fresh=False)
    assert wait_for(lambda: n1.has_vip(lsb.VIP), 10), n1.log_text()[-2000:]
