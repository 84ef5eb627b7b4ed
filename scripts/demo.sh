#!/usr/bin/env bash
# The main job on an embedded default: a live pykeepalived cluster in network namespaces
# (three nodes, a client, two HTTP backends) showing election and failover. Root on Debian.
# `bash scripts/demo.sh --keep` leaves the lab running to explore.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash scripts/setup.sh
exec .venv/bin/python -m pykeepalived.lab.demo "$@"
