"""net/ loads rtnetlink from pyroute2 without the package ``__init__`` (NDB, IPDB, sqlite3 ...),
and a later plain ``import pyroute2`` by other code still gets the whole package."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pykeepalived.lab.netns import Lab

pytestmark = pytest.mark.netns

CHILD = textwrap.dedent("""
    import asyncio, sys
    from pykeepalived.net.links import link_info
    info = asyncio.run(link_info("eth0", netns=sys.argv[1]))
    assert info is not None and info.ifindex > 0, info
    heavy = sorted(m for m in ("pyroute2.ndb", "pyroute2.ipdb", "sqlite3") if m in sys.modules)
    print("HEAVY", heavy, len(sys.modules))
    from pyroute2 import AsyncIPRoute, IPRoute, NetlinkError
    import pyroute2, pyroute2.iproute.linux as linux
    assert AsyncIPRoute is linux.AsyncIPRoute, "two copies of the class"
    assert pyroute2.__version__ and IPRoute and NetlinkError
    assert "pyroute2.ndb" in sys.modules, "the full package was not loaded on demand"
    print("FULL", len(sys.modules))
""")


def test_rtnetlink_without_the_package_init_then_full_package_on_demand() -> None:
    with Lab("pkp3") as lab:
        host = lab.add_host("a", ["10.94.0.1/24"])
        out = subprocess.run([sys.executable, "-c", CHILD, host.ns], capture_output=True,
                             text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["HEAVY"].startswith("[] "), lines
    light = int(lines["HEAVY"].split()[-1])
    assert int(lines["FULL"]) > light + 40  # what was skipped: NDB, IPDB, sqlite3, ...
