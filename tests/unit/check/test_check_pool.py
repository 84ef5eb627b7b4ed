"""check.virtual_server.Pool on a virtual clock: one test per pool rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pykeepalived.check.virtual_server import (
    Action,
    CheckId,
    CheckOutcome,
    Log,
    Pool,
    RsStateChange,
    RunScript,
    VsStateChange,
)
from pykeepalived.config.model import (
    HttpGet,
    MiscCheck,
    NotifyScript,
    RealServer,
    SorryServer,
    TcpCheck,
    VirtualServer,
    VirtualServerGroup,
    VsgEntry,
)
from pykeepalived.lvs.table import DestKey, FwdMethod, ServiceFlag, ServiceKey

VIP = "10.0.0.100"
KEY = ServiceKey.inet(VIP, 80)


def tcp(**kw: object) -> TcpCheck:
    base: dict[str, object] = {"delay_loop": 2.0, "retry": 1, "delay_before_retry": 1.0,
                               "connect_timeout": 1.0, "warmup": 0.0}
    base.update(kw)
    return TcpCheck(**base)  # type: ignore[arg-type]


def rs(n: int, *checkers: object, **kw: object) -> RealServer:
    return RealServer(ip=f"10.0.1.{n}", port=8080,
                      checkers=checkers or (tcp(),), **kw)  # type: ignore[arg-type]


def vs(*rss: RealServer, **kw: object) -> VirtualServer:
    kw.setdefault("lb_algo", "rr")
    return VirtualServer(ip=VIP, port=80, real_servers=rss, **kw)  # type: ignore[arg-type]


class Sim:
    """Drives a Pool with a virtual clock; ``health[(rs ip)]`` decides probe results."""

    def __init__(self, pool: Pool, probe: Callable[[CheckId, float], CheckOutcome] | None = None,
                 duration: float = 0.0) -> None:
        self.pool = pool
        self.now = 0.0
        self.health: dict[str, bool] = {}
        self.weights: dict[str, int | None] = {}
        self.actions: list[tuple[float, Action]] = []
        self.probe = probe or self._probe
        self.duration = duration
        self.pending: list[tuple[float, CheckId]] = []
        self.runs: list[tuple[float, CheckId]] = []
        self.actions += [(0.0, a) for a in pool.start(0.0)]

    def _probe(self, cid: CheckId, now: float) -> CheckOutcome:
        ip = cid.rs.split("]")[0][1:]
        return CheckOutcome(self.health.get(ip, True), weight=self.weights.get(ip))

    def run_until(self, t: float) -> None:
        while True:
            cands = [x for x in (self.pool.next_timer(),) if x is not None]
            cands += [p[0] for p in self.pending]
            nxt = min(cands, default=None)
            if nxt is None or nxt > t:
                break
            self.now = max(self.now, nxt)
            for when, cid in [p for p in self.pending if p[0] <= self.now]:
                self.pending.remove((when, cid))
                res = self.probe(cid, self.now)
                self.actions += [(self.now, a) for a in self.pool.report(cid, res, self.now)]
            for cid in self.pool.due_checks(self.now):
                self.runs.append((self.now, cid))
                self.pending.append((self.now + self.duration, cid))
        self.now = t

    def logs(self) -> list[str]:
        return [a.text for _, a in self.actions if isinstance(a, Log)]

    def of(self, kind: type) -> list[object]:
        return [a for _, a in self.actions if isinstance(a, kind)]

    def weights_in_table(self) -> dict[str, int]:
        return {d.addr: d.weight for d in self.pool.table().dests(KEY).values()}


def test_all_alive_at_start_and_quorum_gained() -> None:
    s = Sim(Pool([vs(rs(1), rs(2))]))
    assert s.weights_in_table() == {"10.0.1.1": 1, "10.0.1.2": 1}
    assert "Gained quorum 1+0=1 <= 2 for VS [10.0.0.100]:tcp:80" in s.logs()
    assert not s.of(RunScript)  # no notifies at start


def test_failure_retries_then_removal_with_keepalived_phrases() -> None:
    # delay_loop 2, retry 2, delay_before_retry 1: checks at 0,2,...; dies at 9.5
    s = Sim(Pool([vs(rs(1, tcp(retry=2)), rs(2))]))
    s.run_until(9.5)
    s.health["10.0.1.1"] = False
    s.run_until(11.9)
    assert "10.0.1.1" in s.weights_in_table()  # failed at 10 and 11: still retrying
    s.run_until(12.0)
    assert "10.0.1.1" not in s.weights_in_table()
    logs = s.logs()
    assert "TCP_CHECK on service [10.0.1.1]:tcp:8080 failed after 2 retries." in logs
    assert "Removing service [10.0.1.1]:tcp:8080 from VS [10.0.0.100]:tcp:80" in logs
    fails = [t for t, c in s.runs if c.rs.startswith("[10.0.1.1]") and t >= 9.5]
    assert fails[:3] == [10.0, 11.0, 12.0]
    # the longest a dead real server may stay: delay_loop × (retry + 1) + connect_timeout
    assert 12.0 - 9.5 <= 2.0 * 3 + 1.0
    # comes back at the next check after it heals
    s.health["10.0.1.1"] = True
    s.run_until(14.0)
    assert s.weights_in_table()["10.0.1.1"] == 1
    assert "TCP connection to [10.0.1.1]:tcp:8080 success." in s.logs()


def test_down_checker_is_not_retried_just_rechecked() -> None:
    s = Sim(Pool([vs(rs(1, tcp(retry=3, delay_loop=5.0)))]))
    s.health["10.0.1.1"] = False
    s.run_until(3.1)  # 0,1,2,3 -> down at 3
    assert s.weights_in_table() == {}
    s.run_until(20.0)
    times = [t for t, _ in s.runs]
    assert times == [0.0, 1.0, 2.0, 3.0, 8.0, 13.0, 18.0]


def test_retry_zero_fails_at_once() -> None:
    s = Sim(Pool([vs(rs(1, tcp(retry=0)), rs(2))]))
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    assert "TCP_CHECK on service [10.0.1.1]:tcp:8080 failed." in s.logs()


def test_alpha_starts_down_until_first_success() -> None:
    s = Sim(Pool([vs(rs(1, tcp(alpha=True, warmup=4.0)))], rng=lambda: 0.5))
    assert s.weights_in_table() == {}
    s.run_until(1.9)
    assert s.weights_in_table() == {}
    s.run_until(2.0)  # warmup 4 × rng 0.5
    assert s.weights_in_table() == {"10.0.1.1": 1}
    assert "Adding service [10.0.1.1]:tcp:8080 to VS [10.0.0.100]:tcp:80" in s.logs()


def test_warmup_defaults_to_delay_loop_spread() -> None:
    s = Sim(Pool([vs(rs(1, tcp(warmup=None, delay_loop=10.0)))], rng=lambda: 0.25))
    s.run_until(30.0)
    assert [t for t, _ in s.runs][:3] == [2.5, 12.5, 22.5]


def test_all_checkers_of_a_server_must_pass() -> None:
    misc = MiscCheck(script=NotifyScript(("/bin/true",)), delay_loop=2.0, retry=0, warmup=0.0)
    s = Sim(Pool([vs(rs(1, tcp(), misc), rs(2))]),
            probe=lambda cid, now: CheckOutcome(not (cid.index == 1 and now >= 4)))
    s.run_until(3.0)
    assert "10.0.1.1" in s.weights_in_table()
    s.run_until(4.0)
    assert "10.0.1.1" not in s.weights_in_table()
    assert "10.0.1.2" in s.weights_in_table()


def test_inhibit_on_failure_keeps_weight_zero() -> None:
    s = Sim(Pool([vs(rs(1, tcp(retry=0), weight=3, inhibit_on_failure=True), rs(2))]))
    assert s.weights_in_table()["10.0.1.1"] == 3
    s.health["10.0.1.1"] = False
    s.run_until(2.0)
    assert s.weights_in_table()["10.0.1.1"] == 0
    assert "Disabling service [10.0.1.1]:tcp:8080 from VS [10.0.0.100]:tcp:80" in s.logs()
    s.health["10.0.1.1"] = True
    s.run_until(4.0)
    assert s.weights_in_table()["10.0.1.1"] == 3
    assert "Enabling service [10.0.1.1]:tcp:8080 to VS [10.0.0.100]:tcp:80" in s.logs()


def test_notify_up_down_and_fifo_lines() -> None:
    up, down = NotifyScript(("/n", "up")), NotifyScript(("/n", "down"))
    s = Sim(Pool([vs(rs(1, tcp(retry=0), notify_up=up, notify_down=down), rs(2))]))
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    s.health["10.0.1.1"] = True
    s.run_until(2.0)
    assert [a.script for a in s.of(RunScript)] == [down, up]  # type: ignore[attr-defined]
    assert ("Executing [/n down] for service [10.0.1.1]:tcp:8080 in VS [10.0.0.100]:tcp:80"
            in s.logs())
    assert [a.line for a in s.of(RsStateChange)] == [  # type: ignore[attr-defined]
        "RS [10.0.1.1]:tcp:8080 [10.0.0.100]:tcp:80 DOWN",
        "RS [10.0.1.1]:tcp:8080 [10.0.0.100]:tcp:80 UP",
    ]


def test_rs_init_notifies() -> None:
    s = Sim(Pool([vs(rs(1), rs(2, tcp(alpha=True)))], rs_init_notifies=True))
    assert [a.line for a in s.of(RsStateChange)] == [  # type: ignore[attr-defined]
        "RS [10.0.1.1]:tcp:8080 [10.0.0.100]:tcp:80 UP",
        "RS [10.0.1.2]:tcp:8080 [10.0.0.100]:tcp:80 DOWN",
    ]


def test_quorum_hysteresis_sorry_server_and_notifies() -> None:
    qup, qdown = NotifyScript(("/q", "up")), NotifyScript(("/q", "down"))
    v = vs(rs(1, tcp(retry=0)), rs(2, tcp(retry=0)), rs(3, tcp(retry=0)), quorum=2,
           hysteresis=1, quorum_up=qup, quorum_down=qdown,
           sorry_server=SorryServer("10.0.9.9", 80))
    s = Sim(Pool([v]))
    assert "Gained quorum 2+1=3 <= 3 for VS [10.0.0.100]:tcp:80" in s.logs()
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    assert set(s.weights_in_table()) == {"10.0.1.2", "10.0.1.3"}  # 2 >= 2-1: quorum kept
    s.health["10.0.1.2"] = False
    s.run_until(2.0)
    assert s.pool.quorum_up(v.key)  # 1 is not < 1
    s.health["10.0.1.3"] = False
    s.run_until(4.0)
    assert "Lost quorum 2-1=1 > 0 for VS [10.0.0.100]:tcp:80" in s.logs()
    assert s.weights_in_table() == {"10.0.9.9": 1}
    assert "Adding sorry server [10.0.9.9]:tcp:80 to VS [10.0.0.100]:tcp:80" in s.logs()
    s.health["10.0.1.1"] = s.health["10.0.1.2"] = True
    s.run_until(6.0)
    # 2 alive < 2+1: still the sorry server alone
    assert s.weights_in_table() == {"10.0.9.9": 1}
    s.health["10.0.1.3"] = True
    s.run_until(8.0)
    assert set(s.weights_in_table()) == {"10.0.1.1", "10.0.1.2", "10.0.1.3"}
    assert "Removing sorry server [10.0.9.9]:tcp:80 from VS [10.0.0.100]:tcp:80" in s.logs()
    assert [a.event for a in s.of(RunScript)] == ["quorum_down", "quorum_up"]  # type: ignore[attr-defined]
    assert "Executing [/q down] for VS [10.0.0.100]:tcp:80" in s.logs()
    vs_lines = [a.line for a in s.of(VsStateChange)]  # type: ignore[attr-defined]
    assert vs_lines == ["VS [10.0.0.100]:tcp:80 DOWN", "VS [10.0.0.100]:tcp:80 UP"]


def test_sorry_server_inhibit_sits_at_weight_zero() -> None:
    v = vs(rs(1, tcp(retry=0)), sorry_server=SorryServer("10.0.9.9", 0, inhibit=True,
                                                         lvs_method="DR"))
    s = Sim(Pool([v]))
    assert s.weights_in_table() == {"10.0.1.1": 1, "10.0.9.9": 0}
    sorry = s.pool.table().dests(KEY)[DestKey("10.0.9.9", 80)]
    assert sorry.fwd is FwdMethod.DR
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    assert s.weights_in_table() == {"10.0.9.9": 1}
    assert "Enabling sorry server [10.0.9.9]:tcp:80 to VS [10.0.0.100]:tcp:80" in s.logs()


def test_quorum_never_reached_at_start_uses_sorry_server() -> None:
    v = vs(rs(1, tcp(alpha=True)), sorry_server=SorryServer("10.0.9.9", 80))
    s = Sim(Pool([v]))
    assert s.weights_in_table() == {"10.0.9.9": 1}
    s.run_until(0.0)
    assert s.weights_in_table() == {"10.0.1.1": 1}
    assert [a.event for a in s.of(RunScript)] == []  # type: ignore[attr-defined]


def test_misc_dynamic_weight_changes_pool_and_quorum() -> None:
    misc = MiscCheck(script=NotifyScript(("/chk",)), misc_dynamic=True, delay_loop=2.0,
                     retry=0, warmup=0.0)
    s = Sim(Pool([vs(rs(1, misc, weight=1), quorum=3)]))
    # weight 1 < quorum 3: no quorum, but without a sorry server the live servers stay
    assert s.weights_in_table() == {"10.0.1.1": 1}
    assert not s.pool.quorum_up(VirtualServer(ip=VIP, port=80).key)
    s.weights["10.0.1.1"] = 5
    s.run_until(0.0)
    assert s.weights_in_table() == {"10.0.1.1": 5}
    assert any("Changing weight from 1 to 5" in t for t in s.logs())
    assert "Gained quorum 3+0=3 <= 5 for VS [10.0.0.100]:tcp:80" in s.logs()


def test_thresholds_and_service_flags_reach_the_table() -> None:
    v = vs(rs(1, uthreshold=100, lthreshold=10, lvs_method="TUN"), persistence_timeout=300,
           persistence_granularity="255.255.255.0", hashed=True, sched_flags=("sh-port",),
           lb_algo="sh", tun_type="gue", tun_port=6080, tun_flags="csum")
    t = Pool([v]).table()
    svc, dests = t.services[KEY]
    assert svc.scheduler == "sh" and svc.timeout == 300 and svc.netmask == 24
    assert svc.flags == ServiceFlag.PERSISTENT | ServiceFlag.HASHED | ServiceFlag.SCHED2
    d = dests[DestKey("10.0.1.1", 8080)]
    assert (d.u_threshold, d.l_threshold, d.fwd, d.tun_port) == (100, 10, FwdMethod.TUN, 6080)
    assert d.tun_type.name == "GUE" and d.tun_flags.name == "CSUM"


def test_virtual_server_group_expands_ranges_and_fwmarks() -> None:
    grp = VirtualServerGroup("G", entries=(VsgEntry("10.0.0.1", "10.0.0.3", 80),
                                           VsgEntry(fwmark=7)))
    v = VirtualServer(group="G", port=80, real_servers=(rs(1, tcp(retry=0)),))
    s = Sim(Pool([v], [grp]))
    t = s.pool.table()
    assert sorted(map(str, t.services)) == ["FWM 7", "[10.0.0.1]:tcp:80", "[10.0.0.2]:tcp:80",
                                           "[10.0.0.3]:tcp:80"]
    assert len(s.pool.check_ids()) == 1  # one checker per real server, not per service
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    assert all(not e.dests for e in s.pool.table().services.values())


def test_ha_suspend_pauses_checks_until_the_address_is_local() -> None:
    s = Sim(Pool([vs(rs(1), ha_suspend=True)]))
    s.run_until(10.0)
    assert s.runs == []
    s.pool.address_event(VIP, True, 10.0)
    s.run_until(10.0)
    assert [t for t, _ in s.runs] == [10.0]
    s.pool.address_event(VIP, False, 11.0)
    s.run_until(30.0)
    assert len(s.runs) == 1


def test_reload_keeps_state_of_persisting_servers() -> None:
    s = Sim(Pool([vs(rs(1, tcp(retry=0)), rs(2))]))
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    assert set(s.weights_in_table()) == {"10.0.1.2"}
    acts = s.pool.reload([vs(rs(1, tcp(retry=0)), rs(2), rs(3))], [], 1.0)
    gone = s.pool.reload([vs(rs(1, tcp(retry=0)), rs(2))], [], 1.0)
    assert Log("service [10.0.1.3]:tcp:8080 no longer exist") in gone
    acts = s.pool.reload([vs(rs(1, tcp(retry=0)), rs(2), rs(3))], [], 1.0)
    assert set(s.weights_in_table()) == {"10.0.1.2", "10.0.1.3"}
    assert not [a for a in acts if isinstance(a, Log) and "Gained" in a.text]
    # a changed checker config restarts that checker (as at boot: up, no alpha)
    s.pool.reload([vs(rs(1, tcp(retry=0, delay_loop=3.0)), rs(2))], [], 1.5)
    assert set(s.weights_in_table()) == {"10.0.1.1", "10.0.1.2"}


def test_omega_notifies_at_shutdown() -> None:
    down, qdown = NotifyScript(("/d",)), NotifyScript(("/qd",))
    pool = Pool([vs(rs(1, notify_down=down), omega=True, quorum_down=qdown)])
    pool.start(0.0)
    acts = pool.shutdown()
    assert [a.script for a in acts if isinstance(a, RunScript)] == [down, qdown]
    assert [a for a in Pool([vs(rs(1, notify_down=down))]).shutdown()
            if not isinstance(a, Log)] == []
    assert Log("Shutting down service [10.0.1.1]:tcp:8080 from VS [10.0.0.100]:tcp:80") in acts


def test_smtp_alert_on_checker_events() -> None:
    s = Sim(Pool([vs(rs(1, tcp(retry=0)), rs(2), smtp_alert=True)]))
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    alerts = [a for a in s.of(RsStateChange) if a.smtp_alert]  # type: ignore[attr-defined]
    assert len(alerts) == 1
    assert alerts[0].rs == "[10.0.1.1]:tcp:8080" and not alerts[0].up  # type: ignore[attr-defined]
    assert alerts[0].body == "=> TCP CHECK failed on service <="  # type: ignore[attr-defined]
    assert not [a for a in s.of(RsStateChange) if not a.smtp_alert]  # type: ignore[attr-defined]


def test_unknown_check_id_is_ignored_and_running_checks_have_no_timer() -> None:
    s = Sim(Pool([vs(rs(1))]), duration=5.0)
    assert s.pool.report(CheckId("x", "y", 0), CheckOutcome(True), 0.0) == []
    s.run_until(0.0)
    assert s.pool.next_timer() is None  # the check is running
    s.run_until(5.0)
    assert s.pool.next_timer() == 7.0


def test_first_result_is_logged_then_only_transitions() -> None:
    s = Sim(Pool([vs(rs(1))]))
    s.run_until(6.0)
    ok = [t for t in s.logs() if t == "TCP connection to [10.0.1.1]:tcp:8080 success."]
    assert len(ok) == 1


def test_real_server_without_port_takes_the_virtual_servers() -> None:
    v = vs(RealServer(ip="10.0.1.1", checkers=(tcp(),)))
    pool = Pool([v])
    assert list(pool.table().dests(KEY)) == [DestKey("10.0.1.1", 80)]
    assert pool.check_ids()[0].rs == "[10.0.1.1]:tcp:80"


def test_ipv6_service_and_fwmark_netmask() -> None:
    v6 = VirtualServer(ip="2001:db8::100", port=443, family=6, lb_algo="rr",
                       persistence_timeout=60, persistence_granularity="64",
                       real_servers=(RealServer(ip="2001:db8::0:11", port=443, family=6),))
    mark = VirtualServer(fwmark=9, family=6, real_servers=(RealServer(ip="2001:db8::12",
                                                                      family=6),))
    t = Pool([v6, mark]).table()
    k6 = ServiceKey.inet("2001:db8::100", 443)
    assert t.services[k6].service.netmask == 64
    assert list(t.dests(k6)) == [DestKey("2001:db8::11", 443)]
    assert t.services[ServiceKey.mark(9, 6)].service.netmask == 128


def test_keepalived_phrases_per_checker_kind() -> None:
    http_chk = HttpGet(delay_loop=2.0, retry=1, delay_before_retry=1.0, warmup=0.0,
                       log_all_failures=True)
    misc = MiscCheck(script=NotifyScript(("/usr/local/bin/chk", "a")), delay_loop=2.0, retry=0,
                     warmup=0.0)
    fails = {"10.0.1.1": "HTTP status code error to", "10.0.1.2": "failed (exited with status 1)"}
    up = {"10.0.1.1": True, "10.0.1.2": True, "10.0.1.3": True}

    def probe(cid: CheckId, now: float) -> CheckOutcome:
        ip = cid.rs.split("]")[0][1:]
        return CheckOutcome(up[ip], detail="" if up[ip] else fails[ip])

    s = Sim(Pool([vs(rs(1, http_chk), rs(2, misc), rs(3))]), probe=probe)
    s.run_until(0.0)
    up["10.0.1.1"] = up["10.0.1.2"] = False
    s.run_until(3.5)
    logs = s.logs()
    assert "Remote Web server [10.0.1.1]:tcp:8080 succeed on service." in logs
    assert "HTTP status code error to server [10.0.1.1]:tcp:8080." in logs  # log_all_failures
    assert "HTTP_CHECK on service [10.0.1.1]:tcp:8080 failed after 1 retries." in logs
    who = "Misc check for [[10.0.1.2]:tcp:8080 VS [10.0.0.100]:tcp:80] by [/usr/local/bin/chk]"
    assert f"{who} succeeded." in logs
    assert f"{who} failed (exited with status 1)." in logs


def test_reload_that_only_moves_lines_keeps_checker_state() -> None:
    s = Sim(Pool([vs(rs(1, tcp(retry=0, line=10)), rs(2))]))
    s.health["10.0.1.1"] = False
    s.run_until(0.0)
    acts = s.pool.reload([vs(rs(1, tcp(retry=0, line=17)), rs(2))], [], 1.0)
    assert not [a for a in acts if isinstance(a, Log) and "Activating" in a.text]
    assert "10.0.1.1" not in s.weights_in_table()


def test_several_urls_one_per_delay_loop_and_fast_recovery() -> None:
    """keepalived checks one url per delay_loop; a down checker comes up once every url passed
    in a row (N × delay_loop), or after one round of all of them with fast_recovery."""
    from pykeepalived.config.model import UrlSpec

    urls = (UrlSpec(path="/a"), UrlSpec(path="/b"), UrlSpec(path="/c"))
    fetched: list[tuple[float, str, tuple[str, ...]]] = []
    bad: set[str] = set()

    def make(**kw: object) -> tuple[Sim, CheckId]:
        chk = HttpGet(urls=urls, delay_loop=2.0, retry=1, delay_before_retry=1.0, warmup=0.0,
                      **kw)  # type: ignore[arg-type]
        pool = Pool([vs(rs(1, chk))])

        def probe(cid: CheckId, now: float) -> CheckOutcome:
            got = pool.checker(cid)[2]
            assert isinstance(got, HttpGet)
            paths = tuple(u.path for u in got.urls)
            fetched.append((now, cid.rs, paths))
            return CheckOutcome(not bad.intersection(paths))

        s = Sim(pool, probe=probe)
        return s, pool.check_ids()[0]

    # up: one url per check, in turn
    s, cid = make()
    s.run_until(4.0)
    assert [(t, p) for t, _, p in fetched] == [(0.0, ("/a",)), (2.0, ("/b",)), (4.0, ("/c",))]
    # /a fails: retried (same url) after delay_before_retry, then down
    fetched.clear()
    bad.add("/a")
    s.run_until(9.0)
    assert [(t, p) for t, _, p in fetched] == [(6.0, ("/a",)), (7.0, ("/a",)), (9.0, ("/a",))]
    assert not s.pool.table().dests(KEY)
    # healed: /a, /b, /c must pass one per delay_loop before it is up again
    bad.clear()
    fetched.clear()
    s.run_until(14.5)
    assert [(t, p) for t, _, p in fetched] == [(11.0, ("/a",)), (13.0, ("/b",))]
    assert not s.pool.table().dests(KEY)
    s.run_until(15.0)
    assert fetched[-1] == (15.0, fetched[-1][1], ("/c",))
    assert list(s.pool.table().dests(KEY)) == [DestKey("10.0.1.1", 8080)]
    assert sum("succeed on service" in line for line in s.logs()) == 2  # first, recovery

    # alpha + fast_recovery: a down checker gets every url at once and one pass brings it up
    fetched.clear()
    s, cid = make(alpha=True, fast_recovery=True)
    s.run_until(0.0)
    assert fetched == [(0.0, cid.rs, ("/a", "/b", "/c"))]
    assert list(s.pool.table().dests(KEY)) == [DestKey("10.0.1.1", 8080)]
    s.run_until(2.0)  # up again: back to one url per check
    assert fetched[-1][2] == ("/a",)


def test_persistence_granularity_per_service_family_in_a_mixed_group() -> None:
    """A group mixing IPv6 ranges and an IPv4 fwmark: the IPv6 services get the /64 prefix,
    the IPv4 one a valid mask (never /64); a dotted mask applies to IPv4 services only."""
    groups = [VirtualServerGroup("G", (VsgEntry("2001:db8::100", "2001:db8::101", 80, family=6),
                                       VsgEntry(fwmark=5, family=4),
                                       VsgEntry("10.0.0.100", None, 80)))]
    chk = (tcp(),)
    for gran, v6, v4 in (("64", 64, 32), ("24", 24, 24), ("255.255.255.0", 128, 24),
                         (None, 128, 32)):
        v = VirtualServer(group="G", port=80, lb_algo="rr", persistence_timeout=60,
                          persistence_granularity=gran,
                          real_servers=(RealServer(ip="10.0.1.1", port=80, checkers=chk),))
        p = Pool([v], groups)
        p.start(0.0)
        got = {k: e.service.netmask for k, e in p.table().services.items()}
        assert got == {ServiceKey.inet("2001:db8::100", 80): v6,
                       ServiceKey.inet("2001:db8::101", 80): v6,
                       ServiceKey.mark(5, 4): v4,
                       ServiceKey.inet("10.0.0.100", 80): v4}, (gran, got)


def test_lateness_of_the_checker_does_not_stretch_the_interval() -> None:
    """A check handed out late (the checker's own loop was busy) comes back one delay_loop
    after it was due, not after it ran, up to LATE_FORGIVEN of the interval; beyond that the
    cadence slows (an overloaded checker does not pile work up)."""
    p = Pool([vs(rs(1, tcp(delay_loop=1.0)))])
    p.start(0.0)
    cid = p.check_ids()[0]
    assert p.due_checks(0.1) == [cid]  # due at 0.0, handed out 0.1 late
    p.report(cid, CheckOutcome(True), 0.102)
    assert p.next_timer() == pytest.approx(1.002)  # 0.102 + 1 - 0.1
    assert p.due_checks(2.0) == [cid]  # due at 1.002, handed out ~1 s late: forgiven 0.25
    p.report(cid, CheckOutcome(True), 2.0)
    assert p.next_timer() == pytest.approx(2.75)
    assert p.due_checks(2.75) == [cid]  # on time: a plain delay_loop again
    p.report(cid, CheckOutcome(True), 2.8)
    assert p.next_timer() == pytest.approx(3.8)


def test_identical_checks_behind_several_virtual_servers_run_once() -> None:
    """The same server with the same check behind two virtual servers is checked once per
    delay_loop and both follow its result; a check that differs in any setting, or that
    reaches another port, runs on its own; ha_suspend virtual servers never share."""
    a = VirtualServer(ip="10.0.0.100", port=80, lb_algo="rr",
                      real_servers=(rs(1, tcp(line=3)), rs(2, tcp())))
    b = VirtualServer(ip="10.0.0.101", port=80, lb_algo="rr",
                      real_servers=(rs(1, tcp(line=40)), rs(2, tcp(connect_timeout=2.0))))
    c = VirtualServer(ip="10.0.0.102", port=80, lb_algo="rr", ha_suspend=True,
                      real_servers=(rs(1, tcp()),))
    s = Sim(Pool([a, b, c]))
    s.pool.address_event("10.0.0.102", True, 0.0)
    s.run_until(5.0)
    per_check: dict[str, int] = {}
    for _, cid in s.runs:
        per_check[f"{cid.vs} {cid.rs}"] = per_check.get(f"{cid.vs} {cid.rs}", 0) + 1
    assert per_check == {"[10.0.0.100]:tcp:80 [10.0.1.1]:tcp:8080": 3,
                         "[10.0.0.100]:tcp:80 [10.0.1.2]:tcp:8080": 3,
                         "[10.0.0.101]:tcp:80 [10.0.1.2]:tcp:8080": 3,
                         "[10.0.0.102]:tcp:80 [10.0.1.1]:tcp:8080": 3}, per_check
    s.health["10.0.1.1"] = False
    s.run_until(9.0)
    logs = s.logs()
    for vip in ("10.0.0.100", "10.0.0.101", "10.0.0.102"):
        assert f"Removing service [10.0.1.1]:tcp:8080 from VS [{vip}]:tcp:80" in logs
    dests = {k.addr: {d.addr for d in e.dests.values()}
             for k, e in s.pool.table().services.items()}
    assert dests == {"10.0.0.100": {"10.0.1.2"}, "10.0.0.101": {"10.0.1.2"},
                     "10.0.0.102": set()}
    lead = CheckId("[10.0.0.100]:tcp:80", "[10.0.1.1]:tcp:8080", 0)
    assert s.pool.shared_with(lead) == (CheckId("[10.0.0.101]:tcp:80", "[10.0.1.1]:tcp:8080", 0),)


def test_a_shared_check_survives_a_reload_that_drops_its_leader() -> None:
    """Reload removes the first virtual server: the second one's copy of the check runs on
    its own from then on, with the state it had."""
    a = VirtualServer(ip="10.0.0.100", port=80, lb_algo="rr", real_servers=(rs(1),))
    b = VirtualServer(ip="10.0.0.101", port=80, lb_algo="rr", real_servers=(rs(1),))
    s = Sim(Pool([a, b]))
    s.run_until(3.0)
    assert {cid.vs for _, cid in s.runs} == {"[10.0.0.100]:tcp:80"}
    s.actions += [(s.now, x) for x in s.pool.reload([b], [], s.now)]
    s.runs.clear()
    s.run_until(8.0)
    assert {cid.vs for _, cid in s.runs} == {"[10.0.0.101]:tcp:80"}
    assert len(s.runs) >= 2


LVS_KEYWORDS = """
virtual_server 10.0.0.100 80 {
    protocol TCP
    lb_algo sh
    lb_kind NAT
    weight 7
    persistence_timeout 60
    persistence_engine sip
    flag-1
    sh-fallback
    mh-port
    sorry_server 10.0.9.9 80
    sorry_server_inhibit
    sorry_server_lvs_method DR
    real_server 10.0.1.1 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.1.2 8080 {
        weight 3
    }
}
virtual_server 10.0.0.101 80 {
    protocol TCP
    lb_algo mh
    flag-2
    flag-3
    mh-port
    mh-fallback
    real_server 10.0.1.1 8080 {
    }
}
virtual_server fwmark 9 {
    ip_family inet6
    lb_algo rr
    real_server fd00::5 80 {
    }
}
"""


def test_virtual_server_keywords_reach_the_table() -> None:
    """From keepalived.conf text to the IPVS table: the scheduler flags (flag-1/2/3, sh-fallback;
    mh-port and mh-fallback under mh; mh-port under sh is dropped), persistence_engine, the
    sorry server's inhibit and lvs_method, ip_family of a fwmark service, and the virtual
    server's weight for a real server that sets none."""
    from pykeepalived.config import load_text
    from pykeepalived.config.environment import FakeEnvironment

    cfg = load_text(LVS_KEYWORDS, env=FakeEnvironment()).config
    s = Sim(Pool(cfg.virtual_servers))
    s.run_until(0.0)
    t = s.pool.table()
    svc, dests = t.services[KEY]
    assert svc.flags == ServiceFlag.PERSISTENT | ServiceFlag.SCHED1
    assert svc.pe_name == "sip"
    assert dests[DestKey("10.0.1.1", 8080)].weight == 7  # the virtual server's
    assert dests[DestKey("10.0.1.2", 8080)].weight == 3
    sorry = dests[DestKey("10.0.9.9", 80)]
    assert (sorry.weight, sorry.fwd) == (0, FwdMethod.DR)  # inhibited while quorum holds
    svc2, _ = t.services[ServiceKey.inet("10.0.0.101", 80)]
    assert svc2.flags == ServiceFlag.SCHED1 | ServiceFlag.SCHED2 | ServiceFlag.SCHED3
    assert ServiceKey.mark(9, af=6) in t.services


def test_checker_log_all_failures_logs_every_failed_attempt() -> None:
    """checker_log_all_failures: the reason of every failed attempt is logged, not only the
    last one's."""
    from pykeepalived.config import load_text
    from pykeepalived.config.environment import FakeEnvironment
    from pykeepalived.daemon.check_process import _pool_for

    text = ("global_defs {\n%s\n}\nvirtual_server 10.0.0.100 80 {\n protocol TCP\n"
            " real_server 10.0.1.1 8080 {\n  HTTP_GET {\n   url {\n    path /\n   }\n"
            "   retry 1\n   delay_loop 2\n   delay_before_retry 1\n   warmup 0\n  }\n }\n}\n")

    def attempts(glob: str) -> list[str]:
        cfg = load_text(text % glob, env=FakeEnvironment()).config
        up = [True]
        s = Sim(_pool_for(cfg, lambda: 0.0), probe=lambda cid, now: CheckOutcome(
            up[0], detail="" if up[0] else "HTTP status code error to"))
        s.run_until(0.0)
        up[0] = False
        s.run_until(3.5)
        return [x for x in s.logs() if x.startswith("HTTP status code error to")]

    line = "HTTP status code error to server [10.0.1.1]:tcp:8080."
    assert attempts("") == [line]  # the last attempt's reason only
    assert attempts(" checker_log_all_failures") == [line, line]  # the retry's too
