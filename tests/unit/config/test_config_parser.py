"""Blocks into the typed model: defaults, ranges, cross-field rules, synonyms, inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config import load_text
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import (
    HttpGet,
    LvsDataplane,
    MiscCheck,
    ParseResult,
    Severity,
    TcpCheck,
    VrrpState,
)


def parse(text: str, env: FakeEnvironment | None = None) -> ParseResult:
    return load_text(text, config_id="h", filename="/etc/keepalived/keepalived.conf",
                     env=env or FakeEnvironment())


def texts(r: ParseResult) -> list[str]:
    return [m.text for m in r.messages]


BASIC = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.168.1.10/24
    }
    %s
}
"""


def inst(body: str = "", env: FakeEnvironment | None = None) -> tuple[ParseResult, object]:
    r = parse(BASIC % body, env)
    return r, r.config.vrrp_instances[0]


def inst_with(prefix: str, body: str) -> tuple[ParseResult, object]:
    r = parse(prefix + BASIC % body)
    return r, r.config.vrrp_instances[0]


def test_instance_defaults() -> None:
    r, i = inst()
    assert texts(r) == []
    assert r.exit_code_for_test() == 0
    assert i.name == "VI_1" and i.vrid == 51 and i.interface == "eth0"  # type: ignore[attr-defined]
    assert i.priority == 100 and i.advert_int == 1.0 and i.version == 2  # type: ignore[attr-defined]
    assert i.state == VrrpState.BACKUP and i.accept and not i.nopreempt  # type: ignore[attr-defined]
    assert i.garp_master_delay == 5.0 and i.garp_master_repeat == 5  # type: ignore[attr-defined]
    assert i.garp_lower_prio_delay == 5.0 and i.down_timer_adverts == 3  # type: ignore[attr-defined]
    vip = i.virtual_ipaddresses[0]  # type: ignore[attr-defined]
    assert (vip.ip, vip.prefixlen, vip.family) == ("192.168.1.10", 24, 4)
    assert i.line == 2 and i.file == "/etc/keepalived/keepalived.conf"  # type: ignore[attr-defined]


def test_global_defaults_flow_into_instances() -> None:
    r = parse("global_defs {\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n"
              " vrrp_version 3\n vrrp_skip_check_adv_addr\n vrrp_strict\n}\n" + BASIC % "")
    i = r.config.vrrp_instances[0]
    assert i.garp_master_delay == 2.0 and i.garp_master_repeat == 3
    # strict mode: no repeated or delayed lower-priority GARPs unless set (keepalived's rule)
    assert i.garp_lower_prio_delay == 0.0 and i.garp_lower_prio_repeat == 0
    assert i.version == 3 and i.skip_check_adv_addr and i.strict
    assert not i.accept  # strict: accept only for the address owner
    r = parse("global_defs {\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n}\n"
              + BASIC % "")
    i = r.config.vrrp_instances[0]
    assert i.garp_lower_prio_delay == 2.0 and i.garp_lower_prio_repeat == 3


def test_unknown_keyword_reported_and_parsing_continues() -> None:
    r, i = inst("bogus_kw 1\n    priority 150")
    assert "Unknown keyword 'bogus_kw'" in texts(r)
    assert r.messages[0].format() == ("(/etc/keepalived/keepalived.conf: Line 8) Unknown "
                                      "keyword 'bogus_kw'")
    assert i.priority == 150  # type: ignore[attr-defined]
    assert r.exit_code_for_test() == 5


def test_range_errors_keep_default() -> None:
    r, i = inst("priority 300")
    assert "number '300' outside range [1, 255]" in texts(r)
    assert i.priority == 100  # type: ignore[attr-defined]
    r, i = inst("priority abc")
    assert "invalid number 'abc'" in texts(r)


def test_v2_interval_rounding_and_v3_centiseconds() -> None:
    _, i = inst("advert_int 2.4")
    assert i.advert_int == 2.0  # type: ignore[attr-defined]
    r, i = inst("version 3\n advert_int 0.333")
    assert i.advert_int == pytest.approx(0.33)  # type: ignore[attr-defined]
    assert any("must be in units of 10ms" in t for t in texts(r))
    r, i = inst("version 3\n advert_int 100")
    assert i.advert_int == pytest.approx(40.95)  # type: ignore[attr-defined]


