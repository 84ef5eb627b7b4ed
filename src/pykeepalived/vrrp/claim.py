"""Claim blocks: the router's one input from the split-brain guards (pure data, no I/O).

A guard (the lease arbiter, the conflict watch, the reference-address gate) may forbid an
instance to *become* MASTER. It does so by naming a block with a reason; the router consults
the blocks only at the moment its down timer says "claim" and waits, still BACKUP, while any
applicable block stands. Guards never reach into the router's state: they set and clear
blocks, and read the router's actions (``ClaimWanted``, ``StateChanged``).

Two kinds of claim are told apart, because they carry different risks:

* a *silent* claim: the master stopped advertising. Nothing proves it is gone rather than
  unheard, which is where split brain comes from, so every block applies.
* a *preemption*: the master is heard, with a lower priority. VRRP itself hands over (the old
  master hears our adverts and yields), so blocks marked ``silent_only`` (for example "another
  holder of the VIP answers ARP": of course it does, it is that master) do not apply.

A block marked ``announce`` asks the waiting router to keep sending adverts at its own
priority, so that a lower-priority holder hears that someone better wants the role and yields
(the lease arbiter's hand-over: the holder then frees the key the waiting router is after).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClaimBlock:
    """One guard's objection to a claim: why, and to which claims it applies."""

    reason: str
    silent_only: bool = False
    announce: bool = False


class ClaimBlocks:
    """The blocks standing against one instance, by guard name."""

    __slots__ = ("_blocks",)

    def __init__(self) -> None:
        self._blocks: dict[str, ClaimBlock] = {}

    def set(self, source: str, block: ClaimBlock | None) -> bool:
        """Set (or with None clear) ``source``'s block; True when something changed."""
        old = self._blocks.get(source)
        if block is None:
            return self._blocks.pop(source, None) is not None
        self._blocks[source] = block
        return old != block

    def blocking(self, silent: bool) -> ClaimBlock | None:
        """The first block that applies to a claim of this kind, or None (claim allowed)."""
        for b in self._blocks.values():
            if silent or not b.silent_only:
                return b
        return None

    def announce(self, silent: bool) -> bool:
        """True when an applicable block asks the waiting router to keep advertising."""
        return any(b.announce for b in self._blocks.values() if silent or not b.silent_only)

    def __bool__(self) -> bool:
        return bool(self._blocks)
