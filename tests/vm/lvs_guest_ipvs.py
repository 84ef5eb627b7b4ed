"""IPVS backend checks, run INSIDE the qemu guest (one boot) by tests/vm/test_lvs_ipvs_vm.py.

Not a pytest file (booting is the expensive part, and pytest's import alone costs many seconds
of emulated CPU): a list of named checks run in order, each recorded as ok / failed with its
traceback in a JSON report the host test reads. ``ipvsadm`` is the oracle for what the kernel
holds; the expected lines below are written by hand, not derived from our own code.

Usage: python lvs_guest_ipvs.py REPORT.json
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from pykeepalived.config.model import GlobalDefs, LvsSyncDaemon
from pykeepalived.lvs.backend import DataplaneError, LvsSettings, SyncDaemonSpec
from pykeepalived.lvs.dataplane import select_backend
from pykeepalived.lvs.ipvs import IpvsBackend, normalized
from pykeepalived.lvs.syncd import SyncDaemonFollower
from pykeepalived.lvs.table import (
    AddDest,
    AddService,
    DeleteDest,
    DeleteService,
    EditDest,
    EditService,
    FwdMethod,
    LvsDest,
    LvsService,
    LvsTable,
    ServiceFlag,
    ServiceKey,
    TunFlag,
    TunType,
)

CHECKS: list[tuple[str, Callable[[], None]]] = []
LOOP = asyncio.new_event_loop()
STATE: dict[str, object] = {}
T = TypeVar("T")


def check(fn: Callable[[], None]) -> Callable[[], None]:
    CHECKS.append((fn.__name__, fn))
    return fn


def sh(cmd: str) -> str:
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd}: rc={p.returncode} {p.stderr.strip()}")
    return p.stdout


def run(coro: Coroutine[Any, Any, T]) -> T:
    return LOOP.run_until_complete(coro)


def backend(name: str = "b") -> IpvsBackend:
    b = STATE[name]
    assert isinstance(b, IpvsBackend)
    return b


def lab() -> GuestLab:
    lb = STATE["lab"]
    assert isinstance(lb, GuestLab)
    return lb


def ipvsadm_table(prefix: str = "") -> dict[str, list[str]]:
    """``ipvsadm -Ln`` as {service line: sorted [dest 'addr:port Forward Weight']}."""
    out: dict[str, list[str]] = {}
    current = None
    for line in sh(f"{prefix}ipvsadm -Ln").splitlines()[3:]:
        if line.startswith("  ->"):
            f = line.split()
            assert current is not None
            out[current].append(" ".join(f[1:4]))
        elif line.strip():
            current = " ".join(line.split())
            out[current] = []
    return {k: sorted(v) for k, v in out.items()}


K80 = ServiceKey.inet("10.0.0.100", 80)
K53 = ServiceKey.inet("10.0.0.100", 53, "UDP")
K83 = ServiceKey.inet("10.0.0.100", 83, "SCTP")
K5060 = ServiceKey.inet("10.0.0.101", 5060, "UDP")
K6_80 = ServiceKey.inet("2001:db8::100", 80)
K6_81 = ServiceKey.inet("2001:db8::100", 81)
KF7 = ServiceKey.mark(7)
KF8 = ServiceKey.mark(8, 6)
K443 = ServiceKey.inet("10.0.0.102", 443)

T1 = LvsTable.build([
    (LvsService(K80, "wrr"), [
        LvsDest("10.1.0.1", 8080, 3),
        LvsDest("10.1.0.2", 8080, 6, fwd=FwdMethod.DR),
        LvsDest("10.1.0.3", 8080, 0, u_threshold=100, l_threshold=50)]),
    (LvsService(K53, "sh", flags=ServiceFlag.SCHED2 | ServiceFlag.ONEPACKET),
     [LvsDest("10.1.0.1", 53, 1)]),
    (LvsService(K83, "wlc", timeout=300, netmask=24),
     [LvsDest("10.1.0.1", 0, 1, fwd=FwdMethod.TUN, tun_type=TunType.GUE, tun_port=6080,
              tun_flags=TunFlag.CSUM)]),
    (LvsService(K5060, "rr", timeout=30, pe_name="sip"), [LvsDest("10.1.0.1", 5060, 1)]),
    (LvsService(K6_80, "fo", netmask=128), [LvsDest("2001:db8::1", 80, 1)]),
    (LvsService(K6_81, "sh", timeout=60, netmask=64),
     [LvsDest("2001:db8::2", 80, 2, fwd=FwdMethod.DR)]),
    (LvsService(KF7, "rr"), [LvsDest("10.1.0.1", 0, 1), LvsDest("10.1.0.2", 0, 1,
                                                                fwd=FwdMethod.DR)]),
    (LvsService(KF8, "rr", netmask=128), [LvsDest("2001:db8::1", 0, 1)]),
])

T1_IPVSADM = {
    "TCP 10.0.0.100:80 wrr": ["10.1.0.1:8080 Masq 3", "10.1.0.2:8080 Route 6",
                              "10.1.0.3:8080 Masq 0"],
    "UDP 10.0.0.100:53 sh (sh-port) ops": ["10.1.0.1:53 Masq 1"],
    "SCTP 10.0.0.100:83 wlc persistent 300 mask 255.255.255.0": ["10.1.0.1:0 Tunnel 1"],
    "UDP 10.0.0.101:5060 rr persistent 30 pe sip": ["10.1.0.1:5060 Masq 1"],
    "TCP [2001:db8::100]:80 fo": ["[2001:db8::1]:80 Masq 1"],
    "TCP [2001:db8::100]:81 sh persistent 60 mask 64": ["[2001:db8::2]:80 Route 2"],
    "FWM 7 rr": ["10.1.0.1:0 Masq 1", "10.1.0.2:0 Route 1"],
    "FWM 8 IPv6 rr": ["[2001:db8::1]:0 Masq 1"],
}


def t2() -> LvsTable:
    t = T1.without_service(K5060)
    t = t.with_service(LvsService(K80, "wrr"), [
        LvsDest("10.1.0.1", 8080, 3), LvsDest("10.1.0.2", 8080, 4, fwd=FwdMethod.DR),
        LvsDest("10.1.0.4", 8080, 2)])
    t = t.with_service(LvsService(K53, "rr"), [LvsDest("10.1.0.1", 53, 1)])
    return t.with_service(LvsService(K443, "lc", timeout=120), [LvsDest("10.1.0.5", 443, 7)])


T2_CHANGED = {
    "TCP 10.0.0.100:80 wrr": ["10.1.0.1:8080 Masq 3", "10.1.0.2:8080 Route 4",
                              "10.1.0.4:8080 Masq 2"],
    "UDP 10.0.0.100:53 rr": ["10.1.0.1:53 Masq 1"],
    "TCP 10.0.0.102:443 lc persistent 120": ["10.1.0.5:443 Masq 7"],
}


def expected_t2() -> dict[str, list[str]]:
    out = {k: v for k, v in T1_IPVSADM.items()
           if not k.startswith(("TCP 10.0.0.100:80 ", "UDP 10.0.0.100:53 ", "UDP 10.0.0.101"))}
    out.update(T2_CHANGED)
    return out


# ------------------------------------------------------------------------------ table checks


@check
def setup_root_namespace() -> None:
    # IPVS refuses real servers whose address is not unicast-routable: give it routes.
    sh("ip link set lo up; ip link add pkd0 type dummy; ip link set pkd0 up;"
       "ip addr add 10.1.0.254/24 dev pkd0; ip addr add 2001:db8::fe/64 dev pkd0 nodad")
    b = select_backend("auto", settings=LvsSettings(
        timeout_tcp=900, timeout_tcpfin=60, timeout_udp=120,
        sync_daemon=SyncDaemonSpec("pkd0", sync_id=5)))
    assert isinstance(b, IpvsBackend), f"auto picked {b.name} on a kernel with IPVS"
    STATE["b"] = b
    run(b.start())


@check
def timeouts_applied() -> None:
    out = sh("ipvsadm -L --timeout")
    assert "Timeout (tcp tcpfin udp): 900 60 120" in out, out


@check
def apply_full_table_matches_ipvsadm() -> None:
    b = backend()
    ops = run(b.apply(T1))
    assert isinstance(ops, list) and len(ops) == 8 + 11, ops
    got = ipvsadm_table()
    assert got == T1_IPVSADM, json.dumps(got, indent=1)


@check
def thresholds_and_tunnel_info_in_kernel() -> None:
    out = sh("ipvsadm -Ln --thresholds -t 10.0.0.100:80")
    line = next(x for x in out.splitlines() if "10.1.0.3:8080" in x)
    assert line.split()[2:4] == ["100", "50"], line  # -> addr Uthreshold Lthreshold ...
    out = sh("ipvsadm -Ln --tun-info --sctp-service 10.0.0.100:83")
    line = next(x for x in out.splitlines() if "10.1.0.1:0" in x)
    assert "gue" in line.lower() and "6080" in line, line


@check
def read_back_equals_applied() -> None:
    b = backend()
    got = run(b.read())
    assert got == normalized(T1), got


@check
def reapply_same_table_is_a_no_op() -> None:
    b = backend()
    assert run(b.apply(T1)) == []


@check
def diff_applies_only_the_changes() -> None:
    b = backend()
    ops = run(b.apply(t2()))
    assert isinstance(ops, list)
    kinds = Counter(type(o).__name__ for o in ops)
    assert kinds == Counter({"EditService": 1, "AddDest": 2, "EditDest": 1, "DeleteDest": 1,
                             "DeleteService": 1, "AddService": 1}), kinds
    assert any(isinstance(o, EditDest) and o.dest.weight == 4 for o in ops)
    assert any(isinstance(o, DeleteDest) and o.dest.addr == "10.1.0.3" for o in ops)
    assert any(isinstance(o, DeleteService) and o.key == K5060 for o in ops)
    assert any(isinstance(o, AddService) and o.service.key == K443 for o in ops)
    assert any(isinstance(o, EditService) and o.service.key == K53 for o in ops)
    assert any(isinstance(o, AddDest) and o.dest.addr == "10.1.0.4" for o in ops)
    got = ipvsadm_table()
    assert got == expected_t2(), json.dumps(got, indent=1)


@check
def resync_after_changes_behind_our_back() -> None:
    b = backend()
    sh("ipvsadm -d -t 10.0.0.100:80 -r 10.1.0.1:8080")  # gone behind our back
    sh("ipvsadm -A -t 10.0.0.250:80 -s rr")  # someone else's service
    t3 = t2().with_service(LvsService(K80, "wrr"), [
        LvsDest("10.1.0.1", 8080, 5), LvsDest("10.1.0.2", 8080, 4, fwd=FwdMethod.DR),
        LvsDest("10.1.0.4", 8080, 2)])
    run(b.apply(t3))  # EditDest → ENOENT → re-read → AddDest
    got = ipvsadm_table()
    assert got["TCP 10.0.0.100:80 wrr"] == ["10.1.0.1:8080 Masq 5", "10.1.0.2:8080 Route 4",
                                            "10.1.0.4:8080 Masq 2"], got
    assert got["TCP 10.0.0.250:80 rr"] == [], "a foreign service was touched"
    STATE["t3"] = t3


@check
def stats_are_read_back() -> None:
    b = backend()
    st = run(b.stats())
    t3 = STATE["t3"]
    assert isinstance(t3, LvsTable)
    assert set(st.services) == set(t3.services), st
    assert len(st.dests) == sum(len(e.dests) for e in t3.services.values())


@check
def sync_daemon_follows_vrrp_state() -> None:
    b = backend()
    run(b.set_sync_daemon("MASTER"))
    out = sh("ipvsadm -L --daemon")
    assert "master sync daemon" in out and "pkd0" in out and "syncid=5" in out, out
    run(b.set_sync_daemon("BACKUP"))
    out = sh("ipvsadm -L --daemon")
    assert "backup sync daemon" in out and "master" not in out, out
    run(b.set_sync_daemon(None))
    assert sh("ipvsadm -L --daemon").strip() == ""


@check
def sync_daemon_follower_tracks_its_instance() -> None:
    """lvs.syncd: what the VRRP child runs for ``lvs_sync_daemon pkd0 VI_1 id 7``."""
    gd = GlobalDefs(lvs_sync_daemon=LvsSyncDaemon("pkd0", instance="VI_1", sync_id=7))
    f = SyncDaemonFollower.from_global_defs(gd)
    assert f is not None

    def daemons() -> str:
        return sh("ipvsadm -L --daemon")

    run(f.start())
    out = daemons()
    assert "backup sync daemon" in out and "syncid=7" in out and "master" not in out, out
    run(f.on_state("VI_2", "MASTER"))  # another instance: no change
    assert "master" not in daemons()
    run(f.on_state("VI_1", "MASTER"))
    out = daemons()
    assert "master sync daemon" in out and "backup" not in out, out
    run(f.on_state("VI_1", "FAULT"))
    out = daemons()
    assert "backup sync daemon" in out and "master" not in out, out
    run(f.close())
    assert daemons().strip() == ""


@check
def vrrp_child_drives_the_sync_daemon() -> None:
    """The VRRP child (``-P``) runs the sync thread for ``lvs_sync_daemon``: MASTER while its
    instance is master, gone after a graceful stop."""
    sh("ip link add pkv0 type veth peer name pkv1; ip link set pkv0 up; ip link set pkv1 up;"
       "ip addr add 10.9.0.1/24 dev pkv0")
    d = Path("/tmp/pklv-syncd")
    d.mkdir(parents=True, exist_ok=True)
    (d / "keepalived.conf").write_text(
        "global_defs {\n  lvs_sync_daemon pkv0 VI_1 id 9\n}\n"
        "vrrp_instance VI_1 {\n  state MASTER\n  interface pkv0\n  virtual_router_id 9\n"
        "  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    10.9.0.200/24\n  }\n}\n")
    log = open(d / "daemon.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "pykeepalived", "-P", "-n", "-l", "-G", "-f",
         str(d / "keepalived.conf"), "-p", str(d / "k.pid"), "-r", str(d / "r.pid"),
         "-c", str(d / "c.pid")], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until(lambda: "master sync daemon" in sh("ipvsadm -L --daemon"), 90)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{(d / 'daemon.log').read_text()[-3000:]}") from e
        out = sh("ipvsadm -L --daemon")
        assert "pkv0" in out and "syncid=9" in out and "backup" not in out, out
        proc.terminate()
        proc.wait(timeout=30)
        assert sh("ipvsadm -L --daemon").strip() == "", "sync thread left behind after stop"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        sh("ip link del pkv0")


@check
def close_removes_ours_and_keeps_foreign() -> None:
    b = backend()
    run(b.close())
    got = ipvsadm_table()
    assert got == {"TCP 10.0.0.250:80 rr": []}, got


@check
def flush_removes_everything() -> None:
    b = IpvsBackend()
    run(b.apply(T1))
    assert len(ipvsadm_table()) == len(T1) + 1
    run(b.flush())
    assert ipvsadm_table() == {}
    b2 = IpvsBackend(LvsSettings(flush_on_stop="all"))
    run(b2.apply(T1))
    sh("ipvsadm -A -t 10.0.0.250:80 -s rr")
    run(b2.close())
    assert ipvsadm_table() == {}
    # -I / --dont-release-ipvs: leave everything on stop
    b3 = IpvsBackend(LvsSettings(release_on_stop=False))
    run(b3.apply(T1))
    run(b3.close())
    assert len(ipvsadm_table()) == len(T1)
    # lvs_flush: the whole table goes at start, ours from an earlier run and others' alike
    sh("ipvsadm -A -t 10.0.0.250:80 -s rr")
    run(IpvsBackend(LvsSettings(flush_at_start=True)).start())
    assert ipvsadm_table() == {}


@check
def refused_operation_does_not_block_others() -> None:
    b = IpvsBackend()
    bad = LvsService(ServiceKey.inet("10.0.0.100", 80), "nosuch")
    good = LvsService(ServiceKey.inet("10.0.0.100", 81), "rr")
    table = LvsTable.build([(bad, [LvsDest("10.1.0.1", 80, 1)]),
                            (good, [LvsDest("10.1.0.2", 81, 1)])])
    try:
        run(b.apply(table))
    except DataplaneError as e:
        assert "nosuch" in str(e) or "Adding service" in str(e), e
    else:
        raise AssertionError("an unknown scheduler was accepted")
    assert ipvsadm_table() == {"TCP 10.0.0.100:81 rr": ["10.1.0.2:81 Masq 1"]}
    fixed = table.with_service(LvsService(bad.key, "rr"), [LvsDest("10.1.0.1", 80, 1)])
    ops = run(b.apply(fixed))
    assert [type(o).__name__ for o in ops] == ["AddService", "AddDest"], ops
    assert ipvsadm_table() == {"TCP 10.0.0.100:80 rr": ["10.1.0.1:80 Masq 1"],
                               "TCP 10.0.0.100:81 rr": ["10.1.0.2:81 Masq 1"]}
    run(b.flush())


# ------------------------------------------------------------------------------ traffic

def run_in_netns(ns: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that entered network namespace ``ns`` (setns is per thread):
    sockets it opens live there. Saves a Python start per client run (seconds when emulated)."""
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, 0x40000000) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            finally:
                os.close(fd)
            out["v"] = fn()
        except BaseException as e:
            out["e"] = e

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if "e" in out:
        raise out["e"]
    return out["v"]  # type: ignore[no-any-return]


