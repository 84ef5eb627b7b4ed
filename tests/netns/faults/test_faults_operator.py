"""The fault matrix, operator side: what goes wrong around a running daemon, pykeepalived and
keepalived 2.2.7 side by side where keepalived can run the scenario (each in its own two-node
lab, n1 priority 150, n2 priority 100, VRRPv3 A = 0.1 s, VIP ownership sampled every 5 ms).

* the VRRP child killed: respawned, and the VIP's path (who holds it, when) as keepalived's;
* the checker child killed (pykeepalived only: keepalived's checker needs IPVS, which this
  kernel lacks; the nftables data plane is used): respawned, VIPs untouched, the LVS table
  intact all along;
* a notify script that hangs: the others still run, the hung STOP script is killed at its 1 s;
* a reload with a broken file: the running config stays, the error names file and line;
* a VIP the kernel refuses (IPv6 disabled on its interface): logged, counted, retried;
* the instance's interface deleted and recreated;
* the dump directory full (a 64 KiB tmpfs on /tmp): the dump fails cleanly;
* ``ulimit -n`` exhausted by hung scripts: the daemon keeps its sockets and still fails over.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from fault_bounds import (  # tests/netns/faults/fault_bounds.py
    BOTH,
    N1,
    N2,
    A,
    median,
    no_worse,
    record,
    sane_sampling,
    start_pair,
)

from pykeepalived.lab.cluster import render_config
from pykeepalived.lab.measure import AdvertCapture, arp_capture
from pykeepalived.lab.netns import over_tmp, wait_for
from pykeepalived.lab.scenario import (
    Side,
    daemon_processes,
    instances,
    run_sides,
    wait_new_pid,
)
from pykeepalived.script.runner import FD_RESERVE

pytestmark = [pytest.mark.netns, pytest.mark.timeout(600)]


def _logs(sides: dict[str, Side]) -> str:
    return "\n".join(s.logs(2500) for s in sides.values())


# ------------------------------------------------------------------ the VRRP child killed


def _vrrp_child_killed(s: Side) -> dict[str, object]:
    vs = start_pair(s, 2)
    d = s.nodes["n1"]
    old = daemon_processes(d).get("vrrp")
    assert old is not None, s.logs()
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    new = wait_new_pid(d, "vrrp", old)
    assert s.wait_holders(vs, ["n1"], 20), s.logs()
    t_back = time.monotonic()
    time.sleep(1.0)
    tl = s.stop_sampling()
    sane_sampling(tl, s.name)
    return {"respawned": new is not None, "seq": [tl.sequence(v, t0) for v in vs],
            "back": median([(tl.settled(v, N1, t0) or t_back) - t0 for v in vs]),
            "none": median([tl.none_time(v, t0) for v in vs]),
            "dual": median([tl.dual_time(v, t0) for v in vs])}


@pytest.mark.keepalived
def test_vrrp_child_killed(sides_: dict[str, Side]) -> None:
    """SIGKILL of n1's VRRP child: its VIPs leave n1 at once (keepalived's parent re-forks a
    child that removes them at init; pykeepalived's parent removes them itself, since a new
    Python child takes a second to start), n2 may hold them while the new child starts, and
    the new child takes them back (priority 150). Never two holders longer than keepalived,
    no longer without one."""
    res = run_sides(sides_, _vrrp_child_killed)
    for impl, r in res.items():
        assert r["respawned"], (impl, _logs(sides_))
        for seq in r["seq"]:
            # gone from n1 at once, back on n1 alone at the end; n2 at most in between. The
            # taking back may leave a moment without a holder: keepalived too sends its advert
            # before it adds its VIPs, and n2 drops its own on that advert (the time without
            # a holder is bounded below).
            assert seq[:2] == [N1, frozenset()] and seq[-1] == N1, (impl, seq)
            assert seq in ([N1, frozenset(), N1], [N1, frozenset(), N2, N1],
                           [N1, frozenset(), N2, frozenset(), N1],
                           [N1, frozenset(), N2, BOTH, N1]), (impl, seq, _logs(sides_))
    figs = {i: {"n1_sole_holder_again_s": r["back"], "none_s": r["none"], "dual_s": r["dual"]}
            for i, r in res.items()}
    record("vrrp-child-killed", figs)
    # a respawn starts a Python interpreter: allow it a second more than keepalived's fork
    no_worse("n1 sole holder again after its VRRP child died (s)",
             {i: f["n1_sole_holder_again_s"] for i, f in figs.items()}, factor=1.0, slack=1.0)
    no_worse("time without a holder (s)", {i: f["none_s"] for i, f in figs.items()},
             factor=1.5, slack=0.05)
    no_worse("time with two holders (s)", {i: f["dual_s"] for i, f in figs.items()},
             factor=1.5, slack=0.02)


# ------------------------------------------------------------------ the checker child killed

LVS_BLOCK = """virtual_server {vip} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {rs1} 8080 {{
        MISC_CHECK {{
            misc_path /bin/true
        }}
    }}
    real_server {rs2} 8080 {{
        MISC_CHECK {{
            misc_path /bin/true
        }}
    }}
}}"""


def _services(s: Side) -> str:
    """The nftables data plane's services chain, without its counters."""
    out = s.host("n1").run(["nft", "list", "chain", "inet", "pykeepalived", "services"],
                           check=False)
    if out.returncode != 0:
        return ""
    return re.sub(r"counter packets \d+ bytes \d+ ", "", out.stdout)


