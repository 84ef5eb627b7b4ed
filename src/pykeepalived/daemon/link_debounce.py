"""``interface_up_down_delays``: a link that goes down (or up) is acted on only once it has
stayed so for the interface's delay; a flap shorter than that changes nothing.

keepalived's rules (its netlink code and ``check_debounce_timers``):

* The delay applies only to an interface seen up since it appeared: its first coming up, and
  its deletion, are acted on at once.
* While a change waits, another report in the same direction only updates it; a report back
  to the state in force cancels it ("Delay timer for IF cancelled").
* A delay must stay below ``(down_timer_adverts - 1) * advert_int`` of every instance on the
  interface (else a backup's peer would declare it dead before the link change is even seen):
  a longer one is cut to that less advert_int/256, and with ``down_timer_adverts 1`` to 0.
* A VMAC on a base interface inherits the base's delays.

Split in two: ``debounce_delays`` (pure: the configuration to the delays in force, with
keepalived's log lines) and ``LinkDebounce`` (the decision for each link report, holding a
change back on the event loop). Without the keyword the process does not build either, so a
link report costs nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from pykeepalived.config.model import KeepalivedConfig
from pykeepalived.net.links import LinkEvent

__all__ = ["Delays", "LinkDebounce", "debounce_delays"]

log = logging.getLogger("pykeepalived.vrrp")

Delays = dict[str, tuple[float, float]]  # interface -> (down delay, up delay), seconds


def debounce_delays(cfg: KeepalivedConfig) -> Delays:
    """The delays in force per interface, once every instance's limit is applied."""
    delays: Delays = {d.name: (d.down_delay, d.up_delay)
                      for d in cfg.interface_up_down_delays}
    if not delays:
        return delays
    for c in cfg.vrrp_instances:
        ifname = c.interface or cfg.global_defs.default_interface
        if ifname not in delays:
            continue
        down, up = delays[ifname]
        if not (down or up):
            continue
        if c.down_timer_adverts == 1:
            log.info("%s: cannot use debounce timers with down_timer_adverts = 1 - resetting",
                     c.name)
            delays[ifname] = (0.0, 0.0)
            continue
        limit = (c.down_timer_adverts - 1) * c.advert_int
        if down >= limit or up >= limit:
            cut = limit - c.advert_int / 256
            delays[ifname] = (cut if down >= limit else down, cut if up >= limit else up)
            log.info("%s: interface %s debounce timer(s) not less that %u * advert_int - "
                     "resetting", c.name, ifname, c.down_timer_adverts - 1)
    return delays


class LinkDebounce:
    """Holds back link changes on the interfaces that have delays; ``apply`` is called with
    a held change once it has lasted its delay."""

    def __init__(self, delays: Delays, loop: asyncio.AbstractEventLoop,
                 apply: Callable[[LinkEvent], None]) -> None:
        self.delays: Delays = {}
        self.configure(delays)
        self._loop = loop
        self._apply = apply
        self._seen_up: set[str] = set()
        self._pending: dict[str, tuple[LinkEvent, asyncio.TimerHandle]] = {}

    def configure(self, delays: Delays) -> None:
        """The delays in force from now on (a change already held keeps its timer)."""
        self.delays = {k: v for k, v in delays.items() if v[0] > 0 or v[1] > 0}

    def inherit(self, child: str, parent: str) -> None:
        """``child`` (a VMAC on ``parent``) uses its parent's delays."""
        if parent in self.delays:
            self.delays[child] = self.delays[parent]

    def seen(self, names: Iterable[str]) -> None:
        """These interfaces are up now (read at start): their next change is delayed."""
        self._seen_up.update(names)

    def close(self) -> None:
        for _, handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    def offer(self, ev: LinkEvent, applied: bool | None) -> bool:
        """True: act on ``ev`` now. False: it is held (or it ended a held change) and the
        state in force, ``applied``, stays."""
        name = ev.ifname
        held = self._pending.get(name)
        if ev.deleted:
            self._cancel(name)
            self._seen_up.discard(name)
            return True
        if held is not None:
            if held[0].up == ev.up:
                self._pending[name] = (ev, held[1])
                return False
            self._cancel(name)
            log.info("Delay timer for %s cancelled", name)
            return False
        delay = self.delays.get(name, (0.0, 0.0))[0 if not ev.up else 1]
        if applied is not None and applied != ev.up and delay > 0 and name in self._seen_up:
            handle = self._loop.call_later(delay, self._fire, name)
            self._pending[name] = (ev, handle)
            log.info("%s: Adding %s change delay by %d", name, "up" if ev.up else "down",
                     round(delay * 1e6))
            return False
        if ev.up:
            self._seen_up.add(name)
        return True

    def _cancel(self, name: str) -> None:
        held = self._pending.pop(name, None)
        if held is not None:
            held[1].cancel()

    def _fire(self, name: str) -> None:
        held = self._pending.pop(name, None)
        if held is None:
            return
        if held[0].up:
            self._seen_up.add(name)
        self._apply(held[0])
