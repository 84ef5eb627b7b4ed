"""``use_vmac_addr`` and ``vmac_addr_prefix`` against an in-memory kernel: which addresses get
a VMAC of their own, what it is called, where the addresses go and that it goes at stop."""

from __future__ import annotations

from pathlib import Path

from memory_kernel import MemoryKernel
from test_daemon_reload import _become_master, _run

from pykeepalived.config import load_text
from pykeepalived.daemon.instance import address_vmac_parents
from pykeepalived.daemon.vrrp_process import VrrpProcess

INST = """vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 9
    priority 100
    advert_int 1
{extra}
    virtual_ipaddress {{
        10.0.0.200/24
        10.1.0.200/24 dev eth1
        2001:db8::9/64
    }}
    virtual_ipaddress_excluded {{
        10.1.0.201/24 dev eth1
        10.2.0.200/24 dev eth2 use_vmac
    }}
}}
"""


def test_which_addresses_get_a_vmac_of_their_own() -> None:
    def parents(extra: str) -> dict[str, tuple[str, int]]:
        c = load_text(INST.format(extra=extra)).config.vrrp_instances[0]
        return address_vmac_parents(c, "eth0")

    assert parents("") == {"10.2.0.200": ("eth2", 4)}  # only the address's own use_vmac
    assert parents("    use_vmac_addr") == {
        "10.1.0.200": ("eth1", 4), "2001:db8::9": ("eth0", 6),  # the other family, on eth0
        "10.1.0.201": ("eth1", 4), "10.2.0.200": ("eth2", 4)}
    assert "10.0.0.200" not in parents("    use_vmac\n    use_vmac_addr")


def _addr_vmacs(tmp_path: Path, glob: str) -> tuple[list[str], set[tuple[str, str]], set[str]]:
    seen: dict[str, object] = {}

    async def steps(p: VrrpProcess, k: MemoryKernel, now: list[float], path: Path) -> None:
        await _become_master(p, now)
        seen["vmacs"] = [v.ifname for v in p.instances["VI_1"].addr_vmacs]
        seen["addresses"] = set(k.addresses)
        await p.shutdown()
        seen["links"] = set(k.links)

    _run(tmp_path, glob + INST.format(extra="    use_vmac_addr"), steps)
    return seen["vmacs"], seen["addresses"], seen["links"]  # type: ignore[return-value]


def test_address_vmacs_are_named_and_hold_their_addresses(tmp_path: Path) -> None:
    vmacs, addresses, links = _addr_vmacs(tmp_path, "global_defs {\n  vmac_addr_prefix va\n}\n")
    assert sorted(vmacs) == ["va.9"] * 3  # eth1, eth0 (IPv6) and eth2: one name each here
    assert {("10.0.0.200", "eth0"), ("10.1.0.200", "va.9"), ("10.1.0.201", "va.9"),
            ("10.2.0.200", "va.9"), ("2001:db8::9", "va.9")} == addresses
    assert "va.9" not in links  # deleted at stop


def test_vmac_prefix_names_them_without_vmac_addr_prefix(tmp_path: Path) -> None:
    vmacs, _addresses, _links = _addr_vmacs(tmp_path, "global_defs {\n  vmac_prefix vx\n}\n")
    assert set(vmacs) == {"vx.9"}
