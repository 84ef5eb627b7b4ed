"""SIGTERM at any moment of start-up or reload, on the real kernel in a namespace.

One node with 150 ``no_accept`` instances (so the nftables table is built) at advert 0.1 s:
TERM at a spread of offsets after exec, through the parse, the children's start, the bring-up
and once the VIPs are held; then during a reload that adds as many instances. Each time the
daemon must stop by itself (the parent never kills a child: it would log "did not stop"),
exit as keepalived does on a TERM (0), and leave no VIP and no ``keepalived`` table. The
wall-clock figures (under a second here, beside keepalived's) are in ``bench/scale/startup.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config
from pykeepalived.lab.netns import Host
from pykeepalived.lab.startup import TermResult, many_config, term_at

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

N = 150


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with locked_lab("pkts") as lb:
        yield lb.add_host("n1", ["10.97.0.11/24"])


def _check(r: TermResult) -> None:
    assert r.gone_after is not None, f"TERM at {r.offset:g} s: the daemon did not stop"
    assert not r.killed, f"TERM at {r.offset:g} s: a child had to be killed"
    assert r.exit_code == 0, f"TERM at {r.offset:g} s: exit {r.exit_code}"
    assert r.vips_left == [] and r.tables_left == [], r


def test_term_at_any_moment_of_start_up(host: Host) -> None:
    # 0.15 s: the parent still imports or parses (it used to die by the default action, -15);
    # later: the VRRP child parses, builds, and holds the VIPs.
    conf = many_config(N, 0.1, priority=100, no_accept=True)
    for off in (0.15, 0.4, 0.8, 1.2, 1.8):
        _check(term_at(Daemon(host, "py", conf), off))
    r = term_at(Daemon(host, "py", conf), 0.1, after="held")
    _check(r)
    assert r.held == N


def test_term_during_a_startup_delay(host: Host) -> None:
    """``vrrp_startup_delay``: a TERM in the delay ends it (it used to run to its end, and the
    parent killed the child after child_wait_time)."""
    conf = render_config("n1", [InstanceConf(vips=["10.98.0.1/32"], advert_int=0.1,
                                              extra=["no_accept"])],
                         global_extra=["vrrp_startup_delay 30"])
    d = Daemon(host, "py", conf)
    r = term_at(d, 0.2, after="Delaying startup")
    assert "Delaying startup" in d.log_text()
    _check(r)


def test_term_during_a_reload(host: Host) -> None:
    small = many_config(N // 2, 0.1, priority=100, no_accept=True)
    big = many_config(N, 0.1, priority=100, no_accept=True)
    for off in (0.0, 0.3):
        _check(term_at(Daemon(host, "py", small), off, hup_conf=big))
