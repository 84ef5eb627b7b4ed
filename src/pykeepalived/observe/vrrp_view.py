"""The VRRP child's status document: per instance, FRR's ``show vrrp json`` field names where
one applies (``vrid``, ``version``, ``interface``, ``status``, ``priority``,
``effectivePriority``, ``preemptMode``, ``acceptMode``, ``advertisementInterval``,
``masterAdverInterval``, ``skewTime``, ``masterDownInterval`` in milliseconds,
``primaryAddress``, ``addresses``, ``stats.adverTx/adverRx/transitions``), keepalived's names
for the rest (``iname``, ``state`` MASTER/BACKUP/FAULT/INIT, ``counters`` as in its stats
file), plus what neither shows (the master down timer, the last transition and its reason,
advert receive timing).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pykeepalived.observe.meters import AdvertTiming, Events, StallMeter

#: keepalived-exporter's state codes (keepalived's ``VRRP_STATE_*``).
STATE_CODES = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}
#: FRR's state words (``vrrp_state_names``), plus keepalived's FAULT.
FRR_STATUS = {"INIT": "Initialize", "BACKUP": "Backup", "MASTER": "Master", "FAULT": "Fault"}


class InstanceMeters:
    """What the VRRP child remembers about one instance beyond its router: receive timing and
    transitions. Kept by instance name, so a reload that rebuilds the router keeps them."""

    __slots__ = ("last", "static", "timing", "transitions")

    def __init__(self) -> None:
        self.timing = AdvertTiming()
        self.transitions = 0
        self.last: dict[str, Any] | None = None
        #: (instance, its config, its encoded static fields without the closing brace)
        self.static: tuple[Any, Any, bytes] | None = None

    def changed(self, old: str, new: str, reason: str, wall: float) -> None:
        self.transitions += 1
        self.last = {"time": wall, "from": old, "to": new, "reason": reason}
        self.timing.restart()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def instance_static(s: Any) -> dict[str, Any]:
    """The fields of an instance that only a reload changes, from its dump snapshot
    (``daemon.dumps.InstanceSnapshot``): built once per instance and kept encoded."""
    return {
        "iname": s.name, "vrid": s.vrid, "version": s.version,
        "family": "IPv6" if s.family == 6 else "IPv4", "interface": s.interface,
        "vmacInterface": s.vmac_ifname or None,
        "preemptMode": not s.nopreempt, "preemptDelay": s.preempt_delay,
        "acceptMode": s.accept,
        "advertisementInterval": _ms(s.adver_int),
        "primaryAddress": s.src_ip, "multicastGroup": s.mcast_group or None,
        "unicastPeers": list(s.unicast_peers),
        "addresses": [a.split(" ", 1)[0] for a in s.vips],
        "addressesDetail": list(s.vips), "excludedAddresses": list(s.evips),
        "syncGroup": s.sync_group,
        "garpDelay": s.garp_delay,
    }


def instance_dynamic(state: str, priority: int, effective: int, master_adver_int: float,
                     master_down: float, down_in: float | None, m: InstanceMeters,
                     counters: dict[str, int]) -> dict[str, Any]:
    """The fields that move: state, priorities, the master's timers (seconds; ``down_in``: time
    left on a BACKUP's master down timer), transitions, receive timing, keepalived's counters."""
    return {
        "state": state, "stateCode": STATE_CODES.get(state, -1),
        "status": FRR_STATUS.get(state, state.title()),
        "priority": priority, "effectivePriority": effective,
        "masterAdverInterval": _ms(master_adver_int),
        "masterDownInterval": _ms(master_down),
        "masterDownTimer": None if down_in is None else max(0, _ms(down_in)),
        "lastTransition": m.last,
        "stats": {"adverTx": counters.get("advert_sent", 0),
                  "adverRx": counters.get("advert_rcvd", 0), "transitions": m.transitions},
        "advertTiming": m.timing.to_json(),
        "counters": counters,
    }


def instance_status(s: Any, m: InstanceMeters | None,
                    down_in: float | None) -> dict[str, Any]:
    """One instance from its dump snapshot alone (``daemon.dumps.InstanceSnapshot``)."""
    m = m or InstanceMeters()
    return {**instance_static(s), **instance_dynamic(
        s.state, s.base_priority, s.effective_priority, s.master_adver_int,
        s.master_down_interval, down_in, m, dict(vars(s.stats)))}


def scripts_status(runners: Iterable[Any]) -> list[dict[str, Any]]:
    """vrrp_script trackers as keepalived's data file shows them: ``status`` GOOD/BAD and
    ``state`` idle/running (the words keepalived-exporter maps to 1/0 and 0..3)."""
    out = []
    for r in runners:
        up = bool(getattr(getattr(r, "tracker", None), "up", False))
        disabled = bool(getattr(r, "disabled", False))
        out.append({"name": r.script.name, "status": "GOOD" if up else "BAD",
                    "state": "running" if getattr(r, "running", False) else "idle",
                    "disabled": disabled, "runs": int(getattr(r, "runs", 0))})
    return out


def process_status(kind: str, started: float, *, stall: StallMeter, events: Events,
                   notify: dict[str, int] | None = None) -> dict[str, Any]:
    """The part of a child's document about the process itself (both children)."""
    return {"process": kind, "pid": os.getpid(), "time": time.time(), "started": started,
            "loop": stall.to_json(), "config": events.to_json(),
            "notify": notify or {"runs": 0, "failures": 0, "timeouts": 0}}


