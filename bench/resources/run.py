"""Resource cost per VRRP instance: pykeepalived side by side with Debian's keepalived.

    sudo .venv/bin/python bench/resources/run.py            # 15 s windows, writes the doc
    sudo .venv/bin/python bench/resources/run.py --quick    # 4 s windows, prints only

Two lab hosts (``pkrbn1`` priority 150, ``pkrbn2`` priority 100) on one bridge run the same
generated keepalived.conf (N vrrp_instances, VRIDs 1..N, one VIP each on ``eth0``; v2 with PASS
authentication, v3 without: each version's usual set-up). For each scenario the two
implementations run one after the other in the same lab, each started the same way
(``-n -l -D -G -P``, VRRP child only). Once the master holds every VIP and the backup none, and
after a settling delay, one window is measured per node:

* RSS and PSS: ``Rss:``/``Pss:`` of ``/proc/PID/smaps_rollup`` summed over the daemon's whole
  process tree (parent and children), sampled every second; the table shows the mean.
* CPU: utime+stime deltas (``/proc/PID/stat``) of the tree over the window, in % of one core.
  The scheduler's nanosecond counter (``/proc/PID/schedstat``) is recorded too: at 1 instance
  both daemons use a few clock ticks per window, so the ratio is taken from the precise counter.
* Adverts/s: frames the node put on its switch port during the window (a sanity check that both
  implementations do the same work: ~N/advert_int from the master, ~0 from the backup).

Ratios are pykeepalived / keepalived (< 1 means pykeepalived uses less). The figures depend on
the machine: only the ratios measured in one run on one machine are meant to be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pykeepalived.lab.cluster import Daemon, InstanceConf, keepalived_available, render_config
from pykeepalived.lab.etcd import EtcdCluster, etcd_available
from pykeepalived.lab.netns import Host, Lab, netns_available, wait_for

PREFIX = "pkrb"  # the smoke test uses "pkrt": neither removes the other's namespaces
NET = "10.79"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance-resources.md"
BEGIN = "<!-- BEGIN bench/resources/run.py output -->"
END = "<!-- END bench/resources/run.py output -->"
IMPLS = {"py": "pykeepalived", "ka": "keepalived"}
METRICS_LISTEN = "127.0.0.1:9650"


@dataclass(frozen=True)
class Scenario:
    instances: int
    version: int
    advert: float

    @property
    def label(self) -> str:
        n = "1 instance" if self.instances == 1 else f"{self.instances} instances"
        return f"{n}, v{self.version} adv {self.advert:g}"


SCENARIOS = (Scenario(1, 2, 1.0), Scenario(200, 2, 1.0), Scenario(200, 3, 0.1))


# ----------------------------------------------------------------------------- configuration


def vip(k: int) -> str:
    """The VIP of instance ``k`` (1-based): 10.79.1.1, 10.79.1.2, ... 250 per /24."""
    return f"{NET}.{1 + (k - 1) // 250}.{1 + (k - 1) % 250}"


ETCD_IP = f"{NET}.0.21"  # the lease arbiter's etcd (one member, its own lab host)


@dataclass(frozen=True)
class Cure:
    """A split-brain guard (docs/split-brain.md) every instance gets, to price it: lines in
    each ``vrrp_instance`` (``{peer}``: the other node, ``{k}``: the instance's number),
    top-level blocks, and whether an etcd must run in the lab."""

    lines: tuple[str, ...]
    blocks: tuple[str, ...] = ()
    etcd: bool = False


CURES: dict[str, Cure] = {
    "gate": Cure(("reference_address {peer}",)),
    "conflict": Cure(("conflict_watch",)),
    "paths": Cure(("heartbeat_path eth0 unicast {peer}",)),
    # one key per instance, all on the node's single lease (the default ttl, 3 s)
    "lease": Cure(("lease_key /pkrb/vi{k}",),
                  (f"lease_arbiter {{\n    endpoints http://{ETCD_IP}:2379\n}}",), etcd=True),
}
CURE: Cure | None = None
TOGETHER = False  # --together: start both nodes at once even with a guard (the race)


def node_config(node: int, priority: int, sc: Scenario) -> str:
    """The keepalived.conf both implementations run on ``node`` for scenario ``sc``."""
    peer = f"{NET}.0.{13 - node if node in (1, 2) else 11}"
    lines = CURE.lines if CURE is not None else ()
    inst = [InstanceConf(name=f"VI_{k}", vrid=k, priority=priority, version=sc.version,
                         advert_int=sc.advert, interface="eth0", vips=(f"{vip(k)}/16",),
                         auth="PASS" if sc.version == 2 else None, auth_pass="pkr-pass",
                         state="BACKUP", extra=tuple(x.format(peer=peer, k=k) for x in lines))
            for k in range(1, sc.instances + 1)]
    return render_config(f"pkr-n{node}", inst, blocks=CURE.blocks if CURE is not None else ())


# ----------------------------------------------------------------------------- /proc sampling


@dataclass(frozen=True)
class ProcSample:
    pid: int
    comm: str
    ticks: int  # utime + stime, clock ticks
    cpu_ns: int  # schedstat: time on CPU, nanoseconds (0 when the kernel lacks it)
    rss_kb: int
    pss_kb: int


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (by parent pid, from ``/proc/*/stat``)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read(f"/proc/{name}/stat")
        if st is None:
            continue
        parent[int(name)] = int(st[st.rindex(")") + 2:].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        tree += frontier
    return [p for p in tree if p == root or p in parent]


def sample_proc(pid: int) -> ProcSample | None:
    st = _read(f"/proc/{pid}/stat")
    roll = _read(f"/proc/{pid}/smaps_rollup")
    if st is None or roll is None:
        return None
    comm = st[st.index("(") + 1:st.rindex(")")]
    f = st[st.rindex(")") + 2:].split()  # f[0] is field 3 (state): utime is field 14
    # /proc/PID/schedstat is the main thread only: add every live thread's (a thread that
    # exits takes its count with it; utime/stime keep it, and both figures are reported).
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        tasks = []
    cpu_ns = sum(int((_read(f"/proc/{pid}/task/{t}/schedstat") or "0").split()[0])
                 for t in tasks)
    mem = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+) kB", roll, re.M)}
    return ProcSample(pid, comm, int(f[11]) + int(f[12]), cpu_ns, mem.get("Rss", 0),
                      mem.get("Pss", 0))


def sample_tree(root: int) -> dict[int, ProcSample]:
    out = {}
    for pid in process_tree(root):
        s = sample_proc(pid)
        if s is not None:
            out[pid] = s
    return out


def cpu_delta(before: dict[int, ProcSample], after: dict[int, ProcSample],
              attr: Callable[[ProcSample], int]) -> int:
    """CPU used between two samples of a tree; a process born in between counts whole (one
    that exits in between is lost: none does in these scenarios)."""
    return sum(attr(s) - (attr(before[p]) if p in before else 0) for p, s in after.items())


def port_tx_packets(lab: Lab, host: Host) -> int:
    """Frames ``host`` has sent: what its switch port has received."""
    r = subprocess.run(["ip", "-n", lab.switch_ns, "-s", "-j", "link", "show", host.port],
                       capture_output=True, text=True, check=True)
    return int(json.loads(r.stdout)[0]["stats64"]["rx"]["packets"])


# ----------------------------------------------------------------------------- measuring


@dataclass
class NodeFigures:
    impl: str
    role: str  # "master" or "backup"
    procs: list[str] = field(default_factory=list)
    rss_mib: float = 0.0  # mean over the window's samples
    pss_mib: float = 0.0
    rss_max_mib: float = 0.0
    pss_max_mib: float = 0.0
    cpu_pct: float = 0.0  # utime+stime, % of one core
    cpu_pct_ns: float = 0.0  # schedstat, % of one core
    adverts_per_s: float = 0.0
    window_s: float = 0.0
    became_master: int = 0  # "Entering MASTER STATE" lines logged during the window
    raw_drops: int = 0  # VRRP frames the kernel dropped on the node's raw sockets (buffer full)


@dataclass
class Result:
    scenario: Scenario
    figures: dict[str, dict[str, NodeFigures]]  # impl -> role -> figures


def raw_drops(host: Host) -> int:
    """Sum of the ``drops`` column of the host's ``/proc/net/raw`` (receive buffer overflows)."""
    r = host.run(["cat", "/proc/net/raw"], check=False)
    return sum(int(line.split()[-1]) for line in r.stdout.splitlines()[1:] if line.strip())


def vip_count(host: Host, n: int) -> int:
    r = host.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"], check=False)
    wanted = {vip(k) for k in range(1, n + 1)}
    return sum(1 for a in re.findall(r"inet (\S+)/", r.stdout) if a in wanted)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def running_pair(lab: Lab, impl: str, sc: Scenario, ready_timeout: float = 60.0,
                 extra_args: Sequence[str] = ()) -> Iterator[dict[str, Daemon]]:
    """``impl`` on both hosts with scenario ``sc``, once the master holds every VIP and the
    backup none; both stopped on exit."""
    n1, n2 = lab.hosts["n1"], lab.hosts["n2"]
    daemons = {"master": Daemon(n1, impl, node_config(1, 150, sc), extra_args=list(extra_args)),
               "backup": Daemon(n2, impl, node_config(2, 100, sc), extra_args=list(extra_args))}
    try:
        for h in (n1, n2):  # a previous run's leftovers would fake "ready"
            for k in range(1, sc.instances + 1):
                if vip_count(h, sc.instances) == 0:
                    break
                h.run(["ip", "addr", "del", f"{vip(k)}/16", "dev", "eth0"], check=False)
        t0 = time.monotonic()
        daemons["master"].start()
        if CURE is not None and not TOGETHER:
            # with a guard the master comes up alone first: two nodes started together race
            # for the VIPs (or the lease keys), and a guard may settle that race with the
            # backup holding some of them; what is priced here is the steady state after it
            wait_for(lambda: vip_count(n1, sc.instances) == sc.instances, ready_timeout, 0.2)
        daemons["backup"].start()
        ok = wait_for(lambda: vip_count(n1, sc.instances) == sc.instances
                      and vip_count(n2, sc.instances) == 0, ready_timeout, 0.2)
        if not ok or not all(d.running() for d in daemons.values()):
            tails = {r: d.log_text()[-2000:] for r, d in daemons.items()}
            raise RuntimeError(f"{IMPLS[impl]} not ready for {sc.label}: master holds "
                               f"{vip_count(n1, sc.instances)}/{sc.instances} VIPs, backup "
                               f"{vip_count(n2, sc.instances)}; logs: {tails}")
        log(f"  {IMPLS[impl]}: ready after {time.monotonic() - t0:.1f} s")
        yield daemons
    finally:
        for d in daemons.values():
            d.stop()


def measure(lab: Lab, impl: str, sc: Scenario, window: float,
            settle: float, metrics: float | None = None) -> dict[str, NodeFigures]:
    """Run ``impl`` on both hosts with scenario ``sc`` and measure one window on each.
    ``metrics``: pykeepalived serves /metrics (``--metrics-listen``) and both nodes are
    scraped every ``metrics`` seconds through the whole run (the scraper's own CPU is not the
    daemon's and is not counted)."""
    extra = ["--metrics-listen", METRICS_LISTEN] if metrics is not None and impl == "py" else []
    with running_pair(lab, impl, sc, extra_args=extra) as daemons, contextlib.ExitStack() as st:
        if extra:
            from pykeepalived.lab.prometheus import Scraper

            scraper = Scraper([d.host for d in daemons.values()],
                              f"http://{METRICS_LISTEN}/metrics", metrics or 1.0).start()
            st.callback(scraper.stop)
        time.sleep(settle)
        roots = {r: d.proc.pid for r, d in daemons.items() if d.proc is not None}
        mem: dict[str, list[tuple[int, int]]] = {r: [] for r in roots}
        first = {r: sample_tree(p) for r, p in roots.items()}
        pk0 = {r: port_tx_packets(lab, d.host) for r, d in daemons.items()}
        marks = {r: d.mark() for r, d in daemons.items()}
        drops0 = {r: raw_drops(d.host) for r, d in daemons.items()}
        w0 = time.monotonic()
        last = dict(first)
        while True:
            for r, p in roots.items():
                last[r] = sample_tree(p)
                mem[r].append((sum(s.rss_kb for s in last[r].values()),
                               sum(s.pss_kb for s in last[r].values())))
            left = w0 + window - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(1.0, left))
        w = time.monotonic() - w0
        pk1 = {r: port_tx_packets(lab, d.host) for r, d in daemons.items()}
        drops1 = {r: raw_drops(d.host) for r, d in daemons.items()}
        masters = {r: d.log_since(marks[r]).count("Entering MASTER STATE")
                   for r, d in daemons.items()}
        out = {}
        for r in roots:
            rss = [m[0] for m in mem[r]]
            pss = [m[1] for m in mem[r]]
            out[r] = NodeFigures(
                impl=impl, role=r,
                procs=[f"{s.comm}({s.pid}) RSS {s.rss_kb / 1024:.1f} PSS {s.pss_kb / 1024:.1f}"
                       for s in last[r].values()],
                rss_mib=sum(rss) / len(rss) / 1024, pss_mib=sum(pss) / len(pss) / 1024,
                rss_max_mib=max(rss) / 1024, pss_max_mib=max(pss) / 1024,
                cpu_pct=cpu_delta(first[r], last[r], lambda s: s.ticks) / CLK_TCK / w * 100,
                cpu_pct_ns=cpu_delta(first[r], last[r], lambda s: s.cpu_ns) / 1e9 / w * 100,
                adverts_per_s=(pk1[r] - pk0[r]) / w, window_s=w, became_master=masters[r],
                raw_drops=drops1[r] - drops0[r])
        return out


