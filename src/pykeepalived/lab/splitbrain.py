"""The split-brain lab: two VRRP nodes that serve a client, each cause of split brain as a
scripted fault, and what every host saw, sampled every 5 ms.

Topology (namespaces, all under the lab's prefix)::

    service switch (br0):  n1.eth0 n2.eth0  cl (client)  gw (gateway, the reference address)
                           e1 e2 e3 (etcd members, when the lease arbiter is in the run)
    heartbeat switch:      n1.eth1 n2.eth1  (a dedicated heartbeat link, as in the seeds)

n1 (priority 150) is master before each fault, n2 (100) its backup, VRRPv3 with a 0.1 s
advert so a scenario takes seconds. The client pings the VIP every 10 ms, so its neighbour
entry follows whoever answers (the "client's ARP view"). Each host runs
``pykeepalived.lab.sampler``; a run's window starts when the fault is injected and ends
``settle`` seconds after it is healed. From the samples:

* ``dual_ms``: time during which both nodes held the VIP;
* ``none_ms``: time during which neither did;
* ``transitions``: how many times the set of holders changed;
* ``client_flips``: how many times the client's MAC for the VIP changed.

The faults are data (``CAUSES``): nftables rules on the switches or the nodes, links down,
daemons started with another VRID, etcd members stopped. Each names the base configuration it
needs (``hb``: VRRP on the heartbeat link, VIP on the service network; ``lan``: VRRP and VIP
on the service network; ``ucast``: the same, unicast peers added where a cure uses them).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pykeepalived.lab.cluster import Daemon, InstanceConf, render_config
from pykeepalived.lab.netns import Host, Lab, lab_lock, wait_for

NET, HB = "10.98.0", "10.98.1"
VIP = f"{NET}.200"
GW = f"{NET}.1"
A = 0.1
ETCD = (f"{NET}.21", f"{NET}.22", f"{NET}.23")


# ---------------------------------------------------------------- topology
def _ip(*a: str) -> None:
    subprocess.run(["ip", *a], check=True, capture_output=True)


def _nft(ns: str, *rules: str) -> None:
    for r in rules:
        subprocess.run(["ip", "netns", "exec", ns, "nft", r], check=True, capture_output=True)


@dataclass
class SbLab:
    lab: Lab
    hb_ns: str
    etcd: list[Host] = field(default_factory=list)

    @property
    def n1(self) -> Host:
        return self.lab.hosts["n1"]

    @property
    def n2(self) -> Host:
        return self.lab.hosts["n2"]

    @property
    def client(self) -> Host:
        return self.lab.hosts["cl"]

    # faults on the switches: a bridge filter chain each, flushed by heal_all
    def sw(self, rule: str) -> None:
        self.lab.nft_switch(f"add rule bridge pklab pkfwd {rule}")

    def hb(self, rule: str) -> None:
        _nft(self.hb_ns, f"add rule bridge pkhb hbfwd {rule}")

    def node_nft(self, host: Host, rule: str) -> None:
        host.run(["nft", "add table inet pksb"], check=False)
        host.run(["nft", "add chain inet pksb in { type filter hook input priority 0 ; }"],
                 check=False)
        host.run(["nft", f"add rule inet pksb in {rule}"])

    def heal_all(self) -> None:
        self.lab.nft_switch("flush chain bridge pklab pkfwd")
        _nft(self.hb_ns, "flush chain bridge pkhb hbfwd")
        for h in (self.n1, self.n2):
            h.run(["nft", "delete table inet pksb"], check=False)
            h.heal()
            _ip("-n", self.hb_ns, "link", "set", f"hb-{h.name}", "up")


def build(prefix: str, etcd: bool = False) -> SbLab:
    """Create the lab (the caller holds ``lab_lock(prefix)`` and cleans up)."""
    lab = Lab(prefix)
    for i in (1, 2):
        lab.add_host(f"n{i}", [f"{NET}.{10 + i}/24"])
    lab.add_host("cl", [f"{NET}.100/24"])
    lab.add_host("gw", [f"{GW}/24"])
    hb_ns = f"{prefix}hb"
    _ip("netns", "add", hb_ns)
    _ip("-n", hb_ns, "link", "add", "br0", "type", "bridge", "stp_state", "0",
        "mcast_snooping", "0", "forward_delay", "0")
    _ip("-n", hb_ns, "link", "set", "br0", "up")
    for i in (1, 2):
        h = lab.hosts[f"n{i}"]
        _ip("-n", hb_ns, "link", "add", f"hb-n{i}", "type", "veth", "peer", "name", "eth1",
            "netns", h.ns)
        _ip("-n", h.ns, "link", "set", "eth1", "address", f"02:5b:00:00:01:{i:02x}")
        _ip("-n", h.ns, "addr", "add", f"{HB}.{10 + i}/24", "dev", "eth1")
        _ip("-n", hb_ns, "link", "set", f"hb-n{i}", "master", "br0")
        _ip("-n", hb_ns, "link", "set", f"hb-n{i}", "up")
        _ip("-n", h.ns, "link", "set", "eth1", "up")
    _nft(hb_ns, "add table bridge pkhb",
         "add chain bridge pkhb hbfwd { type filter hook forward priority 0 ; }")
    lab.nft_switch("add rule bridge pklab pkfwd counter")  # creates the chain
    sb = SbLab(lab, hb_ns)
    if etcd:
        sb.etcd = [lab.add_host(f"e{i}", [f"{ip}/24"]) for i, ip in enumerate(ETCD, 1)]
    return sb


@contextlib.contextmanager
def sb_lab(prefix: str, etcd: bool = False) -> Iterator[SbLab]:
    with lab_lock(prefix):
        sb = build(prefix, etcd=etcd)
        try:
            yield sb
        finally:
            sb.lab.cleanup()


# ---------------------------------------------------------------- configurations
@dataclass(frozen=True)
class Variant:
    """An implementation plus the cure lines it adds (``{peer}``, ``{hb_peer}``, ``{me}``
    are filled per node)."""

    name: str
    impl: str  # "ka" or "py"
    instance_lines: tuple[str, ...] = ()
    global_lines: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    etcd: bool = False
    base_lines: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (base, lines) extra lines

    def lines(self, base: str) -> tuple[str, ...]:
        return self.instance_lines + dict(self.base_lines).get(base, ())


KEEPALIVED = Variant("keepalived 2.2.7", "ka")
DEFAULT = Variant("pykeepalived", "py")


def node_config(sb: SbLab, node: str, base: str, variant: Variant, vrid: int = 51) -> str:
    i = int(node[1])
    other = 3 - i
    prio = 150 if i == 1 else 100
    fill = {"peer": f"{NET}.{10 + other}", "hb_peer": f"{HB}.{10 + other}",
            "me": f"{NET}.{10 + i}", "node": node}
    lines = tuple(x.format(**fill) for x in variant.lines(base))
    inst = InstanceConf(priority=prio, vrid=vrid, version=3, advert_int=A,
                        interface="eth1" if base == "hb" else "eth0",
                        vips=(f"{VIP}/24 dev eth0",), extra=lines)
    blocks = tuple(b.format(**fill) for b in variant.blocks)
    return render_config(node, [inst], tuple(x.format(**fill) for x in variant.global_lines),
                         blocks)


# ---------------------------------------------------------------- observation
class Sampler:
    """``lab.sampler`` in one host; ``finish()`` returns [(time, kind, value)]."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.proc = host.popen([sys.executable, "-m", "pykeepalived.lab.sampler", VIP],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def finish(self) -> list[tuple[float, str, str]]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        rows = []
        for line in out.decode().splitlines():
            t, kind, val = line.split(" ", 2)
            rows.append((float(t), kind, val))
        return rows


