"""Command-line options, parsed the way keepalived's getopt_long table reads them.

``Options`` is the one contract between the CLI and the rest of the program: the daemon, the
config test and the dumps read it; nothing else looks at ``sys.argv``.
"""

from __future__ import annotations

import argparse
import socket
from dataclasses import dataclass, field

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
DEFAULT_PID = "/run/keepalived.pid"
DEFAULT_VRRP_PID = "/run/keepalived_vrrp.pid"
DEFAULT_CHECKERS_PID = "/run/keepalived_checkers.pid"
DEFAULT_BFD_PID = "/run/keepalived_bfd.pid"


def default_config_id() -> str:
    """keepalived's default config id: the host name up to its first dot."""
    return socket.gethostname().split(".", 1)[0]


@dataclass(frozen=True)
class Options:
    config_file: str = DEFAULT_CONFIG
    vrrp_only: bool = False  # -P
    check_only: bool = False  # -C
    no_bfd: bool = False  # -B
    all_subsystems: bool = False  # --all
    log_console: bool = False  # -l
    log_detail: bool = False  # -D
    log_facility: str = "daemon"  # -S
    log_file: str | None = None  # -g
    flush_log_file: bool = False
    no_syslog: bool = False  # -G
    release_vips: bool = False  # -X
    dont_release_vrrp: bool = False  # -V
    dont_release_ipvs: bool = False  # -I
    dont_respawn: bool = False  # -R
    dont_fork: bool = False  # -n
    dump_conf: bool = False  # -d
    pid_file: str = DEFAULT_PID
    vrrp_pid_file: str = DEFAULT_VRRP_PID
    checkers_pid_file: str = DEFAULT_CHECKERS_PID
    bfd_pid_file: str = DEFAULT_BFD_PID
    address_monitoring: bool = False  # -a
    namespace: str | None = None  # -s
    all_config: bool = False  # -e
    config_id: str = field(default_factory=default_config_id)  # -i
    snmp: bool = False  # -x
    snmp_socket: str | None = None  # -A
    umask: int | None = None  # -u
    core_dump: bool = False  # -m
    core_dump_pattern: str | None = None  # -M
    config_test: bool = False  # -t
    config_test_log: str | None = None  # -t=LOGFILE
    signum: str | None = None  # --signum
    verify_config: bool = False  # --verify-config (the unit's ExecStartPre)
    install_unit: str | None = None  # --install-unit[=hardened]
    install_command: bool = False  # --install-command
    ignore_sigint: bool = False
    config_fd: int | None = None  # internal: the parse a child's first start is handed
    child: str | None = None  # internal: "vrrp", "checker" or "observe" (started by the parent)
    metrics_listen: str | None = None  # --metrics-listen: serve /metrics and /status over HTTP
    status_fd: int | None = None  # internal: a child's status pipe to the parent (sd_notify)
    heartbeat: float | None = None  # internal: seconds between a child's ALIVE lines
    proc_title: str | None = None  # internal: the command line a child shows (the parent's)
    proc_name: str | None = None  # internal: a child's task name (process_names & co)
    ident_suffix: str = ""  # internal: net_namespace/instance part of the syslog ident
    ignored: tuple[str, ...] = ()  # accepted keepalived flags that do nothing here (noted)


