"""``AsyncIPRoute`` without pyroute2's package ``__init__``.

``import pyroute2`` (and so any ``from pyroute2.x import y``, since Python runs the package
``__init__`` first) imports every pyroute2 feature: NDB, IPDB, sqlite3, ``unittest.mock``,
multiprocessing, ssl... 163 modules and ~5 MiB of heap in each daemon process, of which the
VRRP child needs only rtnetlink. ``async_iproute()`` registers a bare package module for
``pyroute2`` (its real ``__path__``, so submodules import normally) and imports
``pyroute2.iproute.linux`` alone.

Other code may still ``from pyroute2 import Anything``: the bare package's PEP 562
``__getattr__`` then imports a submodule of that name, or else runs the real ``__init__`` in the
same module object (once), after which pyroute2 is exactly what a plain import gives.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = ["async_iproute", "rtnl_marshal"]

_PKG = "pyroute2"


def _install_bare_package() -> None:
    if _PKG in sys.modules:
        return
    spec = importlib.util.find_spec(_PKG)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return  # not installed as a normal package: let the plain import report it
    pkg = types.ModuleType(_PKG)
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = spec
    pkg.__file__ = spec.origin
    pkg.__loader__ = spec.loader
    pkg.__package__ = _PKG
    state = {"full": False}

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if importlib.util.find_spec(f"{_PKG}.{name}") is not None:
            return importlib.import_module(f"{_PKG}.{name}")
        if state["full"]:
            raise AttributeError(f"module {_PKG!r} has no attribute {name!r}")
        state["full"] = True
        del pkg.__dict__["__getattr__"]  # the real __init__ defines what it defines
        assert spec.loader is not None
        spec.loader.exec_module(pkg)
        return getattr(pkg, name)

    pkg.__dict__["__getattr__"] = __getattr__
    sys.modules[_PKG] = pkg


def async_iproute() -> Any:
    """The ``pyroute2.AsyncIPRoute`` class, importing only what rtnetlink needs."""
    _install_bare_package()
    from pyroute2.iproute.linux import AsyncIPRoute

    return AsyncIPRoute


def rtnl_marshal() -> Any:
    """pyroute2's rtnetlink decoder class (``MarshalRtnl``), for datagrams read elsewhere."""
    _install_bare_package()
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl

    return MarshalRtnl