@dataclass
class Result:
    cause: str
    variant: str
    dual_ms: float
    none_ms: float
    transitions: int
    client_flips: int
    window_s: float
    samples_per_s: float
    notes: str = ""


def _timeline(rows: list[tuple[float, str, str]], kind: str) -> list[tuple[float, str]]:
    return [(t, v) for t, k, v in rows if k == kind]


def analyse(cause: str, variant: str, t0: float, t1: float,
            holds: dict[str, list[tuple[float, str, str]]],
            client: list[tuple[float, str, str]]) -> Result:
    """Dual/none time, holder-set transitions and client MAC flips within [t0, t1]."""
    events: list[tuple[float, str, bool]] = []
    state: dict[str, bool] = {}
    rates = []
    for node, rows in holds.items():
        state[node] = False
        for t, v in _timeline(rows, "hold"):
            if t <= t0:
                state[node] = v == "1"
            elif t <= t1:
                events.append((t, node, v == "1"))
        n = [int(v) for t, k, v in rows if k == "samples"]
        span = (rows[-1][0] - rows[0][0]) if rows else 0
        if n and span > 0:
            rates.append(n[0] / span)
    events.sort()
    dual = none = 0.0
    last = t0
    transitions = 0
    for t, node, held in [*events, (t1, "", False)]:
        count = sum(state.values())
        if count > 1:
            dual += t - last
        elif count == 0:
            none += t - last
        if node:
            before = frozenset(k for k, v in state.items() if v)
            state[node] = held
            if frozenset(k for k, v in state.items() if v) != before:
                transitions += 1
        last = t
    macs = [v for t, v in _timeline(client, "neigh") if t0 < t <= t1 and v != "-"]
    flips = sum(1 for a, b in itertools.pairwise(macs) if a != b)
    return Result(cause, variant, round(dual * 1000), round(none * 1000), transitions, flips,
                  t1 - t0, min(rates) if rates else 0.0)


