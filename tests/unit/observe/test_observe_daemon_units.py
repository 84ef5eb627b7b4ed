"""Where observability meets the daemon: the flag reaches the children, the parent starts the
metrics child only when metrics are on, the VRRP meters' threshold and transitions."""

from __future__ import annotations

from pykeepalived.config.loader import load_text
from pykeepalived.daemon.main import options_to_argv
from pykeepalived.daemon.roles import child_kinds, metrics_listen
from pykeepalived.observe.vrrp_view import VrrpMeters
from pykeepalived.options import parse

CONF = """global_defs {
 %s
}
vrrp_instance V { interface eth0
 virtual_router_id 5
 priority 100
 advert_int 0.25
 virtual_ipaddress { 10.1.1.1 }
}
"""


def test_metrics_flag_round_trips_to_children() -> None:
    opts, _ = parse(["-f", "/k.conf", "--metrics-listen", "[::1]:9650"])
    assert opts.metrics_listen == "[::1]:9650"
    again, _ = parse(options_to_argv(opts))
    assert again == opts
    assert parse(["--child", "observe"])[0].child == "observe"


def test_flag_wins_over_keyword_and_off_by_default() -> None:
    on = load_text(CONF % "pykeepalived_metrics_listen 9651").config
    off = load_text(CONF % "router_id x").config
    assert metrics_listen(parse([])[0], off.global_defs) is None
    assert metrics_listen(parse([])[0], on.global_defs) == "127.0.0.1:9651"
    assert metrics_listen(parse(["--metrics-listen", "9000"])[0], on.global_defs) == "9000"
    assert child_kinds(parse([])[0], on) == ["vrrp"]  # the caller adds "observe"


def test_stall_threshold_is_the_smallest_interval_capped_by_min_auto_priority_delay() -> None:
    m = VrrpMeters(0.0)
    m.configure([("A", 2, 1.0), ("B", 3, 0.25)], 1.0)
    assert m.stall.threshold == 0.25
    m.configure([("A", 2, 3.0)], 1.0)
    assert m.stall.threshold == 1.0
    m.configure([], 2.0)
    assert m.stall.threshold == 2.0


def test_meters_follow_instances_and_transitions() -> None:
    m = VrrpMeters(0.0)
    m.configure([("A", 3, 1.0), ("B", 2, 1.0)], 1.0)
    m.timing["A"].received(10.0, 100)
    m.timing["A"].received(12.0, 100)  # v3 field 100 cs = 1 s; a 2 s gap is late
    m.timing["B"].received(10.0, 1)
    assert m.instances["A"].timing.late == 1
    m.of("A").changed("BACKUP", "MASTER", "master down timer expired", 5.0)
    assert m.instances["A"].transitions == 1
    assert m.instances["A"].timing.last is None  # restarted by the state change
    assert m.instances["A"].last == {"time": 5.0, "from": "BACKUP", "to": "MASTER",
                                     "reason": "master down timer expired"}
    m.configure([("A", 3, 1.0)], 1.0)
    assert set(m.instances) == set(m.timing) == {"A"}


def test_script_runner_counts_runs_failures_and_timeouts() -> None:
    """What keepalived_notify_script_* export, from real processes."""
    import asyncio

    from pykeepalived.observe.vrrp_view import notify_counts
    from pykeepalived.script.runner import ProcessRunner

    async def main() -> dict[str, int]:
        r = ProcessRunner(subreaper=False)
        await r.run(["true"])
        await r.run(["false"])
        await r.run(["sleep", "5"], timeout=0.1)
        await r.run(["/nonexistent/notify.sh"])
        await r.close()
        return notify_counts(r)

    assert asyncio.run(main()) == {"runs": 4, "failures": 3, "timeouts": 1}
