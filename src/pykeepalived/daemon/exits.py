"""Exit codes of the parent and of its children, defined once (the parent reads a child's)."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0  # stopped by signal
# A child exiting with this is not respawned and stops everything (keepalived's
# KEEPALIVED_EXIT_FATAL): a config that cannot run, a checker that cannot start.
EXIT_FATAL: Final = 1
EXIT_CONFIG: Final = 2  # the parent cannot start anything
EXIT_CRASH: Final = 3  # the VRRP child died of an unexpected exception: respawned