FAILURES: list[str] = []
SLOW: list[str] = []


def http_get(addr: str, port: int) -> str:
    """One request on a new connection; the body (a server's name) or ERR:<exception>."""
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    # room for two SYN retransmissions (1 s, then 2 s more, slower in the emulated guest): IPVS
    # with conntrack drops the first SYN of a connection that reuses the source port of one it
    # still remembers (conn_reuse_mode), which a run saw once as a 5 s timeout right after a
    # real server came back. A slow request is still listed in SLOW.
    s.settimeout(12)
    t = time.monotonic()
    try:
        with s:
            s.connect((addr, port))
            s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            if time.monotonic() - t > 1.0:
                SLOW.append(f"{addr}:{port} from port {s.getsockname()[1]}: "
                            f"{time.monotonic() - t:.2f} s")
        return data.split(b"\r\n\r\n", 1)[1].decode().strip()
    except OSError as e:
        FAILURES.append(f"{addr}:{port} from port {s.getsockname()[1] if s.fileno() >= 0 else '?'}"
                        f" after {time.monotonic() - t:.2f} s: {e!r}")
        return "ERR:" + type(e).__name__


VIP = "10.72.1.200"
RS = {"rs1": "10.72.2.11", "rs2": "10.72.2.12", "rs3": "10.72.2.13"}


