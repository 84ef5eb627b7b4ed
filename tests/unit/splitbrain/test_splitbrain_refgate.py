"""Reference-address gate on a virtual clock: probes, FAULT after ``fall`` silent rounds,
claims only on a fresh answer, recovery on the first answer."""

from __future__ import annotations

from pykeepalived.splitbrain.refgate import GateVerdict, Probe, ReferenceGate, RefGateSettings

GW = "10.0.0.1"


def drive(g: ReferenceGate, until: float, answer: bool | float = True,
          rtt: float = 0.002) -> list[object]:
    """Run the gate to ``until``; the reference answers each probe after ``rtt`` while
    ``answer`` is true (or, a float, until that time)."""
    out: list[object] = []
    pending: list[float] = []
    while True:
        t = g.next_timer()
        nxt = min([x for x in [t, *pending] if x is not None], default=None)
        if nxt is None or nxt > until:
            return out
        if pending and nxt == min(pending):
            pending.remove(nxt)
            g.answered(GW, nxt)
        else:
            g.handle_timer(nxt)
        for a in g.actions():
            out.append(a)
            alive = answer is True or (answer is not False and nxt < float(answer))
            if isinstance(a, Probe) and alive:
                pending.append(nxt + rtt)


def test_first_answer_opens_claims() -> None:
    g = ReferenceGate(RefGateSettings((GW,), interval=0.1))
    g.start(0.0)
    first = g.actions()
    assert Probe(GW) in first
    assert GateVerdict(None, "no reference address has answered yet") in first
    g.answered(GW, 0.002)
    assert g.claim is None and g.fault is None
    assert g.actions() == [GateVerdict(None, None)]


def test_silence_blocks_claims_after_two_intervals_and_faults_after_fall_rounds() -> None:
    g = ReferenceGate(RefGateSettings((GW,), interval=0.1, fall=3))
    g.start(0.0)
    g.actions()
    drive(g, 1.0)
    assert g.claim is None
    acts = drive(g, 1.5, answer=1.0)  # the switch dies at 1.0
    verdicts = [a for a in acts if isinstance(a, GateVerdict)]
    assert verdicts[0].fault is None and verdicts[0].claim is not None  # stale first
    assert g.fault is not None and "3 probes in a row" in g.fault
    # the claim block came before Master_Down_Interval of a 0.1 s advert (>= 0.3 s)
    assert g.probes_sent >= 14


def test_recovers_at_the_first_answer() -> None:
    g = ReferenceGate(RefGateSettings((GW,), interval=0.1, fall=2))
    g.start(0.0)
    drive(g, 1.0, answer=0.5)
    assert g.fault is not None
    t = g.next_timer()
    assert t is not None
    g.handle_timer(t)
    g.actions()
    g.answered(GW, t + 0.001)
    assert g.fault is None and g.claim is None


def test_any_of_several_addresses_is_enough() -> None:
    g = ReferenceGate(RefGateSettings((GW, "10.0.0.254"), interval=0.1))
    g.start(0.0)
    assert [a for a in g.actions() if isinstance(a, Probe)] == [Probe(GW), Probe("10.0.0.254")]
    g.answered("10.0.0.254", 0.01)
    g.answered("10.9.9.9", 0.01)  # not a reference: ignored
    assert g.claim is None and g.answers == 1
