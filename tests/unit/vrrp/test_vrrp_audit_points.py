"""Issue points not pinned elsewhere: PASS and AH compare in constant time on the receive path,
and the GARP refresh burst size (``garp_master_refresh_repeat``)."""

from __future__ import annotations

import hmac

import pytest

from pykeepalived.vrrp.actions import GarpReason, SendGratuitous, State
from pykeepalived.vrrp.auth import AuthConfig
from pykeepalived.vrrp.packet import DropReason, PacketError, decode_ipv4, encode_ipv4
from pykeepalived.vrrp.router import RouterSettings, VrrpRouter

SRC = "10.1.0.11"
VIPS = ("10.1.0.200",)


def _v2(auth: AuthConfig, ip_id: int, ah_seq: int | None = None) -> bytes:
    return encode_ipv4(version=2, vrid=51, priority=100, adver_int=1, addresses=VIPS, src=SRC,
                       dst="224.0.0.18", ip_id=ip_id, auth=auth, ah_seq=ah_seq)


def test_pass_and_ah_are_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    pw = AuthConfig.pass_("kl-pw")
    assert decode_ipv4(_v2(pw, 4711), auth=pw).auth_type == 1
    assert (b"kl-pw\x00\x00\x00", b"kl-pw\x00\x00\x00") in calls
    calls.clear()
    with pytest.raises(PacketError) as ei:
        decode_ipv4(_v2(pw, 4712), auth=AuthConfig.pass_("kl-pX"))
    assert ei.value.reason is DropReason.AUTH_FAILURE and calls  # no short-circuit ==
    calls.clear()
    ah = AuthConfig.ah("kl-pw")
    assert decode_ipv4(_v2(ah, 4713, ah_seq=1), auth=ah).ah_seq == 1
    assert any(len(a) == 12 for a, _ in calls)  # the 96-bit ICV


def test_garp_refresh_repeat_sets_the_refresh_burst() -> None:
    s = RouterSettings(name="VI_1", vrid=51, priority=100, addresses=("10.0.0.200",),
                       src_ip="10.0.0.2", garp_master_delay=0, garp_master_refresh=10,
                       garp_master_refresh_repeat=3)
    r = VrrpRouter(s, 0.0)
    r.start(0.0)
    r.actions()
    t = r.next_timer()
    assert t is not None
    r.handle_timer(t)
    assert r.state is State.MASTER
    bursts = [(a.count, a.reason) for a in r.actions() if isinstance(a, SendGratuitous)]
    assert bursts == [(5, GarpReason.BECOME_MASTER)]  # and no delayed burst (delay 0)
    t0, now = t, t
    seen: list[tuple[float, int, GarpReason]] = []
    while now < t0 + 25:
        nt = r.next_timer()
        assert nt is not None
        now = nt
        r.handle_timer(now)
        seen += [(round(now - t0, 6), a.count, a.reason) for a in r.actions()
                 if isinstance(a, SendGratuitous)]
    assert seen == [(10.0, 3, GarpReason.REFRESH), (20.0, 3, GarpReason.REFRESH)]