class GuestLab:
    """Namespaces on one bridge, built with a handful of batched ``ip`` calls.

    The shared ``Lab`` spends ~10 process starts per host (``ip netns exec`` remounts /sys each
    time); under emulation that is most of a minute. Here each namespace gets one
    ``ip -n NS -batch -``, sysctls are written from a thread that entered the namespace, and
    servers are started from such a thread (children inherit its namespace).
    """

    def __init__(self, prefix: str, hosts: dict[str, list[str]]) -> None:
        self.ns = {name: f"{prefix}{name}" for name in hosts}
        sw = f"{prefix}sw"
        self.procs: list[subprocess.Popen[bytes]] = []
        self._batch(None, [f"netns add {n}" for n in [sw, *self.ns.values()]])
        lines = ["link set lo up", "link add br0 type bridge stp_state 0 forward_delay 0",
                 "link set br0 up"]
        for name, ns in self.ns.items():
            lines += [f"link add p-{name} type veth peer name eth0 netns {ns}",
                      f"link set p-{name} master br0", f"link set p-{name} up"]
        self._batch(sw, lines)
        for name, addrs in hosts.items():
            self._batch(self.ns[name], ["link set lo up", "link set eth0 up",
                                        *(f"addr add {a} dev eth0" for a in addrs)])

    @staticmethod
    def _batch(ns: str | None, lines: list[str]) -> None:
        argv = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
        p = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{argv}: {p.stderr}")

    def ip(self, host: str, *lines: str) -> None:
        self._batch(self.ns[host], list(lines))

    def sysctl(self, host: str, **values: str) -> None:
        def write() -> None:
            for key, value in values.items():
                Path("/proc/sys/" + key.replace(".", "/")).write_text(value)

        run_in_netns(self.ns[host], write)

    def popen(self, host: str, argv: list[str], log: Path | None = None
              ) -> subprocess.Popen[bytes]:
        out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (child keeps it)
        p = run_in_netns(self.ns[host], lambda: subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL))
        self.procs.append(p)
        return p

    def listening(self, host: str, addr: str, port: int, timeout: float = 60) -> bool:
        def probe() -> bool:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    socket.create_connection((addr, port), timeout=2).close()
                    return True
                except OSError:
                    time.sleep(0.2)
            return False

        return run_in_netns(self.ns[host], probe)

    def run(self, host: str, argv: list[str]) -> str:
        return run_in_netns(self.ns[host], lambda: subprocess.run(
            argv, capture_output=True, text=True, check=True, timeout=60).stdout)


