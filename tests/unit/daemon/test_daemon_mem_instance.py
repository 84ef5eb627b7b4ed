"""The per-instance kernel-work queue (a list and a worker task that lives only while there is
work, instead of an asyncio.Queue and a parked task per instance): order, errors, drain, stop."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from pykeepalived.config import load_text
from pykeepalived.daemon.instance import Instance
from pykeepalived.daemon.settings import router_settings, wire_settings
from pykeepalived.vrrp.endpoint import VrrpEndpoint

CONF = """
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 7
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
    }
}
"""


def _instance() -> Instance:
    cfg = load_text(CONF).config
    c = cfg.vrrp_instances[0]
    endpoint = VrrpEndpoint(router_settings(c, cfg, "10.0.0.1", None),
                            wire_settings(c, "10.0.0.1", "224.0.0.18", ("224.0.0.18",), False),
                            0.0)
    return Instance(cfg=c, endpoint=endpoint, port=None,  # type: ignore[arg-type]
                    xmit_if="eth0", vip_if="eth0", vips=(), evips=(), routes=(), rules=())


def test_instance_has_no_per_object_dict() -> None:
    inst = _instance()
    assert not hasattr(inst, "__dict__")  # slots: 200 instances, 200 dicts fewer
    assert sys.getsizeof(inst.ops) < 100  # an empty list, not four deques and an Event


def test_ops_run_in_order_one_at_a_time_and_the_worker_ends_when_idle() -> None:
    async def main() -> None:
        inst = _instance()
        done: list[str] = []
        gate = asyncio.Event()

        async def slow(tag: str) -> None:
            done.append(f"{tag}-start")
            await gate.wait()
            done.append(f"{tag}-end")

        inst.queue(lambda: slow("a"))  # queued before start_worker: nothing runs yet
        await asyncio.sleep(0.01)
        assert done == [] and inst.worker is None
        inst.start_worker()
        inst.queue(lambda: done.append("b"))
        inst.queue(lambda: slow("c"))
        await asyncio.sleep(0.01)
        assert done == ["a-start"]  # b waits behind a's await
        gate.set()
        await inst.drain_ops(timeout=2.0)
        assert done == ["a-start", "a-end", "b", "c-start", "c-end"]
        assert inst.ops == [] and inst.worker is None  # no task parked while idle
        inst.queue(lambda: done.append("d"))  # a new burst starts a new worker
        await inst.drain_ops(timeout=2.0)
        assert done[-1] == "d" and inst.worker is None

    asyncio.run(main())


def test_a_failing_op_is_logged_and_the_next_ones_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> list[str]:
        inst = _instance()
        inst.start_worker()
        done: list[str] = []

        def boom() -> None:
            raise OSError("netlink said no")

        inst.queue(boom)
        inst.queue(lambda: done.append("after"))
        await inst.drain_ops(timeout=2.0)
        return done

    logger = logging.getLogger("pykeepalived")
    propagate, logger.propagate = logger.propagate, True  # setup_logging may have cut it
    try:
        with caplog.at_level(logging.ERROR, logger="pykeepalived"):
            assert asyncio.run(main()) == ["after"]
    finally:
        logger.propagate = propagate
    assert "(VI_1) kernel operation failed" in caplog.text


def test_drain_gives_up_at_its_timeout_and_stop_cancels_the_running_op() -> None:
    async def main() -> None:
        inst = _instance()
        inst.start_worker()
        cancelled = asyncio.Event()

        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        inst.queue(forever)
        inst.queue(lambda: None)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await inst.drain_ops(timeout=0.2)
        assert 0.15 <= loop.time() - t0 < 2.0
        assert inst.worker is not None and len(inst.ops) == 1
        await inst.stop_worker()
        assert cancelled.is_set() and inst.worker is None and not inst.working
        inst.queue(lambda: None)  # stopped: queued, not run
        await asyncio.sleep(0.01)
        assert inst.worker is None and len(inst.ops) == 2

    asyncio.run(main())