class _HelpAction(argparse.Action):
    """``-h``: the man-page-style text shipped with the package (``deploy/help.txt``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(help_text(), end="")
        parser.exit(0)


def help_text() -> str:
    from importlib import resources

    return resources.files("pykeepalived.deploy").joinpath("help.txt").read_text("utf-8")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pykeepalived", add_help=False,
        description="keepalived-compatible VRRP + health-check daemon (compatible with keepalived "
        "2.2.7 flags, signals and keepalived.conf).",
        epilog="Use -T/--genhash as the first option to compute an HTTP/SSL digest like genhash.",
    )
    a = p.add_argument
    a("-h", "--help", action=_HelpAction, nargs=0, help="print this help and exit")
    a("-f", "--use-file", dest="config_file", default=DEFAULT_CONFIG, metavar="FILE",
      help="use the specified configuration file (default %(default)s)")
    a("-P", "--vrrp", dest="vrrp_only", action="store_true", help="only run the VRRP subsystem")
    a("-C", "--check", dest="check_only", action="store_true",
      help="only run the health-checker subsystem")
    a("-B", "--no_bfd", dest="no_bfd", action="store_true", help="do not run the BFD subsystem")
    a("--all", dest="all_subsystems", action="store_true",
      help="run all subsystems even if they have no configuration")
    a("-l", "--log-console", dest="log_console", action="store_true", help="log to the console")
    a("-D", "--log-detail", dest="log_detail", action="store_true", help="detailed log messages")
    a("-S", "--log-facility", dest="log_facility", default="daemon", metavar="FACILITY",
      help="syslog facility 0-7, local0-7, user or daemon (default daemon)")
    a("-g", "--log-file", dest="log_file", nargs="?", const="/tmp/keepalived.log", default=None,
      metavar="FILE", help="also log to a file (default /tmp/keepalived.log)")
    a("--flush-log-file", action="store_true", help="flush the log file after each write")
    a("-G", "--no-syslog", dest="no_syslog", action="store_true", help="do not log via syslog")
    a("-X", "--release-vips", dest="release_vips", action="store_true",
      help="drop VIPs on a transition caused by a signal")
    a("-V", "--dont-release-vrrp", dest="dont_release_vrrp", action="store_true",
      help="leave VIPs and virtual routes in place on exit")
    a("-I", "--dont-release-ipvs", dest="dont_release_ipvs", action="store_true",
      help="leave the IPVS table in place on exit")
    a("-R", "--dont-respawn", dest="dont_respawn", action="store_true",
      help="do not respawn a child process that exits")
    a("-n", "--dont-fork", dest="dont_fork", action="store_true", help="run in the foreground")
    a("-d", "--dump-conf", dest="dump_conf", action="store_true",
      help="dump the parsed configuration (to the log, or to stdout with -t)")
    a("-p", "--pid", dest="pid_file", default=DEFAULT_PID, metavar="FILE",
      help="parent pid file (default %(default)s)")
    a("-r", "--vrrp_pid", dest="vrrp_pid_file", default=DEFAULT_VRRP_PID, metavar="FILE",
      help="VRRP child pid file (default %(default)s)")
    a("-c", "--checkers_pid", dest="checkers_pid_file", default=DEFAULT_CHECKERS_PID,
      metavar="FILE", help="checker child pid file (default %(default)s)")
    a("-b", "--bfd_pid", dest="bfd_pid_file", default=DEFAULT_BFD_PID, metavar="FILE",
      help="BFD child pid file (default %(default)s)")
    a("-a", "--address-monitoring", dest="address_monitoring", action="store_true",
      help="log every netlink address change")
    a("-s", "--namespace", dest="namespace", default=None, metavar="NAME",
      help="run in the named network namespace")
    a("-e", "--all-config", dest="all_config", action="store_true",
      help="fail if any included configuration file is missing")
    a("-i", "--config-id", dest="config_id", default=None, metavar="ID",
      help="config id for @ID conditionals (default: short host name)")
    a("-x", "--snmp", dest="snmp", action="store_true", help="enable the SNMP subsystem (noted)")
    a("-A", "--snmp-agent-socket", dest="snmp_socket", default=None, metavar="FILE")
    a("-u", "--umask", dest="umask", default=None, metavar="N")
    a("-m", "--core-dump", dest="core_dump", action="store_true")
    a("-M", "--core-dump-pattern", dest="core_dump_pattern", nargs="?", const="core", default=None)
    a("-t", "--config-test", dest="config_test", nargs="?", const=True, default=False,
      metavar="LOGFILE", help="check the configuration for errors and exit")
    a("--signum", dest="signum", default=None, metavar="SIGNAL",
      help="print the number of STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON or TDUMP")
    a("--ignore-sigint", action="store_true")
    _deploy_flags(p)
    a("--metrics-listen", dest="metrics_listen", default=None, metavar="[ADDR:]PORT",
      help="serve Prometheus /metrics and JSON /status over HTTP on this address (default "
      "address 127.0.0.1; overrides global_defs pykeepalived_metrics_listen)")
    _internal_flags(p)
    # Accepted for compatibility; they change nothing here.
    for flag in ("--perf", "--no-mem-check", "--openssl-mem-check", "-L", "--log-child-unused"):
        a(flag, dest="ign_" + flag.strip("-").replace("-", "_"), action="store_true",
          help=argparse.SUPPRESS)
    a("--debug", dest="ign_debug", nargs="?", const="", default=None, help=argparse.SUPPRESS)
    a("-v", "--version", dest="version", action="store_true", help="print the version and exit")
    return p


def _internal_flags(p: argparse.ArgumentParser) -> None:
    """How the parent starts its children (hidden from ``--help``: not for operators)."""
    a = p.add_argument
    a("--config-fd", dest="config_fd", type=int, default=None, help=argparse.SUPPRESS)
    a("--child", dest="child", choices=["vrrp", "checker", "observe"], default=None,
      help=argparse.SUPPRESS)
    a("--status-fd", dest="status_fd", type=int, default=None, help=argparse.SUPPRESS)
    a("--heartbeat", dest="heartbeat", type=float, default=None, help=argparse.SUPPRESS)
    a("--proc-title", dest="proc_title", default=None, help=argparse.SUPPRESS)
    a("--proc-name", dest="proc_name", default=None, help=argparse.SUPPRESS)
    a("--ident-suffix", dest="ident_suffix", default="", help=argparse.SUPPRESS)


def _deploy_flags(p: argparse.ArgumentParser) -> None:
    """pykeepalived's own flags for running under a service manager."""
    a = p.add_argument
    a("--verify-config", dest="verify_config", action="store_true",
      help="config test for a service manager (ExecStartPre): the -t messages, failing only on "
      "errors (warnings and script-security notes pass, as the daemon runs with them)")
    a("--install-unit", dest="install_unit", nargs="?", const="plain", default=None,
      choices=["plain", "hardened"], metavar="hardened",
      help="install pykeepalived.service (aliased keepalived.service when no keepalived unit "
      "exists); =hardened: capabilities instead of full root")
    a("--install-command", dest="install_command", action="store_true",
      help="link /usr/local/sbin/keepalived to pykeepalived, unless a keepalived is installed")


