"""The fault matrix's labs: one two-node cluster per implementation (``lab.scenario.Side``),
built once for the directory and reset (daemons stopped, faults undone) after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pykeepalived.lab.scenario import Side, run_sides, sides


@pytest.fixture(scope="package")
def both() -> Iterator[dict[str, Side]]:
    """pykeepalived (``py``, 10.98.1.0/24) and keepalived (``ka``, 10.98.2.0/24), each in its
    own lab. Tests that compare need both: without keepalived installed they are skipped by the
    ``keepalived`` marker."""
    with sides(("py", "ka"), "pkf") as s:
        yield s


@pytest.fixture
def sides_(both: dict[str, Side]) -> Iterator[dict[str, Side]]:
    yield both
    run_sides(both, Side.reset)
