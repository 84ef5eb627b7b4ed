"""Split-brain causes scripted in namespaces, without and with the cures meant for them.

The lab (``pykeepalived.lab.splitbrain``): two nodes serving a client, a gateway, a dedicated
heartbeat switch, three etcd members; each host's hold of the VIP and the client's ARP view
sampled every 5 ms. pykeepalived's default (keepalived's behaviour) shows two holders for
each cause here — so the scenario really is split brain and a cure that did nothing would
fail — and each cure keeps its causes at 0 ms. Sessions keep the daemons of one variant
running across causes, and two labs run side by side, to stay within the suite's time
budget; the full matrix, every cause × every cure with keepalived 2.2.7 side by side, is
``bench/splitbrain/run.py`` (docs/split-brain.md).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable

import pytest

from pykeepalived.lab import splitbrain as lsb
from pykeepalived.lab.etcd import EtcdCluster, etcd_available

pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(600)]

HOLD = 1.0  # every cause splits plain VRRP within Master_Down_Interval (0.36 s)
SETTLE = 1.0
FENCED = "/tmp/pksb-fenced-test"

Cell = tuple[str, str, lsb.Result | str]

#: the keywords each cure adds to the default's configuration: its cells show their effect
CURES = {"gate": ("reference_address", "reference_interval", "reference_fall"),
         "conflict": ("conflict_watch",),
         "paths": ("heartbeat_path",),
         "lease": ("lease_key", "lease_arbiter", "endpoints", "ttl", "on_etcd_down hold"),
         "lease-fence": ("lease_key", "lease_arbiter", "endpoints", "on_etcd_down fence",
                         "fence_script")}


def variant_of(name: str) -> lsb.Variant:
    """The lab's variant; the fencing one also runs a fence script that leaves a file."""
    v = lsb.VARIANTS[name]
    if name == "lease-fence":
        v = lsb.Variant(v.name, v.impl, (*v.instance_lines, f'fence_script "/bin/touch {FENCED}"'),
                        blocks=v.blocks, etcd=True)
    return v


def config_lines(v: lsb.Variant) -> str:
    return "\n".join([*v.instance_lines, *(x for _, xs in v.base_lines for x in xs), *v.blocks])


def session(sb: lsb.SbLab, variant: str, base: str, causes: list[str], out: list[Cell],
            n2_vrid: int = 51, hold: float = HOLD,
            hooks: Callable[[lsb.Cause], dict[str, lsb.Action]] | None = None) -> None:
    v = variant_of(variant)
    try:
        s = lsb.Session(sb, v, base, n2_vrid)
    except Exception as e:
        out += [(c, variant, f"session failed: {e}") for c in causes]
        return
    try:
        for c in causes:
            cause = lsb.CAUSES[c]
            try:
                res = s.measure(cause, hold, SETTLE, **(hooks(cause) if hooks else {}))
                out.append((c, variant, res))
            except Exception as e:
                out.append((c, variant, f"{type(e).__name__}: {e}"))
    finally:
        s.close()


def lab_a(out: list[Cell]) -> None:
    """The default (it splits) and the ARP-based cures, which need no etcd."""
    with lsb.sb_lab("pksbt") as sb:
        session(sb, "py", "lan", ["fw112-one", "oneway-m2b", "switch", "mcast"], out)
        session(sb, "py", "hb", ["hb-cut"], out)
        session(sb, "py", "lan", ["vrid"], out, n2_vrid=52)
        session(sb, "gate", "lan", ["switch"], out)
        session(sb, "conflict", "lan", ["fw112-one", "fw112-both"], out)
        session(sb, "conflict", "lan", ["vrid"], out, n2_vrid=52)


def lab_b(out: list[Cell]) -> None:
    """Heartbeat paths and the lease arbiter against three etcd members."""
    with lsb.sb_lab("pksbu", etcd=True) as sb:
        session(sb, "paths", "hb", ["hb-cut"], out)
        session(sb, "paths", "lan", ["oneway-m2b", "mcast"], out)
        etcd = EtcdCluster(sb.etcd)
        etcd.start(fresh=True)
        try:
            session(sb, "py", "lan", ["nodes-cut", "master-isolated"], out)
            session(sb, "lease", "lan", ["nodes-cut", "etcd-cut-master", "etcd-cut-backup",
                                         "arbiter"], out,
                    hooks=lambda c: lsb.etcd_hooks(c, etcd))
            etcd.wait_healthy()
            session(sb, "lease-fence", "lan", ["master-isolated"], out, hold=3.0)
        finally:
            etcd.stop_all()


def test_causes_split_and_cures_hold() -> None:
    if not etcd_available():
        pytest.fail("etcd is not installed (scripts/setup.sh installs etcd-server)")
    for name, words in CURES.items():
        text = config_lines(variant_of(name))
        assert all(re.search(rf"^\s*{w}\b", text, re.M) for w in words), (name, text)
    if os.path.exists(FENCED):
        os.unlink(FENCED)
    cells: list[Cell] = []
    a_out: list[Cell] = []
    b_out: list[Cell] = []
    threads = [threading.Thread(target=lab_a, args=(a_out,)),
               threading.Thread(target=lab_b, args=(b_out,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cells = a_out + b_out
    bad = []
    for cause, variant, res in cells:
        print(cause, variant, res)
        if isinstance(res, str):
            bad.append(f"{cause}/{variant}: {res}")
        elif variant == "py" and res.dual_ms < 300:
            bad.append(f"{cause}/default did not split: {res}")
        elif variant != "py" and res.dual_ms != 0:
            bad.append(f"{cause}/{variant} had two holders: {res}")
        elif variant != "py" and res.samples_per_s < 100:
            bad.append(f"{cause}/{variant}: the sampler fell behind: {res}")
        elif cause in ("arbiter", "etcd-cut-master", "etcd-cut-backup") and variant == "lease" \
                and (res.none_ms or res.transitions):
            bad.append(f"{cause}/hold should change nothing: {res}")
    expected = {("fw112-one", "py"), ("switch", "gate"), ("vrid", "conflict"),
                ("master-isolated", "lease-fence"), ("arbiter", "lease"), ("hb-cut", "paths")}
    assert expected <= {(c, v) for c, v, _ in cells}
    assert not bad, "\n".join(bad)
    # self-fencing in master-isolated ran the fence script
    assert os.path.exists(FENCED)
    os.unlink(FENCED)
