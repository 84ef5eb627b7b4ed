"""keepalived's process model: a parent that supervises a VRRP child and a checker child.

The parent parses the config only to decide which children it needs and to log errors, and does
that in a short-lived forked helper: the long-lived parent never imports the config package (nor
anything but what supervising needs), so it stays small (see docs/performance-resources.md).
Each child is a fresh ``python -m pykeepalived --child vrrp|checker <same flags>`` that parses
the file itself (as keepalived's children do), so a child crash never corrupts the parent and a
respawn starts from a clean interpreter. The parent is deliberately synchronous: it blocks every
signal it handles and reads them from a signalfd (polled with the children's sd_notify status
pipes), so no signal can be lost between two checks and no asyncio machinery runs in the
process that must outlive everything else. Every process is named as keepalived's
(``daemon.proctitle``); under systemd the parent relays the children's readiness
(``daemon.sdnotify``); ``net_namespace``/``instance``/``use_pid_dir`` are applied once the
config is read (``daemon.instance_names``).

Exit codes: 0 after a stop by signal (or, as keepalived, when another parent runs or the
namespace cannot be joined); 1 when a child exits with the permanent-error code (``EXIT_FATAL``)
or with ``-R`` when a child dies; 2 when nothing can be started.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import marshal
import os
import select
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pykeepalived import KEEPALIVED_COMPAT_VERSION, __version__
from pykeepalived.daemon import process, proctitle
from pykeepalived.daemon.exits import EXIT_CONFIG, EXIT_FATAL, EXIT_OK
from pykeepalived.daemon.instance_names import Naming, ident_suffix, pid_paths
from pykeepalived.daemon.log import get_logger, setup_logging
from pykeepalived.daemon.reload_time import ReloadTimer
from pykeepalived.daemon.roles import child_kinds, metrics_listen
from pykeepalived.daemon.sdnotify import Relay, SystemdNotifier, child_link
from pykeepalived.daemon.signalfd import SignalFd
from pykeepalived.daemon.signals import (
    HANDLED,
    SIGJSON,
    SIGSTATS_CLEAR,
    SIGTDUMP,
    STOP,
    unblock_all,
)
from pykeepalived.options import Options

if TYPE_CHECKING:
    from pykeepalived.config.model import GlobalDefs


CHILD_TITLES = {"vrrp": "VRRP", "checker": "Healthcheck", "observe": "Metrics"}


def run_daemon(opts: Options) -> int:
    """Entry point from the CLI: the parent, or one of the children when ``--child`` is given."""
    if opts.child is not None:
        process.stop_while_starting(opts.ignore_sigint)
        try:
            return _run_child(opts)
        except process.Stopped:
            return EXIT_OK  # stopped before it held anything
    return Supervisor(opts).run()


def _run_child(opts: Options) -> int:
    proctitle.set_title(opts.proc_title or proctitle.title_for([]),
                        opts.proc_name or proctitle.DEFAULT_NAME)
    if opts.status_fd is not None:
        child_link(opts.status_fd, opts.heartbeat)
    from pykeepalived.script.runner import allow_subreaper

    allow_subreaper()  # orphans of this child's scripts are reaped here, not left to init
    if opts.child == "vrrp":
        from pykeepalived.daemon.vrrp_process import run_vrrp_child

        return run_vrrp_child(opts)
    unblock_all()  # the checker and metrics children: their loop's handlers
    if opts.child == "checker":
        return _run_checker_child(opts)
    from pykeepalived.daemon.observe_process import run_observe_child

    return run_observe_child(opts)


def _run_checker_child(opts: Options) -> int:
    log = setup_logging(opts, "checker")
    process.set_parent_death_signal()
    try:
        # Imported by name when the checker child starts: no static dependency on the checker.
        check_process = importlib.import_module("pykeepalived.daemon.check_process")
    except ImportError as e:
        log.error("Healthcheck child cannot start: %s", e)
        return EXIT_FATAL
    runner = getattr(check_process, "run_checker", None) or getattr(
        check_process, "run_checker_child", None
    )
    if runner is None:
        log.error("Healthcheck child cannot start: no run_checker in check_process")
        return EXIT_FATAL
    parsed = process.handed_parse(opts.config_fd)
    if parsed is None:
        from pykeepalived.config import load

        parsed = load(opts.config_file, config_id=opts.config_id, all_config=opts.all_config)
    rc = runner(opts, parsed.config)
    return int(rc or 0)


def options_to_argv(opts: Options) -> list[str]:
    """The command-line flags that reproduce ``opts`` (what a re-exec'd child is given)."""
    a: list[str] = ["-f", opts.config_file]
    flags = {
        "vrrp_only": "-P", "check_only": "-C", "no_bfd": "-B", "all_subsystems": "--all",
        "log_console": "-l", "log_detail": "-D", "flush_log_file": "--flush-log-file",
        "no_syslog": "-G", "release_vips": "-X", "dont_release_vrrp": "-V",
        "dont_release_ipvs": "-I", "dont_respawn": "-R", "dont_fork": "-n", "dump_conf": "-d",
        "address_monitoring": "-a", "all_config": "-e", "snmp": "-x", "core_dump": "-m",
        "ignore_sigint": "--ignore-sigint",
    }
    for attr, flag in flags.items():
        if getattr(opts, attr):
            a.append(flag)
    a += ["-S", opts.log_facility, "-p", opts.pid_file, "-r", opts.vrrp_pid_file,
          "-c", opts.checkers_pid_file, "-b", opts.bfd_pid_file, "-i", opts.config_id]
    if opts.log_file:
        a.append(f"--log-file={opts.log_file}")
    if opts.umask is not None:
        a += ["-u", oct(opts.umask)]
    if opts.metrics_listen is not None:
        a.append(f"--metrics-listen={opts.metrics_listen}")
    if opts.ident_suffix:
        a += ["--ident-suffix", opts.ident_suffix]
    # -s is not passed on: the parent has already joined the namespace and children inherit it.
    return a


@dataclass(frozen=True)
class ParentSettings:
    """What the parent itself takes from ``global_defs`` and the top level (a marshal-able
    tuple crosses from the parsing helper): the umask, how long a stop waits for the children
    (``child_wait_time``), the reload check and the scheduled reload."""

    umask: int | None = None
    child_wait_time: float = 5.0
    reload_check_config: str | None = None  # the log file of the check ("/dev/null")
    reload_time_file: str | None = None
    reload_repeat: bool = False
    # the configured VIPs and excluded VIPs, packed (process.pack_addresses): the only
    # addresses the parent may take away when the VRRP child dies
    vips: bytes = b""

    def astuple(self) -> tuple[int | None, float, str | None, str | None, bool, bytes]:
        return (self.umask, self.child_wait_time, self.reload_check_config,
                self.reload_time_file, self.reload_repeat, self.vips)


@dataclass
class Child:
    kind: str  # "vrrp" or "checker"
    pid: int = 0
    started: float = 0.0
    respawns: int = 0
    pending_since: float | None = None  # respawn scheduled (rate limit)
    history: list[float] = field(default_factory=list)


class Supervisor:
    """The parent: start the children, respawn them, forward signals, stop them on TERM/INT."""

    def __init__(self, opts: Options) -> None:
        # Children are started after a possible chdir("/"): make every path absolute first.
        self.opts = dataclasses.replace(
            opts,
            config_file=os.path.abspath(opts.config_file),
            pid_file=os.path.abspath(opts.pid_file),
            vrrp_pid_file=os.path.abspath(opts.vrrp_pid_file),
            checkers_pid_file=os.path.abspath(opts.checkers_pid_file),
            bfd_pid_file=os.path.abspath(opts.bfd_pid_file),
            log_file=os.path.abspath(opts.log_file) if opts.log_file else None,
        )
        self.children: dict[str, Child] = {}
        self.log = get_logger()
        self.stopping = False
        self.exit_code = 0
        self.global_defs: GlobalDefs | None = None
        self.names: dict[str, str] = {}  # task names from global_defs (process_names & co)
        self.title = proctitle.title_for(sys.argv[1:])
        self.relay: Relay | None = None  # sd_notify relay, under a Type=notify unit only
        self.naming = Naming()
        self.opts_pid_checked = ""
        self.settings = ParentSettings()
        self.reload_timer: ReloadTimer | None = None
        self.sigfd: SignalFd | None = None
        self.parsed_fd: int | None = None  # the first parse, for the children's first start
        self.deferred: list[int] = []  # signals read while waiting for a helper

    # ---------------------------------------------------------------- start-up
    def run(self) -> int:
        # First of all: neither the config helper, nor a child, nor a script may inherit
        # NOTIFY_SOCKET, and an abstract socket must be opened before any setns().
        sd = SystemdNotifier.from_environ()
        if sd is not None:
            self.relay = Relay(sd, on_log=lambda m: self.log.info("%s", m))
        rc = self._run()
        if rc != 0 and self.relay is not None:
            self.relay.failed()
        return rc

    def _run(self) -> int:
        opts = self.opts
        # Every handled signal is blocked from the first moment and read from a signalfd: a
        # TERM while the file is parsed or a child starts is acted on (children are forked
        # with them blocked too, see _spawn), never the default action (death, a pid file
        # and maybe a child left behind).
        wanted = set(HANDLED)
        if opts.ignore_sigint:
            wanted.discard(signal.SIGINT)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
        proctitle.set_title(self.title, proctitle.DEFAULT_NAME)
        # Before daemonizing, so the refusal reaches the console: keepalived logs "daemon is
        # already running" and exits 0 (measured with 2.2.7, with and without -n).
        self.opts_pid_checked = opts.pid_file
        other = process.already_running(opts.pid_file)
        if other is not None:
            setup_logging(opts, None).info("daemon is already running")
            return EXIT_OK
        if not opts.dont_fork:
            process.daemonize()
        if opts.umask is not None:
            os.umask(opts.umask)
        log = self.log = setup_logging(opts, None)
        log.info("Starting pykeepalived v%s (keepalived %s compatible)", __version__,
                 KEEPALIVED_COMPAT_VERSION)
        log.info("Command line: %s", " ".join(f"'{x}'" for x in sys.argv))
        if opts.ignored:
            log.info("Ignoring options with no effect here: %s", " ".join(opts.ignored))
        self.sigfd = SignalFd(wanted)
        kinds = self._wanted_children()
        if self.stopping:
            log.info("Stopped pykeepalived v%s", __version__)
            return EXIT_OK
        if kinds is None:
            return EXIT_CONFIG
        self._apply_settings()
        if not kinds:
            log.error("No VRRP or checker configuration to run (use --all to force): exiting")
            return EXIT_CONFIG
        if not self._apply_naming():
            return 0  # keepalived 2.2.7 exits 0 when it cannot join its namespace
        opts, log = self.opts, self.log
        if self.names.get("parent", proctitle.DEFAULT_NAME) != proctitle.DEFAULT_NAME:
            proctitle.set_comm(self.names["parent"])
        process.write_pid(opts.pid_file)
        try:
            self._global_script("startup")
            for k in kinds:
                self.children[k] = Child(k)
                self._spawn(self.children[k])
            self._forget_parse()
            self._loop()
        finally:
            self._stop_children()
            self._global_script("shutdown")
            process.remove_pid(opts.pid_file)
            log.info("Stopped pykeepalived v%s", __version__)
        return self.exit_code

    def _wanted_children(self) -> list[str] | None:
        """Which children to start, decided in a forked helper that parses the config.

        The parser, the config model and the parse's garbage would otherwise stay in the
        long-lived parent for good (~9 MiB of heap at 200 instances, never given back). The
        helper logs what the parse reports through the parent's handlers and sends back the
        child kinds, plus ``global_defs`` (pickled) only when a startup or shutdown script needs
        it. ``marshal`` is built in, so the parent imports nothing to read the answer.
        """
        opts, log = self.opts, self.log
        if not os.path.exists(opts.config_file):
            log.error("Configuration file '%s' does not exist", opts.config_file)
            return None
        log.info("Configuration file %s", opts.config_file)
        # The helper leaves its parse, pickled, in this memfd: the children's first start
        # reads it instead of parsing the file again (it never enters the parent's heap).
        self.parsed_fd = os.memfd_create("pykeepalived-parse", os.MFD_CLOEXEC)
        data = self._in_helper(self._parse_config)
        if not data:
            return None
        kinds, gd_pickled, self.names, naming, settings = marshal.loads(data)
        self.naming = Naming(*naming)
        self.settings = ParentSettings(*settings)
        if gd_pickled is not None:
            import pickle  # only when a global script is configured

            self.global_defs = pickle.loads(gd_pickled)  # our own fork's bytes
        return list(kinds)

    def _in_helper(self, work: Callable[[], Any]) -> bytes:
        """``work()`` in a forked helper; its marshalled answer (b"" when it failed, or when
        a TERM/INT came first: the helper is killed, ``stopping`` set)."""
        log = self.log
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the helper; covered by the namespace tests
            code = 1
            try:
                process.set_parent_death_signal(signal.SIGKILL)
                os.close(rfd)
                with os.fdopen(wfd, "wb") as out:
                    out.write(marshal.dumps(work()))
                code = 0
            except BaseException:  # report whatever broke, then leave
                with contextlib.suppress(BaseException):
                    log.exception("Parsing the configuration failed")
            finally:
                for h in log.handlers:
                    with contextlib.suppress(BaseException):
                        h.flush()
                with contextlib.suppress(BaseException):
                    sys.stderr.flush()
                os._exit(code)
        os.close(wfd)
        data = self._helper_answer(rfd, pid)
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries; belt and braces
                continue
            except ChildProcessError:  # pragma: no cover
                break
        return data

    def _helper_answer(self, rfd: int, pid: int) -> bytes:
        """Read the helper's answer until EOF, watching the signals meanwhile: a stop kills
        the helper (a large file takes seconds to parse); the others wait in ``deferred``.
        The children's status pipes are relayed meanwhile too: their beats keep systemd's
        watchdog fed while a reload's file is being read."""
        chunks: list[bytes] = []
        poller = select.poll()
        poller.register(rfd, select.POLLIN)
        if self.sigfd is not None:
            poller.register(self.sigfd.fd, select.POLLIN)
        status = set(self.relay.fds()) if self.relay is not None else set()
        for fd in status:
            poller.register(fd, select.POLLIN)
        try:
            while True:
                for fd, ev in poller.poll():
                    if fd in status:
                        self._read_status(fd)
                        if ev & (select.POLLHUP | select.POLLERR):  # the child is gone
                            poller.unregister(fd)
                            status.discard(fd)
                        continue
                    if fd != rfd:
                        assert self.sigfd is not None
                        for sig in self.sigfd.read():
                            if sig in STOP:
                                self._on_signal(sig)
                            elif sig != signal.SIGCHLD:
                                self.deferred.append(sig)
                        if self.stopping:
                            with contextlib.suppress(ProcessLookupError):
                                os.kill(pid, signal.SIGKILL)
                            return b""
                        continue
                    chunk = os.read(rfd, 1 << 16)
                    if not chunk:
                        return b"".join(chunks)
                    chunks.append(chunk)
        finally:
            os.close(rfd)

    def _parse_config(self) -> tuple[list[str], bytes | None, dict[str, str],
                                     tuple[str | None, str | None, bool],
                                     tuple[int | None, float, str | None, str | None, bool,
                                           bytes]]:
        """In the forked helper: parse, log the messages, dump (``-d``), decide the children."""
        from pykeepalived.config import load

        opts = self.opts
        parsed = load(opts.config_file, config_id=opts.config_id, all_config=opts.all_config)
        self._log_messages(parsed.messages)
        if opts.dump_conf:
            self._dump_config(parsed.config)
        cfg = parsed.config
        gd = cfg.global_defs
        if self.parsed_fd is not None:
            import pickle

            with os.fdopen(os.dup(self.parsed_fd), "wb") as f:
                pickle.dump(parsed, f, protocol=pickle.HIGHEST_PROTOCOL)
        gd_pickled: bytes | None = None
        if gd.startup_script is not None or gd.shutdown_script is not None:
            import pickle

            gd_pickled = pickle.dumps(gd)
        kinds = child_kinds(opts, cfg)
        if kinds and metrics_listen(opts, gd) is not None:
            kinds.append("observe")
        names = {"parent": proctitle.process_name(gd, None),
                 **{k: proctitle.process_name(gd, k) for k in CHILD_TITLES}}
        naming = (cfg.net_namespace, cfg.instance_name, cfg.use_pid_dir)
        return kinds, gd_pickled, names, naming, _parent_settings(cfg).astuple()

    def _log_messages(self, messages: Iterable[Any], *, notes_only: bool = False) -> None:
        """The parse's messages at their level (keepalived's phrasing, file:line); the notes
        of keywords that do not fully act are logged here only, once per start or reload."""
        from pykeepalived.config.model import Severity

        for m in messages:
            if m.severity == Severity.INFO:
                self.log.info("%s", m.format())
            elif not notes_only:
                (self.log.error if m.severity >= Severity.ERROR else self.log.warning)(
                    "%s", m.format())

    def _apply_settings(self) -> None:
        """The umask of global_defs (the -u option takes precedence, as in keepalived) and
        the scheduled reload."""
        st = self.settings
        if st.umask is not None:
            if self.opts.umask is not None:
                self.log.info("umask command line option specified, ignoring config option")
            else:
                os.umask(st.umask)
        path = st.reload_time_file
        if path is None:
            self.reload_timer = None
        elif self.reload_timer is None or self.reload_timer.path != path:
            self.reload_timer = ReloadTimer(path, st.reload_repeat)
        else:
            self.reload_timer.repeat = st.reload_repeat

    def _apply_naming(self) -> bool:
        """net_namespace / -s, instance, use_pid_dir (``daemon.instance_names``): the syslog
        ident, the pid file paths, then the namespace; False when it cannot be joined."""
        opts, nm = self.opts, self.naming
        ns = opts.namespace or nm.net_namespace
        if opts.namespace and nm.net_namespace:
            self.log.info("Overriding config net_namespace '%s' with command line namespace "
                          "'%s'", nm.net_namespace, opts.namespace)
        if ns or nm.instance:
            suffix = ident_suffix(ns, nm.instance)
            self.log.info("Changing syslog ident to Keepalived%s", suffix)
            opts = dataclasses.replace(opts, ident_suffix=suffix)
            self.log = setup_logging(opts, None)
        named = pid_paths(opts, ns, nm.instance, nm.use_pid_dir)
        if named != opts:
            os.makedirs(os.path.dirname(named.pid_file), mode=0o755, exist_ok=True)
        self.opts = named
        if ns:
            try:
                process.enter_netns(ns)
            except OSError as e:
                if isinstance(e, FileNotFoundError) or e.errno == 2:
                    self.log.info("Failed to open /run/netns/%s", ns)
                else:
                    self.log.info("setns() failed with error %d", e.errno or 0)
                self.log.error("Unable to set network namespace %s - exiting", ns)
                return False
        if named.pid_file != self.opts_pid_checked and process.already_running(named.pid_file):
            self.log.info("daemon is already running")
            return False
        return True

    def _global_script(self, what: str) -> None:
        """global_defs ``startup_script`` (before any child starts) or ``shutdown_script``
        (after every child stopped), blocking, killed at its timeout, as keepalived's parent."""
        if self.global_defs is None:
            return
        from pykeepalived.notify import scripts

        run = scripts.run_startup_script if what == "startup" else scripts.run_shutdown_script
        try:
            run(self.global_defs)
        except Exception as e:  # a broken script must not keep the daemon from starting/stopping
            self.log.error("%s script failed: %s", what.capitalize(), e)

    def _dump_config(self, cfg: object) -> None:
        try:
            format_config = importlib.import_module("pykeepalived.config.dump").format_config
        except (ImportError, AttributeError):
            self.log.info("(configuration dump not available)")
            return
        for line in str(format_config(cfg)).splitlines():
            self.log.info("%s", line)

    # ---------------------------------------------------------------- children
    def _spawn(self, child: Child) -> None:
        argv = [sys.executable, "-m", "pykeepalived", "--child", child.kind,
                *options_to_argv(self.opts), "--proc-title", self.title,
                "--proc-name", self.names.get(child.kind, proctitle.DEFAULT_NAME)]
        rfd = wfd = -1
        handed = self.parsed_fd if child.kind in ("vrrp", "checker") else None
        if handed is not None:
            argv += ["--config-fd", str(handed)]
        if self.relay is not None:
            rfd, wfd = os.pipe2(os.O_CLOEXEC)
            argv += ["--status-fd", str(wfd)]
            beat = self.relay.heartbeat_interval()
            if beat is not None:
                argv += ["--heartbeat", f"{beat:.3f}"]
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child until exec
            try:
                # The handled signals stay blocked across the exec: the child unblocks them
                # once it can act on them (process.stop_while_starting), none is lost.
                for s in HANDLED:
                    if s != signal.SIGINT or not self.opts.ignore_sigint:
                        signal.signal(s, signal.SIG_DFL)
                process.set_parent_death_signal()
                if wfd >= 0:
                    os.set_inheritable(wfd, True)
                if handed is not None:
                    os.set_inheritable(handed, True)
                os.execv(sys.executable, argv)
            finally:
                os._exit(127)
        if self.relay is not None:
            os.close(wfd)
            os.set_blocking(rfd, False)
            self.relay.attach(child.kind, rfd)
        child.pid = pid
        child.started = time.monotonic()
        child.pending_since = None
        self.log.info("Starting %s child process, pid=%d", CHILD_TITLES[child.kind], pid)

    def _forget_parse(self) -> None:
        """After the children's first start: a respawned child reads the file again."""
        if self.parsed_fd is not None:
            os.close(self.parsed_fd)
            self.parsed_fd = None

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = next((c for c in self.children.values() if c.pid == pid), None)
            if child is None:
                continue
            child.pid = 0
            self._detach(child)
            self._child_died(child, pid, status)

    def _child_died(self, child: Child, pid: int, status: int) -> None:
        title = CHILD_TITLES[child.kind]
        if self.stopping:
            return
        code = os.waitstatus_to_exitcode(status)
        if code == EXIT_FATAL:
            self.log.error("%s child process(%d) exited with permanent error FATAL. Terminating",
                           title, pid)
            self.exit_code = 1
            self.stopping = True
            return
        if self.opts.dont_respawn:
            self.log.error("%s child process(%d) died (%s): Exiting", title, pid, _describe(code))
            self.exit_code = 1
            self.stopping = True
            return
        self.log.warning("%s child process(%d) died (%s): Respawning", title, pid,
                         _describe(code))
        if child.kind == "vrrp" and not self.opts.dont_release_vrrp:
            process.release_vips(self.log, self.settings.vips)
        now = time.monotonic()
        child.history = [t for t in child.history if now - t < 10.0] + [now]
        # A child that dies at once would otherwise spin: back off to one start per second.
        child.pending_since = now
        child.respawns += 1

    def _respawn_due(self) -> float | None:
        """Start children whose respawn delay has passed; seconds until the next one (or None)."""
        now = time.monotonic()
        soonest: float | None = None
        for c in self.children.values():
            if c.pending_since is None:
                continue
            delay = 0.0 if len(c.history) <= 2 else 1.0
            due = c.pending_since + delay
            if now >= due:
                self._spawn(c)
            else:
                soonest = due - now if soonest is None else min(soonest, due - now)
        return soonest

    # ---------------------------------------------------------------- signals
    def _loop(self) -> None:
        """Wait for a blocked signal (read from a signalfd) or a child's status line."""
        sigfd = self.sigfd
        assert sigfd is not None
        poller = select.poll()
        watched: set[int] = set()
        try:
            while not self.stopping:
                self._reap()
                if self.stopping:
                    break
                wait = self._respawn_due()
                fds = {sigfd.fd, *(self.relay.fds() if self.relay is not None else ())}
                for fd in watched - fds:
                    poller.unregister(fd)
                for fd in fds - watched:
                    poller.register(fd, select.POLLIN)
                watched = fds
                timeout = 1.0 if wait is None else max(min(wait, 1.0), 0.01)
                if self.reload_timer is not None:
                    due = self.reload_timer.wait(time.time())
                    timeout = timeout if due is None else max(min(timeout, due), 0.01)
                for fd, _ev in poller.poll(timeout * 1000):
                    if fd != sigfd.fd:
                        self._read_status(fd)
                if self.relay is not None:
                    self.relay.tick(time.monotonic())
                self._scheduled_reload()
                pending, self.deferred = [*self.deferred, *sigfd.read()], []
                for sig in pending:
                    self._on_signal(sig)
                    if self.stopping:
                        break
        finally:
            sigfd.close()

    def _on_signal(self, sig: int) -> None:
        if sig == signal.SIGCHLD:
            return
        if sig in STOP:
            self.log.info("Stopping")
            if self.relay is not None:
                self.relay.stopping()
            self.stopping = True
            return
        if sig == signal.SIGHUP:
            self._reload()
            return
        self._forward(sig)

    def _reload(self) -> None:
        """A HUP, or the time of ``reload_time_file``: the parent reads the file in a helper
        (its notes are logged here, and with ``reload_check_config`` it is checked first: a
        file that fails the check is not reloaded), then each child re-reads it and logs its
        errors, keeping its running configuration when there are any."""
        self.log.info("Reloading")
        if self.relay is not None:  # RELOADING=1 at once: systemd waits for the READY=1
            self.relay.reload(time.monotonic())
        data = self._in_helper(self._reload_check)
        if self.stopping:
            return
        if not data:
            self.log.error("Cannot read the configuration: not reloading")
            self._reload_abandoned()
            return
        ok, settings = marshal.loads(data)
        check = self.settings.reload_check_config
        if not ok and check:
            self.log.info("New config failed validation, see %s for details", check)
            self._reload_abandoned()
            return
        self.settings = ParentSettings(*settings)
        self._apply_settings()
        self._forward(signal.SIGHUP)

    def _reload_abandoned(self) -> None:
        if self.relay is not None:
            self.relay.reload_abandoned()

    def _reload_check(self) -> tuple[bool, tuple[int | None, float, str | None, str | None,
                                                 bool, bytes]]:
        """In the forked helper: read the file, log its notes; with ``reload_check_config``,
        the config test's verdict, its lines written to that log file."""
        from pykeepalived.config.configtest import config_test_result

        res, code = config_test_result(self.opts)
        self._log_messages(res.messages, notes_only=True)
        check = self.settings.reload_check_config
        if check:
            try:
                with open(check, "w", encoding="utf-8") as f:
                    f.writelines(m.format() + "\n" for m in res.messages)
            except OSError as e:
                self.log.info("Unable to write config check log %s: %s", check, e)
        return code == 0, _parent_settings(res.config).astuple()

    def _scheduled_reload(self) -> None:
        timer = self.reload_timer
        if timer is None:
            return
        now = time.time()
        for line in timer.check(now):
            self.log.info("%s", line)
        if timer.due(now):
            self._reload()

    def _read_status(self, fd: int) -> None:
        """A child's status pipe is readable: hand what it wrote to the sd_notify relay."""
        assert self.relay is not None
        while True:
            try:
                data = os.read(fd, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                # EOF: the child is gone; _detach closes the pipe once it has been reaped.
                return
            self.relay.feed(fd, data)

    def _detach(self, child: Child) -> None:
        """A child was reaped: read what is left on its status pipe and close it."""
        if self.relay is None:
            return
        end = self.relay.ends.get(child.kind)
        if end is None:
            return
        self._read_status(end.fd)
        fd = self.relay.detach(child.kind)
        if fd is not None:
            os.close(fd)

    def _forward(self, sig: int) -> None:
        # USR2 (stats), JSON, STATS_CLEAR and TDUMP concern the VRRP child only (as keepalived's
        # stats/JSON dumps); HUP, USR1 and the stop go to every child.
        vrrp_only = sig in (signal.SIGUSR2, SIGJSON, SIGSTATS_CLEAR, SIGTDUMP)
        for c in self.children.values():
            if vrrp_only and c.kind != "vrrp":
                continue
            if c.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(c.pid, sig)

    def _stop_children(self) -> None:
        self.stopping = True
        self._forward(signal.SIGTERM)
        wait = self.settings.child_wait_time
        deadline = time.monotonic() + wait
        while any(c.pid for c in self.children.values()):
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                for c in self.children.values():
                    if c.pid == pid:
                        c.pid = 0
                        self._detach(c)
                continue
            if time.monotonic() > deadline:
                for c in self.children.values():
                    if c.pid:
                        self.log.warning("%s child process(%d) did not stop: killing",
                                         CHILD_TITLES[c.kind], c.pid)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(c.pid, signal.SIGKILL)
                deadline = time.monotonic() + max(wait, 1.0)
            time.sleep(0.02)


def _parent_settings(cfg: Any) -> ParentSettings:
    gd = cfg.global_defs
    return ParentSettings(umask=gd.umask, child_wait_time=cfg.child_wait_time,
                          reload_check_config=gd.reload_check_config,
                          reload_time_file=gd.reload_time_file,
                          reload_repeat=gd.reload_repeat,
                          vips=process.pack_addresses(
                              a.ip for i in cfg.vrrp_instances
                              for a in (*i.virtual_ipaddresses,
                                        *i.virtual_ipaddresses_excluded)))


def _describe(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit status {code}"
