"""The VRRP child's timers: every instance's next deadline, and when the one loop timer fires.

Pure bookkeeping (no asyncio, no clock): the process records each instance's deadline after
every call into its endpoint (``update``), arms its single loop timer where ``alarm`` says, and
when it fires takes the due instances one by one (``pop_due``).

Why a lazy heap: a backup's deadline moves *later* with every advert it receives, thousands of
times a second across a few hundred instances. Pushing a heap entry each time would grow the
heap and cost O(log n) per advert. Instead an entry is pushed only when a deadline moves
earlier (or appears); one that moves later keeps its earlier entry, which is moved up to the
real deadline only when it reaches the top (``earliest``).

Invariant: every name with a deadline has a heap entry at or before that deadline. So the top
of the heap is never later than the earliest deadline, and a loop timer armed at or before it
never fires too late (``alarm``).
"""

from __future__ import annotations

import heapq

__all__ = ["TimerSchedule"]


class TimerSchedule:
    """Deadlines by name (an instance's name), earliest first."""

    __slots__ = ("_due", "_heap")

    def __init__(self) -> None:
        self._due: dict[str, float | None] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        """Heap entries, live or stale (bounded by about twice the names, see ``update``)."""
        return len(self._heap)

    def deadline(self, name: str) -> float | None:
        return self._due.get(name)

    def update(self, name: str, t: float | None) -> None:
        """``name``'s next deadline is now ``t`` (None: no timer). O(1) unless it moved
        earlier, then O(log n)."""
        old = self._due.get(name)
        if old == t:
            return
        self._due[name] = t
        if t is not None and (old is None or t < old):
            heap = self._heap
            heapq.heappush(heap, (t, name))
            if len(heap) > 2 * len(self._due) + 16:
                # Entries left behind by deadlines that moved earlier or went away are only
                # dropped when they reach the top: rebuild now and then (amortized O(1)).
                heap[:] = [(d, n) for n, d in self._due.items() if d is not None]
                heapq.heapify(heap)

    def remove(self, name: str) -> None:
        """Forget ``name`` (its heap entries are dropped when they reach the top)."""
        self._due.pop(name, None)

    def earliest(self) -> float | None:
        """The earliest deadline (cleans stale entries off the top of the heap)."""
        heap, due = self._heap, self._due
        while heap:
            t, name = heap[0]
            d = due.get(name)
            if d is None:
                heapq.heappop(heap)  # forgotten, or no deadline any more
            elif d == t:
                return t
            else:  # the deadline moved since this entry was pushed: move the entry with it
                heapq.heapreplace(heap, (d, name))
        return None

    def alarm(self, armed: float | None) -> float | None:
        """When the loop timer should fire, given the time it is armed at (None: not armed).

        Returns ``armed`` itself when the armed timer can stay: it fires no later than needed
        (every deadline is at or after the heap's top), and the due pass re-arms then. A
        backup's deadlines only move later with each advert, so this spares the loop from
        cancelling and re-creating its timer, and from cleaning the heap, on every wake-up.
        Otherwise returns the earliest deadline (None: nothing to arm).
        """
        if armed is not None and (not self._heap or armed <= self._heap[0][0]):
            return armed
        at = self.earliest()
        if armed is not None and (at is None or armed <= at):
            return armed
        return at

    def pop_due(self, now: float) -> str | None:
        """The next name whose deadline is at or before ``now`` (removed from the schedule:
        record its new deadline with ``update`` once handled), or None."""
        t = self.earliest()
        if t is None or t > now:
            return None
        _, name = heapq.heappop(self._heap)
        self._due.pop(name, None)
        return name
