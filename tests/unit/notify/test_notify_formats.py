"""FIFO lines, notify argv and mail shape, exactly as keepalived writes them."""

from __future__ import annotations

import enum
import re

from pykeepalived.config.model import GlobalDefs, NotifyScript, VirtualServer
from pykeepalived.notify import state_name
from pykeepalived.notify.fifo import (
    endpoint_key,
    reload_state_lines,
    rs_line,
    vrrp_line,
    vs_line,
)
from pykeepalived.notify.scripts import generic_argv
from pykeepalived.notify.smtp import format_message, rs_subject, vrrp_subject, vs_subject


def test_vrrp_fifo_lines() -> None:
    assert vrrp_line("INSTANCE", "VI_1", "MASTER", 100) == 'INSTANCE "VI_1" MASTER 100\n'
    assert vrrp_line("GROUP", "G1", "BACKUP", 0) == 'GROUP "G1" BACKUP 0\n'
    assert vrrp_line("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", 100) == \
        'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100\n'


def test_states_written_on_reload() -> None:
    """fifo_write_vrrp_states_on_reload: groups first, then the instances but the MASTERs
    (keepalived 2.2.7's lines after a HUP, captured)."""
    lines = reload_state_lines([("G1", "MASTER"), ("G2", "FAULT"), ("G3", "INIT")],
                               [("VI_M", "MASTER", 200), ("VI_F", "FAULT", 100),
                                ("VI_B", "BACKUP", 90)])
    assert lines == ['GROUP "G1" MASTER 0\n', 'GROUP "G2" FAULT 0\n',
                     'INSTANCE "VI_F" FAULT 100\n', 'INSTANCE "VI_B" BACKUP 90\n']
    assert reload_state_lines([], [("VI_M", "MASTER", 200)]) == []


def test_checker_fifo_lines() -> None:
    vs = VirtualServer(ip="192.168.201.15", port=80, protocol="TCP")
    rs = endpoint_key("1.2.3.4", "TCP", 80)
    assert vs_line(vs.key, True) == "VS [192.168.201.15]:tcp:80 UP\n"
    assert rs_line(rs, vs.key, False) == "RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN\n"


def test_generic_notify_argv() -> None:
    s = NotifyScript(("/etc/keepalived/notify.sh", "--flag", "a b"))
    assert generic_argv(s, "INSTANCE", "VI_1", "MASTER", 100) == [
        "/etc/keepalived/notify.sh", "--flag", "a b", "INSTANCE", "VI_1", "MASTER", "100"]
    assert generic_argv(s, "GROUP", "G1", "FAULT", 0)[-4:] == ["GROUP", "G1", "FAULT", "0"]


class _S(enum.Enum):
    MASTER = 1
    BACKUP = "backup"


def test_state_name_accepts_strings_and_enums() -> None:
    assert state_name("master") == "MASTER"
    assert state_name(_S.MASTER) == "MASTER"
    assert state_name(_S.BACKUP) == "BACKUP"


def test_mail_shape() -> None:
    gd = GlobalDefs(router_id="LVS_DEVEL", notification_email=("a@x.org", "b@y.org"),
                    notification_email_from="ka@z.org", smtp_server="127.0.0.1")
    subject = vrrp_subject(gd, "VI_1", "Entering MASTER state")
    assert subject == "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state"
    assert vrrp_subject(gd, "G1", "Stopping", group=True) == "[LVS_DEVEL] VRRP Group G1 - Stopping"
    assert rs_subject(gd, "[1.2.3.4]:tcp:80", "[10.0.0.1]:tcp:80", True) == \
        "[LVS_DEVEL] Realserver [1.2.3.4]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP"
    assert vs_subject(gd, "[10.0.0.1]:tcp:80", "QUORUM DOWN") == \
        "[LVS_DEVEL] Virtualserver [10.0.0.1]:tcp:80 - QUORUM DOWN"
    msg = format_message(gd, subject, "=> VRRP Instance is now owning VRRP VIPs <=", now=0.0)
    lines = msg.split("\r\n")
    assert re.fullmatch(r"Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", lines[0])
    assert lines[1:] == ["From: ka@z.org", f"Subject: {subject}", "X-Mailer: Keepalived",
                         "To: a@x.org, b@y.org", "",
                         "=> VRRP Instance is now owning VRRP VIPs <=", "", ""]
