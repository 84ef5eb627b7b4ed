"""The reference-address gate over IPv6: neighbour solicitations to the reference, adverts
read back (the IPv4 gate is in test_splitbrain_cures.py). Rounds ten adverts long, so each
keyword shows on the clock: FAULT comes more than one ``reference_interval`` after the
reference falls silent (with the default, the advert interval, within 0.3 s) and says
``reference_fall``'s count; FAULT lasts ``reference_rise - 1`` whole rounds after the
reference answers again (one answer would do with the default)."""

from __future__ import annotations

import time

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

INTERVAL = 1.0


def test_ipv6_reference_gate_claims_while_answered_and_faults_when_not() -> None:
    with locked_lab("pksb6", ipv6=True) as lab:
        n1 = lab.add_host("n1", ["fd98::11/64"])
        gw = lab.add_host("gw", ["fd98::1/64"])
        inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=("fd98::200/64",),
                            extra=("reference_address fd98::1",
                                   f"reference_interval {INTERVAL:g}", "reference_fall 2",
                                   "reference_rise 3"))
        d = Daemon(n1, "py", render_config("n1", [inst]))
        d.start()
        try:
            assert d.wait_log(r"Entering MASTER STATE", 15), d.log_text()[-3000:]
            assert d.has_vip("fd98::200")
            t0 = time.monotonic()
            gw.isolate()
            assert d.wait_log(r"no reference address answered 2 probes in a row \(fd98::1\)",
                              10), d.log_text()[-3000:]
            assert d.wait_log(r"Entering FAULT STATE", 5)
            assert time.monotonic() - t0 > INTERVAL
            assert not d.has_vip("fd98::200")
            mark = d.mark()
            t0 = time.monotonic()
            gw.unisolate()
            # the first answered round starts after the heal; two more rounds must end
            assert d.wait_log(r"Entering MASTER STATE", 15, since=mark), d.log_text()[-3000:]
            assert time.monotonic() - t0 > 2 * INTERVAL
        finally:
            d.stop()
