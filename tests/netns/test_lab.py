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


def test_second_run_with_the_same_prefix_waits_instead_of_wrecking() -> None:
    import subprocess
    import sys
    import time

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom pykeepalived.lab.netns import Lab\n"
         "lab = Lab('pky'); lab.add_host('a', ['10.98.0.1/24']); print('up', flush=True)\n"
         "time.sleep(1.5); ok = 'pkya' in __import__('pykeepalived.lab.netns').lab.netns"
         ".list_netns(); lab.cleanup(); print('kept' if ok else 'lost', flush=True)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "up"
        t0 = time.monotonic()
        with Lab("pky"):
            waited = time.monotonic() - t0
        assert holder.stdout.readline().strip() == "kept"  # our Lab did not remove its namespace
        assert waited > 0.8
    finally:
        holder.kill()
        holder.wait()