def test_nopreempt_needs_backup_and_priority_below_255() -> None:
    _, i = inst("nopreempt")
    assert i.nopreempt  # type: ignore[attr-defined]
    _, i = inst("state MASTER\n nopreempt")
    assert not i.nopreempt  # type: ignore[attr-defined]
    _, i = inst("priority 255\n nopreempt")
    assert not i.nopreempt  # type: ignore[attr-defined]
    _, i = inst("nopreempt\n preempt")  # preempt clears an earlier nopreempt
    assert not i.nopreempt  # type: ignore[attr-defined]


def test_preempt_delay_rules() -> None:
    _, i = inst("preempt_delay 10")
    assert i.preempt_delay == 10.0  # type: ignore[attr-defined]
    _, i = inst("preempt_delay 10\n nopreempt")
    assert i.preempt_delay == 0.0  # type: ignore[attr-defined]


def test_authentication_pass_truncated_and_v3_ignores_auth() -> None:
    r, i = inst("authentication {\n auth_type PASS\n auth_pass 123456789\n }")
    assert i.auth_type == "PASS" and i.auth_pass == b"12345678"  # type: ignore[attr-defined]
    assert "Truncating auth_pass to 8 characters" in texts(r)
    _, i = inst("authentication {\n auth_type PASS\n auth_pass ab\n }")
    assert i.auth_pass == b"ab\0\0\0\0\0\0"  # type: ignore[attr-defined]
    r, i = inst("version 3\n authentication {\n auth_type PASS\n auth_pass ab\n }")
    assert i.auth_type is None  # type: ignore[attr-defined]


def test_vip_family_rule_moves_other_family_to_excluded() -> None:
    r = parse(BASIC.replace("192.168.1.10/24", "192.168.1.10/24\n 2001:db8::1/64") % "")
    i = r.config.vrrp_instances[0]
    assert [v.ip for v in i.virtual_ipaddresses] == ["192.168.1.10"]
    assert [v.ip for v in i.virtual_ipaddresses_excluded] == ["2001:db8::1"]


def test_ipv6_instance_defaults_to_v3_and_128_is_deprecated_addr() -> None:
    r = parse(BASIC.replace("192.168.1.10/24", "fe80::1/128") % "")
    i = r.config.vrrp_instances[0]
    assert i.version == 3 and i.family == 6
    assert i.virtual_ipaddresses[0].preferred_lft == 0


def test_address_line_grammar() -> None:
    r = parse(BASIC.replace("192.168.1.10/24", "10.0.0.1/24 brd + dev eth1 scope link label "
                            "eth1:1 no_track -nodad preferred_lft forever") % "")
    v = r.config.vrrp_instances[0].virtual_ipaddresses[0]
    assert (v.brd, v.dev, v.scope, v.label, v.no_track, v.nodad) == (
        "+", "eth1", "link", "eth1:1", True, True)
    assert texts(r) == []


def test_invalid_vip_reported() -> None:
    r = parse(BASIC.replace("192.168.1.10/24", "10.1.66.$X/24") % "")
    assert any("VRRP parsed invalid IP" in t for t in texts(r))


def test_routes_and_rules_grammar() -> None:
    r, i = inst("virtual_routes {\n src 10.0.0.1 10.1.0.0/16 via 10.0.0.254 dev eth0 metric 5\n"
                " blackhole 10.9.0.0/16\n default6 via fe80::1 dev eth0\n }\n"
                " virtual_rules {\n from 10.0.0.0/8 table 100 priority 10\n to 1.2.3.4 lookup "
                "main\n }")
    routes = i.virtual_routes  # type: ignore[attr-defined]
    assert (routes[0].dest, routes[0].src, routes[0].via, routes[0].metric) == (
        "10.1.0.0/16", "10.0.0.1", "10.0.0.254", 5)
    assert routes[1].type == "blackhole"
    assert routes[2].dest == "default" and routes[2].family == 6
    rules = i.virtual_rules  # type: ignore[attr-defined]
    assert (rules[0].from_, rules[0].table, rules[0].priority) == ("10.0.0.0/8", "100", 10)
    assert rules[1].priority == 16384
    assert any("Rule has no preference" in t for t in texts(r))


def test_gw_deprecated_synonym() -> None:
    r, i = inst("virtual_routes {\n 10.1.0.0/16 gw 10.0.0.254 dev eth0\n }")
    assert i.virtual_routes[0].via == "10.0.0.254"  # type: ignore[attr-defined]
    assert any('"gw" for routes is deprecated' in t for t in texts(r))


