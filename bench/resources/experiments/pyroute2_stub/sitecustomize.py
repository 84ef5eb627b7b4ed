"""Experiment, not project code: skip pyroute2's package ``__init__`` (which imports all of
pyroute2: NDB, IPDB, sqlite3, unittest.mock ...) and load ``AsyncIPRoute`` from its own module
on first use, to measure suggestion 4 of docs/performance-resources.md (use with PYTHONPATH).
"""

import importlib.util
import sys
import types
from typing import Any


def _lazy(name: str) -> Any:
    if name == "AsyncIPRoute":
        from pyroute2.iproute.linux import AsyncIPRoute

        return AsyncIPRoute
    raise AttributeError(name)


def _install() -> None:
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or "pyroute2" in sys.modules:
        return
    pkg = types.ModuleType("pyroute2")
    pkg.__path__ = list(spec.submodule_search_locations or [])
    pkg.__spec__ = spec
    pkg.__file__ = spec.origin
    pkg.__getattr__ = _lazy  # type: ignore[method-assign]  # PEP 562 module __getattr__
    sys.modules["pyroute2"] = pkg


_install()
