"""Config model → router settings and address specs; what a reload counts as a change."""

from __future__ import annotations

from pykeepalived.config import load_text
from pykeepalived.daemon.instance import destinations, instance_addresses
from pykeepalived.daemon.settings import (
    advert_len,
    instance_identity,
    router_settings,
    rx_buf_share,
    tracked_src_ip,
)
from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.auth import AuthType
from pykeepalived.vrrp.tracking import TrackKind

CONF = """
vrrp_script chk {
    script "/bin/true"
    weight -20
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 7
    priority 120
    advert_int 2
    nopreempt
    authentication {
        auth_type AH
        auth_pass secret
    }
    track_script {
        chk
    }
    track_interface {
        eth1 weight -10
    }
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
        10.0.0.3
    }
    use_vmac
    virtual_ipaddress {
        10.0.0.100/24
        10.0.1.100/24 dev eth2
    }
}
"""


def test_router_settings_follow_the_instance() -> None:
    parsed = load_text(CONF)
    cfg = parsed.config
    inst = cfg.vrrp_instances[0]
    s = router_settings(inst, cfg, "10.0.0.1")
    assert (s.name, s.vrid, s.priority, s.advert_int, s.version) == ("VI_1", 7, 120, 2.0, 2)
    # nopreempt needs state BACKUP: keepalived (and the parser) drop the MASTER hint.
    assert s.initial_state is State.BACKUP and s.preempt is False
    assert s.addresses == ("10.0.0.100", "10.0.1.100")
    assert s.unicast_peers == ("10.0.0.2", "10.0.0.3")
    tracks = {(t.kind, t.name): t for t in s.tracks}
    assert tracks[(TrackKind.SCRIPT, "chk")].weight == -20  # the script's own weight
    assert tracks[(TrackKind.INTERFACE, "eth1")].weight == -10
    group, dsts = destinations(inst, cfg)
    assert group == "224.0.0.18" and dsts == ("10.0.0.2", "10.0.0.3")


def test_vmac_moves_base_interface_vips_only() -> None:
    inst = load_text(CONF).config.vrrp_instances[0]
    vips, _, _, _ = instance_addresses(inst, "vrrp.7", "eth0")
    assert [(a.ip, a.dev) for a in vips] == [("10.0.0.100", "vrrp.7"), ("10.0.1.100", "eth2")]


def test_identity_ignores_line_moves_but_not_changes() -> None:
    a = load_text(CONF).config
    b = load_text("# a comment\n\n" + CONF).config
    c = load_text(CONF.replace("priority 120", "priority 121")).config
    ida = instance_identity(a.vrrp_instances[0], a)
    assert ida == instance_identity(b.vrrp_instances[0], b)
    assert ida != instance_identity(c.vrrp_instances[0], c)


def test_auth_ah_is_kept_for_v2_ipv4() -> None:
    from pykeepalived.daemon.settings import auth_of

    inst = load_text(CONF).config.vrrp_instances[0]
    assert auth_of(inst).type is AuthType.AH


def test_same_router_decides_whether_a_master_survives_a_reload() -> None:
    from pykeepalived.daemon.reload import same_router as _same_router

    a = load_text(CONF).config.vrrp_instances[0]
    more_vips = load_text(CONF.replace("10.0.1.100/24 dev eth2", "10.0.1.100/24 dev eth2\n"
                                       "        10.0.2.100/24")).config.vrrp_instances[0]
    other_vrid = load_text(CONF.replace("virtual_router_id 7", "virtual_router_id 8")
                           ).config.vrrp_instances[0]
    assert _same_router(a, more_vips)
    assert not _same_router(a, other_vrid)


def test_dump_paths_with_data_use_instance() -> None:
    from pykeepalived.daemon.vrrp_process import _instance_path

    assert _instance_path("/tmp/keepalived.data", False, "x") == "/tmp/keepalived.data"
    assert _instance_path("/tmp/keepalived.data", True, "lb1") == "/tmp/keepalived_lb1.data"
    assert _instance_path("/tmp/keepalived.data", True, None) == "/tmp/keepalived.data"