def test_unicast_peers_and_track_entries() -> None:
    _, i = inst_with("vrrp_script chk {\n script /bin/true\n}\n",
                     "unicast_src_ip 10.0.0.1\n unicast_peer {\n 10.0.0.2 min_ttl 250\n"
                     " 10.0.0.3\n }\n"
                " track_interface {\n eth1 weight -20\n }\n track_script {\n chk weight 10 "
                "reverse\n }")
    assert [p.ip for p in i.unicast_peers] == ["10.0.0.2", "10.0.0.3"]  # type: ignore[attr-defined]
    assert i.unicast_peers[0].min_ttl == 250 and i.check_unicast_src  # type: ignore[attr-defined]
    assert i.track_interfaces[0].weight == -20  # type: ignore[attr-defined]
    t = i.track_scripts[0]  # type: ignore[attr-defined]
    assert (t.name, t.weight, t.reverse) == ("chk", 10, True)


def test_dangling_and_disabled_tracking_references_are_dropped() -> None:
    r, i = inst_with("vrrp_script gone {\n script /no/such\n}\n",
                     "track_script {\n gone\n undefined\n }\n track_file {\n nofile\n }\n"
                     " track_interface {\n eth0\n eth1\n }")
    assert i.track_scripts == () and i.track_files == ()  # type: ignore[attr-defined]
    assert [t.name for t in i.track_interfaces] == ["eth1"]  # type: ignore[attr-defined]
    assert r.config.vrrp_scripts == ()
    assert "(VI_1) track script undefined not found, ignoring..." in texts(r)


def test_notify_scripts_split_into_argv_with_user() -> None:
    _, i = inst('notify_master "/bin/true a \'b c\'" nobody\n notify /bin/false')
    nm = i.notify_master  # type: ignore[attr-defined]
    assert nm.argv == ("/bin/true", "a", "b c") and nm.user == "nobody"
    assert i.notify.argv == ("/bin/false",)  # type: ignore[attr-defined]


def test_missing_interface_is_a_warning() -> None:
    r = parse(BASIC.replace("eth0", "nosuch0") % "")
    assert "WARNING - interface nosuch0 for vrrp_instance VI_1 doesn't exist" in texts(r)
    # keepalived 2.2.7's summary line, once, after the per-interface warnings
    assert texts(r).count("Non-existent interface specified in configuration") == 1
    assert r.exit_code_for_test() == 5  # keepalived 2.2.7 exits 5 here too, not 4
    ok = parse("global_defs {\n dynamic_interfaces\n}\n" + BASIC.replace("eth0", "nosuch0") % "")
    assert not [m for m in ok.messages if m.severity > Severity.INFO]
    assert ok.exit_code_for_test() == 0


def test_vrrp_script_defaults_and_missing_script() -> None:
    r = parse("vrrp_script chk {\n script \"/bin/true x\"\n interval 2\n weight -5\n fall 2\n}\n"
              "global_defs {\n enable_script_security\n script_user nobody\n}\n")
    s = r.config.vrrp_scripts[0]
    assert (s.argv, s.interval, s.timeout, s.weight, s.fall, s.rise) == (
        ("/bin/true", "x"), 2.0, 2.0, -5, 2, 1)
    assert r.exit_code_for_test() == 0
    r = parse("vrrp_script chk {\n script /no/such\n}\n" + BASIC % "")
    assert "Disabling track script chk since not found/accessible" in texts(r)
    # without any vrrp_instance the VRRP process would not run: keepalived says nothing
    assert texts(parse("vrrp_script chk {\n script /no/such\n}\n")) == []
    r = parse("vrrp_script chk {\n interval 2\n}\n")
    assert "No script set for vrrp_script chk - removing" in texts(r)
    assert r.config.vrrp_scripts == ()


def test_script_security_exit_codes() -> None:
    cfg = "vrrp_script chk {\n script /bin/true\n}\n" + BASIC % "track_script {\n chk\n }"
    r = parse(cfg)
    assert r.exit_code_for_test() == 6
    r = parse("global_defs {\n enable_script_security\n script_user nobody\n}\n" + cfg)
    assert r.exit_code_for_test() == 0
    r = parse("global_defs {\n script_user nosuchuser\n}\n" + cfg)
    assert "Error setting global script uid/gid" in texts(r)
    assert r.exit_code_for_test() == 5