# ---------------------------------------------------------------- the causes
Action = Callable[[SbLab], None]


@dataclass(frozen=True)
class Cause:
    name: str
    title: str
    base: str  # hb, lan
    inject: Action
    heal: Action
    cures: tuple[str, ...]  # variants meant to cure it (their dual_ms target is 0)
    n2_vrid: int = 51
    hold_s: float = 3.0


def _noop(sb: SbLab) -> None:
    return None


def _heal(sb: SbLab) -> None:
    sb.heal_all()


def _drop112(sb: SbLab, *hosts: Host) -> None:
    for h in hosts:
        sb.node_nft(h, "ip protocol 112 drop")


def _cut(sb: SbLab, a: str, others: tuple[str, ...]) -> None:
    """Drop every frame between switch port p-<a> and each of ``others``, both ways."""
    for o in others:
        sb.sw(f"iifname p-{a} oifname p-{o} drop")
        sb.sw(f"iifname p-{o} oifname p-{a} drop")


ETCD_HOSTS = ("e1", "e2", "e3")


def _etcd_stop(sb: SbLab) -> None:
    for h in sb.etcd:
        h.stop_procs()


CAUSES: dict[str, Cause] = {c.name: c for c in (
    Cause("hb-cut", "heartbeat link cut (frames lost, links up); both reach client and gateway",
          "hb", lambda sb: sb.hb("drop"), _heal, ("paths", "conflict", "lease")),
    Cause("oneway-m2b", "one-way loss: nothing from the master reaches the backup", "lan",
          lambda sb: sb.sw("iifname p-n1 oifname p-n2 drop"), _heal, ("paths", "lease")),
    Cause("oneway-b2m", "one-way loss: nothing from the backup reaches the master", "lan",
          lambda sb: sb.sw("iifname p-n2 oifname p-n1 drop"), _heal, ("paths", "lease")),
    Cause("fw112-one", "nftables drops protocol 112 on the backup", "lan",
          lambda sb: sb.node_nft(sb.n2, "ip protocol 112 drop"), _heal, ("conflict", "lease")),
    Cause("fw112-both", "nftables drops protocol 112 on both nodes", "lan",
          lambda sb: _drop112(sb, sb.n1, sb.n2), _heal, ("conflict", "lease")),
    Cause("vrid", "mismatched virtual_router_id (51 / 52), same VIP", "lan", _noop, _noop,
          ("conflict", "lease"), n2_vrid=52),
    Cause("mcast", "multicast dropped by the switch, unicast between the nodes works", "lan",
          lambda sb: sb.sw("ether daddr 01:00:5e:00:00:12 drop"), _heal,
          ("paths", "conflict", "lease")),
    Cause("switch", "service switch forwards nothing for 3 s, then recovers", "lan",
          lambda sb: sb.sw("drop"), _heal, ("gate",)),
    Cause("arbiter", "the arbiter (all etcd members) down", "lan", _etcd_stop, _noop,
          ("lease",)),
    Cause("nodes-cut", "partition: the nodes cannot reach each other, both reach etcd", "lan",
          lambda sb: _cut(sb, "n1", ("n2",)), _heal, ("paths", "lease")),
    Cause("etcd-cut-master", "partition: the master cannot reach etcd", "lan",
          lambda sb: _cut(sb, "n1", ETCD_HOSTS), _heal, ("lease", "lease-fence")),
    Cause("etcd-cut-backup", "partition: the backup cannot reach etcd", "lan",
          lambda sb: _cut(sb, "n2", ETCD_HOSTS), _heal, ("lease", "lease-fence")),
    Cause("master-isolated", "partition: the master reaches only its clients (not the "
          "backup, not etcd)", "lan", lambda sb: _cut(sb, "n1", ("n2", *ETCD_HOSTS)), _heal,
          ("lease-fence",)),
)}


