"""Choosing the data plane (``lvs_dataplane``) and reading the LVS global settings."""

from __future__ import annotations

import pytest

from pykeepalived.config.model import GlobalDefs, LvsDataplane, LvsSyncDaemon
from pykeepalived.lvs import dataplane
from pykeepalived.lvs.backend import LvsSettings
from pykeepalived.lvs.dataplane import DataplaneUnavailable, _dataplane_name, select_backend


@pytest.mark.parametrize(("choice", "name"), [
    (None, "auto"), ("IPVS", "ipvs"), (" nftables ", "nftables"), (LvsDataplane.AUTO, "auto"),
    (LvsDataplane.NFTABLES, "nftables"), (GlobalDefs(lvs_dataplane=LvsDataplane.IPVS), "ipvs"),
])
def test_dataplane_name(choice: object, name: str) -> None:
    assert _dataplane_name(choice) == name


def test_unknown_dataplane_is_an_error() -> None:
    with pytest.raises(ValueError):
        select_backend("xdp")


def test_settings_from_global_defs() -> None:
    gd = GlobalDefs(lvs_flush=True, lvs_flush_on_stop="vs", lvs_timeout_tcp=900,
                    lvs_timeout_udp=30,
                    lvs_sync_daemon=LvsSyncDaemon("eth1", instance="VI_1", sync_id=4, port=8848))
    s = LvsSettings.from_global_defs(gd, dont_release_ipvs=True)
    assert s.flush_at_start and s.flush_on_stop == "vs" and not s.release_on_stop
    assert (s.timeout_tcp, s.timeout_tcpfin, s.timeout_udp) == (900, None, 30)
    assert s.sync_daemon is not None and s.sync_daemon.interface == "eth1"
    assert s.sync_daemon.vrrp_instance == "VI_1" and s.sync_daemon.sync_id == 4


def test_auto_without_ipvs_picks_nftables_with_one_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(dataplane, "_ipvs_in", lambda netns: False)
    monkeypatch.setattr(dataplane, "nft_available", lambda: True)
    with caplog.at_level("WARNING", logger="pykeepalived.lvs"):
        b = select_backend(GlobalDefs())
    assert b.name == "nftables"
    assert len(caplog.records) == 1 and "nftables" in caplog.records[0].getMessage()
    with caplog.at_level("WARNING", logger="pykeepalived.lvs"):
        caplog.clear()
        assert select_backend("nftables").name == "nftables"
    assert caplog.records == []  # an explicit choice is not worth a warning


def test_auto_with_ipvs_picks_ipvs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataplane, "_ipvs_in", lambda netns: True)
    assert select_backend("auto").name == "ipvs"


def test_explicit_ipvs_without_ipvs_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataplane, "_ipvs_in", lambda netns: False)
    with pytest.raises(DataplaneUnavailable):
        select_backend("ipvs")


def test_lvs_keywords_from_the_configuration_text() -> None:
    """lvs_timeouts and an instance's lvs_sync_daemon_interface reach the data plane's
    settings; lvs_netlink_cmd_rcv_bufs (with _force: past net.core.rmem_max) sizes the IPVS
    generic netlink socket."""
    import os
    import socket

    from pykeepalived.config import load_text
    from pykeepalived.lvs.ipvs import IpvsBackend

    big = 5 << 20
    gd = load_text("global_defs {\n lvs_timeouts tcp 900 tcpfin 30 udp 60\n"
                   f" lvs_netlink_cmd_rcv_bufs {big}\n lvs_netlink_cmd_rcv_bufs_force\n}}\n"
                   ).config.global_defs
    s = LvsSettings.from_global_defs(gd)
    assert (s.timeout_tcp, s.timeout_tcpfin, s.timeout_udp) == (900, 30, 60)
    # an instance's (deprecated) lvs_sync_daemon_interface: the sync daemon follows it
    gd2 = load_text("vrrp_instance VI_7 {\n interface eth0\n virtual_router_id 7\n"
                    " lvs_sync_daemon_interface eth1\n virtual_ipaddress {\n  10.0.0.7\n }\n}\n"
                    ).config.global_defs
    sd = LvsSettings.from_global_defs(gd2).sync_daemon
    assert sd is not None and (sd.interface, sd.vrrp_instance) == ("eth1", "VI_7")
    if os.geteuid() != 0:
        pytest.skip("SO_RCVBUFFORCE needs CAP_NET_ADMIN")
    sock = IpvsBackend(settings=s).conn.sock._socket()
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * big
    finally:
        sock.close()
