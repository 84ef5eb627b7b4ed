"""The namespace lab itself: hosts on one bridge reach each other, and cleanup is complete."""

from __future__ import annotations

import pytest

from pykeepalived.lab.netns import Lab, list_netns

pytestmark = pytest.mark.netns


def test_two_hosts_ping_and_cleanup() -> None:
    with Lab("pkx") as lab:
        a = lab.add_host("a", ["10.99.0.1/24"])
        lab.add_host("b", ["10.99.0.2/24"])
        r = a.run(["ping", "-c1", "-W2", "10.99.0.2"], check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        lab.hosts["b"].isolate()
        r = a.run(["ping", "-c1", "-W1", "10.99.0.2"], check=False)
        assert r.returncode != 0
    assert not [n for n in list_netns() if n.startswith("pkx")]
