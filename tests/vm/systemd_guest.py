"""pykeepalived as a systemd service, checked INSIDE the qemu guest whose PID 1 is Debian's
systemd (one boot; run by tests/vm/test_systemd_vm.py). Not a pytest file: named checks run in
order, each recorded as ok / failed in a JSON report, as lvs_guest_ipvs.py does.

The node's interface is one end of a veth pair; the other end sits in a namespace ``peer``
where tcpdump plays the peer that sees the adverts. The config is the seeds' shape (keepalived's
default path, ``state MASTER``, ``advert_int 1``, PASS authentication) and every command is the
seeds' own: ``systemctl start|reload|stop keepalived``, a check script that runs
``killall -0 nginx`` and ``systemctl stop keepalived``.

Usage: python systemd_guest.py REPORT.json
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

CHECKS: list[tuple[str, Callable[[], None]]] = []
STATE: dict[str, object] = {}  # numbers for the report
PROCS: dict[str, subprocess.Popen[bytes]] = {}
CONF = Path("/etc/keepalived/keepalived.conf")
UNIT = Path("/etc/systemd/system/pykeepalived.service")
DROPIN = Path("/etc/systemd/system/pykeepalived.service.d/test.conf")
NGINX = Path("/tmp/nginx")
NGINX_CHECK = Path("/etc/keepalived/nginx.sh")
NOTIFY = Path("/etc/keepalived/notify.sh")
VIP = "10.99.60.188"
PK = str(Path(sys.executable).parent / "pykeepalived")


def install(hardened: bool = False, reload: bool = True) -> str:
    """``pykeepalived --install-unit[=hardened]``, in this process (an interpreter start costs
    seconds in the emulated guest); the command-line path is tests/unit/deploy's."""
    import contextlib
    import io

    from pykeepalived.deploy.install import main as install_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        install_main(hardened=hardened, reload=reload)
    return buf.getvalue()


def check(fn: Callable[[], None]) -> Callable[[], None]:
    CHECKS.append((fn.__name__, fn))
    return fn


