"""``vrrp_sync_group``: instances that change state together (sans-IO).

keepalived's rules, as enforced here:

* a member that goes to FAULT forces every member to FAULT; the group leaves FAULT (every member
  to BACKUP) only when no member has a fault of its own;
* a member may become MASTER only when every other member can too (each is MASTER already or its
  own master-down timer has expired); until then it re-checks after one advert interval plus the
  minimum skew. When one member becomes MASTER the others follow at once;
* a MASTER member that steps down to BACKUP (higher priority advert) takes the others with it;
* a member hearing a lower priority advert as MASTER makes every member send its lower-priority
  GARPs;
* group notifications carry priority 0 (``GROUP "G1" MASTER 0``).

The group queues only its own notifications and log lines (``actions()``); each member queues its
own actions as usual, so after any call into a member the shell drains the group and all members.

Members are ``VrrpRouter`` objects, seen here only through the ``Member`` protocol: the router
module imports this one, never the other way round. A member calls the group (``member_*``,
``can_goto_master``, ``reevaluate``) from inside its own transitions, and the group calls the
other members back (``force_master``, ``force_backup``, ``apply_fault``,
``lower_priority_garps``) in the same call: one router call can move every member, which is why
the shell drains them all.
"""

from __future__ import annotations

from typing import Protocol

from pykeepalived.vrrp.actions import Action, LogEvent, Notify, NotifyEvent, State


class Member(Protocol):
    """What a sync group needs of a member instance (``vrrp.router.VrrpRouter``)."""

    name: str
    group: SyncGroup | None

    @property
    def state(self) -> State: ...

    @property
    def own_fault(self) -> bool: ...

    @property
    def wants_master(self) -> bool: ...

    def force_master(self, now: float) -> None: ...

    def force_backup(self, now: float) -> None: ...

    def lower_priority_garps(self, now: float) -> None: ...

    def apply_fault(self, now: float, fault: bool, by_group: bool = False) -> None: ...

_NOTIFY = {
    State.MASTER: NotifyEvent.MASTER,
    State.BACKUP: NotifyEvent.BACKUP,
    State.FAULT: NotifyEvent.FAULT,
    State.STOP: NotifyEvent.STOP,
}


class SyncGroup:
    def __init__(self, name: str, members: list[Member] | None = None) -> None:
        self.name = name
        self.members: list[Member] = []
        self._state = State.INIT
        self._actions: list[Action] = []
        for member in members or []:
            self.add(member)

    @property
    def state(self) -> State:
        return self._state

    def add(self, router: Member) -> None:
        if router.group is not None and router.group is not self:
            raise ValueError(f"{router.name} already belongs to group {router.group.name}")
        if router not in self.members:
            self.members.append(router)
        router.group = self

    def remove(self, router: Member) -> None:
        """``router`` leaves the group (a reload stopped or replaced its instance); its own
        ``group`` is left as it is, since it is not used any more."""
        if router in self.members:
            self.members.remove(router)

    def actions(self) -> list[Action]:
        out, self._actions = self._actions, []
        return out

    # ------------------------------------------------------------------ called by members
    def member_started(self, router: Member, now: float) -> None:
        """A member starts: the group starts BACKUP, or FAULT if a started member is faulty."""
        if self._state is State.INIT:
            self._set_state(State.BACKUP)
        if router.own_fault and self._state is not State.FAULT:
            self._go_fault(now)

    def can_goto_master(self, router: Member) -> bool:
        if self._state is State.MASTER:
            return True
        if self._state is State.FAULT:
            return False
        return all(m is router or m.state is State.MASTER or m.wants_master for m in self.members)

    def member_became_master(self, router: Member, now: float) -> None:
        if self._state is State.MASTER:
            return
        self._set_state(State.MASTER)
        for m in self.members:
            if m is not router:
                m.force_master(now)

    def member_became_backup(self, router: Member, now: float) -> None:
        if self._state is not State.MASTER:
            return
        self._set_state(State.BACKUP)
        for m in self.members:
            if m is not router:
                m.force_backup(now)

    def member_rx_lower(self, router: Member, now: float) -> None:
        for m in self.members:
            if m is not router:
                m.lower_priority_garps(now)

    def reevaluate(self, now: float) -> None:
        """A member's own fault status may have changed: fault or un-fault the whole group."""
        started = [m for m in self.members if m.state not in (State.INIT, State.STOP)]
        if any(m.own_fault for m in started):
            if self._state is not State.FAULT:
                self._go_fault(now)
            for m in started:
                m.apply_fault(now, True, by_group=True)
        elif self._state is State.FAULT:
            self._set_state(State.BACKUP)
            for m in started:
                m.apply_fault(now, False, by_group=True)

    # ------------------------------------------------------------------ internals
    def _go_fault(self, now: float) -> None:
        self._set_state(State.FAULT)
        for m in self.members:
            if m.state not in (State.INIT, State.STOP):
                m.apply_fault(now, True, by_group=True)

    def _set_state(self, new: State) -> None:
        if new is self._state:
            return
        self._state = new
        self._actions.append(
            LogEvent(f"VRRP_Group({self.name}) Syncing instances to {new.value} state")
        )
        self._actions.append(Notify(_NOTIFY[new], self.name, 0, group=True))