def test_checker_child_killed(sides_: dict[str, Side]) -> None:
    """SIGKILL of the checker child (nftables data plane): the parent starts a new one; the
    VRRP child and its VIP never notice, and the LVS table in the kernel stays whole while
    the new checker starts and re-applies the same table."""
    s = sides_["py"]
    vip = f"{s.net}.200"
    block = LVS_BLOCK.format(vip=vip, rs1=f"{s.net}.12", rs2=f"{s.net}.13")
    vs = s.pair(1, advert=A, global_extra=("lvs_dataplane nftables",), blocks=(block,))
    d = s.nodes["n1"]
    d.vrrp_only = False
    s.sample(vs)
    s.start("n2")
    s.start("n1")
    assert s.wait_holders(vs, ["n1"], 60), s.logs()
    assert wait_for(lambda: f"{s.net}.13" in _services(s), 20), (_services(s), s.logs())
    before = _services(s)
    procs = daemon_processes(d)
    t0 = time.monotonic()
    os.kill(procs["checker"], signal.SIGKILL)
    seen: set[str] = set()
    new: list[float] = []

    def respawned_and_settled() -> bool:
        seen.add(_services(s))
        if not new and daemon_processes(d).get("checker") not in (None, procs["checker"]):
            new.append(time.monotonic() - t0)
        return bool(new) and time.monotonic() - t0 > 3.0  # it has run its checks by then

    assert wait_for(respawned_and_settled, 20, 0.02), s.logs()
    tl = s.stop_sampling()
    sane_sampling(tl, s.name)
    assert new, s.logs()
    assert daemon_processes(d).get("vrrp") == procs["vrrp"]  # the VRRP child never restarted
    assert tl.sequence(vs[0], t0) == [N1], tl.sequence(vs[0], t0)
    assert seen == {before}, (before, seen)
    record("checker-child-killed", {"py": {"respawned_after_s": new[0],
                                           "distinct_table_states": float(len(seen))}})


# ------------------------------------------------------------------ a notify script that hangs

HANG = """#!/bin/sh
# a notify script that never returns and ignores SIGTERM
echo $$ >> {dir}/hung.pids
trap '' TERM
while :; do sleep 0.2; done
"""
REC = """#!/bin/sh
echo "$@" >> {dir}/notify.log
"""