def test_sync_group_rules() -> None:
    r = parse(BASIC % "" + "vrrp_sync_group G {\n group {\n VI_1\n VI_X\n }\n"
              " notify /bin/true\n}\n")
    assert "Virtual router VI_X specified in sync group G doesn't exist - ignoring" in texts(r)
    assert any("has only 1 virtual router" in t for t in texts(r))
    assert r.config.sync_groups[0].members == ("VI_1",)
    assert r.config.vrrp_instances[0].sync_group == "G"


def test_global_defs_values_and_lvs_dataplane_addition() -> None:
    r = parse("global_defs {\n router_id r1\n notification_email {\n a@b\n c@d\n }\n"
              " smtp_server 10.0.0.1 2525\n lvs_dataplane nftables\n state_dump_file /x\n"
              " lvs_flush_onstop\n vrrp_iptables\n}\n")
    g = r.config.global_defs
    assert g.router_id == "r1" and g.notification_email == ("a@b", "c@d")
    assert (g.smtp_server, g.smtp_port) == ("10.0.0.1", 2525)
    assert g.lvs_dataplane == LvsDataplane.NFTABLES and g.state_dump_file == "/x"
    assert g.stats_dump_file == "/tmp/keepalived.stats"
    assert g.lvs_flush_on_stop == "all"
    assert any("deprecated" in t for t in texts(r))
    assert any("iptables not supported" in t for t in texts(r))
    assert g.nftables == "keepalived"  # vrrp_iptables and vrrp_ipsets: nftables instead
    assert parse("global_defs {\n vrrp_ipsets\n}\n").config.global_defs.nftables == "keepalived"
    assert parse("").config.global_defs.lvs_dataplane == LvsDataplane.AUTO


def test_invalid_smtp_server_reported() -> None:
    r = parse("global_defs {\n smtp_server mail.invalid 25\n}\n")
    assert "Invalid smtp server mail.invalid 25" in texts(r)


VS = """
virtual_server 10.0.0.100 80 {
    delay_loop 10
    lb_algo rr
    lb_kind NAT
    protocol TCP
    retry 4
    real_server 10.0.1.1 8080 {
        weight 3
        delay_before_retry 7
        TCP_CHECK {
            connect_timeout 2
        }
        HTTP_GET {
            url {
                path /health
                status_code 200-204 301
            }
            connect_port 81
        }
    }
    real_server 10.0.1.2 8080 {
        MISC_CHECK {
            misc_path "/bin/true arg"
        }
    }
}
"""


def test_virtual_server_and_checker_inheritance() -> None:
    r = parse("global_defs {\n enable_script_security\n script_user nobody\n}\n" + VS)
    assert texts(r) == []
    vs = r.config.virtual_servers[0]
    assert (vs.ip, vs.port, vs.lb_algo, vs.lb_kind, vs.protocol) == ("10.0.0.100", 80, "rr",
                                                                     "NAT", "TCP")
    rs1, rs2 = vs.real_servers
    assert rs1.weight == 3 and rs2.weight == 1
    tcp, http = rs1.checkers
    assert isinstance(tcp, TcpCheck) and isinstance(http, HttpGet)
    assert (tcp.connect_ip, tcp.connect_port, tcp.connect_timeout) == ("10.0.1.1", 8080, 2.0)
    assert (tcp.delay_loop, tcp.retry, tcp.delay_before_retry) == (10.0, 4, 7.0)
    assert http.connect_port == 81 and http.connect_timeout == 5.0
    assert http.urls[0].path == "/health"
    assert http.urls[0].status_codes == ((200, 204), (301, 301))
    misc = rs2.checkers[0]
    assert isinstance(misc, MiscCheck) and misc.script is not None
    assert misc.script.argv == ("/bin/true", "arg")
    assert misc.delay_before_retry == 1.0


def test_checker_defaults_by_type() -> None:
    r = parse("virtual_server 10.0.0.1 53 {\n protocol UDP\n lb_algo rr\n real_server 10.0.0.2 53"
              " {\n DNS_CHECK {\n name example.com\n }\n HTTP_GET {\n url {\n path /\n }\n"
              " }\n }\n}\n")
    dns, http = r.config.virtual_servers[0].real_servers[0].checkers
    assert dns.retry == 3 and dns.delay_before_retry == 60.0  # type: ignore[union-attr]
    assert http.retry == 1 and http.delay_before_retry == 3.0


