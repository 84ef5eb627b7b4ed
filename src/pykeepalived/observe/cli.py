"""``pykeepalived status``: the running daemon's instances and LVS table, read from its
children's root-only status sockets (no HTTP listener needed). ``--json`` prints the documents
as the children sent them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pykeepalived.observe.control import fetch_sync, socket_path
from pykeepalived.observe.text import render_lvs, render_vrrp

DEFAULT_VRRP_PID = "/run/keepalived_vrrp.pid"
DEFAULT_CHECKERS_PID = "/run/keepalived_checkers.pid"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pykeepalived status",
                                description="Show the running daemon's VRRP instances and LVS "
                                "table (from its children's status sockets).")
    p.add_argument("-r", "--vrrp_pid", default=DEFAULT_VRRP_PID, metavar="FILE",
                   help="the VRRP child's pid file the daemon was started with "
                   "(default %(default)s); its socket is the same path ending in .sock")
    p.add_argument("-c", "--checkers_pid", default=DEFAULT_CHECKERS_PID, metavar="FILE",
                   help="the checker child's pid file (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--instance", metavar="NAME", help="only this vrrp_instance")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for an answer")
    return p


def main(argv: Sequence[str]) -> int:
    """0 when at least one child answered; 3 when none did (nothing running, or not root)."""
    a = build_parser().parse_args(list(argv))
    docs: dict[str, dict[str, Any] | None] = {}
    errors: list[str] = []
    for kind, pid in (("vrrp", a.vrrp_pid), ("lvs", a.checkers_pid)):
        path = socket_path(pid)
        try:
            docs[kind] = fetch_sync(path, a.timeout)
        except FileNotFoundError:
            docs[kind] = None
        except (OSError, ValueError) as e:
            docs[kind] = None
            errors.append(f"{path}: {e}")
    vrrp = docs["vrrp"]
    if a.instance is not None and vrrp is not None:
        vrrp["instances"] = [i for i in vrrp.get("instances", [])
                             if i.get("iname") == a.instance]
    if a.json:
        print(json.dumps(docs, indent=1))
    else:
        if vrrp is not None:
            print("\n".join(render_vrrp(vrrp)))
        if docs["lvs"] is not None:
            if vrrp is not None:
                print()
            print("\n".join(render_lvs(docs["lvs"])))
    for err in errors:
        print(f"pykeepalived status: {err}", file=sys.stderr)
    if all(d is None for d in docs.values()):
        if not errors:
            print("pykeepalived status: no status socket found (is the daemon running? "
                  "give -r/-c as it was started)", file=sys.stderr)
        return 3
    return 0
