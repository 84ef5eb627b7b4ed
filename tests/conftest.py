"""Fixtures for every test: the guard against a test making pytest a child subreaper, and
the gates for root / namespace tests and for Debian's keepalived."""

from __future__ import annotations

import ctypes
import shutil
from collections.abc import Iterator

import pytest

from pykeepalived.lab.netns import netns_available
from pykeepalived.script import runner as _runner

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_libc = ctypes.CDLL(None, use_errno=True)


def _is_subreaper() -> bool:
    flag = ctypes.c_int(0)
    return _libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and bool(
        flag.value)


@pytest.fixture(autouse=True)
def _no_subreaper(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that makes pytest a child subreaper (``script.runner.allow_subreaper`` called
    in-process): pytest would then adopt, and hold as zombies for good, orphans of later tests'
    daemons. Tests of orphan reaping run in a process of their own, as the daemon's children
    do. The state is reset at once so one mistake does not cascade into unrelated tests."""
    yield
    if not (_is_subreaper() or _runner._may_adopt):
        return
    _runner._may_adopt = _runner._adopting = False
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    pytest.fail(f"{request.node.nodeid} made this process a child subreaper: run tests of "
                "orphan reaping in a process of their own", pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    have_netns = netns_available()
    have_ka = shutil.which("keepalived") is not None
    for item in items:
        if "netns" in item.keywords and not have_netns:
            item.add_marker(pytest.mark.skip(reason="needs root and ip netns"))
        if "keepalived" in item.keywords and not have_ka:
            item.add_marker(pytest.mark.skip(reason="Debian's keepalived is not installed"))
