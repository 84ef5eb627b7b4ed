"""Which weight a tracker applies to an instance: the tracker's own (with its ``reverse``), or
the instance's ``track_script``/``track_file``/``track_process``/``track_interface`` override,
as keepalived; and the resulting effective priority, through the daemon's settings."""

from __future__ import annotations

from pykeepalived.config import load_text
from pykeepalived.daemon.settings import track_specs
from pykeepalived.vrrp.tracking import TrackKind, contribution

CONF = """
vrrp_script own {
    script "/bin/true"
    weight -20
}
vrrp_script rev {
    script "/bin/true"
    weight 15 reverse
}
vrrp_script over {
    script "/bin/true"
    weight -20
}
track_file tf {
    file "/tmp/pkt-weight-override"
    weight 3
}
vrrp_track_process tp {
    process pkt-none
    weight 30
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 7
    priority 100
    track_script {
        own
        rev
        over weight 10
    }
    track_file {
        tf weight -4 reverse
    }
    track_process {
        tp weight -7
    }
    track_interface {
        eth2
        eth1 weight -10
    }
    virtual_ipaddress {
        10.0.0.100/24
    }
}
"""


def test_track_weights_overrides_and_reverse() -> None:
    cfg = load_text(CONF).config
    specs = {(s.kind, s.name): s for s in track_specs(cfg.vrrp_instances[0], cfg)}
    got = {k: (s.weight, s.reverse) for k, s in specs.items()}
    assert got == {
        (TrackKind.SCRIPT, "own"): (-20, False),
        (TrackKind.SCRIPT, "rev"): (15, True),  # the script's own reverse
        (TrackKind.SCRIPT, "over"): (10, False),  # the instance's weight wins
        (TrackKind.FILE, "tf"): (-4, True),
        (TrackKind.PROCESS, "tp"): (-7, False),
        (TrackKind.INTERFACE, "eth2"): (0, False),  # no weight: FAULT when down
        (TrackKind.INTERFACE, "eth1"): (-10, False),
    }
    # The contributions: "over" (weight 10) adds when up; "own" subtracts when down; the
    # reversed "rev" subtracts when up; a weight-0 interface down is a FAULT.
    assert contribution(specs[(TrackKind.SCRIPT, "over")], True, 0) == (False, 10)
    assert contribution(specs[(TrackKind.SCRIPT, "over")], False, 0) == (False, 0)
    assert contribution(specs[(TrackKind.SCRIPT, "own")], False, 0) == (False, -20)
    assert contribution(specs[(TrackKind.SCRIPT, "rev")], True, 0) == (False, -15)
    assert contribution(specs[(TrackKind.INTERFACE, "eth2")], False, 0) == (True, 0)
    assert contribution(specs[(TrackKind.FILE, "tf")], True, 5) == (False, 20)  # 5 × -4, reversed