def _notify_hang(s: Side) -> dict[str, object]:
    d0 = s.nodes.get("n1")
    run = d0.run_dir if d0 else f"/tmp/pkd-run/{s.host('n1').ns}"
    os.makedirs(run, exist_ok=True)
    for name, text in (("hang.sh", HANG), ("rec.sh", REC)):
        path = os.path.join(run, name)
        with open(path, "w") as f:
            f.write(text.format(dir=run))
        os.chmod(path, 0o755)
    for f in ("hung.pids", "notify.log"):
        with open(os.path.join(run, f), "w"):
            pass
    flag = os.path.join(run, "down")
    with open(flag, "w") as f:
        f.write("0\n")
    extra = (f'notify_master "{run}/hang.sh"', f'notify_stop "{run}/hang.sh"',
             f'notify_backup "{run}/rec.sh backup-script"', f'notify "{run}/rec.sh"',
             "track_file {", "    down weight -100", "}")
    block = f'vrrp_track_file down {{\n    file "{flag}"\n}}'
    vs = s.pair(1, advert=A, extra=extra, blocks=(block,))
    s.configure("n2", render_config("n2", instances(s.net, 1, 100, advert=A)))
    s.sample(vs)
    s.start("n2")
    s.start("n1")
    assert s.wait_holders(vs, ["n1"], 60), s.logs()
    log = Path(run, "notify.log")
    assert wait_for(lambda: "MASTER" in log.read_text(), 10), s.logs()
    # notify_master hangs; n1 gives way (track_file: 150 - 100 < 100) and comes back
    with open(flag, "w") as f:
        f.write("1\n")
    assert s.wait_holders(vs, ["n2"], 10), s.logs()
    with open(flag, "w") as f:
        f.write("0\n")
    assert s.wait_holders(vs, ["n1"], 10), s.logs()
    assert wait_for(lambda: log.read_text().count("MASTER") >= 2, 10), log.read_text()
    t0 = time.monotonic()
    s.nodes["n1"].stop(timeout=10)
    stop_s = time.monotonic() - t0
    s.stop_sampling()
    hung = [int(p) for p in Path(run, "hung.pids").read_text().split()]
    alive = [p for p in hung if _running(p)]
    return {"notify": log.read_text().split("\n"), "hung": len(hung), "alive": alive,
            "stop_s": stop_s}


