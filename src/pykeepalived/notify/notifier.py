"""The one façade the daemon (VRRP child) and the checker child call to tell the operator.

Order per VRRP state change, as keepalived: the state-specific script, the generic ``notify``
script, the FIFO line(s), then the SMTP alert. Every call returns at once: scripts are fired
and reaped in the background, FIFO writes are non-blocking, mail goes out in a task.

Usage (VRRP child)::

    notifier = Notifier(config.global_defs)          # vrrp=True, lvs=False for the VRRP child
    await notifier.start()                           # creates/opens FIFOs, starts fifo scripts
    notifier.instance_state(inst, "MASTER", 100)     # inst: config.model.VrrpInstance
    notifier.group_state(group, "BACKUP")            # group: config.model.SyncGroup
    notifier.master_rx_lower_pri(inst, 100)
    notifier.priority_changed(inst, "BACKUP", 80)    # only writes when notify_priority_changes
    await notifier.shutdown(instances, groups)       # STOP notifies, ~1 s for STOP scripts
    await notifier.close()

Checker child: ``Notifier(gd, vrrp=False, lvs=True)``, then ``rs_state``/``vs_state`` for the
lvs FIFO lines (+ mail when the caller says the object has smtp_alert), and ``run_script`` for
notify_up/notify_down/quorum_up/quorum_down.

``state`` may be a string (``"MASTER"``) or any enum whose ``name`` or ``value`` is one.
"""

from __future__ import annotations

import enum
import logging
import signal
from collections.abc import Sequence

from pykeepalived.config.model import GlobalDefs, NotifyScript, SyncGroup, VrrpInstance
from pykeepalived.notify.fifo import FifoSet, rs_line, vrrp_line, vs_line
from pykeepalived.notify.scripts import ScriptLauncher, generic_argv
from pykeepalived.notify.smtp import SmtpAlerter, rs_subject, vs_subject
from pykeepalived.script.runner import ProcessRunner

log = logging.getLogger("pykeepalived.notify")

STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")


def state_name(state: object) -> str:
    """``"MASTER"`` from a string or an enum member (by name, else by value)."""
    if isinstance(state, enum.Enum):
        name = state.name.upper()
        if name in STATES:
            return name
        return str(state.value).upper()
    return str(state).upper()