def vrrp_document(base: dict[str, Any], instances: Sequence[dict[str, Any]],
                  scripts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    doc = dict(base)
    doc["instances"] = list(instances)
    doc["scripts"] = list(scripts)
    return doc


def encode(doc: dict[str, Any]) -> bytes:
    """A status document as the status sockets send it: compact JSON, one line."""
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


#: Instances read per loop iteration when a status document is built: a large config never
#: holds the VRRP loop for more than one slice (each instance's fields are from one instant).
SLICE = 25


class VrrpMeters:
    """Everything the VRRP child measures for observability, in one object its loop updates
    (each update is a few attribute operations: the advert path stays cheap)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.stall = StallMeter()
        self.events = Events()
        self.instances: dict[str, InstanceMeters] = {}
        #: per instance name, its receive timing: what the advert path updates
        self.timing: dict[str, AdvertTiming] = {}

    def of(self, name: str) -> InstanceMeters:
        m = self.instances.get(name)
        if m is None:
            m = self.instances[name] = InstanceMeters()
            self.timing[name] = m.timing
        return m

    def configure(self, instances: Iterable[tuple[str, int, float]], min_delay: float) -> None:
        """Follow the configured instances (name, VRRP version, advert interval in seconds):
        meters for new ones, none for removed ones. Stalls are timers later than the smallest
        advert interval, and never later than keepalived's ``min_auto_priority_delay``."""
        insts = list(instances)
        self.stall.threshold = min([*(i[2] for i in insts), min_delay])
        for name, version, _ in insts:
            self.of(name).timing.set_version(version)
        keep = {i[0] for i in insts}
        for n in [n for n in self.instances if n not in keep]:
            del self.instances[n]
            del self.timing[n]


def notify_counts(runner: Any) -> dict[str, int]:
    """A script runner's counts (``notify.runner.ProcessRunner``): runs, failures, timeouts."""
    return {"runs": int(getattr(runner, "runs", 0)),
            "failures": int(getattr(runner, "failed", 0)),
            "timeouts": int(getattr(runner, "timeouts", 0))}


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # made once: json.dumps makes one per call


def _compact(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


def _instance_json(inst: Any, m: InstanceMeters, now: float) -> bytes:
    """One instance of the VRRP child: its static fields encoded once per instance object and
    config (kept on its meters), its moving fields read from the router now."""
    cached = m.static
    if cached is None or cached[0] is not inst or cached[1] is not inst.cfg:
        cached = m.static = (inst, inst.cfg, _compact(instance_static(inst.snapshot()))[:-1])
    r = inst.router
    state = r.state.value
    nt = r.next_timer() if state == "BACKUP" else None
    scale = 1.0 if inst.cfg.version == 2 else 0.01
    moving = instance_dynamic(state, r.base_priority, r.effective_priority,
                              r.master_adver_int * scale, r.master_down,
                              None if nt is None else nt - now, m, dict(vars(r.stats)))
    return cached[2] + b"," + _compact(moving)[1:]


async def vrrp_status(proc: Any, meters: VrrpMeters) -> bytes:
    """The VRRP child's document as JSON. ``proc`` is the VRRP process: its ``instances``
    (``snapshot()``, ``router``, ``cfg``), ``loop``, ``trackers`` and ``notifier``. Instances
    are read and encoded ``SLICE`` at a time, yielding to the loop in between, so adverts and
    received packets are handled while a large document is built."""
    parts: list[bytes] = []
    insts = list(proc.instances.values())
    for k, inst in enumerate(insts):
        if k and k % SLICE == 0:
            await asyncio.sleep(0)
        if proc.instances.get(inst.name) is not inst:
            continue  # removed or rebuilt by a reload meanwhile
        parts.append(_instance_json(inst, meters.of(inst.name), proc.loop.time()))
    trackers = getattr(proc, "trackers", None)
    scripts = scripts_status(getattr(trackers, "scripts", ()) if trackers is not None else ())
    notifier = getattr(proc, "notifier", None)
    runner = getattr(getattr(notifier, "scripts", None), "runner", None)
    base = process_status("vrrp", meters.started, stall=meters.stall, events=meters.events,
                          notify=notify_counts(runner))
    head = _compact(base)[:-1]  # without its closing brace
    return (head + b',"instances":[' + b",".join(parts) + b'],"scripts":'
            + _compact(scripts) + b"}\n")
