"""The reference-address gate over IPv6: neighbour solicitations to the reference, adverts
read back (the IPv4 gate is in test_splitbrain_cures.py)."""

from __future__ import annotations

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]


def test_ipv6_reference_gate_claims_while_answered_and_faults_when_not() -> None:
    with locked_lab("pksb6", ipv6=True) as lab:
        n1 = lab.add_host("n1", ["fd98::11/64"])
        gw = lab.add_host("gw", ["fd98::1/64"])
        inst = InstanceConf(priority=150, version=3, advert_int=0.1, vips=("fd98::200/64",),
                            extra=("reference_address fd98::1", "reference_interval 0.1"))
        d = Daemon(n1, "py", render_config("n1", [inst]))
        d.start()
        try:
            assert d.wait_log(r"Entering MASTER STATE", 15), d.log_text()[-3000:]
            assert d.has_vip("fd98::200")
            gw.isolate()
            assert d.wait_log(r"no reference address answered 3 probes in a row \(fd98::1\)",
                              10), d.log_text()[-3000:]
            assert d.wait_log(r"Entering FAULT STATE", 5)
            assert not d.has_vip("fd98::200")
            gw.unisolate()
            mark = d.mark()
            assert d.wait_log(r"Entering MASTER STATE", 10, since=mark), d.log_text()[-3000:]
        finally:
            d.stop()