class Notifier:
    def __init__(self, gd: GlobalDefs, *, vrrp: bool = True, lvs: bool = False,
                 runner: ProcessRunner | None = None) -> None:
        self.gd = gd
        self.scripts = ScriptLauncher(gd, runner)
        self.fifos = FifoSet(gd, vrrp=vrrp, lvs=lvs)
        self.smtp = SmtpAlerter(gd)
        self._vrrp = vrrp
        self._lvs = lvs
        self._started = False

    async def start(self) -> None:
        """Create/open the FIFOs and start their ``*_fifo_script`` readers."""
        if not self._started:
            self.fifos.open()
            self._started = True

    # ------------------------------------------------------------------ VRRP

    def instance_state(self, inst: VrrpInstance, state: object, priority: int) -> None:
        """An instance entered ``state`` with effective ``priority``."""
        st = state_name(state)
        if st == "DELETED" and not inst.notify_deleted_enabled:
            st = "FAULT"  # keepalived reports a deleted instance as FAULT unless asked
        specific = {
            "MASTER": inst.notify_master, "BACKUP": inst.notify_backup,
            "FAULT": inst.notify_fault, "STOP": inst.notify_stop,
            "DELETED": inst.notify_deleted,
        }.get(st)
        stop = st in ("STOP", "DELETED")
        if specific is not None:
            self.scripts.launch(specific, stop=stop)
        if inst.notify is not None:
            self.scripts.launch(inst.notify,
                                generic_argv(inst.notify, "INSTANCE", inst.name, st, priority),
                                stop=stop)
        self.fifos.write_vrrp(vrrp_line("INSTANCE", inst.name, st, priority))
        if inst.smtp_alert:
            self.smtp.vrrp_state(inst.name, st)

    def group_state(self, group: SyncGroup, state: object) -> None:
        """A sync group entered ``state`` (priority is always 0 for groups)."""
        st = state_name(state)
        specific = {
            "MASTER": group.notify_master, "BACKUP": group.notify_backup,
            "FAULT": group.notify_fault, "STOP": group.notify_stop,
        }.get(st)
        stop = st == "STOP"
        if specific is not None:
            self.scripts.launch(specific, stop=stop)
        if group.notify is not None:
            self.scripts.launch(group.notify,
                                generic_argv(group.notify, "GROUP", group.name, st, 0),
                                stop=stop)
        self.fifos.write_vrrp(vrrp_line("GROUP", group.name, st, 0))
        if group.smtp_alert:
            self.smtp.vrrp_state(group.name, st, group=True)

    def fifo_lines(self, lines: Sequence[str]) -> None:
        """Write ``lines`` to the VRRP FIFOs only (no script, no mail)."""
        for line in lines:
            self.fifos.write_vrrp(line)

    def master_rx_lower_pri(self, inst: VrrpInstance, priority: int) -> None:
        """The master heard a lower-priority advert (script + ``MASTER_RX_LOWER_PRI`` line)."""
        if inst.notify_master_rx_lower_pri is not None:
            self.scripts.launch(inst.notify_master_rx_lower_pri)
        self.fifos.write_vrrp(vrrp_line("INSTANCE", inst.name, "MASTER_RX_LOWER_PRI", priority))

    def priority_changed(self, inst: VrrpInstance, state: object, priority: int) -> None:
        """Effective priority changed: ``MASTER_PRIORITY``/``BACKUP_PRIORITY`` FIFO line, only
        with notify_priority_changes (per instance, or vrrp_notify_priority_changes)."""
        if not (inst.notify_priority_changes or self.gd.vrrp_notify_priority_changes):
            return
        ev = "MASTER_PRIORITY" if state_name(state) == "MASTER" else "BACKUP_PRIORITY"
        self.fifos.write_vrrp(vrrp_line("INSTANCE", inst.name, ev, priority))

    async def shutdown(self, instances: Sequence[tuple[VrrpInstance, int]] = (),
                       groups: Sequence[SyncGroup] = ()) -> None:
        """STOP notifies for every (instance, priority) and group; waits for STOP scripts.

        Scripts still running get SIGTERM first (keepalived's ``script_killall`` at shutdown),
        so the one second the STOP scripts get is their grace too: ``close`` then SIGKILLs
        whatever ignored it without waiting again."""
        self.scripts.runner.terminate_all(signal.SIGTERM)
        for inst, prio in instances:
            self.instance_state(inst, "STOP", prio)
        for g in groups:
            self.group_state(g, "STOP")
        await self.scripts.wait_stop()

    # ------------------------------------------------------------------ checker

    def run_script(self, script: NotifyScript | None) -> None:
        """notify_up / notify_down / quorum_up / quorum_down: only the configured argv."""
        if script is not None:
            self.scripts.launch(script)

    def rs_state(self, rs_key: str, vs_key: str, up: bool, *, smtp_alert: bool = False,
                 body: str = "") -> None:
        """A real server went UP/DOWN: ``RS [rs] [vs] UP`` line (+ mail when ``smtp_alert``)."""
        self.fifos.write_lvs(rs_line(rs_key, vs_key, up))
        if smtp_alert and not self.gd.no_checker_emails:
            self.smtp.send(rs_subject(self.gd, rs_key, vs_key, up), body)

    def vs_state(self, vs_key: str, up: bool, *, smtp_alert: bool = False,
                 subject_text: str = "", body: str = "") -> None:
        """A virtual server's quorum went UP/DOWN: ``VS [vs] UP`` line (+ mail)."""
        self.fifos.write_lvs(vs_line(vs_key, up))
        if smtp_alert and not self.gd.no_checker_emails:
            text = subject_text or ("QUORUM UP" if up else "QUORUM DOWN")
            self.smtp.send(vs_subject(self.gd, vs_key, text), body)

    # ------------------------------------------------------------------ lifecycle

    async def reload(self, gd: GlobalDefs) -> None:
        """New global_defs: fifo scripts get SIGTERM, FIFOs are reopened, mail settings kept
        current. Instance/group objects are passed per call, so nothing else is cached."""
        await self.fifos.close()
        self.gd = gd
        self.scripts.gd = gd
        self.scripts.forget_checks()  # security settings may have changed
        self.smtp.gd = gd
        self.fifos = FifoSet(gd, vrrp=self._vrrp, lvs=self._lvs)
        self.fifos.open()

    async def close(self, grace: float = 1.0) -> None:
        await self.smtp.close(timeout=grace)
        await self.fifos.close(grace)
        await self.scripts.close(grace)

