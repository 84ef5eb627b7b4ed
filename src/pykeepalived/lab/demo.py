"""The README's main command: a live pykeepalived cluster in network namespaces.

    python -m pykeepalived.lab.demo [--keep] [--impl keepalived] [--advert 0.1]

Builds a switch and six namespaces (three VRRP nodes, a client, two HTTP backends), starts
pykeepalived on each node (VRRPv3, one virtual IP, priorities 150/100/50), shows who is MASTER,
fetches a page through the virtual IP, then crashes the master (SIGKILL of its whole process
group and its link cut) while the client pings the virtual IP every 10 ms, and reports the
takeover time, the client's outage and the MAC the client now reaches. Every number printed is
measured in this run. ``--keep`` leaves everything running; ``--clean`` removes a kept lab.

The HTTP path: each node runs a tiny TCP relay on port 80 (only the node holding the virtual IP
receives traffic for it) that forwards round-robin to the two backends, which each serve a page
naming themselves. It stands in for the haproxy/nginx of the usual keepalived recipes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from pykeepalived.lab.cluster import Daemon, InstanceConf, masters, render_config
from pykeepalived.lab.measure import AddrMonitor, Pinger
from pykeepalived.lab.netns import Host, Lab, lab_lock, netns_available, wait_for

PREFIX = "pkdd"
NET = "10.99.7"
VIP = f"{NET}.200"
NODES = (("n1", 150), ("n2", 100), ("n3", 50))
BACKENDS = (("web1", f"{NET}.21"), ("web2", f"{NET}.22"))
CLIENT = f"{NET}.100"


# ------------------------------------------------------------------------- the TCP relay


async def _relay_main(listen_port: int, backends: Sequence[str]) -> None:
    """Accept on :port and splice each connection to the next backend (host:port)."""
    cycle = itertools.cycle(backends)

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        host, port = next(cycle).rsplit(":", 1)
        try:
            br, bw = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2)
        except (TimeoutError, OSError):
            cw.close()
            return
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))

    server = await asyncio.start_server(handle, "0.0.0.0", listen_port, reuse_address=True)
    async with server:
        await server.serve_forever()


# ------------------------------------------------------------------------- output helpers


def say(msg: str = "") -> None:
    print(msg, flush=True)


def step(msg: str) -> None:
    say(f"\n== {msg}")


def fetch(client: Host, url: str) -> str:
    r = client.run(["curl", "-s", "-m", "2", url], check=False, timeout=5)
    return r.stdout.strip() if r.returncode == 0 else f"(failed: curl exit {r.returncode})"


def neigh_mac(client: Host, ip: str) -> str | None:
    r = client.run(["ip", "neigh", "show", ip], check=False)
    m = re.search(r"lladdr (\S+)", r.stdout)
    return m.group(1) if m else None


# ------------------------------------------------------------------------- the demo


def build(impl: str, advert: float) -> tuple[Lab, list[Daemon], Host]:
    lab = Lab(PREFIX)
    nodes = [lab.add_host(name, [f"{NET}.{11 + i}/24"]) for i, (name, _) in enumerate(NODES)]
    client = lab.add_host("cl", [f"{CLIENT}/24"])
    webroot = tempfile.mkdtemp(prefix="pkd-demo-")
    for name, ip in BACKENDS:
        h = lab.add_host(name, [f"{ip}/24"])
        docroot = os.path.join(webroot, name)
        os.makedirs(docroot, exist_ok=True)
        with open(os.path.join(docroot, "index.html"), "w") as f:
            f.write(f"hello from backend {name} ({ip})\n")
        h.popen([sys.executable, "-m", "http.server", "8080", "--bind", ip,
                 "--directory", docroot],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backends = [f"{ip}:8080" for _, ip in BACKENDS]
    daemons: list[Daemon] = []
    for h, (name, prio) in zip(nodes, NODES, strict=True):
        h.popen([sys.executable, "-m", "pykeepalived.lab.demo", "--relay", "80", *backends],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        inst = InstanceConf(vrid=51, priority=prio, version=3, advert_int=advert,
                            vips=(f"{VIP}/24 dev eth0",))
        d = Daemon(h, impl, render_config(name, [inst]))
        daemons.append(d)
    return lab, daemons, client


def _show_lab(daemons: list[Daemon], client: Host, advert: float) -> None:
    for d in daemons:
        say(f"   node {d.host.name:<4} {d.host.ip4():<12} MAC {d.host.mac}  "
            f"priority {dict(NODES)[d.host.name]}")
    say(f"   client {client.ip4()}, backends "
        + ", ".join(f"{n} {ip}:8080" for n, ip in BACKENDS))
    say(f"   virtual IP {VIP} (VRRPv3, VRID 51, advert_int {advert:g} s)")


def _fetch_twice(client: Host) -> None:
    for _ in range(2):
        say(f"   {fetch(client, f'http://{VIP}/')}")


def _elect(daemons: list[Daemon], label: str, advert: float) -> Daemon | None:
    """Start every node and wait for n1 to be the one MASTER; None (logs shown) if not."""
    step(f"Starting {label} on the three nodes")
    t_start = time.monotonic()
    for d in daemons:
        d.start()
    # The highest priority (n1) ends up MASTER: a node that started faster may hold the
    # VIP for a moment until n1's own Master_Down_Interval runs out and it preempts.
    wait_for(lambda: [m.host.name for m in masters(daemons, VIP)] == ["n1"], timeout=15)
    if not wait_for(lambda: len(masters(daemons, VIP)) == 1, timeout=5):
        say("   no single MASTER within 15 s; logs:")
        for d in daemons:
            say(f"--- {d.name}\n{d.log_text()[-2000:]}")
        return None
    master = masters(daemons, VIP)[0]
    say(f"   {master.host.name} holds {VIP} {time.monotonic() - t_start:.2f} s after the "
        "start (interpreter start-up, then every node starts BACKUP and waits one "
        "Master_Down_Interval)")
    time.sleep(max(0.5, 3 * advert))
    for d in daemons:
        st = "MASTER" if d.has_vip(VIP) else "BACKUP"
        say(f"   {d.host.name}: {st:<6}  log: {_last_state_line(d)}")
    return master


def _crash(daemons: list[Daemon], master: Daemon, client: Host, advert: float) -> Daemon | None:
    """Crash ``master`` while the client pings the VIP; report the takeover and the outage.
    Returns the new MASTER, or None when no backup took over."""
    step(f"Crashing the master {master.host.name}: SIGKILL of its process group + link cut")
    others = [d for d in daemons if d is not master]
    monitors = {d.host.name: AddrMonitor(d.host) for d in others}
    pinger = Pinger(client, VIP, 0.01)
    time.sleep(0.5)
    t0 = time.time()
    master.host.cut()
    master.crash()
    got = wait_for(lambda: len(masters(others, VIP)) == 1, timeout=15)
    time.sleep(0.5)
    pinger.finish()
    took: dict[str, float | None] = {n: m.first_add(VIP, t0) for n, m in monitors.items()}
    if not got:
        say("   no backup took over within 15 s")
        return None
    new = masters(others, VIP)[0]
    t_vip = took.get(new.host.name)
    outage = pinger.outage(t0)
    prio_new = dict(NODES)[new.host.name]
    skew = (256 - prio_new) / 256 * advert
    mdi = 3 * advert + skew
    say(f"   {new.host.name} took over: {VIP} added "
        + (f"{t_vip - t0:.3f} s" if t_vip is not None else "(time not captured)")
        + " after the crash")
    say(f"   RFC 5798 window for priority {prio_new}: Master_Down_Interval - advert_int .. "
        f"Master_Down_Interval = {mdi - advert:.3f} .. {mdi:.3f} s")
    say("   client outage (largest gap between 10 ms ping replies): "
        + (f"{outage:.3f} s" if outage is not None else "n/a")
        + f" ({len(pinger.replies)} replies)")
    mac_after = neigh_mac(client, VIP)
    say(f"   the client now reaches {VIP} at MAC {mac_after} ({new.host.name}; "
        "learnt from its gratuitous ARP)")
    return new


def _leave(lab: Lab, keep: bool, holder: str, daemons: list[Daemon]) -> None:
    """Clean up, or (``--keep``) release the lab's lock and say how to explore it."""
    if not keep:
        step("Cleaning up")
        lab.cleanup()
        say("   done: namespaces and processes removed")
        return
    step("Leaving the lab running (--keep)")
    say(f"   ip netns list | grep {PREFIX}       # the namespaces")
    say(f"   ip -n {holder} addr show eth0      # who holds the VIP")
    say(f"   ip netns exec {PREFIX}cl curl http://{VIP}/")
    say(f"   logs: {os.path.dirname(daemons[0].log_path).rsplit('/', 1)[0]}/{PREFIX}*/")
    say("   remove it all: python -m pykeepalived.lab.demo --clean")
    # The lab stays, its lock goes now (in order, inside main's own hold of it), not
    # whenever the Lab object happens to be collected.
    if lab._lock is not None:
        lab._lock.close()
        lab._lock = None


