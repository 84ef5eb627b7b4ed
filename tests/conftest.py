"""Shared fixtures: where ../shared is, and the gates for root / namespace tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pykeepalived.lab.netns import netns_available

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PYKEEPALIVED_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (the corpus, golden captures, lab); tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    have_netns = netns_available()
    have_ka = shutil.which("keepalived") is not None
    for item in items:
        if "netns" in item.keywords and not have_netns:
            item.add_marker(pytest.mark.skip(reason="needs root and ip netns"))
        if "keepalived" in item.keywords and not have_ka:
            item.add_marker(pytest.mark.skip(reason="Debian's keepalived is not installed"))