def sh(cmd: str, ok: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    t0 = time.monotonic()
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    if took > 2:
        print(f"  [{took:.1f} s] {cmd}", flush=True)
    if ok and p.returncode != 0:
        raise RuntimeError(f"{cmd}: rc={p.returncode} {p.stdout.strip()} {p.stderr.strip()}")
    return p


def prop(name: str, unit: str = "pykeepalived") -> str:
    return sh(f"systemctl show -p {name} --value {unit}").stdout.strip()


def has_vip() -> bool:
    return VIP in sh("ip -4 addr show dev pkv0").stdout


def wait_for(pred: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def journal(unit: str = "pykeepalived", since: str = "") -> list[dict[str, str]]:
    out = sh(f"journalctl -b -u {unit} -o json --no-pager {since}").stdout
    return [json.loads(ln) for ln in out.splitlines() if ln.strip()]


def messages(entries: list[dict[str, str]]) -> str:
    return "\n".join(str(e.get("MESSAGE", "")) for e in entries)


def write_conf(comment: str = "") -> None:
    """Seed 003's shape: nginx checked by a script that stops keepalived, state MASTER,
    advert_int 1, PASS; a notify_master script run as ``script_user nobody``. The script's
    timeout is generous: a bash and a killall can take over a second in the emulated guest,
    and a check that times out is a failed one (FAULT, the VIP gone)."""
    CONF.write_text(comment + f"""global_defs {{
    router_id LVS_01
    enable_script_security
    script_user nobody
}}

vrrp_script check_nginx {{
    script "{NGINX_CHECK}"
    interval 1
    timeout 10
    user root
}}

vrrp_instance VI_1 {{
    state MASTER
    interface pkv0
    virtual_router_id 10
    priority 100
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass abc123
    }}
    track_script {{
        check_nginx
    }}
    notify_master {NOTIFY}
    virtual_ipaddress {{
        {VIP}
    }}
}}
""")


def stop_service() -> None:
    sh("systemctl stop pykeepalived", ok=False)
    sh("systemctl reset-failed pykeepalived", ok=False)


# ------------------------------------------------------------------------------ checks


@check
def lab_up() -> None:
    sh("ip link add pkv0 type veth peer name pkv1")
    sh("ip netns add peer")
    sh("ip link set pkv1 netns peer")
    sh("ip addr add 10.99.60.1/24 dev pkv0 && ip link set pkv0 up")
    sh("ip netns exec peer ip addr add 10.99.60.2/24 dev pkv1")
    sh("ip netns exec peer ip link set pkv1 up")
    assert Path("/proc/1/comm").read_text() == "systemd\n"
    NGINX_CHECK.write_text("#!/bin/bash\nif ! killall -0 nginx &> /dev/null;then\n"
                           "    systemctl stop keepalived\nfi\n")
    NOTIFY.write_text("#!/bin/sh\nid -u > /tmp/pk-notify-uid\n")
    for f in (NGINX_CHECK, NOTIFY):
        f.chmod(0o755)
    shutil.copy("/bin/sleep", NGINX)  # a process whose name is nginx
    PROCS["nginx"] = subprocess.Popen([str(NGINX), "10000"])


@check
def install_says_why_no_alias_next_to_keepalived() -> None:
    assert Path("/lib/systemd/system/keepalived.service").exists(), "Debian's unit expected"
    out = install(reload=False)  # the systemctl enable below reloads once for everything
    assert "No keepalived.service alias" in out and "keepalived.service exists" in out, out
    assert "Alias=" not in UNIT.read_text()


@check
def install_aliases_keepalived_where_none_exists() -> None:
    """The machine without Debian's keepalived (its unit directory less keepalived.service);
    the hardened variant, which is the plain unit plus the capability block: what runs below
    proves both."""
    shutil.copytree("/usr/lib/systemd/system", "/run/pk-units", symlinks=True)
    os.unlink("/run/pk-units/keepalived.service")
    sh("mount --bind /run/pk-units /usr/lib/systemd/system")
    out = install(hardened=True, reload=False)
    assert "Alias=keepalived.service" in out and "hardened" in out, out
    assert "Alias=keepalived.service" in UNIT.read_text()
    # The emulated guest starts Python slowly: room beyond systemd's default 90 s, and a
    # watchdog short enough to test (the unit ships 30 s).
    DROPIN.parent.mkdir(parents=True, exist_ok=True)
    DROPIN.write_text("[Service]\nTimeoutStartSec=400s\nWatchdogSec=6s\nRestartSec=1s\n"
                      "TimeoutAbortSec=2s\n")
    sh("systemctl enable pykeepalived")  # reloads the manager too
    link = Path("/etc/systemd/system/keepalived.service")
    assert link.is_symlink() and link.resolve() == UNIT, link
    assert prop("Id", "keepalived") == "pykeepalived.service"


@check
def broken_config_fails_the_start_with_file_line() -> None:
    write_conf()
    CONF.write_text(CONF.read_text().replace("virtual_router_id 10", "virtual_router_id 300"))
    try:
        p = sh("systemctl start keepalived", ok=False, timeout=300)
        assert p.returncode != 0, "start succeeded with a broken file"
        line = CONF.read_text().splitlines().index("    virtual_router_id 300") + 1
        want = f"({CONF}: Line {line}) number '300' outside range [1, 255]"
        text = messages(journal())
        assert want in text, text[-2000:]
        assert not has_vip()
    finally:
        stop_service()  # cancels Restart=on-failure's next try


@check
def start_returns_after_ready_with_the_vip() -> None:
    write_conf()
    t0 = time.monotonic()
    sh("systemctl start keepalived", timeout=420)
    STATE["start_seconds"] = round(time.monotonic() - t0, 2)
    status = prop("StatusText")
    assert has_vip(), ("systemctl start returned before the VIP was on pkv0", status,
                       sh("journalctl -b --no-pager -o short-monotonic -n 60").stdout)
    assert prop("ActiveState") == "active" and prop("SubState") == "running"
    assert status == "1 instance: 1 MASTER", status
    STATE["main_pid"] = int(prop("MainPID"))
    STATE["vrrp_pid"] = int(Path("/run/keepalived_vrrp.pid").read_text())


@check
def hardened_unit_runs_with_capabilities_only() -> None:
    main = STATE["main_pid"]
    status = Path(f"/proc/{main}/status").read_text()
    bnd = int(re.search(r"CapBnd:\s*([0-9a-f]+)", status).group(1), 16)  # type: ignore[union-attr]
    caps = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
            "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_SYS_NICE": 23}
    assert bnd == sum(1 << b for b in caps.values()), hex(bnd)
    # notify_master ran as script_user nobody: CAP_SETUID/SETGID at work
    assert wait_for(lambda: Path("/tmp/pk-notify-uid").exists(), 20)
    assert Path("/tmp/pk-notify-uid").read_text().strip() == "65534"


@check
def processes_are_found_as_keepalived() -> None:
    main, child = STATE["main_pid"], STATE["vrrp_pid"]
    ours = {main, child}
    assert {int(x) for x in sh("pidof keepalived").stdout.split()} == ours
    assert {int(x) for x in sh("pgrep -x keepalived").stdout.split()} == ours
    assert sh("killall -0 keepalived", ok=False).returncode == 0
    assert Path(f"/proc/{main}/comm").read_text().strip() == "keepalived"
    cmdline = Path(f"/proc/{main}/cmdline").read_bytes().split(b"\0")[0].decode()
    assert cmdline.startswith("keepalived --dont-fork"), cmdline


@check
def journal_has_keepalived_identifiers_and_priorities() -> None:
    main, child = STATE["main_pid"], STATE["vrrp_pid"]
    entries = journal()
    idents = {(e.get("SYSLOG_IDENTIFIER"), e.get("_PID")) for e in entries}
    assert ("Keepalived", str(main)) in idents, idents
    assert ("Keepalived_vrrp", str(child)) in idents, idents
    master = [e for e in entries if e.get("MESSAGE") == "(VI_1) Entering MASTER STATE"]
    assert master and master[0]["SYSLOG_IDENTIFIER"] == "Keepalived_vrrp", master
    assert master[0]["PRIORITY"] == "6" and master[0]["SYSLOG_PID"] == str(child)
    started = [e for e in entries if e.get("MESSAGE") == "Startup complete"
               and e.get("SYSLOG_IDENTIFIER") == "Keepalived"]
    assert started and started[0]["_PID"] == str(main)
    # the config test's error (ExecStartPre's stderr) of the broken start
    assert any("outside range" in str(e.get("MESSAGE")) for e in entries)


@check
def reload_by_diff_without_vip_flap() -> None:
    mon = subprocess.Popen(["ip", "monitor", "address", "dev", "pkv0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.5)
        write_conf(comment="# reloaded by systemctl\n\n")
        cursor = time.time()
        t0 = time.monotonic()
        sh("systemctl reload keepalived", timeout=300)
        STATE["reload_seconds"] = round(time.monotonic() - t0, 2)
        time.sleep(1.5)
    finally:
        mon.send_signal(signal.SIGTERM)
        out, _ = mon.communicate(timeout=5)
    assert VIP not in out, f"the VIP changed during the reload: {out}"
    assert has_vip() and prop("ActiveState") == "active"
    text = messages(journal(since=f"--since=@{int(cursor)}"))
    assert "Reload complete" in text and "Reload finished: 1 instance(s) kept" in text, text
    assert int(prop("MainPID")) == STATE["main_pid"]


@check
def watchdog_restarts_a_stopped_vrrp_child() -> None:
    main, child = STATE["main_pid"], STATE["vrrp_pid"]
    restarts = int(prop("NRestarts"))
    assert prop("WatchdogUSec") == "6s"
    os.kill(child, signal.SIGSTOP)
    t0 = time.monotonic()
    assert wait_for(lambda: int(prop("NRestarts")) > restarts
                    and prop("ActiveState") == "active", 420, step=1.0), prop("ActiveState")
    STATE["watchdog_restart_seconds"] = round(time.monotonic() - t0, 2)
    assert int(prop("MainPID")) != main
    assert wait_for(has_vip, 30)
    assert "watchdog timeout" in messages(journal()).lower()
    assert not Path(f"/proc/{child}").exists()


@check
def seed_check_script_stops_the_service_gracefully() -> None:
    """nginx dies; the seeds' check script runs ``systemctl stop keepalived``: a graceful
    stop, the peer sees priority 0 and the VIP leaves."""
    assert prop("ActiveState") == "active"
    cap = subprocess.Popen(["ip", "netns", "exec", "peer", "tcpdump", "-l", "-n", "-v", "-i",
                            "pkv1", "ip", "proto", "112"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    nginx = PROCS.pop("nginx")
    try:
        time.sleep(3.0)  # tcpdump up, adverts flowing
        nginx.kill()
        nginx.wait()
        assert wait_for(lambda: prop("ActiveState") == "inactive", 120), prop("ActiveState")
        time.sleep(0.5)
    finally:
        cap.send_signal(signal.SIGINT)
        out, _ = cap.communicate(timeout=10)
    assert re.search(r"vrid 10, prio 100", out), out[-1000:]
    assert re.search(r"vrid 10, prio 0", out), out[-1000:]
    assert not has_vip()
    assert prop("Result") == "success"
    # by identifier: journald may not attribute a line to the unit when its sender exits at
    # once (it reads the cgroup of a pid that is gone)
    out = sh("journalctl -b --no-pager -o cat SYSLOG_IDENTIFIER=Keepalived_vrrp").stdout
    assert "(VI_1) sent 0 priority" in out, out[-1500:]


def main() -> int:
    report: dict[str, object] = {}
    out = Path(sys.argv[1])
    for name, fn in CHECKS:
        t0 = time.monotonic()
        try:
            fn()
            report[name] = {"ok": True, "seconds": round(time.monotonic() - t0, 2)}
        except Exception:
            report[name] = {"ok": False, "detail": traceback.format_exc()[-3000:]}
        print(f"{name}: {report[name]}", flush=True)
        out.write_text(json.dumps({**report, "_state": STATE}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
