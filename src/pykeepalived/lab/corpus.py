"""The namespace the config corpus is judged in: the interfaces keepalived's verdicts assume.

keepalived's ``-t`` verdict on a config depends on the host, chiefly on which interfaces exist.
The verdicts in ``tests/fixtures/corpus/*-oracle.tsv`` were recorded by ``oracle.sh`` (next to
them) in a namespace holding the interface names the corpus uses most; the corpus test and the
config benchmark rebuild that namespace here so both implementations see the same host.
"""

from __future__ import annotations

import subprocess

# The names oracle.sh creates (its ``eth0`` is the lab host's own interface here).
ORACLE_INTERFACES = (
    "eth1", "eth2", "eth3", "eth4", "eth5", "eth6", "eth10", "bond0", "ens192", "ens256",
    "ens257", "ens33", "ens4", "enp9s0", "br0", "wlan0", "wlp3s0", "vlan100", "management",
    "enterprise", "cluster",
)


def add_oracle_interfaces(ns: str) -> None:
    """Give namespace ``ns`` oracle.sh's interfaces: veth pairs, up, ``10.200.N.1/24`` each
    (N from 2; the lab host's ``eth0`` is expected to hold 10.200.1.1/24), and ``bond0.2``."""

    def ip(*args: str) -> None:
        subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True)

    for i, ifname in enumerate(ORACLE_INTERFACES, start=2):
        ip("link", "add", ifname, "type", "veth", "peer", "name", f"pk{i}")
        ip("link", "set", ifname, "up")
        ip("link", "set", f"pk{i}", "up")
        ip("addr", "add", f"10.200.{i}.1/24", "dev", ifname)
    # bond0.2 needs the 8021q module; oracle.sh tolerates its absence the same way.
    subprocess.run(["ip", "-n", ns, "link", "add", "link", "bond0", "name", "bond0.2", "type",
                    "vlan", "id", "2"], capture_output=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "bond0.2", "up"], capture_output=True)
