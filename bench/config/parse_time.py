"""Time the config front end (``load``: lexer, parser, finishing, script checks) on one file,
in-process, for one source tree; run it once per tree to compare two of them.

    python bench/config/parse_time.py SRC_DIR FILE [RUNS]

Prints the best and the median wall time and CPU time of RUNS loads (default 7), in seconds
(on a loaded machine the best CPU time is the steadiest figure). Run the trees alternately,
under the machine-wide lock (``flock /tmp/pk-bench.lock ...``), and say how loaded the machine
was. Instruction counts do not depend on the load: ``valgrind --tool=cachegrind
--cache-sim=no`` around ``pykeepalived -t -f FILE`` (with ``PYTHONHASHSEED=0``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time


def main() -> int:
    sys.path.insert(0, os.path.abspath(sys.argv[1]))
    from pykeepalived.config.loader import load

    path = os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    os.chdir(os.path.dirname(path))
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        load(path, config_id="h")
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    print(f"{sys.argv[1]}: wall best {min(walls):.3f} median {statistics.median(walls):.3f}, "
          f"cpu best {min(cpus):.3f} median {statistics.median(cpus):.3f} s ({runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