def run_demo(impl: str, advert: float, keep: bool) -> int:
    label = "pykeepalived" if impl == "py" else "keepalived (Debian)"
    step(f"Building the lab: namespaces {PREFIX}* on one bridge")
    lab, daemons, client = build(impl, advert)
    holder = f"{PREFIX}n1"
    try:
        _show_lab(daemons, client, advert)
        master = _elect(daemons, label, advert)
        if master is None:
            return 1
        step(f"Fetching http://{VIP}/ from the client")
        _fetch_twice(client)
        mac_before = neigh_mac(client, VIP)
        say(f"   the client reaches {VIP} at MAC {mac_before} ({master.host.name})")
        new = _crash(daemons, master, client, advert)
        if new is None:
            return 1
        holder = new.host.ns
        step(f"Fetching http://{VIP}/ again")
        _fetch_twice(client)
        for d in daemons:
            if d is not master:
                say(f"   {d.host.name}: {'MASTER' if d.has_vip(VIP) else 'BACKUP'}  "
                    f"log: {_last_state_line(d)}")
        return 0
    finally:
        _leave(lab, keep, holder, daemons)


def _last_state_line(d: Daemon) -> str:
    lines = [ln for ln in d.log_text().splitlines() if "STATE" in ln]
    return lines[-1].split(": ", 1)[-1] if lines else "(no state yet)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pykeepalived.lab.demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep", action="store_true", help="leave the lab running at the end")
    p.add_argument("--clean", action="store_true", help="remove a lab left by --keep")
    p.add_argument("--impl", choices=["pykeepalived", "keepalived"], default="pykeepalived",
                   help="which daemon runs on the nodes (default pykeepalived)")
    p.add_argument("--advert", type=float, default=0.1, help="VRRPv3 advert_int (default 0.1)")
    p.add_argument("--relay", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.relay:
        asyncio.run(_relay_main(int(a.relay[0]), a.relay[1:]))
        return 0
    if not netns_available():
        print("the demo needs root and `ip netns` (run it as root on Linux)", file=sys.stderr)
        return 2
    with lab_lock(PREFIX):  # a second demo (or test run) waits instead of wrecking this one
        if a.clean:
            Lab.remove_stale(PREFIX)
            print(f"removed namespaces {PREFIX}*")
            return 0
        return run_demo("py" if a.impl == "pykeepalived" else "ka", a.advert, a.keep)


if __name__ == "__main__":
    sys.exit(main())
