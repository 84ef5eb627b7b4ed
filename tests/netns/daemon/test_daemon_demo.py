"""The README's main command (`scripts/demo.sh` → `python -m pykeepalived.lab.demo`) end to end."""

from __future__ import annotations

import re

import pytest

from pykeepalived.lab import demo
from pykeepalived.lab.netns import lab_lock, list_netns

# timeout: the first test may wait for another run to release the lab (cluster.lab_lock).
pytestmark = [pytest.mark.netns, pytest.mark.timeout(600)]


def test_demo_runs_and_cleans_up(capsys: pytest.CaptureFixture[str]) -> None:
    with lab_lock(demo.PREFIX):  # held through the final check (no other run's lab in it)
        rc = demo.main([])
        out = capsys.readouterr().out
        assert rc == 0, out
        assert "n1: MASTER" in out, out
        assert re.search(r"n[23] took over: 10\.99\.7\.200 added 0\.\d+ s after the crash",
                         out), out
        assert out.count("hello from backend") == 4, out
        assert re.search(r"the client now reaches 10\.99\.7\.200 at MAC 02:\S+:0[23] ", out), out
        assert not [n for n in list_netns() if n.startswith(demo.PREFIX)]