def requests(n: int, vip: str = VIP) -> Counter[str]:
    """``n`` sequential requests from the client namespace to vip:80."""
    return run_in_netns(lab().ns["cl"], lambda: Counter(http_get(vip, 80)
                                                              for _ in range(n)))


@check
def nat_lab_up() -> None:
    hosts = {"cl": ["10.72.1.100/24"], "dir": ["10.72.1.1/24", f"{VIP}/24", "10.72.2.1/24"]}
    hosts.update({name: [f"{addr}/24"] for name, addr in RS.items()})
    lb = GuestLab("pklv", hosts)
    STATE["lab"] = lb
    lb.sysctl("dir", **{"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.send_redirects": "0",
                        "net.ipv4.conf.eth0.send_redirects": "0"})
    for name in RS:
        lb.ip(name, "route add default via 10.72.2.1")
        www = Path(f"/tmp/pklv-www/{name}")
        www.mkdir(parents=True, exist_ok=True)
        (www / "index.html").write_text(name + "\n")
        lb.popen(name, ["busybox", "httpd", "-f", "-p", "8080", "-h", str(www)])
    for addr in RS.values():
        assert lb.listening("dir", addr, 8080), addr
    STATE["nb"] = IpvsBackend(netns=lb.ns["dir"])


def nat_table(weights: dict[str, int]) -> LvsTable:
    return LvsTable.build([(LvsService(ServiceKey.inet(VIP, 80), "wrr"),
                            [LvsDest(RS[n], 8080, w) for n, w in weights.items()])])


