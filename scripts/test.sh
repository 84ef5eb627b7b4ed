#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lint, type check, then pytest (unit tests, network
# namespace tests against the real kernel, interop with Debian's keepalived, the IPVS guest).
# Run as root on Debian. Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/unit`).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash scripts/setup.sh || { echo "test: set-up failed"; exit 1; }
# shellcheck disable=SC1091
. .venv/bin/activate
rc=0
echo "== ruff"; ruff check src tests bench || rc=1
echo "== mypy"; mypy || rc=1
echo "== pytest"
# The slowest tests are listed at the end: the suite must stay well under 20 minutes.
python -m pytest --durations=25 "$@"; prc=$?
# pytest's 5 means no test ran: that is a failure for us, as is any other non-zero code.
[ "$prc" -eq 0 ] || rc=1
exit $rc
