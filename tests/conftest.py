"""Fixtures for every test: the guard against leaked subreapers, and the gates for root /
namespace tests and for Debian's keepalived."""

from __future__ import annotations

import ctypes
import shutil
from collections.abc import Iterator

import pytest

from pykeepalived.lab.netns import netns_available
from pykeepalived.script import runner as _runner

_PR_GET_CHILD_SUBREAPER = 37
_libc = ctypes.CDLL(None, use_errno=True)


def _is_subreaper() -> bool:
    flag = ctypes.c_int(0)
    return _libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and bool(
        flag.value)


@pytest.fixture(autouse=True)
def _no_leaked_subreaper(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves pytest a child subreaper (an in-process ProcessRunner it never
    closed): pytest would then adopt, and show as zombies, orphans of later tests' daemons.
    The state is reset at once so one leak does not cascade into unrelated tests."""
    before = _is_subreaper() or _runner._subreaper_users > 0
    yield
    if before or not (_is_subreaper() or _runner._subreaper_users > 0):
        return
    users = _runner._subreaper_users
    _runner._subreaper_users = 0
    _runner._set_subreaper(False)
    pytest.fail(f"{request.node.nodeid} left this process a child subreaper "
                f"({users} unclosed ProcessRunner(s)): close every runner it starts",
                pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    have_netns = netns_available()
    have_ka = shutil.which("keepalived") is not None
    for item in items:
        if "netns" in item.keywords and not have_netns:
            item.add_marker(pytest.mark.skip(reason="needs root and ip netns"))
        if "keepalived" in item.keywords and not have_ka:
            item.add_marker(pytest.mark.skip(reason="Debian's keepalived is not installed"))