@check
def nat_traffic_follows_weights() -> None:
    nb = backend("nb")
    run(nb.apply(nat_table({"rs1": 1, "rs2": 2, "rs3": 3})))
    got = requests(60)
    STATE["served"] = Counter(got)
    assert not [k for k in got if k.startswith("ERR")], got
    # IPVS wrr is deterministic: 10 full rounds of 1+2+3.
    assert abs(got["rs1"] - 10) <= 1 and abs(got["rs2"] - 20) <= 1 and \
        abs(got["rs3"] - 30) <= 1, got
    out = lab().run("dir", ["ipvsadm", "-Ln"])
    assert re.search(r"TCP\s+10\.72\.1\.200:80 wrr", out), out


@check
def nat_stats_count_the_connections() -> None:
    nb = backend("nb")
    served = STATE["served"]
    assert isinstance(served, Counter)
    key = ServiceKey.inet(VIP, 80)
    # The kernel folds its per-CPU counters into the totals every 2 s (estimator timer).
    deadline = time.monotonic() + 15
    while True:
        st = run(nb.stats())
        dest_conns = sum(d.counters.conns for d in st.dests.values())
        if (st.services[key].conns >= 60 and dest_conns >= 60) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert st.services[key].conns == 60, st.services
    assert st.services[key].inpkts > 60 and st.services[key].inbytes > 0, st.services
    for name, addr in RS.items():
        dk = next(k for k in st.dests if k[1].addr == addr)
        assert st.dests[dk].counters.conns == served[name], (name, st.dests[dk])

