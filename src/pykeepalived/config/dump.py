"""``-d``: a readable dump of the parsed model (one ``key = value`` per line, nested blocks
indented), stable enough to diff between two reloads."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from pykeepalived.config.model import KeepalivedConfig


def _fmt(v: Any) -> str:
    if isinstance(v, enum.Enum):
        return str(v.value)
    if isinstance(v, bytes):
        return repr(v)
    return str(v)


def _walk(obj: Any, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is None or v == () or v == "" or v is False:
            continue
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            out.append(f"{pad}{f.name} {{")
            _walk(v, indent + 1, out)
            out.append(f"{pad}}}")
        elif isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]):
            for item in v:
                label = getattr(item, "name", None) or getattr(item, "ip", None) or getattr(
                    item, "kind", "")
                out.append(f"{pad}{f.name} {label} {{")
                _walk(item, indent + 1, out)
                out.append(f"{pad}}}")
        else:
            out.append(f"{pad}{f.name} = {_fmt(v)}")


def format_config(cfg: KeepalivedConfig) -> str:
    out: list[str] = ["------< pykeepalived configuration >------"]
    _walk(cfg, 0, out)
    return "\n".join(out)
