"""Experiment, not project code: the daemon's parent decides which children to start in a
forked helper, so the config package and the parsed config never live in the long-lived
parent; measures suggestion 5 of docs/performance-resources.md (use with PYTHONPATH).
"""

import os
import pickle
import sys
from typing import Any


def _install() -> None:
    import pykeepalived.daemon.main as main

    orig = main.Supervisor._wanted_children

    def wanted(self: Any) -> Any:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                data = pickle.dumps(orig(self))
            except BaseException:
                data = pickle.dumps(None)
            os.write(w, data)
            os._exit(0)
        os.close(w)
        buf = b""
        while chunk := os.read(r, 65536):
            buf += chunk
        os.close(r)
        os.waitpid(pid, 0)
        return pickle.loads(buf)

    main.Supervisor._wanted_children = wanted  # type: ignore[method-assign]


if "--child" not in sys.argv:
    _install()