def test_nb_get_retry_deprecated_synonym() -> None:
    r = parse("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n real_server 10.0.0.2 80"
              " {\n HTTP_GET {\n nb_get_retry 5\n url {\n path /\n }\n }\n }\n}\n")
    assert r.config.virtual_servers[0].real_servers[0].checkers[0].retry == 5
    assert "nb_get_retry is deprecated - please use 'retry'" in texts(r)


def test_virtual_server_warnings_as_keepalived() -> None:
    r = parse("virtual_server 10.0.0.1 80 {\n lb_kind DR\n lb_algo rr\n quorum 5\n"
              " real_server 10.0.0.2 81 {\n }\n}\n")
    t = texts(r)
    assert "Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP" in t
    assert any("ports don't match - resetting" in x for x in t)
    assert any("reducing quorum to 1" in x for x in t)
    assert r.config.virtual_servers[0].real_servers[0].port == 80
    r = parse("virtual_server 10.0.0.1 80 {\n protocol TCP\n}\n")
    assert "Virtual server [10.0.0.1]:tcp:80 has no real servers - ignoring" in texts(r)


def test_virtual_server_group_ranges() -> None:
    r = parse("virtual_server_group G {\n 10.0.0.1-10 80\n 10.1.0.0/30 443\n fwmark 7\n"
              " 2001:db8::1-ff 80\n}\n")
    e = r.config.virtual_server_groups[0].entries
    assert (e[0].first_ip, e[0].last_ip, e[0].port) == ("10.0.0.1", "10.0.0.10", 80)
    assert (e[1].first_ip, e[1].last_ip) == ("10.1.0.0", "10.1.0.3")
    assert e[2].fwmark == 7
    assert e[3].last_ip == "2001:db8::ff"


def test_trackers_blocks() -> None:
    r = parse("track_file tf {\n file /tmp/x\n weight -3 reverse\n init_file 5 overwrite\n}\n"
              "vrrp_track_process p {\n process nginx -g\n weight 10\n quorum 2\n delay 1.5\n}\n"
              "vrrp_track_file old {\n file /tmp/y\n}\n")
    tf, old = r.config.track_files
    assert (tf.path, tf.weight, tf.weight_reverse, tf.init_value, tf.init_overwrite) == (
        "/tmp/x", -3, True, 5, True)
    assert old.weight == 1
    p = r.config.track_processes[0]
    assert (p.process, p.params, p.weight, p.quorum, p.fork_delay) == ("nginx", ("-g",), 10, 2,
                                                                       1.5)
    assert "vrrp_track_file is deprecated - please use 'track_file'" in texts(r)


def test_bfd_static_garp_linkbeat_ssl_blocks() -> None:
    r = parse("bfd_instance b1 {\n neighbor_ip 10.0.0.2\n min_rx 50\n multiplier 3\n}\n"
              "bfd_instance b2 {\n min_rx 50\n}\n"
              "static_ipaddress {\n 10.9.9.9/32 dev eth0\n}\n"
              "static_routes {\n 10.8.0.0/16 via 10.0.0.1 dev eth0\n}\n"
              "garp_group {\n garp_interval 0.5\n interfaces {\n eth0\n eth1\n }\n}\n"
              "linkbeat_interfaces {\n eth0 MII\n}\n"
              "SSL {\n certificate /c.pem\n key /k.pem\n}\n")
    b = r.config.bfd_instances
    assert len(b) == 1 and (b[0].min_rx, b[0].multiplier, b[0].min_tx) == (50, 3, 10)
    assert any("has no neighbor address set" in t for t in texts(r))
    assert r.config.static_addresses[0].ip == "10.9.9.9"
    assert r.config.static_routes[0].dest == "10.8.0.0/16"
    assert r.config.garp_groups[0].interfaces == ("eth0", "eth1")
    assert r.config.linkbeat_interfaces[0].method == "MII"
    assert r.config.ssl is not None and r.config.ssl.certificate == "/c.pem"


def test_brace_errors_reported() -> None:
    r = parse("global_defs {\n router_id x\n}\n}\n")
    assert "Extra '}' found" in texts(r)
    r = parse("global_defs {\n router_id x\n")
    assert any("missing '}'" in t for t in texts(r))
    r = parse("global_defs {\n router_id x {\n }\n}\n")
    assert "Unexpected '{' - ignoring" in texts(r)


