"""The daemon's processes stay small: what they import, checked in a fresh interpreter.

The parent only supervises children and handles signals. It parses the config in a forked helper
(``Supervisor._wanted_children``), so after start-up it must not hold the config package, asyncio,
the notify/track/check/lvs stacks or the mail and DNS libraries; the VRRP child imports SMTP only
when it sends mail and lvs only for ``lvs_sync_daemon``; the checker child imports dnspython (and,
through it, email) only for a DNS_CHECK. Each import here costs 0.3-4 MiB per
process (docs/performance-resources.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Never in the parent after start-up (the helper that parsed the config has exited).
PARENT_FORBIDDEN = (
    "asyncio", "pykeepalived.config", "pykeepalived.vrrp", "pykeepalived.net",
    "pykeepalived.notify", "pykeepalived.track", "pykeepalived.script", "pykeepalived.check",
    "pykeepalived.lvs",
    "aiosmtplib", "dns", "email", "ssl", "pyroute2", "ctypes.util", "logging.handlers",
    "pickle",
)
# Never in the VRRP child of a config without smtp / lvs_sync_daemon / checkers.
CHILD_FORBIDDEN = ("aiosmtplib", "email", "dns", "pykeepalived.check", "pykeepalived.lvs",
                   "pykeepalived.daemon.check_process")

CONF = """\
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 7
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.79.1.1/16
  }
}
"""


def _run(code: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def _loaded(mods: object, prefixes: tuple[str, ...]) -> list[str]:
    assert isinstance(mods, list)
    return sorted(m for m in mods if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_parent_decides_children_without_importing_config(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(CONF + "virtual_server 10.1.1.1 80 {\n real_server 10.1.1.2 80 {\n"
                    " TCP_CHECK {\n }\n }\n}\n")
    got = _run(f"""
        import json, sys
        from pykeepalived.cli import main  # what `python -m pykeepalived` runs
        from pykeepalived.daemon.main import Supervisor
        from pykeepalived.options import parse
        opts, _ = parse(["-f", {str(conf)!r}, "-n", "-G"])
        sup = Supervisor(opts)
        kinds = sup._wanted_children()
        print(json.dumps({{"kinds": kinds, "gd": sup.global_defs is not None,
                          "mods": sorted(sys.modules)}}))
    """)
    assert got["kinds"] == ["vrrp", "checker"]  # the helper parsed the file and answered
    assert got["gd"] is False  # no global script: global_defs not even sent back
    assert _loaded(got["mods"], PARENT_FORBIDDEN) == []


def test_parent_gets_global_defs_when_a_global_script_is_set(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text('global_defs {\n router_id r7\n shutdown_script "/bin/true"\n}\n' + CONF)
    got = _run(f"""
        import json, sys
        from pykeepalived.daemon.main import Supervisor
        from pykeepalived.options import parse
        opts, _ = parse(["-f", {str(conf)!r}, "-n", "-G", "-P"])
        sup = Supervisor(opts)
        kinds = sup._wanted_children()
        gd = sup.global_defs
        print(json.dumps({{"kinds": kinds, "router_id": gd.router_id,
                          "script": list(gd.shutdown_script.argv)}}))
    """)
    assert got == {"kinds": ["vrrp"], "router_id": "r7", "script": ["/bin/true"]}


def test_missing_or_broken_config_starts_nothing(tmp_path: Path) -> None:
    got = _run(f"""
        import json
        from pykeepalived.daemon.main import Supervisor
        from pykeepalived.options import parse
        sup = Supervisor(parse(["-f", {str(tmp_path / "none.conf")!r}, "-n", "-G"])[0])
        print(json.dumps({{"kinds": sup._wanted_children()}}))
    """)
    assert got == {"kinds": None}


def test_checker_child_imports_dns_and_mail_only_when_used() -> None:
    got = _run("""
        import json, sys
        import pykeepalived.cli, pykeepalived.daemon.main
        import pykeepalived.daemon.check_process
        print(json.dumps({"mods": sorted(sys.modules)}))
    """)
    assert _loaded(got["mods"], ("aiosmtplib", "email", "dns")) == []


def test_vrrp_child_imports_no_mail_dns_or_lvs() -> None:
    got = _run("""
        import json, sys
        import pykeepalived.cli, pykeepalived.daemon.main
        from pykeepalived.daemon.vrrp_process import run_vrrp_child
        from pykeepalived.notify import Notifier
        from pykeepalived.track import Trackers
        print(json.dumps({"mods": sorted(sys.modules)}))
    """)
    assert _loaded(got["mods"], CHILD_FORBIDDEN) == []
