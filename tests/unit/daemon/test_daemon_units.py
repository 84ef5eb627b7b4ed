"""Pure pieces of the daemon: flag round trip for re-exec'd children, log names, dump formats."""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import pytest

from pykeepalived.daemon.dumps import InstanceSnapshot, Stats, format_json, format_stats
from pykeepalived.daemon.log import KeepalivedFormatter, child_log_file
from pykeepalived.daemon.main import options_to_argv
from pykeepalived.options import parse


def test_children_get_the_same_options() -> None:
    argv = ["-f", "/etc/k.conf", "-P", "-l", "-D", "-G", "-R", "-n", "-d", "-X",
            "-p", "/r/a.pid", "-r", "/r/v.pid", "-c", "/r/c.pid", "-i", "node7",
            "-g", "/var/log/ka.log", "-S", "local3", "--all"]
    opts, _ = parse(argv)
    again, _ = parse(options_to_argv(opts))
    assert again == opts


def test_log_file_suffix_per_child() -> None:
    assert child_log_file("/tmp/keepalived.log", None) == "/tmp/keepalived.log"
    assert child_log_file("/tmp/keepalived.log", "vrrp") == "/tmp/keepalived_vrrp.log"
    assert child_log_file("/tmp/ka", "checker") == "/tmp/ka_healthcheckers"


def test_console_line_shape() -> None:
    rec = logging.LogRecord("x", logging.INFO, "f", 1, "(VI_1) Entering MASTER STATE", None, None)
    line = KeepalivedFormatter(precise=False).format(rec)
    # "Sun Nov 22 00:52:01 2026: (VI_1) Entering MASTER STATE"
    head, msg = line.split(": ", 1)
    assert msg == "(VI_1) Entering MASTER STATE"
    assert len(head.split()) == 5 and head.split()[-1].isdigit()


def _snap(name: str, state: str) -> InstanceSnapshot:
    st = Stats(advert_rcvd=3, advert_sent=2, become_master=1, pri_zero_rcvd=1)
    return InstanceSnapshot(name=name, vrid=51, version=2, family=4, interface="eth0",
                            state=state, wantstate=state, base_priority=100,
                            effective_priority=100, master_priority=150, adver_int=1.0,
                            master_adver_int=1.0, last_transition=1.5,
                            vips=["10.0.0.1/24 dev eth0 scope global set"], auth_type=1,
                            auth_data="secret", stats=st)


def test_stats_file_uses_keepalived_headings() -> None:
    text = format_stats([_snap("VI_1", "MASTER")])
    lines = text.splitlines()
    assert lines[0] == "VRRP Instance: VI_1"
    assert "    Received: 3" in lines and "  Became master: 1" in lines
    assert lines[-2:] == ["    Received: 1", "    Sent: 0"]


def test_json_v1_shape_and_counter_names() -> None:
    rows = json.loads(format_json([_snap("VI_1", "MASTER"), _snap("VI_2", "BACKUP")]))
    assert [r["data"]["iname"] for r in rows] == ["VI_1", "VI_2"]
    assert [r["data"]["state"] for r in rows] == [2, 1]
    assert set(rows[0]["stats"]) == {
        "advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
        "advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err",
        "invalid_authtype", "authtype_mismatch", "auth_failure", "pri_zero_rcvd",
        "pri_zero_sent"}
    assert rows[0]["data"]["auth_data"] == "secret"


def test_json_is_keepalived_compact_with_its_number_formats() -> None:
    text = format_json([_snap("VI_1", "MASTER")])
    assert text.startswith('[{"data":{"iname":"VI_1",') and text.endswith("}}]\n")
    assert " " not in text.replace("10.0.0.1\\/24 dev eth0 scope global set", "")
    # integral seconds print as %g ("5", not "5.0"): exporters parse them as integers
    assert '"garp_delay":5,' in text and '"adver_int":1,' in text
    assert '"last_transition":1.500000,' in text  # %f
    assert '"vips":["10.0.0.1\\/24 dev eth0 scope global set"]' in text  # keepalived escapes /
    assert "track_process" not in text  # 2.2.7's version 1 has none


def test_json_version_2_is_an_object_without_version() -> None:
    snap = dataclasses.replace(_snap("VI_1", "MASTER"), track_processes=["nginx"])
    procs = [{"process": "nginx", "param_match": "none", "min_processes": 1}]
    data = json.loads(format_json([snap], version=2, track_processes=procs))
    assert list(data) == ["vrrp", "track_process"]
    assert data["vrrp"][0]["data"]["track_process"] == ["nginx"]
    assert data["track_process"] == procs
    bare = json.loads(format_json([_snap("VI_1", "MASTER")], version=2))
    assert list(bare) == ["vrrp"]


def test_a_child_takes_the_parse_it_is_handed_and_closes_the_fd() -> None:
    """``--config-fd``: the helper's pickled parse in a memfd; unreadable means None (the
    child parses the file itself), and the fd is closed either way."""
    import pickle

    from pykeepalived.config import load_text
    from pykeepalived.daemon.process import handed_parse

    parsed = load_text("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n"
                       " virtual_ipaddress {\n  10.0.0.1\n }\n}\n")
    good, bad = os.memfd_create("t"), os.memfd_create("t")
    with os.fdopen(os.dup(good), "wb") as f:
        pickle.dump(parsed, f)
    os.write(bad, b"not a pickle")
    got = handed_parse(good)
    assert [i.name for i in got.config.vrrp_instances] == ["VI_1"]
    assert handed_parse(bad) is None and handed_parse(None) is None
    for fd in (good, bad):
        with pytest.raises(OSError):
            os.fstat(fd)