def test_top_level_keywords() -> None:
    r = parse("net_namespace blue\ninstance i1\nuse_pid_dir\nchild_wait_time 7\n")
    c = r.config
    assert (c.net_namespace, c.instance_name, c.use_pid_dir, c.child_wait_time) == (
        "blue", "i1", True, 7.0)


def test_severity_ordering_for_exit_codes() -> None:
    r = parse("bogus\n")
    assert r.worst == Severity.ERROR and r.exit_code_for_test() == 5
    assert parse("").exit_code_for_test() == 0


def test_master_without_priority_is_the_address_owner() -> None:
    _, i = inst("state MASTER")
    assert i.priority == 255 and i.is_owner  # type: ignore[attr-defined]
    _, i = inst("state MASTER\n priority 120")
    assert i.priority == 120  # type: ignore[attr-defined]


def test_strict_mode_rules() -> None:
    r, i = inst("strict_mode\n priority 100\n authentication {\n auth_type PASS\n"
                " auth_pass x\n }")
    assert "(VI_1) Strict mode does not support authentication. Ignoring." in texts(r)
    assert not i.accept and i.auth_type is None  # type: ignore[attr-defined]
    r = parse(BASIC.replace("192.168.1.10/24", "2001:db8::1/64") % "strict_mode")
    assert any("must be link local" in t for t in texts(r))


def test_http_virtualhost_inherits_from_real_and_virtual_server() -> None:
    r = parse("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n virtualhost vs.example\n"
              " real_server 10.0.0.2 80 {\n HTTP_GET {\n url {\n path /\n }\n }\n }\n"
              " real_server 10.0.0.3 80 {\n virtualhost rs.example\n HTTP_GET {\n url {\n"
              " path /\n }\n }\n }\n}\n")
    rs1, rs2 = r.config.virtual_servers[0].real_servers
    assert rs1.checkers[0].virtualhost == "vs.example"  # type: ignore[union-attr]
    assert rs2.checkers[0].virtualhost == "rs.example"  # type: ignore[union-attr]


def test_notify_deleted_flag_or_script() -> None:
    r, i = inst("notify_deleted")
    assert texts(r) == [] and i.notify_deleted_enabled and i.notify_deleted is None  # type: ignore[attr-defined]
    _, i = inst("notify_deleted /bin/true")
    assert i.notify_deleted is not None and i.notify_deleted_enabled  # type: ignore[attr-defined]


def test_expanded_text_reparses_to_the_same_model() -> None:
    text = ("$VIP=10.0.0.\n$INST= \\\n vrrp_instance VI_${N} { \\\n interface eth0 \\\n"
            " virtual_router_id ${N} \\\n virtual_ipaddress { \\\n ${VIP}${N}/24 \\\n } \\\n }\n"
            "~SEQ(N,1,3) $INST\n@h vrrp_script s { script /bin/true }\n")
    first = parse(text)
    again = parse(first.expanded_text)
    assert [m.text for m in again.messages] == [m.text for m in first.messages]

    def shape(r: ParseResult) -> list[tuple[str, int, tuple[str, ...]]]:
        return [(i.name, i.vrid, tuple(v.ip for v in i.virtual_ipaddresses))
                for i in r.config.vrrp_instances]

    assert shape(first) == shape(again) == [("VI_1", 1, ("10.0.0.1",)), ("VI_2", 2, ("10.0.0.2",)),
                                            ("VI_3", 3, ("10.0.0.3",))]
    assert [s.name for s in again.config.vrrp_scripts] == ["s"]


def test_garp_group_sets_instance_spacing() -> None:
    r = parse("global_defs {\n vrrp_garp_interval 0.1\n}\ngarp_group {\n garp_interval 0.5\n"
              " gna_interval 0.25\n interface eth0\n}\n" + BASIC % "" +
              BASIC.replace("VI_1", "VI_2").replace("eth0", "eth1").replace("51", "52") % "")
    i1, i2 = r.config.vrrp_instances
    assert (i1.garp_interval, i1.gna_interval) == (0.5, 0.25)
    assert (i2.garp_interval, i2.gna_interval) == (0.1, 0.0)