@check
def nat_removed_dest_stops_receiving() -> None:
    nb = backend("nb")
    run(nb.apply(nat_table({"rs1": 1, "rs3": 1})))
    got = requests(30)
    assert got == Counter({"rs1": 15, "rs3": 15}), got


@check
def nat_weight_zero_gets_no_new_connections() -> None:
    nb = backend("nb")
    run(nb.apply(nat_table({"rs1": 1, "rs2": 0, "rs3": 1})))
    got = requests(20)
    assert got == Counter({"rs1": 10, "rs3": 10}), got


VIP6 = "fd72:1::200"
RS6 = {"rs1": "fd72:2::11", "rs3": "fd72:2::13"}


@check
def nat6_traffic_follows_weights() -> None:
    lb = lab()
    lb.ip("cl", "addr add fd72:1::100/64 dev eth0 nodad")
    lb.ip("dir", "addr add fd72:1::1/64 dev eth0 nodad", f"addr add {VIP6}/64 dev eth0 nodad",
          "addr add fd72:2::1/64 dev eth0 nodad")
    lb.sysctl("dir", **{"net.ipv6.conf.all.forwarding": "1"})
    for name, addr in RS6.items():
        # one segment: IPv6 cannot stop the director's redirects, so the servers ignore them
        lb.sysctl(name, **{"net.ipv6.conf.all.accept_redirects": "0",
                           "net.ipv6.conf.eth0.accept_redirects": "0"})
        lb.ip(name, f"addr add {addr}/64 dev eth0 nodad", "route add default via fd72:2::1")
    for addr in RS6.values():
        assert lb.listening("dir", addr, 8080, timeout=20), f"no IPv6 listener on {addr}"
    nb = backend("nb")
    key = ServiceKey.inet(VIP6, 80)
    run(nb.apply(LvsTable.build([(LvsService(key, "wrr", netmask=128), [
        LvsDest(RS6["rs1"], 8080, 1), LvsDest(RS6["rs3"], 8080, 2)])])))
    got = requests(30, VIP6)
    assert abs(got["rs1"] - 10) <= 1 and abs(got["rs3"] - 20) <= 1, got
    out = lb.run("dir", ["ipvsadm", "-Ln"])
    assert "TCP  [fd72:1::200]:80 wrr" in out and "[fd72:2::13]:8080" in out, out


DR = {"rs1": "10.72.1.21", "rs2": "10.72.1.22"}


@check
def dr_real_servers_up() -> None:
    # Direct routing, with rs1 and rs2 turned into DR real servers (fewer namespaces to build
    # under emulation): an address on the client's segment, the VIP on lo, no ARP answers for
    # it; they reply to the client directly, from the VIP, with their own name + "-dr".
    lb = lab()
    for name, addr in DR.items():
        lb.sysctl(name, **{"net.ipv4.conf.all.arp_ignore": "1",
                           "net.ipv4.conf.all.arp_announce": "2",
                           "net.ipv4.conf.eth0.arp_ignore": "1",
                           "net.ipv4.conf.eth0.arp_announce": "2"})
        # Replies of NAT connections (from the 10.72.2.x address) must keep going back through
        # the director; DR replies (from the VIP) go straight to the client.
        lb.ip(name, f"addr add {addr}/24 dev eth0", f"addr add {VIP}/32 dev lo",
              f"rule add from {RS[name]} table 100",
              "route add default via 10.72.2.1 table 100")
        www = Path(f"/tmp/pklv-www/{name}-dr")
        www.mkdir(parents=True, exist_ok=True)
        (www / "index.html").write_text(name + "-dr\n")
        lb.popen(name, ["busybox", "httpd", "-f", "-p", "80", "-h", str(www)])
    for addr in DR.values():
        assert lb.listening("dir", addr, 80), addr


def dr_table(names: list[str]) -> LvsTable:
    return LvsTable.build([(LvsService(ServiceKey.inet(VIP, 80), "rr"),
                            [LvsDest(DR[n], 80, 1, fwd=FwdMethod.DR) for n in names])])