def parse(argv: list[str]) -> tuple[Options, bool]:
    """Parse ``argv`` (without the program name). Returns the options and whether -v was asked."""
    ns = build_parser().parse_args(argv)
    ignored = tuple(
        "--" + k[4:].replace("_", "-") for k, v in vars(ns).items() if k.startswith("ign_") and v
    )
    umask = None
    if ns.umask is not None:
        try:
            umask = int(ns.umask, 0)
        except ValueError:
            umask = None
    ct = ns.config_test
    opts = Options(
        config_file=ns.config_file,
        vrrp_only=ns.vrrp_only,
        check_only=ns.check_only,
        no_bfd=ns.no_bfd,
        all_subsystems=ns.all_subsystems,
        log_console=ns.log_console,
        log_detail=ns.log_detail,
        log_facility=ns.log_facility,
        log_file=ns.log_file,
        flush_log_file=ns.flush_log_file,
        no_syslog=ns.no_syslog,
        release_vips=ns.release_vips,
        dont_release_vrrp=ns.dont_release_vrrp,
        dont_release_ipvs=ns.dont_release_ipvs,
        dont_respawn=ns.dont_respawn,
        dont_fork=ns.dont_fork,
        dump_conf=ns.dump_conf,
        pid_file=ns.pid_file,
        vrrp_pid_file=ns.vrrp_pid_file,
        checkers_pid_file=ns.checkers_pid_file,
        bfd_pid_file=ns.bfd_pid_file,
        address_monitoring=ns.address_monitoring,
        namespace=ns.namespace,
        all_config=ns.all_config,
        config_id=ns.config_id if ns.config_id is not None else default_config_id(),
        snmp=ns.snmp,
        snmp_socket=ns.snmp_socket,
        umask=umask,
        core_dump=ns.core_dump,
        core_dump_pattern=ns.core_dump_pattern,
        config_test=bool(ct),
        config_test_log=ct if isinstance(ct, str) else None,
        signum=ns.signum,
        verify_config=ns.verify_config,
        install_unit=ns.install_unit,
        install_command=ns.install_command,
        ignore_sigint=ns.ignore_sigint,
        config_fd=ns.config_fd,
        child=ns.child,
        metrics_listen=ns.metrics_listen,
        status_fd=ns.status_fd,
        heartbeat=ns.heartbeat,
        proc_title=ns.proc_title,
        proc_name=ns.proc_name,
        ident_suffix=ns.ident_suffix,
        ignored=ignored,
    )
    return opts, bool(ns.version)
