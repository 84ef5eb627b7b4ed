"""``VrrpEndpoint``: datagrams in, datagrams and events out, for one instance (no sockets, no
clock). A keepalived 2.2.7 capture replays through it byte for byte; the codec's rejections,
the AH and IP ID state, VMAC duplicates, a reload's take-over and sync groups are its own."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.lab.pcap import read_records
from pykeepalived.vrrp.actions import (
    AcquireAddresses,
    LogEvent,
    ReleaseAddresses,
    SendGratuitous,
    State,
    StateChanged,
)
from pykeepalived.vrrp.auth import AuthConfig
from pykeepalived.vrrp.endpoint import DUPLICATE_WINDOW, DatagramMeta, VrrpEndpoint, WireSettings
from pykeepalived.vrrp.packet import decode_ipv4, encode_ipv4
from pykeepalived.vrrp.router import RouterSettings
from pykeepalived.vrrp.sync_group import SyncGroup

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vrrp"
VIP = "10.77.0.200"
GROUP = "224.0.0.18"
META = DatagramMeta(4, "eth0")
PASS = AuthConfig.pass_("kl-pass8")


def endpoint(prio: int = 100, src: str = "10.77.0.12", auth: AuthConfig = PASS,
             dsts: tuple[str, ...] = (GROUP,), now: float = 0.0, **kw: object) -> VrrpEndpoint:
    """Node 2 of the capture's lab (tests/fixtures/vrrp/README.md), BACKUP at ``now``."""
    ep = VrrpEndpoint(RouterSettings(name="VI_1", vrid=51, priority=prio, addresses=(VIP,),
                                     src_ip=src),
                      WireSettings(family=4, src=src, destinations=dsts, mcast_group=GROUP,
                                   unicast=dsts != (GROUP,), auth=auth, **kw),  # type: ignore[arg-type]
                      now)
    ep.start(now)
    ep.events()
    return ep


def advert(prio: int = 150, ip_id: int = 1, src: str = "10.77.0.11", **kw: object) -> bytes:
    return encode_ipv4(version=2, vrid=51, priority=prio, adver_int=1, addresses=(VIP,),
                       src=src, ip_id=ip_id, auth=PASS, **kw)  # type: ignore[arg-type]


def test_keepalived_takeover_capture_replays_through_the_endpoint() -> None:
    frames = read_records(FIXTURES / "vrrp_v2_pass_shutdown.pcap")
    (t0, stop), (t1, takeover) = [(t, f[14:]) for t, f in frames[:2]]  # IP, after Ethernet
    ep = endpoint(now=t0 - 1.0)
    ep.receive_datagram(stop, META, t0)  # node 1 stops: its priority-0 advert
    assert ep.stats.pri_zero_rcvd == 1 and ep.state is State.BACKUP
    assert ep.get_timer() == t0 + (256 - 100) / 256  # the skew time: keepalived took 0.61 s
    ep.handle_timer(t1)
    assert ep.state is State.MASTER and ep.stats.become_master == 1
    assert ep.datagrams_to_send() == [(takeover, GROUP)]  # keepalived's bytes, IP ID 1
    events = ep.events()
    assert [type(e) for e in events if not isinstance(e, LogEvent)][:3] == [
        AcquireAddresses, SendGratuitous, StateChanged]
    garps = sum(f[12:14] == b"\x08\x06" for _, f in frames)  # ARP frames in the capture
    assert [e.count for e in events if isinstance(e, SendGratuitous)] == [garps] == [5]


def test_a_rejected_datagram_is_counted_and_logged_in_keepalived_words() -> None:
    ep = endpoint()
    bad = encode_ipv4(version=2, vrid=51, priority=150, adver_int=1, addresses=(VIP,),
                      src="10.77.0.11", ip_id=7, auth=AuthConfig.pass_("wrong"))
    ep.receive_datagram(bad, META, 0.5)
    assert ep.stats.auth_failure == 1 and ep.stats.advert_rcvd == 0
    assert ep.events() == [LogEvent("(VI_1) received an invalid passwd!", "WARNING")]
    assert ep.datagrams_to_send() == [] and not ep.has_output()


def test_one_ip_id_per_advert_whatever_the_number_of_unicast_peers() -> None:
    ep = endpoint(prio=200, dsts=("10.77.0.11", "10.77.0.13"))
    ep.handle_timer(ep.get_timer() or 0.0)  # no master heard: take over
    first = ep.datagrams_to_send()
    assert [dst for _, dst in first] == ["10.77.0.11", "10.77.0.13"]
    ep.handle_timer(ep.get_timer() or 0.0)  # the next periodic advert
    ids = [d[4] << 8 | d[5] for d, _ in (*first, *ep.datagrams_to_send())]
    assert ids == [1, 1, 2, 2] and ep.ip_id == 2


def test_ah_sequence_is_shared_by_receive_replay_check_and_send() -> None:
    ah = AuthConfig.ah("kl-pass8")
    ep = endpoint(auth=ah)

    def peer(seq: int) -> bytes:
        return encode_ipv4(version=2, vrid=51, priority=150, adver_int=1, addresses=(VIP,),
                           src="10.77.0.11", ip_id=seq, auth=ah, ah_seq=seq)

    ep.receive_datagram(peer(5), META, 0.5)
    ep.receive_datagram(peer(5), META, 0.6)  # a replay
    assert ep.stats.advert_rcvd == 1 and ep.stats.auth_failure == 1 and ep.ah_seq == 5
    ep.events()
    ep.handle_timer(ep.get_timer() or 0.0)  # the peer went quiet: MASTER
    (data, _), = ep.datagrams_to_send()
    assert data[9] == 51 and int.from_bytes(data[28:32], "big") == 6  # continues after 5


