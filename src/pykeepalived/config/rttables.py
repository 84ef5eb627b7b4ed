"""Routing table names (``table NAME`` of routes and rules), read as iproute2 and keepalived
2.4 read them: ``ETC/rt_tables`` if it is a file, else ``USR/rt_tables``; then every ``*.conf``
of ``USR/rt_tables.d`` that ``ETC/rt_tables.d`` does not override, then those of
``ETC/rt_tables.d``; ``default``, ``main`` and ``local`` always. ``iproute_etc_dir`` and
``iproute_usr_dir`` (global_defs) choose the two directories; a name is resolved to its number
when the line is read, so the daemon only ever sees numbers.
"""

from __future__ import annotations

import os

DEFAULT_ETC_DIR = "/etc/iproute2"
USR_DIRS = ("/usr/share/iproute2", "/usr/lib/iproute2")  # where distributions put them
TABLE_MAX = 0xFFFFFFFF
DEFAULT_TABLES = {"default": 253, "main": 254, "local": 255}


def default_usr_dir() -> str | None:
    return next((d for d in USR_DIRS if os.path.isdir(d)), None)


def _read(path: str, names: dict[str, int], hi: int) -> None:
    """``NUMBER NAME`` lines (comments after ``#``); later files do not override earlier."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split("#", 1)[0].split()
                if len(parts) != 2:
                    continue
                try:
                    n = int(parts[0], 0)
                except ValueError:
                    continue
                if 0 <= n <= hi:
                    names.setdefault(parts[1], n)
    except OSError:
        pass


def _confs(directory: str) -> list[str]:
    try:
        return sorted(e for e in os.listdir(directory)
                      if not e.startswith(".") and e.endswith(".conf") and len(e) > 5
                      and os.path.isfile(os.path.join(directory, e)))
    except OSError:
        return []


def read_names(file_name: str, etc_dir: str | None, usr_dir: str | None,
               defaults: dict[str, int], hi: int = TABLE_MAX) -> dict[str, int]:
    """Every name of ``file_name`` (``rt_tables``, ...) in the two directories."""
    etc = etc_dir or DEFAULT_ETC_DIR
    usr = usr_dir if usr_dir is not None else default_usr_dir()
    names: dict[str, int] = {}
    main = os.path.join(etc, file_name)
    if os.path.isfile(main):
        _read(main, names, hi)
    elif usr:
        _read(os.path.join(usr, file_name), names, hi)
    etc_d = os.path.join(etc, file_name + ".d")
    if usr:
        usr_d = os.path.join(usr, file_name + ".d")
        for e in _confs(usr_d):
            if not os.path.exists(os.path.join(etc_d, e)):
                _read(os.path.join(usr_d, e), names, hi)
    for e in _confs(etc_d):
        _read(os.path.join(etc_d, e), names, hi)
    for k, v in defaults.items():
        if v not in names.values():
            names.setdefault(k, v)
    return names


def table_number(name: str, etc_dir: str | None, usr_dir: str | None) -> int | None:
    """The number of routing table ``name`` (a number is itself), None when unknown."""
    try:
        n = int(name, 0)
    except ValueError:
        return read_names("rt_tables", etc_dir, usr_dir, DEFAULT_TABLES).get(name)
    return n if 0 <= n <= TABLE_MAX else None