@check
def dr_traffic_reaches_the_real_servers() -> None:
    nb = backend("nb")
    run(nb.apply(dr_table(["rs1", "rs2"])))
    got = requests(20)
    assert got == Counter({"rs1-dr": 10, "rs2-dr": 10}), got
    out = lab().run("dir", ["ipvsadm", "-Ln"])
    assert re.search(r"10\.72\.1\.21:80\s+Route\s+1", out), out


@check
def dr_removed_dest_stops_receiving() -> None:
    nb = backend("nb")
    run(nb.apply(dr_table(["rs2"])))
    got = requests(10)
    assert got == Counter({"rs2-dr": 10}), got


@check
def close_in_namespace_removes_the_service() -> None:
    nb = backend("nb")
    run(nb.close())
    out = lab().run("dir", ["ipvsadm", "-Ln"])
    assert "10.72.1.200" not in out, out
    # No lab teardown: the guest is powered off right after (and teardown costs seconds).


# ------------------------------------------------------------------------------ the daemon

VIP_DR = "10.72.1.201"
CHECK = "connect_timeout 1\n      retry 1\n      delay_before_retry 1"
DAEMON_CONF = f"""
global_defs {{
  lvs_dataplane ipvs
}}
virtual_server {VIP} 80 {{
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server {RS["rs1"]} 8080 {{
    weight 1
    TCP_CHECK {{
      {CHECK}
    }}
  }}
  real_server {RS["rs2"]} 8080 {{
    weight 2
    HTTP_GET {{
      url {{
        path /index.html
        status_code 200
      }}
      {CHECK}
    }}
  }}
  real_server {RS["rs3"]} 8080 {{
    weight 3
    inhibit_on_failure
    TCP_CHECK {{
      {CHECK}
    }}
  }}
}}
virtual_server {VIP} 82 {{
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 1
  quorum_up "/tmp/pklv-daemon/q.sh up"
  quorum_down "/tmp/pklv-daemon/q.sh down"
  sorry_server {RS["rs3"]} 8080
  real_server {RS["rs2"]} 8080 {{
    TCP_CHECK {{
      {CHECK}
    }}
  }}
}}
virtual_server {VIP_DR} 80 {{
  delay_loop 1
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server {DR["rs1"]} 80 {{
    TCP_CHECK {{
      {CHECK}
    }}
  }}
  real_server {DR["rs2"]} 80 {{
    TCP_CHECK {{
      {CHECK}
    }}
  }}
}}
"""
# delay_loop × (retry + 1) + connect_timeout: the longest a dead real server may stay in the
# table; the guest's CPU is emulated (on two host cores the machine's other work shares), so
# allow slack on top.
REMOVAL_BOUND = 1 * (1 + 1) + 1
EMULATION_SLACK = 9.0


def ipvs_dests(vip: str, port: int = 80) -> dict[str, str]:
    """{real server 'addr:port': 'Forward Weight'} of service vip:port in the director."""
    try:
        out = lab().run("dir", ["ipvsadm", "-Ln", "-t", f"{vip}:{port}"])
    except subprocess.CalledProcessError:
        return {}  # no such service (yet)
    return {f[1]: f"{f[2]} {f[3]}" for line in out.splitlines()
            if (f := line.split()) and f[0] == "->" and f[1][0].isdigit()}


