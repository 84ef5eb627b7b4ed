"""Both nodes started at the same moment, every instance guarded: every VIP ends on the
higher-priority node (what VRRP elects), whatever the guard saw of the race.

The race: both nodes claim before hearing each other; the conflict watch may see the other's
gratuitous ARP before any advert (ranked by MAC then), and both lease arbiters ask for the
keys at once. docs/split-brain.md, "Resolution".
"""

from __future__ import annotations

import re

import pytest

from pykeepalived.lab.cluster import Daemon, InstanceConf, locked_lab, render_config
from pykeepalived.lab.etcd import EtcdCluster, etcd_available
from pykeepalived.lab.netns import Host, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

N = 20
BOUND = 10.0  # seconds from the start to every VIP on n1 (a lease frees within its ttl)
ETCD = "10.86.0.21"


def vip(k: int) -> str:
    return f"10.86.1.{k}"


def held(host: Host) -> int:
    out = host.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"], check=False).stdout
    return len(set(re.findall(r"inet (\S+)/", out)) & {vip(k) for k in range(1, N + 1)})


def config(node: int, prio: int, cure: str) -> str:
    extra = ("conflict_watch",) if cure == "conflict" else ()
    blocks: tuple[str, ...] = ()
    if cure == "lease":
        blocks = (f"lease_arbiter {{\n    endpoints http://{ETCD}:2379\n}}",)
    insts = [InstanceConf(name=f"VI_{k}", vrid=k, priority=prio, version=3, advert_int=0.1,
                          vips=(f"{vip(k)}/16",),
                          extra=extra + ((f"lease_key /pksbr/vi{k}",) if cure == "lease"
                                         else ()))
             for k in range(1, N + 1)]
    return render_config(f"n{node}", insts, blocks=blocks)


@pytest.mark.parametrize("cure", ["conflict", "lease"])
def test_both_nodes_started_together_every_vip_ends_on_the_higher_priority_node(
        cure: str) -> None:
    if cure == "lease" and not etcd_available():
        pytest.skip("needs etcd (Debian's etcd-server)")
    with locked_lab("pksbr") as lab:
        n1 = lab.add_host("n1", ["10.86.0.11/16"])
        n2 = lab.add_host("n2", ["10.86.0.12/16"])
        etcd = EtcdCluster([lab.add_host("e1", [f"{ETCD}/16"])]) if cure == "lease" else None
        if etcd is not None:
            etcd.start(fresh=True)
        d1, d2 = Daemon(n1, "py", config(1, 150, cure)), Daemon(n2, "py", config(2, 100, cure))
        try:
            d1.start()
            d2.start()
            ok = wait_for(lambda: held(n1) == N and held(n2) == 0, BOUND, 0.2)
            assert ok, (held(n1), held(n2), d1.log_text()[-2000:], d2.log_text()[-2000:])
        finally:
            d1.stop()
            d2.stop()
            if etcd is not None:
                etcd.stop_all()
