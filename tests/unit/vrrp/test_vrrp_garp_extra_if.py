"""``garp_extra_if``: a MASTER's periodic gratuitous ARP/NA on the interfaces its addresses
live on other than the advert's, sent with the first advert after each interval (keepalived's
``vrrp_send_vmac_update`` from ``vrrp_state_master_tx``), and which addresses qualify."""

from __future__ import annotations

from test_vrrp_router import make_master

from pykeepalived.config import load_text
from pykeepalived.daemon.instance import extra_if_addresses, instance_addresses
from pykeepalived.vrrp.actions import GarpReason, SendGratuitous, State
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter


def _master(extra: tuple[str, ...], interval: float) -> tuple[VrrpRouter, float]:
    return make_master(RouterSettings(
        name="VI_1", vrid=51, priority=100, addresses=("10.0.0.200",), src_ip="10.0.0.2",
        garp_master_delay=0, garp_master_repeat=1, garp_extra_if=interval,
        garp_extra_addresses=extra))


def _extra_bursts(r: VrrpRouter, t0: float, until: float) -> list[tuple[float, tuple[str, ...]]]:
    seen = []
    now = t0
    while now < t0 + until:
        nt = r.next_timer()
        assert nt is not None
        now = nt
        r.handle_timer(now)
        seen += [(round(now - t0, 6), a.addresses) for a in r.actions()
                 if isinstance(a, SendGratuitous) and a.reason is GarpReason.EXTRA_IF]
    return seen


def test_one_garp_per_extra_interface_at_the_first_advert_after_each_interval() -> None:
    r, t0 = _master(("10.1.0.200", "10.2.0.200"), 2.5)
    # adverts every 1 s: due after 2.5 s, sent with the advert at 3 s, then 2.5 s from there
    assert _extra_bursts(r, t0, 9) == [(3.0, ("10.1.0.200", "10.2.0.200")),
                                      (6.0, ("10.1.0.200", "10.2.0.200")),
                                      (9.0, ("10.1.0.200", "10.2.0.200"))]
    r.shutdown(t0 + 9.5)
    assert r.state is not State.MASTER


def test_no_timer_without_interval_or_addresses() -> None:
    for extra, interval in (((), 2.0), (("10.1.0.200",), 0.0)):
        r, t0 = _master(extra, interval)
        assert _extra_bursts(r, t0, 6) == []


CONF = """
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 100
{extra}
  virtual_ipaddress {{
    10.0.0.200/24
    10.0.0.201/24 dev eth0
    10.1.0.200/24 dev eth1
    10.1.0.201/24 dev eth1
    10.2.0.200/24 dev vrrp.52
  }}
  virtual_ipaddress_excluded {{
    10.3.0.200/24 dev eth3
  }}
}}
"""


def _extra(extra: str, ours: set[str] | None = None) -> tuple[str, ...]:
    cfg = load_text(CONF.format(extra=extra)).config
    c = cfg.vrrp_instances[0]
    vip_if = "vrrp.51" if c.use_vmac is not None else "eth0"
    vips, evips, _r, _ru = instance_addresses(c, vip_if, "eth0")
    return extra_if_addresses(c, vips, evips, vip_if,
                              ours if ours is not None else {"vrrp.51", "vrrp.52"})


def test_which_addresses_are_announced() -> None:
    # another VMAC of ours: announced; eth1/eth3 only with "all"; one address per interface
    assert _extra("  garp_extra_if 5") == ("10.2.0.200",)
    assert _extra("  garp_extra_if all 5") == ("10.1.0.200", "10.2.0.200", "10.3.0.200")
    # nothing of ours elsewhere and no "all": no timer at all
    assert _extra("  garp_extra_if 5", ours={"vrrp.51"}) == ()
    assert _extra("") == ()
    assert _extra("  garp_extra_if 0") == ()
    # the instance's own VMAC (its base-interface VIPs live there) only with vmac_xmit_base
    assert _extra("  use_vmac\n  garp_extra_if all 5") == (
        "10.1.0.200", "10.2.0.200", "10.3.0.200")
    assert _extra("  use_vmac\n  vmac_xmit_base\n  garp_extra_if all 5") == (
        "10.0.0.200", "10.1.0.200", "10.2.0.200", "10.3.0.200")


def test_the_global_default_and_its_all() -> None:
    glob = "global_defs {\n  vrrp_garp_extra_if all 7\n}\n"
    c = load_text(glob + CONF.format(extra="")).config.vrrp_instances[0]
    assert (c.garp_extra_if, c.garp_extra_if_all) == (7.0, True)
    c = load_text(glob + CONF.format(extra="  garp_extra_if 3")).config.vrrp_instances[0]
    assert (c.garp_extra_if, c.garp_extra_if_all) == (3.0, False)  # its own interval, no all