# ---------------------------------------------------------------- one run
@dataclass
class Run:
    """Daemons of one (cause, variant) run; ``stop()`` leaves the lab clean for the next."""

    sb: SbLab
    daemons: dict[str, Daemon] = field(default_factory=dict)

    def start(self, node: str, base: str, variant: Variant, vrid: int = 51) -> Daemon:
        h = self.sb.lab.hosts[node]
        d = Daemon(h, variant.impl, node_config(self.sb, node, base, variant, vrid))
        self.daemons[node] = d
        d.start()
        return d

    def stop(self) -> None:
        for d in self.daemons.values():
            if d.running():
                d.stop(timeout=5)
        self.sb.heal_all()
        for h in (self.sb.n1, self.sb.n2):
            h.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
        self.sb.client.run(["ip", "neigh", "flush", "dev", "eth0"], check=False)


def settle_master(d: Daemon, timeout: float = 15.0) -> bool:
    return wait_for(lambda: d.has_vip(VIP), timeout, 0.05)


class Session:
    """n1 (master) and n2 (backup) of one variant on one base, kept running while several
    causes are measured one after the other: a daemon start costs seconds, a cause 2-5 s.

    Before each cause the session waits for n1 alone to hold the VIP (a cure may have left
    n2 holding after the heal: one holder, but the causes are written for n1 as master); if
    that does not come, the daemons are restarted."""

    def __init__(self, sb: SbLab, variant: Variant, base: str, n2_vrid: int = 51) -> None:
        self.sb, self.variant, self.base, self.n2_vrid = sb, variant, base, n2_vrid
        self.run = Run(sb)
        self._start()

    def _start(self) -> None:
        n1 = self.run.start("n1", self.base, self.variant)
        if not settle_master(n1):
            raise RuntimeError(f"n1 never became master:\n{n1.log_text()[-3000:]}")
        if self.n2_vrid == 51:
            self._start_n2()

    def _start_n2(self) -> None:
        n2 = self.run.start("n2", self.base, self.variant, vrid=self.n2_vrid)
        if not n2.wait_log(r"Entering (BACKUP|MASTER) STATE", 15):
            raise RuntimeError(f"n2 did not start:\n{n2.log_text()[-3000:]}")

    def _n1_alone(self) -> bool:
        d = self.run.daemons
        return d["n1"].has_vip(VIP) and ("n2" not in d or not d["n2"].has_vip(VIP))

    def ready(self) -> None:
        if wait_for(self._n1_alone, 3.0, 0.05):
            return
        self.run.stop()
        self._start()
        if not wait_for(self._n1_alone, 5.0, 0.05):
            raise RuntimeError("n1 is not the only holder after a restart")

    def measure(self, cause: Cause, hold: float | None = None, settle: float = 2.0,
                on_inject: Action | None = None, on_heal: Action | None = None) -> Result:
        """Inject ``cause``, hold it, heal it, settle; what every host saw meanwhile."""
        from pykeepalived.lab.measure import Pinger

        self.ready()
        samplers = {h.name: Sampler(h) for h in (self.sb.n1, self.sb.n2, self.sb.client)}
        pinger = Pinger(self.sb.client, VIP)
        try:
            time.sleep(0.4)
            if self.n2_vrid != 51 and "n2" not in self.run.daemons:
                self._start_n2()  # the fault is n2 itself: the window opens when it is up
            t0 = time.time()
            cause.inject(self.sb)
            if on_inject is not None:
                on_inject(self.sb)
            time.sleep(cause.hold_s if hold is None else hold)
            cause.heal(self.sb)
            if on_heal is not None:
                on_heal(self.sb)
            time.sleep(settle)
            t1 = time.time()
        finally:
            pinger.finish()
            rows = {k: smp.finish() for k, smp in samplers.items()}
        return analyse(cause.name, self.variant.name, t0, t1,
                       {"n1": rows["n1"], "n2": rows["n2"]}, rows["cl"])

    def close(self) -> None:
        self.run.stop()