def _running(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_notify_script_that_hangs(sides_: dict[str, Side]) -> None:
    """notify_master and notify_stop never return (and ignore SIGTERM): the other notify
    scripts still run at every change (generic notify: MASTER, BACKUP, MASTER, STOP;
    notify_backup), the stop kills the hung STOP script at its 1 s and takes no longer than
    keepalived's, and no hung script is left running (keepalived leaves its hung
    notify_master scripts behind)."""
    res = run_sides(sides_, _notify_hang)
    for impl, r in res.items():
        lines = [x for x in r["notify"] if x]
        states = [x.split()[2] for x in lines if x.startswith("INSTANCE")]
        assert states == ["BACKUP", "MASTER", "BACKUP", "MASTER", "STOP"], (impl, lines)
        assert "backup-script" in " ".join(lines), (impl, lines)
        assert r["hung"] == 3, (impl, r)  # two notify_master, one notify_stop
    # keepalived leaves hung notify scripts (not STOP ones) running after it exits;
    # pykeepalived SIGTERMs them when the stop begins and SIGKILLs them with the STOP script
    assert res["py"]["alive"] == [], (res["py"], _logs(sides_))
    figs = {i: {"stop_s": r["stop_s"], "hung_scripts_left": float(len(r["alive"]))}
            for i, r in res.items()}
    record("notify-hang", figs)
    no_worse("stop with a hung notify_stop (s)", {i: f["stop_s"] for i, f in figs.items()},
             factor=1.0, slack=0.5)


# ------------------------------------------------------------------ a reload with a broken file


def _broken_reload(s: Side) -> dict[str, object]:
    vs = start_pair(s, 1)
    d = s.nodes["n1"]
    good = d.conf_text
    mark = d.mark()
    t0 = time.monotonic()
    # VRID out of range: keepalived 2.2.7 calls it an error ("must be between 1 & 255")
    d.write_conf(good.replace("virtual_router_id 51", "virtual_router_id 300"))
    d.signal(signal.SIGHUP)
    time.sleep(1.5)
    broken_log = d.log_since(mark)
    # the file fixed, with a second VIP: a reload still works after the broken one
    d.write_conf(good.replace(f"{s.net}.200/24 dev eth0",
                              f"{s.net}.200/24 dev eth0\n        {s.net}.250/24 dev eth0"))
    d.signal(signal.SIGHUP)
    got_new = wait_for(lambda: not d.running() or d.has_vip(f"{s.net}.250"), 10) and (
        d.has_vip(f"{s.net}.250"))
    tl = s.stop_sampling()
    sane_sampling(tl, s.name)
    return {"seq": tl.sequence(vs[0], t0), "log": broken_log, "new_vip": got_new,
            "alive": d.running()}


def test_reload_with_a_broken_file(sides_: dict[str, Side]) -> None:
    """HUP with a file whose instance has an invalid VRID: pykeepalived keeps running the old
    config (the VIP never moves) and logs the error with its file and line; the next, fixed
    file is applied. (keepalived 2.2.7 exits with "permanent error CONFIG", leaving its VIP
    on n1 while n2 takes over.)"""
    res = run_sides(sides_, _broken_reload)
    py = res["py"]
    assert py["alive"] and py["new_vip"], (py, _logs(sides_))
    assert py["seq"] == [N1], (py["seq"], _logs(sides_))
    assert re.search(r"\(\S*keepalived\.conf: Line 8\) .*'300'", py["log"]), py["log"]
    assert "keeping the running" in py["log"], py["log"]
    record("broken-reload", {i: {"vip_changes": float(len(r["seq"]) - 1),
                                 "daemon_alive": float(r["alive"])} for i, r in res.items()})


# ------------------------------------------------------------------ a VIP the kernel refuses


def _refused_vip(s: Side) -> dict[str, object]:
    v6 = f"fd98:{s.net.split('.')[-1]}::200"
    vs = start_pair(s, 1, extra=("virtual_ipaddress_excluded {", f"    {v6}/64 dev eth0",
                                 "}"))
    d = s.nodes["n1"]
    assert s.sampler is not None
    s.sample([*vs, v6])
    time.sleep(1.0)
    refused_log = d.log_text()
    held_before = "n1" in s.sampler.now_holders(v6)
    t0 = time.monotonic()
    s.host("n1").run(["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=0"])
    added = s.wait_holders([v6], ["n1"], 3)  # a retry each second comes well within 3 s
    tl = s.stop_sampling()
    first = tl.first(v6, lambda h: "n1" in h, t0)
    return {"log": refused_log, "held_before": held_before, "added": added,
            "after_s": None if first is None else first - t0, "vip4": tl.sequence(vs[0], t0)}


def test_vip_the_kernel_refuses(sides_: dict[str, Side]) -> None:
    """An IPv6 address on an interface with IPv6 disabled: the kernel refuses it. The rest of
    the instance works (its IPv4 VIP is held), the refusal is logged with its reason, and
    once the operator enables IPv6 the address is added without any other event (retried).
    (keepalived logs the refusal and never tries again.)"""
    res = run_sides(sides_, _refused_vip)
    py = res["py"]
    assert not py["held_before"], py
    assert py["vip4"] == [N1], py
    assert re.search(r"IPv6 is disabled|Permission denied", py["log"]), py["log"][-3000:]
    assert py["added"], (py, _logs(sides_))
    record("vip-refused", {i: {"added_after_fix_s": r["after_s"] if r["after_s"] is not None
                               else float("nan")} for i, r in res.items()})


# ------------------------------------------------------------------ the interface re-created


def _replug(s: Side) -> dict[str, object]:
    vs = start_pair(s, 2)
    n1 = s.host("n1")
    t0 = time.monotonic()
    n1.unplug()
    assert s.wait_holders(vs, ["n2"], 10), s.logs()
    time.sleep(0.5)
    t1 = time.monotonic()
    n1.replug()
    # keepalived is back in ~0.4 s and the bound is 1.5x + 0.2 s: 5 s is plenty
    back = s.wait_holders(vs, ["n1"], 5)
    time.sleep(1.0 if back else 0.0)
    tl = s.stop_sampling()
    sane_sampling(tl, s.name)
    return {"back": back, "seq": [tl.sequence(v, t0) for v in vs],
            "after_s": median([(tl.settled(v, N1, t1) or tl.end) - t1 for v in vs]),
            "alive": all(d.running() for d in s.nodes.values())}


def test_interface_deleted_and_recreated(sides_: dict[str, Side]) -> None:
    """n1's eth0 is deleted (its VIPs go with it; n2 takes over) and created again a second
    later (same name and MAC, a new ifindex): n1 runs VRRP on the new interface and takes its
    VIPs back (priority 150) as keepalived does, in no more time."""
    res = run_sides(sides_, _replug)
    for impl, r in res.items():
        assert r["alive"], (impl, _logs(sides_))
        assert r["back"], (impl, r["seq"], _logs(sides_))
    figs = {i: {"n1_back_after_recreate_s": r["after_s"]} for i, r in res.items()}
    record("interface-recreated", figs)
    no_worse("VIPs back on n1 after its interface came back (s)",
             {i: f["n1_back_after_recreate_s"] for i, f in figs.items()}, factor=1.5,
             slack=0.2)


# ------------------------------------------------------------------ the dump directory full

FULL_TMP = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            over_tmp("mount -t tmpfs -o size=64k pkfull /tmp", "/var/tmp/pkd-faults/kept",
                     "{ dd if=/dev/zero of=/tmp/filler bs=4k 2>/dev/null; true; }")
            + '; exec "$@"', "sh"]


