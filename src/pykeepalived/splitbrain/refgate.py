"""Reference-address gate (sans-IO): claim and hold VIPs only while a reference answers.

The seeds' arbitration by reference IP, built in: every ``interval`` the shell sends one ARP
request (IPv4) or neighbour solicitation (IPv6) to each reference address on the interface the
VIPs live on, and reports each answer. A node whose side of the network is cut off (its link,
its switch) hears no answer; claiming the VIPs there would only make a second master nobody
can reach, so it does not claim, and a master gives its VIPs up, saying why.

Two verdicts, both pushed only when they change:

* ``claim``: a reason not to *become* MASTER, or None. Claiming needs a *fresh* answer: the
  last round answered, and an answer in the last ``2 × interval``. A backup whose master fell
  silent because the switch died claims at Master_Down_Interval (≥ 3 adverts), by which time
  a whole round has gone unanswered, so it never claims into a dead network. Before the first
  answer, too.
* ``fault``: a reason for FAULT (the VIPs are released), or None: after ``fall`` rounds in a
  row without an answer from any reference address; lifted after ``rise`` answered rounds
  (the first answer of a round counts at once, so recovery does not wait for the round end).

One gate serves every instance that names the same reference addresses on the same
interface, so 250 instances cost one probe per address per interval.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RefGateSettings:
    addresses: tuple[str, ...]
    interval: float = 1.0
    fall: int = 3
    rise: int = 1

    def __post_init__(self) -> None:
        if not self.addresses:
            raise ValueError("a reference gate needs at least one address")
        if self.interval <= 0 or self.fall < 1 or self.rise < 1:
            raise ValueError("reference gate interval, fall and rise must be positive")


@dataclass(frozen=True)
class Probe:
    """Send one ARP request / neighbour solicitation for ``address`` now."""

    address: str


@dataclass(frozen=True)
class GateVerdict:
    """The gate's verdicts changed: FAULT reason and claim-block reason (None = none)."""

    fault: str | None
    claim: str | None


RefGateAction = Probe | GateVerdict


class ReferenceGate:
    """One gate; drive with ``start``, ``answered``, ``handle_timer`` and drain ``actions``."""

    def __init__(self, settings: RefGateSettings) -> None:
        self.settings = settings
        self._actions: list[RefGateAction] = []
        self._round_end: float | None = None
        self._answered_round = False
        self._misses = 0
        self._hits = 0
        self._last_reply: float | None = None
        self._fault: str | None = None
        self._claim: str | None = "no reference address has answered yet"
        self._pushed: tuple[str | None, str | None] | None = None
        self.probes_sent = 0
        self.answers = 0

    @property
    def fault(self) -> str | None:
        return self._fault

    @property
    def claim(self) -> str | None:
        return self._claim

    def actions(self) -> list[RefGateAction]:
        out, self._actions = self._actions, []
        return out

    def next_timer(self) -> float | None:
        stale = self._stale_at()
        if self._round_end is None:
            return None
        if self._claim is None and stale is not None and stale < self._round_end:
            return stale
        return self._round_end

    def start(self, now: float) -> None:
        """First round: probe every address now."""
        self._new_round(now)
        self._update(now)

    def answered(self, address: str, now: float) -> None:
        """A reference address answered (the shell checked it is one of ours)."""
        if address not in self.settings.addresses:
            return
        self.answers += 1
        self._last_reply = now
        if not self._answered_round:
            self._answered_round = True
            self._misses = 0  # reachable now: no need to wait for the round's end
            if self._fault is not None and self._hits + 1 >= self.settings.rise:
                self._fault = None  # the round end counts the hit
        self._update(now)

    def handle_timer(self, now: float) -> None:
        if self._round_end is not None and now >= self._round_end:
            if self._answered_round:
                self._misses = 0
                self._hits += 1
                if self._fault is not None and self._hits >= self.settings.rise:
                    self._fault = None
            else:
                self._hits = 0
                self._misses += 1
                if self._misses >= self.settings.fall and self._fault is None:
                    n = self.settings.fall
                    self._fault = (f"no reference address answered {n} probe"
                                   f"{'s' if n > 1 else ''} in a row "
                                   f"({', '.join(self.settings.addresses)})")
            self._new_round(max(now, self._round_end))
        self._update(now)

    # ------------------------------------------------------------------ internals
    def _stale_at(self) -> float | None:
        if self._last_reply is None:
            return None
        return self._last_reply + 2 * self.settings.interval

    def _new_round(self, start: float) -> None:
        self._answered_round = False
        self._round_end = start + self.settings.interval
        for a in self.settings.addresses:
            self._actions.append(Probe(a))
        self.probes_sent += len(self.settings.addresses)

    def _update(self, now: float) -> None:
        if self._fault is not None:
            claim: str | None = self._fault
        elif self._last_reply is None:
            claim = "no reference address has answered yet"
        elif self._misses > 0 or now >= self._last_reply + 2 * self.settings.interval:
            claim = (f"no reference address answered in the last "
                     f"{max(now - self._last_reply, self.settings.interval):.3g} s")
        else:
            claim = None
        self._claim = claim
        if (self._fault, claim) != self._pushed:
            self._pushed = (self._fault, claim)
            self._actions.append(GateVerdict(self._fault, claim))