def wait_until(pred: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``pred()`` held; raises after ``timeout``."""
    start = time.monotonic()
    while not pred():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - start


@check
def daemon_builds_the_ipvs_table() -> None:
    lb = lab()
    lb.ip("dir", f"addr add {VIP_DR}/24 dev eth0")
    for name in DR:
        lb.ip(name, f"addr add {VIP_DR}/32 dev lo")
    d = Path("/tmp/pklv-daemon")
    d.mkdir(parents=True, exist_ok=True)
    (d / "keepalived.conf").write_text(DAEMON_CONF)
    (d / "q.sh").write_text("#!/bin/sh\necho \"$1\" >> /tmp/pklv-daemon/quorum.log\n")
    (d / "q.sh").chmod(0o755)
    STATE["daemon"] = lb.popen("dir", [
        sys.executable, "-m", "pykeepalived", "-C", "-n", "-l", "-G", "-f",
        str(d / "keepalived.conf"), "-p", str(d / "k.pid"), "-c", str(d / "c.pid"),
        "-r", str(d / "r.pid")], log=d / "daemon.log")
    want_nat = {f"{RS['rs1']}:8080": "Masq 1", f"{RS['rs2']}:8080": "Masq 2",
                f"{RS['rs3']}:8080": "Masq 3"}
    want_dr = {f"{DR['rs1']}:80": "Route 1", f"{DR['rs2']}:80": "Route 1"}
    try:
        wait_until(lambda: ipvs_dests(VIP) == want_nat and ipvs_dests(VIP_DR) == want_dr, 90)
    except (AssertionError, subprocess.CalledProcessError) as e:
        raise AssertionError(f"{e}\n{(d / 'daemon.log').read_text()[-3000:]}") from e
    got = requests(60)
    assert abs(got["rs1"] - 10) <= 1 and abs(got["rs2"] - 20) <= 1 and \
        abs(got["rs3"] - 30) <= 1, got
    assert requests(20, VIP_DR) == Counter({"rs1-dr": 10, "rs2-dr": 10})


def httpd(name: str, port: int) -> subprocess.Popen[bytes]:
    www = Path(f"/tmp/pklv-www/{name}" + ("-dr" if port == 80 else ""))
    return lab().popen(name, ["busybox", "httpd", "-f", "-p", str(port), "-h", str(www)])


def kill_httpd(name: str, port: int) -> None:
    www = f"/tmp/pklv-www/{name}" + ("-dr" if port == 80 else "")
    for p in lab().procs:
        if p.poll() is None and isinstance(p.args, list) and p.args[-1] == www:
            p.kill()
            p.wait()
            return
    raise AssertionError(f"no httpd for {name}:{port}")


@check
def daemon_removes_a_dead_real_server_in_time() -> None:
    kill_httpd("rs2", 8080)
    took = wait_until(lambda: f"{RS['rs2']}:8080" not in ipvs_dests(VIP), 30)
    print(f"     rs2 removed {took:.2f} s after its death (bound {REMOVAL_BOUND} s)")
    assert took <= REMOVAL_BOUND + EMULATION_SLACK, took
    got = requests(30)
    assert "rs2" not in got and not [k for k in got if k.startswith("ERR")], got
    # VS :82 had only rs2: quorum lost, the sorry server takes over, quorum_down ran
    wait_until(lambda: ipvs_dests(VIP, 82) == {f"{RS['rs3']}:8080": "Masq 1"}, 10)
    wait_until(lambda: quorum_log()[-1:] == ["down"], 10)


def quorum_log() -> list[str]:
    f = Path("/tmp/pklv-daemon/quorum.log")
    return f.read_text().split() if f.exists() else []


@check
def daemon_adds_it_back_when_it_heals() -> None:
    httpd("rs2", 8080)
    took = wait_until(lambda: ipvs_dests(VIP).get(f"{RS['rs2']}:8080") == "Masq 2", 30)
    print(f"     rs2 back {took:.2f} s after its restart")
    got = requests(30)
    assert got["rs2"] >= 9 and not [k for k in got if k.startswith("ERR")], got
    wait_until(lambda: ipvs_dests(VIP, 82) == {f"{RS['rs2']}:8080": "Masq 1"}, 10)
    wait_until(lambda: quorum_log()[-2:] == ["down", "up"], 10)


@check
def daemon_inhibit_on_failure_keeps_weight_zero() -> None:
    kill_httpd("rs3", 8080)
    wait_until(lambda: ipvs_dests(VIP).get(f"{RS['rs3']}:8080") == "Masq 0",
               REMOVAL_BOUND + EMULATION_SLACK)
    got = requests(30)
    assert got["rs3"] == 0 and abs(got["rs1"] - 10) <= 1 and abs(got["rs2"] - 20) <= 1, got


@check
def daemon_dr_real_server_removed() -> None:
    kill_httpd("rs1", 80)
    wait_until(lambda: f"{DR['rs1']}:80" not in ipvs_dests(VIP_DR),
               REMOVAL_BOUND + EMULATION_SLACK)
    assert requests(10, VIP_DR) == Counter({"rs2-dr": 10})


@check
def daemon_stops_and_releases_its_services() -> None:
    p = STATE["daemon"]
    assert isinstance(p, subprocess.Popen)
    p.send_signal(15)
    rc = p.wait(60)
    log = Path("/tmp/pklv-daemon/daemon.log").read_text()
    assert rc == 0, log[-3000:]
    out = lab().run("dir", ["ipvsadm", "-Ln"])
    assert VIP not in out and VIP_DR not in out, out


def main() -> int:
    report: dict[str, dict[str, object]] = {}
    for name, fn in CHECKS:
        t = time.monotonic()
        try:
            fn()
            report[name] = {"ok": True, "seconds": round(time.monotonic() - t, 2)}
            print(f"ok   {name} ({time.monotonic() - t:.1f} s)", flush=True)
        except Exception:
            report[name] = {"ok": False, "detail": traceback.format_exc() + "\n".join(FAILURES)}
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
    if SLOW:
        print(f"{len(SLOW)} request(s) slower than 1 s:", *SLOW[:20], sep="\n  ")
    Path(sys.argv[1]).write_text(json.dumps(report, indent=1))
    return 0 if all(r["ok"] for r in report.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