def _dump_full(s: Side) -> dict[str, object]:
    vs = s.pair(2, advert=A)
    run = f"/var/tmp/pkd-faults/{s.host('n1').ns}"  # /tmp is the small full tmpfs in there
    d1 = s.nodes["n1"]
    d = s.configure("n1", d1.conf_text, wrapper=FULL_TMP, run_dir=run)
    s.sample(vs)
    s.start("n2")
    s.start("n1")
    assert s.wait_holders(vs, ["n1"], 60), s.logs()
    t0 = time.monotonic()
    mark = d.mark()
    assert d.proc is not None
    vrrp = daemon_processes(d).get("vrrp")
    assert vrrp is not None
    tmp = Path(f"/proc/{vrrp}/root/tmp")  # the daemon's own /tmp
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGRTMIN + 2):
        d.signal(sig)
        time.sleep(0.5)
    full_log = d.log_since(mark)
    kept = {Path(k).relative_to("/tmp").parts[0]
            for k in (str(Path(__file__).resolve().parents[3]), sys.prefix)
            if k.startswith("/tmp/")}  # a checkout under /tmp, bound back in (lab.over_tmp)
    left = sorted(p.name for p in tmp.iterdir() if p.name != "filler" and p.name not in kept)
    (tmp / "filler").unlink()  # room again: the next dump is whole
    d.signal(signal.SIGUSR1)
    ok = wait_for(lambda: (tmp / "keepalived.data").exists()
                  and "VRRP Topology" in (tmp / "keepalived.data").read_text(), 5)
    tl = s.stop_sampling()
    return {"left": left, "log": full_log, "alive": d.running(), "dump_after": ok,
            "seq": [tl.sequence(v, t0) for v in vs]}


def test_dump_directory_full(sides_: dict[str, Side]) -> None:
    """USR1/USR2/JSON dumps into a full /tmp: each fails with one error line, leaves no partial
    or temporary file behind, the daemon and its VIPs carry on, and the first dump after
    space is freed is complete."""
    res = run_sides(sides_, _dump_full)
    for impl, r in res.items():
        assert r["alive"], (impl, _logs(sides_))
        assert all(seq == [N1] for seq in r["seq"]), (impl, r["seq"])
    py = res["py"]
    assert py["left"] == [], py["left"]
    assert py["dump_after"], (py, _logs(sides_))
    errors = [x for x in py["log"].splitlines() if "No space left" in x]
    assert len(errors) == 3, py["log"]
    record("dump-dir-full", {i: {"files_left_in_full_tmp": float(len(r["left"])),
                                 "whole_dump_after": float(r["dump_after"])}
                             for i, r in res.items()})


# ------------------------------------------------------------------ ulimit -n exhausted

FD_LIMIT = 48
FD_VIPS = 20


