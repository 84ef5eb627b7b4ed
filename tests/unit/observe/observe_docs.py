"""Status documents built by the real view functions, shared by the observe unit tests."""

from __future__ import annotations

from typing import Any

from pykeepalived.check.virtual_server import CheckId, CheckOutcome, Pool
from pykeepalived.config.model import RealServer, TcpCheck, VirtualServer
from pykeepalived.daemon.dumps import InstanceSnapshot, Stats
from pykeepalived.lvs.backend import Counters, DestStats, LvsStats
from pykeepalived.lvs.table import LvsTable
from pykeepalived.observe.lvs_view import CheckMeters, lvs_document
from pykeepalived.observe.meters import Events, StallMeter
from pykeepalived.observe.vrrp_view import (
    InstanceMeters,
    instance_status,
    process_status,
    vrrp_document,
)


def snapshot(name: str = "VI_1", state: str = "MASTER", **kw: Any) -> InstanceSnapshot:
    base: dict[str, Any] = dict(
        name=name, vrid=51, version=3, family=4, interface="eth0", state=state,
        wantstate=state, base_priority=150, effective_priority=140, master_priority=0,
        adver_int=0.1, master_adver_int=0.1, last_transition=0.0,
        vips=["10.0.0.200/24 dev eth0 scope global", "10.0.0.201/32 dev eth1 scope global"],
        evips=["192.0.2.1/32 dev eth0 scope global"], master_down_interval=0.341,
        src_ip="10.0.0.11", stats=Stats(advert_sent=7, advert_rcvd=3, become_master=1,
                                         auth_failure=2, pri_zero_sent=1))
    base.update(kw)
    return InstanceSnapshot(**base)


def vrrp_doc(state: str = "MASTER") -> dict[str, Any]:
    m = InstanceMeters()
    m.changed("BACKUP", state, "master down timer expired", 1_700_000_000.0)
    m.timing.received(1.0, 10)  # v3: 10 cs
    m.timing.received(1.3, 10)  # late
    stall = StallMeter(0.1)
    stall.timer_ran(5.0, 5.25)
    base = process_status("vrrp", 1_699_999_000.0, stall=stall, events=Events(),
                          notify={"runs": 4, "failures": 1, "timeouts": 1})
    insts = [instance_status(snapshot(state=state), m, 0.2 if state == "BACKUP" else None),
             instance_status(snapshot("VI_2", "BACKUP", vrid=52, vips=[], evips=[]), None, 0.3)]
    scripts = [{"name": "chk_ok", "status": "GOOD", "state": "idle", "disabled": False,
                "runs": 3},
               {"name": "chk_bad", "status": "BAD", "state": "running", "disabled": False,
                "runs": 3}]
    return vrrp_document(base, insts, scripts)


def lvs_pool() -> Pool:
    chk = TcpCheck(delay_loop=1.0, retry=0, delay_before_retry=1.0, connect_timeout=1.0,
                   warmup=0.0)
    rss = tuple(RealServer(ip=f"10.0.1.{n}", port=8080, checkers=(chk,)) for n in (1, 2))
    return Pool([VirtualServer(ip="10.0.0.100", port=80, lb_algo="rr", real_servers=rss)], [],
                rng=lambda: 0.0)


def lvs_doc(plane: str = "nftables", kill: bool = True) -> dict[str, Any]:
    """Two real servers; 10.0.1.2's check fails when ``kill``."""
    pool = lvs_pool()
    pool.start(0.0)
    meters = CheckMeters()
    for now in (0.0, 1.0, 2.0, 3.0):
        for cid in pool.due_checks(now):
            ok = not (kill and cid.rs.startswith("[10.0.1.2]"))
            meters.ran(cid.vs, cid.rs, cid.index, "TCP_CHECK", 0.003, ok)
            pool.report(cid, CheckOutcome(ok=ok), now)
    meters.late = 3
    table: LvsTable = pool.table()
    key = next(iter(table.services))
    dest_key = next(iter(table.services[key].dests))
    stats = LvsStats({key: Counters(conns=12, inpkts=100, outpkts=90, inbytes=5000,
                                    outbytes=9000)},
                     {(key, dest_key): DestStats(Counters(conns=12, inpkts=100), 2, 3)}
                     if plane == "ipvs" else {})
    base = process_status("checker", 1_699_999_000.0, stall=StallMeter(), events=Events())
    return lvs_document(base, pool.snapshot(), table, stats, meters, plane, True)


__all__ = ["CheckId", "lvs_doc", "snapshot", "vrrp_doc"]