def lab_hosts(lab: Lab) -> None:
    """The two VRRP nodes every scenario runs on."""
    lab.add_host("n1", [f"{NET}.0.11/16"])
    lab.add_host("n2", [f"{NET}.0.12/16"])


@contextlib.contextmanager
def arbiter(lab: Lab) -> Iterator[None]:
    """A one-member etcd on its own lab host while a cure needs one (the lease arbiter's)."""
    if CURE is None or not CURE.etcd:
        yield
        return
    etcd = EtcdCluster([lab.add_host("e1", [f"{ETCD_IP}/16"])])
    try:
        etcd.start(fresh=True)
        yield
    finally:
        etcd.stop_all()


def compile_sources() -> None:
    """Byte-compile pykeepalived as ``pip install`` does (into the gitignored ``__pycache__``).

    Environments with PYTHONDONTWRITEBYTECODE=1 (this one) otherwise make every daemon start
    compile the whole package from source, which costs seconds of start-up and leaves ~7 MiB
    of compiler garbage in each process's heap: a cost no installed daemon pays.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "pykeepalived"), quiet=1)


def run(scenarios: Sequence[Scenario], impls: Sequence[str], window: float, settle: float,
        prefix: str = PREFIX, bytecode: bool = True, metrics: float | None = None
        ) -> list[Result]:
    results = []
    with Lab(prefix) as lab, contextlib.ExitStack() as st:
        lab_hosts(lab)
        st.enter_context(arbiter(lab))
        for sc in scenarios:
            log(f"{sc.label}: window {window:g} s per node")
            figs = {}
            for impl in impls:
                if bytecode and impl == "py":  # again each time: the tree may have changed
                    compile_sources()
                figs[impl] = measure(lab, impl, sc, window, settle, metrics)
            for impl, f in figs.items():
                for r, x in f.items():
                    log(f"  {IMPLS[impl]:12} {r}: RSS {x.rss_mib:.1f} MiB PSS {x.pss_mib:.1f} "
                        f"MiB CPU {x.cpu_pct:.2f} % ({x.cpu_pct_ns:.3f} %) "
                        f"{x.adverts_per_s:.1f} frames/s procs {len(x.procs)} "
                        f"->MASTER {x.became_master} raw drops {x.raw_drops}")
            results.append(Result(sc, figs))
    return results


# ----------------------------------------------------------------------------- reporting


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


def machine() -> dict[str, str]:
    cpuinfo = _read("/proc/cpuinfo") or ""
    m = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    ka = subprocess.run(["keepalived", "--version"], capture_output=True, text=True,
                        check=False) if keepalived_available() else None
    ka_ver = (ka.stderr or ka.stdout).splitlines()[0] if ka else "not installed"
    return {"nproc": str(os.cpu_count()), "model": m.group(1).strip() if m else "?",
            "kernel": platform.release(), "python": platform.python_version(),
            "keepalived": ka_ver,
            "load": " ".join((_read("/proc/loadavg") or "? ? ?").split()[:3])}


def per_advert(res: Result, impl: str, role: str) -> str:
    """CPU µs per advert the master sent (and the backup received) in the window."""
    rate = res.figures[impl]["master"].adverts_per_s
    cpu = res.figures[impl][role].cpu_pct_ns / 100
    return f"{cpu / rate * 1e6:.0f}" if rate > 0 else "n/a"


def table(results: Sequence[Result]) -> str:
    """Markdown: memory, then CPU and behaviour, one row per scenario and node, with ratios."""
    mem = ["| scenario | node | keepalived RSS MiB | pykeepalived RSS MiB | RSS ratio "
           "| keepalived PSS MiB | pykeepalived PSS MiB | PSS ratio |", "|" + " --- |" * 8]
    cpu = ["| scenario | node | keepalived CPU % | pykeepalived CPU % | CPU ratio "
           "| CPU µs per advert ka / py | frames/s sent ka / py "
           "| entered MASTER in window ka / py | raw socket drops ka / py |", "|" + " --- |" * 9]
    for res in results:
        if not {"py", "ka"} <= res.figures.keys():
            continue
        for role in ("master", "backup"):
            k, p = res.figures["ka"][role], res.figures["py"][role]
            mem.append(
                f"| {res.scenario.label} | {role} | {k.rss_mib:.1f} | {p.rss_mib:.1f} "
                f"| {ratio(p.rss_mib, k.rss_mib)} | {k.pss_mib:.1f} | {p.pss_mib:.1f} "
                f"| {ratio(p.pss_mib, k.pss_mib)} |")
            cpu.append(
                f"| {res.scenario.label} | {role} | {k.cpu_pct:.2f} ({k.cpu_pct_ns:.3f}) "
                f"| {p.cpu_pct:.2f} ({p.cpu_pct_ns:.3f}) | {ratio(p.cpu_pct_ns, k.cpu_pct_ns)} "
                f"| {per_advert(res, 'ka', role)} / {per_advert(res, 'py', role)} "
                f"| {k.adverts_per_s:.1f} / {p.adverts_per_s:.1f} "
                f"| {k.became_master} / {p.became_master} | {k.raw_drops} / {p.raw_drops} |")
    return "\n".join([*mem, "", *cpu])


def report(results: Sequence[Result], argv: Sequence[str], window: float,
           started: str, bytecode: bool = True, mc: dict[str, str] | None = None) -> str:
    mc = mc or machine()
    cmd = " ".join(["sudo .venv/bin/python bench/resources/run.py", *argv])
    procs = []
    for res in results:
        for impl, f in res.figures.items():
            for role, x in f.items():
                procs.append(f"{res.scenario.label}, {IMPLS[impl]} {role}: "
                             f"{', '.join(x.procs)} MiB; max RSS {x.rss_max_mib:.1f} MiB, "
                             f"max PSS {x.pss_max_mib:.1f} MiB")
    return "\n".join([
        BEGIN,
        f"Measured {started} UTC with `{cmd}` ({window:g} s window per node and implementation, "
        "one after the other in the same lab"
        + ("; pykeepalived byte-compiled first, as an installed package is)." if bytecode
           else "; pykeepalived run from source without bytecode)."),
        "",
        f"Machine: {mc['nproc']} CPUs ({mc['model']}), kernel {mc['kernel']}, Python "
        f"{mc['python']}, {mc['keepalived']}; load average at the end {mc['load']} "
        "(other work was running on the machine).",
        "",
        "CPU is % of one core from utime+stime; in parentheses the same from the scheduler's "
        "nanosecond counter, which the CPU ratio uses. Ratios are pykeepalived / keepalived.",
        "",
        table(results),
        "",
        "<details><summary>Processes measured</summary>",
        "",
        *[f"- {p}" for p in procs],
        "",
        "</details>",
        END,
    ])


def to_json(results: Sequence[Result], started: str, window: float, argv: Sequence[str],
            bytecode: bool) -> str:
    return json.dumps(
        {"started": started, "machine": machine(), "window": window, "argv": list(argv),
         "bytecode": bytecode,
         "results": [{"scenario": asdict(r.scenario),
                      "figures": {i: {ro: asdict(x) for ro, x in f.items()}
                                  for i, f in r.figures.items()}} for r in results]},
        indent=1) + "\n"


def from_json(text: str) -> tuple[list[Result], dict[str, Any]]:
    """Results and run metadata back from :func:`to_json` (to re-render the doc)."""
    d = json.loads(text)
    results = [Result(Scenario(**r["scenario"]),
                      {i: {ro: NodeFigures(**x) for ro, x in f.items()}
                       for i, f in r["figures"].items()}) for r in d["results"]]
    return results, d


def write_doc(section: str, path: Path = DOC) -> None:
    """Replace the generated section of the doc, keeping the hand-written text around it."""
    text = path.read_text() if path.exists() else f"# Resource cost\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + section + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 s windows, 2 s settle, no doc")
    ap.add_argument("--window", type=float, default=15.0, help="measuring window, seconds")
    ap.add_argument("--settle", type=float, default=5.0, help="wait after ready, seconds")
    ap.add_argument("--instances", type=int, help="only this scenario: N instances ...")
    ap.add_argument("--version", type=int, choices=[2, 3], default=2, help="... of this version")
    ap.add_argument("--advert", type=float, default=1.0, help="... at this advert_int")
    ap.add_argument("--impl", choices=["both", "py", "ka"], default="both")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="do not byte-compile pykeepalived first (measure a source-only run)")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--no-doc", action="store_true", help="do not update the doc")
    ap.add_argument("--from-json", type=Path, help="re-render the doc from a --json file")
    ap.add_argument("--cure", choices=sorted(CURES),
                    help="every instance also runs this split-brain guard (pykeepalived "
                    "only; lease: with a one-member etcd in the lab)")
    ap.add_argument("--together", action="store_true",
                    help="with --cure: start both nodes at once (the start-up race) and "
                    "require every VIP on the master within the ready timeout")
    ap.add_argument("--metrics", type=float, metavar="SECONDS",
                    help="pykeepalived with --metrics-listen, scraped every SECONDS "
                    "(docs/observability.md); implies --no-doc")
    args = ap.parse_args(argv)
    if args.cure:
        global CURE, TOGETHER
        TOGETHER = args.together
        CURE = CURES[args.cure]
        args.impl, args.no_doc = "py", True
        if CURE.etcd and not etcd_available():
            print("--cure lease needs etcd (Debian's etcd-server)", file=sys.stderr)
            return 2
    if args.from_json:
        results, meta = from_json(args.from_json.read_text())
        section = report(results, meta.get("argv", []), meta["window"], meta["started"],
                         meta.get("bytecode", True), meta["machine"])
        print(section)
        if not args.no_doc:
            write_doc(section)
        return 0
    if not netns_available():
        print("needs root and ip netns", file=sys.stderr)
        return 2
    if args.quick:
        args.window, args.settle, args.no_doc = 4.0, 2.0, True
    impls = ["ka", "py"] if args.impl == "both" else [args.impl]
    if "ka" in impls and not keepalived_available():
        print("keepalived is not installed", file=sys.stderr)
        return 2
    scenarios = ((Scenario(args.instances, args.version, args.advert),) if args.instances
                 else SCENARIOS)
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    if args.metrics is not None:
        args.no_doc = True
    results = run(scenarios, impls, args.window, args.settle, bytecode=not args.no_bytecode,
                  metrics=args.metrics)
    section = report(results, list(argv if argv is not None else sys.argv[1:]), args.window,
                     started, bytecode=not args.no_bytecode)
    print(section)
    if args.json:
        args.json.write_text(to_json(results, started, args.window,
                                     list(argv if argv is not None else sys.argv[1:]),
                                     not args.no_bytecode))
    if not args.no_doc and len(impls) == 2 and not args.instances:
        write_doc(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
