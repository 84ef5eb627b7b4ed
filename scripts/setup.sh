#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (run as root): apt packages, a virtualenv in
# .venv with the project installed editable plus its test tools. Safe to run again: each step
# checks first and does nothing when it is already done.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# Debian packages the daemon and its tests use:
#   iproute2 (ip netns, veth, bridge), nftables (strict-mode DROP sets, nft data plane,
#   packet loss in tests), keepalived (the reference peer), tcpdump (captures in tests),
#   qemu-system-x86 + busybox-static + cpio (the IPVS guest), ipvsadm (comparison in the guest),
#   procps/psmisc (process helpers), python3-venv (the virtualenv), systemd (PID 1 of the
#   guest that proves the service unit: tests/vm/test_systemd_vm.py), prometheus (a real
#   server scraping /metrics in the observability tests), etcd-server + etcd-client (the lease
#   arbiter's store: three members in namespaces in tests).
APT_PKGS=(iproute2 nftables keepalived ipvsadm tcpdump qemu-system-x86 busybox-static cpio
          procps psmisc kmod iputils-ping curl systemd prometheus etcd-server etcd-client)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting services (keepalived, etcd) in the root namespace.
  policy=/usr/sbin/policy-rc.d; made_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
fi
# keepalived, prometheus and etcd must never run as services here: the tests start them
# themselves in namespaces.
if command -v systemctl >/dev/null 2>&1; then
  for unit in keepalived prometheus etcd; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.pykeepalived-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing pykeepalived and its test tools into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi
