"""The conflict watch in the daemon, against a host that holds the VIP without VRRP.

A master with ``conflict_watch`` probes its VIP (RFC 5227 probes, sender 0.0.0.0) every
``conflict_interval``, counted on the wire; when another host takes the VIP, the probe's
answer comes from a foreign MAC: the conflict is logged and ``notify_split_brain`` runs with
``INSTANCE VI_1 CONFLICT ...``. The two-node causes and cures are test_splitbrain_cures.py.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config
from pykeepalived.lab.measure import arp_capture
from pykeepalived.lab.netns import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

VIP = "10.85.0.200"
WINDOW = 2.0
INTERVAL = 0.2  # the default would be max(advert_int, 1 s): 1 s


def test_conflict_watch_probes_at_its_interval_and_notifies_a_conflict(tmp_path: Path) -> None:
    out = tmp_path / "notified"
    script = tmp_path / "notify-sb"
    script.write_text(f'#!/bin/sh\necho "$@" >> {out}\n')
    os.chmod(script, 0o755)
    with locked_lab("pksbw") as lab:
        n1 = lab.add_host("n1", ["10.85.0.11/24"])
        rogue = lab.add_host("rogue", ["10.85.0.12/24"])
        inst = InstanceConf(priority=150, advert_int=0.1, vips=(f"{VIP}/24",),
                            extra=("conflict_watch", f"conflict_interval {INTERVAL}",
                                   f"notify_split_brain {script}"))
        d = Daemon(n1, "py", render_config("n1", [inst]))
        d.start()
        try:
            assert d.wait_log(r"Entering MASTER STATE", 15), d.log_text()[-3000:]
            time.sleep(0.5)  # past the transition's gratuitous ARPs
            cap = arp_capture(rogue)
            time.sleep(WINDOW)
            probes = len(re.findall(rf"who-has {re.escape(VIP)} tell 0\.0\.0\.0", cap.stop()))
            # one probe per conflict_interval while MASTER (the default, 1 s, gives 2)
            assert probes >= 0.6 * WINDOW / INTERVAL, probes
            rogue.run(["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"])
            assert d.wait_log(r"\(VI_1\) split brain: ", 5), d.log_text()[-3000:]
            assert wait_for(lambda: out.exists() and "INSTANCE VI_1 CONFLICT" in
                            out.read_text(), 5), d.log_text()[-3000:]
        finally:
            d.stop()