def test_ioctl_link_state_fallback() -> None:
    from pykeepalived.daemon.kernel import ioctl_up as _ioctl_up

    assert _ioctl_up("lo") is True  # loopback is always up and running
    assert _ioctl_up("pkd-nonexist0") is False


SCRIPTS_CONF = """
vrrp_script up { script "/bin/true"
    weight 5 }
vrrp_script down { script "/bin/true"
    weight -5 }
vrrp_script rev { script "/bin/true"
    weight 5 reverse }
vrrp_script zero { script "/bin/true" }
vrrp_script failing { script "/bin/true"
    weight 5
    init_fail }
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 7
    priority 80
    track_script { %s }
    virtual_ipaddress { 10.0.0.100/24 }
}
"""


def test_script_without_init_fail_changes_nothing_until_its_first_result() -> None:
    """keepalived adds a positive weight only after the script's first success: at start every
    script without ``init_fail`` is neutral (base priority, no FAULT)."""
    from pykeepalived.vrrp.tracking import Tracking

    for name in ("up", "down", "rev", "zero"):
        cfg = load_text(SCRIPTS_CONF % name).config
        s = router_settings(cfg.vrrp_instances[0], cfg, None)
        res = Tracking(s.tracks).evaluate()
        assert (res.fault, res.delta) == (False, 0), (name, s.tracks)
    # After a first success, +5 applies; init_fail starts down (for weight 5: no adjustment).
    cfg = load_text(SCRIPTS_CONF % "up").config
    tr = Tracking(router_settings(cfg.vrrp_instances[0], cfg, None).tracks)
    tr.set_ok(TrackKind.SCRIPT, "up", True)
    assert tr.evaluate().delta == 5
    cfg = load_text(SCRIPTS_CONF % "failing").config
    spec = router_settings(cfg.vrrp_instances[0], cfg, None).tracks[0]
    assert spec.initial_ok is False
    cfg = load_text(SCRIPTS_CONF % "down").config
    assert router_settings(cfg.vrrp_instances[0], cfg, None).tracks[0].initial_ok is True


def test_global_vrrp_settings_reach_the_router_and_the_wire() -> None:
    """vrrp_mcast_group6 is an IPv6 instance's destination, vrrp_mcast_group4 an IPv4 one's;
    vrrp_min_garp: one GARP at once, no delayed burst."""
    from pykeepalived.daemon.settings import mcast_group

    cfg = load_text("global_defs {\n vrrp_mcast_group6 ff02::13\n vrrp_mcast_group4 224.0.0.19\n"
                    " vrrp_min_garp\n}\n"
                    "vrrp_instance V6 {\n interface eth0\n virtual_router_id 6\n"
                    " virtual_ipaddress {\n  fe80::6/64\n }\n}\n"
                    "vrrp_instance V4 {\n interface eth0\n virtual_router_id 4\n"
                    " virtual_ipaddress {\n  10.0.0.4/24\n }\n}\n").config
    v6, v4 = cfg.vrrp_instances
    assert mcast_group(v6, cfg.global_defs) == "ff02::13"
    assert mcast_group(v4, cfg.global_defs) == "224.0.0.19"
    s = router_settings(v4, cfg, None)
    assert s.min_garp and (s.garp_master_repeat, s.garp_master_delay) == (1, 0.0)