def run_cause(sb: SbLab, cause: Cause, variant: Variant, settle: float = 2.0,
              on_inject: Action | None = None, on_heal: Action | None = None,
              hold: float | None = None) -> Result:
    """One cause on freshly started daemons (the bench's unit)."""
    session = Session(sb, variant, cause.base, cause.n2_vrid)
    try:
        return session.measure(cause, hold, settle, on_inject, on_heal)
    finally:
        session.close()


# ---------------------------------------------------------------- the variants of the matrix
LEASE_BLOCK = ("lease_arbiter {{\n"
               f"    endpoints {' '.join(f'http://{ip}:2379' for ip in ETCD)}\n"
               "    ttl 2\n    on_etcd_down {mode}\n}}")

VARIANTS: dict[str, Variant] = {
    "ka": KEEPALIVED,
    "py": DEFAULT,
    # rounds faster than the adverts: after an outage both nodes leave FAULT at their first
    # answer, and rounds 10 ms apart keep that ordered by priority (skews 20 ms apart)
    "gate": Variant("pykeepalived + reference gate", "py",
                    (f"reference_address {GW}", "reference_interval 0.01",
                     "reference_fall 10")),
    "conflict": Variant("pykeepalived + conflict watch", "py", ("conflict_watch",)),
    # the other link, and unicast where the instance runs multicast
    "paths": Variant("pykeepalived + heartbeat paths", "py", base_lines=(
        ("hb", ("heartbeat_path eth0 unicast {peer}",)),
        ("lan", ("heartbeat_path eth1", "heartbeat_path eth0 unicast {peer}")))),
    "lease": Variant("pykeepalived + lease arbiter (hold)", "py",
                     ("lease_key /pykeepalived/sb/vi1",),
                     blocks=(LEASE_BLOCK.replace("{mode}", "hold"),), etcd=True),
    "lease-fence": Variant("pykeepalived + lease arbiter (fence)", "py",
                           ("lease_key /pykeepalived/sb/vi1",),
                           blocks=(LEASE_BLOCK.replace("{mode}", "fence"),), etcd=True),
}


def etcd_hooks(cause: Cause, etcd: object) -> dict[str, Action]:
    """The arbiter cause stops the etcd members at inject and restarts them at heal."""
    if cause.name != "arbiter" or etcd is None:
        return {}
    from pykeepalived.lab.etcd import EtcdCluster

    assert isinstance(etcd, EtcdCluster)

    def back(sb: SbLab) -> None:
        for m in etcd.members:
            m.start()

    return {"on_inject": lambda sb: etcd.stop_all(), "on_heal": back}


def crash_takeover(sb: SbLab, variant: Variant) -> float:
    """n1 master, n2 backup; n1's link is cut and its process group killed. Seconds from
    n1's last advert on n2's wire (the RFC's reference event) to the VIP appearing on n2."""
    from pykeepalived.lab.measure import AddrMonitor, AdvertCapture

    run = Run(sb)
    try:
        n1 = run.start("n1", "lan", variant)
        if not settle_master(n1):
            raise RuntimeError(f"n1 never became master:\n{n1.log_text()[-3000:]}")
        n2 = run.start("n2", "lan", variant)
        if not n2.wait_log(r"Entering BACKUP STATE", 15):
            raise RuntimeError(f"n2 did not start:\n{n2.log_text()[-3000:]}")
        time.sleep(1.0 + A * (time.time() % 1))  # a random phase against the advert timer
        cap, mon = AdvertCapture(sb.n2), AddrMonitor(sb.n2)
        t0 = time.time()
        sb.n1.cut()
        n1.crash()
        got = wait_for(lambda: n2.has_vip(VIP), 8, 0.01)
        time.sleep(0.1)
        t = mon.first_add(VIP, t0)
        cap.finish()
        last = cap.last_from(f"{NET}.11", t or time.time(), 51)
        if not got or t is None or last is None:
            raise RuntimeError(f"no takeover:\n{n2.log_text()[-3000:]}")
        return t - last
    finally:
        run.stop()


def takeover_bound(variant: Variant) -> float:
    """The target: the RFC's Master_Down_Interval (+ 100 ms), or with the lease arbiter
    max(Master_Down_Interval, lease TTL) + 100 ms."""
    mdi = 3 * A + (256 - 100) / 256 * A
    ttl = 2.0 if variant.etcd else 0.0
    return max(mdi, ttl) + 0.1
