"""The packet fuzzer (bench/fuzz/packet_fuzz.py): a short fixed-seed run over mutated golden
packets (checksums fixed up) and random bytes raises nothing but PacketError, and its
mutations reach the decoder's checks behind the checksums. The long run: docs/fuzzing.md."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

from pykeepalived.lab.pcap import ETH_IPV4, ip_packets

ROOT = Path(__file__).resolve().parents[3]


def _fuzzer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("packet_fuzz",
                                                  ROOT / "bench" / "fuzz" / "packet_fuzz.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["packet_fuzz"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_short_seeded_run_only_packet_errors() -> None:
    pf = _fuzzer()
    rep = pf.fuzz(cases=4000, seed=3, slow=1.0)
    assert rep.failures == [], "\n".join(rep.lines())
    assert rep.cases == 4000 and rep.decodes > 4 * 4000
    # the fixed-up checksums let mutated packets through to the later checks
    assert rep.outcomes["accepted"] > 0
    assert {"CHECKSUM", "AUTH_FAILURE", "VERSION", "TTL", "ADDRESS_LIST"} <= set(rep.outcomes)


def test_fixed_up_checksums_verify() -> None:
    pf = _fuzzer()
    for g in ip_packets(sorted(pf.GOLDEN.glob("*.pcap"))):
        if g.ethertype != ETH_IPV4 or "ah" in g.pcap:
            continue
        raw = bytearray(g.packet)
        raw[10], raw[22] = 0, 7  # the IP checksum and the priority: both sums are wrong now
        pf.fix_ipv4(raw, random.Random(0))  # (its 10% "leave the VRRP checksum" draw is not 0)
        assert pf._csum(bytes(raw[:20])) == 0
        if raw[20] >> 4 == 2:
            assert pf._csum(bytes(raw[20:])) == 0
        else:  # v3's sum covers a pseudo-header: the decoder itself checks it
            assert pf.decode_ipv4(bytes(raw)).priority == 7
