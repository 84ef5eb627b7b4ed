#!/usr/bin/env python3
"""The split-brain matrix: every cause, keepalived 2.2.7 and pykeepalived side by side.

    flock /tmp/pk-bench.lock .venv/bin/python bench/splitbrain/run.py \
        [--causes hb-cut,fw112-one,...] [--variants ka,py,gate,conflict,paths,lease] \
        [--no-write] [--prefix pksb] [--json out.json]

For each cause (``pykeepalived.lab.splitbrain.CAUSES``) and each variant: n1 (priority 150)
master, n2 (100) backup, VRRPv3 0.1 s, a client pinging the VIP; the fault is injected for
3 s, healed, and the run goes on 2 s. The daemons of a variant keep running from one cause to
the next (``lab.splitbrain.Session``: restarted when n1 is not the only holder before a
cause). Every host is sampled every 5 ms. Reported per cell:
two-holder ms / no-holder ms / holder-set transitions / client MAC flips. The table goes into
docs/split-brain.md between ``<!-- matrix:begin -->`` and ``<!-- matrix:end -->`` with the
machine it ran on. Needs root, ``ip netns``, keepalived and (for the lease) etcd.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

from pykeepalived.lab import splitbrain as lsb
from pykeepalived.lab.etcd import EtcdCluster

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "split-brain.md"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--causes", default=",".join(lsb.CAUSES))
    ap.add_argument("--variants", default=",".join(lsb.VARIANTS))
    ap.add_argument("--prefix", default="pkzb")  # not a prefix of the tests' pksb* labs
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--json", default="")
    ap.add_argument("--machine-note", default="", help="with --from-json: the machine line")
    ap.add_argument("--from-json", default="",
                    help="render the table from these --json files (comma-separated; a later "
                         "file's cells replace an earlier one's) instead of running")
    ap.add_argument("--takeover", type=int, default=0,
                    help="instead of the matrix: N crash trials per variant (takeover time)")
    a = ap.parse_args()
    if a.takeover:
        return takeover(a)
    if a.from_json:
        cells: dict[tuple[str, str], lsb.Result] = {}
        for f in a.from_json.split(","):
            for r in json.loads(Path(f).read_text()):
                res = lsb.Result(**r)
                cells[(res.cause, res.variant)] = res
        write_doc(list(cells.values()), note=a.machine_note)
        return 0
    causes = [lsb.CAUSES[c] for c in a.causes.split(",")]
    variants = [lsb.VARIANTS[v] for v in a.variants.split(",")]
    results: list[lsb.Result] = []
    need_etcd = any(v.etcd for v in variants)
    with lsb.sb_lab(a.prefix, etcd=need_etcd) as sb:
        etcd = EtcdCluster(sb.etcd) if need_etcd else None
        if etcd is not None:
            etcd.start(fresh=True)
        for v in variants:
            # one session (daemons kept running) per base configuration of the variant
            groups: dict[tuple[str, int], list[lsb.Cause]] = {}
            for c in causes:
                if c.name != "arbiter" or v.etcd:
                    groups.setdefault((c.base, c.n2_vrid), []).append(c)
            for (base, vrid), group in groups.items():
                if etcd is not None:
                    etcd.start(fresh=False)
                    etcd.wait_healthy()
                session = lsb.Session(sb, v, base, vrid)
                try:
                    for c in group:
                        res = session.measure(c, **lsb.etcd_hooks(c, etcd))
                        results.append(res)
                        print(f"{c.name:15} {v.name:36} dual {res.dual_ms:6} ms  none "
                              f"{res.none_ms:6} ms  transitions {res.transitions:3}  client "
                              f"flips {res.client_flips:3}  ({res.samples_per_s:.0f} "
                              f"samples/s)", flush=True)
                finally:
                    session.close()
        if etcd is not None:
            etcd.stop_all()
    if a.json:
        Path(a.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    if not a.no_write:
        write_doc(results)
    return 0


def takeover(a: argparse.Namespace) -> int:
    """Master crash (link cut + SIGKILL of its group): takeover per variant vs its target."""
    variants = [lsb.VARIANTS[v] for v in a.variants.split(",")]
    rows = []
    with lsb.sb_lab(a.prefix, etcd=any(v.etcd for v in variants)) as sb:
        etcd = EtcdCluster(sb.etcd) if sb.etcd else None
        if etcd is not None:
            etcd.start(fresh=True)
        for v in variants:
            if etcd is not None and v.etcd:
                etcd.start(fresh=False)
            ts = [lsb.crash_takeover(sb, v) for _ in range(a.takeover)]
            bound = lsb.takeover_bound(v)
            ok = sum(t <= bound for t in ts)
            rows.append((v.name, ts, bound, ok))
            print(f"{v.name:36} takeover min {min(ts):.3f} median {statistics.median(ts):.3f}"
                  f" max {max(ts):.3f} s; target <= {bound:.3f} s: {ok}/{len(ts)}", flush=True)
        if etcd is not None:
            etcd.stop_all()
    if not a.no_write:
        lines = ["| variant | takeover min / median / max (s) | target | within |",
                 "| --- | --- | --- | --- |"]
        for name, ts, bound, ok in rows:
            lines.append(f"| {name} | {min(ts):.3f} / {statistics.median(ts):.3f} / "
                         f"{max(ts):.3f} | ≤ {bound:.3f} | {ok}/{len(ts)} |")
        table = "\n".join(lines) + f"\n\nMachine: {machine()}.\n"
        text = DOC.read_text()
        text = re.sub(r"<!-- takeover:begin -->.*<!-- takeover:end -->",
                      lambda _: f"<!-- takeover:begin -->\n{table}<!-- takeover:end -->", text,
                      flags=re.S)
        DOC.write_text(text)
    return 0


def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")


def write_doc(results: list[lsb.Result], note: str = "") -> None:
    variants = list(dict.fromkeys(r.variant for r in results))
    causes = list(dict.fromkeys(r.cause for r in results))
    cell = {(r.cause, r.variant): r for r in results}
    head = "| cause | " + " | ".join(variants) + " |"
    lines = [head, "|" + " --- |" * (len(variants) + 1)]
    for c in causes:
        row = [f"{c}: {lsb.CAUSES[c].title}"]
        for v in variants:
            r = cell.get((c, v))
            row.append("n/a" if r is None else
                       f"**{r.dual_ms}** / {r.none_ms} / {r.transitions} / {r.client_flips}")
        lines.append("| " + " | ".join(row) + " |")
    table = "\n".join(lines) + f"\n\nMachine: {note or machine()}.\n"
    text = DOC.read_text() if DOC.exists() else "<!-- matrix:begin -->\n<!-- matrix:end -->\n"
    text = re.sub(r"<!-- matrix:begin -->.*<!-- matrix:end -->",
                  lambda _: f"<!-- matrix:begin -->\n{table}<!-- matrix:end -->", text,
                  flags=re.S)
    DOC.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