def test_script_weights_ignored_for_owner_and_sync_group_members() -> None:
    scr = "vrrp_script chk {\n script /bin/true\n weight 10\n}\n"
    r = parse(scr + BASIC % "priority 255\n track_script {\n chk\n }")
    assert "(VI_1) ignoring tracked script chk with weights due to address_owner" in texts(r)
    assert r.config.vrrp_instances[0].track_scripts[0].weight == 0
    two = BASIC % "track_script {\n chk\n }" + BASIC.replace("VI_1", "VI_2").replace(
        "51", "52") % ""
    r = parse(scr + two + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n")
    assert "(VI_1) ignoring tracked script chk with weights due to SYNC group" in texts(r)
    r = parse(scr + two + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n"
              " sync_group_tracking_weight\n}\n")
    assert r.config.vrrp_instances[0].track_scripts[0].weight is None


def test_address_family_consistency() -> None:
    r, i = inst("unicast_src_ip 10.0.0.1\n unicast_peer {\n 2001:db8::2\n 10.0.0.3\n }")
    assert any("MUST be of the same family" in t for t in texts(r))
    assert [p.ip for p in i.unicast_peers] == ["10.0.0.3"]  # type: ignore[attr-defined]
    r = parse("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n"
              " real_server 2001:db8::2 80 {\n }\n real_server 10.0.0.2 80 {\n }\n"
              " real_server 10.0.0.2 80 {\n }\n}\n")
    assert any("Address family of virtual server and real server 2001:db8::2" in t
               for t in texts(r))
    assert any("is duplicated - removing second rs" in t for t in texts(r))
    assert [rs.ip for rs in r.config.virtual_servers[0].real_servers] == ["10.0.0.2"]


def test_pathological_inputs_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    r = parse("vrrp_instance x " + "{\n" * 300 + "}\n" * 300)
    assert any("nested too deeply" in t for t in texts(r))
    assert not any("Internal error" in t for t in texts(r))
    monkeypatch.setattr("pykeepalived.config.lexer.MAX_SEQ_ITERATIONS", 1000)
    r = parse("~SEQ(i,1,100000) ~SEQ(j,1,100000) x\n")
    assert any("expansion exceeds 1000 repetitions" in t for t in texts(r))


def test_static_track_group_rules() -> None:
    r = parse("static_ipaddress {\n 10.5.5.5/32 dev eth0 track_group tg\n}\n"
              "track_group tg {\n group {\n VI_1\n }\n}\n"
              "static_rules {\n from 10.7.0.0/16 table 7 priority 7 track_group tg\n"
              " from 10.8.0.0/16 iif eth0 table 8 priority 8 track_group tg\n}\n")
    assert "track_group tg not found" in texts(r)  # used before it was defined
    assert r.config.static_addresses[0].track_group is None
    assert "Static rule cannot have track_group if dev/iif not specified" in texts(r)
    assert [x.track_group for x in r.config.static_rules] == [None, "tg"]


def test_value_checks_from_keepalived() -> None:
    r = parse("bfd_instance b {\n neighbor_ip 10.0.0.2\n idle_tx 500\n}\n")
    assert ("Configuration error: BFD instance b idle_tx value 500 is not valid (must be in "
            "range [1000-4294967]), ignoring") in texts(r)
    r = parse("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n"
              " sh-port\n real_server 10.0.0.2 80 {\n HTTP_GET {\n http_protocol 2.0\n"
              " url {\n path /\n }\n }\n }\n}\n")
    assert "Invalid http_protocol version 2.0" in texts(r)
    assert "sh-port only applies to sh scheduler - ignoring" in texts(r)
    assert r.config.virtual_servers[0].sched_flags == ()


@pytest.mark.parametrize(("glob", "field", "value"), [
    ("vrrp_check_unicast_src", "check_unicast_src", True),
    ("vrrp_lower_prio_no_advert", "lower_prio_no_advert", True),
    ("vrrp_higher_prio_send_advert", "higher_prio_send_advert", True),
    ("vrrp_down_timer_adverts 7", "down_timer_adverts", 7),
    ("vrrp_owner_ignore_adverts", "owner_ignore_adverts", True),
    ("vrrp_skip_check_adv_addr", "skip_check_adv_addr", True),
    ("vrrp_garp_master_refresh 60", "garp_master_refresh", 60.0),
    ("vrrp_garp_master_refresh_repeat 3", "garp_master_refresh_repeat", 3),
    ("vrrp_garp_interval 0.01", "garp_interval", 0.01),
    ("vrrp_gna_interval 0.02", "gna_interval", 0.02),
    ("vrrp_notify_priority_changes", "notify_priority_changes", True),
    ("vrrp_garp_lower_prio_delay 3", "garp_lower_prio_delay", 3.0),
    ("vrrp_garp_lower_prio_repeat 2", "garp_lower_prio_repeat", 2),
])
def test_each_vrrp_global_is_the_default_of_its_instance_keyword(
        glob: str, field: str, value: object) -> None:
    """A vrrp_* global sets what an instance that does not set it itself does (the instance
    keyword's own effect is tested where it acts)."""
    i = parse(f"global_defs {{\n {glob}\n}}\n" + BASIC % "").config.vrrp_instances[0]
    assert getattr(i, field) == value
    plain = parse(BASIC % "").config.vrrp_instances[0]
    assert getattr(plain, field) != value


def test_iproute_dirs_name_the_routing_tables(tmp_path: Path) -> None:
    """iproute_usr_dir's rt_tables (and its rt_tables.d), overridden by iproute_etc_dir's:
    a route's or rule's table name becomes its number; an unknown name drops the line."""
    from pykeepalived.config.environment import SystemEnvironment

    usr, etc = tmp_path / "usr", tmp_path / "etc"
    (usr / "rt_tables.d").mkdir(parents=True)
    (etc / "rt_tables.d").mkdir(parents=True)
    (usr / "rt_tables").write_text("88\tfromusr\n# 90 commented\n")
    (usr / "rt_tables.d" / "a.conf").write_text("91 usrd\n")
    (etc / "rt_tables.d" / "b.conf").write_text("0x59 etcd\n")
    text = (f"global_defs {{\n iproute_usr_dir {usr}\n iproute_etc_dir {etc}\n}}\n"
            "static_routes {\n 10.1.0.0/16 dev eth0 table fromusr\n"
            " 10.2.0.0/16 dev eth0 table usrd\n 10.3.0.0/16 dev eth0 table commented\n}\n"
            "static_rules {\n from 10.4.0.0/16 table etcd priority 5\n}\n")
    r = load_text(text, env=SystemEnvironment())
    assert [x.table for x in r.config.static_routes] == ["88", "91"]
    assert [x.table for x in r.config.static_rules] == ["89"]
    assert "Routing table commented not found for route" in texts(r)


def test_config_only_vrrp_keywords() -> None:
    """no_virtual_ipaddress silences 'No VIP specified'; unicast_fault_no_peer the warning of
    a unicast keyword without peers; native_ipv6 makes an instance without addresses IPv6
    (VRRPv3); global_tracking keeps the script weights of a sync group's members."""
    novip = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n%s\n}\n"
    assert any("No VIP specified" in t for t in texts(parse(novip % "")))
    assert not any("No VIP specified" in t for t in texts(parse(novip % " no_virtual_ipaddress")))
    r, _ = inst("unicast_src_ip 10.0.0.1")
    assert any("without any unicast peers" in t for t in texts(r))
    r, _ = inst("unicast_src_ip 10.0.0.1\n unicast_fault_no_peer")
    assert not any("without any unicast peers" in t for t in texts(r))
    i = parse(novip % " native_ipv6").config.vrrp_instances[0]
    assert (i.family, i.version) == (6, 3)
    group = ("vrrp_script s {\n script /bin/true\n weight 5\n}\n"
             "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_script {\n  s\n"
             " }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
             "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n"
             " virtual_ipaddress {\n  10.0.0.2\n }\n}\n"
             "vrrp_sync_group G {\n group {\n  A\n  B\n }\n%s\n}\n")
    assert any("ignoring tracked script s with weights" in t for t in texts(parse(group % "")))
    r = parse(group % " global_tracking")
    assert not any("ignoring tracked script" in t for t in texts(r))
    assert r.config.sync_groups[0].sync_group_tracking_weight


def test_sync_group_notify_priority_changes_is_its_members_default() -> None:
    text = ("global_defs {\n vrrp_notify_priority_changes\n}\n"
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n%s\n"
            " virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
            "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n"
            " virtual_ipaddress {\n  10.0.0.2\n }\n}\n"
            "vrrp_sync_group G {\n group {\n  A\n  B\n }\n notify_priority_changes off\n}\n")
    a, b = parse(text % "").config.vrrp_instances
    assert not a.notify_priority_changes and not b.notify_priority_changes
    a, b = parse(text % " notify_priority_changes").config.vrrp_instances
    assert a.notify_priority_changes and not b.notify_priority_changes
