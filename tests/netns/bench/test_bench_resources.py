"""The resource benchmark's harness works: /proc sampling, the doc update, and a 2-instance run.

The namespace test runs bench/resources/run.py's own ``run()`` for a couple of seconds per
implementation, so CI proves the benchmark still measures both daemons (real figures, checked
for plausibility only: the real comparison is the hand-run benchmark in the doc).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_resources_run",
                                                  ROOT / "bench" / "resources" / "run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


bench = _load()


def test_tree_sampling_sees_children_and_cpu() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for _ in range(50):  # until the child has exec'd and mapped the interpreter
            before = bench.sample_tree(os.getpid())
            if child.pid in before and before[child.pid].rss_kb > 1024:
                break
            time.sleep(0.05)
        assert set(before) >= {os.getpid(), child.pid}
        spun, done = threading.Event(), threading.Event()

        def spin() -> None:  # in a second, live thread: schedstat must count every thread
            end = time.thread_time() + 0.2
            while time.thread_time() < end:
                pass
            spun.set()
            done.wait(10)

        worker = threading.Thread(target=spin)
        worker.start()
        assert spun.wait(10)
        after = bench.sample_tree(os.getpid())
        done.set()
        worker.join()
        assert bench.cpu_delta(before, after, lambda s: s.cpu_ns) >= 150_000_000
        me = after[os.getpid()]
        assert 0 < me.pss_kb <= me.rss_kb
    finally:
        child.kill()
        child.wait()


def test_doc_update_keeps_hand_written_text(tmp_path: Path) -> None:
    doc = tmp_path / "perf.md"
    doc.write_text(f"# T\n\nintro\n\n{bench.BEGIN}\nold figures\n{bench.END}\n\n## Findings\nx\n")
    bench.write_doc(f"{bench.BEGIN}\nnew figures\n{bench.END}", doc)
    text = doc.read_text()
    assert "new figures" in text and "old figures" not in text
    assert text.startswith("# T\n\nintro\n") and text.endswith("## Findings\nx\n")


@pytest.mark.netns
@pytest.mark.keepalived
def test_resources_harness_two_instances_both_daemons() -> None:
    sc = bench.Scenario(2, 3, 0.25)
    # Its own prefix: a hand-run benchmark (prefix pkrb) and this test never remove each other.
    [res] = bench.run([sc], ["ka", "py"], window=2.0, settle=0.5, prefix="pkrt")
    for impl in ("ka", "py"):
        master, backup = res.figures[impl]["master"], res.figures[impl]["backup"]
        for f in (master, backup):
            assert len(f.procs) >= 2, f  # parent and VRRP child
            assert 1.0 < f.rss_mib < 1000 and 0 < f.pss_mib <= f.rss_mib, f
            assert 0 < f.cpu_pct_ns < 100 * (os.cpu_count() or 1), f
        # 2 instances at 0.25 s: 8 adverts/s from the master (plus gratuitous ARPs), none
        # from the backup.
        assert 5 <= master.adverts_per_s <= 25, master
        assert backup.adverts_per_s < 2, backup
    assert bench.table([res]).count("| 2 instances, v3 adv 0.25 | master |") == 2


@pytest.mark.parametrize("cure", sorted(bench.CURES))
def test_every_cure_renders_a_config_that_runs_the_guard(cure: str) -> None:
    """--cure NAME gives every instance that guard (the lease arbiter its etcd block and one
    key per instance), in a configuration without errors."""
    from pykeepalived.config.loader import load_text
    from pykeepalived.config.model import Severity

    bench.CURE = bench.CURES[cure]
    try:
        text = bench.node_config(1, 150, bench.Scenario(3, 3, 0.1))
    finally:
        bench.CURE = None
    parsed = load_text(text)
    assert not [m.format() for m in parsed.messages if m.severity >= Severity.ERROR]
    insts = parsed.config.vrrp_instances
    assert len(insts) == 3 and all(i.split_brain.any for i in insts)
    if cure == "lease":
        assert parsed.config.lease_arbiter is not None
        assert len({i.split_brain.lease_key for i in insts}) == 3