def _fds_exhausted(s: Side) -> dict[str, object]:
    run = f"/tmp/pkd-run/{s.host('n2').ns}"
    os.makedirs(run, exist_ok=True)
    hang = Path(run, "hang.sh")
    # no exec: the shell keeps the script's path in its command line for pgrep -f below
    hang.write_text("#!/bin/sh\nsleep 1000\n")
    hang.chmod(0o755)
    vs = s.pair(FD_VIPS, advert=A)
    conf2 = render_config("n2", instances(s.net, FD_VIPS, 100, advert=A,
                                          extra=(f'notify_backup "{hang}"',
                                                 f'notify_master "{hang}"')))
    s.configure("n2", conf2, wrapper=["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}", "--"])
    s.sample(vs)
    s.start("n2")
    s.start("n1")
    assert s.wait_holders(vs, ["n1"], 60), s.logs()
    d2 = s.nodes["n2"]
    vrrp = daemon_processes(d2).get("vrrp")
    assert vrrp is not None, s.logs()
    # every instance's notify_backup started or was refused: the scripts took what they could
    hung = f"pgrep -c -f {hang}"
    wait_for(lambda: int(s.host("n2").run(hung, check=False).stdout or 0) >= FD_VIPS
             or re.search("Too many open files|Not starting scripts", d2.log_text()), 10)
    time.sleep(0.5)
    fds_before = len(os.listdir(f"/proc/{vrrp}/fd"))
    cap = AdvertCapture(s.host("n2"))
    garps = arp_capture(s.host("n2"))
    t0 = time.monotonic()
    s.nodes["n1"].crash()
    s.host("n1").cut()
    assert s.sampler is not None  # (the dead n1 keeps its VIPs: only n2 matters)
    took = s.sampler.wait(lambda t: all("n2" in t.holders(v, t.end) for v in vs), 10)
    t1 = time.monotonic()
    time.sleep(1.0)
    cap.finish()
    arp = garps.stop()
    tl = s.stop_sampling()
    sent = {v for v in vs if re.search(rf"who-has {re.escape(v)} .*tell {re.escape(v)},", arp)}
    n2ip = s.host("n2").ip4()
    adverts = [a for a in cap.adverts if a.src == n2ip and a.t > 0]
    return {"took": took, "takeover_s": median([(tl.first(v, lambda h: "n2" in h, t0)
                                                  or t1) - t0 for v in vs]),
            "garp_vips": len(sent), "fds": fds_before, "adverts": len(adverts),
            "alive": d2.running(), "log": d2.log_text()}


def test_ulimit_n_exhausted_by_scripts(sides_: dict[str, Side]) -> None:
    """n2 runs with ``ulimit -n 48`` and 20 instances whose notify_backup and notify_master
    never return: running scripts would use up its descriptors. The daemon keeps what it needs
    (the VRRP and netlink sockets, the GARP sockets): when n1 dies, n2 takes every VIP over
    as fast as keepalived does, announces each with gratuitous ARPs and keeps advertising;
    scripts it did not start are logged once (pykeepalived stops starting them while fewer
    than FD_RESERVE descriptors would be left)."""
    res = run_sides(sides_, _fds_exhausted)
    for impl, r in res.items():
        assert r["alive"] and r["took"], (impl, r["log"][-3000:])
    py = res["py"]
    # scripts stopped short of the limit: FD_RESERVE descriptors stayed free for the daemon
    assert py["fds"] <= FD_LIMIT - FD_RESERVE, py["fds"]
    assert py["log"].count("Not starting scripts while") >= 1, py["log"][-3000:]
    assert "Too many open files" not in py["log"], py["log"][-3000:]
    assert py["garp_vips"] == FD_VIPS, (py["garp_vips"], py["log"][-3000:])
    assert py["adverts"] > 0
    figs = {i: {"takeover_s": r["takeover_s"], "vips_announced": float(r["garp_vips"]),
                "fds_in_use": float(r["fds"])} for i, r in res.items()}
    record("ulimit-n-exhausted", figs)
    no_worse("takeover with descriptors exhausted (median, s)",
             {i: f["takeover_s"] for i, f in figs.items()}, factor=1.0, slack=A + 0.1)
