"""Lease arbiter core on a virtual clock: etcd's replies are fed in as the shell would.

The real etcd (three members, partitions) is in tests/netns/splitbrain; here each rule of the
module docstring is pinned, and a field bug replays in a few lines.
"""

from __future__ import annotations

import json

from pykeepalived.splitbrain import lease as la
from pykeepalived.vrrp.actions import State
from pykeepalived.vrrp.claim import ClaimBlock

KEY = "/pk/vi1"
VI = la.ArbitratedInstance("VI_1", KEY, ("10.0.0.100",))


def arbiter(mode: la.OnDown = la.OnDown.HOLD, ttl: float = 3.0) -> la.LeaseArbiter:
    a = la.LeaseArbiter(la.LeaseSettings("n1", ttl=ttl, on_down=mode), [VI])
    a.start(0.0)
    return a


def kinds(acts: list[la.LeaseAction]) -> list[str]:
    return [type(x).__name__ for x in acts]


def holder(node: str, vips: str = "10.0.0.100") -> str:
    return json.dumps({"vips": vips, "node": node, "instance": "VI_1"})


def test_etcd_ttl_leaves_room_for_the_expiry_pass() -> None:
    assert la.etcd_ttl(2.0) == 1 and la.etcd_ttl(3.0) == 2 and la.etcd_ttl(10) == 9
    assert la.etcd_ttl(1.0) == 1  # cannot go lower: -t warns


def test_start_grants_and_blocks_claims_until_the_key_is_ours() -> None:
    a = arbiter()
    acts = a.actions()
    assert la.Grant(2) in acts
    assert la.SetBlock("VI_1", ClaimBlock("waiting for an etcd lease")) in acts
    a.granted(77, 2, 0.01)
    acts = a.actions()
    assert la.SetBlock("VI_1", ClaimBlock(f"waiting for lease key {KEY}", announce=True)) in acts
    a.claim_wanted("VI_1", True, 1.0)
    acq = [x for x in a.actions() if isinstance(x, la.Acquire)]
    assert acq and acq[0].lease == 77 and json.loads(acq[0].value)["node"] == "n1"
    a.acquired("VI_1", True, "", 1.01)
    assert la.SetBlock("VI_1", None) in a.actions() and a.holds("VI_1")


def test_key_held_elsewhere_waits_watches_and_takes_it_when_deleted() -> None:
    a = arbiter()
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 1.0)
    a.actions()
    a.acquired("VI_1", False, holder("n2"), 1.01)
    acts = a.actions()
    assert la.Watch("VI_1", KEY) in acts
    assert la.SetBlock("VI_1", ClaimBlock(f"lease key {KEY} is held by n2/VI_1",
                                          announce=True)) in acts
    a.key_gone("VI_1", 2.5)
    assert any(isinstance(x, la.Acquire) for x in a.actions())


def test_master_renews_every_third_and_fences_itself_when_it_cannot() -> None:
    a = arbiter(la.OnDown.FENCE)
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 0.5)
    a.acquired("VI_1", True, "", 0.51)
    a.set_state("VI_1", State.MASTER, 0.51)
    a.actions()
    assert a.next_timer() is not None and abs(a.next_timer() - 2 / 3) < 1e-9
    a.handle_timer(2 / 3)
    assert la.KeepAlive(77) in a.actions()
    a.renewed(2, 0.70)  # the renewal sent at 2/3 succeeded
    assert a.fence_at() is not None and abs(a.fence_at() - (2 / 3 + 2 - la.FENCE_MARGIN)) < 1e-9
    t = 4 / 3
    a.handle_timer(t)
    a.actions()
    a.request_failed("keepalive", "timed out", t + 0.5)  # etcd gone from here on
    fence = a.fence_at()
    assert fence is not None
    while (n := a.next_timer()) is not None and n < fence:
        a.handle_timer(n)
        for x in a.actions():
            if isinstance(x, la.KeepAlive):
                a.request_failed("keepalive", "timed out", n + 0.3)
    a.handle_timer(fence)
    acts = a.actions()
    faults = [x for x in acts if isinstance(x, la.SetFault)]
    assert faults and "self-fencing" in (faults[0].reason or "")
    assert any(isinstance(x, la.LostArbitration) for x in acts)
    assert a.fences == 1 and not a.holds("VI_1")
    # etcd back: a new lease, the fault is lifted, the instance competes again
    a.granted(78, 2, fence + 3)
    assert la.SetFault("VI_1", None) in a.actions()


def test_hold_keeps_the_vips_and_backups_do_not_claim() -> None:
    a = arbiter(la.OnDown.HOLD)
    a.granted(77, 2, 0.0)
    a.actions()
    a.request_failed("keepalive", "connection refused", 1.0)
    acts = a.actions()
    assert any(isinstance(x, la.Log) and "on_etcd_down hold" in x.message for x in acts)
    assert la.SetBlock("VI_1", ClaimBlock("etcd unreachable (on_etcd_down hold)")) in acts
    assert not any(isinstance(x, la.SetFault) for x in acts)


