"""Logging set-up shared by the parent and the children, in keepalived's shapes.

keepalived logs to syslog (facility ``-S``, ident ``Keepalived`` / ``Keepalived_vrrp`` /
``Keepalived_healthcheckers``) unless ``-G``; to stderr with ``-l`` as ``Sun Nov 22 00:52:01 2026:
message``; and to a file with ``-g`` where each child appends its suffix (``_vrrp``,
``_healthcheckers``) to the file name. Messages themselves keep keepalived's phrases
(``(VI_1) Entering MASTER STATE``) because operators grep for them.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from pykeepalived.options import Options

LOGGER_NAME = "pykeepalived"

IDENTS = {None: "Keepalived", "vrrp": "Keepalived_vrrp", "checker": "Keepalived_healthcheckers"}
FILE_SUFFIX = {None: "", "vrrp": "_vrrp", "checker": "_healthcheckers"}

# syslog facility codes (RFC 5424; the values of SysLogHandler.LOG_*): spelled out so that
# ``logging.handlers`` (pickle, queue, threading...) is imported only when syslog is used.
_LOG_USER, _LOG_DAEMON, _LOG_LOCAL0 = 1, 3, 16
_FACILITIES = {
    "daemon": _LOG_DAEMON,
    "user": _LOG_USER,
    **{f"local{i}": _LOG_LOCAL0 + i for i in range(8)},
    **{str(i): _LOG_LOCAL0 + i for i in range(8)},
}


class KeepalivedFormatter(logging.Formatter):
    """``Sun Nov 22 00:52:01 2026: message`` (keepalived's console/file line)."""

    def __init__(self, precise: bool = False) -> None:
        super().__init__()
        self.precise = precise

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%a %b %d %H:%M:%S", time.localtime(record.created))
        if self.precise:
            stamp += f".{int((record.created % 1) * 1e6):06d}"
        stamp += time.strftime(" %Y", time.localtime(record.created))
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        return f"{stamp}: {msg}"


class _FlushingFileHandler(logging.FileHandler):
    def __init__(self, path: str, flush_each: bool) -> None:
        super().__init__(path, mode="a", encoding="utf-8")
        self.flush_each = flush_each

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if self.flush_each:
            self.flush()


def child_log_file(path: str, child: str | None) -> str:
    """keepalived's per-process log file: ``/tmp/ka.log`` → ``/tmp/ka_vrrp.log`` for the child."""
    suffix = FILE_SUFFIX.get(child, "")
    if not suffix:
        return path
    head, tail = os.path.split(path)
    stem, dot, ext = tail.rpartition(".")
    name = f"{stem}{suffix}.{ext}" if dot and stem else f"{tail}{suffix}"
    return os.path.join(head, name)


def setup_logging(opts: Options, child: str | None) -> logging.Logger:
    """Configure the ``pykeepalived`` logger for this process; idempotent (re-exec safe)."""
    log = logging.getLogger(LOGGER_NAME)
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    log.setLevel(logging.DEBUG if opts.log_detail else logging.INFO)
    log.propagate = False
    # Console timestamps get microseconds: keepalived's 1 s resolution is useless for timing.
    precise = os.environ.get("PYKEEPALIVED_LOG_PRECISE", "1") != "0"
    if opts.log_console:
        ch = logging.StreamHandler(sys.stderr)
        ch.setFormatter(KeepalivedFormatter(precise))
        log.addHandler(ch)
    if opts.log_file:
        try:
            fh = _FlushingFileHandler(child_log_file(opts.log_file, child), opts.flush_log_file)
            fh.setFormatter(KeepalivedFormatter(precise))
            log.addHandler(fh)
        except OSError as e:
            print(f"Unable to open log file {opts.log_file}: {e}", file=sys.stderr)
    if not opts.no_syslog:
        from logging.handlers import SysLogHandler

        facility = _FACILITIES.get(opts.log_facility, _LOG_DAEMON)
        try:
            sh = SysLogHandler(address="/dev/log", facility=facility)
            ident = IDENTS.get(child, "Keepalived") + opts.ident_suffix
            sh.ident = f"{ident}[{os.getpid()}]: "
            sh.setFormatter(logging.Formatter("%(message)s"))
            log.addHandler(sh)
        except OSError:
            pass  # no syslog daemon: keepalived carries on silently too
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
