"""Every checker kind lands in its own typed model with its own keywords, and ``-t -e`` turns a
missing include into exit 4 ("cannot run")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pykeepalived.config import load_text
from pykeepalived.config.configtest import run_config_test
from pykeepalived.config.environment import FakeEnvironment
from pykeepalived.config.model import (
    BfdCheck,
    DnsCheck,
    FileCheck,
    PingCheck,
    SmtpCheck,
    SslGet,
    UdpCheck,
)
from pykeepalived.options import Options

CHECKERS = """
global_defs {
  enable_script_security
  script_user nobody
}
bfd_instance B1 {
  neighbor_ip 10.0.0.9
}
track_file TF {
  file /tmp/tf
}
virtual_server 10.0.0.1 25 {
  protocol TCP
  lb_algo wrr
  lb_kind NAT
  delay_loop 7
  real_server 10.0.0.2 25 {
    SMTP_CHECK {
      helo_name mx.example
      connect_timeout 3
    }
    SSL_GET {
      url {
        path /ok
        digest 9b3a0c85a887a256d6939da88aabd8cd
      }
      enable_sni
      sni_name web.example
    }
    PING_CHECK {
      retry 4
    }
    FILE_CHECK {
      track_file TF
      weight 5 reverse
    }
    BFD_CHECK {
      name B1
    }
  }
}
virtual_server 10.0.0.1 53 {
  protocol UDP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.3 53 {
    UDP_CHECK {
      payload 01020304
      require_reply 0aXX
      min_reply_length 2
      max_reply_length 40
    }
    DNS_CHECK {
      type A
      name example.com
    }
  }
}
"""


def test_every_checker_kind_parses_into_its_model() -> None:
    r = load_text(CHECKERS, config_id="h", filename="/etc/keepalived/keepalived.conf",
                  env=FakeEnvironment())
    # only the notes of the BFD lines (BFD is not supported)
    assert [m.format() for m in r.messages if "BFD is not supported" not in m.text] == []
    smtp, ssl, ping, filec, bfd = r.config.virtual_servers[0].real_servers[0].checkers
    udp, dns = r.config.virtual_servers[1].real_servers[0].checkers
    assert isinstance(smtp, SmtpCheck) and smtp.helo_name == "mx.example"
    assert (smtp.connect_timeout, smtp.delay_loop, smtp.connect_ip) == (3.0, 7.0, "10.0.0.2")
    assert isinstance(ssl, SslGet) and ssl.kind == "SSL_GET"
    assert ssl.urls[0].digest == "9b3a0c85a887a256d6939da88aabd8cd"
    assert (ssl.enable_sni, ssl.sni_name, ssl.delay_before_retry) == (True, "web.example", 3.0)
    assert isinstance(ping, PingCheck) and ping.retry == 4
    assert isinstance(filec, FileCheck)
    assert (filec.track_file, filec.weight, filec.weight_reverse) == ("TF", 5, True)
    assert isinstance(bfd, BfdCheck) and bfd.name == "B1"
    assert isinstance(udp, UdpCheck) and udp.payload == b"\x01\x02\x03\x04"
    assert (udp.require_reply, udp.min_reply_length, udp.max_reply_length) == ("0aXX", 2, 40)
    assert isinstance(dns, DnsCheck) and (dns.type, dns.name, dns.retry) == ("A", "example.com",
                                                                             3)


@pytest.mark.parametrize(("block", "message"), [
    ("FILE_CHECK {\n track_file NOPE\n }", "NOPE"),
    ("BFD_CHECK {\n name NOPE\n }", "NOPE"),
    ("UDP_CHECK {\n min_reply_length 300\n }", "min_reply length 300 > max_reply_length 255"),
    ("UDP_CHECK {\n min_reply_length 20\n max_reply_length 10\n }", "20 > max_reply_length 10"),
    ("DNS_CHECK {\n type BOGUS\n }", "BOGUS"),
])
def test_checker_errors_are_reported_not_raised(block: str, message: str) -> None:
    text = ("virtual_server 10.0.0.1 53 {\n protocol UDP\n lb_algo rr\n lb_kind NAT\n"
            f" real_server 10.0.0.3 53 {{\n {block}\n }}\n}}\n")
    r = load_text(text, config_id="h", filename="/k.conf", env=FakeEnvironment())
    assert any(message in m.text for m in r.messages), [m.format() for m in r.messages]
    assert r.exit_code_for_test() == 5


def test_config_test_all_config_missing_include_exits_4(tmp_path: Path) -> None:
    cfg = tmp_path / "keepalived.conf"
    cfg.write_text("include nothere.conf\n")
    assert run_config_test(Options(config_file=str(cfg))) == 0
    assert run_config_test(Options(config_file=str(cfg), all_config=True)) == 4


NB_GET_RETRY = """virtual_server 192.168.154.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.154.12 80 {
        TCP_CHECK {
            connect_port 80
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 3
        }
    }
    real_server 192.168.154.13 80 {
        HTTP_GET {
            url {
              path /
            }
            nb_get_retry 2
        }
    }
}
"""


def test_nb_get_retry_belongs_to_http_get_only(tmp_path: Path) -> None:
    """keepalived 2.2.7 knows nb_get_retry in HTTP_GET/SSL_GET only: in a TCP_CHECK it is an
    unknown keyword and the check keeps its default single retry (a common blog config)."""
    r = load_text(NB_GET_RETRY, config_id="h", filename="/k.conf", env=FakeEnvironment())
    lines = [m.format() for m in r.messages]
    assert lines == ["(/k.conf: Line 10) Unknown keyword 'nb_get_retry'",
                     "(/k.conf: Line 19) nb_get_retry is deprecated - please use 'retry'"]
    tcp = r.config.virtual_servers[0].real_servers[0].checkers[0]
    http = r.config.virtual_servers[0].real_servers[1].checkers[0]
    assert (tcp.kind, tcp.retry, tcp.delay_before_retry) == ("TCP_CHECK", 1, 3.0)
    assert (http.kind, http.retry) == ("HTTP_GET", 2)
    if shutil.which("keepalived") is None:
        return
    conf = tmp_path / "k.conf"
    conf.write_text(NB_GET_RETRY)
    p = subprocess.run(["keepalived", "-t", "-f", str(conf)], capture_output=True, text=True,
                       timeout=30)
    theirs = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("(")]
    assert theirs == [ln.replace("/k.conf", str(conf)) for ln in lines]
    assert p.returncode == r.exit_code_for_test() == 5
