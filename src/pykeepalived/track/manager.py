"""One object the VRRP process owns: every tracker of the config, started and stopped together.

The daemon builds ``Trackers(config, on_change)``, calls ``await start()`` (which returns the
initial events the router must apply before the first advert: init_fail scripts, current file
values, current process quorums), and then receives ``TrackerChanged`` events through
``on_change`` on the event loop. Only trackers referenced by an instance or a sync group run,
like keepalived (an unused vrrp_script is never executed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from pykeepalived.config.model import KeepalivedConfig, VrrpScript
from pykeepalived.net.rcvbuf import RcvBuf
from pykeepalived.script.runner import ProcessRunner
from pykeepalived.track.events import TrackerChanged
from pykeepalived.track.file import TrackFileWatcher
from pykeepalived.track.process import ProcessMonitor
from pykeepalived.track.script import VrrpScriptRunner


def referenced(config: KeepalivedConfig) -> tuple[set[str], set[str], set[str]]:
    """Names of the scripts, files and processes some instance or sync group tracks."""
    scripts: set[str] = set()
    files: set[str] = set()
    procs: set[str] = set()
    refs = [(o.track_scripts, o.track_files, o.track_processes) for o in config.vrrp_instances]
    refs += [(g.track_scripts, g.track_files, g.track_processes) for g in config.sync_groups]
    for ts, tf, tp in refs:
        scripts.update(r.name for r in ts)
        files.update(r.name for r in tf)
        procs.update(r.name for r in tp)
    return scripts, files, procs


ScriptKey = tuple[str, tuple[str, ...], int, int, str | None, str | None]


def _script_key(vs: VrrpScript) -> ScriptKey:
    return (vs.name, vs.argv, vs.rise, vs.fall, vs.user, vs.group)


class Trackers:
    """Every tracker of a config. On reload, a vrrp_script that did not change keeps its
    rise/fall counter (keepalived's INIT_RELOAD: up when ``result >= rise``), so a reload
    never makes a healthy script wait for ``rise`` successes or a failed one look healthy."""

    #: Counters of the scripts of the last stopped instance in this process, for reload.
    _carried: ClassVar[dict[ScriptKey, tuple[int, bool]]] = {}

    def __init__(self, config: KeepalivedConfig, on_change: Callable[[TrackerChanged], None],
                 *, runner: ProcessRunner | None = None, all_trackers: bool = False,
                 process_poll_interval: float = 0.5) -> None:
        self.config = config
        self._on_change = on_change
        self.runner = runner or ProcessRunner()
        self._own_runner = runner is None
        s, f, p = referenced(config)
        self.scripts = [
            VrrpScriptRunner(vs, on_change, global_defs=config.global_defs, runner=self.runner)
            for vs in config.vrrp_scripts if all_trackers or vs.name in s]
        self.files = TrackFileWatcher(
            [tf for tf in config.track_files if all_trackers or tf.name in f], on_change)
        self.processes = ProcessMonitor(
            [tp for tp in config.track_processes if all_trackers or tp.name in p], on_change,
            poll_interval=process_poll_interval,
            rcvbuf=RcvBuf(config.global_defs.process_monitor_rcv_bufs,
                          config.global_defs.process_monitor_rcv_bufs_force))

    async def start(self, *, reload: bool = False) -> list[TrackerChanged]:
        """Start everything; returns the initial state events (apply them before running)."""
        initial: list[TrackerChanged] = []
        carried = Trackers._carried if reload else {}
        Trackers._carried = {}
        for r in self.scripts:
            state = carried.get(_script_key(r.script))
            if state is not None and not state[1]:
                r.tracker.result, r.tracker.init = state[0], False
            ev = r.tracker.initial_event()
            if ev is not None:
                initial.append(ev)
        initial += self.files.start(reload=reload)
        initial += self.processes.start()
        for r in self.scripts:
            r.start()
        return initial

    async def stop(self) -> None:
        for r in self.scripts:
            await r.stop()
            Trackers._carried[_script_key(r.script)] = (r.tracker.result, r.tracker.init)
        self.files.stop()
        await self.processes.stop()
        if self._own_runner:
            await self.runner.close(grace=1.0)