def test_track_bfd_applies_the_weight_of_an_up_session() -> None:
    """BFD is not supported: a tracked bfd_instance counts as up for ever, so its weight
    (the instance's track_bfd weight, else the bfd_instance's, also through a sync group)
    applies as for an up session, and the instance never goes FAULT for it. A sync group's
    track_process applies to each member too (the process is not running: its weight off)."""
    from pykeepalived.vrrp.router import VrrpRouter

    cfg = load_text("bfd_instance B1 {\n neighbor_ip 10.0.0.2\n weight 10\n}\n"
                    "bfd_instance B2 {\n neighbor_ip 10.0.0.3\n}\n"
                    "vrrp_track_process P {\n process pk-no-such-process\n weight -7\n}\n"
                    "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n"
                    " track_bfd {\n  B1\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
                    "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n"
                    " virtual_ipaddress {\n  10.0.0.2\n }\n}\n"
                    "vrrp_sync_group G {\n group {\n  A\n  B\n }\n track_bfd {\n  B2 weight 5\n"
                    " }\n track_process {\n  P\n }\n sync_group_tracking_weight\n}\n").config
    a, b = cfg.vrrp_instances
    g = cfg.sync_groups[0]
    ra = VrrpRouter(router_settings(a, cfg, None, g), 0.0)
    rb = VrrpRouter(router_settings(b, cfg, None, g), 0.0)
    assert (ra.effective_priority, rb.effective_priority) == (115 - 7, 105 - 7)


def test_vrrp_rx_bufs_policy_shares() -> None:
    """Each instance's share of its socket's SO_RCVBUF, by keepalived's formula:
    kernel_rx_buf_size first, then vrrp_rx_bufs_policy (size, multiplier × advert length,
    multiplier × MTU); nothing without either."""
    def cfg(glob: str, inst: str = "", vips: str = "10.0.0.1\n10.0.0.2") -> tuple[int, ...]:
        text = (f"global_defs {{\n{glob}\n}}\nvrrp_instance A {{\ninterface eth0\n"
                f"virtual_router_id 1\n{inst}\nvirtual_ipaddress {{\n{vips}\n}}\n}}\n")
        c = load_text(text).config
        i = c.vrrp_instances[0]
        return advert_len(i), rx_buf_share(i, c.global_defs, 1500)

    # IPv4 header 20 + VRRP header 8 + v2 authentication data 8 + 4 per address
    assert cfg("vrrp_rx_bufs_policy ADVERT") == (44, 3 * 44)
    assert cfg("vrrp_rx_bufs_policy ADVERT\nvrrp_rx_bufs_multiplier 5",
               "version 3") == (36, 5 * 36)
    assert cfg("vrrp_rx_bufs_policy ADVERT", "authentication {\nauth_type AH\n"
               "auth_pass x\n}")[0] == 44 + 24  # the IPsec-AH header
    # an IPv6 raw socket queues no IP header: VRRP header + 16 per address
    assert cfg("vrrp_rx_bufs_policy ADVERT", "version 3", "fd00::1\nfd00::2") == (40, 120)
    assert cfg("vrrp_rx_bufs_policy MTU\nvrrp_rx_bufs_multiplier 2")[1] == 3000
    assert cfg("vrrp_rx_bufs_policy 70000")[1] == 70000
    assert cfg("vrrp_rx_bufs_policy 70000", "kernel_rx_buf_size 9000")[1] == 9000
    assert cfg("")[1] == 0


def test_track_src_ip_needs_a_configured_source() -> None:
    """track_src_ip watches unicast_src_ip / mcast_src_ip (normalised); without either it is
    dropped, as keepalived drops it."""
    def src(lines: str) -> str | None:
        text = ("vrrp_instance A {\ninterface eth0\nvirtual_router_id 1\n" + lines
                + "\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n")
        return tracked_src_ip(load_text(text).config.vrrp_instances[0])

    assert src("track_src_ip\nunicast_src_ip 10.0.0.5\nunicast_peer {\n10.0.0.6\n}") == (
        "10.0.0.5")
    assert src("track_src_ip\nmcast_src_ip 10.0.0.7") == "10.0.0.7"
    assert src("track_src_ip") is None
    assert src("unicast_src_ip 10.0.0.5\nunicast_peer {\n10.0.0.6\n}") is None
