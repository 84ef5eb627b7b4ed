"""lvs.table: keys normalise, diff/apply round-trips, and the op order is safe."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.lvs.table import (
    AddDest,
    AddService,
    DeleteDest,
    DeleteService,
    EditDest,
    EditService,
    FwdMethod,
    LvsDest,
    LvsService,
    LvsTable,
    Protocol,
    ServiceFlag,
    ServiceKey,
    apply_ops,
    diff,
)


def test_keys_normalise_and_print_like_keepalived() -> None:
    a = ServiceKey.inet("2001:db8::0:1", 80, "tcp")
    b = ServiceKey.inet("2001:db8::1", 80, Protocol.TCP)
    assert a == b and hash(a) == hash(b)
    assert a.af == 6
    assert str(ServiceKey.inet("10.0.0.1", 8080, "UDP")) == "[10.0.0.1]:udp:8080"
    assert str(ServiceKey.mark(7)) == "FWM 7"
    assert ServiceKey.mark(7).is_fwmark and not a.is_fwmark
    assert LvsDest("10.0.0.2", 80).af == 4


def test_diff_of_equal_tables_is_empty() -> None:
    key = ServiceKey.inet("10.0.0.1", 80)
    t1 = LvsTable.build([(LvsService(key, "rr"), [LvsDest("10.0.1.1", 80)])])
    t2 = LvsTable.build([(LvsService(key, "rr"), [LvsDest("10.0.1.1", 80)])])
    assert t1 == t2
    assert diff(t1, t2) == []


def test_diff_orders_adds_before_deletes() -> None:
    key = ServiceKey.inet("10.0.0.1", 80)
    old_key = ServiceKey.inet("10.0.0.9", 80)
    svc = LvsService(key, "rr")
    actual = LvsTable.build([(svc, [LvsDest("10.0.1.1", 80), LvsDest("10.0.1.2", 80)]),
                             (LvsService(old_key), [LvsDest("10.0.1.1", 80)])])
    desired = LvsTable.build([
        (LvsService(key, "wrr", ServiceFlag.PERSISTENT, timeout=300),
         [LvsDest("10.0.1.2", 80, weight=0), LvsDest("10.0.1.3", 80)]),
    ])
    ops = diff(actual, desired)
    assert [type(o) for o in ops] == [EditService, AddDest, EditDest, DeleteDest, DeleteService]
    assert isinstance(ops[1], AddDest) and ops[1].dest.addr == "10.0.1.3"
    assert isinstance(ops[2], EditDest) and ops[2].dest.weight == 0 and ops[2].old.weight == 1
    assert isinstance(ops[3], DeleteDest) and ops[3].dest.addr == "10.0.1.1"
    assert ops[4] == DeleteService(old_key)
    assert apply_ops(actual, ops) == desired


def test_new_service_brings_its_dests() -> None:
    key = ServiceKey.mark(3, 6)
    desired = LvsTable.build([(LvsService(key, netmask=128),
                               [LvsDest("2001:db8::2", 0, fwd=FwdMethod.DR)])])
    ops = diff(LvsTable(), desired)
    assert [type(o) for o in ops] == [AddService, AddDest]
    assert apply_ops(LvsTable(), ops) == desired


_addrs = st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::1"])
_dest = st.builds(LvsDest, addr=_addrs, port=st.sampled_from([80, 8080]),
                  weight=st.integers(0, 3), fwd=st.sampled_from(list(FwdMethod)))
_key = st.one_of(
    st.builds(ServiceKey.inet, _addrs, st.sampled_from([80, 443]),
              st.sampled_from(list(Protocol))),
    st.builds(ServiceKey.mark, st.integers(1, 3)),
)
_service = st.builds(LvsService, key=_key, scheduler=st.sampled_from(["rr", "wlc", "sh"]),
                     timeout=st.sampled_from([0, 300]))
_table = st.lists(st.tuples(_service, st.lists(_dest, max_size=4)), max_size=4).map(
    LvsTable.build)


@settings(max_examples=80, deadline=None)
@given(_table, _table)
def test_diff_then_apply_reaches_desired(actual: LvsTable, desired: LvsTable) -> None:
    ops = diff(actual, desired)
    assert apply_ops(actual, ops) == desired
    assert diff(desired, desired) == []


@pytest.mark.parametrize(("key", "full"), [
    (ServiceKey.inet("10.0.0.1", 80), 32),
    (ServiceKey.inet("2001:db8::1", 80), 128),
    (ServiceKey.mark(7, 4), 32),
    (ServiceKey.mark(7, 6), 128),
])
def test_default_netmask_is_the_full_prefix_of_the_key_family(key: ServiceKey, full: int) -> None:
    """An IPv6 service built without a netmask must not get the kernel a /32 granularity."""
    assert LvsService(key).netmask == full
    assert LvsService(key, netmask=24).netmask == 24
    # the diff sees no change between an explicit full prefix and the default
    assert diff(LvsTable.build([(LvsService(key), [])]),
                LvsTable.build([(LvsService(key, netmask=full), [])])) == []
