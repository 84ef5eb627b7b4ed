"""Property tests over random event sequences on a connected, loss-free simulated LAN.

1. Never two masters for longer than one advert interval.
2. With preemption on everywhere, once things settle the master is a live, non-faulty router with
   the highest effective priority (and there is exactly one).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vrrp_sim import Lan, inst, script

from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.tracking import TrackKind

DELAY = 0.0005
KINDS = ("crash", "restart", "stop", "fail", "recover", "iface_down", "iface_up")


@dataclass(frozen=True)
class NodeSpec:
    priority: int
    weight: int
    preempt: bool
    preempt_delay: float
    lower_prio_no_advert: bool
    higher_prio_send_advert: bool = False
    advert_int: float | None = None  # v3 only: a node-specific interval (backups adopt)


@dataclass(frozen=True)
class Scenario:
    version: int
    advert_int: float
    nodes: tuple[NodeSpec, ...]
    events: tuple[tuple[float, str, int], ...]
    jitter: float = 0.0  # extra uniform delivery delay; adverts may arrive out of step


@st.composite
def scenarios(draw: st.DrawFn, preempt_always: bool) -> Scenario:
    version, advert_int = draw(st.sampled_from([(2, 1.0), (3, 1.0), (3, 0.5)]))
    n = draw(st.integers(2, 4))
    nodes = []
    for _ in range(n):
        nodes.append(
            NodeSpec(
                priority=draw(st.sampled_from([50, 100, 150, 150, 150, 254])),
                weight=draw(st.sampled_from([0, -60, 30, -120])),
                preempt=True if preempt_always else draw(st.booleans()),
                preempt_delay=draw(st.sampled_from([0.0, 0.0, 2.0])),
                lower_prio_no_advert=draw(st.booleans()),
                higher_prio_send_advert=draw(st.booleans()),
                advert_int=draw(st.sampled_from([None, 0.3])) if version == 3 else None,
            )
        )
    events = draw(
        st.lists(
            st.tuples(
                st.floats(0.0, 6.0, allow_nan=False).map(lambda x: round(x, 3)),
                st.sampled_from(KINDS),
                st.integers(0, n - 1),
            ),
            min_size=2,
            max_size=14,
        )
    )
    jitter = draw(st.sampled_from([0.0, 0.0, 0.003]))
    return Scenario(version, advert_int, tuple(nodes), tuple(events), jitter)


def build(sc: Scenario) -> Lan:
    lan = Lan(delay=DELAY, jitter=sc.jitter)
    lan.keep_log = False
    for i, spec in enumerate(sc.nodes):
        lan.add_node(
            f"n{i}",
            f"10.0.0.{i + 1}",
            inst(
                "VI_1",
                51,
                spec.priority,
                version=sc.version,
                advert_int=spec.advert_int or sc.advert_int,
                preempt=spec.preempt,
                preempt_delay=spec.preempt_delay,
                lower_prio_no_advert=spec.lower_prio_no_advert,
                higher_prio_send_advert=spec.higher_prio_send_advert,
                tracks=(script("chk", spec.weight),),
            ),
        )
    lan.start()
    return lan


def play(lan: Lan, sc: Scenario) -> None:
    for dt, kind, i in sc.events:
        lan.run_for(dt)
        name = f"n{i}"
        node = lan.nodes[name]
        if kind == "crash" and node.alive:
            lan.crash(name)
        elif kind == "stop" and node.alive:
            lan.stop(name)
        elif kind == "restart" and not node.alive:
            lan.restart(name)
        elif node.alive and kind in ("fail", "recover"):
            lan.set_track(name, TrackKind.SCRIPT, "chk", kind == "recover")
        elif node.alive and kind in ("iface_down", "iface_up"):
            lan.set_interface(name, "VI_1", kind == "iface_up")


def eligible(lan: Lan) -> dict[str, int]:
    """Live, non-faulty routers and their effective priorities."""
    out = {}
    for name, node in lan.nodes.items():
        r = node.routers["VI_1"]
        if node.alive and r.state in (State.BACKUP, State.MASTER):
            out[name] = r.effective_priority
    return out


PROPS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


@PROPS
@given(scenarios(preempt_always=False))
def test_never_two_masters_longer_than_one_advert_interval(sc: Scenario) -> None:
    lan = build(sc)
    play(lan, sc)
    lan.run_for(40)
    longest = max(s.advert_int or sc.advert_int for s in sc.nodes)
    for start, end in lan.overlaps(51):
        assert end - start <= longest + DELAY + sc.jitter + 1e-9, (start, end, lan.timeline)
    if eligible(lan):
        assert len(lan.masters(51)) == 1
    else:
        assert lan.masters(51) == []


@PROPS
@given(scenarios(preempt_always=True))
def test_highest_effective_priority_ends_up_master_with_preemption(sc: Scenario) -> None:
    lan = build(sc)
    play(lan, sc)
    lan.run_for(40)
    live = eligible(lan)
    masters = lan.masters(51)
    if not live:
        assert masters == []
        return
    assert len(masters) == 1, (masters, live)
    assert live[masters[0]] == max(live.values()), (masters, live)


GROUP_KINDS = ("crash", "restart", "stop", "fail", "recover", "iface_down", "iface_up")


@st.composite
def group_scenarios(
    draw: st.DrawFn,
) -> tuple[tuple[int, ...], tuple[tuple[float, str, int, int], ...]]:
    n = draw(st.integers(2, 3))
    prios = tuple(draw(st.sampled_from([100, 150, 150, 200])) for _ in range(n))
    events = draw(
        st.lists(
            st.tuples(
                st.floats(0.0, 6.0, allow_nan=False).map(lambda x: round(x, 3)),
                st.sampled_from(GROUP_KINDS),
                st.integers(0, n - 1),
                st.integers(1, 2),
            ),
            min_size=2,
            max_size=12,
        )
    )
    return prios, tuple(events)


@PROPS
@given(group_scenarios())
def test_sync_groups_stay_consistent_and_elect_one_node(
    sc: tuple[tuple[int, ...], tuple[tuple[float, str, int, int], ...]],
) -> None:
    prios, events = sc
    lan = Lan(delay=DELAY)
    lan.keep_log = False
    for i, prio in enumerate(prios):
        lan.add_node(
            f"n{i}",
            f"10.0.0.{i + 1}",
            inst("VI_1", 1, prio, tracks=(script("s1"),)),
            inst("VI_2", 2, prio, tracks=(script("s2"),)),
            groups={"G1": ("VI_1", "VI_2")},
        )
    lan.start()
    for dt, kind, i, member in events:
        lan.run_for(dt)
        name = f"n{i}"
        node = lan.nodes[name]
        if kind == "crash" and node.alive:
            lan.crash(name)
        elif kind == "stop" and node.alive:
            lan.stop(name)
        elif kind == "restart" and not node.alive:
            lan.restart(name)
        elif node.alive and kind in ("fail", "recover"):
            lan.set_track(name, TrackKind.SCRIPT, f"s{member}", kind == "recover")
        elif node.alive and kind in ("iface_down", "iface_up"):
            lan.set_interface(name, f"VI_{member}", kind == "iface_up")
    lan.run_for(40)
    live = [n for n in lan.nodes.values() if n.alive]
    for node in live:
        states = {r.state for r in node.routers.values()}
        assert len(states) == 1, (node.name, states)
        assert node.groups["G1"].state in states
    eligible = [n.name for n in live if n.routers["VI_1"].state is not State.FAULT]
    m1, m2 = lan.masters(1), lan.masters(2)
    assert m1 == m2
    assert len(m1) == (1 if eligible else 0), (m1, eligible)
    if eligible:
        best = max(n.routers["VI_1"].effective_priority for n in live if n.name in eligible)
        assert lan.nodes[m1[0]].routers["VI_1"].effective_priority == best