def test_vmac_drops_the_second_copy_of_a_datagram() -> None:
    ep = endpoint(vmac=True)
    data = advert()
    for t in (1.0, 1.0 + DUPLICATE_WINDOW / 2, 1.0 + 3 * DUPLICATE_WINDOW):
        ep.receive_datagram(data, META, t)
    assert ep.stats.advert_rcvd == 2  # the copy read on the base interface is not counted


def test_repeats_skip_the_codec_and_still_count() -> None:
    ep = endpoint()
    for i in range(10):
        ep.receive_datagram(advert(ip_id=i + 1), META, 0.1 * i)
    assert ep.stats.advert_rcvd == 10 and ep.repeats == 9
    assert ep.get_timer() == 0.9 + 3 + (256 - 100) / 256
    assert not ep.has_output()


def test_take_over_keeps_master_and_its_counters_without_a_release() -> None:
    old = endpoint(prio=200, auth=AuthConfig.ah("kl-pass8"))
    old.handle_timer(old.get_timer() or 0.0)
    old.datagrams_to_send()
    old.events()
    new = VrrpEndpoint(old.router.settings, old.wire, 10.0)
    new.take_over(old, 10.0)
    assert new.state is State.MASTER
    events = new.events()
    assert not any(isinstance(e, ReleaseAddresses) for e in events)
    assert not any("(init)" in e.message for e in events if isinstance(e, LogEvent))
    (data, _), = new.datagrams_to_send()
    assert decode_ipv4(data, auth=AuthConfig.ah("kl-pass8")).ah_seq == (old.ah_seq or 0) + 1
    assert (data[4] << 8 | data[5]) == old.ip_id + 1


def test_a_sync_group_member_moved_by_another_has_output() -> None:
    group = SyncGroup("G")
    a, b = (VrrpEndpoint(RouterSettings(name=n, vrid=v, priority=100, addresses=(VIP,),
                                        src_ip="10.77.0.12"),
                         WireSettings(family=4, src="10.77.0.12", destinations=(GROUP,),
                                      mcast_group=GROUP), 0.0, group)
            for n, v in (("A", 1), ("B", 2)))
    for ep in (a, b):
        ep.start(0.0)
        ep.events()
    t = b.get_timer() or 0.0
    b.handle_timer(t)  # B's timer ran out first: it waits for the group
    b.events()
    assert b.state is State.BACKUP and not b.has_output()
    a.handle_timer(t)  # then A's: the group goes MASTER, B with it, from a call into A
    assert a.state is b.state is State.MASTER
    assert b.has_output() and len(b.datagrams_to_send()) == 1
    assert any(isinstance(e, AcquireAddresses) for e in b.events())


def test_old_unicast_checksum_taken_up_from_a_peer_as_keepalived_does() -> None:
    """old_unicast_checksum not configured: a unicast v3 advert that verifies only with the
    legacy checksum is accepted, logged in keepalived's words, and from then on this instance
    sends the legacy form and refuses the standard one; configured, it sends the legacy form
    from the start; ``never`` refuses a legacy advert."""
    def v3(src: str, prio: int, legacy: bool) -> bytes:
        return encode_ipv4(version=3, vrid=51, priority=prio, adver_int=100, addresses=(VIP,),
                           src=src, dst="10.77.0.12", ip_id=1, legacy_unicast_checksum=legacy)

    def ep3(old: bool | None) -> VrrpEndpoint:
        ep = VrrpEndpoint(RouterSettings(name="VI_1", vrid=51, priority=100, addresses=(VIP,),
                                         src_ip="10.77.0.12", version=3, advert_int=1.0),
                          WireSettings(family=4, src="10.77.0.12", destinations=("10.77.0.11",),
                                       mcast_group=GROUP, unicast=True,
                                       old_unicast_checksum=old), 0.0)
        ep.start(0.0)
        ep.events()
        return ep

    ep = ep3(None)
    ep.receive_datagram(v3("10.77.0.11", 150, legacy=True), META, 0.1)
    assert ep.stats.advert_rcvd == 1
    assert LogEvent("(VI_1) Setting unicast VRRPv3 checksum to old version") in ep.events()
    ep.receive_datagram(v3("10.77.0.11", 150, legacy=False), META, 0.2)
    assert ep.events() == [LogEvent("(VI_1) Invalid VRRPv3 checksum", "WARNING")]
    ep.handle_timer(5.0)  # no master heard since: take over, sending the legacy form
    sent = [d for d, _ in ep.datagrams_to_send()]
    assert sent and all(d[20:] == v3("10.77.0.12", 100, legacy=True)[20:] for d in sent)
    configured = ep3(True)
    configured.handle_timer(5.0)
    assert configured.datagrams_to_send()[0][0][20:] == v3("10.77.0.12", 100, True)[20:]
    never = ep3(False)
    never.receive_datagram(v3("10.77.0.11", 150, legacy=True), META, 0.1)
    assert never.events() == [LogEvent("(VI_1) Invalid VRRPv3 checksum", "WARNING")]
