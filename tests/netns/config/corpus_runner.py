"""Run pykeepalived's config test on every corpus file in-process; print JSON results.

Invoked as ``python corpus_runner.py OUT.json DIR...`` inside the test namespace (cwd set to
each file's directory as oracle.sh does). Any exception is recorded as a crash. How fast the
config test is belongs to ``bench/config/configtest_cpu.py``, not here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback

from pykeepalived.config.configtest import config_test_result
from pykeepalived.options import Options


def main() -> int:
    out_path = sys.argv[1]
    results = []
    for d in sys.argv[2:]:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path):
                continue
            rec: dict[str, object] = {"dir": os.path.basename(d), "file": name}
            try:
                os.chdir(d)
                with contextlib.redirect_stderr(io.StringIO()):
                    res, code = config_test_result(Options(config_file=path))
                rec["exit"] = code
                rec["first"] = next((m.format() for m in res.messages), "")
                rec["messages"] = [m.format() for m in res.messages][:20]
                rec["real_servers"] = sum(len(v.real_servers)
                                          for v in res.config.virtual_servers)
            except BaseException:
                rec["exit"] = -1
                rec["crash"] = traceback.format_exc()
            results.append(rec)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