def test_vrrp_mode_lets_vrrp_decide_while_etcd_is_down() -> None:
    a = arbiter(la.OnDown.VRRP)
    a.granted(77, 2, 0.0)
    a.actions()
    a.request_failed("keepalive", "connection refused", 1.0)
    assert la.SetBlock("VI_1", None) in a.actions()


def test_etcd_unreachable_at_start_says_so_and_retries() -> None:
    a = arbiter()
    a.actions()
    a.request_failed("grant", "connection refused (10.9.0.5:2379)", 0.01)
    logs = [x for x in a.actions() if isinstance(x, la.Log)]
    assert "etcd unreachable (grant: connection refused (10.9.0.5:2379))" in logs[0].message
    assert a.next_timer() == 0.01 + 0.5
    a.handle_timer(0.51)
    assert la.Grant(2) in a.actions()


def test_another_cluster_on_the_same_key_is_refused_not_fought() -> None:
    a = arbiter()
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 1.0)
    a.actions()
    a.acquired("VI_1", False, holder("n9", vips="10.5.5.5"), 1.01)
    acts = a.actions()
    err = [x for x in acts if isinstance(x, la.Log) and x.level == "ERROR"]
    assert err and "another cluster uses this key" in err[0].message
    assert not any(isinstance(x, (la.Release, la.YieldRole)) for x in acts)
    blocks = [x for x in acts if isinstance(x, la.SetBlock)]
    assert blocks[-1].block is not None and "another cluster" in blocks[-1].block.reason


def test_master_finding_its_key_taken_yields_and_runs_the_fence_hook() -> None:
    # field replay: etcd restarted without our lease; another node got the key meanwhile
    a = arbiter(la.OnDown.HOLD)
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 0.5)
    a.acquired("VI_1", True, "", 0.5)
    a.set_state("VI_1", State.MASTER, 0.5)
    a.renewed(0, 1.2)  # "lease not found"
    a.granted(78, 2, 1.3)
    a.actions()
    a.acquired("VI_1", False, holder("n2"), 1.31)
    acts = a.actions()
    assert any(isinstance(x, la.YieldRole) for x in acts)
    assert any(isinstance(x, la.LostArbitration) for x in acts)


def test_leaving_master_releases_and_graceful_stop_revokes() -> None:
    a = arbiter()
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 0.5)
    a.acquired("VI_1", True, "", 0.5)
    a.set_state("VI_1", State.MASTER, 0.5)
    a.actions()
    a.set_state("VI_1", State.BACKUP, 2.0)
    assert la.Release("VI_1", KEY, 77) in a.actions()
    a.shutdown(3.0)
    assert a.actions() == [la.Revoke(77)]


def test_hold_master_takes_its_key_again_under_the_new_lease() -> None:
    """Field replay: after etcd was away longer than the lease, a holding master kept
    thinking it held the key on its old lease; when that lease expired a backup took the key
    and claimed beside it. The key must be taken again under the new lease."""
    a = arbiter(la.OnDown.HOLD)
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 0.5)
    a.acquired("VI_1", True, "", 0.5)
    a.set_state("VI_1", State.MASTER, 0.5)
    a.actions()
    a.request_failed("keepalive", "refused", 0.7)
    fence = a.fence_at()
    assert fence is not None
    a.handle_timer(fence)  # hold: keeps the VIPs, gives the lease up
    assert not a.holds("VI_1")
    a.actions()
    a.granted(78, 2, fence + 2)
    acq = [x for x in a.actions() if isinstance(x, la.Acquire)]
    assert acq and acq[0].lease == 78


def test_key_won_after_the_claim_was_given_up_is_released_at_once() -> None:
    """Start-up race: both nodes ask for the key; the lower one hears the better router's
    advert (BACKUP again) while its Acquire is on its way, and wins the key anyway. A BACKUP
    must not keep it: the better router would wait for it for ever."""
    a = arbiter()
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 0.5)
    a.claim_wanted("VI_1", False, 0.51)  # a higher-priority advert: back to BACKUP
    a.acquired("VI_1", True, "", 0.52)
    assert la.Release("VI_1", KEY, 77) in a.actions() and not a.holds("VI_1")


def test_a_router_waiting_for_a_key_held_elsewhere_asks_again_until_it_is_ours() -> None:
    """The holder's release may come before our watch is set up (a delete before the watch
    is never reported): the waiting router asks again every ``retry``."""
    a = arbiter()
    a.granted(77, 2, 0.0)
    a.claim_wanted("VI_1", True, 0.5)
    a.acquired("VI_1", False, holder("n2"), 0.51)
    a.actions()
    a.handle_timer(1.01)
    assert any(isinstance(x, la.Acquire) for x in a.actions())
    a.acquired("VI_1", True, "", 1.02)
    assert a.holds("VI_1") and a.next_timer() != 1.51
